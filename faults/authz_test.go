package faults

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot/app"
	"safetybot/config"
	"safetybot/handlers"
	"safetybot/store/storetest"
	"safetybot/wecomsim"
)

// endpoint is one route pattern registered by app or admin.
type endpoint struct {
	method, path string // method "" = any
	file         string
}

// routePatterns reads every pattern passed to Handle / HandleFunc in the app
// and admin packages' sources, so that an endpoint added later is covered (or,
// outside /api/ and /admin/, must be classified below).
func routePatterns(t *testing.T) []endpoint {
	t.Helper()
	re := regexp.MustCompile(`\.Handle(?:Func)?\(\s*"([^"]+)"`)
	var out []endpoint
	for _, dir := range []string{"../app", "../admin"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				method, path, ok := strings.Cut(m[1], " ")
				if !ok {
					method, path = "", m[1]
				}
				out = append(out, endpoint{method: method, path: path, file: filepath.Base(f)})
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d route patterns in app/ and admin/", len(out))
	}
	return out
}

// concrete fills a pattern's wildcards.
func concrete(path string) string {
	r := strings.NewReplacer("{$}", "", "{id}", "1", "{sha}", strings.Repeat("0", 64), "{file}", "summary.xlsx")
	p := r.Replace(path)
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(p, "x")
}

