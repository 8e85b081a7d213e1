package admin_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"safetybot/admin"
	"safetybot/report/reporttest"
	"safetybot/store/storetest"
)

func TestLogin(t *testing.T) {
	e := newEnv(t, "sqlite")
	c := e.client()

	res := e.get(c, "/admin/hazards?status=逾期")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/admin/login?next=") {
		t.Fatalf("anonymous page view: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res.Body.Close()

	t.Run("wrong token, then backoff", func(t *testing.T) {
		res := e.post(c, "/admin/login", url.Values{"token": {"guess1"}})
		if b := body(res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "管理口令不正确") || strings.Contains(b, "秒后再试") {
			t.Fatalf("first wrong token: %d\n%s", res.StatusCode, b)
		}
		res = e.post(c, "/admin/login", url.Values{"token": {"guess2"}})
		if b := body(res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(b, "请 1 秒后再试") {
			t.Fatalf("second wrong token: %d\n%s", res.StatusCode, b)
		}
		// Even the right token waits out the delay.
		res = e.post(c, "/admin/login", url.Values{"token": {token}})
		if b := body(res); res.StatusCode != http.StatusTooManyRequests || !strings.Contains(b, "口令错误次数过多") || res.Header.Get("Retry-After") != "1" {
			t.Fatalf("during backoff: %d %q\n%s", res.StatusCode, res.Header.Get("Retry-After"), b)
		}
		e.clock.Set(e.clock.Now().Add(1100 * time.Millisecond))
		res = e.post(c, "/admin/login", url.Values{"token": {"guess3"}})
		if b := body(res); !strings.Contains(b, "请 2 秒后再试") {
			t.Fatalf("third wrong token: the delay does not grow:\n%s", b)
		}
		e.clock.Set(e.clock.Now().Add(2100 * time.Millisecond))
	})

	res = e.post(c, "/admin/login", url.Values{"token": {token}, "next": {"/admin/hazards"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/hazards" {
		t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == admin.SessionCookie {
			ck = k
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/admin/" || ck.Secure || strings.Contains(ck.Value, token) {
		t.Fatalf("session cookie = %+v", ck)
	}
	if res := e.get(c, "/admin/"); res.StatusCode != http.StatusOK {
		t.Fatalf("after login: %d", res.StatusCode)
	}

	t.Run("an outside redirect is refused", func(t *testing.T) {
		res := e.post(e.client(), "/admin/login", url.Values{"token": {token}, "next": {"//evil.example/"}})
		if res.Header.Get("Location") != "/admin/" {
			t.Errorf("next=//evil.example/ redirected to %q", res.Header.Get("Location"))
		}
	})
	t.Run("secure cookie over https", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		res, err := e.client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if cs := res.Cookies(); len(cs) != 1 || !cs[0].Secure {
			t.Errorf("cookies over https: %+v", cs)
		}
	})
	t.Run("logout", func(t *testing.T) {
		c := e.client()
		e.login(c)
		csrf := e.csrf(c, "/admin/")
		res := e.post(c, "/admin/logout", url.Values{"csrf": {csrf}})
		if b := body(res); res.StatusCode != http.StatusOK || !strings.Contains(b, "已退出登录") {
			t.Fatalf("logout: %d %s", res.StatusCode, b)
		}
		if res := e.get(c, "/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("after logout: %d", res.StatusCode)
		}
	})
	t.Run("session expires", func(t *testing.T) {
		c := e.client()
		e.login(c)
		e.clock.Set(e.clock.Now().Add(13 * time.Hour))
		defer e.clock.Set(e.fx.Now)
		if res := e.get(c, "/admin/"); res.StatusCode != http.StatusSeeOther {
			t.Errorf("13 hours later: %d", res.StatusCode)
		}
	})
	t.Run("no token configured", func(t *testing.T) {
		srv := httptest.NewServer(admin.New(admin.Deps{Store: e.s}))
		defer srv.Close()
		res, err := http.PostForm(srv.URL+"/admin/login", url.Values{"token": {""}})
		if err != nil {
			t.Fatal(err)
		}
		if b := body(res); res.StatusCode != http.StatusForbidden || !strings.Contains(b, "管理口令未设置") {
			t.Errorf("no token: %d %s", res.StatusCode, b)
		}
	})
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, "sqlite")
	c := e.client()
	e.login(c)
	form := url.Values{"text": {"请注意防汛"}, "group": {"principals"}, "action": {"send"}}
	if res := e.post(c, "/admin/notice", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("post without csrf: %d", res.StatusCode)
	}
	other := e.client()
	e.login(other)
	form.Set("csrf", e.csrf(other, "/admin/notice"))
	if res := e.post(c, "/admin/notice", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("post with another session's token: %d", res.StatusCode)
	}
	form.Set("csrf", e.csrf(c, "/admin/notice"))
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/notice", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "http://evil.example")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site post: %d", res.StatusCode)
	}
	var n int
	e.s.DB().Get(&n, `SELECT COUNT(*) FROM notices`)
	if n != 0 {
		t.Errorf("%d notices sent by forged posts", n)
	}
}

func TestPhotoAccess(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := "/admin/photos/" + e.fx.SHA("a")
	if res := e.get(e.client(), a); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous photo: %d", res.StatusCode)
	}
	c := e.client()
	e.login(c)
	res := e.get(c, a)
	if b := body(res); res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/png" || b != string(e.fx.Photos["a"]) {
		t.Errorf("photo a: %d %q, %d bytes", res.StatusCode, res.Header.Get("Content-Type"), len(b))
	}
	// A file with a valid name that is not a picture is not served.
	notImage := strings.Repeat("0f", 32)
	os.MkdirAll(filepath.Join(e.dir, "photos", "0f"), 0o755)
	os.WriteFile(filepath.Join(e.dir, "photos", "0f", notImage), []byte("<html><script>alert(1)</script>"), 0o644)
	os.WriteFile(filepath.Join(e.dir, "secret.txt"), []byte("secret"), 0o644)
	for _, p := range []string{
		"/admin/photos/" + e.fx.SHA("c"),                  // its file is missing
		"/admin/photos/" + strings.ToUpper(e.fx.SHA("a")), // not the canonical name
		"/admin/photos/" + notImage,
		"/admin/photos/..%2F..%2Fsecret.txt",
		"/admin/photos/%2e%2e%2fsecret.txt",
		"/admin/photos/" + e.fx.SHA("a")[:63],
		"/admin/photos/" + e.fx.SHA("a") + "%00",
	} {
		res := e.get(c, p)
		if b := body(res); res.StatusCode == http.StatusOK || strings.Contains(b, "secret") || strings.Contains(b, "alert") {
			t.Errorf("GET %s: %d %q", p, res.StatusCode, b)
		}
	}
}

