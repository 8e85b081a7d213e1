package faults

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot/internal/cluster"
	"safetybot/messages"
	"safetybot/wecomsim"
)

type apiFaultOpts struct {
	Principals int // the letter goes to all of them
	Chatters   int // of whom this many click 签收 and chat
	// LetterFaults hit message/send while the letter goes out; they may
	// include "lost answers" (AfterHandling): cards carry WeCom's duplicate check.
	LetterFaults []wecomsim.Fault
	// ChatFaults hit message/send and update_template_card while people chat.
	// Chat answers are sent without the duplicate check (the same answer to the
	// same question must arrive twice), so only faults before delivery here.
	ChatFaults []wecomsim.Fault
	// FirstHits are injected once each, in turn, on the letter's first calls.
	FirstHits []wecomsim.Fault
	Expiries  int // times every access token is expired during the run
	Timeout   time.Duration
}

// faultRotator injects one fault at a time on the given paths, at 20% of the
// calls, switching to the next fault of the list every period.
type faultRotator struct {
	stop chan struct{}
	done chan struct{}
}

func rotateFaults(sim *wecomsim.Server, paths []string, faults []wecomsim.Fault, period time.Duration) *faultRotator {
	r := &faultRotator{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for i := 0; ; i++ {
			f := faults[i%len(faults)]
			f.Rate = 0.2
			for _, p := range paths {
				sim.InjectFault(p, f)
			}
			select {
			case <-r.stop:
				sim.ClearFaults()
				return
			case <-time.After(period):
			}
		}
	}()
	return r
}

func (r *faultRotator) Stop() { close(r.stop); <-r.done }