// authzApp starts one replica in production mode (WeCom settings given, so no
// built-in simulator) with an admin token, on SQLite.
func authzApp(t *testing.T) (base, token string, a *app.App) {
	t.Helper()
	sim := wecomsim.New(wecomsim.Config{})
	ss := httptest.NewServer(sim)
	t.Cleanup(ss.Close)
	sc := sim.Config()
	cfg := config.Defaults()
	cfg.DatabaseURL = storetest.URL(t, "sqlite")
	cfg.DataDir = t.TempDir()
	cfg.CorpID, cfg.Secret, cfg.AgentID = sc.CorpID, sc.Secret, strconv.FormatInt(sc.AgentID, 10)
	cfg.Token, cfg.AESKey, cfg.APIBase = sc.Token, sc.EncodingAESKey, ss.URL
	b := make([]byte, 18)
	rand.Read(b)
	cfg.AdminToken = base64.RawURLEncoding.EncodeToString(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = ln.Addr().String()
	cfg.PublicURL = "http://" + ln.Addr().String()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opt := app.Options{Listener: ln, NoScheduler: true}
	a, err = app.New(ctx, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	a.Start(ctx, opt)
	t.Cleanup(func() {
		cancel()
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		a.Shutdown(sctx)
	})
	return a.URL(), cfg.AdminToken, a
}

type probe struct {
	status   int
	location string
	body     string
}

func do(t *testing.T, hc *http.Client, method, u string, hdr http.Header, form url.Values) probe {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return probe{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b)}
}

// refused reports whether an answer refuses access: 401/403, or a redirect to
// the admin login page.
func (p probe) refused() bool {
	return p.status == http.StatusUnauthorized || p.status == http.StatusForbidden ||
		((p.status == http.StatusSeeOther || p.status == http.StatusFound) && strings.HasPrefix(p.location, "/admin/login"))
}

// TestHTTPAuthorization probes every HTTP endpoint registered in app/ and
// admin/ (read from their sources) without credentials, with a wrong bearer
// token, with the right token in the query string (not a credential), with a
// forged admin session cookie and a wrong admin cookie: every /api/ and
// /admin/ endpoint (but the login page and static assets) refuses, and lets
// the request through with the right credential (bearer token for /api/, a
// login session for /admin/). The public endpoints answer without
// credentials; the callback refuses unsigned and wrongly signed requests; a
// submission page needs the admin token or its own signed link (a link of
// another submission does not open it); the simulator is not mounted in
// production.
func TestHTTPAuthorization(t *testing.T) {
	base, token, a := authzApp(t)
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// A session for the admin page: log in with the token.
	jar, _ := cookiejar.New(nil)
	admin := &http.Client{Timeout: 10 * time.Second, Jar: jar, CheckRedirect: noRedirect.CheckRedirect}
	if p := do(t, admin, "POST", base+"/admin/login", nil, url.Values{"token": {token}, "next": {"/admin/"}}); p.status != http.StatusSeeOther {
		t.Fatalf("admin login with the right token: %d %q", p.status, short(p.body))
	}
	if p := do(t, admin, "GET", base+"/admin/", nil, nil); p.status != http.StatusOK {
		t.Fatalf("admin page with a session: %d", p.status)
	}

	wrong := []struct {
		name string
		hdr  http.Header
		q    string
	}{
		{"no credentials", nil, ""},
		{"wrong bearer token", http.Header{"Authorization": {"Bearer not-" + token}}, ""},
		{"bearer token of another case", http.Header{"Authorization": {"Bearer " + strings.ToUpper(token)}}, ""},
		{"token in the query string", nil, "?token=" + url.QueryEscape(token) + "&access_token=" + url.QueryEscape(token)},
		{"forged admin session", http.Header{"Cookie": {"safetybot_admin_session=v1.9999999999.00.AAAA"}}, ""},
		{"wrong admin cookie", http.Header{"Cookie": {"safetybot_admin=not-" + token}}, ""},
		{"bare token without Bearer", http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:x"))}}, ""},
	}

	public := map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/letters/{id}": true, "/admin/login": true, "/admin/static/": true}
	var checked []string
	for _, ep := range routePatterns(t) {
		methods := []string{ep.method}
		if ep.method == "" {
			methods = []string{"GET", "POST"}
		}
		for _, m := range methods {
			u := base + concrete(ep.path)
			name := strings.TrimSpace(m + " " + ep.path)
			switch {
			case ep.path == "/admin/login" && m == "POST":
				// Logging in: checked above (right token) and below (wrong token).
			case public[ep.path]:
				p := do(t, noRedirect, m, u, nil, nil)
				if p.refused() {
					t.Errorf("%s (%s) is public but refused a request without credentials: %d", name, ep.file, p.status)
				}
			case ep.path == "/wecom/callback":
				for _, q := range []string{"", "?msg_signature=0000&timestamp=" + strconv.FormatInt(time.Now().Unix(), 10) + "&nonce=1&echostr=abc"} {
					var form url.Values
					p := do(t, noRedirect, m, u+q, nil, form)
					if p.status != http.StatusBadRequest && p.status != http.StatusForbidden {
						t.Errorf("%s%s without a valid signature: %d, want 400 or 403", name, q, p.status)
					}
				}
				p := do(t, noRedirect, m, u+"?msg_signature=0000&timestamp="+strconv.FormatInt(time.Now().Unix(), 10)+"&nonce=1",
					http.Header{"Content-Type": {"text/xml"}}, nil)
				if p.status == http.StatusOK {
					t.Errorf("%s with a wrong signature was accepted", name)
				}
			case ep.path == "/_sim/":
				if p := do(t, noRedirect, m, u+"sim/messages", nil, nil); p.status != http.StatusNotFound && !p.refused() {
					t.Errorf("the simulator is reachable in production mode: %s → %d", u, p.status)
				}
			case strings.HasPrefix(ep.path, "/submissions/"):
				for _, w := range wrong {
					if p := do(t, noRedirect, m, u+w.q, w.hdr, nil); !p.refused() && p.status != http.StatusNotFound {
						t.Errorf("%s with %s: %d, want 401/403", name, w.name, p.status)
					}
				}
				if p := do(t, noRedirect, m, u+"?sig=AAAA", nil, nil); !p.refused() {
					t.Errorf("%s with a forged link signature: %d, want 403", name, p.status)
				}
				key, err := handlers.SubmissionLinkKey(context.Background(), a.Store)
				if err != nil {
					t.Fatal(err)
				}
				if p := do(t, noRedirect, m, u+"?sig="+handlers.SubmissionSig(key, 2), nil, nil); !p.refused() {
					t.Errorf("%s opened with the signed link of submission 2: %d", name, p.status)
				}
				if p := do(t, noRedirect, m, u+"?sig="+handlers.SubmissionSig(key, 1), nil, nil); p.refused() {
					t.Errorf("%s refused its own signed link: %d", name, p.status)
				}
				if p := do(t, noRedirect, m, u, http.Header{"Authorization": {"Bearer " + token}}, nil); p.refused() {
					t.Errorf("%s refused the admin token: %d", name, p.status)
				}
			case strings.HasPrefix(ep.path, "/photos/"):
				// Signed, expiring links only: no token or cookie opens them.
				for _, w := range wrong {
					if p := do(t, noRedirect, m, u+w.q, w.hdr, nil); !p.refused() {
						t.Errorf("%s with %s: %d, want 403", name, w.name, p.status)
					}
				}
				if p := do(t, noRedirect, m, u, http.Header{"Authorization": {"Bearer " + token}}, nil); !p.refused() {
					t.Errorf("%s opened with the admin token instead of a signed link: %d", name, p.status)
				}
				key, err := handlers.PhotoLinkKey(context.Background(), a.Store)
				if err != nil {
					t.Fatal(err)
				}
				sha, later := strings.Repeat("0", 64), time.Now().Add(time.Hour).Unix()
				link := func(sha string, exp int64) string {
					return fmt.Sprintf("?exp=%d&sig=%s", exp, handlers.PhotoSig(key, sha, exp))
				}
				if p := do(t, noRedirect, m, u+fmt.Sprintf("?exp=%d&sig=AAAA", later), nil, nil); !p.refused() {
					t.Errorf("%s with a forged link signature: %d, want 403", name, p.status)
				}
				if p := do(t, noRedirect, m, u+link(strings.Repeat("1", 64), later), nil, nil); !p.refused() {
					t.Errorf("%s opened with another photo's signed link: %d", name, p.status)
				}
				if p := do(t, noRedirect, m, u+link(sha, time.Now().Add(-time.Minute).Unix()), nil, nil); p.status != http.StatusGone {
					t.Errorf("%s with an expired signed link: %d, want 410", name, p.status)
				}
				if p := do(t, noRedirect, m, u+link(sha, later), nil, nil); p.refused() {
					t.Errorf("%s refused its own signed link: %d", name, p.status)
				}
			case strings.HasPrefix(ep.path, "/api/"):
				for _, w := range wrong {
					p := do(t, noRedirect, m, u+w.q, w.hdr, nil)
					if p.status != http.StatusUnauthorized {
						t.Errorf("%s with %s: %d %q, want 401", name, w.name, p.status, short(p.body))
					}
				}
				if p := do(t, noRedirect, m, u, http.Header{"Authorization": {"Bearer " + token}}, nil); p.refused() {
					t.Errorf("%s refused the right bearer token: %d %q", name, p.status, short(p.body))
				}
			case strings.HasPrefix(ep.path, "/admin/"):
				for _, w := range wrong {
					p := do(t, noRedirect, m, u+w.q, w.hdr, nil)
					if !p.refused() && p.status != http.StatusNotFound {
						t.Errorf("%s with %s: %d %q, want 401/403 or the login page", name, w.name, p.status, short(p.body))
					}
				}
				// With a session the guard lets the request through (a form post
				// without its CSRF token is then refused 403 by the form check,
				// never sent to log in again).
				if p := do(t, admin, m, u, nil, nil); p.status == http.StatusUnauthorized || strings.HasPrefix(p.location, "/admin/login") {
					t.Errorf("%s refused a logged-in session: %d", name, p.status)
				}
			default:
				t.Errorf("%s (%s) is not classified: add it to TestHTTPAuthorization as public, signed or admin-only", name, ep.file)
				continue
			}
			checked = append(checked, name)
		}
	}
	// A wrong token at the login page sets no session.
	p := do(t, noRedirect, "POST", base+"/admin/login", nil, url.Values{"token": {"not-" + token}})
	if p.status != http.StatusUnauthorized && p.status != http.StatusTooManyRequests {
		t.Errorf("admin login with a wrong token: %d", p.status)
	}
	sort.Strings(checked)
	t.Logf("%d endpoint × method pairs probed with %d kinds of wrong credentials: %s", len(checked), len(wrong), strings.Join(checked, ", "))
}

var _ = fmt.Sprint
