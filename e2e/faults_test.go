package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"safetybot/e2e"
	"safetybot/messages"
	"safetybot/store"
	"safetybot/wecomsim"
)

// TestSenderFaults injects WeCom API failures under running conversations:
// every deliverable message still arrives exactly once and in order.
func TestSenderFaults(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)

		t.Run("token expiry mid-run costs exactly one gettoken", func(t *testing.T) {
			for _, expire := range []struct {
				name string
				fn   func()
			}{{"42001 expired", b.Sim.ExpireTokens}, {"40014 revoked", b.Sim.RevokeTokens}} {
				users := e2e.Users("token", 3)
				register(t, b, users...)
				warm := sendInterleaved(t, b, users, 1) // the bot holds a token
				checkDelivered(t, b, warm)
				before := b.Sim.TokenFetches()
				expire.fn()
				sent := sendInterleaved(t, b, users, 3)
				for _, u := range users {
					sent[u] = append(warm[u], sent[u]...)
				}
				checkDelivered(t, b, sent)
				if got := b.Sim.TokenFetches() - before; got != 1 {
					t.Errorf("%s: %d gettoken calls after the tokens were invalidated, want exactly 1", expire.name, got)
				}
			}
		})

		// Failures that leave the message undelivered: chat answers are resent
		// until they arrive.
		for _, c := range []struct {
			name  string
			fault wecomsim.Fault
		}{
			{name: "45009 burst", fault: wecomsim.Fault{ErrCode: 45009, Count: 4}},
			{name: "-1 system busy", fault: wecomsim.Fault{ErrCode: -1, Count: 3}},
			{name: "45033 concurrency limit", fault: wecomsim.Fault{ErrCode: 45033, Count: 3}},
			{name: "HTTP 502", fault: wecomsim.Fault{HTTPStatus: 502, Count: 3}},
			{name: "HTTP 503 with a JSON body", fault: wecomsim.Fault{HTTPStatus: 503, ErrCode: -1, Count: 2}},
			{name: "connection dropped", fault: wecomsim.Fault{Drop: true, Count: 3}},
		} {
			t.Run(c.name, func(t *testing.T) {
				users := e2e.Users("fault", 3)
				register(t, b, users...)
				calls := b.Sim.SendCalls()
				b.Sim.InjectFault("message/send", c.fault)
				t.Cleanup(b.Sim.ClearFaults)
				sent := sendInterleaved(t, b, users, 4)
				checkDelivered(t, b, sent)
				if extra := b.Sim.SendCalls() - calls - 12; extra < c.fault.Count {
					t.Errorf("%d send calls beyond the 12 messages, want at least the %d faulted ones", extra, c.fault.Count)
				}
			})
		}

		// Failures after WeCom delivered: the resend must not reach the member
		// twice. Pushed messages (notices, reminders, cards) go out with WeCom's
		// duplicate check, which absorbs the resend.
		for _, c := range []struct {
			name  string
			fault wecomsim.Fault
		}{
			{name: "HTTP 500 after delivery", fault: wecomsim.Fault{HTTPStatus: 500, AfterHandling: true, Count: 3}},
			{name: "connection dropped after delivery", fault: wecomsim.Fault{Drop: true, AfterHandling: true, Count: 2}},
		} {
			t.Run(c.name, func(t *testing.T) {
				users := e2e.Users("lost", 3)
				dups := b.Sim.DuplicatesSuppressed()
				b.Sim.InjectFault("message/send", c.fault)
				t.Cleanup(b.Sim.ClearFaults)
				sent := map[string][]string{}
				for i := 1; i <= 3; i++ {
					for _, u := range users {
						text := fmt.Sprintf("通知%d：请于月底前完成自查", i)
						sent[u] = append(sent[u], text)
						if _, err := b.Store.Enqueue(context.Background(), store.OutboxMessage{Recipients: []string{u},
							Payload: textPayload(messages.TextTo(nil, text))}); err != nil {
							t.Fatal(err)
						}
					}
				}
				b.Sender.Wake()
				waitIdle(t, b)
				for _, u := range users {
					if got := texts(b.Sim.Messages(u)); !equalStrings(got, sent[u]) {
						t.Errorf("%s got\n%q\nwant, once each and in order,\n%q", u, got, sent[u])
					}
				}
				if b.Sim.DuplicatesSuppressed() == dups {
					t.Errorf("no resend reached the duplicate check, so the fault did not hit a delivered send")
				}
			})
		}
	})
}