var barRe = regexp.MustCompile(`(?s)<div class="trow[^"]*" data-township="([^"]+)">.*?</div>\s*</div>\s*</div>`)
var metricRe = regexp.MustCompile(`data-metric="(\w+)" data-value="([0-9.]+)"`)

// chart reads the bar values per township from the progress page.
func chart(page string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, m := range barRe.FindAllStringSubmatch(page, -1) {
		out[m[1]] = map[string]string{}
		for _, v := range metricRe.FindAllStringSubmatch(m[0], -1) {
			out[m[1]][v[1]] = v[2]
		}
	}
	return out
}

// wantChart is the progress of the hand-made campaign, worked out in
// report.TestSummarySmall: sign-off, this month's self-inspection, rectification.
var wantChart = map[string]map[string]string{
	"青石镇":  {"sign": "0.5", "self": "0.5", "fix": "0.2857"},
	"白沙镇":  {"sign": "0.6667", "self": "0.3333", "fix": "1"},
	"全市合计": {"sign": "0.5714", "self": "0.4286", "fix": "0.375"},
}

func TestPages(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newEnv(t, d)
			c := e.client()
			e.login(c)
			page := body(e.get(c, "/admin/"))
			if got := chart(page); fmt.Sprint(got) != fmt.Sprint(wantChart) {
				t.Errorf("chart = %v, want %v", got, wantChart)
			}
			if !strings.Contains(page, `href="/admin/enterprises?t=%E9%9D%92%E7%9F%B3%E9%95%87"`) {
				t.Error("township link missing")
			}
			codes := func(path string) []string {
				t.Helper()
				res := e.get(c, path)
				if res.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d", path, res.StatusCode)
				}
				var out []string
				for _, m := range regexp.MustCompile(`<tr data-code="([0-9A-Z]+)">`).FindAllStringSubmatch(body(res), -1) {
					out = append(out, m[1])
				}
				slices.Sort(out)
				return out
			}
			a1, a2, a3, a4 := reporttest.Code(1), reporttest.Code(2), reporttest.Code(3), reporttest.Code(4)
			for path, want := range map[string][]string{
				"/admin/enterprises?t=青石镇":                      {a1, a2, a3, a4},
				"/admin/enterprises?t=青石镇&status=unsigned":      {a3, a4},
				"/admin/enterprises?t=青石镇&key=1":                {a1, a3},
				"/admin/enterprises?t=青石镇&status=nosub":         {a3, a4},
				"/admin/enterprises?t=青石镇&status=overdue":       {a1},
				"/admin/enterprises?status=noinsp2y":            {a2, a4},
				"/admin/enterprises?q=乙超":                       {a2},
				"/admin/enterprises?q=" + strings.ToLower(a3):   {a3},
				"/admin/enterprises?category=五小企业&t=青石镇":        {a1},
				"/admin/enterprises?t=白沙镇&status=uninspected":   {reporttest.Code(13)},
				"/admin/enterprises?t=青石镇&status=open&key=0":    {a2},
				"/admin/enterprises?t=青石镇&q=不存在的企业&status=open": nil,
			} {
				if got := codes(path); !slices.Equal(got, want) {
					t.Errorf("%s: %v, want %v", path, got, want)
				}
			}
			if res := e.get(c, "/admin/enterprises?t=没有这个镇"); res.StatusCode != http.StatusNotFound {
				t.Errorf("unknown township: %d", res.StatusCode)
			}

			hz := body(e.get(c, "/admin/hazards?status=逾期"))
			if n := strings.Count(hz, "<tr data-id="); n != 1 || !strings.Contains(hz, "（逾期）") {
				t.Errorf("overdue hazards: %d rows", n)
			}
			var h1 int64
			e.s.DB().Get(&h1, e.s.DB().Rebind(`SELECT id FROM hazards WHERE description = ?`), "反应釜无泄压装置")
			hz = body(e.get(c, "/admin/hazards?q=反应釜"))
			if !strings.Contains(hz, `<img src="/admin/photos/`+e.fx.SHA("a")+`"`) {
				t.Errorf("hazard ledger lacks the thumbnail:\n%s", hz)
			}
			detail := body(e.get(c, fmt.Sprintf("/admin/hazards/%d", h1)))
			for _, w := range []string{"待整改 → 整改中", "整改中 → 待复查", "待复查 → 已销号", "复查合格", `/admin/photos/` + e.fx.SHA("b"), "2026-08-10"} {
				if !strings.Contains(detail, w) {
					t.Errorf("hazard page lacks %q", w)
				}
			}
			if res := e.get(c, "/admin/hazards/999999"); res.StatusCode != http.StatusNotFound {
				t.Errorf("unknown hazard: %d", res.StatusCode)
			}
		})
	}
}

