// Package scheduler runs the bot's few periodic jobs (reminders, escalations,
// follow-ups) with gocron, guarded so that each scheduled run happens once in
// total, however many replicas share the database and however often they
// restart.
//
// # The guarantee
//
// Every fire of a job has a slot: the scheduled time it belongs to, e.g.
// "2026-07-01T09:03" (computed from the cron expression, never from "now").
// Before running, a replica claims (job, slot) in the job-run ledger
// (store.ClaimJobRun, insert-if-absent on the primary key); only the one
// claim that inserts the row runs the job. gocron's own distributed locker is
// not used: it releases when a fast job returns, and a replica whose timer
// fires a moment later would run the job again.
//
// gocron keeps nothing across restarts, so at Start, and again every
// Config.Reconcile, RunDue claims and runs the most recent slot of each job
// that lies within Config.CatchUp (24 hours by default) — only that single
// slot, and only if no one has claimed it. A slot missed while every replica
// was down therefore runs once, late; older missed slots are dropped. A run is
// at most once: a replica that dies mid-run leaves its slot "running" and
// nobody retries it, so write jobs that a later slot can finish.
//
// # Adding a job
//
// A job is a name, a 5-field cron expression in the campaign time zone, and a
// function that scans the rows that are due and acts on each. Never keep a
// timer per reminder: the database says what is due, the job looks. In this
// sketch findDue and body stand for the job's own query and message:
//
//	s, err := scheduler.New(scheduler.Config{
//		Store: st, Location: cfg.Location, Quiet: cfg.Quiet, Calendar: cal,
//		Clock: clock, Logger: log,
//	})
//	err = s.Add(scheduler.Job{
//		Name:            "form-due-reminder", // stable: it keys the job-run ledger
//		Cron:            "3 9 * * *",         // 09:03; WeCom advises avoiding :00 and :30
//		WorkingDaysOnly: true,                // skip weekends and public holidays
//		Run: func(ctx context.Context, slot scheduler.Slot) error {
//			day := slot.At.Format(time.DateOnly) // the reminder ledger's day
//			due, err := findDue(ctx, slot.At)    // the rows due at the slot
//			if err != nil {
//				return err
//			}
//			for _, d := range due {
//				err := st.InTx(ctx, func(ctx context.Context) error {
//					// At most one reminder of a kind per target per day.
//					if ok, err := st.ClaimReminder(ctx, "form-due", d.UserID, day); err != nil || !ok {
//						return err
//					}
//					_, err := st.Enqueue(ctx, store.OutboxMessage{
//						Recipients: []string{d.UserID}, Payload: body(d),
//						NotBefore: s.NextPushTime(clock.Now()), // after quiet hours
//					})
//					return err
//				})
//				if err != nil {
//					return err
//				}
//			}
//			return nil
//		},
//	})
//	err = s.Start(ctx)
//	defer s.Shutdown()
//
// Add every job before Start. Run should be idempotent per slot (the ledger
// and ClaimReminder make that easy). A job's error is logged and recorded in
// its ledger row (state "failed"); it is not retried. Run gets a context that
// is cancelled at Shutdown and after Config.Lease.
//
// # Time
//
// Slots, cron expressions, working days and quiet hours are all in
// Config.Location. The Calendar (working days) comes from a small text file;
// DefaultCalendar is the shipped one and LoadCalendar reads an edited copy.
// Tests move time either inside a testing/synctest bubble or with a clockwork
// fake clock passed as gocron.WithClock plus the same clock as Config.Clock.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"safetybot"
	"safetybot/config"
	"safetybot/store"
)

// Defaults for the zero values of Config.
const (
	DefaultLease     = time.Hour
	DefaultCatchUp   = 24 * time.Hour
	DefaultReconcile = 10 * time.Minute
)

// catchUpJob names the internal gocron job that runs RunDue.
const catchUpJob = "scheduler.catch-up"

// SlotLayout formats Slot.Key: the scheduled minute in the campaign time zone.
const SlotLayout = "2006-01-02T15:04"

// fireSlack lets a timer that fires a hair before its time (a wall-clock step)
// still find its own slot rather than the one before.
const fireSlack = time.Second

