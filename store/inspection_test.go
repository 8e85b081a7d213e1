package store_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

// fieldFixture is one enterprise with a principal, two officials of its township.
type fieldFixture struct {
	enterprise                  int64
	principal, inspector, cadre string
}

func seedField(t *testing.T, s *store.Store) fieldFixture {
	t.Helper()
	ctx := context.Background()
	e := enterprise(validCode("91320581MA1XY0101"), "青石家具厂")
	e.Department = "应急管理局"
	if err := s.CreateEnterprise(ctx, e); err != nil {
		t.Fatal(err)
	}
	f := fieldFixture{enterprise: e.ID, principal: "li", inspector: "yjke", cadre: "qsgan"}
	for _, p := range []*safetybot.Person{
		{UserID: f.principal, Name: "李秀英", Role: safetybot.RolePrincipal},
		{UserID: f.inspector, Name: "冯科长", Role: safetybot.RoleDepartment, Department: "应急管理局", Leader: true},
		{UserID: f.cadre, Name: "吴干事", Role: safetybot.RoleTownship, Township: "青石镇"},
	} {
		if err := s.CreatePerson(ctx, p); err != nil {
			t.Fatal(err)
		}
		if p.Role == safetybot.RolePrincipal {
			if err := s.SetContact(ctx, e.ID, p.ID, safetybot.ContactPrincipal); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func threeSigners(f fieldFixture) []store.InspectionSigner {
	return []store.InspectionSigner{
		{Role: store.SignerInspector, UserID: f.inspector, State: store.SignSigned},
		{Role: store.SignerPrincipal, UserID: f.principal},
		{Role: store.SignerAccompanying, UserID: f.cadre},
	}
}

func lastInspected(t *testing.T, s *store.Store, id int64) string {
	t.Helper()
	e, err := s.FindEnterprise(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.LastInspected == nil {
		return ""
	}
	return e.LastInspected.Format("2006-01-02")
}

func TestOpinionFormThreeSignaturesWithRefusal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := seedField(t, s)
		in := &store.Inspection{Kind: store.InspectionOnSite, EnterpriseID: f.enterprise, Inspector: f.inspector, Accompanying: f.cadre,
			InspectedOn: "2026-07-15", Items: "消防设施", Findings: "消防通道堵塞", Rectification: "清理通道"}
		if err := s.CreateInspection(ctx, in, nil, threeSigners(f)); err != nil {
			t.Fatal(err)
		}
		if in.Status != store.InspectionAwaiting {
			t.Fatalf("new form is %s, want %s", in.Status, store.InspectionAwaiting)
		}
		if got := lastInspected(t, s, f.enterprise); got != "" {
			t.Fatalf("last_inspected %q before the signatures are in", got)
		}

		// Only the named person signs their role.
		if _, err := s.SignInspection(ctx, in.ID, store.SignerPrincipal, f.cadre, false, ""); safetybot.ErrorCode(err) != safetybot.EFORBIDDEN {
			t.Fatalf("the cadre signing as principal: %v, want forbidden", err)
		}
		if _, err := s.SignInspection(ctx, in.ID, store.SignerAccompanying, f.cadre, true, " "); safetybot.ErrorCode(err) != safetybot.EINVALID {
			t.Fatalf("refusal without a reason: %v, want invalid", err)
		}

		res, err := s.SignInspection(ctx, in.ID, store.SignerPrincipal, strings.ToUpper(f.principal), false, "")
		if err != nil || res.Completed || res.Already || res.Signer.State != store.SignSigned {
			t.Fatalf("principal signs: %+v %v", res, err)
		}
		res, err = s.SignInspection(ctx, in.ID, store.SignerPrincipal, f.principal, true, "改主意了")
		if err != nil || !res.Already || res.Signer.State != store.SignSigned {
			t.Fatalf("a second answer must change nothing: %+v %v", res, err)
		}
		res, err = s.SignInspection(ctx, in.ID, store.SignerAccompanying, f.cadre, true, "整改要求与现场不符")
		if err != nil || !res.Completed || res.Inspection.Status != store.InspectionComplete {
			t.Fatalf("the refusal is the last answer: %+v %v", res, err)
		}

		got, signers, err := s.FindInspection(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != store.InspectionComplete {
			t.Fatalf("status %s, want %s", got.Status, store.InspectionComplete)
		}
		want := map[string]string{store.SignerInspector: store.SignSigned, store.SignerPrincipal: store.SignSigned, store.SignerAccompanying: store.SignRefused}
		if len(signers) != 3 {
			t.Fatalf("%d signers, want 3", len(signers))
		}
		for _, sg := range signers {
			if sg.State != want[sg.Role] || sg.At == nil {
				t.Errorf("%s: %s at %v, want %s with a time", sg.Role, sg.State, sg.At, want[sg.Role])
			}
			if sg.Role == store.SignerAccompanying && sg.Reason != "整改要求与现场不符" {
				t.Errorf("refusal reason %q", sg.Reason)
			}
		}
		if got := lastInspected(t, s, f.enterprise); got != "2026-07-15" {
			t.Fatalf("last_inspected %q after completion, want 2026-07-15", got)
		}
		trail, err := s.AuditTrail(ctx, "inspection:1/accompanying")
		if err != nil || len(trail) != 1 || trail[0].Action != "inspection.refuse" {
			t.Fatalf("refusal audit: %+v %v", trail, err)
		}
	})
}

func TestOpinionFormCompletesOnceUnderConcurrentSigners(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := seedField(t, s)
		for round := 0; round < 5; round++ {
			in := &store.Inspection{Kind: store.InspectionOnSite, EnterpriseID: f.enterprise, Inspector: f.inspector, InspectedOn: "2026-07-15"}
			if err := s.CreateInspection(ctx, in, nil, threeSigners(f)); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			completed := make(chan bool, 2)
			for _, sg := range []struct{ role, user string }{{store.SignerPrincipal, f.principal}, {store.SignerAccompanying, f.cadre}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, err := s.SignInspection(ctx, in.ID, sg.role, sg.user, false, "")
					if err != nil {
						t.Error(err)
					}
					completed <- res.Completed
				}()
			}
			wg.Wait()
			close(completed)
			n := 0
			for c := range completed {
				if c {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("round %d: %d signers completed the record, want exactly 1", round, n)
			}
		}
	})
}

