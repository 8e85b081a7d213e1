package wecomsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"safetybot/wecomsim"
)

func TestGetToken(t *testing.T) {
	t.Run("same token while valid, new after expiry", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		a := e.getToken()
		if len(a.AccessToken) < 32 || a.ExpiresIn != 7200 {
			t.Fatalf("token %q expires_in %d", a.AccessToken, a.ExpiresIn)
		}
		e.clock.Advance(time.Hour)
		if b := e.getToken(); b.AccessToken != a.AccessToken {
			t.Fatalf("token changed inside its lifetime")
		}
		e.clock.Advance(time.Hour + time.Second)
		wantErrCode(t, e.apiWith(a.AccessToken, http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 42001)
		if c := e.getToken(); c.AccessToken == a.AccessToken {
			t.Fatalf("expired token handed out again")
		}
		if got := e.sim.TokenFetches(); got != 3 {
			t.Fatalf("TokenFetches = %d, want 3", got)
		}
	})
	t.Run("bad credentials", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		cases := []struct {
			q    url.Values
			code int
		}{
			{url.Values{"corpid": {"wrong"}, "corpsecret": {e.cfg.Secret}}, 40013},
			{url.Values{"corpid": {e.cfg.CorpID}, "corpsecret": {"wrong"}}, 40001},
			{url.Values{"corpsecret": {e.cfg.Secret}}, 41002},
			{url.Values{"corpid": {e.cfg.CorpID}}, 41004},
		}
		for _, c := range cases {
			wantErrCode(t, e.do(http.MethodGet, "/cgi-bin/gettoken?"+c.q.Encode(), nil), c.code)
		}
		if got := e.sim.TokenFetches(); got != len(cases) {
			t.Fatalf("TokenFetches = %d, want %d (failed calls count)", got, len(cases))
		}
	})
	t.Run("missing, expired and revoked tokens", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		wantErrCode(t, e.do(http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 41001)
		wantErrCode(t, e.apiWith("nonsense", http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 40014)
		old := e.token()
		e.sim.ExpireTokens()
		wantErrCode(t, e.apiWith(old, http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 42001)
		fresh := e.token()
		if fresh == old {
			t.Fatal("ExpireTokens did not force a new token")
		}
		wantErrCode(t, e.apiWith(fresh, http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 0)
		e.sim.RevokeTokens()
		wantErrCode(t, e.apiWith(fresh, http.MethodPost, "/cgi-bin/message/send", textBody("alice", "hi")), 40014)
	})
	t.Run("stampede is counted", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		var wg sync.WaitGroup
		tokens := make([]string, 20)
		for i := range tokens {
			wg.Go(func() { tokens[i] = e.token() })
		}
		wg.Wait()
		for _, tok := range tokens {
			if tok != tokens[0] {
				t.Fatal("concurrent fetches got different tokens")
			}
		}
		if got := e.sim.TokenFetches(); got != 20 {
			t.Fatalf("TokenFetches = %d, want 20", got)
		}
	})
}

func TestSendValidation(t *testing.T) {
	e := newEnv(t, wecomsim.Config{Users: []string{"alice", "Bob", "carol"}})
	tooMany := make([]string, 1001)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("u%d", i)
	}
	cases := []struct {
		name string
		body any
		code int
	}{
		{"agentid as number", textBody("alice", "hi"), 0},
		{"agentid as string", `{"touser":"alice","msgtype":"text","agentid":"1000002","text":{"content":"hi"}}`, 0},
		{"silenceper shape", `{"touser":"alice","toparty":"","totag":"","msgtype":"text","agentid":"1000002","safe":0,"enable_id_trans":0,"enable_duplicate_check":0,"duplicate_check_interval":0,"text":{"content":"hi"}}`, 0},
		{"wrong agentid", `{"touser":"alice","msgtype":"text","agentid":42,"text":{"content":"hi"}}`, 40056},
		{"missing agentid", `{"touser":"alice","msgtype":"text","text":{"content":"hi"}}`, 41011},
		{"not json", `{"touser":`, 47001},
		{"unknown msgtype", `{"touser":"alice","msgtype":"telegram","agentid":1000002}`, 40008},
		{"missing payload", `{"touser":"alice","msgtype":"text","agentid":1000002}`, 40008},
		{"empty text", textBody("alice", ""), 44004},
		{"empty markdown", `{"touser":"alice","msgtype":"markdown","agentid":1000002,"markdown":{"content":""}}`, 44004},
		{"no recipients", textBody("", "hi"), 82001},
		{"all invalid", textBody("mallory|eve", "hi"), 81013},
		{"more than 1000 users", textBody(strings.Join(tooMany, "|"), "hi"), 40058},
		{"textcard without url", `{"touser":"alice","msgtype":"textcard","agentid":1000002,"textcard":{"title":"t","description":"d"}}`, 40058},
		{"news without articles", `{"touser":"alice","msgtype":"news","agentid":1000002,"news":{"articles":[]}}`, 44003},
		{"image with unknown media", `{"touser":"alice","msgtype":"image","agentid":1000002,"image":{"media_id":"nope"}}`, 40007},
		{"GET instead of POST", nil, 43002},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			method := http.MethodPost
			if c.body == nil {
				method = http.MethodGet
			}
			r := e.api(method, "/cgi-bin/message/send", c.body)
			wantErrCode(t, r, c.code)
			if c.code == 0 && r.MsgID == "" {
				t.Fatal("no msgid")
			}
		})
	}

	t.Run("invaliduser is listed lower-cased and the rest delivered", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{Users: []string{"alice", "Bob"}})
		r := e.send(textBody("alice|BOB|Mallory|bad id", "hello"))
		wantErrCode(t, r, 0)
		var inv string
		_ = json.Unmarshal(r.InvalidUser, &inv)
		if inv != "mallory|bad id" {
			t.Fatalf("invaliduser = %q", inv)
		}
		if len(e.sim.Messages("alice")) != 1 || len(e.sim.Messages("bob")) != 1 || len(e.sim.Messages("mallory")) != 0 {
			t.Fatalf("deliveries: %+v", e.sim.AllMessages())
		}
	})
	t.Run("all invalid is 81013 and lists them", func(t *testing.T) {
		r := e.send(textBody("Mallory", "hi"))
		wantErrCode(t, r, 81013)
		if string(r.InvalidUser) != `"mallory"` {
			t.Fatalf("invaliduser = %s", r.InvalidUser)
		}
	})
	t.Run("parties and tags are unknown", func(t *testing.T) {
		r := e.send(map[string]any{"touser": "alice", "toparty": "1|2", "msgtype": "text", "agentid": 1000002, "text": map[string]string{"content": "x"}})
		wantErrCode(t, r, 0)
		if r.InvalidParty != "1|2" {
			t.Fatalf("invalidparty = %q", r.InvalidParty)
		}
	})
	t.Run("@all reaches every member", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{Users: []string{"a1", "a2", "a3"}})
		wantErrCode(t, e.send(textBody("@all", "notice")), 0)
		if n := len(e.sim.AllMessages()); n != 3 {
			t.Fatalf("@all delivered %d", n)
		}
	})
	t.Run("open member list accepts any valid userid", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		wantErrCode(t, e.send(textBody("anyone", "hi")), 0)
		wantErrCode(t, e.send(textBody("-bad", "hi")), 81013)
	})
	t.Run("msgid differs per call", func(t *testing.T) {
		a, b := e.send(textBody("alice", "1")), e.send(textBody("alice", "2"))
		if a.MsgID == b.MsgID {
			t.Fatal("same msgid twice")
		}
	})
}