// Config sets up a Scheduler. Store and Location are required.
type Config struct {
	Store    *store.Store
	Location *time.Location // the campaign time zone; cron expressions and slots use it
	Quiet    config.QuietHours
	Calendar *Calendar // nil means DefaultCalendar()
	// PushWorkingDaysOnly makes PushAllowed and NextPushTime treat non-working
	// days like quiet hours.
	PushWorkingDaysOnly bool
	Clock               safetybot.Clock // nil means the system clock
	Owner               string          // replica id in the ledger; empty means host-pid
	Logger              *slog.Logger
	// Lease bounds one run: Run's context ends after it, and the ledger row
	// records it. Zero means DefaultLease.
	Lease time.Duration
	// CatchUp is how far back RunDue looks for a missed slot. Zero means
	// DefaultCatchUp; negative turns catch-up off.
	CatchUp time.Duration
	// Reconcile is how often RunDue runs again after Start, so a slot whose
	// claim failed (say the database was briefly down) still runs. Zero means
	// DefaultReconcile; negative means only at Start.
	Reconcile time.Duration
	// GocronOptions are appended to the scheduler's own; tests pass
	// gocron.WithClock.
	GocronOptions []gocron.SchedulerOption
}

// Job is one named periodic job.
type Job struct {
	// Name identifies the job in logs and in the job-run ledger. Keep it stable:
	// renaming a job forgets which slots it ran.
	Name string
	// Cron is a 5-field expression (minute hour day-of-month month day-of-week),
	// evaluated in Config.Location, e.g. "3 9 * * *" or "*/15 8-18 * * 1-5".
	Cron string
	// WorkingDaysOnly skips slots that fall on a day the Calendar says is not a
	// working day. Skipped slots are not claimed and not caught up.
	WorkingDaysOnly bool
	// Run does the work of one slot.
	Run func(ctx context.Context, slot Slot) error
}

// Slot is one scheduled run of a job.
type Slot struct {
	Job string
	At  time.Time // the scheduled fire time, in Config.Location
	Key string    // At formatted with SlotLayout; the ledger's slot column
}

// Scheduler runs jobs through gocron and the job-run ledger.
type Scheduler struct {
	store       *store.Store
	loc         *time.Location
	quiet       config.QuietHours
	cal         *Calendar
	pushWorking bool
	clock       safetybot.Clock
	owner       string
	log         *slog.Logger
	lease       time.Duration
	catchUp     time.Duration
	reconcile   time.Duration
	cron        gocron.Scheduler
	warned      sync.Map // uncovered calendar year -> true

	mu      sync.Mutex
	jobs    []*job
	started bool
	stopped bool
}

type job struct {
	Job
	spec *cronSpec
	busy chan struct{} // one run of the job at a time in this process
}

// New builds a Scheduler; add jobs, then Start it.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Store == nil {
		return nil, errors.New("scheduler: Config.Store is required")
	}
	if cfg.Location == nil {
		return nil, errors.New("scheduler: Config.Location is required")
	}
	s := &Scheduler{
		store:       cfg.Store,
		loc:         cfg.Location,
		quiet:       cfg.Quiet,
		cal:         cfg.Calendar,
		pushWorking: cfg.PushWorkingDaysOnly,
		clock:       cfg.Clock,
		owner:       cfg.Owner,
		log:         cfg.Logger,
		lease:       orDefault(cfg.Lease, DefaultLease),
		catchUp:     orDefault(cfg.CatchUp, DefaultCatchUp),
		reconcile:   orDefault(cfg.Reconcile, DefaultReconcile),
	}
	if s.cal == nil {
		s.cal = DefaultCalendar()
	}
	if s.clock == nil {
		s.clock = safetybot.SystemClock{}
	}
	if s.owner == "" {
		host, _ := os.Hostname()
		s.owner = host + "-" + strconv.Itoa(os.Getpid())
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "scheduler")
	opts := append([]gocron.SchedulerOption{
		gocron.WithLocation(s.loc),
		gocron.WithLogger(s.log),
	}, cfg.GocronOptions...)
	var err error
	if s.cron, err = gocron.NewScheduler(opts...); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Add registers a job. Call it before Start.
