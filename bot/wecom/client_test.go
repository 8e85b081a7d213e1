package wecom_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot/bot/wecom"
	"safetybot/messages"
)

func newClient(t *testing.T, f *fakeWeCom, mod ...func(*wecom.ClientConfig)) *wecom.Client {
	t.Helper()
	cfg := wecom.ClientConfig{BaseURL: f.srv.URL, CorpID: testCorp, Secret: testSecret, AgentID: testAgentID}
	for _, m := range mod {
		m(&cfg)
	}
	return wecom.NewClient(cfg)
}

var hello = messages.TextBody{MsgType: "text", Text: messages.TextContent{Content: "你好"}}

// assertNoSecrets fails when err's text holds a token the fake issued or the secret.
func assertNoSecrets(t *testing.T, f *fakeWeCom, err error) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	for _, tok := range f.tokens() {
		if strings.Contains(s, tok) {
			t.Errorf("error text holds an access token: %s", s)
		}
	}
	if strings.Contains(s, testSecret) || strings.Contains(s, "/cgi-bin/") {
		t.Errorf("error text holds a credential or URL: %s", s)
	}
}

func TestTokenFetchedOnceForConcurrentSends(t *testing.T) {
	f := newFake(t)
	f.tokenDelay = 50 * time.Millisecond
	c := newClient(t, f)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, err := c.Send(t.Context(), []string{"alice"}, hello)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("gettoken called %d times, want 1", n)
	}
	if n := f.callCount("message/send"); n != 50 {
		t.Fatalf("message/send accepted %d times, want 50", n)
	}
}

