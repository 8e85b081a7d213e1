package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"safetybot"
	"safetybot/handlers"
	"safetybot/report"
	"safetybot/store"
	"safetybot/store/storetest"
)

// update regenerates the golden files: go test ./report/ -run Golden -update
var update = func() *bool {
	if f := flag.Lookup("update"); f != nil {
		v := f.Value.(flag.Getter).Get().(bool)
		return &v
	}
	return flag.Bool("update", false, "rewrite golden files")
}()

const hyperlink = `=HYPERLINK("http://evil.example/x","点我")`

// seedEnt is one enterprise of the seeded scenario.
type seedEnt struct {
	n                      int
	name, township         string
	principal, principalID string
	active, signs          bool // signs: its principal taps 签收
}

// seed is the scenario every report test uses: three townships, a principal
// (wang) heading two enterprises in two townships, an enterprise whose name
// looks like a spreadsheet formula, and an inactive enterprise the letter does
// not address.
var seed = []seedEnt{
	{1, "青石甲小吃店", "青石镇", "王建国", "wang", true, true},
	{2, "白沙乙旅馆", "白沙镇", "王建国", "wang", true, true},
	{3, "青石丙家具厂", "青石镇", "李秀英", "li", true, false},
	{4, hyperlink, "青石镇", "赵敏", "zhao", true, false},
	{5, "白沙戊诊所", "白沙镇", "陈静", "chen", true, false},
	{6, "临江己网吧", "临江镇", "杨帆", "yang", true, true},
	{7, "临江庚机械公司", "临江镇", "刘洋", "liu", false, false},
}