func (s *Scheduler) Add(j Job) error {
	if strings.TrimSpace(j.Name) == "" || strings.HasPrefix(j.Name, "scheduler.") {
		return fmt.Errorf("scheduler: job name %q is empty or reserved", j.Name)
	}
	if j.Run == nil {
		return fmt.Errorf("scheduler: job %s has no Run", j.Name)
	}
	spec, err := parseCron(j.Cron, s.loc)
	if err != nil {
		return fmt.Errorf("scheduler: job %s: %w", j.Name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return fmt.Errorf("scheduler: job %s added after Start", j.Name)
	}
	for _, o := range s.jobs {
		if o.Name == j.Name {
			return fmt.Errorf("scheduler: job %s added twice", j.Name)
		}
	}
	s.jobs = append(s.jobs, &job{Job: j, spec: spec, busy: make(chan struct{}, 1)})
	return nil
}

// Start schedules the jobs and, unless catch-up is off, runs RunDue at once in
// the background and then every Config.Reconcile. Cancelling ctx stops further
// runs and cancels running ones; call Shutdown in any case.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return errors.New("scheduler: already started or shut down")
	}
	if w := s.cal.CoverageWarning(s.clock.Now().In(s.loc)); w != "" {
		s.log.Warn(w)
	}
	for _, j := range s.jobs {
		_, err := s.cron.NewJob(gocron.CronJob(j.Cron, false),
			gocron.NewTask(func(ctx context.Context) { s.fire(ctx, j) }),
			gocron.WithName(j.Name),
			gocron.WithCronImplementation(j.spec),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithContext(ctx))
		if err != nil {
			return fmt.Errorf("scheduler: job %s: %w", j.Name, err)
		}
	}
	if s.catchUp > 0 && len(s.jobs) > 0 {
		def := gocron.OneTimeJob(gocron.OneTimeJobStartImmediately())
		opts := []gocron.JobOption{
			gocron.WithName(catchUpJob),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithContext(ctx),
		}
		if s.reconcile > 0 {
			def = gocron.DurationJob(s.reconcile)
			opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
		}
		// RunDue logs each failure itself.
		task := gocron.NewTask(func(ctx context.Context) { _, _ = s.RunDue(ctx) })
		if _, err := s.cron.NewJob(def, task, opts...); err != nil {
			return fmt.Errorf("scheduler: catch-up job: %w", err)
		}
	}
	s.cron.Start()
	s.started = true
	s.log.Info("scheduler started", "jobs", len(s.jobs), "owner", s.owner, "location", s.loc.String(), "calendar", s.cal.Source())
	return nil
}

// Shutdown stops scheduling and waits for running jobs (gocron's stop
// timeout, 10 s by default). Calling it again does nothing.
func (s *Scheduler) Shutdown() error {
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = true
	s.mu.Unlock() // running jobs may need s.mu (RunDue) to finish
	if stopped {
		return nil
	}
	if err := s.cron.Shutdown(); err != nil {
		return fmt.Errorf("scheduler: shutdown: %w", err)
	}
	return nil
}

