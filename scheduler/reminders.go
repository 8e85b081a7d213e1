package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// Reminder kinds: the reminder ledger's kind column (at most one reminder of
// a kind per target per day) and the names CampaignSettings.Reminders
// switches on and off.
const (
	// KindLetterUnsigned: a principal, each working day from the day after a
	// letter was sent until it is signed or its deadline has passed.
	KindLetterUnsigned = "letter-unsigned"
	// KindLetterTownship: a township official, each working morning from the
	// third day after sending, the list of their unsigned enterprises.
	KindLetterTownship = "letter-unsigned-township"
	// KindLetterOffice: the city office, each working day after a letter's
	// deadline, unsigned enterprises per township.
	KindLetterOffice = "letter-overdue-office"
	// KindSelfCheckDue: a principal whose enterprise has no signed
	// self-inspection for the month, 3 days before the monthly day and on it,
	// and on the campaign's self-inspection deadline.
	KindSelfCheckDue = "selfcheck-due"
	// KindSelfCheckTownship: a township official, on the campaign's
	// self-inspection deadline, the enterprises still missing.
	KindSelfCheckTownship = "selfcheck-deadline-township"
	// KindHazardDue: a principal, 3 days before a hazard's deadline and on it.
	KindHazardDue = "hazard-due"
	// KindHazardOverdue: a principal, each working day a hazard is overdue.
	KindHazardOverdue = "hazard-overdue"
	// KindHazardOverdueTownship: a township official, each working day, the
	// township's overdue hazards.
	KindHazardOverdueTownship = "hazard-overdue-township"
	// KindHazardMajorOverdue: the tracker of an overdue 重大 hazard and the
	// officials of its supervising department, each working day.
	KindHazardMajorOverdue = "hazard-major-overdue"
	// KindReviewPending: a township official with rectifications waiting for
	// review longer than ReminderPlan.ReviewAfterWorkingDays.
	KindReviewPending = "review-pending"
	// KindLedInspections: a leader below the monthly target of led
	// inspections (S5), on the first working day from the 20th.
	KindLedInspections = "led-inspections"
	// KindDailyDigest: every township official's digest, each working day.
	KindDailyDigest = "daily-digest"
)

// ReminderKinds lists every kind, in the order a sweep runs them.
var ReminderKinds = []string{
	KindLetterUnsigned, KindLetterTownship, KindLetterOffice,
	KindSelfCheckDue, KindSelfCheckTownship,
	KindHazardDue, KindHazardOverdue, KindHazardOverdueTownship, KindHazardMajorOverdue,
	KindReviewPending, KindLedInspections, KindDailyDigest,
}

// ReminderJob is one scheduled job of reminders: a stable name (the job-run
// ledger's key), its default cron, and the kinds it sends.
type ReminderJob struct {
	Name  string
	Cron  string
	Kinds []string
}

// ReminderJobs are the reminder jobs. Every one runs on working days only.
// The catch-up job runs every kind again late in the morning and in the
// afternoon: a run that died half-way (its slot stays claimed and is not
// retried) is finished there, and the reminder ledger keeps everything
// already sent from going twice.
var ReminderJobs = []ReminderJob{
	{Name: "daily-digest", Cron: "3 9 * * *", Kinds: []string{KindDailyDigest}},
	{Name: "letter-reminders", Cron: "13 9 * * *", Kinds: []string{KindLetterUnsigned, KindLetterTownship, KindLetterOffice}},
	{Name: "selfcheck-reminders", Cron: "23 9 * * *", Kinds: []string{KindSelfCheckDue, KindSelfCheckTownship}},
	{Name: "hazard-reminders", Cron: "33 9 * * *", Kinds: []string{KindHazardDue, KindHazardOverdue, KindHazardOverdueTownship, KindHazardMajorOverdue}},
	{Name: "review-reminders", Cron: "43 9 * * *", Kinds: []string{KindReviewPending}},
	{Name: "led-inspection-reminders", Cron: "53 9 * * *", Kinds: []string{KindLedInspections}},
	{Name: "reminders-catch-up", Cron: "33 11,16 * * *", Kinds: ReminderKinds},
}

