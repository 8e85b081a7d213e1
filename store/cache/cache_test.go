package cache_test

import (
	"context"
	"fmt"
	"net/url"
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

func TestAllowPerMember(t *testing.T) {
	each(t, func(t *testing.T, c cache.Cache) {
		ctx := context.Background()
		// Stay clear of a minute boundary so the window does not reset mid-test.
		if s := time.Now().Second(); s > 55 {
			time.Sleep(time.Duration(61-s) * time.Second)
		}
		alice, bob := unique("alice"), unique("bob")
		for i := 0; i < 30; i++ {
			if ok, _, err := c.Allow(ctx, alice, 30); !ok || err != nil {
				t.Fatalf("message %d refused: %v", i+1, err)
			}
		}
		ok, retry, _ := c.Allow(ctx, alice, 30)
		if ok || retry <= 0 || retry > time.Minute {
			t.Fatalf("31st allowed=%v retry=%v", ok, retry)
		}
		if ok, _, _ := c.Allow(ctx, bob, 30); !ok {
			t.Fatal("bob limited by alice")
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
