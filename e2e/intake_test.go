package e2e_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot/e2e"
	"safetybot/store/storetest"
	"safetybot/wecomsim"
)

// shortPhrases are the only bodies the callback endpoint answers with: no
// detail of why a request was refused leaves the server.
var shortPhrases = map[string]bool{"": true, "forbidden": true, "bad request": true, "request too large": true,
	"method not allowed": true, "temporarily unavailable": true}

// TestIntakeHTTP sends the callback endpoint what WeCom would never send, or
// what an attacker might: it refuses each with the right status and a short
// phrase, and stores nothing.
func TestIntakeHTTP(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		cfg := b.Config
		seal, err := e2e.SealerFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		user := e2e.Users("intake", 1)[0]
		msgID := e2e.FirstMsgID()
		now := func() string { return strconv.FormatInt(time.Now().Unix(), 10) }
		text := func(ts string) []byte {
			msgID++
			return seal.TextXML(user, "你好", msgID, ts)
		}
		sealed := func(s *e2e.Sealer, ts string, plain []byte) e2e.Callback {
			cb, err := s.Seal(ts, "1234567890", plain)
			if err != nil {
				t.Fatal(err)
			}
			return cb
		}
		otherCorp, _ := e2e.NewSealer(cfg.Token, cfg.AESKey, "wwsomeothercorp01", cfg.AgentID)
		otherToken, _ := e2e.NewSealer("not-our-token", cfg.AESKey, cfg.CorpID, cfg.AgentID)
		stale := strconv.FormatInt(time.Now().Add(-cfg.MaxSkew-time.Minute).Unix(), 10)
		future := strconv.FormatInt(time.Now().Add(cfg.MaxSkew+time.Minute).Unix(), 10)
		tamper := func(cb e2e.Callback, key, value string) e2e.Callback {
			q, _ := url.ParseQuery(cb.Query)
			if value == "" {
				q.Del(key)
			} else {
				q.Set(key, value)
			}
			cb.Query = q.Encode()
			return cb
		}
		huge := sealed(seal, now(), text(now()))
		huge.Body = append(bytes.Repeat([]byte(" "), 1<<20), huge.Body...)

		for _, c := range []struct {
			name   string
			cb     e2e.Callback
			status int
		}{
			{"a fresh, well-signed callback is accepted", sealed(seal, now(), text(now())), 200},
			{"timestamp older than WECOM_CALLBACK_MAX_SKEW", sealed(seal, stale, text(stale)), 403},
			{"timestamp further ahead than the skew", sealed(seal, future, text(future)), 403},
			{"timestamp that is not a number", sealed(seal, "yesterday", text(now())), 403},
			{"signature that does not match", tamper(sealed(seal, now(), text(now())), "msg_signature", strings.Repeat("0", 40)), 403},
			{"signed with another token", sealed(otherToken, now(), text(now())), 403},
			{"encrypted for another corp (receive id)", sealed(otherCorp, now(), text(now())), 403},
			{"no msg_signature", tamper(sealed(seal, now(), text(now())), "msg_signature", ""), 400},
			{"no nonce", tamper(sealed(seal, now(), text(now())), "nonce", ""), 400},
			{"envelope that is not XML", e2e.Callback{Query: sealed(seal, now(), nil).Query, Body: []byte("hello, bot")}, 400},
			{"envelope without Encrypt", e2e.Callback{Query: sealed(seal, now(), nil).Query, Body: []byte("<xml><ToUserName>x</ToUserName></xml>")}, 400},
			{"Encrypt that is not base64", seal.Wrap(now(), "42", "%%%not base64%%%"), 400},
			{"Encrypt of the wrong length", seal.Wrap(now(), "42", "QUJDREVGR0g="), 400},
			{"decrypted message that is not XML", sealed(seal, now(), []byte("{\"json\": true}")), 400},
			{"decrypted message without FromUserName", sealed(seal, now(), []byte("<xml><MsgType>text</MsgType><Content>x</Content></xml>")), 400},
			{"body over 1 MiB", huge, 413},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, body := postCallback(t, b, http.MethodPost, c.cb)
				if status != c.status {
					t.Errorf("status %d, want %d (body %q)", status, c.status, body)
				}
				if !shortPhrases[body] {
					t.Errorf("body %q is not one of the short phrases", body)
				}
			})
		}

		t.Run("URL verification refuses what WeCom would not send", func(t *testing.T) {
			good := sealed(seal, now(), []byte("1234567890123456789"))
			echo := func(cb e2e.Callback) e2e.Callback {
				// A GET carries the ciphertext as echostr and is signed over it.
				enc := between(string(cb.Body), "<Encrypt><![CDATA[", "]]></Encrypt>")
				cb.Query = cb.Query + "&echostr=" + url.QueryEscape(enc)
				cb.Body = nil
				return cb
			}
			for _, c := range []struct {
				name   string
				cb     e2e.Callback
				status int
			}{
				{"well signed", echo(good), 200},
				{"no echostr", e2e.Callback{Query: good.Query}, 400},
				{"bad signature", tamper(echo(good), "msg_signature", strings.Repeat("a", 40)), 403},
				{"stale timestamp", echo(sealed(seal, stale, []byte("1234567890123456789"))), 403},
				{"another corp", echo(sealed(otherCorp, now(), []byte("1234567890123456789"))), 403},
			} {
				status, body := postCallback(t, b, http.MethodGet, c.cb)
				if status != c.status {
					t.Errorf("%s: status %d, want %d (body %q)", c.name, status, c.status, body)
				}
				if c.status == 200 && body != "1234567890123456789" {
					t.Errorf("%s: body %q, want the echostr plaintext", c.name, body)
				} else if c.status != 200 && !shortPhrases[body] {
					t.Errorf("%s: body %q is not a short phrase", c.name, body)
				}
			}
		})

		t.Run("other methods are refused", func(t *testing.T) {
			status, body := postCallback(t, b, http.MethodPut, sealed(seal, now(), text(now())))
			if status != http.StatusMethodNotAllowed || !shortPhrases[body] {
				t.Errorf("PUT: status %d body %q, want 405 and a short phrase", status, body)
			}
		})

		// Only the one accepted callback reached the inbox.
		waitIdle(t, b)
		if total, _ := inboxRows(t, b.Store, user); total != 1 {
			t.Errorf("%d inbox rows, want only the accepted callback", total)
		}
	})
}

