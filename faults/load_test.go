package faults

import (
	"context"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"safetybot/internal/cluster"
)

// script is what each load user says, in order; after it they alternate the
// last two lines. 签收 with two pending letters opens the pick list, 2 answers
// it (wherever the balancer sends it), 签收 signs the other letter.
var script = []string{"签收", "2", "签收", "我的情况", "帮助"}

// loadGen is steady callback load: every user sends a message, waits for the
// answer like a person would, pauses, and sends the next.
type loadGen struct {
	led  ledger
	stop chan struct{}
	wg   sync.WaitGroup
}

// startLoad starts one goroutine per user; each begins after a random delay
// within spread and sends one message per every (well under WeCom's 30
// messages a minute per member, which the simulator enforces by dropping).
func startLoad(ctx context.Context, c *cluster.Cluster, users []principal, every, spread time.Duration) *loadGen {
	l := &loadGen{stop: make(chan struct{})}
	for _, p := range users {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			if !l.pause(time.Duration(rand.Int64N(int64(spread) + 1))) {
				return
			}
			for i := 0; ; i++ {
				text := script[min(i, len(script)-1)]
				if i >= len(script) {
					text = script[len(script)-2+i%2]
				}
				n := len(c.Sim.Messages(p.UserID))
				ex := chat(ctx, c.Sim, p.UserID, text)
				l.led.add(ex)
				if ex.Acked {
					wctx, cancel := context.WithTimeout(ctx, 15*time.Second)
					c.Sim.WaitMessages(wctx, p.UserID, n+1)
					cancel()
				}
				if !l.pause(every) {
					return
				}
			}
		}()
	}
	return l
}

func (l *loadGen) pause(d time.Duration) bool {
	select {
	case <-l.stop:
		return false
	case <-time.After(d):
		return true
	}
}

// Stop ends the load and returns every exchange.
func (l *loadGen) Stop() []exchange {
	close(l.stop)
	l.wg.Wait()
	return l.led.list()
}

// withHost returns u with its host:port replaced.
func withHost(t testing.TB, u, hostport string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Host = hostport
	return p.String()
}

// hostOf returns the host:port of a URL, with the default port when absent.
func hostOf(t testing.TB, u, defPort string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if p.Port() == "" {
		return p.Hostname() + ":" + defPort
	}
	return p.Host
}