func creditCode(n int) string {
	first := fmt.Sprintf("91320581MA%07d", n)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// seedStore fills s with the scenario, sends one letter and signs for the
// enterprises marked signs. It returns the letter id.
func seedStore(t *testing.T, s *store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	var keep []string
	for _, e := range seed {
		ent := safetybot.Enterprise{CreditCode: creditCode(e.n), Name: e.name, Township: e.township, Category: safetybot.CategoryGeneral}
		if _, err := s.UpsertEnterprise(ctx, &ent); err != nil {
			t.Fatal(err)
		}
		p := safetybot.Person{UserID: e.principalID, Name: e.principal, Role: safetybot.RolePrincipal, Township: e.township}
		if _, err := s.UpsertPerson(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetContact(ctx, ent.ID, p.ID, safetybot.ContactPrincipal); err != nil {
			t.Fatal(err)
		}
		if e.active {
			keep = append(keep, ent.CreditCode)
		}
	}
	if _, err := s.DeactivateEnterprisesExcept(ctx, keep); err != nil {
		t.Fatal(err)
	}
	res, err := handlers.SendLetter(ctx, s, "https://bot.example", time.UTC, handlers.LetterInput{
		Title: "致全市企业主要负责人的一封信", Body: "# 公开信\n\n请落实主体责任。", Sender: "市安委办"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	signed := map[string]bool{}
	for _, e := range seed {
		if e.signs && !signed[e.principalID] {
			signed[e.principalID] = true
			if _, err := s.SignLetter(ctx, res.Letter.ID, e.principalID, safetybot.SignByButton); err != nil {
				t.Fatal(err)
			}
		}
	}
	return res.Letter.ID
}

// expectedReport computes the report from the seed alone, without the report
// package: per township (sorted) total, signed, rate and the unsigned list
// sorted by name.
func expectedReport(letterID int64, townships ...string) map[string]any {
	type tw struct {
		total, signed int
		unsigned      []seedEnt
	}
	by := map[string]*tw{}
	total, signed := 0, 0
	for _, e := range seed {
		if !e.active || (len(townships) > 0 && !slices.Contains(townships, e.township)) {
			continue
		}
		if by[e.township] == nil {
			by[e.township] = &tw{}
		}
		t := by[e.township]
		t.total++
		total++
		if e.signs {
			t.signed++
			signed++
		} else {
			t.unsigned = append(t.unsigned, e)
		}
	}
	rate := func(a, b int) float64 { return math.Round(float64(a)/float64(b)*10000) / 10000 }
	var names []string
	for n := range by {
		names = append(names, n)
	}
	slices.Sort(names)
	var list []any
	for _, n := range names {
		t := by[n]
		slices.SortFunc(t.unsigned, func(a, b seedEnt) int { return strings.Compare(a.name, b.name) })
		uns := []any{}
		for _, u := range t.unsigned {
			uns = append(uns, map[string]any{"credit_code": creditCode(u.n), "name": u.name, "principal": u.principal, "userid": u.principalID})
		}
		list = append(list, map[string]any{"township": n, "total": float64(t.total), "signed": float64(t.signed),
			"rate": rate(t.signed, t.total), "unsigned": uns})
	}
	return map[string]any{"letter_id": float64(letterID), "title": "致全市企业主要负责人的一封信",
		"total": float64(total), "signed": float64(signed), "rate": rate(signed, total), "townships": list}
}

func renderJSON(t *testing.T, r *report.LetterReport) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := report.Write(&buf, "json", r, r.Tables()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLettersReportJSONGolden(t *testing.T) {
	golden := filepath.Join("testdata", "letters_report.golden.json")
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := storetest.New(t, dialect)
			id := seedStore(t, s)
			r, err := report.Letters(context.Background(), s, id)
			if err != nil {
				t.Fatal(err)
			}
			got := renderJSON(t, r)

			// The figures, computed from the seed independently of the report code.
			var parsed map[string]any
			if err := json.Unmarshal(got, &parsed); err != nil {
				t.Fatalf("report JSON does not parse: %v\n%s", err, got)
			}
			want := expectedReport(id)
			gotNorm, _ := json.Marshal(parsed)
			wantNorm, _ := json.Marshal(want)
			if !bytes.Equal(gotNorm, wantNorm) {
				t.Errorf("report figures:\n got %s\nwant %s", gotNorm, wantNorm)
			}

			// The exact bytes: the JSON form is stable (field names, order, indentation).
			if *update && dialect == "sqlite" {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantBytes, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, wantBytes) {
				t.Errorf("report JSON differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestLettersReportFormats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		id := seedStore(t, s)
		r, err := report.Letters(ctx, s, id)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("table", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "table", r, r.Tables()); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, want := range []string{"签收汇总", "未签收名单", "全市合计", "青石镇", "33.3%", "50.0%", "100.0%", "李秀英", "li", creditCode(5)} {
				if !strings.Contains(out, want) {
					t.Errorf("table lacks %q:\n%s", want, out)
				}
			}
			// 6 addressed, 3 signed: the city line.
			if !lineWith(out, "全市合计", "6", "3", "50.0%") {
				t.Errorf("city total line wrong:\n%s", out)
			}
		})

		t.Run("csv keeps formula text inert", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "csv", r, r.Tables()); err != nil {
				t.Fatal(err)
			}
			b := buf.Bytes()
			if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
				t.Error("CSV has no UTF-8 BOM (Excel would garble the Chinese)")
			}
			cr := csv.NewReader(bytes.NewReader(b[3:]))
			cr.FieldsPerRecord = -1
			recs, err := cr.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, rec := range recs {
				for _, c := range rec {
					if strings.Contains(c, "HYPERLINK") {
						found = true
						if c != "'"+hyperlink {
							t.Errorf("CSV cell %q: want the text prefixed with an apostrophe", c)
						}
					}
				}
			}
			if !found {
				t.Error("the unsigned enterprise with the formula-like name is missing from the CSV")
			}
		})

		t.Run("xlsx stores formula text as a string cell", func(t *testing.T) {
			var buf bytes.Buffer
			if err := report.Write(&buf, "xlsx", r, r.Tables()); err != nil {
				t.Fatal(err)
			}
			f, err := excelize.OpenReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sheets := f.GetSheetList()
			if len(sheets) != 2 || sheets[0] != "签收汇总" || sheets[1] != "未签收名单" {
				t.Fatalf("sheets = %q", sheets)
			}
			rows, err := f.GetRows("未签收名单")
			if err != nil {
				t.Fatal(err)
			}
			cell := ""
			for ri, row := range rows {
				for ci, v := range row {
					if strings.Contains(v, "HYPERLINK") {
						cell, _ = excelize.CoordinatesToCellName(ci+1, ri+1)
					}
				}
			}
			if cell == "" {
				t.Fatalf("no cell holds the formula-like name: %q", rows)
			}
			formula, err := f.GetCellFormula("未签收名单", cell)
			if err != nil {
				t.Fatal(err)
			}
			if formula != "" {
				t.Errorf("cell %s is a formula %q: it would be executed when opened", cell, formula)
			}
			v, _ := f.GetCellValue("未签收名单", cell)
			if v != hyperlink {
				t.Errorf("cell %s = %q, want the text %q", cell, v, hyperlink)
			}
			typ, _ := f.GetCellType("未签收名单", cell)
			if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
				t.Errorf("cell %s type = %v, want a string cell", cell, typ)
			}
			// Rates are numbers formatted as percentages, not text.
			sum, _ := f.GetRows("签收汇总")
			last := sum[len(sum)-1]
			if last[0] != "全市合计" || last[1] != "6" || last[2] != "3" {
				t.Errorf("city total row = %q", last)
			}
			rateCell, _ := excelize.CoordinatesToCellName(4, len(sum))
			if typ, _ := f.GetCellType("签收汇总", rateCell); typ == excelize.CellTypeSharedString || typ == excelize.CellTypeInlineString {
				t.Errorf("rate cell %s is text, want a number", rateCell)
			}
		})

		t.Run("township filter", func(t *testing.T) {
			r, err := report.Letters(ctx, s, id, "白沙镇")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(r)
			var parsed map[string]any
			json.Unmarshal(got, &parsed)
			gotNorm, _ := json.Marshal(parsed)
			wantNorm, _ := json.Marshal(expectedReport(id, "白沙镇"))
			if !bytes.Equal(gotNorm, wantNorm) {
				t.Errorf("白沙镇 only:\n got %s\nwant %s", gotNorm, wantNorm)
			}
		})

		t.Run("unknown letter", func(t *testing.T) {
			_, err := report.Letters(ctx, s, id+100)
			if safetybot.ErrorCode(err) != safetybot.ENOTFOUND {
				t.Errorf("err = %v, want ENOTFOUND", err)
			}
		})
	})
}

// lineWith reports whether some line of out holds every field, as whole words, in order.
func lineWith(out string, fields ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(l), fields) {
			return true
		}
	}
	return false
}