// ReminderPlan is the per-campaign tuning of the reminders, read from the
// newest campaign's settings JSON under "reminder_plan" (every field
// optional; zero means the default). Switching kinds on and off is
// CampaignSettings.Reminders.
type ReminderPlan struct {
	// LetterTownshipFromDay: township lists start this many days after sending (3).
	LetterTownshipFromDay int `json:"letter_township_from_day,omitempty"`
	// SelfCheckDaysBefore: days before the monthly self-inspection day to remind ([3, 0]).
	SelfCheckDaysBefore []int `json:"selfcheck_days_before,omitempty"`
	// HazardDaysBefore: days before a hazard's deadline to remind ([3, 0]).
	HazardDaysBefore []int `json:"hazard_days_before,omitempty"`
	// ReviewAfterWorkingDays: a review waiting longer than this is reminded (2).
	ReviewAfterWorkingDays int `json:"review_after_working_days,omitempty"`
	// LedCheckDay: day of month leaders below target are reminded (20).
	LedCheckDay int `json:"led_check_day,omitempty"`
	// TownshipListMax: hazards listed per township message (30).
	TownshipListMax int `json:"township_list_max,omitempty"`
	// DigestTop: overdue hazards named in the digest (5).
	DigestTop int `json:"digest_top,omitempty"`
	// Times moves a job ("HH:MM" by job name, e.g. {"daily-digest": "08:47"}).
	// Read when the jobs are registered: a change takes effect at the next start.
	Times map[string]string `json:"times,omitempty"`
}

// WithDefaults fills zero values.
func (p ReminderPlan) WithDefaults() ReminderPlan {
	if p.LetterTownshipFromDay == 0 {
		p.LetterTownshipFromDay = 3
	}
	if p.SelfCheckDaysBefore == nil {
		p.SelfCheckDaysBefore = []int{3, 0}
	}
	if p.HazardDaysBefore == nil {
		p.HazardDaysBefore = []int{3, 0}
	}
	if p.ReviewAfterWorkingDays == 0 {
		p.ReviewAfterWorkingDays = 2
	}
	if p.LedCheckDay == 0 {
		p.LedCheckDay = 20
	}
	if p.TownshipListMax == 0 {
		p.TownshipListMax = 30
	}
	if p.DigestTop == 0 {
		p.DigestTop = 5
	}
	return p
}

// cronAt turns "HH:MM" into a daily cron expression.
func cronAt(hhmm string) (string, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(hhmm), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return "", fmt.Errorf("reminder time %q is not HH:MM", hhmm)
	}
	return fmt.Sprintf("%d %d * * *", mm, hh), nil
}

// ReminderDeps are what the reminder jobs need.
type ReminderDeps struct {
	Store     *store.Store
	Location  *time.Location // the campaign time zone
	Clock     safetybot.Clock
	Calendar  *Calendar // working days; nil means DefaultCalendar
	PublicURL string    // links in cards
	// PushTime returns when a message produced at t may go out: the
	// scheduler's NextPushTime (after quiet hours). Nil means at once.
	PushTime func(t time.Time) time.Time
	// Wake, when set, is called after a run enqueued messages (the sender's Wake).
	Wake   func()
	Logger *slog.Logger
}

// Reminders sends the scheduled reminders, digests and escalations. Every
// reminder is decided by scanning the rows that are due on the day it runs
// for; the reminder ledger (store.SendReminders) sends at most one of a kind
// per target per day, across replicas and restarts.
type Reminders struct {
	d ReminderDeps
}

