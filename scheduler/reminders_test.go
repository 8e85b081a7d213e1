package scheduler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/config"
	"safetybot/messages"
	"safetybot/scheduler"
	"safetybot/store"
	"safetybot/store/storetest"
)

// rmClock is the fake clock of the reminder tests: the store, the
// schedulers and the reminder jobs all read it.
type rmClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *rmClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *rmClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// The test's calendar: July–August 2026 has no public holiday, so three
// working days are made days off (one of them the monthly self-inspection
// day, one right after a hazard's deadline) and one Saturday a make-up
// working day.
const rmCalendar = `year 2026
2026-07-14 holiday 测试假日
2026-07-30 holiday 测试假日
2026-08-17 holiday 测试假日
2026-08-01 workday 测试调休上班
`

var (
	rmOff     = map[string]bool{"2026-07-14": true, "2026-07-30": true, "2026-08-17": true}
	rmMakeUp  = map[string]bool{"2026-08-01": true}
	rmQuiet   = config.QuietHours{Start: 21 * 60, End: 8 * 60}
	rmFirst   = "2026-07-01"
	rmDays    = 60
	rmDownDay = "2026-08-12" // every replica down from 08:00 until 22:30: the day's reminders go at the next morning
	rmGoneDay = "2026-08-06" // every replica down from 08:00 until the next morning: the day's reminders are dropped
	rmCrashAt = "2026-07-28" // the replica running the hazard job dies half-way; a restarted one finishes the day
)

