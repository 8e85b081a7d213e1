package faults

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot/internal/cluster"
	"safetybot/store"
	"safetybot/wecomsim"
)

// TestClusterActsAsOneBot runs three `safetybot serve` processes on one
// Postgres database and one Redis behind a round-robin balancer and checks
// that they behave as one bot: callbacks reach every replica and are handled
// once, a conversation started on one replica continues on another, rows
// queued by the CLI are sent by the replicas (one shared outbox, each row
// sent once), the access token is fetched once for all of them, the
// scheduler's ledger holds each slot once, and a replica killed with SIGKILL
// and started again rejoins.
func TestClusterActsAsOneBot(t *testing.T) {
	pg, redis := dbServices(t)
	c := cluster.New(t, cluster.Options{Replicas: 3, DatabaseURL: pg, RedisURL: redis})
	ctx := ctxFor(t, 3*time.Minute)
	ps := importRoster(t, ctx, c, 12, "sc")

	// First traffic: every principal asks for help at once, through the
	// balancer, so all three replicas need the access token at the same time.
	var led ledger
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); led.add(chat(ctx, c.Sim, p.UserID, "帮助")) }()
	}
	wg.Wait()
	for _, p := range ps {
		if _, err := c.Sim.WaitMessages(ctx, p.UserID, 1); err != nil {
			t.Fatalf("%s got no help answer: %v", p.UserID, err)
		}
	}

	// Two letters from the CLI (a fourth process): the replicas send the cards.
	sendLetter(t, ctx, c, "关于开展安全生产大检查的公开信")
	sendLetter(t, ctx, c, "关于做好汛期安全防范的公开信")
	for _, p := range ps {
		if _, err := c.Sim.WaitMessages(ctx, p.UserID, 3); err != nil {
			t.Fatalf("%s did not get both letter cards: %v", p.UserID, err)
		}
	}

	// A conversation that moves between replicas: 签收 on replica 0 opens the
	// pick list, the choice 2 goes to replica 1.
	first := ps[0].UserID
	c.Sim.SetCallbackURL(c.Replica(0).URL() + "/wecom/callback")
	led.add(chat(ctx, c.Sim, first, "签收"))
	ds, err := c.Sim.WaitMessages(ctx, first, 4)
	if err != nil {
		t.Fatal(err)
	}
	pick := textOf(ds[3])
	m := regexp.MustCompile(`(?m)^2\. (.+)$`).FindStringSubmatch(pick)
	if m == nil {
		t.Fatalf("签收 with two pending letters answered %q, want a numbered pick list", pick)
	}
	second := m[1]
	c.Sim.SetCallbackURL(c.Replica(1).URL() + "/wecom/callback")
	led.add(chat(ctx, c.Sim, first, "2"))
	ds, err = c.Sim.WaitMessages(ctx, first, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := textOf(ds[4]); !strings.HasPrefix(got, "已签收《"+second+"》") {
		t.Fatalf("choice 2 on another replica answered %q, want the sign-off of 《%s》", got, second)
	}
	c.Sim.SetCallbackURL(c.CallbackURL())

	// Everyone else signs both letters through the balancer, then asks for their status.
	for _, p := range ps[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, text := range []string{"签收", "1", "签收", "我的情况"} {
				led.add(chat(ctx, c.Sim, p.UserID, text))
				n := len(c.Sim.Messages(p.UserID))
				// Wait for the answer before the next message, as a person would.
				c.Sim.WaitMessages(ctx, p.UserID, n+1)
			}
		}()
	}
	wg.Wait()
	// ...and the first principal signs the remaining letter on replica 2.
	c.Sim.SetCallbackURL(c.Replica(2).URL() + "/wecom/callback")
	led.add(chat(ctx, c.Sim, first, "签收"))
	c.Sim.SetCallbackURL(c.CallbackURL())
	waitIdle(t, ctx, c.Store)

	acked, refused, lost, answers, missing, extra := checkExchanges(t, ctx, c, led.list())
	if refused > 0 {
		t.Errorf("%d callbacks were never acknowledged with every replica up", refused)
	}
	for _, p := range ps {
		sts, err := c.Store.LettersFor(ctx, p.UserID)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sts {
			if len(s.Unsigned) > 0 {
				t.Errorf("%s has not signed 《%s》", p.UserID, s.Letter.Title)
			}
		}
	}

	// Every replica stored callbacks.
	stored := make([]int, 3)
	for i := range 3 {
		stored[i] = metric(t, ctx, c, i, `safetybot_callbacks_total{result="stored"}`)
		if stored[i] == 0 {
			t.Errorf("replica %d stored no callback (balancer hits %v)", i, c.LB.Hits())
		}
	}

	// One shared outbox: every row sent once, each card delivered once.
	states := outboxByState(t, ctx, c.Store)
	total := 0
	for s, n := range states {
		total += n
		if s != "sent" {
			t.Errorf("%d outbox rows are %s", n, s)
		}
	}
	cards, dupCards := 0, 0
	for _, p := range ps {
		seen := map[string]int{}
		for _, d := range c.Sim.Messages(p.UserID) {
			if d.MsgType == "template_card" {
				cards++
				if seen[d.TaskID]++; seen[d.TaskID] > 1 {
					dupCards++
					t.Errorf("DUPLICATE: %s got card %s twice", p.UserID, d.TaskID)
				}
			}
		}
	}
	if cards != 2*len(ps) {
		t.Errorf("%d cards delivered, want %d", cards, 2*len(ps))
	}
	owners := claimOwners(t, ctx, c)

	// The scheduler: whatever jobs serve registers, each slot ran once.
	runs, err := c.Store.JobRuns(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkLedger(t, runs)

	// Kill -9 one replica and start it again: it rejoins, the catch-up at its
	// start claims nothing that already ran, and traffic flows through it.
	c.Kill(2)
	led2 := chat(ctx, c.Sim, ps[1].UserID, "我的情况") // balancer skips the dead replica
	if !led2.Acked {
		t.Errorf("callback with one replica dead: statuses %v", led2.Status)
	}
	c.Restart(ctx, 2)
	c.Sim.SetCallbackURL(c.Replica(2).URL() + "/wecom/callback")
	after := chat(ctx, c.Sim, ps[2].UserID, "我的情况")
	c.Sim.SetCallbackURL(c.CallbackURL())
	if !after.Acked {
		t.Errorf("restarted replica did not take a callback: statuses %v", after.Status)
	}
	waitIdle(t, ctx, c.Store)
	runs2, err := c.Store.JobRuns(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	checkLedger(t, runs2)
	for _, r := range runs {
		for _, r2 := range runs2 {
			if r.Job == r2.Job && r.Slot == r2.Slot && r.Owner != r2.Owner {
				t.Errorf("slot %s/%s changed owner after the restart", r.Job, r.Slot)
			}
		}
	}
	checkExchanges(t, ctx, c, []exchange{led2, after})

	fetches := c.Sim.TokenFetches()
	if fetches != 1 {
		t.Errorf("%d gettoken calls for three replicas sharing one Redis, want 1 (the cross-replica token lock)", fetches)
	}
	t.Logf("cluster of 3: callbacks acked=%d refused=%d lost=%d; answers=%d missing=%d extra=%d; "+
		"stored per replica=%v; balancer hits=%v; outbox rows=%d %v, claimed per replica=%v; cards=%d duplicates=%d; "+
		"gettoken calls=%d; job-run ledger rows=%d (after restart %d)",
		acked, refused, lost, answers, missing, extra, stored, c.LB.Hits(), total, states, owners, cards, dupCards,
		fetches, len(runs), len(runs2))
}

// checkLedger fails on a (job, slot) with more than one row or a run that
// did not finish.
func checkLedger(t *testing.T, runs []store.JobRun) {
	t.Helper()
	seen := map[string]int{}
	for _, r := range runs {
		k := r.Job + "/" + r.Slot
		if seen[k]++; seen[k] > 1 {
			t.Errorf("job %s ran twice for slot %s", r.Job, r.Slot)
		}
		if r.State == "failed" {
			t.Errorf("job %s slot %s failed: %s", r.Job, r.Slot, r.Error)
		}
	}
}

// metric reads one sample of replica i's /metrics (0 when absent).
func metric(t testing.TB, ctx context.Context, c *cluster.Cluster, i int, series string) int {
	t.Helper()
	code, body := c.Get(ctx, &http.Client{Timeout: 5 * time.Second}, c.Replica(i).URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("replica %d /metrics: %d", i, code)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", series, err)
			}
			return int(f)
		}
	}
	return 0
}

var _ = fmt.Sprintf
var _ = wecomsim.Delivered{}
