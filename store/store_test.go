package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
	"safetybot/store/storetest"
)

func enterprise(code, name string) *safetybot.Enterprise {
	return &safetybot.Enterprise{CreditCode: code, Name: name, Township: "青石镇", Category: safetybot.CategoryNineSmall, SmallType: "小餐饮"}
}

// validCode builds a valid credit code from a 17-character prefix.
func validCode(prefix string) string {
	return prefix + string(safetybot.CreditCodeCheckChar(prefix))
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		n, err := s.Migrate(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("second migrate: n=%d err=%v", n, err)
		}
		if err := s.Ready(context.Background()); err != nil {
			t.Fatalf("ready: %v", err)
		}
	})
}

func TestUniqueCreditCodeIsConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		code := validCode("91320581MA1XY0001")
		if err := s.CreateEnterprise(ctx, enterprise(code, "甲")); err != nil {
			t.Fatal(err)
		}
		err := s.CreateEnterprise(ctx, enterprise(code, "乙"))
		if safetybot.ErrorCode(err) != safetybot.ECONFLICT || !store.IsConflict(err) {
			t.Fatalf("want conflict, got %v", err)
		}
		if msg := safetybot.ErrorMessage(err); msg == "" {
			t.Fatalf("conflict carries no user message")
		}
	})
}

func TestUniqueUserIDIsConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		p := &safetybot.Person{UserID: "zhang3", Name: "张三", Role: safetybot.RolePrincipal}
		if err := s.CreatePerson(ctx, p); err != nil {
			t.Fatal(err)
		}
		err := s.CreatePerson(ctx, &safetybot.Person{UserID: "zhang3", Name: "张三丰", Role: safetybot.RolePrincipal})
		if safetybot.ErrorCode(err) != safetybot.ECONFLICT {
			t.Fatalf("want conflict, got %v", err)
		}
		got, err := s.FindPerson(ctx, "ZHANG3")
		if err != nil || got.Name != "张三" {
			t.Fatalf("case-insensitive lookup: %+v %v", got, err)
		}
	})
}

func TestUpsertReportsOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		e := enterprise(validCode("91320581MA1XY0002"), "甲")
		for i, want := range []string{store.Created, store.Unchanged} {
			got, err := s.UpsertEnterprise(ctx, e)
			if err != nil || got != want {
				t.Fatalf("upsert %d: %q %v, want %q", i, got, err, want)
			}
		}
		e.Name = "甲改"
		if got, _ := s.UpsertEnterprise(ctx, e); got != store.Updated {
			t.Fatalf("rename: %q", got)
		}
		n, err := s.DeactivateEnterprisesExcept(ctx, nil)
		if err != nil || n != 1 {
			t.Fatalf("deactivate: %d %v", n, err)
		}
		got, _ := s.FindEnterprise(ctx, e.ID)
		if got.Active {
			t.Fatal("still active")
		}
	})
}

func TestInboxDedupe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := time.Unix(1717000000, 0)
		items := []store.InboxItem{
			{DedupeKey: "m:1", FromUser: "u1", Kind: "text", CreateTime: at, Raw: "<xml/>"},
			{DedupeKey: "m:2", FromUser: "u1", Kind: "text", CreateTime: at, Raw: "<xml/>"},
			{DedupeKey: "m:1", FromUser: "u1", Kind: "text", CreateTime: at, Raw: "<xml/>"},
		}
		fresh, err := s.InsertInbox(ctx, items)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(fresh) != "[true true false]" {
			t.Fatalf("fresh = %v", fresh)
		}
		fresh, err = s.InsertInbox(ctx, items[:1])
		if err != nil || fresh[0] {
			t.Fatalf("redelivery stored again: %v %v", fresh, err)
		}
		total, _, _ := s.InboxCounts(ctx)
		if total != 2 {
			t.Fatalf("total = %d", total)
		}
	})
}

func TestAuditIsAppendOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if err := s.Audit(ctx, "u1", "sign", "letter:1", map[string]int{"x": 1}, "abc"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, `UPDATE audit_log SET actor = 'evil'`); err == nil {
			t.Fatal("update of audit_log succeeded")
		}
		if _, err := s.DB().ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
			t.Fatal("delete from audit_log succeeded")
		}
		rows, err := s.AuditTrail(ctx, "letter:1")
		if err != nil || len(rows) != 1 || rows[0].Actor != "u1" {
			t.Fatalf("trail: %+v %v", rows, err)
		}
	})
}

func TestTimesRoundTripInUTC(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		sh, _ := time.LoadLocation("Asia/Shanghai")
		at := time.Date(2026, 7, 1, 9, 30, 15, 123456000, sh)
		if _, err := s.InsertInbox(ctx, []store.InboxItem{{DedupeKey: "m:9", FromUser: "u", Kind: "text", CreateTime: at, Raw: "x"}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.FindInbox(ctx, "m:9")
		if err != nil {
			t.Fatal(err)
		}
		if !r.CreateTime.Equal(at) {
			t.Fatalf("round trip: got %v want %v", r.CreateTime, at)
		}
		if name, off := r.CreateTime.In(time.UTC).Zone(); off != 0 || name != "UTC" {
			t.Fatalf("zone %s", name)
		}
	})
}

func TestOutboxClaimIsExclusive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const n = 300
		for i := 0; i < n; i++ {
			if _, err := s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{fmt.Sprintf("u%d", i)}, Payload: []byte(`{"msgtype":"text"}`)}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(owner string) {
				defer wg.Done()
				for {
					rows, err := s.ClaimOutbox(ctx, owner, time.Minute)
					if err != nil {
						t.Error(err)
						return
					}
					if len(rows) == 0 {
						return
					}
					mu.Lock()
					for _, r := range rows {
						if prev, dup := seen[r.ID]; dup {
							t.Errorf("row %d claimed by %s and %s", r.ID, prev, owner)
						}
						seen[r.ID] = owner
					}
					mu.Unlock()
				}
			}(fmt.Sprintf("w%d", w))
		}
		wg.Wait()
		if len(seen) != n {
			t.Fatalf("claimed %d rows, want %d", len(seen), n)
		}
	})
}

func TestOutboxBatchesAndOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		users := make([]string, 2500)
		for i := range users {
			users[i] = fmt.Sprintf("p%04d", i)
		}
		n, err := s.Enqueue(ctx, store.OutboxMessage{Batch: "letter-1", Recipients: users, Payload: []byte(`{}`)})
		if err != nil || n != 2500 {
			t.Fatalf("enqueue: %d %v", n, err)
		}
		// A later message to p0000 must wait until the letter batch to p0000 is sent.
		s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{"p0000"}, Payload: []byte(`{"later":1}`)})
		sizes := []int{}
		for {
			rows, err := s.ClaimOutbox(ctx, "w", time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			sizes = append(sizes, len(rows))
			var res []store.OutboxResult
			for _, r := range rows {
				res = append(res, store.OutboxResult{ID: r.ID, State: "sent", MsgID: "m"})
			}
			if err := s.CompleteOutbox(ctx, "w", res); err != nil {
				t.Fatal(err)
			}
		}
		if fmt.Sprint(sizes) != "[1000 1000 500 1]" {
			t.Fatalf("batch sizes %v", sizes)
		}
	})
}

