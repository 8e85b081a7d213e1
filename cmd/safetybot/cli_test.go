package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"safetybot"
	"safetybot/e2e"
	"safetybot/roster"
	"safetybot/store"
	"safetybot/store/storetest"
)

// cli runs the safetybot command in-process against one database.
type cli struct {
	t   *testing.T
	env map[string]string
	dir string
}

func newCLI(t *testing.T, databaseURL string) *cli {
	return &cli{t: t, dir: t.TempDir(), env: map[string]string{
		"SAFETYBOT_DATABASE_URL": databaseURL,
		"SAFETYBOT_PUBLIC_URL":   "https://bot.example",
	}}
}

type result struct {
	code           int
	stdout, stderr string
}

// in returns a copy of c that reports to t (a subtest).
func (c *cli) in(t *testing.T) *cli {
	cc := *c
	cc.t = t
	return &cc
}

// sqliteCLI runs against a fresh SQLite file.
func sqliteCLI(t *testing.T) *cli { return newCLI(t, storetest.URL(t, "sqlite")) }

func (c *cli) run(args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(k string) string { return c.env[k] }}
	code := run(context.Background(), e, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// ok runs and fails the test unless the command exits 0.
func (c *cli) ok(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("safetybot %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs and checks the command exits non-zero with its last stderr line
// starting "safetybot <command>: " and containing want.
func (c *cli) fails(wantCode int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != wantCode {
		c.t.Fatalf("safetybot %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "safetybot ") || !strings.Contains(last, want) {
		c.t.Errorf("safetybot %s: last stderr line %q, want a one-line error containing %q\nstderr: %s", strings.Join(args, " "), last, want, r.stderr)
	}
	return r
}

func (c *cli) file(name string, data []byte) string {
	c.t.Helper()
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// store opens the CLI's database for checks.
func (c *cli) store() *store.Store {
	c.t.Helper()
	s, err := store.Open(context.Background(), c.env["SAFETYBOT_DATABASE_URL"], store.Options{})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { s.Close() })
	return s
}

func code(n int) string {
	first := fmt.Sprintf("91320581MA%07d", n)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

var header = []string{"credit_code", "name", "township", "category", "small_place_type", "principal_name", "principal_userid", "safety_officer_userid"}

// rosterRows returns n enterprises spread over 青石镇 and 白沙镇; principal p1
// heads enterprises 1 and 2.
func rosterRows(n int) [][]string {
	recs := [][]string{header}
	for i := 1; i <= n; i++ {
		tw := "青石镇"
		if i%2 == 0 {
			tw = "白沙镇"
		}
		pid := fmt.Sprintf("p%d", i)
		if i == 2 {
			pid = "p1"
		}
		recs = append(recs, []string{code(i), fmt.Sprintf("测试企业%03d", i), tw, "一般企业", "", "负责人" + pid, pid, ""})
	}
	// p1's name must be the same on both of its rows.
	if n >= 2 {
		recs[2][5] = recs[1][5]
	}
	return recs
}

func csvData(t *testing.T, recs [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func xlsxData(t *testing.T, recs [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, rec := range recs {
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestCLIImport(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, storetest.URL(t, dialect))
			good := c.file("good.csv", csvData(t, rosterRows(6)))

			r := c.ok("import", "enterprises", good)
			if !strings.Contains(r.stdout, "共 6 行：新增 6, 更新 0, 未变 0") {
				t.Errorf("first import stdout = %q", r.stdout)
			}
			r = c.ok("import", "enterprises", good)
			if !strings.Contains(r.stdout, "新增 0, 更新 0, 未变 6") {
				t.Errorf("re-import stdout = %q", r.stdout)
			}

			changed := rosterRows(7)
			changed[3][1] = "测试企业003（改名）"
			changed = append(changed[:5], changed[6:]...) // enterprise 5 missing
			next := c.file("next.csv", csvData(t, changed))
			r = c.ok("import", "enterprises", "--dry-run", next)
			if !strings.Contains(r.stdout, "试运行") || !strings.Contains(r.stdout, "新增 1, 更新 1, 未变 4") {
				t.Errorf("dry run stdout = %q", r.stdout)
			}
			r = c.ok("import", "enterprises", next, "--deactivate-missing")
			if !strings.Contains(r.stdout, "新增 1, 更新 1, 未变 4, 停用 1") {
				t.Errorf("import with --deactivate-missing stdout = %q", r.stdout)
			}
			s := c.store()
			e5, err := s.FindEnterpriseByCode(context.Background(), code(5))
			if err != nil {
				t.Fatalf("enterprise 5 was deleted: %v", err)
			}
			if e5.Active {
				t.Error("enterprise 5 is still active after --deactivate-missing")
			}
		})
	}
}

func TestCLIImportFormats(t *testing.T) {
	recs := rosterRows(4)
	// Chinese headers in another order.
	zh := [][]string{{"负责人企业微信账号", "企业名称", "类别", "统一社会信用代码", "所属镇街", "主要负责人"}}
	for _, r := range recs[1:] {
		zh = append(zh, []string{r[6], r[1], r[3], r[0], r[2], r[5]})
	}
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(csvData(t, zh))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"roster.csv", csvData(t, recs)},
		{"bom.csv", append([]byte("\xEF\xBB\xBF"), csvData(t, recs)...)},
		{"gbk.csv", gbk},
		{"roster.xlsx", xlsxData(t, recs)},
		{"中文表头.xlsx", xlsxData(t, zh)},
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, storetest.URL(t, dialect))
			// The first file creates the roster; the same roster in every
			// other encoding and layout must then change nothing.
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					c := c.in(t)
					want := "新增 0, 更新 0, 未变 4"
					if i == 0 {
						want = "新增 4, 更新 0, 未变 0"
					}
					r := c.ok("import", "enterprises", c.file(tc.name, tc.data))
					if !strings.Contains(r.stdout, want) {
						t.Errorf("stdout = %q, want %q", r.stdout, want)
					}
					e, err := c.store().FindEnterpriseByCode(context.Background(), code(3))
					if err != nil || e.Name != "测试企业003" || e.Township != "青石镇" {
						t.Errorf("enterprise 3 = %+v, %v", e, err)
					}
				})
			}
		})
	}
}

