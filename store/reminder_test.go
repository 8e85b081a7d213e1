package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"safetybot/store"
	"safetybot/store/storetest"
)

func TestClaimReminderOncePerKindTargetDay(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		claim := func(kind, target, day string) bool {
			t.Helper()
			ok, err := s.ClaimReminder(ctx, kind, target, day)
			if err != nil {
				t.Fatalf("claim %s %s %s: %v", kind, target, day, err)
			}
			return ok
		}
		if !claim("form-due", "ent-1", "2026-07-01") {
			t.Fatal("first claim refused")
		}
		if claim("form-due", "ent-1", "2026-07-01") {
			t.Fatal("second claim of the same kind, target and day granted")
		}
		// Another day, target or kind is a different reminder.
		for _, c := range [][3]string{
			{"form-due", "ent-1", "2026-07-02"},
			{"form-due", "ent-2", "2026-07-01"},
			{"hazard-overdue", "ent-1", "2026-07-01"},
		} {
			if !claim(c[0], c[1], c[2]) {
				t.Fatalf("claim %v refused", c)
			}
		}
		got, err := s.RemindersSent(ctx, "form-due", "2026-07-01")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"ent-1", "ent-2"}; !slices.Equal(got, want) {
			t.Fatalf("sent = %v, want %v", got, want)
		}
		got, err = s.RemindersSent(ctx, "form-due", "2026-06-30")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("sent on an empty day = %#v, %v; want an empty list", got, err)
		}
	})
}

func TestClaimReminderConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Go(func() {
				ok, err := s.ClaimReminder(ctx, "form-due", "ent-1", "2026-07-01")
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d concurrent claims won, want 1", wins)
		}
	})
}

func TestClaimReminderFollowsTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rollback := errors.New("enqueue failed")
		err := s.InTx(ctx, func(ctx context.Context) error {
			ok, err := s.ClaimReminder(ctx, "form-due", "ent-1", "2026-07-01")
			if err != nil || !ok {
				t.Fatalf("claim in tx: %v %v", ok, err)
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("InTx = %v", err)
		}
		// The rolled-back claim left nothing behind: the reminder may still go.
		if got, _ := s.RemindersSent(ctx, "form-due", "2026-07-01"); len(got) != 0 {
			t.Fatalf("rolled-back claim visible: %v", got)
		}
		err = s.InTx(ctx, func(ctx context.Context) error {
			ok, err := s.ClaimReminder(ctx, "form-due", "ent-1", "2026-07-01")
			if err != nil || !ok {
				t.Fatalf("claim after rollback: %v %v", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ClaimReminder(ctx, "form-due", "ent-1", "2026-07-01"); ok || err != nil {
			t.Fatalf("claim after commit = %v, %v; want false", ok, err)
		}
	})
}

func TestSendRemindersClaimsAndEnqueuesOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rem := func(kind, target, body string) store.Reminder {
			return store.Reminder{Kind: kind, Target: target, Day: "2026-07-01", Payload: []byte(`{"msgtype":"text","text":{"content":"` + body + `"}}`)}
		}
		// Claimed before by another run: not sent again.
		if ok, err := s.ClaimReminder(ctx, "hazard-due", "b", "2026-07-01"); !ok || err != nil {
			t.Fatalf("claim: %v %v", ok, err)
		}
		rs := []store.Reminder{rem("hazard-due", "c", "c1"), rem("hazard-due", "a", "a1"), rem("hazard-due", "b", "b1"),
			rem("hazard-due", "a", "a2"), rem("daily-digest", "a", "d1")}
		n, err := s.SendReminders(ctx, rs, s.Now())
		if err != nil || n != 3 {
			t.Fatalf("SendReminders = %d, %v; want 3", n, err)
		}
		if n, err := s.SendReminders(ctx, rs, s.Now()); err != nil || n != 0 {
			t.Fatalf("again = %d, %v; want 0", n, err)
		}
		rows, err := s.ListOutbox(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		// In the order given, a reminder named twice with its first body.
		var got []string
		for _, r := range rows {
			got = append(got, r.Batch+" "+r.Recipient+" "+r.Payload)
		}
		want := []string{
			`rem:hazard-due:2026-07-01:c c {"msgtype":"text","text":{"content":"c1"}}`,
			`rem:hazard-due:2026-07-01:a a {"msgtype":"text","text":{"content":"a1"}}`,
			`rem:daily-digest:2026-07-01:a a {"msgtype":"text","text":{"content":"d1"}}`,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("outbox:\n%v\nwant\n%v", got, want)
		}
		claimed, err := s.RemindersClaimed(ctx, "2026-07-01", []string{"hazard-due", "daily-digest", "led-inspections"}, []string{"a", "b", "x"})
		if err != nil {
			t.Fatal(err)
		}
		if !claimed["hazard-due"]["a"] || !claimed["hazard-due"]["b"] || claimed["hazard-due"]["x"] || !claimed["daily-digest"]["a"] ||
			claimed["daily-digest"]["b"] || len(claimed["led-inspections"]) != 0 {
			t.Fatalf("claimed = %v", claimed)
		}
		if claimed, err := s.RemindersClaimed(ctx, "2026-07-02", []string{"hazard-due"}, []string{"a"}); err != nil || len(claimed) != 0 {
			t.Fatalf("claimed another day = %v, %v", claimed, err)
		}
	})
}

// The unsigned-letter scan reads letter_recipients.signed, which triggers
// keep equal to "a signature exists" whatever writes the signatures.
func TestUnsignedLettersFollowSignatures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := s.DB().Exec(s.DB().Rebind(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		now := s.Now()
		exec(`INSERT INTO townships (name, created_at) VALUES ('板块1', ?)`, now)
		for i := 1; i <= 3; i++ {
			exec(`INSERT INTO enterprises (id, credit_code, name, township, category, active, created_at, updated_at)
				VALUES (?, ?, ?, '板块1', '一般企业', TRUE, ?, ?)`, i, fmt.Sprintf("C%d", i), fmt.Sprintf("企业%d", i), now, now)
		}
		exec(`INSERT INTO letters (id, title, body, sha256, deadline, scope, sender, task_id, created_at)
			VALUES (1, '一封信', '正文', 'x', '2026-08-01', '{}', 'of1', 'l1', ?)`, now.Add(-time.Hour))
		for i := 1; i <= 3; i++ {
			exec(`INSERT INTO letter_recipients (letter_id, enterprise_id, userid) VALUES (1, ?, ?)`, i, fmt.Sprintf("p%d", i))
		}
		unsigned := func() []int64 {
			t.Helper()
			rows, err := s.UnsignedLetters(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range rows {
				ids = append(ids, r.EnterpriseID)
			}
			slices.Sort(ids)
			return ids
		}
		if got := unsigned(); !slices.Equal(got, []int64{1, 2, 3}) {
			t.Fatalf("unsigned before signing = %v", got)
		}
		res, err := s.SignLetter(ctx, 1, "p2", "button")
		if err != nil || len(res.Signed) != 1 {
			t.Fatalf("SignLetter = %+v, %v", res, err)
		}
		exec(`INSERT INTO signatures (letter_id, enterprise_id, userid, signed_at, sha256, method) VALUES (1, 3, 'p3', ?, 'x', 'text')`, now)
		if got := unsigned(); !slices.Equal(got, []int64{1}) {
			t.Fatalf("unsigned after two signatures = %v", got)
		}
		exec(`UPDATE signatures SET enterprise_id = 1 WHERE enterprise_id = 3`)
		if got := unsigned(); !slices.Equal(got, []int64{3}) {
			t.Fatalf("unsigned after a signature moved from 3 to 1 = %v", got)
		}
		exec(`DELETE FROM signatures WHERE enterprise_id = 2`)
		if got := unsigned(); !slices.Equal(got, []int64{2, 3}) {
			t.Fatalf("unsigned after a signature was deleted = %v", got)
		}
	})
}