func TestLedInspectionCreatesHazards(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := seedField(t, s)
		in := &store.Inspection{Kind: store.InspectionLed, EnterpriseID: f.enterprise, Inspector: f.inspector, InspectedOn: "2026-07-10",
			Findings: "现场管理混乱", Photos: []string{"abc"}}
		hz := []store.InspectionHazard{
			{Description: "消防通道堵塞", Grade: safetybot.GradeMajor, Deadline: "2026-08-09"},
			{Description: "灭火器过期", Grade: safetybot.GradeGeneral, Deadline: "2026-07-17"},
		}
		if err := s.CreateInspection(ctx, in, hz, nil); err != nil {
			t.Fatal(err)
		}
		if !in.Led || in.Status != store.InspectionLogged {
			t.Fatalf("led inspection stored as led=%v %s", in.Led, in.Status)
		}
		var rows []struct {
			Source   string `db:"source"`
			Grade    string `db:"grade"`
			Status   string `db:"status"`
			Deadline string `db:"deadline"`
			Tracker  string `db:"tracker"`
			FoundBy  string `db:"found_by"`
		}
		if err := s.DB().Select(&rows, s.DB().Rebind(`SELECT source, grade, status, deadline, tracker, found_by FROM hazards WHERE inspection_id = ? AND enterprise_id = ? ORDER BY id`), in.ID, f.enterprise); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d hazards, want 2", len(rows))
		}
		for i, r := range rows {
			if r.Source != store.InspectionLed || r.Status != string(safetybot.HazardRectifying) || r.Deadline != hz[i].Deadline || r.FoundBy != f.inspector {
				t.Errorf("hazard %d: %+v", i, r)
			}
		}
		if rows[0].Tracker != f.inspector || rows[1].Tracker != "" {
			t.Errorf("trackers %q %q: a major hazard is tracked by its finder (S8)", rows[0].Tracker, rows[1].Tracker)
		}
		if got := lastInspected(t, s, f.enterprise); got != "2026-07-10" {
			t.Fatalf("last_inspected %q, want 2026-07-10", got)
		}
		// An older inspection does not move last_inspected back.
		old := &store.Inspection{Kind: store.InspectionLed, EnterpriseID: f.enterprise, Inspector: f.inspector, InspectedOn: "2026-07-01"}
		if err := s.CreateInspection(ctx, old, nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := lastInspected(t, s, f.enterprise); got != "2026-07-10" {
			t.Fatalf("last_inspected %q after an older inspection, want 2026-07-10", got)
		}
	})
}