// rmWorking is the test's own working-day rule (independent of Calendar).
func rmWorking(d string) bool {
	if rmOff[d] {
		return false
	}
	if rmMakeUp[d] {
		return true
	}
	wd := day(d).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

func rmAdd(d string, n int) string { return day(d).AddDate(0, 0, n).Format(time.DateOnly) }

// rmOnOrBefore is the last working day on or before d.
func rmOnOrBefore(d string) string {
	for !rmWorking(d) {
		d = rmAdd(d, -1)
	}
	return d
}

// rmWorkedAfter counts working days after a up to and including b.
func rmWorkedAfter(a, b string) int {
	n := 0
	for d := rmAdd(a, 1); d <= b; d = rmAdd(d, 1) {
		if rmWorking(d) {
			n++
		}
	}
	return n
}

// The roster. Userids are short names; enterprises E1…E8.
type rmEnt struct {
	key, name, township, dept, principal string
	active                               bool
}

var rmEnts = []rmEnt{
	{"E1", "青石小吃店", "青石镇", "应急管理局", "wang", true},
	{"E2", "青石旅馆", "青石镇", "应急管理局", "wang", true},
	{"E3", "青石建材厂", "青石镇", "住建局", "li", true},
	{"E4", "青石化工", "青石镇", "应急管理局", "zhao", true},
	{"E5", "白沙诊所", "白沙镇", "应急管理局", "zhang", true},
	{"E6", "白沙印染厂", "白沙镇", "住建局", "liu", true},
	{"E7", "白沙网吧", "白沙镇", "应急管理局", "", true},
	{"E8", "白沙老厂", "白沙镇", "应急管理局", "sun", false},
}

type rmPerson struct {
	userid, name string
	role         safetybot.Role
	township     string
	dept         string
	leader       bool
}

var rmPeople = []rmPerson{
	{"wang", "王建国", safetybot.RolePrincipal, "", "", false},
	{"li", "李秀英", safetybot.RolePrincipal, "", "", false},
	{"zhao", "赵强", safetybot.RolePrincipal, "", "", false},
	{"zhang", "张伟", safetybot.RolePrincipal, "", "", false},
	{"liu", "刘洋", safetybot.RolePrincipal, "", "", false},
	{"sun", "孙丽", safetybot.RolePrincipal, "", "", false},
	{"qs1", "青石镇长", safetybot.RoleTownship, "青石镇", "", true},
	{"qs2", "青石干部", safetybot.RoleTownship, "青石镇", "", false},
	{"bs1", "白沙干部", safetybot.RoleTownship, "白沙镇", "", false},
	{"yj1", "应急科长", safetybot.RoleDepartment, "", "应急管理局", true},
	{"zj1", "住建科长", safetybot.RoleDepartment, "", "住建局", true},
	{"office1", "安委办", safetybot.RoleOffice, "", "", false},
}

// The scenario, as facts with the day they happen (at 20:00, so they count
// from the next morning).
var (
	rmLetterSent     = "2026-07-01" // at 10:00, to E1–E6 and E8
	rmLetterDeadline = "2026-07-20"
	rmSigned         = map[string]string{"wang": "2026-07-06", "li": "2026-07-22", "zhang": "2026-07-02"} // zhao, liu never
	rmSelfDeadline   = "2026-08-10"
	// Principal-signed self-inspections: enterprise → period → day signed.
	rmSubmitted = map[string]map[string]string{
		"E1": {"2026-07": "2026-07-10"},
		"E2": {"2026-07": "2026-07-28"},
		"E3": {"2026-08": "2026-08-05"},
		"E5": {"2026-07": "2026-07-29"},
	}
	// Led inspections: leader → days.
	rmLed = map[string][]string{
		"qs1": {"2026-07-08", "2026-08-03", "2026-08-05", "2026-08-12"},
		"zj1": {"2026-07-06", "2026-07-07", "2026-07-15", "2026-08-04", "2026-08-19"},
	}
)

// rmHazard is one hazard and its history: status and deadline from a day on
// (the first entry holds from the start).
type rmHazard struct {
	key, ent, grade, tracker string
	steps                    []rmStep
}

type rmStep struct {
	day      string // takes effect the morning after (the first: from the start)
	action   store.HazardAction
	status   safetybot.HazardStatus
	deadline string
}

var rmHazards = []rmHazard{
	{"H1", "E1", "一般", "", []rmStep{
		{"", "", safetybot.HazardRectifying, "2026-07-17"},
		{"2026-07-22", store.HazardSubmit, safetybot.HazardReview, "2026-07-17"},
		{"2026-07-29", store.HazardApprove, safetybot.HazardClosed, "2026-07-17"},
	}},
	{"H2", "E4", "重大", "qs2", []rmStep{
		{"", "", safetybot.HazardRectifying, "2026-07-24"},
		{"2026-07-31", store.HazardExtend, safetybot.HazardRectifying, "2026-08-14"},
		{"2026-08-20", store.HazardShutDown, safetybot.HazardShutDown, "2026-08-14"},
	}},
	{"H3", "E5", "一般", "", []rmStep{{"", "", safetybot.HazardPending, "2026-08-31"}}},
	{"H4", "E6", "一般", "", []rmStep{{"", "", safetybot.HazardSuspended, "2026-08-03"}}},
	{"H5", "E8", "一般", "", []rmStep{{"", "", safetybot.HazardRectifying, "2026-07-10"}}}, // inactive enterprise
	{"H6", "E3", "一般", "", []rmStep{{"", "", safetybot.HazardFixed, ""}}},
	// Submitted for review on 2026-06-30 (before the test starts), approved on 07-06.
	{"H7", "E2", "一般", "", []rmStep{
		{"", "", safetybot.HazardReview, "2026-07-31"},
		{"2026-07-06", store.HazardApprove, safetybot.HazardClosed, "2026-07-31"},
	}},
}

const rmH7Submitted = "2026-06-30"

func (h rmHazard) at(d string) rmStep {
	s := h.steps[0]
	for _, x := range h.steps[1:] {
		if x.day < d {
			s = x
		}
	}
	return s
}

func (h rmHazard) reviewSince(d string) string {
	since := ""
	if h.key == "H7" {
		since = rmH7Submitted
	}
	for _, x := range h.steps[1:] {
		if x.day < d && x.status == safetybot.HazardReview {
			since = x.day
		}
	}
	return since
}

func rmEntOf(key string) rmEnt {
	for _, e := range rmEnts {
		if e.key == key {
			return e
		}
	}
	panic(key)
}

// rmExpected computes, from the scenario alone, which reminders go to whom on
// which day: kind → "day target" lines, sorted.
func rmExpected() map[string][]string {
	want := map[string][]string{}
	add := func(kind, d, target string) {
		line := d + " " + target
		if !slices.Contains(want[kind], line) {
			want[kind] = append(want[kind], line)
		}
	}
	townOfficials := map[string][]string{}
	for _, p := range rmPeople {
		if p.role == safetybot.RoleTownship {
			townOfficials[p.township] = append(townOfficials[p.township], p.userid)
		}
	}
	signed := func(principal, d string) bool { s, ok := rmSigned[principal]; return ok && s < d }
	submittedUpTo := func(ent, from, to, d string) bool {
		for period, on := range rmSubmitted[ent] {
			if period >= from && period <= to && on < d {
				return true
			}
		}
		return false
	}
	for i := 0; i < rmDays; i++ {
		d := rmAdd(rmFirst, i)
		if !rmWorking(d) || d == rmGoneDay {
			continue
		}
		// Letters.
		for _, e := range rmEnts {
			if !e.active || e.principal == "" || signed(e.principal, d) {
				continue
			}
			if d > rmLetterSent && d <= rmLetterDeadline {
				add(scheduler.KindLetterUnsigned, d, e.principal)
			}
			if d >= rmAdd(rmLetterSent, 3) {
				for _, o := range townOfficials[e.township] {
					add(scheduler.KindLetterTownship, d, o)
				}
			}
			if d > rmLetterDeadline {
				add(scheduler.KindLetterOffice, d, "office1")
			}
		}
		// Self-inspection: the monthly day (30th, or the month's last day)
		// and 3 days before, moved back to a working day; the deadline.
		for _, month := range []string{d[:7], rmAdd(d[:7]+"-01", 32)[:7]} {
			m := day(month + "-01")
			last := m.AddDate(0, 1, -1).Day()
			due := fmt.Sprintf("%s-%02d", month, min(30, last))
			if d != rmOnOrBefore(due) && d != rmOnOrBefore(rmAdd(due, -3)) {
				continue
			}
			for _, e := range rmEnts {
				if e.active && e.principal != "" && !submittedUpTo(e.key, month, month, d) {
					add(scheduler.KindSelfCheckDue, d, e.principal)
				}
			}
		}
		if d == rmOnOrBefore(rmSelfDeadline) {
			for _, e := range rmEnts {
				if e.active && !submittedUpTo(e.key, "", rmSelfDeadline[:7], d) {
					if e.principal != "" {
						add(scheduler.KindSelfCheckDue, d, e.principal)
					}
					for _, o := range townOfficials[e.township] {
						add(scheduler.KindSelfCheckTownship, d, o)
					}
				}
			}
		}
		// Hazards.
		for _, h := range rmHazards {
			e := rmEntOf(h.ent)
			s := h.at(d)
			if !e.active || s.deadline == "" {
				continue
			}
			actionable := s.status == safetybot.HazardPending || s.status == safetybot.HazardRectifying || s.status == safetybot.HazardSuspended
			open := actionable || s.status == safetybot.HazardReview
			if actionable && (d == rmOnOrBefore(s.deadline) || d == rmOnOrBefore(rmAdd(s.deadline, -3))) && s.deadline >= d {
				add(scheduler.KindHazardDue, d, e.principal)
			}
			if s.deadline < d && actionable {
				add(scheduler.KindHazardOverdue, d, e.principal)
				if h.grade == "重大" {
					if h.tracker != "" {
						add(scheduler.KindHazardMajorOverdue, d, h.tracker)
					}
					for _, p := range rmPeople {
						if p.role == safetybot.RoleDepartment && p.dept == e.dept {
							add(scheduler.KindHazardMajorOverdue, d, p.userid)
						}
					}
				}
			}
			if s.deadline < d && open {
				for _, o := range townOfficials[e.township] {
					add(scheduler.KindHazardOverdueTownship, d, o)
				}
			}
			if s.status == safetybot.HazardReview && rmWorkedAfter(h.reviewSince(d), d) > 2 {
				for _, o := range townOfficials[e.township] {
					add(scheduler.KindReviewPending, d, o)
				}
			}
		}
		// Leaders on the first working day from the 20th.
		check := d[:7] + "-20"
		for !rmWorking(check) {
			check = rmAdd(check, 1)
		}
		if d == check {
			for _, p := range rmPeople {
				if !p.leader {
					continue
				}
				n := 0
				for _, x := range rmLed[p.userid] {
					if x[:7] == d[:7] && x <= d {
						n++
					}
				}
				if n < 3 {
					add(scheduler.KindLedInspections, d, p.userid)
				}
			}
		}
		for _, os := range townOfficials {
			for _, o := range os {
				add(scheduler.KindDailyDigest, d, o)
			}
		}
	}
	for k := range want {
		sort.Strings(want[k])
	}
	return want
}

// rmWorld is the store with the roster and the scenario's ids.
type rmWorld struct {
	t      *testing.T
	st     *store.Store
	clock  *rmClock
	cal    *scheduler.Calendar
	ents   map[string]int64
	people map[string]int64
	haz    map[string]int64
	letter int64
}

func rmAt(d, hhmm string) time.Time { return at(d + " " + hhmm) }

func newRmWorld(t *testing.T, dialect string) *rmWorld {
	cal, err := scheduler.ParseCalendar(strings.NewReader(rmCalendar), "test")
	if err != nil {
		t.Fatal(err)
	}
	c := &rmClock{t: rmAt("2026-06-30", "10:00")}
	w := &rmWorld{t: t, clock: c, cal: cal, st: storetest.New(t, dialect, storetest.Options{Clock: c}),
		ents: map[string]int64{}, people: map[string]int64{}, haz: map[string]int64{}}
	ctx := context.Background()
	st := w.st
	settings := `{"self_inspection_day": 30, "self_inspection_deadline": "` + rmSelfDeadline + `"}`
	w.exec(`INSERT INTO campaigns (name, starts_on, ends_on, settings, created_at) VALUES ('2026 大检查', '2026-07-01', '2026-09-15', ?, ?)`, settings, st.Now())
	for _, p := range rmPeople {
		if p.township != "" {
			st.EnsureTownship(ctx, p.township)
		}
		if p.dept != "" {
			st.EnsureDepartment(ctx, p.dept)
		}
		pp := &safetybot.Person{UserID: p.userid, Name: p.name, Role: p.role, Township: p.township, Department: p.dept, Leader: p.leader}
		if err := st.CreatePerson(ctx, pp); err != nil {
			t.Fatal(err)
		}
		w.people[p.userid] = pp.ID
	}
	var recipients []store.LetterRecipient
	for i, e := range rmEnts {
		st.EnsureTownship(ctx, e.township)
		prefix := fmt.Sprintf("91320581MA1RM%04d", i)
		en := &safetybot.Enterprise{CreditCode: prefix + string(safetybot.CreditCodeCheckChar(prefix)), Name: e.name, Township: e.township,
			Department: e.dept, Category: safetybot.CategoryGeneral}
		if err := st.CreateEnterprise(ctx, en); err != nil {
			t.Fatal(err)
		}
		w.ents[e.key] = en.ID
		if e.principal != "" {
			if err := st.SetContact(ctx, en.ID, w.people[e.principal], safetybot.ContactPrincipal); err != nil {
				t.Fatal(err)
			}
			recipients = append(recipients, store.LetterRecipient{EnterpriseID: en.ID, UserID: e.principal})
		}
	}
	// Hazards as they stand at the start; H7 went to review on 06-30.
	for _, h := range rmHazards {
		s := h.steps[0]
		var deadline any
		if s.deadline != "" {
			deadline = s.deadline
		}
		var id int64
		q := st.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, tracker, photos, updated_at)
			VALUES (?, '检查', ?, ?, ?, ?, ?, 'qs1', ?, '[]', ?) RETURNING id`)
		if err := st.DB().Get(&id, q, w.ents[h.ent], "隐患"+h.key, h.grade, string(s.status), deadline, st.Now(), h.tracker, st.Now()); err != nil {
			t.Fatal(err)
		}
		w.haz[h.key] = id
		w.exec(`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos) VALUES (?, ?, 'qs1', '', ?, '', '[]')`,
			id, st.Now(), string(s.status))
	}
	// H7 was submitted for review at 15:00 that day.
	c.set(rmAt(rmH7Submitted, "15:00"))
	w.exec(`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos) VALUES (?, ?, 'wang', '整改中', '待复查', '已整改', '[]')`,
		w.haz["H7"], st.Now())
	for leader, days := range rmLed {
		for _, d := range days {
			w.exec(`INSERT INTO inspections (kind, enterprise_id, inspector, led, inspected_on, status, created_at) VALUES ('带队检查', ?, ?, TRUE, ?, 'done', ?)`,
				w.ents["E1"], leader, d, st.Now())
		}
	}
	// A not-led inspection does not count.
	w.exec(`INSERT INTO inspections (kind, enterprise_id, inspector, led, inspected_on, status, created_at) VALUES ('现场检查', ?, 'yj1', FALSE, '2026-07-09', 'done', ?)`,
		w.ents["E1"], st.Now())
	// E4 has a July submission waiting for the principal's signature: not done.
	w.exec(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, answers, filler, state, created_at)
		VALUES (?, '2026-07', 'general', 'general@1', '{}', 'zhao', ?, ?)`, w.ents["E4"], safetybot.SubmissionAwaitingSignature, st.Now())

	c.set(rmAt(rmLetterSent, "10:00"))
	l := &safetybot.Letter{Title: "致全市企业主要负责人的一封信", Body: "请落实安全生产主体责任。", Scope: "{}", Sender: "office1", Deadline: ptrDay(rmLetterDeadline)}
	if err := st.CreateLetter(ctx, l, "letter-rm", recipients); err != nil {
		t.Fatal(err)
	}
	w.letter = l.ID
	// E8 closed down after the letter went out.
	w.exec(`UPDATE enterprises SET active = FALSE WHERE id = ?`, w.ents["E8"])
	return w
}

