package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"safetybot"
	"safetybot/scheduler"
	"safetybot/store"
	"safetybot/store/storetest"
)

// inBubble runs fn once per store dialect inside a synctest bubble whose fake
// clock has been moved to start. gocron, the scheduler and the store all read
// the bubble's clock, so time.Sleep moves everything at once; synctest.Wait
// returns when every fired job has finished.
func inBubble(t *testing.T, start time.Time, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			if d == "postgres" && os.Getenv(storetest.EnvPostgres) == "" && !storetest.Require() {
				// Skip here: a skip inside the bubble would be reported as a pass.
				t.Skipf("Postgres test skipped: set %s (make test does)", storetest.EnvPostgres)
			}
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(time.Until(start))
				fn(t, storetest.New(t, d))
			})
		})
	}
}

// sleepUntil advances the bubble's clock to t and lets due jobs finish.
func sleepUntil(t time.Time) {
	time.Sleep(time.Until(t))
	synctest.Wait()
}

// testLogger shows warnings and errors in the test output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// recorder remembers every run of every job.
type recorder struct {
	mu   sync.Mutex
	runs []run
}

type run struct{ owner, job, slot string }

// job returns a job that records its runs under owner.
func (r *recorder) job(owner, name, cron string, workingDaysOnly bool) scheduler.Job {
	return scheduler.Job{Name: name, Cron: cron, WorkingDaysOnly: workingDaysOnly,
		Run: func(ctx context.Context, slot scheduler.Slot) error {
			if slot.Job != name || slot.Key != slot.At.Format(scheduler.SlotLayout) || slot.At.Location() != shanghai {
				return fmt.Errorf("malformed slot %+v", slot)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			r.runs = append(r.runs, run{owner, name, slot.Key})
			return nil
		}}
}

// slots lists the slots job ran, in order, failing on a slot that ran twice.
func (r *recorder) slots(t *testing.T, job string) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for _, x := range r.runs {
		if x.job != job {
			continue
		}
		if slices.Contains(got, x.slot) {
			t.Errorf("job %s slot %s ran more than once", job, x.slot)
		}
		got = append(got, x.slot)
	}
	slices.Sort(got)
	return got
}

func (r *recorder) owners(job string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]string{}
	for _, x := range r.runs {
		if x.job == job {
			m[x.slot] = x.owner
		}
	}
	return m
}

// newScheduler builds a scheduler on st with jobs added. Catch-up runs only at
// Start unless tweak says otherwise.
func newScheduler(t *testing.T, st *store.Store, owner string, tweak func(*scheduler.Config), jobs ...scheduler.Job) *scheduler.Scheduler {
	t.Helper()
	cfg := scheduler.Config{Store: st, Location: shanghai, Owner: owner, Logger: testLogger(t), Reconcile: -1}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := scheduler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Shutdown() })
	return s
}

func start(t *testing.T, s *scheduler.Scheduler) {
	t.Helper()
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	synctest.Wait() // the catch-up pass has run
}

// dailySlots lists "<date>T<hhmm>" for each date from first, n days.
func dailySlots(first string, n int, hhmm string) []string {
	var s []string
	for d := day(first); len(s) < n; d = d.AddDate(0, 0, 1) {
		s = append(s, d.Format(time.DateOnly)+"T"+hhmm)
	}
	return s
}

// ledger returns the job-run ledger of job as "slot owner state" lines.
func ledger(t *testing.T, st *store.Store, job string) []string {
	t.Helper()
	rows, err := st.JobRuns(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		out = append(out, r.Slot+" "+r.Owner+" "+r.State)
	}
	return out
}

func TestDailyJobFiresOncePerDayForTenDays(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tweak func(*scheduler.Config)
		want  []string
	}{
		{
			name:  "timers only",
			tweak: func(c *scheduler.Config) { c.CatchUp = -1 },
			want:  dailySlots("2026-06-29", 10, "09:00"),
		},
		{
			// On a fresh ledger the catch-up pass at Start runs the slot of the
			// day before (it is within 24 h); reconciling every hour
			// afterwards adds nothing.
			name:  "catch-up and reconcile",
			tweak: func(c *scheduler.Config) { c.Reconcile = time.Hour },
			want:  dailySlots("2026-06-28", 11, "09:00"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inBubble(t, at("2026-06-29 08:00"), func(t *testing.T, st *store.Store) {
				var r recorder
				s := newScheduler(t, st, "a", tc.tweak, r.job("a", "daily", "0 9 * * *", false))
				start(t, s)
				sleepUntil(at("2026-07-08 23:59"))
				if got := r.slots(t, "daily"); !slices.Equal(got, tc.want) {
					t.Fatalf("ran %v\nwant %v", got, tc.want)
				}
				if got := ledger(t, st, "daily"); len(got) != len(tc.want) || !strings.HasSuffix(got[len(got)-1], " a done") {
					t.Fatalf("ledger %v", got)
				}
			})
		})
	}
}

