package admin_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"safetybot/admin"
	"safetybot/report/reporttest"
	"safetybot/store"
	"safetybot/store/storetest"
)

const token = "s3cret-admin-token"

// env is a seeded store behind the admin page on a local test server.
type env struct {
	t     *testing.T
	s     *store.Store
	clock *reporttest.Clock
	fx    *reporttest.Fixture
	dir   string
	srv   *httptest.Server
	ids   map[string]int64
	woken int
}

// newEnv seeds the hand-made campaign (reporttest.Small) into a fresh store of
// the dialect and serves /admin/ for it.
func newEnv(t *testing.T, dialect string) *env {
	t.Helper()
	e := &env{t: t, fx: reporttest.Small(), dir: t.TempDir()}
	e.clock = reporttest.NewClock(e.fx.Now)
	e.s = storetest.New(t, dialect, storetest.Options{Clock: e.clock})
	e.ids = reporttest.Seed(t, e.s, e.clock, e.dir, e.fx)
	mux := http.NewServeMux()
	mux.Handle("/admin/", admin.New(admin.Deps{Store: e.s, Token: token, PublicURL: "http://127.0.0.1", Location: reporttest.Location,
		DataDir: e.dir, Clock: e.clock, WakeSender: func() { e.woken++ }}))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// client is a browser-like client with a cookie jar that does not follow redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login logs c in and fails the test otherwise.
func (e *env) login(c *http.Client) {
	e.t.Helper()
	res := e.post(c, "/admin/login", url.Values{"token": {token}, "next": {"/admin/"}})
	if res.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: %d %s", res.StatusCode, body(res))
	}
	res.Body.Close()
}

func (e *env) get(c *http.Client, path string) *http.Response {
	e.t.Helper()
	res, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) post(c *http.Client, path string, form url.Values) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func (e *env) csrf(c *http.Client, path string) string {
	e.t.Helper()
	m := csrfRe.FindStringSubmatch(body(e.get(c, path)))
	if m == nil {
		e.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

func body(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// badRoster is an enterprise roster with one good row and one row whose
// credit code has a wrong check character.
func badRoster() string {
	good := reporttest.Code(500)
	bad := reporttest.Code(501)
	bad = bad[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", bad[17])+1)%31])
	return "credit_code,name,township,sector,category,small_place_type,key_unit,principal_name,principal_userid,safety_officer_userid,phone,address,last_inspected\n" +
		fmt.Sprintf("%s,青石新开小吃店,青石镇,餐饮,九小场所,小餐饮,否,新老板,newboss,,13300000000,青石镇新街1号,\n", good) +
		fmt.Sprintf("%s,青石错码商店,青石镇,零售,九小场所,小商店,否,错老板,badboss,,13300000001,青石镇新街2号,\n", bad)
}