func TestTokenRejectedMidRunRefreshesOnce(t *testing.T) {
	for _, code := range []int{42001, 40014, 41001} {
		t.Run("errcode "+itoa(code), func(t *testing.T) {
			f := newFake(t)
			f.rejectCode = code
			f.tokenDelay = 20 * time.Millisecond
			c := newClient(t, f)
			if _, err := c.Send(t.Context(), []string{"alice"}, hello); err != nil {
				t.Fatal(err)
			}
			f.revokeAll()

			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for range 20 {
				wg.Go(func() {
					_, err := c.Send(t.Context(), []string{"alice"}, hello)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatalf("send after refresh: %v", err)
				}
			}
			if n := f.tokenCalls.Load(); n != 2 {
				t.Fatalf("gettoken called %d times, want 2 (initial + one refresh)", n)
			}
			if n := f.callCount("message/send"); n != 21 {
				t.Fatalf("accepted sends = %d, want 21", n)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestTokenRejectedTwiceGivesUp(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	// Every token is revoked as soon as it is issued.
	f.on("message/send", func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, map[string]any{"errcode": 42001, "errmsg": "access_token expired " + r.URL.Query().Get("access_token")})
	})
	_, err := c.Send(t.Context(), []string{"alice"}, hello)
	if wecom.ErrCode(err) != 42001 {
		t.Fatalf("err = %v, want errcode 42001", err)
	}
	// The caller may try again later, with whatever token is current then.
	if !wecom.IsRetryable(err) {
		t.Errorf("a token rejected twice is not retryable: %v", err)
	}
	if n := f.tokenCalls.Load(); n != 2 {
		t.Fatalf("gettoken called %d times, want 2", n)
	}
	if n := len(f.requestBodies("message/send")); n != 2 {
		t.Fatalf("message/send tried %d times, want 2", n)
	}
	assertNoSecrets(t, f, err)
}

func TestGettokenFailureIsSingleFlight(t *testing.T) {
	t.Run("transient failure is not remembered", func(t *testing.T) {
		f := newFake(t)
		f.tokenDelay = 50 * time.Millisecond
		f.tokenErr.Store(-1)
		c := newClient(t, f)
		runConcurrentSends(t, c, 20, func(err error) {
			if wecom.ErrCode(err) != -1 || !wecom.IsRetryable(err) {
				t.Errorf("err = %v, want retryable -1", err)
			}
		})
		if n := f.tokenCalls.Load(); n != 1 {
			t.Fatalf("gettoken called %d times for 20 concurrent callers, want 1", n)
		}
		f.tokenErr.Store(0)
		if _, err := c.Send(t.Context(), []string{"alice"}, hello); err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		if n := f.tokenCalls.Load(); n != 2 {
			t.Fatalf("gettoken called %d times, want 2", n)
		}
	})
	t.Run("wrong secret is not hammered", func(t *testing.T) {
		f := newFake(t)
		f.tokenDelay = 20 * time.Millisecond
		c := newClient(t, f, func(cfg *wecom.ClientConfig) { cfg.Secret = "wrong-secret-value" })
		runConcurrentSends(t, c, 20, func(err error) {
			if wecom.ErrCode(err) != 40001 || wecom.IsRetryable(err) {
				t.Errorf("err = %v, want permanent 40001", err)
			}
			if err != nil && strings.Contains(err.Error(), "wrong-secret-value") {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
		// Right after a permanent failure the error is reused, not refetched.
		if _, err := c.Send(t.Context(), []string{"alice"}, hello); wecom.ErrCode(err) != 40001 {
			t.Fatalf("err = %v", err)
		}
		if n := f.tokenCalls.Load(); n != 1 {
			t.Fatalf("gettoken called %d times, want 1", n)
		}
	})
}

func runConcurrentSends(t *testing.T, c *wecom.Client, n int, check func(error)) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range n {
		wg.Go(func() {
			_, err := c.Send(t.Context(), []string{"alice"}, hello)
			mu.Lock()
			check(err)
			mu.Unlock()
		})
	}
	wg.Wait()
}

func TestErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		respond    apiHandler
		code       int
		retryable  bool
		retryAfter time.Duration
	}{
		{"system busy -1", errcode(-1), -1, true, 0},
		{"concurrency 45033", errcode(45033), 45033, true, 0},
		{"frequency 45009", errcode(45009), 45009, true, time.Minute},
		{"out of range 60011", errcode(60011), 60011, false, 0},
		{"invalid userid 40003", errcode(40003), 40003, false, 0},
		{"no permission 48002", errcode(48002), 48002, false, 0},
		{"HTTP 500", status(500), 0, true, 0},
		{"HTTP 502", status(502), 0, true, 0},
		{"HTTP 503", status(503), 0, true, 0},
		{"HTTP 404", status(404), 0, false, 0},
		{"HTML at 200", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html>gateway</html>")
		}, 0, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.on("message/send", tt.respond)
			c := newClient(t, f)
			_, err := c.Send(t.Context(), []string{"alice"}, hello)
			if err == nil {
				t.Fatal("no error")
			}
			if got := wecom.ErrCode(err); got != tt.code {
				t.Errorf("ErrCode = %d, want %d", got, tt.code)
			}
			if got := wecom.IsRetryable(err); got != tt.retryable {
				t.Errorf("IsRetryable = %v, want %v (%v)", got, tt.retryable, err)
			}
			var pe interface {
				Permanent() bool
				Retryable() bool
			}
			if !errors.As(err, &pe) || pe.Permanent() == tt.retryable || pe.Retryable() != tt.retryable {
				t.Errorf("Permanent/Retryable methods disagree: %v", err)
			}
			var ae *wecom.APIError
			if errors.As(err, &ae) {
				if ae.API != "message/send" {
					t.Errorf("API = %q", ae.API)
				}
				if ae.RetryAfter() != tt.retryAfter {
					t.Errorf("RetryAfter = %v, want %v", ae.RetryAfter(), tt.retryAfter)
				}
			}
			if n := len(f.requestBodies("message/send")); n != 1 {
				t.Errorf("client sent %d requests; it must not retry by itself", n)
			}
			assertNoSecrets(t, f, err)
		})
	}
}

func errcode(code int) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		// Echo the token back, as a careless proxy might: it must be redacted.
		writeJSON(w, map[string]any{"errcode": code, "errmsg": "failed for " + r.URL.RawQuery})
	}
}

