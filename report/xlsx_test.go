package report_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"safetybot/report"
)

// TestXLSXRoundTrip writes awkward values and reads them back with excelize.
func TestXLSXRoundTrip(t *testing.T) {
	long := strings.Repeat("隐", 40000)
	texts := []string{"普通文本", "a & b < c > d \"e\" 'f'", "  两端空格  ", "第一行\n第二行", "tab\there", "ctl\x01\x02x", "bad \xff utf8",
		"emoji 😀", hyperlink, "=1+1", "@SUM(A1)", "-2", "+3", "\uFFFE", long, "全角！（）", "a\uFFFFb\uFFFEc"}
	want := []string{"普通文本", "a & b < c > d \"e\" 'f'", "  两端空格  ", "第一行\n第二行", "tab\there", "ctlx", "bad \uFFFD utf8",
		"emoji 😀", hyperlink, "=1+1", "@SUM(A1)", "-2", "+3", "", strings.Repeat("隐", 32767), "全角！（）", "abc"}
	headers := make([]string, 30) // past column Z
	for i := range headers {
		headers[i] = "列" + strconv.Itoa(i+1)
	}
	wide := report.Table{Name: "宽表", Headers: headers}
	row := make([]report.Cell, 30)
	for i := range row {
		row[i] = report.Int(i * 1000)
	}
	wide.Rows = [][]report.Cell{row}
	day := time.Date(2026, 8, 20, 0, 0, 0, 0, time.UTC)
	text := report.Table{Name: "文本:[测试]", Headers: []string{"值", "日期", "比率", "空日期"}}
	for _, s := range texts {
		text.Rows = append(text.Rows, []report.Cell{report.Text(s), report.Date(day), report.Percent(0.1234), report.Date(time.Time{})})
	}
	var buf bytes.Buffer
	if err := report.WriteXLSX(&buf, []report.Table{text, wide, {Name: "文本:[测试]", Headers: []string{"同名"}}, {Name: "空", Headers: []string{"无"}}}); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("excelize cannot open the workbook: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 4 || sheets[0] != "文本测试" || sheets[1] != "宽表" || sheets[2] == sheets[0] || sheets[3] != "空" {
		t.Fatalf("sheets = %v", sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(texts)+1 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, w := range want {
		if got := rows[i+1][0]; got != w {
			t.Errorf("row %d: %q, want %q", i+2, short(got), short(w))
		}
		cell := "A" + strconv.Itoa(i+2)
		if fm, _ := f.GetCellFormula(sheets[0], cell); fm != "" {
			t.Errorf("%s is a formula %q", cell, fm)
		}
	}
	if v, _ := f.GetCellValue(sheets[0], "B2", excelize.Options{RawCellValue: true}); v != "46254" {
		t.Errorf("date serial = %q, want 46254 (2026-08-20)", v)
	}
	if v, _ := f.GetCellValue(sheets[0], "C2"); v != "12.34%" {
		t.Errorf("percentage shown as %q", v)
	}
	if v, _ := f.GetCellValue(sheets[0], "D2"); v != "" {
		t.Errorf("an empty date shows %q", v)
	}
	if v, _ := f.GetCellValue("宽表", "AD2"); v != "29000" {
		t.Errorf("AD2 = %q", v)
	}
	if typ, _ := f.GetCellType("宽表", "AD2"); typ != excelize.CellTypeNumber && typ != excelize.CellTypeUnset {
		t.Errorf("AD2 type %v", typ)
	}
	if w, _ := f.GetColWidth(sheets[0], "A"); w != 60 {
		t.Errorf("a very long column is %v wide, want the cap 60", w)
	}
	if w, _ := f.GetColWidth("宽表", "A"); w != 8 {
		t.Errorf("a narrow column is %v wide, want the minimum 8", w)
	}
	for _, sh := range sheets {
		if p, _ := f.GetPanes(sh); !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: header not frozen", sh)
		}
	}
	st, _ := f.GetCellStyle(sheets[0], "A1")
	if s, err := f.GetStyle(st); err != nil || s.Font == nil || !s.Font.Bold {
		t.Errorf("header style = %+v, %v", s, err)
	}
}

func short(s string) string {
	if len(s) > 40 {
		return s[:20] + "…(" + strconv.Itoa(len(s)) + " bytes)"
	}
	return s
}
