package cache_test

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"safetybot/internal/tcpproxy"

	"safetybot/store/cache"
	"safetybot/store/storetest"
)

func each(t *testing.T, fn func(t *testing.T, c cache.Cache)) {
	t.Run("memory", func(t *testing.T) { fn(t, cache.NewMemory()) })
	t.Run("redis", func(t *testing.T) {
		r, err := cache.NewRedis(storetest.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := r.Ping(context.Background()); err != nil {
			t.Fatalf("redis ping: %v", err)
		}
		fn(t, r)
	})
}

// unique returns a key no other test run uses, so tests share one Redis safely.
func unique(s string) string { return fmt.Sprintf("%s-%d", s, time.Now().UnixNano()) }

func TestTokenRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		k := unique("k")
		if c.Get(k) != nil || c.IsExist(k) {
			t.Fatal("empty cache has k")
		}
		if err := c.Set(k, "tok", time.Minute); err != nil {
			t.Fatal(err)
		}
		if c.Get(k) != "tok" || !c.IsExist(k) {
			t.Fatalf("get = %v", c.Get(k))
		}
		c.Delete(k)
		if c.IsExist(k) {
			t.Fatal("deleted key exists")
		}
	})
}

// newRedis connects a second client to the test Redis, as another replica would.
func newRedis(t *testing.T) *cache.Redis {
	t.Helper()
	r, err := cache.NewRedis(storetest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// fakeClock is a settable clock for Allow.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// admit calls Allow n times and fails unless every call is admitted.
func admit(t *testing.T, c cache.Cache, member string, n int) {
	t.Helper()
	for i := range n {
		if ok, retry, err := c.Allow(context.Background(), member, 30); !ok || err != nil {
			t.Fatalf("message %d of %d refused (retry %v): %v", i+1, n, retry, err)
		}
	}
}

// refused fails unless Allow refuses member with a wait of exactly want.
func refused(t *testing.T, c cache.Cache, member string, want time.Duration) {
	t.Helper()
	ok, retry, err := c.Allow(context.Background(), member, 30)
	if err != nil {
		t.Fatal(err)
	}
	if ok || retry != want {
		t.Fatalf("allowed=%v retry=%v, want refused with retry %v", ok, retry, want)
	}
}

// TestAllowPerMember: on the real clock (the Redis server's for Redis), 30
// messages go through at once and the 31st waits until the first is a
// minute old; another member is not affected.
func TestAllowPerMember(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		alice, bob := unique("alice"), unique("bob")
		start := time.Now()
		admit(t, c, alice, 30)
		ok, retry, err := c.Allow(context.Background(), alice, 30)
		if err != nil {
			t.Fatal(err)
		}
		if min := cache.Window - time.Since(start) - 50*time.Millisecond; ok || retry < min || retry > cache.Window {
			t.Fatalf("31st allowed=%v retry=%v, want refused with retry in [%v, %v]", ok, retry, min, cache.Window)
		}
		admit(t, c, bob, 1)
	})
}

// TestAllowRollingWindow: the limit holds over any 60 seconds, also across
// the turn of a clock minute, and the wait is until the oldest admission
// that keeps the member at the limit is a minute old.
func TestAllowRollingWindow(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		clock := &fakeClock{}
		cache.SetClock(c, clock.Now)
		at := func(hms string) {
			tm, err := time.Parse("2006-01-02 15:04:05.999", "2024-05-29 "+hms)
			if err != nil {
				t.Fatal(err)
			}
			clock.Set(tm)
		}
		alice := unique("alice")
		at("09:00:50")
		admit(t, c, alice, 10)
		at("09:00:55")
		admit(t, c, alice, 20)
		refused(t, c, alice, 55*time.Second)
		at("09:01:10") // a new clock minute, but 30 in the last 60 s
		refused(t, c, alice, 40*time.Second)
		at("09:01:49.999")
		refused(t, c, alice, time.Millisecond)
		at("09:01:50") // the ten of :50 are a minute old
		admit(t, c, alice, 10)
		refused(t, c, alice, 5*time.Second)
		at("09:01:55")
		admit(t, c, alice, 20)
		refused(t, c, alice, 55*time.Second)
	})
}