func status(code int) apiHandler {
	return func(w http.ResponseWriter, r *http.Request, _ []byte) {
		http.Error(w, "upstream failed for "+r.URL.String(), code)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Run("connection dropped", func(t *testing.T) {
		f := newFake(t)
		f.on("message/send", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		})
		c := newClient(t, f)
		_, err := c.Send(t.Context(), []string{"alice"}, hello)
		var te *wecom.TransientError
		if !errors.As(err, &te) || !wecom.IsRetryable(err) {
			t.Fatalf("err = %v, want TransientError", err)
		}
		assertNoSecrets(t, f, err)
	})
	t.Run("connection refused", func(t *testing.T) {
		f := newFake(t)
		c := newClient(t, f)
		if _, err := c.Send(t.Context(), []string{"alice"}, hello); err != nil {
			t.Fatal(err)
		}
		f.srv.Close()
		_, err := c.Send(t.Context(), []string{"alice"}, hello)
		if !wecom.IsRetryable(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
		assertNoSecrets(t, f, err)
	})
	t.Run("gettoken unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		c := wecom.NewClient(wecom.ClientConfig{BaseURL: "http://" + addr, CorpID: testCorp, Secret: testSecret, AgentID: 1})
		_, err = c.Send(t.Context(), []string{"alice"}, hello)
		if !wecom.IsRetryable(err) || strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), "corpsecret") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFake(t)
		release := make(chan struct{})
		defer close(release)
		f.on("message/send", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		c := newClient(t, f)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Send(ctx, []string{"alice"}, hello)
		if !wecom.IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want retryable deadline", err)
		}
		assertNoSecrets(t, f, err)
	})
	t.Run("http client timeout", func(t *testing.T) {
		f := newFake(t)
		release := make(chan struct{})
		defer close(release)
		f.on("message/send", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		c := newClient(t, f, func(cfg *wecom.ClientConfig) { cfg.HTTP = &http.Client{Timeout: 100 * time.Millisecond} })
		_, err := c.Send(t.Context(), []string{"alice"}, hello)
		if !wecom.IsRetryable(err) {
			t.Fatalf("err = %v, want retryable", err)
		}
		assertNoSecrets(t, f, err)
	})
	t.Run("caller cancels", func(t *testing.T) {
		f := newFake(t)
		c := newClient(t, f)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := c.Send(ctx, []string{"alice"}, hello)
		if err == nil || wecom.IsRetryable(err) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want non-retryable cancellation", err)
		}
	})
}