// upload posts a roster file.
func (e *env) upload(c *http.Client, csrf, name, content string, fields map[string]string) *http.Response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", name)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/admin/roster", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func TestRosterUpload(t *testing.T) {
	e := newEnv(t, "sqlite")
	c := e.client()
	e.login(c)
	csrf := e.csrf(c, "/admin/roster")
	count := func() int {
		var n int
		e.s.DB().Get(&n, `SELECT COUNT(*) FROM enterprises`)
		return n
	}
	before := count()
	res := e.upload(c, csrf, "名册.csv", badRoster(), nil)
	b := body(res)
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, "第 3 行: 统一社会信用代码校验位错误") || !strings.Contains(b, "未导入任何数据") {
		t.Fatalf("bad roster: %d\n%s", res.StatusCode, b)
	}
	if count() != before {
		t.Fatal("a roster with a bad row was imported")
	}
	res = e.upload(c, csrf, "名册.csv", badRoster(), map[string]string{"skip_invalid": "1"})
	b = body(res)
	if res.StatusCode != http.StatusOK || !strings.Contains(b, "新增 1") || !strings.Contains(b, "第 3 行") {
		t.Fatalf("skip invalid: %d\n%s", res.StatusCode, b)
	}
	if count() != before+1 {
		t.Fatalf("enterprises: %d, want %d", count(), before+1)
	}
	// The progress page counts the new enterprise at once.
	if !strings.Contains(body(e.get(c, "/admin/enterprises?t=青石镇")), "青石新开小吃店") {
		t.Error("the imported enterprise is not listed")
	}
	res = e.upload(c, csrf, "名册.xlsx", "not a workbook", nil)
	if b := body(res); res.StatusCode != http.StatusBadRequest || !strings.Contains(b, "不是 Excel 文件") {
		t.Errorf("broken xlsx: %d\n%s", res.StatusCode, b)
	}
}

