package e2e_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"safetybot/bot/wecom"
	"safetybot/e2e"
)

// TestShutdownUnderLoad stops a bot while callbacks are arriving: every
// request gets an answer (none is left hanging until WeCom's timeout), the
// shutdown completes within its deadline, and every callback answered 200 is
// in the inbox.
func TestShutdownUnderLoad(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		dbURL, redisURL := v.db(t), v.redis(t)
		b, err := e2e.Start(e2e.Options{DatabaseURL: dbURL, RedisURL: redisURL, DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		seal, err := e2e.SealerFor(b.Config)
		if err != nil {
			t.Fatal(err)
		}
		cbs, err := seal.Callbacks(e2e.Users("shutdown", 50), 3000, e2e.FirstMsgID())
		if err != nil {
			t.Fatal(err)
		}
		hc := e2e.LoadClient(64)
		target := b.CallbackURL()
		var next, answered atomic.Int64
		var mu sync.Mutex
		var accepted [][]byte // plaintexts of callbacks answered 200
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					k := int(next.Add(1) - 1)
					if k >= len(cbs) {
						return
					}
					req, _ := http.NewRequest(http.MethodPost, target+"?"+cbs[k].Query, bytes.NewReader(cbs[k].Body))
					resp, err := hc.Do(req)
					if err != nil {
						continue // the listener is gone
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					answered.Add(1)
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						accepted = append(accepted, cbs[k].Body)
						mu.Unlock()
					}
				}
			}()
		}
		ctx := ctxT(t)
		for answered.Load() < 300 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		if err := b.Stop(); err != nil {
			t.Errorf("stop under load: %v", err)
		}
		wg.Wait()

		// Every 200 is durable: a new replica finds each of them in the inbox.
		again := startOn(t, dbURL, redisURL)
		c, err := wecom.NewCrypto(seal.Token, b.Config.AESKey, seal.CorpID)
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range accepted {
			env, _ := wecom.ParseEnvelope(body)
			plain, err := c.Decrypt(env.Encrypt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := again.Store.FindInbox(context.Background(), dedupeKey(t, plain)); err != nil {
				t.Fatalf("a callback answered 200 is not in the inbox: %v", err)
			}
		}
		t.Logf("%d callbacks answered 200 before the stop", len(accepted))
	})
}
