package wecom_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"safetybot/bot/wecom"
	"safetybot/messages"
	"safetybot/store/cache"
	"safetybot/store/storetest"
	"safetybot/wecomsim"
)

// TestTokenFetchedOnceAcrossReplicas plays three replicas (three clients) that
// share a Redis token cache and lock: however many of them need a token at once,
// WeCom sees one gettoken — also after the token expires.
func TestTokenFetchedOnceAcrossReplicas(t *testing.T) {
	sim := wecomsim.New(wecomsim.Config{Seed: 1})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	corp := fmt.Sprintf("wwshared%d", time.Now().UnixNano()) // a fresh cache key per run
	simCfg := sim.Config()
	var clients []*wecom.Client
	for i := 0; i < 3; i++ {
		r, err := cache.NewRedis(storetest.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		clients = append(clients, wecom.NewClient(wecom.ClientConfig{BaseURL: srv.URL, CorpID: simCfg.CorpID, Secret: simCfg.Secret,
			AgentID: simCfg.AgentID, Cache: prefixed{r, corp}, Locker: prefixed{r, corp}}))
	}
	send := func(round int) {
		var wg sync.WaitGroup
		for i, c := range clients {
			for j := 0; j < 10; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := messages.TextBody{MsgType: "text", Text: messages.TextContent{Content: fmt.Sprintf("r%d c%d m%d", round, i, j)}}
					if _, err := c.Send(context.Background(), []string{fmt.Sprintf("u%d", j)}, body); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
	}
	send(1)
	if n := sim.TokenFetches(); n != 1 {
		t.Fatalf("gettoken calls = %d, want 1", n)
	}
	sim.ExpireTokens()
	send(2)
	if n := sim.TokenFetches(); n != 2 {
		t.Fatalf("gettoken calls after expiry = %d, want 2", n)
	}
}

// prefixed keeps this test's token key apart from other runs on the shared Redis.
type prefixed struct {
	*cache.Redis
	p string
}

func (p prefixed) Get(k string) interface{} { return p.Redis.Get(p.p + k) }
func (p prefixed) Set(k string, v interface{}, d time.Duration) error {
	return p.Redis.Set(p.p+k, v, d)
}
func (p prefixed) IsExist(k string) bool { return p.Redis.IsExist(p.p + k) }
func (p prefixed) Delete(k string) error { return p.Redis.Delete(p.p + k) }
func (p prefixed) LockToken(ctx context.Context, k string) (func(), error) {
	return p.Redis.LockToken(ctx, p.p+k)
}
