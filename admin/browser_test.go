package admin_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"safetybot/store/storetest"
)

// chromiumPath finds the browser: SAFETYBOT_TEST_CHROMIUM (set by .ci/run),
// else Debian's chromium. Without one the test skips, or fails when services
// are required (make test, CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SAFETYBOT_TEST_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("SAFETYBOT_TEST_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if storetest.Require() {
		t.Fatalf("no chromium found (set SAFETYBOT_TEST_CHROMIUM or apt-get install chromium) but %s=1: the browser test must run", storetest.EnvRequire)
	}
	t.Skip("browser test skipped: no chromium (apt-get install chromium, or set SAFETYBOT_TEST_CHROMIUM)")
	return ""
}

// browserCtx starts headless Chromium with the flags for root on a closed network.
func browserCtx(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser; it must not carry the test's timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(tcancel)
	return tctx
}

type barView struct {
	Text  string  `json:"text"`
	Value string  `json:"value"`
	Ratio float64 `json:"ratio"`
}

// readChart reads each bar as drawn: its label and the drawn length of the
// filled part against the track.
const readChart = `(() => {
  const out = {};
  document.querySelectorAll('#chart .trow').forEach(row => {
    const bars = {};
    row.querySelectorAll('.bar').forEach(b => {
      const fg = b.querySelector('rect.fg').getBoundingClientRect().width;
      const bg = b.querySelector('rect.bg').getBoundingClientRect().width;
      bars[b.dataset.metric] = {text: b.querySelector('.rate').textContent, value: b.dataset.value, ratio: bg ? fg / bg : -1};
    });
    out[row.dataset.township] = bars;
  });
  return out;
})()`

func TestBrowser(t *testing.T) {
	ctx := browserCtx(t)
	e := newEnv(t, "sqlite")
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// eval waits until the expression is true; a page being replaced by the
	// next one (a form submitted) is waited out too.
	eval := func(js string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %v", js, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Log in: a wrong token first.
	run("open the page", chromedp.Navigate(e.srv.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	run("wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text("#error"); !strings.Contains(msg, "管理口令不正确") {
		t.Fatalf("wrong token shows %q", msg)
	}
	run("log in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#chart")))

	// The chart shows the seeded campaign's numbers (see wantChart), drawn to scale.
	chart, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]map[string]barView](readChart))
	if err != nil {
		t.Fatal(err)
	}
	if len(chart) != len(wantChart) {
		t.Fatalf("chart rows = %v", chart)
	}
	for township, metrics := range wantChart {
		for metric, want := range metrics {
			got := chart[township][metric]
			f, _ := strconv.ParseFloat(want, 64)
			label := strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
			if got.Value != want || got.Text != label || math.Abs(got.Ratio-f) > 0.01 {
				t.Errorf("%s %s: shows %q (value %s), drawn at %.3f; want %s drawn at %s", township, metric, got.Text, got.Value, got.Ratio, label, want)
			}
		}
	}

	// Open a township: its four enterprises, then only those not signed.
	run("open 青石镇", chromedp.Click(chromedp.CSS(`#chart .trow[data-township="青石镇"] a.tname`)), chromedp.WaitVisible(chromedp.CSS("#enterprises")))
	if h := text("h1"); h != "青石镇的企业" {
		t.Fatalf("township page heading %q", h)
	}
	eval(`document.querySelectorAll('#enterprises tbody tr[data-code]').length === 4`)
	// Choosing a status submits the filter form (a few lines of the page's script).
	run("filter unsigned", chromedp.SetValue(chromedp.CSS(`select[name="status"]`), "unsigned"))
	eval(`location.search.includes('status=unsigned') && document.querySelectorAll('#enterprises tbody tr[data-code]').length === 2`)
	if rows := text("#enterprises tbody"); !strings.Contains(rows, "青石丙宾馆") || !strings.Contains(rows, "青石丁作坊") || strings.Contains(rows, "青石甲化工厂") {
		t.Errorf("unsigned enterprises of 青石镇:\n%s", rows)
	}

	// Upload a roster with a bad row: the error is listed, nothing imported.
	file := filepath.Join(t.TempDir(), "名册.csv")
	if err := os.WriteFile(file, []byte(badRoster()), 0o644); err != nil {
		t.Fatal(err)
	}
	run("upload roster", chromedp.Navigate(e.srv.URL+"/admin/roster"), chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}), chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#row-errors")))
	if errs := text("#row-errors"); !strings.Contains(errs, "第 3 行: 统一社会信用代码校验位错误") {
		t.Errorf("row errors: %q", errs)
	}
	if msg := text("#error"); !strings.Contains(msg, "未导入任何数据") {
		t.Errorf("upload message: %q", msg)
	}

	// Download the workbook and check its cells.
	dir := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	run("download", chromedp.Navigate(e.srv.URL+"/admin/reports"), chromedp.WaitVisible(chromedp.CSS("#downloads")),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			yes := true
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &yes})
			return err
		}),
		chromedp.Click(chromedp.CSS(`#downloads a[href="/admin/reports/summary.xlsx"]`)))
	var saved string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("download: %v", err)
		}
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatal("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			saved = filepath.Join(dir, ev.GUID)
			break
		}
	}
	f, err := excelize.OpenFile(saved)
	if err != nil {
		t.Fatalf("downloaded workbook: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); len(got) < 7 || got[0] != "汇总" || got[6] != "关闭取缔" {
		t.Errorf("sheets = %v", got)
	}
	rows, _ := f.GetRows("汇总")
	if len(rows) != 4 || rows[2][0] != "青石镇" || rows[2][1] != "4" || rows[2][4] != "50.00%" || rows[3][0] != "全市合计" || rows[3][1] != "7" {
		t.Errorf("汇总 = %v", rows)
	}
	if raw, _ := f.GetCellValue("汇总", "E4", excelize.Options{RawCellValue: true}); raw != "0.5714" {
		t.Errorf("city sign-off rate stored as %q, want 0.5714", raw)
	}

	// On a phone the progress page fits the screen width.
	run("phone", chromedp.EmulateViewport(375, 800), chromedp.Navigate(e.srv.URL+"/admin/"), chromedp.WaitVisible(chromedp.CSS("#chart")))
	eval(`document.documentElement.scrollWidth <= window.innerWidth + 1`)
	chart, err = chromedp.Run(ctx, chromedp.Evaluate[map[string]map[string]barView](readChart))
	if err != nil {
		t.Fatal(err)
	}
	if got := chart["青石镇"]["fix"]; math.Abs(got.Ratio-0.2857) > 0.01 {
		t.Errorf("on a phone the 青石镇 rectification bar is drawn at %.3f", got.Ratio)
	}
}