// TestOutboxClaimSeveralBatches: one claim takes several due batches, never
// two messages to the same person (they would go out in parallel, out of
// order), and concurrent claimers never share a row.
func TestOutboxClaimSeveralBatches(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const people, each = 60, 3
		for round := 0; round < each; round++ {
			for i := 0; i < people; i++ {
				if _, err := s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{fmt.Sprintf("u%02d", i)},
					Payload: []byte(fmt.Sprintf(`{"round":%d}`, round))}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var mu sync.Mutex
		seen := map[int64]bool{}
		sentRound := map[string]int{} // recipient → rounds completed
		biggest := 0
		var wg sync.WaitGroup
		for w := 0; w < 6; w++ {
			owner := fmt.Sprintf("w%d", w)
			wg.Go(func() {
				for {
					batches, err := s.ClaimOutboxBatches(ctx, owner, time.Minute, 8)
					if err != nil {
						t.Error(err)
						return
					}
					if len(batches) == 0 {
						return
					}
					if len(batches) > 8 {
						t.Errorf("claimed %d batches, asked for at most 8", len(batches))
					}
					var res []store.OutboxResult
					to := map[string]bool{}
					mu.Lock()
					biggest = max(biggest, len(batches))
					for _, rows := range batches {
						for _, r := range rows {
							if seen[r.ID] {
								t.Errorf("row %d claimed twice", r.ID)
							}
							seen[r.ID] = true
							if to[r.Recipient] {
								t.Errorf("one claim holds two messages to %s", r.Recipient)
							}
							to[r.Recipient] = true
							var p struct{ Round int }
							_ = json.Unmarshal([]byte(r.Payload), &p)
							if p.Round != sentRound[r.Recipient] {
								t.Errorf("%s: round %d claimed after %d rounds were sent", r.Recipient, p.Round, sentRound[r.Recipient])
							}
							res = append(res, store.OutboxResult{ID: r.ID, State: "sent"})
						}
					}
					for r := range to { // counted before the completion frees the next round
						sentRound[r]++
					}
					mu.Unlock()
					if err := s.CompleteOutbox(ctx, owner, res); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(seen) != people*each {
			t.Fatalf("claimed %d rows, want %d", len(seen), people*each)
		}
		if biggest < 2 {
			t.Errorf("no claim took more than one batch")
		}
	})
}

// TestOutboxCompleteMixedOutcomes: one completion records each row's own
// outcome — sent with its msgid, a retry at its time, a failure with its code —
// and leaves rows another owner holds alone.
func TestOutboxCompleteMixedOutcomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for _, u := range []string{"a", "b", "c", "d"} {
			if _, err := s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{u}, Payload: []byte(`{}`)}); err != nil {
				t.Fatal(err)
			}
		}
		batches, err := s.ClaimOutboxBatches(ctx, "w", time.Minute, 8)
		if err != nil || len(batches) != 4 {
			t.Fatalf("claim: %d batches, %v", len(batches), err)
		}
		id := map[string]int64{}
		for _, b := range batches {
			id[b[0].Recipient] = b[0].ID
		}
		retryAt := s.Now().Add(90 * time.Second).Truncate(time.Millisecond)
		res := []store.OutboxResult{
			{ID: id["a"], State: "sent", MsgID: "msg-a", ResponseCode: "rc-a"},
			{ID: id["b"], State: "sent", MsgID: "msg-b"},
			{ID: id["c"], State: "pending", RetryAt: retryAt, ErrCode: -1, Error: "busy"},
			{ID: id["d"], State: "failed", ErrCode: 81013, Error: "invalid user"},
		}
		if err := s.CompleteOutbox(ctx, "someone-else", res[:1]); err != nil {
			t.Fatal(err)
		}
		if err := s.CompleteOutbox(ctx, "w", res); err != nil {
			t.Fatal(err)
		}
		rows, err := s.ListOutbox(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.OutboxRow{}
		for _, r := range rows {
			got[r.Recipient] = r
		}
		if r := got["a"]; r.State != "sent" || r.MsgID != "msg-a" || r.ResponseCode != "rc-a" || r.SentAt == nil {
			t.Errorf("a: %+v", r)
		}
		if r := got["b"]; r.State != "sent" || r.MsgID != "msg-b" || r.ResponseCode != "" || r.SentAt == nil {
			t.Errorf("b: %+v", r)
		}
		if r := got["c"]; r.State != "pending" || r.ErrCode != -1 || r.Error != "busy" || r.SentAt != nil || !r.NextAttemptAt.Equal(retryAt) {
			t.Errorf("c: %+v (want next attempt %s)", r, retryAt)
		}
		if r := got["d"]; r.State != "failed" || r.ErrCode != 81013 || r.Error != "invalid user" || r.SentAt != nil {
			t.Errorf("d: %+v", r)
		}
	})
}

