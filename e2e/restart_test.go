package e2e_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"safetybot/app"
	"safetybot/bot"
	"safetybot/e2e"
	"safetybot/messages"
	"safetybot/store"
)

// TestRestart kills the worker in the middle of the inbox and starts a new
// replica on the same database: every stored callback is then processed
// exactly once — none twice, none lost — and every reply reaches the member
// once, in order.
func TestRestart(t *testing.T) {
	const (
		members   = 20
		perMember = 10
		total     = members * perMember
		killAfter = 37 // the handler dies on call 38
	)
	eachVariant(t, func(t *testing.T, v variant) {
		ctx := ctxT(t)
		dbURL, redisURL := v.db(t), v.redis(t)
		users := e2e.Users("restart", members)

		// 1. The first replica stores 200 callbacks; no worker runs yet.
		first, err := e2e.New(e2e.Options{DatabaseURL: dbURL, RedisURL: redisURL, DataDir: t.TempDir(),
			App: app.Options{Logger: logger()}})
		if err != nil {
			t.Fatal(err)
		}
		stopIntake := first.ServeIntake()
		register(t, first, users...)
		sent := map[string][]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 1; i <= perMember; i++ {
					text := fmt.Sprintf("重启前第%d条", i)
					res, err := first.Sim.As(u).SendText(ctx, text)
					if err != nil || res.Status != http.StatusOK {
						t.Errorf("%s: callback %d: status %d, err %v", u, i, res.Status, err)
						return
					}
					mu.Lock()
					sent[u] = append(sent[u], text)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			first.Kill()
			t.FailNow()
		}
		if n, p, err := first.Store.InboxCounts(ctx); err != nil || n != total || p != 0 {
			t.Fatalf("inbox %d rows, %d processed (err %v); want %d stored, none processed", n, p, err, total)
		}

		// 2. A worker handles them until call 38, which never returns: the
		// process dies in the middle of a transaction.
		var calls atomic.Int32
		dead, dying := make(chan struct{}), make(chan struct{})
		var once sync.Once
		handler := bot.HandlerFunc(func(ctx context.Context, in messages.Inbound) (messages.Reply, error) {
			if calls.Add(1) > killAfter {
				once.Do(func() { close(dying) })
				<-dead
				panic("the process died")
			}
			return first.Router.Handle(ctx, in)
		})
		proc := bot.NewProcessor(bot.ProcessorConfig{Store: first.Store, Handler: handler, Logger: logger()})
		pctx, pcancel := context.WithCancel(context.Background())
		procDone := make(chan struct{})
		go func() { defer close(procDone); proc.Run(pctx, 4, time.Hour) }()
		select {
		case <-dying:
		case <-ctx.Done():
			t.Fatalf("the worker made only %d calls", calls.Load())
		}
		if v.name != "sqlite" {
			// Other workers may still be committing calls 1–37. (On SQLite the
			// blocked transaction holds the only connection: they are done.)
			for {
				_, processed, err := first.Store.InboxCounts(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if processed == killAfter {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		stopIntake()
		pcancel()
		first.Kill() // the store closes under the blocked transaction
		close(dead)
		<-procDone

		st, err := store.Open(ctx, dbURL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, killed, err := st.InboxCounts(ctx)
		st.Close()
		if err != nil || killed != killAfter {
			t.Fatalf("after the kill %d rows are processed (err %v), want %d", killed, err, killAfter)
		}

		// 3. A new replica on the same database finishes the work.
		second := startOn(t, dbURL, redisURL)
		for _, u := range users {
			waitTexts(t, second, u, perMember)
		}
		waitIdle(t, second)

		n, processed, err := second.Store.InboxCounts(ctx)
		if err != nil || n != total || processed != total {
			t.Fatalf("inbox %d rows, %d processed (err %v); want %d, all processed", n, processed, err, total)
		}
		var again int
		if err := second.Store.DB().Get(&again, `SELECT COUNT(*) FROM inbox WHERE attempts <> 1`); err != nil {
			t.Fatal(err)
		}
		if again != 0 {
			t.Errorf("%d inbox rows were handled more than once (attempts <> 1)", again)
		}
		if calls.Load() > killAfter+4 {
			t.Errorf("the dead worker entered the handler %d times, want at most one per worker after the %dth", calls.Load(), killAfter)
		}
		// The first replica sent nothing (its sender never ran): all 200 replies
		// come from the second, once each, in the order sent.
		if n := len(first.Sim.AllMessages()); n != 0 {
			t.Errorf("the first replica's simulator got %d messages, want 0", n)
		}
		for _, u := range users {
			got := texts(second.Sim.Messages(u))
			want := make([]string, 0, perMember)
			for _, s := range sent[u] {
				want = append(want, echo(s))
			}
			if !equalStrings(got, want) {
				t.Errorf("%s got %d replies\n%q\nwant %d, in order\n%q", u, len(got), got, len(want), want)
			}
		}
	})
}