func TestCLIImportBadInput(t *testing.T) {
	badCheck := rosterRows(5)
	c3 := []byte(badCheck[3][0])
	if c3[17] == '0' {
		c3[17] = '1'
	} else {
		c3[17] = '0'
	}
	badCheck[3][0] = string(c3)     // line 4: wrong check character
	badCheck[5][0] = badCheck[4][0] // lines 5 and 6: duplicate code
	missingCol := [][]string{{"credit_code", "name", "township", "principal_name", "principal_userid"}, {code(1), "甲", "青石镇", "张三", "zs"}}

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, storetest.URL(t, dialect))
			big := filepath.Join(c.dir, "big.csv")
			f, err := os.Create(big)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(roster.MaxFileSize + 1); err != nil {
				t.Fatal(err)
			}
			f.Close()

			cases := []struct {
				name     string
				args     []string
				code     int
				want     string   // in the one-line error
				wantRows []string // listed on stderr
			}{
				{"wrong check character and duplicate", []string{"import", "enterprises", c.file("bad.csv", csvData(t, badCheck))}, 1,
					"未导入任何数据", []string{"第 4 行: 统一社会信用代码校验位错误", "第 5 行: 统一社会信用代码与第 6 行重复", "第 6 行: 统一社会信用代码与第 5 行重复"}},
				{"missing column", []string{"import", "enterprises", c.file("missing.csv", csvData(t, missingCol))}, 1, "缺少必填列：类别", nil},
				{"empty file", []string{"import", "enterprises", c.file("empty.csv", nil)}, 1, "文件是空的", nil},
				{"header only", []string{"import", "enterprises", c.file("header.csv", csvData(t, [][]string{header}))}, 1, "没有数据行", nil},
				{"50 MB file", []string{"import", "enterprises", big}, 1, "文件过大", nil},
				{"not a workbook", []string{"import", "enterprises", c.file("fake.xlsx", []byte("hello"))}, 1, "不是 Excel 文件", nil},
				{"no such file", []string{"import", "enterprises", filepath.Join(c.dir, "nope.csv")}, 1, "cannot open", nil},
				{"no file", []string{"import", "enterprises"}, 2, "missing FILE", nil},
				{"unknown kind", []string{"import", "companies", "x.csv"}, 2, "usage", nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := c.in(t).fails(tc.code, tc.want, tc.args...)
					for _, w := range tc.wantRows {
						if !strings.Contains(r.stderr, w+"\n") {
							t.Errorf("stderr lacks the line %q:\n%s", w, r.stderr)
						}
					}
					if r.stdout != "" {
						t.Errorf("a rejected import printed a result: %q", r.stdout)
					}
				})
			}
			all, err := c.store().ListEnterprises(context.Background(), store.EnterpriseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 0 {
				t.Errorf("rejected imports wrote %d enterprises", len(all))
			}

			t.Run("skip invalid imports the rest and lists the bad rows", func(t *testing.T) {
				r := c.in(t).ok("import", "enterprises", "--skip-invalid", filepath.Join(c.dir, "bad.csv"))
				if !strings.Contains(r.stdout, "新增 2, 更新 0, 未变 0, 跳过错误行 3") {
					t.Errorf("stdout = %q", r.stdout)
				}
				if !strings.Contains(r.stderr, "第 4 行: 统一社会信用代码校验位错误") {
					t.Errorf("stderr does not list the bad row: %q", r.stderr)
				}
			})
		})
	}
}

