package wecom_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testCorp    = "ww-test-corp"
	testSecret  = "s3cr3t-app-secret-value"
	testAgentID = 1000002
)

// fakeWeCom plays the WeCom paths the client uses. Tokens are issued by
// gettoken and can be revoked; handlers per API can be replaced by a test.
type fakeWeCom struct {
	t   *testing.T
	srv *httptest.Server

	tokenCalls atomic.Int32
	tokenDelay time.Duration
	tokenErr   atomic.Int32 // errcode gettoken answers with, 0 = issue a token
	rejectCode int          // errcode for a revoked token (default 42001)

	mu       sync.Mutex
	issued   []string
	valid    map[string]bool
	bodies   map[string][][]byte   // api → raw request bodies, accepted or not
	queries  map[string][]string   // api → raw query strings
	handlers map[string]apiHandler // api → override
	calls    map[string]int        // api → calls that passed the token check
}

// apiHandler answers an API call whose token was accepted.
type apiHandler func(w http.ResponseWriter, r *http.Request, body []byte)

func newFake(t *testing.T) *fakeWeCom {
	f := &fakeWeCom{
		t:          t,
		rejectCode: 42001,
		valid:      map[string]bool{},
		bodies:     map[string][][]byte{},
		queries:    map[string][]string{},
		handlers:   map[string]apiHandler{},
		calls:      map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWeCom) on(api string, h apiHandler) {
	f.mu.Lock()
	f.handlers[api] = h
	f.mu.Unlock()
}

// revokeAll makes every issued token invalid, as WeCom does on early expiry.
func (f *fakeWeCom) revokeAll() {
	f.mu.Lock()
	f.valid = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakeWeCom) tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

func (f *fakeWeCom) requestBodies(api string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.bodies[api]...)
}

func (f *fakeWeCom) callCount(api string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[api]
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeWeCom) serve(w http.ResponseWriter, r *http.Request) {
	api, ok := strings.CutPrefix(r.URL.Path, "/cgi-bin/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies[api] = append(f.bodies[api], body)
	f.queries[api] = append(f.queries[api], r.URL.RawQuery)
	f.mu.Unlock()

	q := r.URL.Query()
	if api == "gettoken" {
		n := f.tokenCalls.Add(1)
		time.Sleep(f.tokenDelay)
		if q.Get("corpid") != testCorp || q.Get("corpsecret") != testSecret {
			writeJSON(w, map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
			return
		}
		if code := f.tokenErr.Load(); code != 0 {
			writeJSON(w, map[string]any{"errcode": code, "errmsg": "gettoken failed"})
			return
		}
		tok := fmt.Sprintf("ACCESS-TOKEN-%d-%s", n, strings.Repeat("x", 24))
		f.mu.Lock()
		f.issued = append(f.issued, tok)
		f.valid[tok] = true
		f.mu.Unlock()
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": 7200})
		return
	}

	tok := q.Get("access_token")
	f.mu.Lock()
	valid := f.valid[tok]
	h := f.handlers[api]
	if valid {
		f.calls[api]++
	}
	f.mu.Unlock()
	switch {
	case tok == "":
		writeJSON(w, map[string]any{"errcode": 41001, "errmsg": "access_token missing"})
		return
	case !valid:
		writeJSON(w, map[string]any{"errcode": f.rejectCode, "errmsg": "access_token expired, hint: [" + tok + "]"})
		return
	}
	if h != nil {
		h(w, r, body)
		return
	}
	switch api {
	case "message/send":
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": "msg-1"})
	default:
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	}
}