func TestWorkingDaysOnlyFollowsTheCalendar(t *testing.T) {
	inBubble(t, at("2026-09-17 20:00"), func(t *testing.T, st *store.Store) {
		var r recorder
		s := newScheduler(t, st, "a", func(c *scheduler.Config) { c.CatchUp = -1 },
			r.job("a", "workday", "30 8 * * *", true),
			r.job("a", "everyday", "30 8 * * *", false))
		start(t, s)
		sleepUntil(at("2026-10-12 20:00"))
		want := []string{
			"2026-09-18T08:30",                                         // Friday
			"2026-09-20T08:30",                                         // make-up Sunday
			"2026-09-21T08:30", "2026-09-22T08:30", "2026-09-23T08:30", // Mon-Wed
			"2026-09-24T08:30",                                         // Thursday; 25-27 Mid-Autumn
			"2026-09-28T08:30", "2026-09-29T08:30", "2026-09-30T08:30", // 10-01..07 National Day
			"2026-10-08T08:30", "2026-10-09T08:30",
			"2026-10-10T08:30", // make-up Saturday
			"2026-10-12T08:30", // Monday
		}
		if got := r.slots(t, "workday"); !slices.Equal(got, want) {
			t.Fatalf("working-day job ran\n%v\nwant\n%v", got, want)
		}
		if got := len(r.slots(t, "everyday")); got != 25 {
			t.Fatalf("everyday job ran %d times, want 25", got)
		}
		// Skipped days are not claimed, so the ledger holds exactly the runs.
		if got := ledger(t, st, "workday"); len(got) != len(want) {
			t.Fatalf("ledger has %d rows, want %d", len(got), len(want))
		}
	})
}

func TestTwoSchedulersOnOneDatabaseRunEachSlotOnce(t *testing.T) {
	inBubble(t, at("2026-06-29 08:00"), func(t *testing.T, st *store.Store) {
		var r recorder
		tweak := func(c *scheduler.Config) { c.CatchUp = -1 }
		a := newScheduler(t, st, "a", tweak, r.job("a", "daily", "0 9 * * *", false), r.job("a", "fast", "*/5 9-10 * * *", false))
		b := newScheduler(t, st, "b", tweak, r.job("b", "daily", "0 9 * * *", false), r.job("b", "fast", "*/5 9-10 * * *", false))
		start(t, a)
		start(t, b)
		sleepUntil(at("2026-07-08 23:59"))
		if got, want := r.slots(t, "daily"), dailySlots("2026-06-29", 10, "09:00"); !slices.Equal(got, want) {
			t.Fatalf("daily ran %v\nwant %v", got, want)
		}
		// Both replicas fire at the same instant every 5 minutes from 09:00
		// to 10:55, a fast job: gocron's locker would let it run twice.
		fast := r.slots(t, "fast")
		if want := 10 * 24; len(fast) != want {
			t.Fatalf("fast ran %d times, want %d", len(fast), want)
		}
		// The claims really raced: each replica won some.
		won := map[string]int{}
		for _, o := range r.owners("fast") {
			won[o]++
		}
		t.Logf("slots won: %v", won)
		if len(ledger(t, st, "fast")) != len(fast) {
			t.Fatal("ledger and runs disagree")
		}
	})
}