// NewReminders returns the reminder jobs' runner.
func NewReminders(d ReminderDeps) *Reminders {
	if d.Clock == nil {
		d.Clock = safetybot.SystemClock{}
	}
	if d.Calendar == nil {
		d.Calendar = DefaultCalendar()
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.PushTime == nil {
		d.PushTime = func(t time.Time) time.Time { return t }
	}
	return &Reminders{d: d}
}

// Register adds the reminder jobs to s (before s.Start), with the times of
// the newest campaign's reminder plan.
func (r *Reminders) Register(ctx context.Context, s *Scheduler) error {
	_, plan, err := r.settings(ctx)
	if err != nil {
		r.d.Logger.Warn("reminder plan unreadable, using the default times", "err", err)
	}
	for _, j := range ReminderJobs {
		cron := j.Cron
		if t, ok := plan.Times[j.Name]; ok {
			c, err := cronAt(t)
			if err != nil {
				return fmt.Errorf("campaign reminder_plan.times[%s]: %w", j.Name, err)
			}
			cron = c
		}
		kinds := j.Kinds
		if err := s.Add(Job{Name: j.Name, Cron: cron, WorkingDaysOnly: true,
			Run: func(ctx context.Context, slot Slot) error {
				_, err := r.RunSlot(ctx, slot, kinds...)
				return err
			}}); err != nil {
			return err
		}
	}
	return nil
}

// RunSlot runs kinds for the day of a scheduled slot. A slot caught up on a
// later day is stale: its reminders were for a day that is over, and the
// day's own slots send today's, so it sends nothing.
func (r *Reminders) RunSlot(ctx context.Context, slot Slot, kinds ...string) (Result, error) {
	now := r.d.Clock.Now().In(r.d.Location)
	if civilOf(now) != civilOf(slot.At.In(r.d.Location)) {
		r.d.Logger.Info("stale reminder slot skipped", "job", slot.Job, "slot", slot.Key)
		return Result{}, nil
	}
	return r.Run(ctx, slot.At, kinds...)
}

// Result counts the reminders enqueued by kind.
type Result map[string]int

// Total is the sum over kinds.
func (res Result) Total() int {
	n := 0
	for _, v := range res {
		n += v
	}
	return n
}

// run is one sweep's state: the day, the settings, and the scans (each made
// at most once per run, see reminders_scans.go).
type run struct {
	r         *Reminders
	day       time.Time // midnight of the day, campaign time zone
	today     string    // YYYY-MM-DD
	next      time.Time // midnight of the next working day after day
	cs        safetybot.CampaignSettings
	plan      ReminderPlan
	notBefore time.Time
	scans     scans
}

// Run sends the reminders of kinds (every kind when none is given) due on
// the date of at, in the campaign time zone. Kinds switched off in the
// newest campaign's settings are skipped. Messages go out at once, or when
// quiet hours end.
func (r *Reminders) Run(ctx context.Context, at time.Time, kinds ...string) (Result, error) {
	if len(kinds) == 0 {
		kinds = ReminderKinds
	}
	cs, plan, err := r.settings(ctx)
	if err != nil {
		return nil, err
	}
	at = at.In(r.d.Location)
	day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, r.d.Location)
	u := &run{r: r, day: day, today: day.Format(time.DateOnly), next: r.d.Calendar.NextWorkingDay(day), cs: cs, plan: plan,
		notBefore: r.d.PushTime(r.d.Clock.Now())}
	res := Result{}
	var errs []error
	var todo []string
	for _, k := range kinds {
		if !cs.ReminderOn(k) {
			continue
		}
		if _, ok := kindBuilders[k]; !ok {
			errs = append(errs, fmt.Errorf("unknown reminder kind %q", k))
			continue
		}
		todo = append(todo, k)
	}
	todo = u.unclaimed(ctx, todo)
	// The kinds' scans start in the background (on Postgres). The kinds are
	// then built in order, each builder waiting only for its own scans, and
	// enqueued in the same order by one goroutine while the next is built.
	defer u.prefetch(ctx, todo)()
	kindErrs := make([]error, len(todo))
	send := func(i int, rs []store.Reminder) {
		n, err := r.d.Store.SendReminders(ctx, rs, u.notBefore)
		res[todo[i]] += n
		kindErrs[i] = err
	}
	var queue chan func()
	sent := make(chan struct{})
	if r.d.Store.ConcurrentCalls(ctx) {
		queue = make(chan func(), len(todo))
		go func() {
			defer close(sent)
			for f := range queue {
				f()
			}
		}()
	} else {
		close(sent)
	}
	for i, k := range todo {
		rs, err := kindBuilders[k](ctx, u)
		switch {
		case err != nil:
			kindErrs[i] = err
		case queue != nil:
			queue <- func() { send(i, rs) }
		default:
			send(i, rs)
		}
	}
	if queue != nil {
		close(queue)
	}
	<-sent
	for i, err := range kindErrs {
		if err != nil {
			errs = append(errs, fmt.Errorf("reminders %s: %w", todo[i], err))
		}
	}
	if res.Total() > 0 && r.d.Wake != nil {
		r.d.Wake()
	}
	return res, errors.Join(errs...)
}