func TestSendTextTruncation(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	// 2047 ASCII bytes then a 3-byte character: byte 2048 falls inside it.
	long := strings.Repeat("a", 2047) + "安全" + "tail"
	wantErrCode(t, e.send(textBody("alice", long)), 0)
	msgs := e.sim.Messages("alice")
	var p struct{ Content string }
	if err := json.Unmarshal(msgs[0].Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Content != strings.Repeat("a", 2047) || !utf8.ValidString(p.Content) {
		t.Fatalf("truncated to %d bytes, valid UTF-8 %v", len(p.Content), utf8.ValidString(p.Content))
	}
	exact := strings.Repeat("安", 682) + "ab" // 2048 bytes exactly
	wantErrCode(t, e.send(textBody("alice", exact)), 0)
	_ = json.Unmarshal(e.sim.Messages("alice")[1].Body, &p)
	if p.Content != exact {
		t.Fatal("2048-byte text was changed")
	}

	strict := newEnv(t, wecomsim.Config{RejectLongText: true})
	wantErrCode(t, strict.send(textBody("alice", long)), 45002)
}

func TestDuplicateCheck(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	body := []byte(`{"touser":"alice","msgtype":"text","agentid":1000002,"text":{"content":"once"},"enable_duplicate_check":1,"duplicate_check_interval":600}`)
	first := e.send(body)
	wantErrCode(t, first, 0)
	e.clock.Advance(5 * time.Minute)
	again := e.send(body)
	wantErrCode(t, again, 0)
	if again.MsgID != first.MsgID {
		t.Fatalf("duplicate answered msgid %q, want the original %q", again.MsgID, first.MsgID)
	}
	if n := len(e.sim.Messages("alice")); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	if e.sim.DuplicatesSuppressed() != 1 {
		t.Fatalf("DuplicatesSuppressed = %d", e.sim.DuplicatesSuppressed())
	}

	t.Run("a different byte is a different message", func(t *testing.T) {
		other := []byte(strings.Replace(string(body), `"once"`, `"once "`, 1))
		if r := e.send(other); r.MsgID == first.MsgID {
			t.Fatal("non-identical body suppressed")
		}
	})
	t.Run("after the interval it is delivered again", func(t *testing.T) {
		e.clock.Advance(6 * time.Minute)
		if r := e.send(body); r.MsgID == first.MsgID {
			t.Fatal("suppressed after the interval")
		}
	})
	t.Run("without the flag nothing is suppressed", func(t *testing.T) {
		b := textBody("bob", "twice")
		e.send(b)
		e.send(b)
		if n := len(e.sim.Messages("bob")); n != 2 {
			t.Fatalf("delivered %d", n)
		}
	})
	t.Run("interval above 4h is rejected", func(t *testing.T) {
		wantErrCode(t, e.send(`{"touser":"alice","msgtype":"text","agentid":1000002,"text":{"content":"x"},"enable_duplicate_check":1,"duplicate_check_interval":14401}`), 40058)
	})
	t.Run("a resent card keeps its task_id legal", func(t *testing.T) {
		card := []byte(`{"touser":"alice","msgtype":"template_card","agentid":1000002,"enable_duplicate_check":1,"template_card":` + buttonCard("dup-task-1") + `}`)
		a := e.send(card)
		wantErrCode(t, a, 0)
		b := e.send(card)
		wantErrCode(t, b, 0)
		if a.MsgID != b.MsgID || a.ResponseCode != b.ResponseCode {
			t.Fatalf("resend answered %+v, want the original %+v", b, a)
		}
		// The same card without the duplicate check reuses the task_id.
		wantErrCode(t, e.send(`{"touser":"alice","msgtype":"template_card","agentid":1000002,"template_card":`+buttonCard("dup-task-1")+`}`), 40058)
	})
}

func TestRateLimit(t *testing.T) {
	t.Run("excess is dropped silently", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		for i := range 31 {
			wantErrCode(t, e.send(textBody("alice|bob", fmt.Sprint("m", i))), 0)
		}
		if n := len(e.sim.Messages("alice")); n != 30 {
			t.Fatalf("alice got %d, want 30", n)
		}
		if e.sim.Dropped() != 2 {
			t.Fatalf("Dropped = %d, want 2", e.sim.Dropped())
		}
		e.clock.Advance(59 * time.Second)
		e.send(textBody("alice", "still limited"))
		e.clock.Advance(2 * time.Second)
		e.send(textBody("alice", "window moved"))
		msgs := e.sim.Messages("alice")
		if len(msgs) != 31 || !strings.Contains(string(msgs[30].Body), "window moved") {
			t.Fatalf("after a minute: %d messages", len(msgs))
		}
	})
	t.Run("the minute is rolling, not the clock's", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		e.clock.Advance(50 * time.Second) // 09:00:50
		for i := range 30 {
			wantErrCode(t, e.send(textBody("alice", fmt.Sprint("m", i))), 0)
		}
		e.clock.Advance(20 * time.Second) // 09:01:10: a new clock minute
		wantErrCode(t, e.send(textBody("alice", "after the turn of the minute")), 0)
		e.clock.Advance(40*time.Second - time.Millisecond) // 09:01:49.999
		wantErrCode(t, e.send(textBody("alice", "a moment early")), 0)
		if n, d := len(e.sim.Messages("alice")), e.sim.Dropped(); n != 30 || d != 2 {
			t.Fatalf("within 60 s of the first: %d delivered, %d dropped; want 30 and 2", n, d)
		}
		e.clock.Advance(time.Millisecond) // 09:01:50: the first 30 are a minute old
		wantErrCode(t, e.send(textBody("alice", "a minute later")), 0)
		if n := len(e.sim.Messages("alice")); n != 31 {
			t.Fatalf("a minute after the first: %d delivered, want 31", n)
		}
	})
	t.Run("hourly cap", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{PerMemberPerMinute: 1000, PerMemberPerHour: 5})
		for i := range 6 {
			e.send(textBody("alice", fmt.Sprint(i)))
			e.clock.Advance(time.Minute)
		}
		if n := len(e.sim.Messages("alice")); n != 5 {
			t.Fatalf("got %d, want 5", n)
		}
		e.clock.Advance(time.Hour)
		e.send(textBody("alice", "next hour"))
		if n := len(e.sim.Messages("alice")); n != 6 {
			t.Fatalf("got %d after an hour, want 6", n)
		}
	})
	t.Run("45009 when asked", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{PerMemberPerMinute: 2, RateLimitErrors: true})
		wantErrCode(t, e.send(textBody("alice", "1")), 0)
		wantErrCode(t, e.send(textBody("alice", "2")), 0)
		wantErrCode(t, e.send(textBody("alice", "3")), 45009)
		if len(e.sim.Messages("alice")) != 2 || e.sim.Dropped() != 0 {
			t.Fatal("45009 call delivered or counted as dropped")
		}
	})
}