func TestRestartMidDayNeitherRepeatsNorMisses(t *testing.T) {
	inBubble(t, at("2026-07-01 08:00"), func(t *testing.T, st *store.Store) {
		var r recorder
		// A 12-hour horizon keeps the first start from catching up yesterday.
		tweak := func(c *scheduler.Config) { c.CatchUp = 12 * time.Hour }
		jobs := func(owner string) []scheduler.Job {
			return []scheduler.Job{r.job(owner, "morning", "0 9 * * *", false), r.job(owner, "afternoon", "30 13 * * *", false)}
		}

		a := newScheduler(t, st, "a", tweak, jobs("a")...)
		start(t, a)
		sleepUntil(at("2026-07-01 10:00")) // morning ran on a
		if err := a.Shutdown(); err != nil {
			t.Fatal(err)
		}

		sleepUntil(at("2026-07-01 15:00")) // down over 13:30
		b := newScheduler(t, st, "b", tweak, jobs("b")...)
		start(t, b) // catches up the afternoon, not the morning
		if got := r.owners("afternoon")["2026-07-01T13:30"]; got != "b" {
			t.Fatalf("missed afternoon slot caught up by %q, want b", got)
		}
		sleepUntil(at("2026-07-02 14:00"))
		if err := b.Shutdown(); err != nil {
			t.Fatal(err)
		}

		sleepUntil(at("2026-07-02 14:05")) // a quick restart: nothing was missed
		c := newScheduler(t, st, "c", tweak, jobs("c")...)
		start(t, c)
		sleepUntil(at("2026-07-03 23:00"))

		for job, want := range map[string][]string{
			"morning":   {"2026-07-01T09:00 a done", "2026-07-02T09:00 b done", "2026-07-03T09:00 c done"},
			"afternoon": {"2026-07-01T13:30 b done", "2026-07-02T13:30 b done", "2026-07-03T13:30 c done"},
		} {
			if got := ledger(t, st, job); !slices.Equal(got, want) {
				t.Errorf("%s ledger\n%v\nwant\n%v", job, got, want)
			}
			if got := r.slots(t, job); len(got) != 3 {
				t.Errorf("%s ran %v", job, got)
			}
		}
	})
}

func TestCatchUpAfterDowntimeRunsTheLastMissedSlotOnce(t *testing.T) {
	inBubble(t, at("2026-07-01 12:00"), func(t *testing.T, st *store.Store) {
		var r recorder
		first := newScheduler(t, st, "first", nil, r.job("first", "report", "30 13 * * *", false))
		start(t, first) // catches up 06-30 13:30 on the fresh ledger
		sleepUntil(at("2026-07-01 14:00"))
		first.Shutdown()

		// Everything is down on 07-02 and most of 07-03.
		sleepUntil(at("2026-07-03 20:00"))
		a := newScheduler(t, st, "a", nil, r.job("a", "report", "30 13 * * *", false))
		b := newScheduler(t, st, "b", nil, r.job("b", "report", "30 13 * * *", false))
		if err := a.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Both replicas restart again later that evening: nothing more.
		sleepUntil(at("2026-07-03 21:00"))
		a.Shutdown()
		b.Shutdown()
		c := newScheduler(t, st, "c", nil, r.job("c", "report", "30 13 * * *", false))
		start(t, c)
		if got, err := c.RunDue(t.Context()); err != nil || len(got) != 0 {
			t.Fatalf("RunDue again = %v, %v; want nothing", got, err)
		}

		// 07-02 is beyond the 24-hour horizon and is dropped: one late run, not two.
		want := []string{"2026-06-30T13:30", "2026-07-01T13:30", "2026-07-03T13:30"}
		if got := r.slots(t, "report"); !slices.Equal(got, want) {
			t.Fatalf("ran %v, want %v", got, want)
		}
		if o := r.owners("report")["2026-07-03T13:30"]; o != "a" && o != "b" {
			t.Fatalf("caught-up slot ran on %q", o)
		}
	})
}

func TestCatchUpSkipsNonWorkingDays(t *testing.T) {
	// Start on Monday 2026-07-06 at 08:00 with a 4-day horizon: the latest slot
	// is Sunday's, which is no working day, so Friday's runs.
	inBubble(t, at("2026-07-06 08:00"), func(t *testing.T, st *store.Store) {
		var r recorder
		s := newScheduler(t, st, "a", func(c *scheduler.Config) { c.CatchUp = 4 * 24 * time.Hour },
			r.job("a", "workday", "0 9 * * *", true))
		got, err := s.RunDue(t.Context())
		if err != nil || len(got) != 1 || got[0].Key != "2026-07-03T09:00" {
			t.Fatalf("RunDue = %+v, %v; want Friday's slot", got, err)
		}
		if got, _ := s.RunDue(t.Context()); len(got) != 0 {
			t.Fatalf("second RunDue ran %+v", got)
		}
	})
}

