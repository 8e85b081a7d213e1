package wecomsim_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"safetybot/wecomsim"
)

// fakeClock is a settable clock for TTLs and windows.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2024, 5, 29, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a simulator behind a real HTTP server.
type env struct {
	t     *testing.T
	sim   *wecomsim.Server
	hs    *httptest.Server
	clock *fakeClock
	cfg   wecomsim.Config
}

func newEnv(t *testing.T, cfg wecomsim.Config) *env {
	t.Helper()
	clock := newClock()
	if cfg.Clock == nil {
		cfg.Clock = clock.Now
	}
	sim := wecomsim.New(cfg)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	sim.SetBaseURL(hs.URL)
	return &env{t: t, sim: sim, hs: hs, clock: clock, cfg: sim.Config()}
}

// apiResp holds the fields any of the simulated APIs answer.
type apiResp struct {
	ErrCode      int             `json:"errcode"`
	ErrMsg       string          `json:"errmsg"`
	InvalidUser  json.RawMessage `json:"invaliduser"`
	InvalidParty string          `json:"invalidparty"`
	MsgID        string          `json:"msgid"`
	ResponseCode string          `json:"response_code"`
	AccessToken  string          `json:"access_token"`
	ExpiresIn    int             `json:"expires_in"`
	MediaID      string          `json:"media_id"`
	CreatedAt    json.RawMessage `json:"created_at"`
	Type         string          `json:"type"`
}

func (e *env) getToken() apiResp {
	e.t.Helper()
	q := url.Values{"corpid": {e.cfg.CorpID}, "corpsecret": {e.cfg.Secret}}
	r := e.do(http.MethodGet, "/cgi-bin/gettoken?"+q.Encode(), nil)
	if r.ErrCode != 0 {
		e.t.Fatalf("gettoken: %+v", r)
	}
	return r
}

func (e *env) token() string { return e.getToken().AccessToken }

// api calls path with a fresh (cached) token; body is a string, []byte or a value
// to marshal.
func (e *env) api(method, path string, body any) apiResp {
	e.t.Helper()
	return e.apiWith(e.token(), method, path, body)
}

func (e *env) apiWith(token, method, path string, body any) apiResp {
	e.t.Helper()
	sep := "?"
	if bytes.ContainsRune([]byte(path), '?') {
		sep = "&"
	}
	return e.do(method, path+sep+"access_token="+url.QueryEscape(token), body)
}

func (e *env) do(method, path string, body any) apiResp {
	e.t.Helper()
	res, raw := e.doRaw(method, path, body)
	var r apiResp
	if err := json.Unmarshal(raw, &r); err != nil {
		e.t.Fatalf("%s %s: HTTP %d, body %q: %v", method, path, res.StatusCode, raw, err)
	}
	return r
}

func (e *env) doRaw(method, path string, body any) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.hs.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.hs.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, raw
}

// send posts a message/send body.
func (e *env) send(body any) apiResp {
	e.t.Helper()
	return e.api(http.MethodPost, "/cgi-bin/message/send", body)
}

func textBody(to, content string) map[string]any {
	return map[string]any{"touser": to, "msgtype": "text", "agentid": 1000002, "text": map[string]string{"content": content}}
}

func wantErrCode(t *testing.T, r apiResp, code int) {
	t.Helper()
	if r.ErrCode != code {
		t.Fatalf("errcode = %d (%s), want %d", r.ErrCode, r.ErrMsg, code)
	}
}

// received is one callback as the test bot saw it.
type received struct {
	query   url.Values
	encrypt string
	plain   []byte
	at      time.Time
}

// testBot is a minimal WeCom callback endpoint written only with silenceper's
// util: it checks the signature, decrypts and records every callback.
type testBot struct {
	t                      *testing.T
	corpID, token, aesKeyS string

	mu     sync.Mutex
	got    []received
	status int                                // answer status (default 200)
	sleep  time.Duration                      // delay before answering
	reply  func(plain []byte) []byte          // plaintext passive reply, or nil
	wrap   func(enc, ts, nonce string) string // envelope override for the reply
	// replyCorpID overrides the receive id the reply is encrypted for.
	replyCorpID string
}