func TestRecall(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	r := e.send(textBody("alice", "oops"))
	wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/recall", map[string]string{"msgid": r.MsgID}), 0)
	if !e.sim.Messages("alice")[0].Recalled {
		t.Fatal("not marked recalled")
	}
	r2 := e.send(textBody("alice", "old"))
	e.clock.Advance(25 * time.Hour)
	wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/recall", map[string]string{"msgid": r2.MsgID}), 40058)
}

func TestSendCallsAndReset(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	e.send(textBody("alice", "1"))
	e.send(textBody("", "bad"))
	if e.sim.SendCalls() != 2 {
		t.Fatalf("SendCalls = %d", e.sim.SendCalls())
	}
	tok := e.token()
	e.sim.Reset()
	if e.sim.SendCalls() != 0 || len(e.sim.AllMessages()) != 0 {
		t.Fatal("Reset kept state")
	}
	wantErrCode(t, e.apiWith(tok, http.MethodPost, "/cgi-bin/message/send", textBody("alice", "x")), 0)
}

func BenchmarkSend(b *testing.B) {
	sim := wecomsim.New(wecomsim.Config{PerMemberPerMinute: 1 << 30, PerMemberPerHour: 1 << 30})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	cfg := sim.Config()
	res, err := http.Get(hs.URL + "/cgi-bin/gettoken?corpid=" + cfg.CorpID + "&corpsecret=" + cfg.Secret)
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	body := []byte(`{"touser":"alice|bob","msgtype":"text","agentid":1000002,"text":{"content":"bench"}}`)
	u := hs.URL + "/cgi-bin/message/send?access_token=" + tok.AccessToken
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := hs.Client().Post(u, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}