func TestUndercoverVisitNeedsPhotos(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		f := seedField(t, s)
		for _, kind := range []string{store.InspectionUndercover, store.InspectionCross} {
			in := &store.Inspection{Kind: kind, EnterpriseID: f.enterprise, Inspector: f.inspector, InspectedOn: "2026-07-10"}
			if err := s.CreateInspection(context.Background(), in, nil, nil); safetybot.ErrorCode(err) != safetybot.EINVALID {
				t.Fatalf("%s without photos: %v, want invalid", kind, err)
			}
		}
	})
}

func TestNoticeAudienceAndAcks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		seedField(t, s)
		other := enterprise(validCode("91320581MA1XY0102"), "白沙诊所")
		other.Township, other.Category, other.KeyUnit = "白沙镇", safetybot.CategoryGeneral, true
		if err := s.CreateEnterprise(ctx, other); err != nil {
			t.Fatal(err)
		}
		zhang := &safetybot.Person{UserID: "zhang", Name: "张伟", Role: safetybot.RolePrincipal}
		bs := &safetybot.Person{UserID: "bszhen", Name: "郑镇长", Role: safetybot.RoleTownship, Township: "白沙镇"}
		for _, p := range []*safetybot.Person{zhang, bs} {
			if err := s.CreatePerson(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetContact(ctx, other.ID, zhang.ID, safetybot.ContactPrincipal); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			groups []string
			want   string
		}{
			{[]string{store.GroupPrincipals}, "li,zhang"},
			{[]string{store.GroupOfficials}, "bszhen,qsgan,yjke"},
			{[]string{store.GroupTownship + "白沙镇"}, "bszhen,zhang"},
			{[]string{store.GroupTownshipOfficials + "青石镇"}, "qsgan"},
			{[]string{store.GroupCategory + safetybot.CategoryNineSmall}, "li"},
			{[]string{store.GroupKeyUnits}, "zhang"},
			{[]string{store.GroupDepartment + "应急管理局"}, "yjke"},
			{[]string{store.GroupKeyUnits, store.GroupTownship + "白沙镇", store.GroupDepartment + "应急管理局"}, "bszhen,yjke,zhang"},
		} {
			if err := s.ValidateNotice(ctx, "明天开会", c.groups); err != nil {
				t.Fatalf("%v: %v", c.groups, err)
			}
			got, err := s.NoticeAudience(ctx, c.groups)
			if err != nil || strings.Join(got, ",") != c.want {
				t.Errorf("%v: %v %v, want %s", c.groups, got, err, c.want)
			}
		}
		for _, bad := range [][]string{{"township:火星镇"}, {"category:大企业"}, {"everyone"}, {"department:外星局"}, nil} {
			if err := s.ValidateNotice(ctx, "明天开会", bad); safetybot.ErrorCode(err) != safetybot.EINVALID {
				t.Errorf("%v: %v, want invalid", bad, err)
			}
		}
		if err := s.ValidateNotice(ctx, strings.Repeat("长", 700), []string{store.GroupPrincipals}); safetybot.ErrorCode(err) != safetybot.EINVALID {
			t.Errorf("a notice over 2048 bytes: %v, want invalid", err)
		}

		n := &store.Notice{Body: "请于周五前完成自查", Groups: []string{store.GroupPrincipals}, Ack: true, Sender: "市安委办", TaskID: "n1"}
		if err := s.CreateNotice(ctx, n, []string{"li", "zhang"}); err != nil {
			t.Fatal(err)
		}
		first, err := s.AckNotice(ctx, n.ID, "ZHANG")
		if err != nil || first.Already {
			t.Fatalf("ack: %+v %v", first, err)
		}
		again, err := s.AckNotice(ctx, n.ID, "zhang")
		if err != nil || !again.Already || again.AckedAt.Sub(first.AckedAt).Abs() > time.Millisecond {
			t.Fatalf("second ack must keep the first time: %+v %v", again, err)
		}
		if _, err := s.AckNotice(ctx, n.ID, "bszhen"); safetybot.ErrorCode(err) != safetybot.EFORBIDDEN {
			t.Fatalf("ack by a non-recipient: %v, want forbidden", err)
		}
		rs, err := s.NoticeRecipients(ctx, n.ID)
		if err != nil || len(rs) != 2 || rs[0].UserID != "li" || rs[0].AckedAt != nil || rs[1].UserID != "zhang" || rs[1].AckedAt == nil {
			t.Fatalf("recipients (unacknowledged first): %+v %v", rs, err)
		}
		pending, err := s.PendingAcks(ctx, "li")
		if err != nil || len(pending) != 1 || pending[0] != n.ID {
			t.Fatalf("pending acks of li: %v %v", pending, err)
		}
	})
}
