package store_test

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestSubmissionVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := enterprise(validCode("91320581MA1XB0001"), "甲")
		if err := s.CreateEnterprise(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.SavePhoto(ctx, "aa11", "image/jpeg", 10, "u1"); err != nil {
			t.Fatal(err)
		}
		in := store.NewSubmission{EnterpriseID: e.ID, Period: "2026-07", FormKey: "nine-small+closing", FormVersion: "nine-small@1+closing@1",
			Answers: `{"a":1}`, Filler: "officer", FillerRole: safetybot.ContactSafetyOfficer,
			Photos: []store.SubmissionPhoto{{ItemKey: "overall_photos", Kind: store.PhotoAnswer, SHA256: "aa11"}}}
		v1, err := s.CreateSubmission(ctx, in)
		if err != nil || v1.Version != 1 || v1.State != safetybot.SubmissionAwaitingSignature || v1.SHA256 != safetybot.BodyHash(`{"a":1}`) {
			t.Fatalf("first: %+v %v", v1, err)
		}
		// A second submission while one waits is a conflict carrying the first.
		dup, err := s.CreateSubmission(ctx, in)
		if safetybot.ErrorCode(err) != safetybot.ECONFLICT || dup.ID != v1.ID {
			t.Fatalf("second: %+v %v", dup, err)
		}
		if ps, _ := s.SubmissionPhotos(ctx, v1.ID); len(ps) != 1 || ps[0].SHA256 != "aa11" {
			t.Fatalf("photos %+v", ps)
		}
		// 退回 → a new version may follow; signing or returning the old one is refused.
		r, err := s.ReturnSubmission(ctx, v1.ID, "township1", "照片看不清", []string{"exits_clear"})
		if err != nil || r.State != safetybot.SubmissionReturned || r.Comment != "照片看不清" || len(r.Flagged) != 1 || r.ReturnedAt == nil {
			t.Fatalf("return: %+v %v", r, err)
		}
		if _, err := s.ReturnSubmission(ctx, v1.ID, "township1", "again", nil); safetybot.ErrorCode(err) != safetybot.ECONFLICT {
			t.Fatalf("second return: %v", err)
		}
		in.Signed, in.Filler, in.FillerRole, in.Answers = true, "boss", safetybot.ContactPrincipal, `{"a":2}`
		v2, err := s.CreateSubmission(ctx, in)
		if err != nil || v2.Version != 2 || !v2.Signed() || v2.Signer != "boss" || v2.SignedAt == nil {
			t.Fatalf("resubmission: %+v %v", v2, err)
		}
		if _, err := s.ReturnSubmission(ctx, v1.ID, "x", "old", nil); safetybot.ErrorCode(err) != safetybot.ECONFLICT {
			t.Fatalf("returning a returned old version: %v", err)
		}
		vs, err := s.SubmissionVersions(ctx, e.ID, "2026-07")
		if err != nil || len(vs) != 2 || vs[0].Answers != `{"a":1}` || vs[0].State != safetybot.SubmissionReturned {
			t.Fatalf("versions %+v %v", vs, err)
		}
		// Sign is once; an official's return of the signed version works and is audited.
		if _, signed, err := s.SignSubmission(ctx, v2.ID, "boss"); err != nil || signed {
			t.Fatalf("signing a signed submission: signed=%v %v", signed, err)
		}
		if _, err := s.ReturnSubmission(ctx, v2.ID, "dept1", "补充书面报告", nil); err != nil {
			t.Fatal(err)
		}
		trail, _ := s.AuditTrail(ctx, "submission:"+strconv.FormatInt(v2.ID, 10))
		if len(trail) != 3 || trail[0].Action != "submission.submit" || trail[1].Action != "submission.sign" || trail[2].Action != "submission.return" {
			t.Fatalf("audit %+v", trail)
		}
	})
}

func TestSignOnlyTheLatestWaiting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := enterprise(validCode("91320581MA1XB0002"), "乙")
		s.CreateEnterprise(ctx, e)
		sub, err := s.CreateSubmission(ctx, store.NewSubmission{EnterpriseID: e.ID, Period: "2026-07", FormKey: "k", FormVersion: "k@1", Answers: "{}", Filler: "o"})
		if err != nil {
			t.Fatal(err)
		}
		got, signed, err := s.SignSubmission(ctx, sub.ID, "boss")
		if err != nil || !signed || got.Signer != "boss" || !got.Signed() {
			t.Fatalf("sign: %+v %v %v", got, signed, err)
		}
		if _, _, err := s.SignSubmission(ctx, 9999, "boss"); !store.IsNotFound(err) {
			t.Fatalf("unknown: %v", err)
		}
	})
}

