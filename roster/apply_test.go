package roster_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"safetybot"
	"safetybot/roster"
	"safetybot/store"
	"safetybot/store/storetest"
)

// These tests apply rosters to a real store, on SQLite and on Postgres: what
// an import writes, what a re-import changes, and that a bad file writes nothing.

// applyEnt is one enterprise line of a generated roster.
type applyEnt struct {
	code, name, township, category, smallType, principal, principalID, officer string
}

// applyCode returns a valid credit code built from n.
func applyCode(n int) string {
	first := fmt.Sprintf("91320581MA%07d", n)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// badCheck returns a code with a wrong check character.
func badCheck(n int) string {
	c := applyCode(n)
	last := byte('0')
	if c[17] == '0' {
		last = '1'
	}
	return c[:17] + string(last)
}

// applyRoster is five enterprises in two townships: wang_a is principal of two,
// aq_shared is safety officer of three.
func applyRoster() []applyEnt {
	return []applyEnt{
		{applyCode(1), "青石一号小吃店", "青石镇", "九小场所", "小餐饮", "王一", "wang_a", "aq_shared"},
		{applyCode(2), "青石二号旅馆", "青石镇", "九小场所", "小旅馆", "王一", "wang_a", "aq_shared"},
		{applyCode(3), "青石三号家具厂", "青石镇", "五小企业", "小家具", "李三", "li_c", ""},
		{applyCode(4), "白沙四号机械公司", "白沙镇", "一般企业", "", "张四", "zhang_d", "aq_shared"},
		{applyCode(5), "白沙五号超市", "白沙镇", "九小场所", "小商店", "赵五", "zhao_e", "aq_e"},
	}
}

var englishHeader = []string{"credit_code", "name", "township", "category", "small_place_type", "principal_name", "principal_userid", "safety_officer_userid"}

func (e applyEnt) cells() []string {
	return []string{e.code, e.name, e.township, e.category, e.smallType, e.principal, e.principalID, e.officer}
}

func applyRecords(ents []applyEnt) [][]string {
	recs := [][]string{englishHeader}
	for _, e := range ents {
		recs = append(recs, e.cells())
	}
	return recs
}

func writeCSV(t testing.TB, recs [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeXLSX(t testing.TB, recs [][]string, edit func(f *excelize.File)) []byte {
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
	if edit != nil {
		edit(f)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// chineseShuffled writes the roster with Chinese headers in another order.
func chineseShuffled(ents []applyEnt) [][]string {
	// order: principal_userid, name, safety officer, category, credit_code, township, principal_name, small type
	recs := [][]string{{"负责人企业微信账号", "企业名称", "安全管理员账号", "类别", "统一社会信用代码", "所属镇街", "主要负责人", "九小场所类型"}}
	for _, e := range ents {
		recs = append(recs, []string{e.principalID, e.name, e.officer, e.category, e.code, e.township, e.principal, e.smallType})
	}
	return recs
}

func readEnterprises(t testing.TB, data []byte, name string) *roster.Result[roster.EnterpriseRow] {
	t.Helper()
	res, err := roster.ReadEnterprises(bytes.NewReader(data), name)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return res
}

func applyEnterprises(t testing.TB, s *store.Store, data []byte, name string, opt roster.ApplyOptions) (*roster.Report, error) {
	t.Helper()
	return roster.ApplyEnterprises(context.Background(), s, readEnterprises(t, data, name), opt)
}

func mustApply(t testing.TB, s *store.Store, data []byte, name string, opt roster.ApplyOptions) *roster.Report {
	t.Helper()
	rep, err := applyEnterprises(t, s, data, name, opt)
	if err != nil {
		t.Fatalf("apply %s: %v", name, err)
	}
	return rep
}

// stored describes the store's enterprises as "code|name|township|category|active|principal|officer" lines.
func stored(t testing.TB, s *store.Store) []string {
	t.Helper()
	ctx := context.Background()
	all, err := s.ListEnterprises(ctx, store.EnterpriseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range all {
		ps, err := s.Principals(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var pids []string
		for _, p := range ps {
			pids = append(pids, p.UserID+"/"+p.Name)
		}
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%v|%s", e.CreditCode, e.Name, e.Township, e.Category, e.Active, strings.Join(pids, ",")))
	}
	slices.Sort(out)
	return out
}

func expected(ents []applyEnt) []string {
	var out []string
	for _, e := range ents {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|true|%s/%s", e.code, e.name, e.township, e.category, e.principalID, e.principal))
	}
	slices.Sort(out)
	return out
}

func TestApplyEnterprisesEveryFormat(t *testing.T) {
	ents := applyRoster()
	recs := applyRecords(ents)
	utf8File := writeCSV(t, recs)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(writeCSV(t, chineseShuffled(ents)))
	if err != nil {
		t.Fatal(err)
	}
	files := []struct{ name, filename string }{
		{"csv utf-8", "roster.csv"},
		{"csv utf-8 with BOM", "roster.csv"},
		{"csv gbk with chinese headers in another order", "名单.csv"},
		{"xlsx", "roster.xlsx"},
		{"xlsx with chinese headers in another order", "名单.xlsx"},
	}
	data := map[string][]byte{
		"csv utf-8":          utf8File,
		"csv utf-8 with BOM": append([]byte("\xEF\xBB\xBF"), utf8File...),
		"csv gbk with chinese headers in another order": gbk,
		"xlsx": writeXLSX(t, recs, nil),
		"xlsx with chinese headers in another order": writeXLSX(t, chineseShuffled(ents), nil),
	}
	if utf8Valid(gbk) {
		t.Fatal("the GBK file is valid UTF-8: the test would not exercise GBK decoding")
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		// The first file creates the roster; the same roster in every other
		// encoding and layout must then change nothing.
		for i, f := range files {
			t.Run(f.name, func(t *testing.T) {
				ctx := context.Background()
				rep := mustApply(t, s, data[f.name], f.filename, roster.ApplyOptions{})
				want := "新增 0, 更新 0, 未变 5"
				if i == 0 {
					want = "新增 5, 更新 0, 未变 0"
				}
				if got := rep.Summary(); got != want || !rep.Applied || len(rep.Errors) != 0 {
					t.Fatalf("report %q (%d errors), want %q", got, len(rep.Errors), want)
				}
				if got, want := stored(t, s), expected(ents); !slices.Equal(got, want) {
					t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				// A person may be principal of several enterprises …
				own, err := s.EnterprisesOf(ctx, "wang_a", safetybot.ContactPrincipal)
				if err != nil {
					t.Fatal(err)
				}
				if len(own) != 2 {
					t.Errorf("wang_a is principal of %d enterprises, want 2", len(own))
				}
				// … and a safety officer may serve several.
				served, err := s.EnterprisesOf(ctx, "aq_shared", safetybot.ContactSafetyOfficer)
				if err != nil {
					t.Fatal(err)
				}
				if len(served) != 3 {
					t.Errorf("aq_shared serves %d enterprises, want 3", len(served))
				}
				p, err := s.FindPerson(ctx, "aq_shared")
				if err != nil {
					t.Fatal(err)
				}
				if p.Role != safetybot.RoleSafetyOfficer {
					t.Errorf("aq_shared role = %s, want safety officer", p.Role)
				}
				// The letter audience sees the principal of two enterprises twice, under one userid.
				aud, err := s.LetterAudience(ctx, safetybot.LetterScope{})
				if err != nil {
					t.Fatal(err)
				}
				wang := 0
				for _, r := range aud {
					if r.UserID == "wang_a" {
						wang++
					}
				}
				if len(aud) != 5 || wang != 2 {
					t.Errorf("audience = %d rows, wang_a in %d, want 5 and 2", len(aud), wang)
				}
			})
		}
	})
}

func utf8Valid(b []byte) bool { return strings.ToValidUTF8(string(b), "\uFFFD") == string(b) }

func TestApplyEnterprisesReimport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ents := applyRoster()
		mustApply(t, s, writeCSV(t, applyRecords(ents)), "a.csv", roster.ApplyOptions{})

		t.Run("same file changes nothing", func(t *testing.T) {
			rep := mustApply(t, s, writeCSV(t, applyRecords(ents)), "a.csv", roster.ApplyOptions{})
			if got, want := rep.Summary(), "新增 0, 更新 0, 未变 5"; got != want {
				t.Errorf("summary = %q, want %q", got, want)
			}
		})

		t.Run("updates by credit code, adds new, keeps missing", func(t *testing.T) {
			next := slices.Clone(ents)
			next[0].name = "青石一号小吃店（新址）"
			next[2].principal, next[2].principalID = "李新", "li_new" // new principal for enterprise 3
			next = append(next[:4], applyEnt{applyCode(6), "白沙六号网吧", "白沙镇", "九小场所", "小网吧", "钱六", "qian_f", ""})
			// enterprise 5 is missing from this file
			rep := mustApply(t, s, writeCSV(t, applyRecords(next)), "b.csv", roster.ApplyOptions{})
			if got, want := rep.Summary(), "新增 1, 更新 2, 未变 2"; got != want {
				t.Errorf("summary = %q, want %q", got, want)
			}
			want := expected(append(slices.Clone(next), ents[4]))
			if got := stored(t, s); !slices.Equal(got, want) {
				t.Errorf("stored:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			old, err := s.EnterprisesOf(ctx, "li_c", safetybot.ContactPrincipal)
			if err != nil {
				t.Fatal(err)
			}
			if len(old) != 0 {
				t.Errorf("the replaced principal li_c still heads %d enterprises", len(old))
			}
		})

		t.Run("deactivate missing marks inactive, deletes nothing", func(t *testing.T) {
			only := ents[:2]
			rep := mustApply(t, s, writeCSV(t, applyRecords(only)), "c.csv", roster.ApplyOptions{DeactivateMissing: true})
			if rep.Deactivated != 4 {
				t.Errorf("deactivated = %d, want 4 (enterprises 3, 4, 5, 6)", rep.Deactivated)
			}
			if !strings.Contains(rep.Summary(), "停用 4") {
				t.Errorf("summary %q does not say 停用 4", rep.Summary())
			}
			all, err := s.ListEnterprises(ctx, store.EnterpriseFilter{})
			if err != nil {
				t.Fatal(err)
			}
			active := 0
			for _, e := range all {
				if e.Active {
					active++
				}
			}
			if len(all) != 6 || active != 2 {
				t.Errorf("store has %d enterprises, %d active; want 6 and 2", len(all), active)
			}
			aud, err := s.LetterAudience(ctx, safetybot.LetterScope{})
			if err != nil {
				t.Fatal(err)
			}
			if len(aud) != 2 {
				t.Errorf("letter audience after deactivation = %d, want 2", len(aud))
			}
			// Importing them again makes them active again.
			rep = mustApply(t, s, writeCSV(t, applyRecords(ents)), "a.csv", roster.ApplyOptions{})
			// 3, 4 and 5 re-activated (3 with its old principal back); 1 and 2 as the last file left them.
			if got, want := rep.Summary(), "新增 0, 更新 3, 未变 2"; got != want {
				t.Errorf("re-activation: %q, want %q", got, want)
			}
		})
	})
}

func TestApplyEnterprisesBadRowsWriteNothing(t *testing.T) {
	ents := applyRoster()
	bad := slices.Clone(ents)
	bad[1].code = badCheck(2)      // line 3
	bad[3].code = bad[2].code      // lines 4 and 5 share a code
	bad[4].principalID = "bad id!" // line 6
	recs := applyRecords(bad)
	wantLines := []int{3, 4, 5, 6}

	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("default imports nothing and lists every bad row", func(t *testing.T) {
			rep, err := applyEnterprises(t, s, writeCSV(t, recs), "bad.csv", roster.ApplyOptions{})
			if !errors.Is(err, roster.ErrInvalidRows) || safetybot.ErrorCode(err) != safetybot.EINVALID {
				t.Fatalf("err = %v, want EINVALID wrapping ErrInvalidRows", err)
			}
			if rep == nil || rep.Applied {
				t.Fatalf("report = %+v", rep)
			}
			var lines []int
			var texts []string
			for _, e := range rep.Errors {
				if !slices.Contains(lines, e.Line) {
					lines = append(lines, e.Line)
				}
				texts = append(texts, e.String())
			}
			if !slices.Equal(lines, wantLines) {
				t.Errorf("bad lines = %v, want %v (%s)", lines, wantLines, strings.Join(texts, "; "))
			}
			if !slices.Contains(texts, "第 3 行: 统一社会信用代码校验位错误") {
				t.Errorf("errors %q lack 第 3 行: 统一社会信用代码校验位错误", texts)
			}
			joined := strings.Join(texts, "\n")
			for _, want := range []string{"第 4 行: 统一社会信用代码与第 5 行重复", "第 5 行: 统一社会信用代码与第 4 行重复", "第 6 行: "} {
				if !strings.Contains(joined, want) {
					t.Errorf("errors lack %q:\n%s", want, joined)
				}
			}
			if got := stored(t, s); len(got) != 0 {
				t.Errorf("a rejected file wrote %d enterprises", len(got))
			}
			people, err := s.ListPeople(ctx, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if len(people) != 0 {
				t.Errorf("a rejected file wrote %d people", len(people))
			}
		})
		t.Run("dry run reports and writes nothing", func(t *testing.T) {
			rep, err := applyEnterprises(t, s, writeCSV(t, applyRecords(ents)), "ok.csv", roster.ApplyOptions{DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 5 || rep.Applied || !rep.DryRun {
				t.Errorf("dry-run report = %+v", rep)
			}
			if got := stored(t, s); len(got) != 0 {
				t.Errorf("a dry run wrote %d enterprises", len(got))
			}
		})
		t.Run("skip invalid imports the rest and still lists them", func(t *testing.T) {
			rep, err := applyEnterprises(t, s, writeCSV(t, recs), "bad.csv", roster.ApplyOptions{SkipInvalid: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Created != 1 || rep.Skipped != 4 || len(rep.Errors) < 4 || !rep.Applied {
				t.Errorf("report = %s, %d errors", rep.Summary(), len(rep.Errors))
			}
			if !strings.Contains(rep.Summary(), "跳过错误行 4") {
				t.Errorf("summary %q does not mention the skipped rows", rep.Summary())
			}
			if got, want := stored(t, s), expected(ents[:1]); !slices.Equal(got, want) {
				t.Errorf("stored %q, want %q", got, want)
			}
		})
	})
}

func TestApplyEnterprisesFormulaStoredAsText(t *testing.T) {
	const formula = `=HYPERLINK("http://evil.example/x","点我")`
	ents := applyRoster()[:2]
	ents[0].name = formula
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t.Run("csv", func(t *testing.T) {
			mustApply(t, s, writeCSV(t, applyRecords(ents)), "f.csv", roster.ApplyOptions{})
			e, err := s.FindEnterpriseByCode(ctx, ents[0].code)
			if err != nil {
				t.Fatal(err)
			}
			if e.Name != formula {
				t.Errorf("name = %q, want the formula text %q", e.Name, formula)
			}
		})
		t.Run("xlsx formula cell", func(t *testing.T) {
			recs := applyRecords(ents)
			recs[1][1] = "placeholder"
			data := writeXLSX(t, recs, func(f *excelize.File) {
				if err := f.SetCellFormula("Sheet1", "B2", strings.TrimPrefix(formula, "=")); err != nil {
					t.Fatal(err)
				}
			})
			rep := mustApply(t, s, data, "f.xlsx", roster.ApplyOptions{})
			if rep.Unchanged != 2 {
				t.Errorf("re-import of the same text from a formula cell: %s, want 未变 2", rep.Summary())
			}
			e, err := s.FindEnterpriseByCode(ctx, ents[0].code)
			if err != nil {
				t.Fatal(err)
			}
			if e.Name != formula {
				t.Errorf("name = %q, want the formula text %q", e.Name, formula)
			}
		})
	})
}

func TestApplyOfficials(t *testing.T) {
	officials := [][]string{
		{"userid", "name", "role", "township", "department", "leader"},
		{"office01", "袁伟欣", "office", "", "市安委办", "否"},
		{"zhen01", "莫红", "township", "青石镇", "", "是"},
		{"dept01", "郑科长", "department", "", "应急管理局", "是"},
	}
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		read := func(recs [][]string) *roster.Result[roster.OfficialRow] {
			res, err := roster.ReadOfficials(bytes.NewReader(writeCSV(t, recs)), "officials.csv")
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		rep, err := roster.ApplyOfficials(ctx, s, read(officials), roster.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rep.Summary(), "新增 3, 更新 0, 未变 0"; got != want {
			t.Errorf("first import: %q, want %q", got, want)
		}
		next := slices.Clone(officials)
		next[2] = []string{"zhen01", "莫红", "township", "白沙镇", "", "是"}
		rep, err = roster.ApplyOfficials(ctx, s, read(next), roster.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rep.Summary(), "新增 0, 更新 1, 未变 2"; got != want {
			t.Errorf("re-import: %q, want %q", got, want)
		}
		p, err := s.FindPerson(ctx, "zhen01")
		if err != nil {
			t.Fatal(err)
		}
		if p.Township != "白沙镇" || p.Role != safetybot.RoleTownship {
			t.Errorf("zhen01 = %+v", p)
		}

		// An official named as a principal: the enterprise row is refused.
		ents := applyRoster()[:2]
		ents[1].principalID = "zhen01"
		rep2, err := applyEnterprises(t, s, writeCSV(t, applyRecords(ents)), "e.csv", roster.ApplyOptions{})
		if !errors.Is(err, roster.ErrInvalidRows) {
			t.Fatalf("official as principal: err = %v", err)
		}
		if len(rep2.Errors) != 1 || rep2.Errors[0].Line != 3 || !strings.Contains(rep2.Errors[0].Message, "已登记为干部") {
			t.Errorf("errors = %v", rep2.Errors)
		}
		if got := stored(t, s); len(got) != 0 {
			t.Errorf("wrote %d enterprises", len(got))
		}

		// A principal named in an officials file is refused too.
		mustApply(t, s, writeCSV(t, applyRecords(applyRoster()[:1])), "e.csv", roster.ApplyOptions{})
		withPrincipal := append(slices.Clone(officials), []string{"wang_a", "王一", "township", "青石镇", "", "否"})
		rep, err = roster.ApplyOfficials(ctx, s, read(withPrincipal), roster.ApplyOptions{})
		if !errors.Is(err, roster.ErrInvalidRows) || len(rep.Errors) != 1 || rep.Errors[0].Line != 5 {
			t.Errorf("principal in officials file: err = %v, errors = %v", err, rep.Errors)
		}
		p, err = s.FindPerson(ctx, "wang_a")
		if err != nil || p.Role != safetybot.RolePrincipal {
			t.Errorf("wang_a = %+v, %v; want still a principal", p, err)
		}
	})
}

func TestApplyEnterprisesPeople(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ents := applyRoster()
		mustApply(t, s, writeCSV(t, applyRecords(ents)), "a.csv", roster.ApplyOptions{})

		next := slices.Clone(ents)
		next[3].officer = "wang_a"                                                                    // a principal named safety officer elsewhere stays a principal
		next[4].principal = "赵五五"                                                                     // only the principal's name changes
		next = append(next, applyEnt{applyCode(6), "白沙六号网吧", "白沙镇", "九小场所", "小网吧", "安五", "aq_e", ""}) // a safety officer becomes a principal too
		rep := mustApply(t, s, writeCSV(t, applyRecords(next)), "b.csv", roster.ApplyOptions{})
		if got, want := rep.Summary(), "新增 1, 更新 2, 未变 3"; got != want {
			t.Errorf("summary = %q, want %q", got, want)
		}
		role := func(u string) safetybot.Role {
			p, err := s.FindPerson(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			return p.Role
		}
		if r := role("wang_a"); r != safetybot.RolePrincipal {
			t.Errorf("wang_a role = %s, want principal", r)
		}
		if r := role("aq_e"); r != safetybot.RolePrincipal {
			t.Errorf("aq_e role = %s, want principal", r)
		}
		count := func(u string, r safetybot.ContactRole) int {
			es, err := s.EnterprisesOf(ctx, u, r)
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		if count("wang_a", safetybot.ContactSafetyOfficer) != 1 || count("wang_a", safetybot.ContactPrincipal) != 2 {
			t.Error("wang_a should head two enterprises and serve one as safety officer")
		}
		if count("aq_e", safetybot.ContactSafetyOfficer) != 1 || count("aq_e", safetybot.ContactPrincipal) != 1 {
			t.Error("aq_e should head one enterprise and serve one as safety officer")
		}
		if count("aq_shared", safetybot.ContactSafetyOfficer) != 2 {
			t.Errorf("aq_shared serves %d enterprises, want 2", count("aq_shared", safetybot.ContactSafetyOfficer))
		}
		p, err := s.FindPerson(ctx, "zhao_e")
		if err != nil || p.Name != "赵五五" {
			t.Errorf("zhao_e = %+v, %v", p, err)
		}
		rep = mustApply(t, s, writeCSV(t, applyRecords(next)), "b.csv", roster.ApplyOptions{})
		if got, want := rep.Summary(), "新增 0, 更新 0, 未变 6"; got != want {
			t.Errorf("same file again: %q, want %q", got, want)
		}
	})
}