// apiFaults sends an open letter and runs chat traffic through three replicas
// while 20% of WeCom's API calls fail (errcodes, 5xx, dropped connections,
// timeouts, lost answers) and every access token expires several times: every
// card and every answer is delivered exactly once, every outbox row ends sent,
// and the token is fetched once at the start and once per expiry.
func apiFaults(t *testing.T, o apiFaultOpts) {
	pg, redis := dbServices(t)
	c := cluster.New(t, cluster.Options{Replicas: 3, DatabaseURL: pg, RedisURL: redis})
	ctx := ctxFor(t, o.Timeout)
	t0 := time.Now()
	ps := importRoster(t, ctx, c, o.Principals, "af")
	t.Cleanup(c.Sim.ClearFaults)
	t.Logf("%d principals imported in %s", o.Principals, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()

	// Token expiries run through the whole test, each one after the token of
	// the previous expiry has been fetched.
	expired := 0
	expStop := make(chan struct{})
	expDone := make(chan struct{})
	go func() {
		defer close(expDone)
		for expired < o.Expiries {
			before := c.Sim.TokenFetches()
			select {
			case <-expStop:
				return
			case <-time.After(1500 * time.Millisecond):
			}
			if before == 0 || c.Sim.TokenFetches() != before {
				continue // no token yet, or the last expiry's fetch just happened: let it be used
			}
			c.Sim.ExpireTokens()
			expired++
			for c.Sim.TokenFetches() == before {
				select {
				case <-expStop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}
	}()

	// The letter under faults: first each of FirstHits on one call, in turn,
	// so that every kind is seen however few calls the letter needs; then 20%.
	sendLetter(t, ctx, c, "关于开展安全生产大检查的公开信")
	for _, f := range o.FirstHits {
		calls := c.Sim.SendCalls()
		f.Count = 1
		c.Sim.InjectFault("message/send", f)
		waitFor(t, ctx, "a send call to take the injected fault", func() bool { return c.Sim.SendCalls() > calls })
	}
	rot := rotateFaults(c.Sim, []string{"message/send"}, o.LetterFaults, 700*time.Millisecond)
	waitFor(t, ctx, "every card delivered", func() bool { return countCards(c.Sim) >= o.Principals })
	rot.Stop()
	t.Logf("letter delivered in %s", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()

	// Chat under faults: card clicks (answer + card update) and questions.
	rot = rotateFaults(c.Sim, []string{"message/send", "message/update_template_card"}, o.ChatFaults, 700*time.Millisecond)
	var led ledger
	var wg sync.WaitGroup
	for _, p := range ps[:o.Chatters] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ds := c.Sim.Messages(p.UserID)
			if len(ds) == 0 {
				t.Errorf("%s has no card", p.UserID)
				return
			}
			var key string
			for _, b := range wecomsim.Buttons(ds[0]) {
				if strings.HasPrefix(b.Key, messages.SignKeyPrefix) {
					key = b.Key
				}
			}
			res, err := c.Sim.As(p.UserID).ClickCard(ctx, ds[0], key, nil)
			ex := exchange{User: p.UserID, Text: "(click 签收)", Status: res.Statuses, Err: err, Plain: res.Plaintext, Acked: res.Status == http.StatusOK}
			ex.Key = keyOf(res.Plaintext)
			led.add(ex)
			waitN(ctx, c.Sim, p.UserID, 2)
			for i, text := range []string{"我的情况", "帮助"} {
				led.add(chat(ctx, c.Sim, p.UserID, text))
				waitN(ctx, c.Sim, p.UserID, 3+i)
			}
		}()
	}
	wg.Wait()
	close(expStop)
	<-expDone
	rot.Stop()
	waitIdle(t, ctx, c.Store)
	t.Logf("chat finished in %s", time.Since(t0).Round(time.Millisecond))

	// Cards: exactly one per principal.
	cards := map[string]int{}
	for _, d := range c.Sim.AllMessages() {
		if d.MsgType == "template_card" {
			cards[d.To]++
		}
	}
	delivered, dups, lost := 0, 0, 0
	for _, p := range ps {
		n := cards[strings.ToLower(p.UserID)]
		delivered += n
		if n == 0 {
			lost++
		} else if n > 1 {
			dups += n - 1
		}
	}
	if lost > 0 {
		t.Errorf("LOST: %d principals have no card", lost)
	}
	if dups > 0 {
		t.Errorf("DUPLICATE: %d extra cards", dups)
	}
	// Answers and card updates.
	acked, refused, lostCB, answers, missing, extra := checkExchanges(t, ctx, c, led.list())
	if refused > 0 {
		t.Errorf("%d callbacks not acknowledged (WeCom faults must not reach the callback side)", refused)
	}
	updates, badUpdates := 0, 0
	for _, p := range ps[:o.Chatters] {
		n := len(c.Sim.Updates(p.UserID))
		updates += n
		if n != 1 {
			badUpdates++
			t.Errorf("%s's card was updated %d times, want once", p.UserID, n)
		}
	}
	stats := outboxByState(t, ctx, c.Store)
	for s, n := range stats {
		if s != "sent" {
			t.Errorf("%d outbox rows are %s", n, s)
		}
	}
	fetches := c.Sim.TokenFetches()
	if fetches != 1+expired {
		t.Errorf("%d gettoken calls for %d token expiries, want %d (once at start and once per expiry, across replicas)", fetches, expired, 1+expired)
	}
	errs := map[string]int{}
	for i := range 3 {
		for code, n := range metricsByLabel(t, ctx, c, i, "safetybot_wecom_api_errors_total", "errcode") {
			errs[code] += n
		}
	}
	t.Logf("WeCom API faults at 20%%: outbox rows sent=%d; cards for %d principals delivered=%d duplicates=%d lost=%d (duplicate resends suppressed by WeCom=%d); "+
		"chat callbacks acked=%d refused=%d lost=%d, answers=%d missing=%d duplicates=%d, card updates=%d wrong=%d; "+
		"outbox %v; message/send calls=%d update calls=%d; errors seen by the senders %v; token expiries=%d gettoken calls=%d",
		stats["sent"], o.Principals, delivered, dups, lost, c.Sim.DuplicatesSuppressed(), acked, refused, lostCB, answers, missing, extra,
		updates, badUpdates, stats, c.Sim.SendCalls(), c.Sim.Calls("message/update_template_card"), sortedCounts(errs), expired, fetches)
}

func countCards(sim *wecomsim.Server) int {
	n := 0
	for _, d := range sim.AllMessages() {
		if d.MsgType == "template_card" {
			n++
		}
	}
	return n
}

// waitN waits (up to a minute) until user has received n messages.
func waitN(ctx context.Context, sim *wecomsim.Server, user string, n int) {
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sim.WaitMessages(wctx, user, n)
}

// metricsByLabel sums replica i's samples of a counter by one label's value.
func metricsByLabel(t testing.TB, ctx context.Context, c *cluster.Cluster, i int, name, label string) map[string]int {
	t.Helper()
	code, body := c.Get(ctx, &http.Client{Timeout: 5 * time.Second}, c.Replica(i).URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("replica %d /metrics: %d", i, code)
	}
	out := map[string]int{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		lb := line[len(name)+1 : strings.IndexByte(line, '}')]
		var val string
		for _, kv := range strings.Split(lb, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok && k == label {
				val = strings.Trim(v, `"`)
			}
		}
		var f float64
		fmt.Sscan(strings.TrimSpace(line[strings.IndexByte(line, '}')+1:]), &f)
		out[val] += int(f)
	}
	return out
}

func sortedCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%d", k, m[k])
	}
	return "[" + b.String() + "]"
}

// Fault kinds.
var (
	faultBusy      = wecomsim.Fault{ErrCode: -1}
	faultFrequency = wecomsim.Fault{ErrCode: 45009}
	faultConc      = wecomsim.Fault{ErrCode: 45033}
	fault502       = wecomsim.Fault{HTTPStatus: 502}
	fault503JSON   = wecomsim.Fault{HTTPStatus: 503, ErrCode: -1}
	faultDrop      = wecomsim.Fault{Drop: true}
	// faultTimeout outlasts the client's 60 s HTTP timeout: WeCom never sees the call.
	faultTimeout = wecomsim.Fault{Latency: 65 * time.Second, ErrCode: -1}
	// Lost answers: WeCom delivered, the sender never learns it.
	fault500After  = wecomsim.Fault{HTTPStatus: 500, AfterHandling: true}
	faultDropAfter = wecomsim.Fault{Drop: true, AfterHandling: true}
	// faultSlow answers late but within the client's timeout.
	faultSlow = wecomsim.Fault{Latency: 3 * time.Second}
)