func ptrDay(s string) *time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return &t
}

func (w *rmWorld) exec(q string, args ...any) {
	w.t.Helper()
	if _, err := w.st.DB().Exec(w.st.DB().Rebind(q), args...); err != nil {
		w.t.Fatalf("%s: %v", q, err)
	}
}

// events applies the scenario's facts of day d (at 20:00).
func (w *rmWorld) events(d string) {
	w.t.Helper()
	ctx := context.Background()
	w.clock.set(rmAt(d, "20:00"))
	for principal, on := range rmSigned {
		if on == d {
			if _, err := w.st.SignLetter(ctx, w.letter, principal, safetybot.SignByButton); err != nil {
				w.t.Fatal(err)
			}
		}
	}
	for ent, periods := range rmSubmitted {
		for period, on := range periods {
			if on == d {
				w.exec(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, signed_at, state, created_at)
					VALUES (?, ?, 'general', 'general@1', 9, '{}', ?, ?, ?, ?, ?)`,
					w.ents[ent], period, rmEntOf(ent).principal, rmEntOf(ent).principal, w.st.Now(), safetybot.SubmissionSigned, w.st.Now())
			}
		}
	}
	for _, h := range rmHazards {
		for _, s := range h.steps[1:] {
			if s.day != d {
				continue
			}
			tr := store.HazardTransition{HazardID: w.haz[h.key], Action: s.action, Actor: "qs1", Note: "测试"}
			switch s.action {
			case store.HazardSubmit:
				tr.Actor, tr.Photos = rmEntOf(h.ent).principal, []string{"after"}
			case store.HazardExtend:
				tr.Deadline = ptrDay(s.deadline)
			}
			if _, _, err := w.st.TransitionHazard(ctx, tr); err != nil {
				w.t.Fatalf("%s %s on %s: %v", h.key, s.action, d, err)
			}
		}
	}
}

// replica is one bot replica's scheduler with the reminder jobs.
func (w *rmWorld) replica(owner string) *scheduler.Scheduler {
	w.t.Helper()
	s, err := scheduler.New(scheduler.Config{Store: w.st, Location: shanghai, Quiet: rmQuiet, Calendar: w.cal, Clock: w.clock,
		Owner: owner, Logger: testLogger(w.t), Reconcile: -1})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.reminders(s).Register(context.Background(), s); err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *rmWorld) reminders(s *scheduler.Scheduler) *scheduler.Reminders {
	return scheduler.NewReminders(scheduler.ReminderDeps{Store: w.st, Location: shanghai, Clock: w.clock, Calendar: s.Calendar(),
		PublicURL: "https://bot.example", PushTime: s.NextPushTime, Logger: testLogger(w.t)})
}

// tick moves the clock and lets every replica run what is due, concurrently.
func (w *rmWorld) tick(t time.Time, replicas ...*scheduler.Scheduler) {
	w.t.Helper()
	w.clock.set(t)
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, s := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.RunDue(context.Background())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			w.t.Fatalf("%s: %v", t.Format("2006-01-02 15:04"), err)
		}
	}
}

// rmTicks are the moments replicas look for due jobs on an ordinary day.
var rmTicks = []string{"07:00", "09:04", "09:14", "09:24", "09:34", "09:44", "09:54", "11:34", "16:34", "22:00"}

// TestRemindersOverSixtyDays runs the reminder jobs of two replicas sharing
// one database over 60 simulated days of a campaign, with restarts, a
// replica dying half-way through a job, a day spent down until the quiet
// hours and a day spent down entirely, and checks the outbox against the
// reminders computed from the scenario alone.
func TestRemindersOverSixtyDays(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newRmWorld(t, dialect)
			a, b := w.replica("a"), w.replica("b")
			for i := 0; i < rmDays; i++ {
				d := rmAdd(rmFirst, i)
				switch d {
				case rmCrashAt:
					for _, hhmm := range []string{"07:00", "09:04", "09:14", "09:24"} {
						w.tick(rmAt(d, hhmm), a, b)
					}
					// Replica a claims the hazard job's slot and dies after two
					// of its four kinds; b dies with it.
					w.clock.set(rmAt(d, "09:34"))
					ok, err := w.st.ClaimJobRun(context.Background(), "hazard-reminders", d+"T09:33", "a", time.Hour)
					if err != nil || !ok {
						t.Fatalf("claim: %v %v", ok, err)
					}
					if _, err := w.reminders(a).Run(context.Background(), rmAt(d, "09:33"),
						scheduler.KindHazardDue, scheduler.KindHazardOverdue); err != nil {
						t.Fatal(err)
					}
					// Restarted at 10:00: the catch-up at start and the day's
					// later slots finish the day.
					a, b = w.replica("a2"), w.replica("b2")
					for _, hhmm := range []string{"10:00", "11:34", "16:34", "22:00"} {
						w.tick(rmAt(d, hhmm), a, b)
					}
					w.events(d)
				case rmDownDay:
					w.tick(rmAt(d, "07:00"), a, b)
					w.events(d)
					a, b = w.replica("a3"), w.replica("b3")
					w.tick(rmAt(d, "22:30"), a, b)
				case rmGoneDay:
					w.tick(rmAt(d, "07:00"), a, b)
					w.events(d)
					a, b = w.replica("a4"), w.replica("b4")
					w.tick(rmAt(rmAdd(d, 1), "07:30"), a, b)
				default:
					for _, hhmm := range rmTicks {
						if d == rmAdd(rmGoneDay, 1) && hhmm == "07:00" {
							continue
						}
						w.tick(rmAt(d, hhmm), a, b)
						if d == "2026-07-09" && hhmm == "09:24" {
							// A plain restart in the middle of a day.
							a, b = w.replica("a5"), w.replica("b5")
							w.tick(rmAt(d, "09:25"), a, b)
						}
					}
					w.events(d)
				}
			}

			rows, err := w.st.ListOutbox(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			keys := map[string]bool{}
			tasks := map[string]bool{}
			for _, r := range rows {
				kind, d, target, ok := store.ParseReminderKey(r.Batch)
				if !ok {
					t.Fatalf("outbox row %d is not a reminder: batch %q", r.ID, r.Batch)
				}
				if r.Recipient != target {
					t.Errorf("reminder %s went to %s", r.Batch, r.Recipient)
				}
				if keys[r.Batch] {
					t.Errorf("reminder %s enqueued twice", r.Batch)
				}
				keys[r.Batch] = true
				got[kind] = append(got[kind], d+" "+target)
				local := r.NextAttemptAt.In(shanghai)
				if rmQuiet.Contains(local, shanghai) {
					t.Errorf("reminder %s due at %s, inside the quiet hours", r.Batch, local.Format("01-02 15:04"))
				}
				if created := r.CreatedAt.In(shanghai).Format(time.DateOnly); !rmWorking(created) || created != d {
					t.Errorf("reminder %s for %s was made on %s", r.Batch, d, created)
				}
				if d == rmDownDay && local.Format("2006-01-02 15:04") != rmAdd(d, 1)+" 08:00" {
					t.Errorf("reminder %s made in the quiet hours goes out at %s, want the next 08:00", r.Batch, local.Format("2006-01-02 15:04"))
				}
				var body struct {
					MsgType      string `json:"msgtype"`
					TemplateCard struct {
						TaskID     string `json:"task_id"`
						ButtonList []struct {
							Key string `json:"key"`
						} `json:"button_list"`
					} `json:"template_card"`
					Text struct {
						Content string `json:"content"`
					} `json:"text"`
				}
				if err := json.Unmarshal([]byte(r.Payload), &body); err != nil {
					t.Fatalf("payload of %s: %v", r.Batch, err)
				}
				switch body.MsgType {
				case "template_card":
					id := body.TemplateCard.TaskID
					if id == "" || tasks[id] {
						t.Errorf("card %s has task_id %q (empty or used before)", r.Batch, id)
					}
					tasks[id] = true
					if len(body.TemplateCard.ButtonList) != 1 {
						t.Errorf("card %s has %d buttons, want the one action", r.Batch, len(body.TemplateCard.ButtonList))
					}
				case "text":
					if body.Text.Content == "" || len(body.Text.Content) > messages.MaxText {
						t.Errorf("text %s is %d bytes", r.Batch, len(body.Text.Content))
					}
				default:
					t.Errorf("reminder %s is a %s", r.Batch, body.MsgType)
				}
			}
			for k := range got {
				sort.Strings(got[k])
			}
			want := rmExpected()
			for _, k := range scheduler.ReminderKinds {
				if len(want[k]) == 0 {
					t.Errorf("the scenario expects no %s reminder: it does not test that kind", k)
				}
				if !slices.Equal(got[k], want[k]) {
					t.Errorf("%s reminders:\n%s", k, diffLines(got[k], want[k]))
				}
			}
			ledger, err := w.st.DB().Query(`SELECT COUNT(*) FROM reminders`)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			ledger.Next()
			ledger.Scan(&n)
			ledger.Close()
			if n != len(rows) {
				t.Errorf("reminder ledger has %d rows, outbox %d", n, len(rows))
			}
		})
	}
}

// diffLines shows what is missing and what is extra.
func diffLines(got, want []string) string {
	var b strings.Builder
	for _, x := range want {
		if !slices.Contains(got, x) {
			b.WriteString("  missing " + x + "\n")
		}
	}
	for _, x := range got {
		if !slices.Contains(want, x) {
			b.WriteString("  extra   " + x + "\n")
		}
	}
	return b.String()
}

// advance applies the scenario's facts of every day before until.
func (w *rmWorld) advance(from, until string) {
	for d := from; d < until; d = rmAdd(d, 1) {
		w.events(d)
	}
}

// rmPayload is a reminder's message body as WeCom gets it.
type rmPayload struct {
	MsgType      string `json:"msgtype"`
	TemplateCard struct {
		MainTitle struct {
			Title string `json:"title"`
		} `json:"main_title"`
		SubTitleText string `json:"sub_title_text"`
		CardAction   struct {
			URL string `json:"url"`
		} `json:"card_action"`
		ButtonList []struct {
			Text string `json:"text"`
			Key  string `json:"key"`
		} `json:"button_list"`
	} `json:"template_card"`
	Text struct {
		Content string `json:"content"`
	} `json:"text"`
}

// sent returns the reminder of kind to target on day from the outbox.
func (w *rmWorld) sent(kind, d, target string) rmPayload {
	w.t.Helper()
	rows, err := w.st.ListOutbox(context.Background(), target)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rows {
		if r.Batch == store.ReminderKey(kind, d, target) {
			var p rmPayload
			if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
				w.t.Fatal(err)
			}
			return p
		}
	}
	w.t.Fatalf("no %s reminder to %s on %s", kind, target, d)
	return rmPayload{}
}

// TestReminderContents checks what the reminders say and which button they
// carry, on chosen days of the scenario.
func TestReminderContents(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			w := newRmWorld(t, dialect)
			r := w.reminders(w.replica("x"))
			run := func(d string, kinds ...string) scheduler.Result {
				t.Helper()
				w.clock.set(rmAt(d, "09:40"))
				res, err := r.Run(context.Background(), rmAt(d, "09:40"), kinds...)
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			key := func(p rmPayload) string {
				if len(p.TemplateCard.ButtonList) != 1 {
					t.Fatalf("card %+v has no single button", p.TemplateCard)
				}
				return p.TemplateCard.ButtonList[0].Key
			}

			run("2026-07-02", scheduler.KindLetterUnsigned)
			letter := w.sent(scheduler.KindLetterUnsigned, "2026-07-02", "li")
			if key(letter) != fmt.Sprintf("sign:%d", w.letter) || letter.TemplateCard.MainTitle.Title != "公开信还没签收" ||
				letter.TemplateCard.CardAction.URL != fmt.Sprintf("https://bot.example/letters/%d", w.letter) ||
				!strings.Contains(letter.TemplateCard.SubTitleText, "青石建材厂") {
				t.Fatalf("letter reminder %+v", letter.TemplateCard)
			}
			if wang := w.sent(scheduler.KindLetterUnsigned, "2026-07-02", "wang"); !strings.Contains(wang.TemplateCard.SubTitleText, "青石小吃店、青石旅馆") {
				t.Fatalf("one card names both of wang's enterprises: %q", wang.TemplateCard.SubTitleText)
			}

			w.advance("2026-07-02", "2026-07-13")
			run("2026-07-13", scheduler.KindHazardDue)
			due := w.sent(scheduler.KindHazardDue, "2026-07-13", "wang")
			if key(due) != fmt.Sprintf("rectify:%d", w.haz["H1"]) || !strings.Contains(due.TemplateCard.SubTitleText, fmt.Sprintf("编号%d", w.haz["H1"])) ||
				!strings.Contains(due.TemplateCard.SubTitleText, "期限7月17日") {
				t.Fatalf("hazard reminder %+v", due.TemplateCard)
			}

			w.advance("2026-07-13", "2026-07-21")
			run("2026-07-21", scheduler.KindDailyDigest, scheduler.KindHazardOverdue, scheduler.KindLetterTownship)
			digest := w.sent(scheduler.KindDailyDigest, "2026-07-21", "qs2").Text.Content
			for _, want := range []string{"青石镇", "公开信签收：2/4", "本月自查：1/4", "一般 1 条，重大 1 条", "逾期隐患：1 条", fmt.Sprintf("编号%d", w.haz["H1"]), "逾期4天"} {
				if !strings.Contains(digest, want) {
					t.Fatalf("digest %q does not say %q", digest, want)
				}
			}
			over := w.sent(scheduler.KindHazardOverdue, "2026-07-21", "wang")
			if over.TemplateCard.MainTitle.Title != "隐患整改已逾期" || key(over) != fmt.Sprintf("rectify:%d", w.haz["H1"]) {
				t.Fatalf("overdue reminder %+v", over.TemplateCard)
			}
			list := w.sent(scheduler.KindLetterTownship, "2026-07-21", "bs1").Text.Content
			if !strings.Contains(list, "白沙印染厂（刘洋") || strings.Contains(list, "白沙诊所") || strings.Contains(list, "白沙老厂") {
				t.Fatalf("township list %q: want only the unsigned active enterprise", list)
			}

			w.advance("2026-07-21", "2026-07-27")
			run("2026-07-27", scheduler.KindSelfCheckDue, scheduler.KindHazardMajorOverdue)
			sc := w.sent(scheduler.KindSelfCheckDue, "2026-07-27", "wang")
			if key(sc) != fmt.Sprintf("selfcheck:start:%d", w.ents["E2"]) || !strings.Contains(sc.TemplateCard.SubTitleText, "7月30日") {
				t.Fatalf("self-inspection reminder %+v", sc.TemplateCard)
			}
			major := w.sent(scheduler.KindHazardMajorOverdue, "2026-07-27", "qs2").Text.Content
			if !strings.Contains(major, "您跟踪") || !strings.Contains(major, fmt.Sprintf("编号%d", w.haz["H2"])) || !strings.Contains(major, "青石化工［青石镇］") {
				t.Fatalf("major escalation %q", major)
			}

			// A kind switched off in the campaign's settings is not sent.
			w.exec(`UPDATE campaigns SET settings = ?`, `{"self_inspection_deadline": "2026-08-10", "reminders": {"daily-digest": false}}`)
			if res := run("2026-07-28", scheduler.KindDailyDigest, scheduler.KindHazardOverdue); res[scheduler.KindDailyDigest] != 0 || res[scheduler.KindHazardOverdue] == 0 {
				t.Fatalf("with the digest off: %v", res)
			}
		})
	}
}

// TestReminderPlanTimes moves a job with the campaign's reminder plan and
// refuses a malformed time.
func TestReminderPlanTimes(t *testing.T) {
	w := newRmWorld(t, "sqlite")
	w.exec(`UPDATE campaigns SET settings = ?`, `{"reminder_plan": {"times": {"daily-digest": "08:47"}}}`)
	s := w.replica("t")
	w.clock.set(rmAt("2026-07-02", "08:50"))
	ran, err := s.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var slots []string
	for _, r := range ran {
		slots = append(slots, r.Key)
	}
	if !slices.Contains(slots, "2026-07-02T08:47") {
		t.Fatalf("ran %v, want the digest at 08:47", slots)
	}
	if _, err := w.st.ListOutbox(context.Background(), "qs1"); err != nil {
		t.Fatal(err)
	}
	w.sent(scheduler.KindDailyDigest, "2026-07-02", "qs1")

	w.exec(`UPDATE campaigns SET settings = ?`, `{"reminder_plan": {"times": {"daily-digest": "25:00"}}}`)
	s2, err := scheduler.New(scheduler.Config{Store: w.st, Location: shanghai})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.reminders(s2).Register(context.Background(), s2); err == nil || !strings.Contains(err.Error(), "HH:MM") {
		t.Fatalf("a bad time registered: %v", err)
	}
}
