package wecomsim_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"safetybot/wecomsim"
)

func TestFaults(t *testing.T) {
	t.Run("errcode for Count calls", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		e.sim.InjectFault("message/send", wecomsim.Fault{ErrCode: -1, Count: 2})
		wantErrCode(t, e.send(textBody("alice", "1")), -1)
		wantErrCode(t, e.send(textBody("alice", "2")), -1)
		wantErrCode(t, e.send(textBody("alice", "3")), 0)
		if e.sim.SendCalls() != 3 || len(e.sim.Messages("alice")) != 1 {
			t.Fatalf("SendCalls %d, delivered %d", e.sim.SendCalls(), len(e.sim.Messages("alice")))
		}
	})
	t.Run("HTTP 5xx", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		tok := e.token()
		e.sim.InjectFault("/cgi-bin/message/send", wecomsim.Fault{HTTPStatus: http.StatusBadGateway})
		res, _ := e.doRaw(http.MethodPost, "/cgi-bin/message/send?access_token="+tok, textBody("alice", "x"))
		if res.StatusCode != http.StatusBadGateway {
			t.Fatalf("HTTP %d", res.StatusCode)
		}
		e.sim.ClearFaults()
		wantErrCode(t, e.send(textBody("alice", "x")), 0)
	})
	t.Run("latency", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		e.sim.InjectFault("gettoken", wecomsim.Fault{Latency: 300 * time.Millisecond})
		c := &http.Client{Timeout: 50 * time.Millisecond}
		if _, err := c.Get(e.hs.URL + "/cgi-bin/gettoken?corpid=" + e.cfg.CorpID + "&corpsecret=" + e.cfg.Secret); err == nil {
			t.Fatal("no timeout")
		}
		start := time.Now()
		e.getToken()
		if time.Since(start) < 300*time.Millisecond {
			t.Fatal("latency not applied")
		}
	})
	t.Run("drop closes the connection", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		tok := e.token()
		e.sim.InjectFault("*", wecomsim.Fault{Drop: true, Count: 1})
		req, _ := http.NewRequest(http.MethodGet, e.hs.URL+"/cgi-bin/media/get?media_id=x&access_token="+tok, nil)
		// A fresh connection: Go's transport silently retries a GET whose reused
		// connection was closed.
		c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			t.Fatalf("got HTTP %d, want a dropped connection", res.StatusCode)
		}
		wantErrCode(t, e.send(textBody("alice", "x")), 0)
	})
	t.Run("lost response after delivery", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		e.sim.InjectFault("message/send", wecomsim.Fault{ErrCode: -1, AfterHandling: true, Count: 1})
		wantErrCode(t, e.send(textBody("alice", "x")), -1)
		if len(e.sim.Messages("alice")) != 1 {
			t.Fatal("message not delivered behind the lost response")
		}
	})
	t.Run("rate is reproducible with a seed", func(t *testing.T) {
		pattern := func() []int {
			e := newEnv(t, wecomsim.Config{Seed: 7})
			e.sim.InjectFault("message/send", wecomsim.Fault{ErrCode: 45033, Rate: 0.5})
			var codes []int
			for range 40 {
				codes = append(codes, e.send(textBody("alice", "x")).ErrCode)
			}
			return codes
		}
		a, b := pattern(), pattern()
		if !slices.Equal(a, b) {
			t.Fatal("same seed, different fault pattern")
		}
		hits := 0
		for _, c := range a {
			if c == 45033 {
				hits++
			}
		}
		if hits < 8 || hits > 32 {
			t.Fatalf("%d of 40 hit at rate 0.5", hits)
		}
	})
}