func postCallback(t *testing.T, b *e2e.Bot, method string, cb e2e.Callback) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctxT(t), method, b.CallbackURL()+"?"+cb.Query, bytes.NewReader(cb.Body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

// TestIntakeStoreDown takes the database away under a running bot: callbacks
// are answered 503 (never 200 without being stored), the simulator redelivers,
// and once the database is back the callback is stored and answered once.
func TestIntakeStoreDown(t *testing.T) {
	t.Run("sqlite handle closed, then a new replica", func(t *testing.T) {
		t.Parallel()
		dbURL := storetest.URL(t, "sqlite")
		b := startOn(t, dbURL, "")
		u := e2e.Users("down", 1)[0]
		register(t, b, u)
		b.Store.DB().Close()
		res := refused(t, b, u)

		again := startOn(t, dbURL, "")
		got, err := again.Sim.Redeliver(ctxT(t), res.Plaintext)
		if err != nil || got.Status != http.StatusOK {
			t.Fatalf("redelivery to the new replica: status %v, err %v", got.Statuses, err)
		}
		want := echo("停库时发的消息")
		if texts := waitTexts(t, again, u, 1); texts[0] != want {
			t.Fatalf("reply %q, want %q", texts[0], want)
		}
		waitIdle(t, again)
		if total, processed := inboxRows(t, again.Store, u); total != 1 || processed != 1 {
			t.Fatalf("%d inbox rows (%d processed), want 1", total, processed)
		}
		if n := len(again.Sim.Messages(u)); n != 1 {
			t.Fatalf("%d replies, want 1", n)
		}
	})

	t.Run("postgres refuses connections, then comes back", func(t *testing.T) {
		t.Parallel()
		dbURL := storetest.URL(t, "postgres")
		b := startOn(t, dbURL, storetest.RedisURL(t))
		u := e2e.Users("down", 1)[0]
		register(t, b, u)
		u0, _ := url.Parse(dbURL)
		name := strings.TrimPrefix(u0.Path, "/")
		admin, err := sql.Open("postgres", os.Getenv(storetest.EnvPostgres))
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		mustExec(t, admin, `ALTER DATABASE `+name+` ALLOW_CONNECTIONS false`)
		back := func() { admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`) }
		defer back()
		mustExec(t, admin, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name)

		res := refused(t, b, u)

		back()
		got, err := b.Sim.Redeliver(ctxT(t), res.Plaintext)
		if err != nil || got.Status != http.StatusOK {
			t.Fatalf("redelivery after the database came back: statuses %v, err %v", got.Statuses, err)
		}
		want := echo("停库时发的消息")
		if texts := waitTexts(t, b, u, 1); texts[0] != want {
			t.Fatalf("reply %q, want %q", texts[0], want)
		}
		waitIdle(t, b)
		if total, processed := inboxRows(t, b.Store, u); total != 1 || processed != 1 {
			t.Fatalf("%d inbox rows (%d processed), want 1", total, processed)
		}
		if n := len(b.Sim.Messages(u)); n != 1 {
			t.Fatalf("%d replies, want 1", n)
		}
	})
}

// refused sends a callback while the store is down: every delivery (the first
// and WeCom's three retries) must be answered 503.
func refused(t *testing.T, b *e2e.Bot, u string) wecomsim.CallbackResult {
	t.Helper()
	res, err := b.Sim.As(u).SendText(ctxT(t), "停库时发的消息")
	if !errors.Is(err, wecomsim.ErrCallbackFailed) {
		t.Fatalf("callback with the store down: err %v, want it refused", err)
	}
	if fmt.Sprint(res.Statuses) != "[503 503 503 503]" {
		t.Fatalf("statuses %v, want four deliveries answered 503", res.Statuses)
	}
	if body := strings.TrimSpace(string(res.Body)); !shortPhrases[body] {
		t.Fatalf("503 body %q is not a short phrase", body)
	}
	return res
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
