package scheduler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"safetybot"
	"safetybot/scheduler"
	"safetybot/store/storetest"
)

// The same guarantees with an injected clock instead of a synctest bubble:
// gocron.WithClock and Config.Clock read one clockwork fake clock, as does the
// store. This is the setup for tests that cannot run inside a bubble.
func TestInjectedClockTwoSchedulersAndCatchUp(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			fc := clockwork.NewFakeClockAt(at("2026-06-29 08:00"))
			clock := safetybot.ClockFunc(fc.Now)
			st := storetest.New(t, d, storetest.Options{Clock: clock})
			var r recorder
			var mons []*completions
			replica := func(owner string) *scheduler.Scheduler {
				m := &completions{job: "daily"}
				mons = append(mons, m)
				return newScheduler(t, st, owner, func(c *scheduler.Config) {
					c.Clock = clock
					c.CatchUp = -1
					c.GocronOptions = []gocron.SchedulerOption{gocron.WithClock(fc), gocron.WithSchedulerMonitor(m)}
				}, r.job(owner, "daily", "0 9 * * *", false))
			}
			a, b := replica("a"), replica("b")
			for _, s := range []*scheduler.Scheduler{a, b} {
				if err := s.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			for n := 1; n <= 5; n++ {
				// Both timers are armed before the clock moves to 09:00 ...
				if err := fc.BlockUntilContext(ctxTimeout(t), 2); err != nil {
					t.Fatalf("day %d: timers not armed: %v", n, err)
				}
				fc.Advance(next9(fc.Now()).Sub(fc.Now()))
				// ... and both replicas have finished that fire before it moves on.
				for _, m := range mons {
					m.waitFor(t, n)
				}
			}
			if got, want := r.slots(t, "daily"), dailySlots("2026-06-29", 5, "09:00"); !slices.Equal(got, want) {
				t.Fatalf("ran %v, want %v", got, want)
			}

			// Both replicas are down over 09:00 on 07-04; a new one, driven
			// directly, catches that slot up once.
			a.Shutdown()
			b.Shutdown()
			fc.Advance(at("2026-07-04 12:00").Sub(fc.Now()))
			c := newScheduler(t, st, "c", func(c *scheduler.Config) { c.Clock = clock }, r.job("c", "daily", "0 9 * * *", false))
			for i, want := range []int{1, 0} {
				got, err := c.RunDue(t.Context())
				if err != nil || len(got) != want {
					t.Fatalf("RunDue #%d ran %+v, %v; want %d slots", i+1, got, err, want)
				}
			}
			if o := r.owners("daily")["2026-07-04T09:00"]; o != "c" {
				t.Fatalf("07-04 slot ran on %q, want c", o)
			}
		})
	}
}

// next9 is the first 09:00 in Asia/Shanghai after now.
func next9(now time.Time) time.Time {
	n := now.In(shanghai)
	t := time.Date(n.Year(), n.Month(), n.Day(), 9, 0, 0, 0, shanghai)
	if !t.After(n) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// completions counts finished runs of one gocron job on one scheduler: the
// test's signal that a fire has been handled (claimed and run, or refused).
type completions struct {
	job string
	mu  sync.Mutex
	n   int
}

func (m *completions) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		got := m.n
		m.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s completed %d times, want %d", m.job, got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (m *completions) JobCompleted(j gocron.Job) {
	if j.Name() == m.job {
		m.mu.Lock()
		m.n++
		m.mu.Unlock()
	}
}

func (m *completions) JobFailed(j gocron.Job, _ error) { m.JobCompleted(j) }

func (*completions) SchedulerStarted()                                   {}
func (*completions) SchedulerStopped()                                   {}
func (*completions) SchedulerShutdown()                                  {}
func (*completions) JobRegistered(gocron.Job)                            {}
func (*completions) JobUnregistered(gocron.Job)                          {}
func (*completions) JobStarted(gocron.Job)                               {}
func (*completions) JobRunning(gocron.Job)                               {}
func (*completions) JobExecutionTime(gocron.Job, time.Duration)          {}
func (*completions) JobSchedulingDelay(gocron.Job, time.Time, time.Time) {}
func (*completions) ConcurrencyLimitReached(string, gocron.Job)          {}

var _ gocron.SchedulerMonitor = (*completions)(nil)