func TestLetterAndNotice(t *testing.T) {
	e := newEnv(t, "sqlite")
	c := e.client()
	e.login(c)
	csrf := e.csrf(c, "/admin/letter")
	form := url.Values{"csrf": {csrf}, "title": {"致白沙镇企业的一封信"}, "body": {"# 公开信\n\n请**落实**主体责任。"}, "township": {"白沙镇"}, "action": {"preview"}}
	b := body(e.post(c, "/admin/letter", form))
	if !strings.Contains(b, `将发给 <b>3</b> 家企业的 <b>3</b> 位主要负责人`) || !strings.Contains(b, "<strong>落实</strong>") && !strings.Contains(b, "**落实**") {
		t.Fatalf("letter preview:\n%s", b)
	}
	form.Del("township")
	if b := body(e.post(c, "/admin/letter", form)); !strings.Contains(b, `将发给 <b>7</b> 家企业的 <b>7</b> 位主要负责人`) {
		t.Errorf("letter preview for all: %s", b)
	}
	form.Set("township", "白沙镇")
	form.Set("action", "send")
	b = body(e.post(c, "/admin/letter", form))
	if !strings.Contains(b, "公开信已发出：3 家企业、3 位主要负责人") || e.woken != 1 {
		t.Fatalf("send letter (woken %d):\n%s", e.woken, b)
	}
	var letters, outbox int
	e.s.DB().Get(&letters, `SELECT COUNT(*) FROM letters`)
	e.s.DB().Get(&outbox, `SELECT COUNT(*) FROM outbox`)
	if letters != 3 || outbox == 0 {
		t.Errorf("letters %d, outbox %d", letters, outbox)
	}

	nf := url.Values{"csrf": {csrf}, "text": {"请于本周五前完成本月自查。"}, "group": {"township:白沙镇"}, "action": {"preview"}}
	if b := body(e.post(c, "/admin/notice", nf)); !strings.Contains(b, `将发给 <b>4</b> 人`) {
		t.Errorf("notice preview (3 principals and the township leader):\n%s", b)
	}
	nf.Set("group", "township:没有这个镇")
	if b := body(e.post(c, "/admin/notice", nf)); !strings.Contains(b, "没有名为“没有这个镇”的镇街") {
		t.Errorf("bad group: %s", b)
	}
	nf.Set("group", "key-units")
	nf.Set("action", "send")
	if b := body(e.post(c, "/admin/notice", nf)); !strings.Contains(b, "通知已发出：3 人") {
		t.Errorf("send notice:\n%s", b)
	}
}

func TestDownloads(t *testing.T) {
	e := newEnv(t, "sqlite")
	if res := e.get(e.client(), "/admin/reports/summary.xlsx"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous download: %d", res.StatusCode)
	}
	c := e.client()
	e.login(c)
	page := body(e.get(c, "/admin/reports"))
	get := func(file string) []byte {
		t.Helper()
		res := e.get(c, "/admin/reports/"+file)
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("%s: %d %q", file, res.StatusCode, res.Header.Get("Content-Disposition"))
		}
		if !strings.Contains(page, `href="/admin/reports/`+strings.SplitN(file, "?", 2)[0]+`"`) {
			t.Errorf("the reports page does not offer %s", file)
		}
		return []byte(body(res))
	}
	f, err := excelize.OpenReader(bytes.NewReader(get("summary.xlsx")))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("汇总")
	if len(rows) != 4 || rows[2][0] != "青石镇" || rows[2][1] != "4" || rows[3][0] != "全市合计" || rows[3][1] != "7" {
		t.Errorf("汇总 = %v", rows)
	}
	f.Close()
	zr, err := zip.NewReader(bytes.NewReader(get("photos.zip")), int64(len(get("photos.zip"))))
	if err != nil || len(zr.File) != 3 {
		t.Errorf("photos.zip: %v, %d files", err, len(zr.File))
	}
	if !bytes.HasPrefix(get("campaign.docx"), []byte("PK")) || !bytes.Contains(get("campaign.html"), []byte("重大隐患整改案例")) {
		t.Error("campaign summary downloads")
	}
	if b := get("hazards.csv"); !bytes.Contains(b, []byte("反应釜无泄压装置")) {
		t.Error("hazards.csv lacks the ledger")
	}
	if b := get("letters.csv"); !bytes.Contains(b, []byte("青石丙宾馆")) {
		t.Error("letters.csv lacks the unsigned enterprise")
	}
	if res := e.get(c, "/admin/reports/summary.xlsx?t=白沙镇"); res.StatusCode == http.StatusOK {
		f, _ := excelize.OpenReader(res.Body)
		rows, _ := f.GetRows("汇总")
		if len(rows) != 3 || rows[1][0] != "白沙镇" {
			t.Errorf("白沙镇 summary = %v", rows)
		}
	}
	if res := e.get(c, "/admin/reports/photos.zip?t=没有这个镇"); res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Disposition") != "" ||
		!strings.Contains(body(res), "没有名为“没有这个镇”的镇街") {
		t.Errorf("photos.zip for an unknown township: %d %q", res.StatusCode, res.Header.Get("Content-Disposition"))
	}
	if res := e.get(c, "/admin/reports/passwd"); res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown report: %d", res.StatusCode)
	}
}