func TestFailedAndPanickingRunsAreRecordedNotRetried(t *testing.T) {
	inBubble(t, at("2026-07-01 08:00"), func(t *testing.T, st *store.Store) {
		var calls int
		s := newScheduler(t, st, "a", func(c *scheduler.Config) { c.CatchUp = -1; c.Logger = slog.New(slog.DiscardHandler) },
			scheduler.Job{Name: "flaky", Cron: "0 9 * * *", Run: func(ctx context.Context, slot scheduler.Slot) error {
				calls++
				switch calls {
				case 1:
					return errors.New("wecom down")
				case 2:
					panic("nil map")
				}
				return nil
			}})
		start(t, s)
		sleepUntil(at("2026-07-03 10:00"))
		rows, err := st.JobRuns(t.Context(), "flaky")
		if err != nil || len(rows) != 3 {
			t.Fatalf("ledger %+v, %v", rows, err)
		}
		for i, want := range []struct{ state, err string }{{"failed", "wecom down"}, {"failed", "panic: nil map"}, {"done", ""}} {
			if rows[i].State != want.state || rows[i].Error != want.err || rows[i].FinishedAt == nil {
				t.Errorf("row %d = %s %q, want %s %q", i, rows[i].State, rows[i].Error, want.state, want.err)
			}
		}
		if calls != 3 {
			t.Fatalf("Run called %d times, want 3", calls)
		}
	})
}

func TestAddRejectsBadJobs(t *testing.T) {
	st := storetest.New(t, "sqlite")
	s := newScheduler(t, st, "a", nil)
	run := func(context.Context, scheduler.Slot) error { return nil }
	for _, j := range []scheduler.Job{
		{Name: "", Cron: "0 9 * * *", Run: run},
		{Name: "scheduler.catch-up", Cron: "0 9 * * *", Run: run},
		{Name: "norun", Cron: "0 9 * * *"},
		{Name: "seconds", Cron: "0 0 9 * * *", Run: run},
		{Name: "zone", Cron: "CRON_TZ=UTC 0 9 * * *", Run: run},
		{Name: "descriptor", Cron: "@daily", Run: run},
		{Name: "garbage", Cron: "0 25 * * *", Run: run},
		{Name: "never", Cron: "0 9 30 2 *", Run: run},
	} {
		if err := s.Add(j); err == nil {
			t.Errorf("Add(%q, %q) accepted", j.Name, j.Cron)
		}
	}
	if err := s.Add(scheduler.Job{Name: "ok", Cron: "0 9 * * 1-5", Run: run}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(scheduler.Job{Name: "ok", Cron: "0 10 * * *", Run: run}); err == nil {
		t.Error("duplicate name accepted")
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(scheduler.Job{Name: "late", Cron: "0 10 * * *", Run: run}); err == nil {
		t.Error("Add after Start accepted")
	}
	if _, err := scheduler.New(scheduler.Config{Location: shanghai}); err == nil {
		t.Error("New without a store accepted")
	}
	if _, err := scheduler.New(scheduler.Config{Store: st}); err == nil {
		t.Error("New without a location accepted")
	}
}

func TestUncoveredYearFallsBackToWeekendsAndWarnsOnce(t *testing.T) {
	st := storetest.New(t, "sqlite")
	var logs strings.Builder
	var r recorder
	now := at("2027-03-01 10:00") // a Monday in a year the shipped calendar lacks
	s := newScheduler(t, st, "a", func(c *scheduler.Config) {
		c.Clock = safetybot.ClockFunc(func() time.Time { return now })
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}, r.job("a", "workday", "0 9 * * *", true))
	for range 2 {
		if _, err := s.RunDue(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	now = at("2027-03-02 10:00")
	if _, err := s.RunDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := r.slots(t, "workday"), []string{"2027-03-01T09:00", "2027-03-02T09:00"}; !slices.Equal(got, want) {
		t.Fatalf("ran %v, want %v", got, want)
	}
	if n := strings.Count(logs.String(), "year=2027"); n != 1 {
		t.Fatalf("%d warnings for 2027, want 1:\n%s", n, logs.String())
	}
}
