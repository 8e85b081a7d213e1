package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

// loopWorld is one township with an enterprise, its principal, a township
// official, a department official and a stranger official.
type loopWorld struct {
	t  *testing.T
	s  *store.Store
	e  safetybot.Enterprise
	id int64 // next hazard's number in names
}

func newLoopWorld(t *testing.T, s *store.Store) *loopWorld {
	ctx := context.Background()
	if err := s.EnsureTownship(ctx, "青石镇"); err != nil {
		t.Fatal(err)
	}
	e := enterprise(validCode("91320581MA1LP0001"), "青石家具厂")
	e.Township, e.Department = "青石镇", "应急管理局"
	if err := s.CreateEnterprise(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, p := range []safetybot.Person{
		{UserID: "boss", Name: "王老板", Role: safetybot.RolePrincipal},
		{UserID: "QsGan", Name: "周干部", Role: safetybot.RoleTownship, Township: "青石镇"},
		{UserID: "yjke", Name: "吴科长", Role: safetybot.RoleDepartment, Department: "应急管理局"},
	} {
		p := p
		if err := s.CreatePerson(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if p.Role == safetybot.RolePrincipal {
			if err := s.SetContact(ctx, e.ID, p.ID, safetybot.ContactPrincipal); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &loopWorld{t: t, s: s, e: *e}
}

// hazard inserts a hazard directly (as the self-inspection or an inspection
// would) and returns its id.
func (w *loopWorld) hazard(grade string, status safetybot.HazardStatus, deadline string) int64 {
	w.t.Helper()
	w.id++
	now := w.s.Now()
	var id int64
	q := w.s.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, photos, updated_at)
		VALUES (?, '检查', ?, ?, ?, ?, ?, 'QsGan', '["before1"]', ?) RETURNING id`)
	if err := w.s.DB().Get(&id, q, w.e.ID, "后门上锁"+string(rune('A'+w.id)), grade, string(status), deadline, now, now); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *loopWorld) step(id int64, a store.HazardAction, mod ...func(*store.HazardTransition)) (safetybot.Hazard, store.HazardEvent, error) {
	tr := store.HazardTransition{HazardID: id, Action: a, Actor: "QsGan"}
	switch a {
	case store.HazardSubmit:
		tr.Actor, tr.Note, tr.Photos = "boss", "已拆除门锁", []string{"after1", "after2"}
	case store.HazardStart:
		tr.Actor = "boss"
	case store.HazardReturn:
		tr.Note = "照片看不清"
	}
	for _, m := range mod {
		m(&tr)
	}
	return w.s.TransitionHazard(context.Background(), tr)
}

func (w *loopWorld) must(id int64, a store.HazardAction, want safetybot.HazardStatus, mod ...func(*store.HazardTransition)) (safetybot.Hazard, store.HazardEvent) {
	w.t.Helper()
	h, ev, err := w.step(id, a, mod...)
	if err != nil {
		w.t.Fatalf("hazard %d %s: %v", id, a, err)
	}
	if h.Status != want {
		w.t.Fatalf("hazard %d after %s is %s, want %s", id, a, h.Status, want)
	}
	stored, err := w.s.FindHazard(context.Background(), id)
	if err != nil || stored.Status != want {
		w.t.Fatalf("stored hazard %d is %s (%v), want %s", id, stored.Status, err, want)
	}
	return h, ev
}

// refused checks the step fails with code and a message naming the words.
func (w *loopWorld) refused(id int64, a store.HazardAction, code string, words []string, mod ...func(*store.HazardTransition)) {
	w.t.Helper()
	before, _ := w.s.FindHazard(context.Background(), id)
	evs, _ := w.s.HazardEvents(context.Background(), id)
	_, _, err := w.step(id, a, mod...)
	if safetybot.ErrorCode(err) != code {
		w.t.Fatalf("hazard %d %s: err %v, want code %s", id, a, err, code)
	}
	msg := safetybot.ErrorMessage(err)
	for _, word := range words {
		if !strings.Contains(msg, word) {
			w.t.Fatalf("hazard %d %s: message %q does not say %q", id, a, msg, word)
		}
	}
	after, _ := w.s.FindHazard(context.Background(), id)
	evs2, _ := w.s.HazardEvents(context.Background(), id)
	if after.Status != before.Status || len(evs2) != len(evs) || !sameDeadline(after.Deadline, before.Deadline) {
		w.t.Fatalf("a refused %s changed hazard %d: %s → %s, %d → %d events", a, id, before.Status, after.Status, len(evs), len(evs2))
	}
}

func sameDeadline(a, b *time.Time) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && a.Equal(*b))
}

func date(s string) *time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestHazardTransitionTable checks which action may start from which status
// against the closed loop written out here (DOMAIN.md §4 and the issue).
func TestHazardTransitionTable(t *testing.T) {
	P, R, V, C, F, S, X := safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardClosed,
		safetybot.HazardFixed, safetybot.HazardSuspended, safetybot.HazardShutDown
	allowed := map[store.HazardAction][]safetybot.HazardStatus{
		store.HazardStart:    {P},
		store.HazardSubmit:   {P, R, S},
		store.HazardApprove:  {V},
		store.HazardReturn:   {V},
		store.HazardExtend:   {P, R, V, S},
		store.HazardSuspend:  {P, R, V},
		store.HazardShutDown: {P, R, V, S},
	}
	for a, from := range allowed {
		for _, st := range []safetybot.HazardStatus{P, R, V, C, F, S, X} {
			want := false
			for _, f := range from {
				want = want || f == st
			}
			if got := store.HazardAllowed(a, st); got != want {
				t.Errorf("%s from %s allowed = %v, want %v", a, st, got, want)
			}
		}
	}
}

func TestHazardLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		w := newLoopWorld(t, s)

		t.Run("rectify, send back, resubmit, approve", func(t *testing.T) {
			id := w.hazard(safetybot.GradeMajor, safetybot.HazardPending, "2026-07-20")
			w.refused(id, store.HazardApprove, safetybot.EINVALID, []string{"待整改", "不能复查通过"})
			w.refused(id, store.HazardReturn, safetybot.EINVALID, []string{"待整改", "不能退回"})
			w.must(id, store.HazardStart, safetybot.HazardRectifying)
			w.refused(id, store.HazardStart, safetybot.EINVALID, []string{"整改中", "不能开始整改"})
			w.refused(id, store.HazardSubmit, safetybot.EINVALID, []string{"照片"}, func(tr *store.HazardTransition) { tr.Photos = nil })
			w.refused(id, store.HazardSubmit, safetybot.EINVALID, []string{"说明"}, func(tr *store.HazardTransition) { tr.Note = " " })
			_, sub := w.must(id, store.HazardSubmit, safetybot.HazardReview)
			if sub.From != safetybot.HazardRectifying || sub.Note != "已拆除门锁" || len(sub.Photos) != 2 || sub.Actor != "boss" {
				t.Fatalf("submit event %+v", sub)
			}
			w.refused(id, store.HazardSubmit, safetybot.EINVALID, []string{"待复查", "等待镇街复查"})
			w.refused(id, store.HazardReturn, safetybot.EINVALID, []string{"原因"}, func(tr *store.HazardTransition) { tr.Note = "" })
			_, back := w.must(id, store.HazardReturn, safetybot.HazardRectifying)
			if back.Note != "照片看不清" || back.From != safetybot.HazardReview {
				t.Fatalf("return event %+v", back)
			}
			_, sub2 := w.must(id, store.HazardSubmit, safetybot.HazardReview)
			// A review card of the first submission is stale now.
			w.refused(id, store.HazardApprove, safetybot.ECONFLICT, []string{"过期"}, func(tr *store.HazardTransition) { tr.ExpectEvent = sub.ID })
			// A 五定 edit while in review does not make the card stale.
			owner := "王老板"
			if _, err := s.SetHazardPlan(ctx, id, "QsGan", store.HazardPlan{Owner: &owner}); err != nil {
				t.Fatal(err)
			}
			h, _ := w.must(id, store.HazardApprove, safetybot.HazardClosed, func(tr *store.HazardTransition) { tr.ExpectEvent = sub2.ID })
			if h.ClosedAt == nil {
				t.Fatal("closed_at not set on 已销号")
			}
			w.refused(id, store.HazardExtend, safetybot.EINVALID, []string{"已销号"}, func(tr *store.HazardTransition) { tr.Deadline = date("2026-08-30") })
			w.refused(id, store.HazardSubmit, safetybot.EINVALID, []string{"已销号"})

			evs, err := s.HazardEvents(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var path []string
			for _, e := range evs {
				path = append(path, string(e.From)+"→"+string(e.To))
			}
			want := "待整改→整改中 整改中→待复查 待复查→整改中 整改中→待复查 待复查→待复查 待复查→已销号"
			if got := strings.Join(path, " "); got != want {
				t.Fatalf("events %s, want %s", got, want)
			}
			trail, err := s.AuditTrail(ctx, store.HazardSubject(id))
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, a := range trail {
				actions = append(actions, a.Action)
			}
			if got := strings.Join(actions, " "); got != "hazard.start hazard.submit hazard.return hazard.submit hazard.plan hazard.approve" {
				t.Fatalf("audit actions %s", got)
			}
			var detail map[string]any
			json.Unmarshal([]byte(trail[2].Detail), &detail)
			if detail["note"] != "照片看不清" || detail["from"] != "待复查" || detail["to"] != "整改中" || trail[2].Actor != "QsGan" {
				t.Fatalf("return audit row %+v", trail[2])
			}
			last, err := s.LatestRectification(ctx, id)
			if err != nil || last.ID != sub2.ID || len(last.Photos) != 2 {
				t.Fatalf("latest rectification %+v, %v; want event %d", last, err, sub2.ID)
			}
		})

		t.Run("submit from 待整改 records the start", func(t *testing.T) {
			id := w.hazard(safetybot.GradeGeneral, safetybot.HazardPending, "2026-07-20")
			w.must(id, store.HazardSubmit, safetybot.HazardReview)
			evs, _ := s.HazardEvents(ctx, id)
			if len(evs) != 2 || evs[0].To != safetybot.HazardRectifying || evs[1].To != safetybot.HazardReview {
				t.Fatalf("events %+v", evs)
			}
		})

		t.Run("extension, suspension and its review", func(t *testing.T) {
			id := w.hazard(safetybot.GradeGeneral, safetybot.HazardRectifying, "2026-07-20")
			w.refused(id, store.HazardExtend, safetybot.EINVALID, []string{"新的整改期限"})
			w.refused(id, store.HazardExtend, safetybot.EINVALID, []string{"晚于原期限"}, func(tr *store.HazardTransition) { tr.Deadline = date("2026-07-19") })
			h, ev := w.must(id, store.HazardExtend, safetybot.HazardRectifying, func(tr *store.HazardTransition) {
				tr.Deadline, tr.Note = date("2026-08-05"), "设备未到货"
			})
			if h.Deadline == nil || h.Deadline.Format(time.DateOnly) != "2026-08-05" || ev.Deadline == nil || *ev.Deadline != "2026-08-05" {
				t.Fatalf("extended hazard deadline %v, event %v", h.Deadline, ev.Deadline)
			}
			trail, _ := s.AuditTrail(ctx, store.HazardSubject(id))
			if len(trail) != 1 || !strings.Contains(trail[0].Detail, `"old_deadline":"2026-07-20"`) {
				t.Fatalf("extend audit %+v", trail)
			}
			w.must(id, store.HazardSuspend, safetybot.HazardSuspended, func(tr *store.HazardTransition) { tr.Note = "消防通道堵塞" })
			w.refused(id, store.HazardSuspend, safetybot.EINVALID, []string{"停产整改"})
			w.must(id, store.HazardSubmit, safetybot.HazardReview)
			// Sent back, a suspended enterprise stays suspended.
			w.must(id, store.HazardReturn, safetybot.HazardSuspended)
			w.must(id, store.HazardSubmit, safetybot.HazardReview)
			w.must(id, store.HazardApprove, safetybot.HazardClosed)
		})

		t.Run("closure", func(t *testing.T) {
			id := w.hazard(safetybot.GradeMajor, safetybot.HazardRectifying, "2026-07-20")
			h, _ := w.must(id, store.HazardShutDown, safetybot.HazardShutDown, func(tr *store.HazardTransition) { tr.Note = "无法整改达标" })
			if h.ClosedAt == nil {
				t.Fatal("closed_at not set on 关闭取缔")
			}
			for _, a := range []store.HazardAction{store.HazardStart, store.HazardSubmit, store.HazardApprove, store.HazardSuspend, store.HazardShutDown} {
				w.refused(id, a, safetybot.EINVALID, []string{"关闭取缔"})
			}
			if _, _, err := w.step(999999, store.HazardStart); safetybot.ErrorCode(err) != safetybot.ENOTFOUND {
				t.Fatalf("unknown hazard: %v", err)
			}
		})

		t.Run("五定 and tracker", func(t *testing.T) {
			id := w.hazard(safetybot.GradeMajor, safetybot.HazardRectifying, "2026-07-20")
			str := func(s string) *string { return &s }
			bad := []struct {
				name string
				p    store.HazardPlan
				word string
			}{
				{"nothing", store.HazardPlan{}, "没有要修改"},
				{"unknown tracker", store.HazardPlan{Tracker: str("nobody")}, "不是在册的干部"},
				{"principal as tracker", store.HazardPlan{Tracker: str("boss")}, "不是在册的干部"},
				{"malformed tracker", store.HazardPlan{Tracker: str("周 干部")}, "格式不正确"},
				{"long measures", store.HazardPlan{Measures: str(strings.Repeat("措", 501))}, "太长"},
			}
			for _, b := range bad {
				_, err := s.SetHazardPlan(ctx, id, "QsGan", b.p)
				if safetybot.ErrorCode(err) != safetybot.EINVALID || !strings.Contains(safetybot.ErrorMessage(err), b.word) {
					t.Fatalf("%s: %v, want EINVALID saying %q", b.name, err, b.word)
				}
			}
			h, err := s.SetHazardPlan(ctx, id, "QsGan", store.HazardPlan{Measures: str("更换防火门"), Owner: str("王老板"), Funds: str("2万元，企业自筹"),
				Plan: str("临时封闭后门，专人值守"), Tracker: str("qsgan"), Deadline: date("2026-08-15")})
			if err != nil {
				t.Fatal(err)
			}
			if h.Tracker != "QsGan" || h.Measures != "更换防火门" || h.Funds != "2万元，企业自筹" || h.Deadline.Format(time.DateOnly) != "2026-08-15" {
				t.Fatalf("plan stored as %+v", h)
			}
			stored, _ := s.FindHazard(ctx, id)
			if stored.Tracker != "QsGan" || stored.Plan != "临时封闭后门，专人值守" || stored.Owner != "王老板" || stored.Status != safetybot.HazardRectifying {
				t.Fatalf("stored %+v", stored)
			}
			evs, _ := s.HazardEvents(ctx, id)
			if len(evs) != 1 || evs[0].From != evs[0].To || evs[0].Deadline == nil || *evs[0].Deadline != "2026-08-15" || !strings.Contains(evs[0].Note, "跟踪人") {
				t.Fatalf("plan event %+v", evs)
			}
			trail, _ := s.AuditTrail(ctx, store.HazardSubject(id))
			if len(trail) != 1 || trail[0].Action != "hazard.plan" {
				t.Fatalf("plan audit %+v", trail)
			}
			// The same values again change nothing and write nothing.
			if _, err := s.SetHazardPlan(ctx, id, "QsGan", store.HazardPlan{Measures: str("更换防火门")}); err != nil {
				t.Fatal(err)
			}
			if evs2, _ := s.HazardEvents(ctx, id); len(evs2) != 1 {
				t.Fatalf("a no-op plan wrote an event: %+v", evs2)
			}
			w.must(id, store.HazardShutDown, safetybot.HazardShutDown)
			if _, err := s.SetHazardPlan(ctx, id, "QsGan", store.HazardPlan{Owner: str("李四")}); safetybot.ErrorCode(err) != safetybot.EINVALID {
				t.Fatalf("plan on a closed hazard: %v", err)
			}
		})

		t.Run("who may decide", func(t *testing.T) {
			id := w.hazard(safetybot.GradeMajor, safetybot.HazardReview, "2026-07-20")
			info, err := s.FindHazardInfo(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				p    safetybot.Person
				want bool
			}{
				{safetybot.Person{UserID: "a", Role: safetybot.RoleTownship, Township: "青石镇", Active: true}, true},
				{safetybot.Person{UserID: "b", Role: safetybot.RoleTownship, Township: "白沙镇", Active: true}, false},
				{safetybot.Person{UserID: "c", Role: safetybot.RoleDepartment, Department: "应急管理局", Active: true}, true},
				{safetybot.Person{UserID: "d", Role: safetybot.RoleDepartment, Department: "住建局", Active: true}, false},
				{safetybot.Person{UserID: "e", Role: safetybot.RoleOffice, Active: true}, true},
				{safetybot.Person{UserID: "boss", Role: safetybot.RolePrincipal, Active: true}, false},
				{safetybot.Person{UserID: "f", Role: safetybot.RoleTownship, Township: "青石镇", Active: false}, false},
			}
			for _, c := range cases {
				if got := store.MayDecide(c.p, info); got != c.want {
					t.Errorf("MayDecide(%+v) = %v, want %v", c.p, got, c.want)
				}
			}
			info.Tracker = "d"
			if !store.MayDecide(cases[3].p, info) {
				t.Error("the tracker of another department may not decide")
			}
			rv, err := s.HazardReviewers(ctx, info)
			if err != nil || strings.Join(rv, ",") != "QsGan,d" {
				t.Fatalf("reviewers %v, %v", rv, err)
			}
		})
	})
}
