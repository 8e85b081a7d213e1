package roster

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"path"
	"strings"

	"github.com/xuri/excelize/v2"

	"safetybot"
)

// instructionsSheet is the name of the explanatory sheet WriteTemplate adds; it
// is not reported as an ignored sheet.
const instructionsSheet = "填写说明"

// openXLSX opens the first worksheet of a workbook.
func openXLSX(data []byte) (src rowSource, date1904 bool, warnings []string, err error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return nil, false, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "Excel 文件解压后过大，请拆分成几个文件分批导入", Err: err}
		}
		return nil, false, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "无法打开这个 Excel 文件，文件可能已损坏，请在 Excel 中另存为 .xlsx 后再试", Err: err}
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, false, nil, invalid("Excel 文件里没有工作表")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, false, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "无法读取 Excel 的第一个工作表，请另存为 .xlsx 后再试", Err: err}
	}
	for _, name := range sheets[1:] {
		if name != instructionsSheet {
			warnings = append(warnings, fmt.Sprintf("只读取了第一个工作表“%s”，其余工作表已忽略", sheets[0]))
			break
		}
	}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	src = &xlsxSource{f: f, sheet: sheets[0], rows: rows, formulas: scanFormulas(data, sheets[0])}
	return src, date1904, warnings, nil
}

// xlsxSource streams the rows of one worksheet. Cells are read raw (no number
// format applied, so a date cell gives its serial number), and a cell holding
// a formula gives the formula text with its leading "=", never a computed
// result: a roster is data, not a calculation.
type xlsxSource struct {
	f        *excelize.File
	sheet    string
	rows     *excelize.Rows
	formulas *formulaCells // nil: unknown, ask excelize about every cell
	line     int
}

func (s *xlsxSource) next() (int, []string, error) {
	if !s.rows.Next() {
		if err := s.rows.Error(); err != nil {
			return 0, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "Excel 文件内容有误，无法读取", Err: err}
		}
		return 0, nil, io.EOF
	}
	// Next visits every row number, including ones absent from the XML.
	s.line++
	cells, err := s.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return 0, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: fmt.Sprintf("Excel 第 %d 行无法读取", s.line), Err: err}
	}
	if s.formulas != nil && len(s.formulas.text) == 0 && len(s.formulas.expand) == 0 {
		return s.line, cells, nil
	}
	for i := range cells {
		ref, err := excelize.CoordinatesToCellName(i+1, s.line)
		if err != nil {
			continue
		}
		if s.formulas != nil {
			if text, ok := s.formulas.text[ref]; ok {
				cells[i] = "=" + text
				continue
			}
			if !s.formulas.expand[ref] {
				continue
			}
		}
		// A shared formula (Excel's fill-down) is stored once; excelize
		// rewrites it for each cell. This loads the whole sheet once.
		if formula, err := s.f.GetCellFormula(s.sheet, ref); err == nil && formula != "" {
			cells[i] = "=" + formula
		}
	}
	return s.line, cells, nil
}

func (s *xlsxSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// formulaCells are the cells of a worksheet that hold a formula.
type formulaCells struct {
	text   map[string]string // cell reference → formula text as stored
	expand map[string]bool   // cell reference → shared formula excelize must expand
}

// scanFormulas finds the formula cells of the named worksheet by scanning its
// XML once, which is far cheaper than asking excelize cell by cell (that
// unmarshals the whole sheet). It returns nil when the package is laid out in
// a way it does not follow; the caller then asks excelize about every cell.
func scanFormulas(data []byte, sheet string) *formulaCells {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	part := firstSheetPart(zr, sheet)
	if part == "" {
		return nil
	}
	xmlData := readPart(zr, part)
	if xmlData == nil {
		return nil
	}
	fc := &formulaCells{text: map[string]string{}, expand: map[string]bool{}}
	if !hasFormulaTag(xmlData) {
		return fc
	}
	if bytes.Contains(xmlData, []byte("<![CDATA[")) {
		return nil
	}
	ref := ""
	for s := xmlData; ; {
		lt := bytes.IndexByte(s, '<')
		if lt < 0 {
			return fc
		}
		s = s[lt+1:]
		gt := bytes.IndexByte(s, '>')
		if gt < 0 {
			return nil
		}
		tag := s[:gt]
		s = s[gt+1:]
		name, attrs, _ := bytes.Cut(tag, []byte(" "))
		if i := bytes.IndexByte(name, ':'); i >= 0 {
			name = name[i+1:]
		}
		selfClosing := bytes.HasSuffix(tag, []byte("/"))
		name = bytes.TrimSuffix(name, []byte("/"))
		switch string(name) {
		case "c":
			ref = attr(attrs, "r")
			if ref == "" {
				return nil // cells located by position only
			}
		case "f":
			if ref == "" {
				return nil
			}
			if selfClosing {
				fc.expand[ref] = true
				continue
			}
			end := bytes.IndexByte(s, '<')
			if end < 0 {
				return nil
			}
			text := html.UnescapeString(string(s[:end]))
			if text == "" {
				fc.expand[ref] = true
			} else {
				fc.text[ref] = text
			}
		}
	}
}

// hasFormulaTag reports whether the XML may hold an <f> element (prefixed or
// not); <formula1> of a data validation does not count.
func hasFormulaTag(b []byte) bool {
	for _, p := range []string{"<f>", "<f ", "<f/", ":f>", ":f ", ":f/"} {
		if bytes.Contains(b, []byte(p)) {
			return true
		}
	}
	return false
}

// attr returns the value of attribute name in the attribute text of a tag.
func attr(attrs []byte, name string) string {
	for len(attrs) > 0 {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 || eq+1 >= len(attrs) {
			return ""
		}
		key := string(bytes.TrimSpace(attrs[:eq]))
		q := attrs[eq+1]
		rest := attrs[eq+2:]
		end := bytes.IndexByte(rest, q)
		if end < 0 {
			return ""
		}
		if key == name {
			return html.UnescapeString(string(rest[:end]))
		}
		attrs = rest[end+1:]
	}
	return ""
}

// firstSheetPart resolves the package path of the workbook's first sheet, and
// checks that it is the sheet excelize opened.
func firstSheetPart(zr *zip.Reader, sheet string) string {
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if xml.Unmarshal(readPart(zr, "xl/workbook.xml"), &wb) != nil || len(wb.Sheets) == 0 || wb.Sheets[0].Name != sheet {
		return ""
	}
	if xml.Unmarshal(readPart(zr, "xl/_rels/workbook.xml.rels"), &rels) != nil {
		return ""
	}
	for _, r := range rels.Rels {
		if r.ID == wb.Sheets[0].ID {
			if strings.HasPrefix(r.Target, "/") {
				return strings.TrimPrefix(r.Target, "/")
			}
			return path.Join("xl", r.Target)
		}
	}
	return ""
}

// readPart returns the content of one package part, nil when absent.
func readPart(zr *zip.Reader, name string) []byte {
	for _, f := range zr.File {
		if !strings.EqualFold(f.Name, name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, maxUnzipped))
		if err != nil {
			return nil
		}
		return b
	}
	return nil
}
