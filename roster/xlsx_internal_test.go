package roster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// TestFastSheetMatchesExcelize checks the direct XML reader against excelize
// (the reference) on workbooks with every kind of cell a roster may hold.
func TestFastSheetMatchesExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	set := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	set(f.SetSheetRow(sheet, "A1", &[]any{"统一社会信用代码", "企业名称", "数字", "小数", "布尔", "日期", "公式", "空", "特殊字符"}))
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	set(err)
	for r := 2; r <= 40; r++ {
		if r%7 == 0 {
			continue // gaps between rows
		}
		row := []any{
			fmt.Sprintf("91320581%010d", r),
			fmt.Sprintf("企业 %d", r),
			13900000000 + r,
			float64(r) / 8,
			r%2 == 0,
			time.Date(2024, 1, r, 0, 0, 0, 0, time.UTC),
			nil,
			nil,
			`a & b < c > d "e" 'f'` + "\n第二行 _x000D_ _x005F_x0041_",
		}
		set(f.SetSheetRow(sheet, fmt.Sprintf("A%d", r), &row))
		set(f.SetCellStyle(sheet, fmt.Sprintf("F%d", r), fmt.Sprintf("F%d", r), dateStyle))
	}
	set(f.SetCellFormula(sheet, "G2", `HYPERLINK("http://x?a=1&b=2","<y>")`))
	typ, ref := "shared", "G3:G6"
	set(f.SetCellFormula(sheet, "G3", `A3&"-"&B3`, excelize.FormulaOpts{Type: &typ, Ref: &ref}))
	set(f.SetCellRichText(sheet, "B9", []excelize.RichTextRun{{Text: "富"}, {Text: "文本", Font: &excelize.Font{Bold: true}}}))
	set(f.SetCellStr(sheet, "J50", "  far away  "))
	set(f.SetCellValue(sheet, "C12", -0.000123))
	set(f.SetCellValue(sheet, "C13", 1e21))
	_, err = f.NewSheet("第二张")
	set(err)
	var buf bytes.Buffer
	set(f.Write(&buf))
	data := buf.Bytes()

	fast, _, _, err := openXLSX(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fast.(*sliceSource); !ok {
		t.Fatalf("workbook read through %T, want the direct reader", fast)
	}
	ref2, _, _, err := openExcelize(data)
	if err != nil {
		t.Fatal(err)
	}
	defer ref2.close()
	got, want := drain(t, fast), drain(t, ref2)
	if len(got) != len(want) {
		t.Fatalf("%d rows, excelize gives %d", len(got), len(want))
	}
	for i := range want {
		if got[i].line != want[i].line || !slices.Equal(got[i].cells, want[i].cells) {
			t.Errorf("row %d:\n got %d %q\nwant %d %q", i, got[i].line, got[i].cells, want[i].line, want[i].cells)
		}
	}
}

// drain reads every non-blank row, trailing empty cells dropped.
func drain(t *testing.T, src rowSource) []sheetRow {
	t.Helper()
	var out []sheetRow
	for {
		line, cells, err := src.next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		for len(cells) > 0 && cells[len(cells)-1] == "" {
			cells = cells[:len(cells)-1]
		}
		if len(cells) > 0 {
			out = append(out, sheetRow{line: line, cells: slices.Clone(cells)})
		}
	}
}