// TestAllowAllIsAllOrNothing: a message to several members is admitted for
// all of them or for none; a refusal uses up nobody's budget and waits for
// the member who is furthest over.
func TestAllowAllIsAllOrNothing(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		clock := &fakeClock{}
		cache.SetClock(c, clock.Now)
		t0 := time.Date(2024, 5, 29, 9, 0, 0, 0, time.UTC)
		clock.Set(t0)
		ctx := context.Background()
		alice, bob, carol := unique("alice"), unique("bob"), unique("carol")
		admit(t, c, alice, 29)
		clock.Set(t0.Add(10 * time.Second))
		admit(t, c, bob, 30)
		clock.Set(t0.Add(20 * time.Second))
		group := []string{alice, bob, carol}
		if ok, retry, err := c.AllowAll(ctx, group, perMinute); ok || err != nil || retry != 50*time.Second {
			t.Fatalf("bob is full: allowed=%v retry=%v err=%v, want refused for 50s", ok, retry, err)
		}
		// Nobody's budget was used: alice still has one, carol thirty.
		admit(t, c, alice, 1)
		admit(t, c, carol, 30)
		refused(t, c, carol, time.Minute)
		clock.Set(t0.Add(80 * time.Second)) // everyone's have left the window
		if ok, _, err := c.AllowAll(ctx, group, perMinute); !ok || err != nil {
			t.Fatalf("after a minute: allowed=%v err=%v", ok, err)
		}
		admit(t, c, carol, 29)
		refused(t, c, carol, time.Minute)
	})
}

var perMinute = cache.Limit{N: 30, Per: cache.Window}

// TestAllowAllMinuteAndHour: under two limits (here 30 a minute and 40 an
// hour) a member waits for whichever is reached, until its oldest counted
// admission leaves that window.
func TestAllowAllMinuteAndHour(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		clock := &fakeClock{}
		cache.SetClock(c, clock.Now)
		t0 := time.Date(2024, 5, 29, 9, 0, 0, 0, time.UTC)
		ctx := context.Background()
		limits := []cache.Limit{perMinute, {N: 40, Per: time.Hour}}
		alice := []string{unique("alice")}
		send := func(at time.Duration, n int) {
			t.Helper()
			clock.Set(t0.Add(at))
			for i := range n {
				if ok, retry, err := c.AllowAll(ctx, alice, limits...); !ok || err != nil {
					t.Fatalf("at %s message %d of %d refused (retry %s, %v)", at, i+1, n, retry, err)
				}
			}
		}
		wait := func(at, want time.Duration) {
			t.Helper()
			clock.Set(t0.Add(at))
			if ok, retry, err := c.AllowAll(ctx, alice, limits...); ok || err != nil || retry != want {
				t.Fatalf("at %s: allowed=%v retry=%s err=%v, want refused for %s", at, ok, retry, err, want)
			}
		}
		send(0, 30)
		wait(30*time.Second, 30*time.Second) // the minute's limit
		send(time.Minute, 10)                // 40 in the hour
		wait(2*time.Minute, 58*time.Minute)  // the hour's: until the first 30 are an hour old
		wait(time.Hour-time.Millisecond, time.Millisecond)
		send(time.Hour, 30)
		wait(time.Hour+time.Second, 59*time.Second)
	})
}

// TestAllowSharedByReplicas: two replicas on one Redis count a member's
// messages together.
func TestAllowSharedByReplicas(t *testing.T) {
	a, b := newRedis(t), newRedis(t)
	alice := unique("alice")
	for range 15 {
		admit(t, a, alice, 1)
		admit(t, b, alice, 1)
	}
	for _, r := range []*cache.Redis{a, b} {
		if ok, retry, err := r.Allow(context.Background(), alice, 30); ok || err != nil || retry <= 0 || retry > cache.Window {
			t.Fatalf("31st allowed=%v retry=%v err=%v, want refused", ok, retry, err)
		}
	}
}

// TestAllowRejectsNoLimit: a limit below 1 is a caller's mistake, not a refusal.
func TestAllowRejectsNoLimit(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		if _, _, err := c.Allow(context.Background(), unique("alice"), 0); err == nil {
			t.Fatal("limit 0 accepted")
		}
	})
}

// TestRedisOutageKeepsLastToken: while Redis is unreachable the last token this
// replica saw is still served, so sends do not each fetch a new one.
func TestRedisOutageKeepsLastToken(t *testing.T) {
	u := storetest.RedisURL(t)
	parsed, _ := url.Parse(u)
	p, err := tcpproxy.New(parsed.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	parsed.Host = p.Addr()
	r, err := cache.NewRedis(parsed.String())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	k := unique("tok")
	if err := r.Set(k, "t1", time.Minute); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if got := r.Get(k); got != "t1" {
		t.Fatalf("during outage Get = %v, want the last token", got)
	}
	p.Restore()
	r.Client().Del(context.Background(), "safetybot:token:"+k)
	if got := r.Get(k); got != nil {
		t.Fatalf("after another replica dropped it Get = %v, want nil", got)
	}
}
