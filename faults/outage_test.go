package faults

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"safetybot/internal/cluster"
	"safetybot/internal/tcpproxy"
)

type outageOpts struct {
	Target  string // "redis" or "postgres"
	Users   int    // load users
	Outage  time.Duration
	Every   time.Duration // pause between a load user's messages
	Timeout time.Duration
}

// outage runs steady callback load through three replicas and takes Redis or
// Postgres away from all of them for a while by cutting the TCP proxy between
// the replicas and the server.
//
// Redis: callbacks keep being acknowledged and handled (the inbox and its
// dedupe key are in Postgres), conversations continue, redelivered callbacks
// are recognised, readiness reports Redis and recovers without restarts.
//
// Postgres: callbacks get 503 (WeCom retries), none is acknowledged and then
// lost, readiness reports the database, and processing resumes by itself.
func outage(t *testing.T, o outageOpts) {
	pg, redis := dbServices(t)
	var hs *heldSends
	opt := cluster.Options{Replicas: 3, DatabaseURL: pg, RedisURL: redis,
		WrapSim: func(h http.Handler) http.Handler { hs = newHeldSends(h); return hs }}
	var proxy *tcpproxy.Proxy
	var err error
	check := "redis"
	switch o.Target {
	case "redis":
		proxy, err = tcpproxy.New(hostOf(t, redis, "6379"))
		opt.RedisURL = withHost(t, redis, proxyAddr(proxy))
	case "postgres":
		check = "database"
		proxy, err = tcpproxy.New(hostOf(t, pg, "5432"))
		opt.DatabaseURL, opt.StoreURL = withHost(t, pg, proxyAddr(proxy)), pg
	default:
		t.Fatalf("unknown target %q", o.Target)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() }) // after the cluster has stopped
	c := cluster.New(t, opt)
	t.Cleanup(proxy.Restore) // before the cluster stops
	ctx := ctxFor(t, o.Timeout)

	const straddlers = 3
	ps := importRoster(t, ctx, c, o.Users+straddlers+1, "ou")
	blip := ps[len(ps)-1] // the one whose answer is delivered just before the cut
	ps = ps[:len(ps)-1]
	sendLetter(t, ctx, c, "关于开展安全生产大检查的公开信")
	sendLetter(t, ctx, c, "关于做好汛期安全防范的公开信")
	for _, p := range ps {
		if _, err := c.Sim.WaitMessages(ctx, p.UserID, 2); err != nil {
			t.Fatalf("%s did not get both cards: %v", p.UserID, err)
		}
	}
	pids := make([]int, 3)
	for i := range pids {
		pids[i] = c.Replica(i).Pid()
	}

	// Straddlers open the pick list before the outage, choose during it, and
	// sign the other letter after it.
	var extra []exchange
	say := func(p principal, text string) exchange {
		n := len(c.Sim.Messages(p.UserID))
		ex := chat(ctx, c.Sim, p.UserID, text)
		extra = append(extra, ex)
		if ex.Acked {
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			c.Sim.WaitMessages(wctx, p.UserID, n+1)
		}
		return ex
	}
	for _, p := range ps[:straddlers] {
		if ex := say(p, "签收"); !ex.Acked {
			t.Fatalf("签收 before the outage not acknowledged: %v", ex.Status)
		}
	}

	warm := 2 * o.Every
	load := startLoad(ctx, c, ps[straddlers:], o.Every, warm+o.Outage)
	time.Sleep(warm)
	before := load.led.list()

	// An answer WeCom has delivered when the outage begins: its sender can
	// record it only after the outage. It must not be delivered again.
	release := hs.holdUser(blip.UserID)
	t.Cleanup(release)
	extra = append(extra, chat(ctx, c.Sim, blip.UserID, "我的情况"))
	waitFor(t, ctx, "the blip user's answer to be delivered", func() bool {
		users, _ := hs.held()
		return len(users) == 1
	})

	fetches0 := c.Sim.TokenFetches()
	proxy.Cut()
	cutAt := time.Now()
	release()
	t.Logf("%s cut at %s for %s", o.Target, cutAt.Format("15:04:05"), o.Outage)
	for i := range 3 {
		waitFor(t, ctx, "replica readiness to report "+check, func() bool {
			code, body := c.Ready(ctx, i)
			return code == http.StatusServiceUnavailable && strings.Contains(body, `"`+check+`"`) && !strings.Contains(body, `"`+check+`":"ok"`)
		})
	}
	// During the outage: the straddlers choose; acknowledged callbacks are redelivered.
	duringChoice := map[string]exchange{}
	for _, p := range ps[:straddlers] {
		duringChoice[p.UserID] = say(p, "2")
	}
	redelivered, redeliveredOK := 0, 0
	for _, ex := range before {
		if !ex.Acked || redelivered == 10 {
			continue
		}
		res, err := c.Sim.Redeliver(ctx, ex.Plain)
		redelivered++
		rex := exchange{User: ex.User, Text: "(redelivered) " + ex.Text, Key: ex.Key, Status: res.Statuses, Err: err, Plain: ex.Plain}
		for _, s := range res.Statuses {
			if s == http.StatusOK {
				rex.Acked = true
			}
		}
		if rex.Acked {
			redeliveredOK++
		}
		extra = append(extra, rex)
	}
	var probe exchange
	if o.Target == "postgres" {
		probe = chat(ctx, c.Sim, ps[0].UserID, "我的情况")
		extra = append(extra, probe)
	}
	if d := time.Until(cutAt.Add(o.Outage)); d > 0 {
		time.Sleep(d)
	}
	proxy.Restore()
	fetchesDuring := c.Sim.TokenFetches() - fetches0
	t.Logf("%s restored after %s", o.Target, time.Since(cutAt).Round(time.Millisecond))
	for i := range 3 {
		if err := c.WaitReady(ctx, i); err != nil {
			t.Fatal(err)
		}
		if got := c.Replica(i).Pid(); got != pids[i] || len(c.Replica(i).Pids()) != 1 {
			t.Errorf("replica %d was restarted (pids %v)", i, c.Replica(i).Pids())
		}
	}
	fetches1 := c.Sim.TokenFetches()

	// After the outage the straddlers finish: a choice that was refused is
	// made again (WeCom gave up on it), then the other letter is signed.
	for _, p := range ps[:straddlers] {
		if !duringChoice[p.UserID].Acked {
			say(p, "2")
		}
		say(p, "签收")
	}
	time.Sleep(4 * o.Every) // the load runs on; late starters finish their script
	exs := append(load.Stop(), extra...)
	waitIdle(t, ctx, c.Store)
	fetchesAfter := c.Sim.TokenFetches() - fetches1

	acked, refused, lost, answers, missing, dupAnswers := checkExchanges(t, ctx, c, exs)

	// Conversations continued: the straddlers, and every load user whose
	// 签收, 2, 签收 were all acknowledged, signed both letters.
	firstThree := map[string][]bool{}
	for _, ex := range load.led.list() {
		if len(firstThree[ex.User]) < 3 {
			firstThree[ex.User] = append(firstThree[ex.User], ex.Acked)
		}
	}
	signedBoth, checked := 0, 0
	for i, p := range ps {
		if i >= straddlers {
			a := firstThree[p.UserID]
			if len(a) < 3 || !a[0] || !a[1] || !a[2] {
				continue
			}
		}
		checked++
		sts, err := c.Store.LettersFor(ctx, p.UserID)
		if err != nil {
			t.Fatal(err)
		}
		unsigned := 0
		for _, s := range sts {
			if len(s.Unsigned) > 0 {
				unsigned++
			}
		}
		if unsigned > 0 {
			t.Errorf("%s's conversation did not continue: %d letters unsigned", p.UserID, unsigned)
		} else {
			signedBoth++
		}
	}
	if dropped := c.Sim.Dropped(); dropped > 0 {
		t.Errorf("LOST: WeCom dropped %d messages over the per-member rate limit", dropped)
	}

	switch o.Target {
	case "redis":
		if refused > 0 {
			t.Errorf("%d callbacks were refused while only Redis was down", refused)
		}
		for u, ex := range duringChoice {
			if !ex.Acked {
				t.Errorf("%s's choice during the Redis outage was refused: %v", u, ex.Status)
			}
		}
		if redeliveredOK != redelivered {
			t.Errorf("%d of %d redelivered callbacks were not answered 200 during the Redis outage", redelivered-redeliveredOK, redelivered)
		}
		if fetchesAfter > 0 {
			t.Errorf("%d gettoken calls after Redis was back, want none (the shared token is in Redis)", fetchesAfter)
		}
	case "postgres":
		if probe.Acked {
			t.Errorf("a callback during the Postgres outage was acknowledged: statuses %v", probe.Status)
		}
		for _, s := range probe.Status {
			if s != http.StatusServiceUnavailable {
				t.Errorf("a callback during the Postgres outage got %d, want 503 so WeCom retries (statuses %v)", s, probe.Status)
				break
			}
		}
		if redeliveredOK > 0 {
			t.Errorf("%d redelivered callbacks were acknowledged while Postgres was down", redeliveredOK)
		}
	}
	stats := outboxByState(t, ctx, c.Store)
	t.Logf("%s outage of %s under load: callbacks acked=%d refused(503, WeCom retries)=%d lost=%d; answers delivered=%d missing=%d duplicates=%d; "+
		"redelivered during the outage=%d (answered 200: %d); conversations checked=%d continued=%d; outbox %v; WeCom drops=%d; "+
		"gettoken calls during the outage=%d, after recovery=%d; balancer statuses %v",
		o.Target, o.Outage, acked, refused, lost, answers, missing, dupAnswers, redelivered, redeliveredOK, checked, signedBoth,
		stats, c.Sim.Dropped(), fetchesDuring, fetchesAfter, c.LB.Statuses())
}

func proxyAddr(p *tcpproxy.Proxy) string {
	if p == nil {
		return ""
	}
	return p.Addr()
}