// TestOutboxEnqueueSeveral: several one-recipient messages written together
// keep their order, kinds, bodies, times and dedupe keys.
func TestOutboxEnqueueSeveral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		later := s.Now().Add(time.Hour).Truncate(time.Millisecond)
		msgs := []store.OutboxMessage{
			{Recipients: []string{"a"}, Payload: []byte(`{"n":1}`)},
			{Recipients: []string{"a"}, Kind: "update", Payload: []byte(`{"n":2}`)},
			{Recipients: []string{"b"}, Payload: []byte(`{"n":3}`), Dedupe: "remind:b", NotBefore: later, Batch: "given"},
		}
		if n, err := s.Enqueue(ctx, msgs...); err != nil || n != 3 {
			t.Fatalf("enqueue: %d, %v", n, err)
		}
		// The same dedupe key again is skipped, the others are new.
		if n, err := s.Enqueue(ctx, msgs...); err != nil || n != 2 {
			t.Fatalf("second enqueue wrote %d (%v), want 2", n, err)
		}
		rows, err := s.ListOutbox(ctx, "")
		if err != nil || len(rows) != 5 {
			t.Fatalf("%d rows, %v", len(rows), err)
		}
		want := []string{`a send {"n":1}`, `a update {"n":2}`, `b send {"n":3}`, `a send {"n":1}`, `a update {"n":2}`}
		for i, r := range rows {
			if got := r.Recipient + " " + r.Kind + " " + r.Payload; got != want[i] {
				t.Errorf("row %d = %s, want %s", i, got, want[i])
			}
			if i > 0 && r.ID <= rows[i-1].ID {
				t.Errorf("ids out of order: %d after %d", r.ID, rows[i-1].ID)
			}
		}
		if rows[2].Batch != "given" || !rows[2].NextAttemptAt.Equal(later) {
			t.Errorf("b: batch %q, next attempt %s, want given at %s", rows[2].Batch, rows[2].NextAttemptAt, later)
		}
		if rows[0].Batch == rows[1].Batch || rows[0].Batch == "" {
			t.Errorf("two messages share batch %q", rows[0].Batch)
		}
	})
}

func TestOutboxRescue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{"a"}, Payload: []byte(`{}`)})
		rows, _ := s.ClaimOutbox(ctx, "dead", -time.Second) // lease already expired
		if len(rows) != 1 {
			t.Fatalf("claim: %d", len(rows))
		}
		rescued, unknown, err := s.RescueOutbox(ctx, 4*time.Hour)
		if err != nil || rescued != 1 || unknown != 0 {
			t.Fatalf("rescue: %d %d %v", rescued, unknown, err)
		}
		rows, _ = s.ClaimOutbox(ctx, "alive", time.Minute)
		if len(rows) != 1 || rows[0].Attempts != 2 {
			t.Fatalf("reclaim: %+v", rows)
		}
		// The dead worker's late completion must not overwrite the new claim.
		s.CompleteOutbox(ctx, "dead", []store.OutboxResult{{ID: rows[0].ID, State: "failed"}})
		all, _ := s.ListOutbox(ctx, "a")
		if all[0].State != "sending" {
			t.Fatalf("state %s", all[0].State)
		}
	})
}

func TestJobRunClaimedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ok1, err1 := s.ClaimJobRun(ctx, "digest", "2026-07-01", "a", time.Hour)
		ok2, err2 := s.ClaimJobRun(ctx, "digest", "2026-07-01", "b", time.Hour)
		if err1 != nil || err2 != nil || !ok1 || ok2 {
			t.Fatalf("claims: %v %v %v %v", ok1, ok2, err1, err2)
		}
	})
}

// TestDeferredPushDoesNotHoldBackAnswers: a reminder deferred past quiet hours
// must not delay the chat answers a person gets in the meantime.
func TestDeferredPushDoesNotHoldBackAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{"p1"}, Payload: []byte(`{"reminder":1}`),
			NotBefore: s.Now().Add(10 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(ctx, store.OutboxMessage{Recipients: []string{"p1"}, Payload: []byte(`{"answer":1}`)}); err != nil {
			t.Fatal(err)
		}
		rows, err := s.ClaimOutbox(ctx, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].Payload != `{"answer":1}` {
			t.Fatalf("claimed %+v, want the answer now", rows)
		}
	})
}