// TestLostAnswerToChatReply is the same lost answer for a chat reply.
func TestLostAnswerToChatReply(t *testing.T) {
	t.Skip("known issue: chat answers go out with enable_duplicate_check=0 (messages.Text), so a send that WeCom " +
		"delivered but whose answer was lost (HTTP 5xx, dropped connection, timeout) is resent and the member sees it twice")
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		users := e2e.Users("lostchat", 3)
		register(t, b, users...)
		b.Sim.InjectFault("message/send", wecomsim.Fault{HTTPStatus: 500, AfterHandling: true, Count: 3})
		sent := sendInterleaved(t, b, users, 4)
		checkDelivered(t, b, sent)
	})
}

func textPayload(o messages.Outgoing) []byte {
	p, err := json.Marshal(o.Body)
	if err != nil {
		panic(err)
	}
	return p
}

// checkDelivered waits until the bot is idle and checks that every member got
// the echo of what they sent, exactly once each and in order, and that every
// outbox row of theirs was sent.
func checkDelivered(t *testing.T, b *e2e.Bot, sent map[string][]string) {
	t.Helper()
	waitIdle(t, b)
	for u, msgs := range sent {
		got := texts(b.Sim.Messages(u))
		want := make([]string, len(msgs))
		for i, s := range msgs {
			want[i] = echo(s)
		}
		if !equalStrings(got, want) {
			t.Errorf("%s got\n%q\nwant, once each and in order,\n%q", u, got, want)
		}
		for _, r := range outboxOf(t, b.Store, u) {
			if r.State != "sent" {
				t.Errorf("%s: outbox row %d is %s (errcode %d: %s), want sent", u, r.ID, r.State, r.ErrCode, r.Error)
			}
		}
	}
}

// TestInvalidRecipients sends one batch to members and to userids WeCom does
// not know: the members get it once, the unknown rows end failed with the
// errcode, and nothing is retried.
func TestInvalidRecipients(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		valid, ghosts := e2e.Users("member", 3), e2e.Users("ghost", 2)
		b.Sim.AddUsers(valid...) // closes the member list: anyone else is unknown
		ctx := context.Background()
		body := func(text string) []byte { return textPayload(messages.TextTo(nil, text)) }
		mixed := []string{valid[0], ghosts[0], valid[1], ghosts[1], valid[2]}
		if _, err := b.Store.Enqueue(ctx,
			store.OutboxMessage{Recipients: mixed, Payload: body("致全体：请按时签收")},
			store.OutboxMessage{Recipients: ghosts, Payload: body("只发给不存在的人")},
			store.OutboxMessage{Recipients: valid[:1], Payload: body("之后的第二条")},
		); err != nil {
			t.Fatal(err)
		}
		calls := b.Sim.SendCalls()
		b.Sender.Wake()
		waitIdle(t, b)

		for i, u := range valid {
			want := []string{"致全体：请按时签收"}
			if i == 0 {
				want = append(want, "之后的第二条")
			}
			if got := texts(b.Sim.Messages(u)); !equalStrings(got, want) {
				t.Errorf("%s got %q, want %q", u, got, want)
			}
			for _, r := range outboxOf(t, b.Store, u) {
				if r.State != "sent" || r.MsgID == "" {
					t.Errorf("%s: row %d is %s (msgid %q), want sent", u, r.ID, r.State, r.MsgID)
				}
			}
		}
		for _, g := range ghosts {
			if n := len(b.Sim.Messages(g)); n != 0 {
				t.Errorf("unknown user %s received %d messages", g, n)
			}
			rows := outboxOf(t, b.Store, g)
			if len(rows) != 2 {
				t.Fatalf("%s has %d outbox rows, want 2", g, len(rows))
			}
			for _, r := range rows {
				if r.State != "failed" || r.ErrCode != 81013 || r.Error == "" || r.Attempts != 1 {
					t.Errorf("%s: row %d is %s after %d attempts with errcode %d (%q), want failed once with 81013 and a reason",
						g, r.ID, r.State, r.Attempts, r.ErrCode, r.Error)
				}
			}
		}
		if got := b.Sim.SendCalls() - calls; got != 3 {
			t.Errorf("%d send calls, want 3 (one per batch, no retries of permanent failures)", got)
		}
	})
}
