package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"safetybot"
	"safetybot/e2e"
	"safetybot/messages"
	"safetybot/store"
)

// TestServe drives a whole bot, as `safetybot serve` runs it, through the
// simulator: URL verification, a text round trip, a card click, redelivered
// callbacks and interleaved conversations — on SQLite with in-process state
// and on Postgres with Redis.
func TestServe(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)

		t.Run("URL verification answers the echostr plaintext", func(t *testing.T) {
			got, err := b.Sim.VerifyURL(ctxT(t))
			if err != nil {
				t.Fatalf("VerifyURL: %v (answer %q)", err, got)
			}
		})

		t.Run("help round trip", func(t *testing.T) {
			u := e2e.Users("help", 1)[0]
			register(t, b, u)
			res, err := b.Sim.As(u).SendText(ctxT(t), "帮助")
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("callback: status %d after %d attempts, err %v", res.Status, res.Attempts, err)
			}
			got := waitTexts(t, b, u, 1)
			if want := messages.HelpText(safetybot.RolePrincipal); got[0] != want {
				t.Fatalf("reply %q, want the help text %q", got[0], want)
			}
		})

		t.Run("unregistered member is told so", func(t *testing.T) {
			u := e2e.Users("stranger", 1)[0]
			if _, err := b.Sim.As(u).SendText(ctxT(t), "你好"); err != nil {
				t.Fatal(err)
			}
			if got := waitTexts(t, b, u, 1); got[0] != messages.NotRegistered {
				t.Fatalf("reply %q, want %q", got[0], messages.NotRegistered)
			}
		})

		t.Run("card click on an unknown key is handled once with the fallback", func(t *testing.T) {
			u := e2e.Users("card", 1)[0]
			register(t, b, u)
			enqueueCard(t, b, u, "E2E_NO_SUCH_KEY")
			ds, err := b.Sim.WaitMessages(ctxT(t), u, 1)
			if err != nil {
				t.Fatal(err)
			}
			card := ds[0]
			if card.MsgType != "template_card" || card.TaskID == "" || card.ResponseCode == "" {
				t.Fatalf("delivered %+v, want an interactive card", card)
			}
			res, err := b.Sim.As(u).ClickCard(ctxT(t), card, "E2E_NO_SUCH_KEY", nil)
			if err != nil || res.Status != http.StatusOK {
				t.Fatalf("click: status %d, err %v", res.Status, err)
			}
			got := waitTexts(t, b, u, 2)
			if want := messages.UnknownInput("", safetybot.RolePrincipal); got[1] != want {
				t.Fatalf("reply to the click %q, want the fallback %q", got[1], want)
			}
			waitIdle(t, b)
			row, err := b.Store.FindInbox(context.Background(), dedupeKey(t, res.Plaintext))
			if err != nil {
				t.Fatalf("the click is not in the inbox: %v", err)
			}
			if row.Kind != messages.KindEvent || row.ProcessedAt == nil || row.Attempts != 1 {
				t.Fatalf("inbox row %+v, want one processed template_card_event", row)
			}
			if n, _ := inboxRows(t, b.Store, u); n != 1 {
				t.Fatalf("%d inbox rows, want 1", n)
			}
			if n := len(b.Sim.Messages(u)); n != 2 {
				t.Fatalf("%d messages at the simulator, want the card and one reply", n)
			}
		})

		t.Run("a callback delivered four times is processed once", func(t *testing.T) {
			u := e2e.Users("redeliver", 1)[0]
			register(t, b, u)
			res, err := b.Sim.As(u).DeliverTimes(4).SendText(ctxT(t), "帮助")
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 4 || fmt.Sprint(res.Statuses) != "[200 200 200 200]" {
				t.Fatalf("deliveries %v, want four answered 200", res.Statuses)
			}
			// The same callback again, four times at once (one group commit may hold several).
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r, err := b.Sim.Redeliver(ctxT(t), res.Plaintext); err != nil || r.Status != http.StatusOK {
						t.Errorf("concurrent redelivery: status %d, err %v", r.Status, err)
					}
				}()
			}
			wg.Wait()
			waitTexts(t, b, u, 1)
			waitIdle(t, b)
			if total, processed := inboxRows(t, b.Store, u); total != 1 || processed != 1 {
				t.Fatalf("inbox rows %d (processed %d), want exactly 1", total, processed)
			}
			if got := texts(b.Sim.Messages(u)); len(got) != 1 {
				t.Fatalf("the member got %d replies, want 1: %q", len(got), got)
			}
		})

		t.Run("50 interleaved messages from 5 members are answered in order", func(t *testing.T) {
			users := e2e.Users("order", 5)
			register(t, b, users...)
			sent := sendInterleaved(t, b, users, 10)
			for _, u := range users {
				got := waitTexts(t, b, u, len(sent[u]))
				want := make([]string, len(sent[u]))
				for i, s := range sent[u] {
					want[i] = echo(s)
				}
				if !equalStrings(got, want) {
					t.Errorf("%s got replies\n%q\nwant, in the order sent,\n%q", u, got, want)
				}
			}
			waitIdle(t, b)
			for _, u := range users {
				if n := len(b.Sim.Messages(u)); n != len(sent[u]) {
					t.Errorf("%s got %d replies, want %d", u, n, len(sent[u]))
				}
				if total, processed := inboxRows(t, b.Store, u); total != len(sent[u]) || processed != total {
					t.Errorf("%s: %d inbox rows (%d processed), want %d", u, total, processed, len(sent[u]))
				}
			}
		})
	})
}

// sendInterleaved sends per messages from each user: concurrently across
// users, one after the other for each user. It returns what each user sent.
func sendInterleaved(t *testing.T, b *e2e.Bot, users []string, per int) map[string][]string {
	t.Helper()
	sent := map[string][]string{}
	for _, u := range users {
		for i := 1; i <= per; i++ {
			sent[u] = append(sent[u], fmt.Sprintf("第%d条 来自 %s", i, u))
		}
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, text := range sent[u] {
				res, err := b.Sim.As(u).SendText(ctxT(t), text)
				if err != nil || res.Status != http.StatusOK {
					t.Errorf("%s: send %q: status %d, err %v", u, text, res.Status, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return sent
}

// enqueueCard puts a button_interaction card for user into the outbox, as a
// handler would, with one button whose key is key.
func enqueueCard(t *testing.T, b *e2e.Bot, user string, keys ...string) {
	t.Helper()
	var btns []messages.CardButton
	for i, k := range keys {
		btns = append(btns, messages.CardButton{Text: fmt.Sprintf("按钮%d", i+1), Key: k, Style: 1})
	}
	card := messages.TemplateCardBody{MsgType: "template_card", TemplateCard: messages.TemplateCard{
		CardType:  "button_interaction",
		MainTitle: &messages.CardTitle{Title: "端到端测试卡片", Desc: "请点击按钮"},
		TaskID:    "e2e-" + user, ButtonList: btns,
	}}
	payload, err := json.Marshal(card)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Store.Enqueue(context.Background(), store.OutboxMessage{Recipients: []string{user}, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	b.Sender.Wake()
}