func TestSendBodyIsByteStable(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	body := messages.TextBody{MsgType: "text", Text: messages.TextContent{Content: `请签收 <a href="https://x.invalid/l?a=1&b=2">公开信</a>`}}
	for range 2 {
		if _, err := c.Send(t.Context(), []string{"alice", "bob"}, body); err != nil {
			t.Fatal(err)
		}
	}
	got := f.requestBodies("message/send")
	want := `{"touser":"alice|bob","agentid":1000002,"enable_duplicate_check":1,"duplicate_check_interval":14400,` +
		`"msgtype":"text","text":{"content":"请签收 <a href=\"https://x.invalid/l?a=1&b=2\">公开信</a>"}}`
	if string(got[0]) != want {
		t.Fatalf("body\n got %s\nwant %s", got[0], want)
	}
	if !bytes.Equal(got[0], got[1]) {
		t.Fatal("two sends of the same input differ")
	}
	var m map[string]any
	if err := json.Unmarshal(got[0], &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["agentid"].(float64); !ok {
		t.Fatalf("agentid is %T, want a JSON number", m["agentid"])
	}

	t.Run("template card body", func(t *testing.T) {
		card := messages.Card(nil, messages.TemplateCard{CardType: "button_interaction", TaskID: "letter-1-alice",
			MainTitle:  &messages.CardTitle{Title: "安全生产公开信"},
			ButtonList: []messages.CardButton{{Text: "签收", Key: "sign:1", Style: 1}}}).Body
		var prev []byte
		for range 3 {
			if _, err := c.Send(t.Context(), []string{"alice"}, card); err != nil {
				t.Fatal(err)
			}
			all := f.requestBodies("message/send")
			last := all[len(all)-1]
			if prev != nil && !bytes.Equal(prev, last) {
				t.Fatal("card body not stable")
			}
			prev = last
		}
		want := `{"touser":"alice","agentid":1000002,"enable_duplicate_check":1,"duplicate_check_interval":14400,"msgtype":"template_card","template_card":{"card_type":"button_interaction","main_title":{"title":"安全生产公开信"},"task_id":"letter-1-alice","button_list":[{"text":"签收","style":1,"key":"sign:1"}]}}`
		if string(prev) != want {
			t.Fatalf("body\n got %s\nwant %s", prev, want)
		}
	})
	t.Run("map and raw bodies", func(t *testing.T) {
		for _, b := range []any{
			map[string]any{"text": map[string]string{"content": "hi"}, "msgtype": "text"},
			json.RawMessage(" {\"msgtype\": \"text\",\n \"text\": {\"content\": \"hi\"}} "),
			[]byte(`{"msgtype":"text","text":{"content":"hi"}}`),
		} {
			if _, err := c.Send(t.Context(), []string{"u1"}, b); err != nil {
				t.Fatal(err)
			}
		}
		all := f.requestBodies("message/send")
		head := `{"touser":"u1","agentid":1000002,"enable_duplicate_check":1,"duplicate_check_interval":14400,`
		wants := []string{
			head + `"msgtype":"text","text":{"content":"hi"}}`, // map keys sorted
			head + `"msgtype":"text","text":{"content":"hi"}}`, // raw JSON compacted
			head + `"msgtype":"text","text":{"content":"hi"}}`,
		}
		for i, w := range wants {
			if got := string(all[len(all)-3+i]); got != w {
				t.Errorf("body %d\n got %s\nwant %s", i, got, w)
			}
		}
	})
	t.Run("body may set duplicate check itself", func(t *testing.T) {
		b := map[string]any{"msgtype": "text", "text": map[string]string{"content": "x"}, "duplicate_check_interval": 600}
		if _, err := c.Send(t.Context(), []string{"u1"}, b); err != nil {
			t.Fatal(err)
		}
		all := f.requestBodies("message/send")
		want := `{"touser":"u1","agentid":1000002,"enable_duplicate_check":1,"duplicate_check_interval":600,"msgtype":"text","text":{"content":"x"}}`
		if got := string(all[len(all)-1]); got != want {
			t.Fatalf("got %s", got)
		}
	})
}

func TestSendRefusesBadRequests(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	many := make([]string, 1001)
	for i := range many {
		many[i] = "u" + itoa(i)
	}
	cases := map[string]struct {
		to   []string
		body any
	}{
		"no recipients":       {nil, hello},
		"1001 recipients":     {many, hello},
		"empty user id":       {[]string{"alice", ""}, hello},
		"pipe in user id":     {[]string{"alice|bob"}, hello},
		"body sets touser":    {[]string{"alice"}, map[string]any{"touser": "x", "msgtype": "text"}},
		"body sets agentid":   {[]string{"alice"}, map[string]any{"agentid": 1, "msgtype": "text"}},
		"body is an array":    {[]string{"alice"}, []string{"a"}},
		"body is a string":    {[]string{"alice"}, "text"},
		"body is invalid raw": {[]string{"alice"}, json.RawMessage(`{"msgtype":`)},
		"body unmarshalable":  {[]string{"alice"}, map[string]any{"f": func() {}}},
	}
	for name, tt := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Send(t.Context(), tt.to, tt.body)
			if !errors.Is(err, wecom.ErrBadRequest) || wecom.IsRetryable(err) {
				t.Fatalf("err = %v, want ErrBadRequest", err)
			}
		})
	}
	if n := f.tokenCalls.Load() + int32(len(f.requestBodies("message/send"))); n != 0 {
		t.Fatalf("refused requests reached the server (%d calls)", n)
	}
	t.Run("exactly 1000 recipients", func(t *testing.T) {
		if _, err := c.Send(t.Context(), many[:1000], hello); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSendResult(t *testing.T) {
	f := newFake(t)
	f.on("message/send", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "bob|carol", "invalidparty": "",
			"invalidtag": "", "unlicenseduser": "dave", "msgid": "MSGID123", "response_code": "rc-1"})
	})
	c := newClient(t, f)
	res, err := c.Send(t.Context(), []string{"alice", "bob", "carol", "dave"}, hello)
	if err != nil {
		t.Fatal(err)
	}
	want := wecom.SendResult{MsgID: "MSGID123", ResponseCode: "rc-1", InvalidUsers: []string{"bob", "carol"}, UnlicensedUsers: []string{"dave"}}
	if !equalJSON(res, want) {
		t.Fatalf("got %+v", res)
	}

	t.Run("all invalid 81013 keeps the list", func(t *testing.T) {
		f.on("message/send", func(w http.ResponseWriter, r *http.Request, _ []byte) {
			writeJSON(w, map[string]any{"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "zed"})
		})
		res, err := c.Send(t.Context(), []string{"zed"}, hello)
		if wecom.ErrCode(err) != 81013 || wecom.IsRetryable(err) {
			t.Fatalf("err = %v", err)
		}
		if len(res.InvalidUsers) != 1 || res.InvalidUsers[0] != "zed" {
			t.Fatalf("InvalidUsers = %v", res.InvalidUsers)
		}
	})
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func TestUpdateTemplateCard(t *testing.T) {
	f := newFake(t)
	f.on("message/update_template_card", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": []string{"ghost"}})
	})
	c := newClient(t, f)
	upd := messages.ReplaceButton([]string{"bob"}, "rc_Zk3xQ", "已签收")
	invalid, err := c.UpdateTemplateCard(t.Context(), []string{"bob", "ghost"}, upd.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(invalid) != 1 || invalid[0] != "ghost" {
		t.Fatalf("invalid = %v", invalid)
	}
	got := string(f.requestBodies("message/update_template_card")[0])
	want := `{"userids":["bob","ghost"],"agentid":1000002,"response_code":"rc_Zk3xQ","button":{"replace_name":"已签收"}}`
	if got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}

	t.Run("atall without userids", func(t *testing.T) {
		_, err := c.UpdateTemplateCard(t.Context(), nil, map[string]any{"atall": 1, "response_code": "rc2", "button": map[string]string{"replace_name": "x"}})
		if err != nil {
			t.Fatal(err)
		}
		all := f.requestBodies("message/update_template_card")
		want := `{"agentid":1000002,"atall":1,"button":{"replace_name":"x"},"response_code":"rc2"}`
		if got := string(all[len(all)-1]); got != want {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("refuses a body without response_code", func(t *testing.T) {
		_, err := c.UpdateTemplateCard(t.Context(), []string{"bob"}, map[string]any{"button": map[string]string{"replace_name": "x"}})
		if !errors.Is(err, wecom.ErrBadRequest) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("expired token is refreshed", func(t *testing.T) {
		f.revokeAll()
		if _, err := c.UpdateTemplateCard(t.Context(), []string{"bob"}, upd.Body); err != nil {
			t.Fatal(err)
		}
		if n := f.tokenCalls.Load(); n != 2 {
			t.Fatalf("gettoken calls = %d", n)
		}
	})
}

func TestUploadMedia(t *testing.T) {
	f := newFake(t)
	var mu sync.Mutex
	var seen []string
	f.on("media/upload", func(w http.ResponseWriter, r *http.Request, body []byte) {
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		p, err := mr.NextPart()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		data, _ := io.ReadAll(p)
		mu.Lock()
		seen = append(seen, r.URL.Query().Get("type")+"|"+p.FormName()+"|"+p.FileName()+"|"+string(data)+"|"+p.Header.Get("Content-Type"))
		mu.Unlock()
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "", "type": "image", "media_id": "MEDIA-1", "created_at": "1717000000"})
	})
	c := newClient(t, f)
	id, err := c.UploadMedia(t.Context(), "image", "隐患照片.png", strings.NewReader("\x89PNG-data"))
	if err != nil || id != "MEDIA-1" {
		t.Fatalf("UploadMedia = %q, %v", id, err)
	}
	want := "image|media|隐患照片.png|\x89PNG-data|image/png"
	if seen[0] != want {
		t.Fatalf("server saw %q, want %q", seen[0], want)
	}

	t.Run("resent whole after a token refresh", func(t *testing.T) {
		f.revokeAll()
		id, err := c.UploadMedia(t.Context(), "file", "report.xlsx", strings.NewReader("xlsx-bytes"))
		if err != nil || id != "MEDIA-1" {
			t.Fatalf("UploadMedia = %q, %v", id, err)
		}
		if last := seen[len(seen)-1]; !strings.HasPrefix(last, "file|media|report.xlsx|xlsx-bytes|") {
			t.Fatalf("retry sent %q", last)
		}
	})
	t.Run("unknown kind", func(t *testing.T) {
		if _, err := c.UploadMedia(t.Context(), "gif", "a.gif", strings.NewReader("GIF89a")); !errors.Is(err, wecom.ErrBadRequest) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		big := io.LimitReader(zeroReader{}, 20<<20+1)
		if _, err := c.UploadMedia(t.Context(), "file", "big.bin", big); !errors.Is(err, wecom.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("upload error", func(t *testing.T) {
		f.on("media/upload", errcode(40004))
		if _, err := c.UploadMedia(t.Context(), "voice", "a.amr", strings.NewReader("#!AMR..")); wecom.ErrCode(err) != 40004 {
			t.Fatalf("err = %v", err)
		}
	})
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestGetMedia(t *testing.T) {
	f := newFake(t)
	f.on("media/get", func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch r.URL.Query().Get("media_id") {
		case "PHOTO":
			w.Header().Set("Content-Type", "image/jpeg")
			w.Header().Set("Content-Disposition", `attachment; filename="a.jpg"`)
			_, _ = w.Write([]byte("\xff\xd8\xff\xe0jpeg"))
		case "JSONFILE":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"name":"a real json file","errcode":0}`))
		case "BIG":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = io.Copy(w, io.LimitReader(zeroReader{}, 20<<20+1))
		default:
			w.Header().Set("Content-Type", "text/plain")
			writeJSON(w, map[string]any{"errcode": 40007, "errmsg": "invalid media_id"})
		}
	})
	c := newClient(t, f)

	data, ctype, err := c.GetMedia(t.Context(), "PHOTO")
	if err != nil || string(data) != "\xff\xd8\xff\xe0jpeg" || ctype != "image/jpeg" {
		t.Fatalf("GetMedia = %q, %q, %v", data, ctype, err)
	}
	if data, _, err := c.GetMedia(t.Context(), "JSONFILE"); err != nil || !bytes.Contains(data, []byte("real json")) {
		t.Fatalf("json file: %q, %v", data, err)
	}
	_, _, err = c.GetMedia(t.Context(), "GONE")
	if wecom.ErrCode(err) != 40007 || wecom.IsRetryable(err) {
		t.Fatalf("err = %v, want permanent 40007", err)
	}
	if _, _, err := c.GetMedia(t.Context(), "BIG"); !errors.Is(err, wecom.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}

	t.Run("token error sniffed at HTTP 200 is refreshed", func(t *testing.T) {
		f.revokeAll()
		data, _, err := c.GetMedia(t.Context(), "PHOTO")
		if err != nil || len(data) == 0 {
			t.Fatalf("GetMedia after revoke: %v", err)
		}
		if n := f.tokenCalls.Load(); n != 2 {
			t.Fatalf("gettoken calls = %d, want 2", n)
		}
	})
	t.Run("HTTP 502 is retryable", func(t *testing.T) {
		f.on("media/get", status(502))
		_, _, err := c.GetMedia(t.Context(), "PHOTO")
		if !wecom.IsRetryable(err) {
			t.Fatalf("err = %v", err)
		}
		assertNoSecrets(t, f, err)
	})
}

func TestCreateMenu(t *testing.T) {
	f := newFake(t)
	c := newClient(t, f)
	menu := map[string]any{"button": []any{
		map[string]string{"type": "click", "name": "我的情况", "key": "MENU_STATUS"},
	}}
	if err := c.CreateMenu(t.Context(), menu); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	q := f.queries["menu/create"][0]
	f.mu.Unlock()
	if !strings.Contains(q, "agentid=1000002") {
		t.Fatalf("query %q lacks agentid", q)
	}
	want := `{"button":[{"key":"MENU_STATUS","name":"我的情况","type":"click"}]}`
	if got := string(f.requestBodies("menu/create")[0]); got != want {
		t.Fatalf("body %s", got)
	}
	f.on("menu/create", errcode(40056))
	if err := c.CreateMenu(t.Context(), menu); wecom.ErrCode(err) != 40056 {
		t.Fatalf("err = %v", err)
	}
}

func TestClientsWithDifferentBaseURLsCoexist(t *testing.T) {
	f1, f2 := newFake(t), newFake(t)
	c1, c2 := newClient(t, f1), newClient(t, f2)
	for range 3 {
		if _, err := c1.Send(t.Context(), []string{"a"}, hello); err != nil {
			t.Fatal(err)
		}
		if _, err := c2.Send(t.Context(), []string{"b"}, hello); err != nil {
			t.Fatal(err)
		}
	}
	if f1.callCount("message/send") != 3 || f2.callCount("message/send") != 3 {
		t.Fatal("calls went to the wrong server")
	}
}

// countingCache is a TokenCache shared by two clients, like Redis across replicas.
type countingCache struct {
	*wecom.MemoryCache
	mu   sync.Mutex
	keys map[string]bool
}

func (c *countingCache) Set(key string, val interface{}, ttl time.Duration) error {
	c.mu.Lock()
	c.keys[key] = true
	c.mu.Unlock()
	if ttl < 6000*time.Second || ttl > 7200*time.Second {
		return errors.New("unexpected ttl " + ttl.String())
	}
	return c.MemoryCache.Set(key, val, ttl)
}

func TestSharedTokenCache(t *testing.T) {
	f := newFake(t)
	cache := &countingCache{MemoryCache: wecom.NewMemoryCache(), keys: map[string]bool{}}
	var _ wecom.TokenCache = cache
	shared := func(cfg *wecom.ClientConfig) { cfg.Cache = cache }
	a, b := newClient(t, f, shared), newClient(t, f, shared)
	other := newClient(t, f, shared, func(cfg *wecom.ClientConfig) { cfg.AgentID = 1000003 })
	for _, c := range []*wecom.Client{a, b, a, b} {
		if _, err := c.Send(t.Context(), []string{"u"}, hello); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls.Load(); n != 1 {
		t.Fatalf("gettoken calls = %d, want 1 for two clients of one app", n)
	}
	if _, err := other.Send(t.Context(), []string{"u"}, hello); err != nil {
		t.Fatal(err)
	}
	if n := f.tokenCalls.Load(); n != 2 || len(cache.keys) != 2 {
		t.Fatalf("another agent must have its own token: calls=%d keys=%v", n, cache.keys)
	}
}

func TestMemoryCache(t *testing.T) {
	m := wecom.NewMemoryCache()
	_ = m.Set("k", "v", 30*time.Millisecond)
	if m.Get("k") != "v" || !m.IsExist("k") {
		t.Fatal("value missing")
	}
	time.Sleep(40 * time.Millisecond)
	if m.Get("k") != nil || m.IsExist("k") {
		t.Fatal("value did not expire")
	}
	_ = m.Set("k", "v", 0)
	_ = m.Delete("k")
	if m.IsExist("k") {
		t.Fatal("Delete did not remove")
	}
}

// rewriteTransport answers every request itself and records the URL, to check
// the default base URL without a network.
type rewriteTransport struct {
	mu   sync.Mutex
	urls []string
}

func (rt *rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.urls = append(rt.urls, r.URL.Scheme+"://"+r.URL.Host+r.URL.Path)
	rt.mu.Unlock()
	body := `{"errcode":0,"errmsg":"ok","access_token":"T0123456789","expires_in":7200}`
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestDefaultBaseURL(t *testing.T) {
	rt := &rewriteTransport{}
	c := wecom.NewClient(wecom.ClientConfig{CorpID: testCorp, Secret: testSecret, AgentID: 1, HTTP: &http.Client{Transport: rt}})
	if _, err := c.Send(t.Context(), []string{"u"}, hello); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://qyapi.weixin.qq.com/cgi-bin/gettoken", "https://qyapi.weixin.qq.com/cgi-bin/message/send"}
	if strings.Join(rt.urls, " ") != strings.Join(want, " ") {
		t.Fatalf("urls = %v", rt.urls)
	}
}

func TestLogsHoldNoCredentials(t *testing.T) {
	f := newFake(t)
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newClient(t, f, func(cfg *wecom.ClientConfig) { cfg.Logger = logger })
	_, _ = c.Send(t.Context(), []string{"alice"}, hello)
	f.revokeAll()
	_, _ = c.Send(t.Context(), []string{"alice"}, hello)
	f.on("message/send", errcode(45009))
	_, _ = c.Send(t.Context(), []string{"alice"}, hello)
	_, _, _ = c.GetMedia(t.Context(), "x")

	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if out == "" {
		t.Fatal("expected debug logs")
	}
	for _, tok := range f.tokens() {
		if strings.Contains(out, tok) {
			t.Fatalf("log holds a token:\n%s", out)
		}
	}
	if strings.Contains(out, testSecret) || strings.Contains(out, "access_token=") || strings.Contains(out, "你好") {
		t.Fatalf("log holds a secret, URL or message body:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