func TestDraftsExpireAndWarn(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			c := &stepClock{t: time.Date(2026, 7, 15, 2, 0, 0, 0, time.UTC)}
			s := storetest.New(t, d, storetest.Options{Clock: c})
			ctx := context.Background()
			e := enterprise(validCode("91320581MA1XB0003"), "丙")
			s.CreateEnterprise(ctx, e)
			dr := &store.Draft{UserID: "u1", EnterpriseID: e.ID, Period: "2026-07", Data: `{"x":1}`}
			if err := s.PutDraft(ctx, dr); err != nil || dr.Session == "" {
				t.Fatalf("put: %v", err)
			}
			got, err := s.FindDraft(ctx, "u1")
			if err != nil || got.Data != `{"x":1}` || got.Session != dr.Session || !got.ExpiresAt.Equal(c.Now().Add(store.DraftTTL)) {
				t.Fatalf("find: %+v %v", got, err)
			}
			c.add(6*24*time.Hour + time.Hour)
			now := c.Now()
			ds, err := s.DraftsExpiringBetween(ctx, now, now.Add(24*time.Hour))
			if err != nil || len(ds) != 1 {
				t.Fatalf("expiring: %+v %v", ds, err)
			}
			if ok, err := s.MarkDraftWarned(ctx, "u1", ds[0].UpdatedAt); err != nil || !ok {
				t.Fatalf("mark: %v %v", ok, err)
			}
			if ds, _ := s.DraftsExpiringBetween(ctx, now, now.Add(24*time.Hour)); len(ds) != 0 {
				t.Fatalf("warned twice: %+v", ds)
			}
			c.add(24 * time.Hour)
			if _, err := s.FindDraft(ctx, "u1"); !store.IsNotFound(err) {
				t.Fatalf("expired draft found: %v", err)
			}
			if n, err := s.DeleteExpiredDrafts(ctx); err != nil || n != 1 {
				t.Fatalf("delete expired: %d %v", n, err)
			}
		})
	}
}

func TestHazardsFromSubmission(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := enterprise(validCode("91320581MA1XB0004"), "丁")
		s.CreateEnterprise(ctx, e)
		sub, _ := s.CreateSubmission(ctx, store.NewSubmission{EnterpriseID: e.ID, Period: "2026-07", FormKey: "k", FormVersion: "k@1", Answers: "{}", Filler: "o"})
		due := time.Date(2026, 7, 22, 0, 0, 0, 0, time.UTC)
		hs, err := s.CreateHazards(ctx, e.ID, sub.ID, []store.NewHazard{
			{ItemKey: "exits_clear", Description: "安全出口：后门上锁", Grade: safetybot.GradeMajor, Status: safetybot.HazardRectifying, Deadline: &due, Photos: []string{"p1", "p2"}, FoundBy: "o"},
			{ItemKey: "extinguishers", Description: "灭火器：过期", Grade: safetybot.GradeGeneral, Status: safetybot.HazardFixed, FixedPhotos: []string{"p3"}, FoundBy: "o"},
		})
		if err != nil || len(hs) != 2 || hs[0].ID == 0 || *hs[0].SubmissionID != sub.ID || hs[0].Deadline.Format("2006-01-02") != "2026-07-22" || hs[0].Source != "自查" {
			t.Fatalf("create: %+v %v", hs, err)
		}
		if ps, _ := s.HazardPhotos(ctx, hs[0].ID); len(ps) != 2 {
			t.Fatalf("photos %v", ps)
		}
		for _, f := range []store.HazardFilter{{EnterpriseID: e.ID}, {SubmissionID: sub.ID}, {Period: "2026-07"}} {
			if got, err := s.ListHazards(ctx, f); err != nil || len(got) != 2 {
				t.Fatalf("list %+v: %d %v", f, len(got), err)
			}
		}
		if got, _ := s.ListHazards(ctx, store.HazardFilter{Grade: safetybot.GradeMajor, Statuses: []safetybot.HazardStatus{safetybot.HazardRectifying}}); len(got) != 1 {
			t.Fatalf("major open: %d", len(got))
		}
		if got, _ := s.ListHazards(ctx, store.HazardFilter{Period: "2026-08"}); len(got) != 0 {
			t.Fatalf("august: %d", len(got))
		}
		settings, err := s.LatestCampaignSettings(ctx)
		if err != nil || settings.DefaultDeadlineDays[safetybot.GradeMajor] != 30 {
			t.Fatalf("default settings %+v %v", settings, err)
		}
	})
}

func TestInstallSecretIsStable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, err := s.InstallSecret(ctx, "submission-link")
		if err != nil || len(a) != 32 {
			t.Fatalf("%x %v", a, err)
		}
		b, _ := s.InstallSecret(ctx, "submission-link")
		c, _ := s.InstallSecret(ctx, "other")
		if !bytes.Equal(a, b) || bytes.Equal(a, c) {
			t.Fatal("secrets are not stable per name")
		}
	})
}