func newTestBot(t *testing.T, cfg wecomsim.Config) (*testBot, *httptest.Server) {
	b := &testBot{t: t, corpID: cfg.CorpID, token: cfg.Token, aesKeyS: cfg.EncodingAESKey, status: http.StatusOK}
	hs := httptest.NewServer(b)
	t.Cleanup(hs.Close)
	return b, hs
}

func (b *testBot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ts, nonce, sig := q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature")
	if r.Method == http.MethodGet {
		echo := q.Get("echostr")
		if util.Signature(b.token, ts, nonce, echo) != sig {
			b.t.Errorf("verify: bad signature")
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		_, plain, err := util.DecryptMsg(b.corpID, echo, b.aesKeyS)
		if err != nil {
			b.t.Errorf("verify: decrypt: %v", err)
			http.Error(w, "bad echostr", http.StatusBadRequest)
			return
		}
		_, _ = w.Write(plain)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var envl struct {
		ToUserName string `xml:"ToUserName"`
		AgentID    string `xml:"AgentID"`
		Encrypt    string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(raw, &envl); err != nil {
		b.t.Errorf("envelope: %v", err)
		http.Error(w, "bad xml", http.StatusBadRequest)
		return
	}
	if envl.ToUserName != b.corpID {
		b.t.Errorf("envelope ToUserName = %q", envl.ToUserName)
	}
	if util.Signature(b.token, ts, nonce, envl.Encrypt) != sig {
		b.t.Errorf("callback: bad signature")
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	_, plain, err := util.DecryptMsg(b.corpID, envl.Encrypt, b.aesKeyS)
	if err != nil {
		b.t.Errorf("callback: decrypt: %v", err)
		http.Error(w, "bad message", http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.got = append(b.got, received{query: q, encrypt: envl.Encrypt, plain: plain, at: time.Now()})
	status, sleep, reply, wrap := b.status, b.sleep, b.reply, b.wrap
	replyCorp := b.corpID
	if b.replyCorpID != "" {
		replyCorp = b.replyCorpID
	}
	b.mu.Unlock()
	if sleep > 0 {
		select {
		case <-time.After(sleep):
		case <-r.Context().Done():
			return
		}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	if reply == nil {
		return
	}
	rp := reply(plain)
	if rp == nil {
		return
	}
	enc, err := util.EncryptMsg([]byte("0123456789abcdef"), rp, replyCorp, b.aesKeyS)
	if err != nil {
		b.t.Errorf("reply encrypt: %v", err)
		return
	}
	rts, rnonce := strconv.FormatInt(time.Now().Unix(), 10), "424242"
	if wrap != nil {
		_, _ = w.Write([]byte(wrap(string(enc), rts, rnonce)))
		return
	}
	_, _ = fmt.Fprintf(w, "<xml><Encrypt><![CDATA[%s]]></Encrypt><MsgSignature><![CDATA[%s]]></MsgSignature><TimeStamp>%s</TimeStamp><Nonce><![CDATA[%s]]></Nonce></xml>",
		enc, util.Signature(b.token, rts, rnonce, string(enc)), rts, rnonce)
}

func (b *testBot) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.got...)
}

func (b *testBot) set(f func(b *testBot)) {
	b.mu.Lock()
	f(b)
	b.mu.Unlock()
}

// inbound is the decrypted callback plaintext, parsed.
type inbound struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
	MsgID        int64  `xml:"MsgId"`
	AgentID      int64  `xml:"AgentID"`
	PicURL       string `xml:"PicUrl"`
	MediaID      string `xml:"MediaId"`
	LocationX    string `xml:"Location_X"`
	LocationY    string `xml:"Location_Y"`
	Label        string `xml:"Label"`
	Event        string `xml:"Event"`
	EventKey     string `xml:"EventKey"`
	TaskID       string `xml:"TaskId"`
	CardType     string `xml:"CardType"`
	ResponseCode string `xml:"ResponseCode"`
	Selected     []struct {
		QuestionKey string   `xml:"QuestionKey"`
		OptionIDs   []string `xml:"OptionIds>OptionId"`
	} `xml:"SelectedItems>SelectedItem"`
}

func parseInbound(t *testing.T, plain []byte) inbound {
	t.Helper()
	var in inbound
	if err := xml.Unmarshal(plain, &in); err != nil {
		t.Fatalf("plaintext %q: %v", plain, err)
	}
	return in
}

// newHandlerServer serves h on a test server and returns its URL.
func newHandlerServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