// RunDue claims and runs, for each job, the most recent slot at or before now
// and within Config.CatchUp (skipping non-working days for WorkingDaysOnly
// jobs), unless the slot was already claimed by anyone. It returns the slots
// it ran; the error joins claim and run failures, each also logged. Start
// calls it; tests may call it directly.
func (s *Scheduler) RunDue(ctx context.Context) ([]Slot, error) {
	s.mu.Lock()
	jobs := s.jobs
	s.mu.Unlock()
	var ran []Slot
	var errs []error
	for _, j := range jobs {
		at := s.lastDue(j, s.clock.Now())
		if at.IsZero() {
			continue
		}
		slot, ok, err := s.runSlot(ctx, j, at)
		if ok {
			ran = append(ran, slot)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return ran, errors.Join(errs...)
}

// lastDue is the most recent slot of j at or before now, within the catch-up
// horizon, that is on a working day when j needs one; zero if none.
func (s *Scheduler) lastDue(j *job, now time.Time) time.Time {
	if s.catchUp <= 0 {
		return time.Time{}
	}
	for at := j.spec.prev(now); !at.IsZero() && now.Sub(at) <= s.catchUp; at = j.spec.prev(at.Add(-time.Second)) {
		if !j.WorkingDaysOnly || s.workingDay(at) {
			return at
		}
	}
	return time.Time{}
}

// fire is the gocron task of a job: it runs the slot gocron just fired for.
func (s *Scheduler) fire(ctx context.Context, j *job) {
	at := j.spec.prev(s.clock.Now().Add(fireSlack))
	if at.IsZero() {
		return
	}
	_, _, _ = s.runSlot(ctx, j, at) // logged inside
}

// runSlot claims the slot of j at at and, if the claim is ours, runs it and
// records the outcome. ran reports whether Run was called.
func (s *Scheduler) runSlot(ctx context.Context, j *job, at time.Time) (slot Slot, ran bool, err error) {
	at = at.In(s.loc)
	slot = Slot{Job: j.Name, At: at, Key: at.Format(SlotLayout)}
	log := s.log.With("job", j.Name, "slot", slot.Key)
	if j.WorkingDaysOnly && !s.workingDay(at) {
		log.Debug("not a working day, slot skipped")
		return slot, false, nil
	}
	select {
	case j.busy <- struct{}{}:
		defer func() { <-j.busy }()
	case <-ctx.Done():
		return slot, false, ctx.Err()
	}
	ok, err := s.store.ClaimJobRun(ctx, j.Name, slot.Key, s.owner, s.lease)
	if err != nil {
		err = fmt.Errorf("claim job %s slot %s: %w", j.Name, slot.Key, err)
		log.Error("job slot not run: claim failed", "err", err)
		return slot, false, err
	}
	if !ok {
		log.Debug("slot already claimed")
		return slot, false, nil
	}
	start := s.clock.Now()
	runErr := s.call(ctx, j, slot, log)
	took := s.clock.Now().Sub(start)
	errText := ""
	if runErr != nil {
		errText = runErr.Error()
		log.Error("job failed", "err", runErr, "took", took)
		runErr = fmt.Errorf("job %s slot %s: %w", j.Name, slot.Key, runErr)
	} else {
		log.Info("job ran", "took", took)
	}
	// Record the outcome even when shutdown cancelled ctx.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.FinishJobRun(fctx, j.Name, slot.Key, errText); err != nil {
		err = fmt.Errorf("finish job %s slot %s: %w", j.Name, slot.Key, err)
		log.Error("job outcome not recorded", "err", err)
		runErr = errors.Join(runErr, err)
	}
	return slot, true, runErr
}

// call runs j for slot within the lease, turning a panic into an error.
func (s *Scheduler) call(ctx context.Context, j *job, slot Slot, log *slog.Logger) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.lease)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			log.Error("job panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return j.Run(ctx, slot)
}

// workingDay asks the calendar, warning once per year it does not cover.
func (s *Scheduler) workingDay(t time.Time) bool {
	t = t.In(s.loc)
	if y := t.Year(); !s.cal.Covers(y) {
		if _, seen := s.warned.LoadOrStore(y, true); !seen {
			s.log.Warn("working-day calendar does not cover this year; only weekends count as days off",
				"year", y, "calendar", s.cal.Source())
		}
	}
	return s.cal.IsWorkingDay(t)
}

// Calendar returns the working-day calendar in use.
func (s *Scheduler) Calendar() *Calendar { return s.cal }

// Location returns the campaign time zone.
func (s *Scheduler) Location() *time.Location { return s.loc }

// PushAllowed reports whether a message may be pushed at t: outside quiet
// hours and, with Config.PushWorkingDaysOnly, on a working day.
func (s *Scheduler) PushAllowed(t time.Time) bool {
	if s.quiet.Contains(t, s.loc) {
		return false
	}
	return !s.pushWorking || s.workingDay(t)
}

// NextPushTime returns t when PushAllowed(t), else the first moment after t
// when pushing is allowed again (the end of the quiet hours, or the start of
// the allowed part of the next working day). Use it as an outbox row's
// NotBefore, so what falls due in the quiet hours goes out when they end.
func (s *Scheduler) NextPushTime(t time.Time) time.Time {
	t = t.In(s.loc)
	for {
		if s.pushWorking && !s.workingDay(t) {
			t = s.cal.NextWorkingDay(t)
			continue
		}
		next := s.quiet.NextAllowed(t, s.loc).In(s.loc)
		if next.Equal(t) {
			return t
		}
		t = next
	}
}
