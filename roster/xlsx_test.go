package roster_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestXLSXSharedFormula: Excel stores a filled-down formula once, as a shared
// formula; every cell must still show its own formula text.
func TestXLSXSharedFormula(t *testing.T) {
	recs := [][]string{enterpriseHeader, enterprise(1, nil), enterprise(2, nil), enterprise(3, nil)}
	data := mustXLSX(t, recs, func(f *excelize.File, sheet string) {
		typ, ref := "shared", "L2:L4"
		must(t, f.SetCellFormula(sheet, "L2", `HYPERLINK("http://map/"&A2,"地图")`, excelize.FormulaOpts{Type: &typ, Ref: &ref}))
	})
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 || len(res.Rows) != 3 {
		t.Fatalf("rows %d errors:\n%s", len(res.Rows), errorsText(res.Errors))
	}
	for i, row := range res.Rows {
		want := fmt.Sprintf(`=HYPERLINK("http://map/"&A%d,"地图")`, i+2)
		if row.Enterprise.Address != want {
			t.Errorf("line %d address %q, want %q", row.Line, row.Enterprise.Address, want)
		}
	}
}

// TestXLSXHandMade reads workbooks written the way other tools write them:
// namespace prefixes, inline strings, and cells without a reference.
func TestXLSXHandMade(t *testing.T) {
	cells := func(withRef bool, row int, values ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `<x:row r="%d">`, row)
		for i, v := range values {
			ref := ""
			if withRef {
				ref = fmt.Sprintf(` r="%c%d"`, 'A'+i, row)
			}
			switch {
			case strings.HasPrefix(v, "="):
				fmt.Fprintf(&b, `<x:c%s t="str"><x:f>%s</x:f><x:v>cached</x:v></x:c>`, ref, xmlEscape(v[1:]))
			case v == "" && withRef:
			case v == "":
				b.WriteString(`<x:c/>`) // without references, position is all there is
			default:
				fmt.Fprintf(&b, `<x:c%s t="inlineStr"><x:is><x:t>%s</x:t></x:is></x:c>`, ref, xmlEscape(v))
			}
		}
		b.WriteString(`</x:row>`)
		return b.String()
	}
	for _, withRef := range []bool{true, false} {
		t.Run(fmt.Sprintf("cell references %v", withRef), func(t *testing.T) {
			row := enterprise(1, map[string]string{"name": `=HYPERLINK("http://x","y")`})
			sheet := `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
				`<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>` +
				cells(withRef, 1, enterpriseHeader...) + cells(withRef, 2, row...) +
				`</x:sheetData></x:worksheet>`
			data := zipParts(t, map[string]string{
				"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
					`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
					`<Default Extension="xml" ContentType="application/xml"/>` +
					`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
					`<Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
				"_rels/.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
					`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
				"xl/workbook.xml": `<?xml version="1.0" encoding="UTF-8"?><x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
					`<x:sheets><x:sheet name="名单" sheetId="1" r:id="rId9"/></x:sheets></x:workbook>`,
				"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
					`<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/data.xml"/></Relationships>`,
				"xl/worksheets/data.xml": sheet,
			})
			res, err := reader.ReadEnterprises(bytes.NewReader(data), "other.xlsx")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) > 0 || len(res.Rows) != 1 {
				t.Fatalf("rows %d errors:\n%s", len(res.Rows), errorsText(res.Errors))
			}
			if got := res.Rows[0].Enterprise.Name; got != `=HYPERLINK("http://x","y")` {
				t.Errorf("name %q", got)
			}
		})
	}
}

func zipParts(tb testing.TB, parts map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range parts {
		w, err := zw.Create(name)
		must(tb, err)
		_, err = w.Write([]byte(content))
		must(tb, err)
	}
	must(tb, zw.Close())
	return buf.Bytes()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func TestWarnings(t *testing.T) {
	recs := [][]string{
		{"2025年青石镇企业名单"},
		append(slices.Clone(enterpriseHeader), "序号"),
		append(enterprise(1, map[string]string{"category": "一般企业", "small_place_type": "小医院"}), "1"),
	}
	data := mustXLSX(t, recs, func(f *excelize.File, sheet string) {
		_, err := f.NewSheet("说明")
		must(t, err)
	})
	res, err := reader.ReadEnterprises(bytes.NewReader(data), "e.xlsx")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"只读取了第一个工作表“Sheet1”，其余工作表已忽略",
		"表头在第 2 行，上面的 1 行标题已跳过",
		"已忽略无法识别的列：序号",
		"第 3 行：一般企业不需要填写场所类型，已忽略“小医院”",
	}
	if !slices.Equal(res.Warnings, want) {
		t.Errorf("warnings\n%s\nwant\n%s", strings.Join(res.Warnings, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range res.Warnings {
		assertChinese(t, w)
	}
	if len(res.Errors) > 0 || len(res.Rows) != 1 {
		t.Errorf("rows %d errors:\n%s", len(res.Rows), errorsText(res.Errors))
	}
}
