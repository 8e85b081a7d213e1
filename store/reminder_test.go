package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

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