func TestCLIImportOfficials(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			c := newCLI(t, storetest.URL(t, dialect))
			off := c.file("officials.csv", csvData(t, [][]string{
				{"账号", "姓名", "角色", "镇街", "部门", "是否领导"},
				{"zhen01", "莫红", "镇街", "青石镇", "", "是"},
				{"office01", "袁伟欣", "市安委办", "", "市安委办", "否"},
			}))
			r := c.ok("import", "officials", off)
			if !strings.Contains(r.stdout, "新增 2, 更新 0, 未变 0") {
				t.Errorf("stdout = %q", r.stdout)
			}
			// An official named as a principal: refused with the row listed.
			recs := rosterRows(2)
			recs[2][6] = "zhen01"
			recs[2][5] = "莫红"
			c.fails(1, "未导入任何数据", "import", "enterprises", c.file("e.csv", csvData(t, recs)))
		})
	}
}

// letterBody is a Markdown letter body file.
const letterBody = "# 致企业主要负责人的一封信\n\n请认真开展**自查自纠**。\n\n1. 建立隐患清单\n2. 及时整改\n"

var letterIDRe = regexp.MustCompile(`(?m)^letter (\d+): (\d+) enterprises, (\d+) principals, (\d+) API calls`)

func TestCLILetterSendAndReport(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			c := newCLI(t, storetest.URL(t, dialect))
			c.ok("import", "enterprises", c.file("r.csv", csvData(t, rosterRows(6))))
			body := c.file("letter.md", []byte(letterBody))
			deadline := time.Now().AddDate(0, 0, 10).Format("2006-01-02")

			r := c.ok("letter", "send", "--title", "安全生产公开信", "--file", body, "--deadline", deadline, "--township", "青石镇")
			m := letterIDRe.FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("stdout does not name the letter: %q", r.stdout)
			}
			// 青石镇 has enterprises 1, 3, 5 with principals p1, p3, p5.
			if m[2] != "3" || m[3] != "3" || m[4] != "1" {
				t.Errorf("letter summary = %q, want 3 enterprises, 3 principals, 1 API call", m[0])
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			s := c.store()
			l, err := s.FindLetter(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if l.Title != "安全生产公开信" || l.Body != letterBody || l.SHA256 != safetybot.BodyHash(letterBody) ||
				l.Deadline == nil || l.Deadline.Format("2006-01-02") != deadline || l.Sender == "" {
				t.Errorf("stored letter = %+v", l)
			}
			var scope safetybot.LetterScope
			if err := json.Unmarshal([]byte(l.Scope), &scope); err != nil || len(scope.Townships) != 1 || scope.Townships[0] != "青石镇" {
				t.Errorf("scope = %q", l.Scope)
			}
			if !strings.Contains(r.stdout, l.SHA256) {
				t.Errorf("stdout does not print the SHA-256: %q", r.stdout)
			}
			// The command returns when every outbox row is written.
			rows, err := s.ListOutbox(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var to []string
			for _, o := range rows {
				to = append(to, o.Recipient)
			}
			if strings.Join(to, ",") != "p1,p3,p5" {
				t.Errorf("outbox recipients = %v, want p1,p3,p5", to)
			}

			t.Run("bad input", func(t *testing.T) {
				c := c.in(t)
				c.fails(1, "没有名为“临海镇”的镇街", "letter", "send", "--title", "T", "--file", body, "--township", "临海镇")
				c.fails(1, "已经过去", "letter", "send", "--title", "T", "--file", body, "--deadline", "2020-01-01")
				c.fails(1, "类别", "letter", "send", "--title", "T", "--file", body, "--category", "大企业")
				c.fails(2, "not a date", "letter", "send", "--title", "T", "--file", body, "--deadline", "31/07/2026")
				c.fails(2, "--title and --file are required", "letter", "send", "--file", body)
				c.fails(1, "cannot read letter body", "letter", "send", "--title", "T", "--file", filepath.Join(c.dir, "none.md"))
				c.fails(1, "正文不能为空", "letter", "send", "--title", "T", "--file", c.file("empty.md", []byte("  \n")))
				ls, err := s.ListLetters(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(ls) != 1 {
					t.Errorf("refused letters were stored: %d letters", len(ls))
				}
			})

			if _, err := s.SignLetter(ctx, id, "p3", safetybot.SignByButton); err != nil {
				t.Fatal(err)
			}

			t.Run("report json", func(t *testing.T) {
				r := c.in(t).ok("report", "letters", "--letter", m[1], "--format", "json")
				var rep struct {
					LetterID  int64  `json:"letter_id"`
					Title     string `json:"title"`
					Total     int    `json:"total"`
					Signed    int    `json:"signed"`
					Townships []struct {
						Township string  `json:"township"`
						Total    int     `json:"total"`
						Signed   int     `json:"signed"`
						Rate     float64 `json:"rate"`
						Unsigned []struct {
							CreditCode string `json:"credit_code"`
							Name       string `json:"name"`
							Principal  string `json:"principal"`
							UserID     string `json:"userid"`
						} `json:"unsigned"`
					} `json:"townships"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
					t.Fatalf("report JSON: %v\n%s", err, r.stdout)
				}
				if rep.LetterID != id || rep.Total != 3 || rep.Signed != 1 || len(rep.Townships) != 1 {
					t.Fatalf("report = %+v", rep)
				}
				tw := rep.Townships[0]
				if tw.Township != "青石镇" || tw.Rate != 0.3333 || len(tw.Unsigned) != 2 ||
					tw.Unsigned[0].UserID != "p1" || tw.Unsigned[0].Principal != "负责人p1" || tw.Unsigned[0].CreditCode != code(1) || tw.Unsigned[1].UserID != "p5" {
					t.Errorf("township line = %+v", tw)
				}
			})
			t.Run("report table, csv, xlsx", func(t *testing.T) {
				c := c.in(t)
				r := c.ok("report", "letters", "--letter", m[1], "--format", "table")
				if !strings.Contains(r.stdout, "全市合计") || !strings.Contains(r.stdout, "33.3%") || !strings.Contains(r.stdout, "p5") {
					t.Errorf("table = %q", r.stdout)
				}
				r = c.ok("report", "letters", "--format", "csv") // the newest letter by default
				if !strings.Contains(r.stdout, "测试企业005") {
					t.Errorf("csv = %q", r.stdout)
				}
				out := filepath.Join(c.dir, "r.xlsx")
				c.ok("report", "letters", "--letter", m[1], "--format", "xlsx", "--out", out)
				f, err := excelize.OpenFile(out)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				rows, _ := f.GetRows("未签收名单")
				if len(rows) != 3 {
					t.Errorf("unsigned sheet has %d rows, want header + 2", len(rows))
				}
			})
			t.Run("report bad input", func(t *testing.T) {
				c := c.in(t)
				c.fails(2, "--format", "report", "letters", "--format", "pdf")
				c.fails(1, "没有找到这封公开信", "report", "letters", "--letter", "999", "--format", "json")
				c.fails(2, "unknown report", "report", "nonsense")
			})
		})
	}
}

func TestCLILetterBatches(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			// 2,500 principals: three message/send calls queued, each ≤ 1000 recipients.
			c := newCLI(t, storetest.URL(t, dialect))
			c.ok("import", "enterprises", c.file("r.csv", csvData(t, rosterRows(2501))))
			r := c.ok("letter", "send", "--title", "大批量", "--file", c.file("l.md", []byte(letterBody)))
			m := letterIDRe.FindStringSubmatch(r.stdout)
			if m == nil || m[2] != "2501" || m[3] != "2500" || m[4] != "3" {
				t.Fatalf("stdout = %q, want 2501 enterprises, 2500 principals, 3 API calls", r.stdout)
			}
			rows, err := c.store().ListOutbox(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			batches := map[string]int{}
			for _, o := range rows {
				batches[o.Batch]++
			}
			if len(rows) != 2500 || len(batches) != 3 {
				t.Errorf("outbox: %d rows in %d batches, want 2500 in 3", len(rows), len(batches))
			}
			for b, n := range batches {
				if n > 1000 {
					t.Errorf("batch %s has %d recipients", b, n)
				}
			}
		})
	}
}

func TestDemo(t *testing.T) {
	cases := []struct{ name, db, redis string }{
		{"sqlite and in-process state", "sqlite", ""},
		{"postgres and redis", "postgres", "redis"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opt := e2e.Options{DatabaseURL: storetest.URL(t, tc.db)}
			if tc.redis != "" {
				opt.RedisURL = storetest.RedisURL(t)
			}
			b, err := e2e.Start(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Stop()
			var out, errb bytes.Buffer
			e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			if err := runDemo(ctx, e, b.App); err != nil {
				t.Fatal(err)
			}
			for _, u := range []string{"demo_wang", "demo_aq", "demo_zhen"} {
				if !strings.Contains(out.String(), "--as "+u) {
					t.Errorf("demo output does not offer %s:\n%s", u, out.String())
				}
			}
			all, err := b.Store.ListEnterprises(ctx, store.EnterpriseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != len(demoRoster) {
				t.Errorf("demo loaded %d enterprises, want %d", len(all), len(demoRoster))
			}
			// The sample letter reaches the principal of two enterprises as one card.
			msgs, err := b.Sim.WaitMessages(ctx, "demo_wang", 1)
			if err != nil {
				t.Fatalf("demo_wang got no letter card: %v", err)
			}
			if msgs[0].MsgType != "template_card" || !strings.Contains(string(msgs[0].Body), "签收") {
				t.Errorf("demo_wang got %s %s", msgs[0].MsgType, msgs[0].Body)
			}
			if err := e2e.WaitIdle(ctx, b.Store); err != nil {
				t.Fatal(err)
			}
			// Seven principals, one batch.
			if n := b.Sim.SendCalls(); n != 1 {
				t.Errorf("message/send calls = %d, want 1", n)
			}
			// A second start on a loaded store sends nothing new.
			out.Reset()
			if err := runDemo(ctx, e, b.App); err != nil {
				t.Fatal(err)
			}
			ls, err := b.Store.ListLetters(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) != 1 {
				t.Errorf("letters after a second demo start = %d, want 1", len(ls))
			}
			if !strings.Contains(out.String(), "demo_wang") {
				t.Errorf("second demo start does not print the userids")
			}
		})
	}
}