// settings reads the newest campaign's settings and reminder plan.
func (r *Reminders) settings(ctx context.Context) (safetybot.CampaignSettings, ReminderPlan, error) {
	var extra struct {
		Plan ReminderPlan `json:"reminder_plan"`
	}
	cs, err := r.d.Store.ReminderCampaignSettings(ctx, &extra)
	return cs, extra.Plan.WithDefaults(), err
}

// kindBuilders scan what is due for each kind and build its reminders.
var kindBuilders = map[string]func(ctx context.Context, u *run) ([]store.Reminder, error){
	KindLetterUnsigned:        letterPrincipals,
	KindLetterTownship:        letterTownships,
	KindLetterOffice:          letterOffice,
	KindSelfCheckDue:          selfCheckPrincipals,
	KindSelfCheckTownship:     selfCheckTownships,
	KindHazardDue:             hazardsDue,
	KindHazardOverdue:         hazardsOverdue,
	KindHazardOverdueTownship: hazardsOverdueTownship,
	KindHazardMajorOverdue:    hazardsMajorOverdue,
	KindReviewPending:         reviewsPending,
	KindLedInspections:        ledInspections,
	KindDailyDigest:           dailyDigest,
}

// ---- dates ----

// date returns midnight of a civil date in the campaign time zone.
func (u *run) date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, u.r.d.Location)
}

// covers reports whether a reminder meant for date x is sent today: on x
// itself when it is a working day, else on the last working day before it.
// Today covers itself and the days off that follow it.
func (u *run) covers(x time.Time) bool {
	return !x.Before(u.day) && x.Before(u.next)
}

// shift returns the range today covers, moved by days: deadlines d with
// covers(d − days).
func (u *run) shift(days int) store.DateRange {
	return store.DateRange{From: u.day.AddDate(0, 0, days).Format(time.DateOnly), To: u.next.AddDate(0, 0, days).Format(time.DateOnly)}
}

// monthlyDay is the self-inspection day of a month: the configured day, or
// the month's last day when the month is shorter.
func (u *run) monthlyDay(y int, m time.Month) time.Time {
	last := u.date(y, m+1, 0).Day()
	return u.date(y, m, min(u.cs.SelfInspectionDay, last))
}

// officialsOf returns the active officials (loaded once per run) that match.
func (u *run) officialsOf(ctx context.Context, match func(store.Official) bool) ([]store.Official, error) {
	all, err := u.activeOfficials(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Official
	for _, o := range all {
		if match(o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// townshipOfficials groups the active township officials by township.
func (u *run) townshipOfficials(ctx context.Context) (map[string][]store.Official, error) {
	os, err := u.officialsOf(ctx, func(o store.Official) bool { return o.Role == safetybot.RoleTownship && o.Township != "" })
	if err != nil {
		return nil, err
	}
	m := map[string][]store.Official{}
	for _, o := range os {
		m[o.Township] = append(m[o.Township], o)
	}
	return m, nil
}

// ---- payloads ----

func (u *run) card(kind, target string, c messages.TemplateCard) (store.Reminder, error) {
	c.TaskID = messages.ReminderTaskID(kind, u.today, target)
	return u.payload(kind, target, messages.Card([]string{target}, c))
}

func (u *run) text(kind, target, content string) (store.Reminder, error) {
	return u.payload(kind, target, messages.TextTo([]string{target}, content))
}

func (u *run) payload(kind, target string, o messages.Outgoing) (store.Reminder, error) {
	b, err := json.Marshal(o.Body)
	if err != nil {
		return store.Reminder{}, err
	}
	return store.Reminder{Kind: kind, Target: target, Day: u.today, Payload: b}, nil
}

// sortedKeys returns a map's keys in order, so runs are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
