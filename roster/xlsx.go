package roster

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"safetybot"
)

// instructionsSheet is the name of the explanatory sheet WriteTemplate adds; it
// is not reported as an ignored sheet.
const instructionsSheet = "填写说明"

// openXLSX opens the first worksheet of a workbook.
//
// Cells are read raw (no number format applied, so a date cell gives its
// serial number), and a cell holding a formula gives the formula text with its
// leading "=", never a computed result: a roster is data, not a calculation.
//
// The usual path reads the sheet XML directly in one pass, which is an order
// of magnitude faster than excelize's encoding/xml reflection (5,000 rows in a
// few tens of milliseconds instead of about half a second). Workbooks laid out
// in a way that path does not follow (no cell references, comments, CDATA)
// are read through excelize instead, which also expands shared formulas.
func openXLSX(data []byte) (src rowSource, date1904 bool, warnings []string, err error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, false, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "无法打开这个 Excel 文件，文件可能已损坏，请在 Excel 中另存为 .xlsx 后再试", Err: err}
	}
	pkg := newPackage(zr)
	wb, ok := pkg.workbook()
	if !ok {
		return openExcelize(data)
	}
	if len(wb.sheets) == 0 {
		return nil, false, nil, invalid("Excel 文件里没有工作表")
	}
	warnings = sheetWarnings(wb.sheets)
	sheetXML, ok := pkg.read(wb.sheetPart)
	if !ok {
		return openExcelize(data)
	}
	var sst []string
	if wb.sstPart != "" {
		sstXML, ok := pkg.read(wb.sstPart)
		if !ok {
			return openExcelize(data)
		}
		if sst, ok = parseSharedStrings(sstXML); !ok {
			return openExcelize(data)
		}
	}
	rows, expand, ok := parseSheet(sheetXML, sst)
	if !ok {
		return openExcelize(data)
	}
	if len(expand) > 0 {
		// Excel stores a filled-down formula once, as a shared formula;
		// excelize rewrites it for each cell.
		f, err := openWorkbook(data)
		if err != nil {
			return nil, false, nil, err
		}
		defer f.Close()
		for _, c := range expand {
			formula, err := f.GetCellFormula(wb.sheets[0], c.ref)
			if err != nil {
				return nil, false, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "Excel 文件中的公式无法读取，请另存为 .xlsx 后再试", Err: err}
			}
			if formula != "" {
				rows[c.row].cells[c.col] = "=" + formula
			}
		}
	}
	return &sliceSource{rows: rows}, wb.date1904, warnings, nil
}

func sheetWarnings(sheets []string) []string {
	for _, name := range sheets[1:] {
		if name != instructionsSheet {
			return []string{fmt.Sprintf("只读取了第一个工作表“%s”，其余工作表已忽略", sheets[0])}
		}
	}
	return nil
}

// openWorkbook opens the workbook with excelize, refusing zip bombs.
func openWorkbook(data []byte) (*excelize.File, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "Excel 文件解压后过大，请拆分成几个文件分批导入", Err: err}
		}
		return nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "无法打开这个 Excel 文件，文件可能已损坏，请在 Excel 中另存为 .xlsx 后再试", Err: err}
	}
	return f, nil
}

// openExcelize reads the first worksheet through excelize's row iterator.
func openExcelize(data []byte) (src rowSource, date1904 bool, warnings []string, err error) {
	f, err := openWorkbook(data)
	if err != nil {
		return nil, false, nil, err
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
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	return &excelizeSource{f: f, sheet: sheets[0], rows: rows}, date1904, sheetWarnings(sheets), nil
}

// excelizeSource streams the rows of one worksheet through excelize.
type excelizeSource struct {
	f     *excelize.File
	sheet string
	rows  *excelize.Rows
	line  int
}

func (s *excelizeSource) next() (int, []string, error) {
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
	// The iterator gives a formula cell's cached result; ask for the formula.
	// (This loads the whole sheet once; this path is the rare one.)
	for i := range cells {
		ref, err := excelize.CoordinatesToCellName(i+1, s.line)
		if err != nil {
			continue
		}
		if formula, err := s.f.GetCellFormula(s.sheet, ref); err == nil && formula != "" {
			cells[i] = "=" + formula
		}
	}
	return s.line, cells, nil
}

func (s *excelizeSource) close() error {
	err := s.rows.Close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sheetRow is one parsed worksheet row.
type sheetRow struct {
	line  int
	cells []string
}

// sliceSource yields rows parsed up front.
type sliceSource struct {
	rows []sheetRow
	i    int
}

func (s *sliceSource) next() (int, []string, error) {
	if s.i >= len(s.rows) {
		return 0, nil, io.EOF
	}
	r := s.rows[s.i]
	s.i++
	return r.line, r.cells, nil
}

func (s *sliceSource) close() error { return nil }

// xlsxPackage gives access to the parts of a workbook's zip package, with a
// budget on how much may be decompressed.
type xlsxPackage struct {
	files  map[string]*zip.File // lower-cased part name → entry
	budget int64
}

func newPackage(zr *zip.Reader) *xlsxPackage {
	p := &xlsxPackage{files: make(map[string]*zip.File, len(zr.File)), budget: maxUnzipped}
	for _, f := range zr.File {
		p.files[strings.ToLower(f.Name)] = f
	}
	return p
}

// read returns a part's content; false when it is absent, unreadable or
// over the budget.
func (p *xlsxPackage) read(name string) ([]byte, bool) {
	f, ok := p.files[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, p.budget+1))
	if err != nil || int64(len(b)) > p.budget {
		return nil, false
	}
	p.budget -= int64(len(b))
	return b, true
}

// workbookInfo is what the reader needs from xl/workbook.xml and its rels.
type workbookInfo struct {
	sheets    []string // sheet names in workbook order
	sheetPart string   // package path of the first sheet
	sstPart   string   // package path of the shared strings, "" when none
	date1904  bool
}

func (p *xlsxPackage) workbook() (workbookInfo, bool) {
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name string `xml:"name,attr"`
			ID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	var info workbookInfo
	wbXML, ok := p.read("xl/workbook.xml")
	if !ok || xml.Unmarshal(wbXML, &wb) != nil {
		return info, false
	}
	relsXML, ok := p.read("xl/_rels/workbook.xml.rels")
	if !ok || xml.Unmarshal(relsXML, &rels) != nil {
		return info, false
	}
	info.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	for _, s := range wb.Sheets {
		info.sheets = append(info.sheets, s.Name)
	}
	target := func(t string) string {
		if strings.HasPrefix(t, "/") {
			return strings.TrimPrefix(t, "/")
		}
		return path.Join("xl", t)
	}
	for _, r := range rels.Rels {
		if len(wb.Sheets) > 0 && r.ID == wb.Sheets[0].ID {
			info.sheetPart = target(r.Target)
		}
		if strings.HasSuffix(r.Type, "/sharedStrings") {
			info.sstPart = target(r.Target)
		}
	}
	return info, len(wb.Sheets) == 0 || info.sheetPart != ""
}

// xmlTag is one tag met while scanning XML.
type xmlTag struct {
	name        []byte // local name, without a namespace prefix
	attrs       []byte
	closing     bool // </name>
	selfClosing bool // <name/>
}

// xmlScanner walks the tags of a document. Text is read with text() right
// after an opening tag. It does not handle comments or CDATA; callers check
// for them first.
type xmlScanner struct{ rest []byte }

func (x *xmlScanner) next() (xmlTag, bool) {
	lt := bytes.IndexByte(x.rest, '<')
	if lt < 0 {
		return xmlTag{}, false
	}
	s := x.rest[lt+1:]
	// The tag ends at the first '>' outside a quoted attribute value.
	end, quote := -1, byte(0)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return xmlTag{}, false
	}
	raw := s[:end]
	x.rest = s[end+1:]
	var t xmlTag
	if len(raw) > 0 && raw[0] == '/' {
		t.closing = true
		raw = raw[1:]
	}
	if n := len(raw); n > 0 && raw[n-1] == '/' {
		t.selfClosing = true
		raw = raw[:n-1]
	}
	name := raw
	if i := bytes.IndexAny(raw, " \t\r\n"); i >= 0 {
		name, t.attrs = raw[:i], raw[i+1:]
	}
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	t.name = name
	return t, true
}

// text returns the character data up to the next tag, unescaped.
func (x *xmlScanner) text() string {
	end := bytes.IndexByte(x.rest, '<')
	if end < 0 {
		end = len(x.rest)
	}
	return unescapeXML(x.rest[:end])
}

// skip moves past the closing tag of the element just opened.
func (x *xmlScanner) skip(name string) bool {
	for depth := 0; ; {
		t, ok := x.next()
		if !ok {
			return false
		}
		if string(t.name) != name || t.selfClosing {
			continue
		}
		if !t.closing {
			depth++
			continue
		}
		if depth == 0 {
			return true
		}
		depth--
	}
}

// richText collects the text of a <si> or <is> element (plain or rich runs,
// without phonetic hints) up to its closing tag.
func (x *xmlScanner) richText(name string) (string, bool) {
	var b strings.Builder
	for {
		t, ok := x.next()
		if !ok {
			return "", false
		}
		switch {
		case string(t.name) == name && t.closing:
			return bstr(b.String()), true
		case string(t.name) == "rPh" && !t.closing && !t.selfClosing:
			if !x.skip("rPh") {
				return "", false
			}
		case string(t.name) == "t" && !t.closing && !t.selfClosing:
			b.WriteString(x.text())
		}
	}
}

// unsupportedXML reports constructs the scanner leaves to excelize.
func unsupportedXML(b []byte) bool {
	return bytes.Contains(b, []byte("<!--")) || bytes.Contains(b, []byte("<![CDATA[")) || bytes.Contains(b, []byte("<!DOCTYPE"))
}

// parseSharedStrings reads xl/sharedStrings.xml.
func parseSharedStrings(b []byte) ([]string, bool) {
	if unsupportedXML(b) {
		return nil, false
	}
	var out []string
	x := xmlScanner{rest: b}
	for {
		t, ok := x.next()
		if !ok {
			return out, true
		}
		if string(t.name) != "si" || t.closing {
			continue
		}
		if t.selfClosing {
			out = append(out, "")
			continue
		}
		s, ok := x.richText("si")
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
}

// formulaCell is a cell whose shared formula excelize must expand.
type formulaCell struct {
	row, col int // index into the parsed rows and their cells
	ref      string
}

// parseSheet reads every row of a worksheet, with the values excelize gives
// with RawCellValue. It reports false for a layout it does not follow.
func parseSheet(b []byte, sst []string) (rows []sheetRow, expand []formulaCell, ok bool) {
	if unsupportedXML(b) {
		return nil, nil, false
	}
	x := xmlScanner{rest: b}
	line := 0
	for {
		t, ok := x.next()
		if !ok || (string(t.name) == "sheetData" && t.closing) {
			return rows, expand, true
		}
		if string(t.name) != "row" || t.closing {
			continue
		}
		if r := attr(t.attrs, "r"); r != "" {
			n, err := strconv.Atoi(r)
			if err != nil || n <= line || n > excelize.TotalRows {
				return nil, nil, false
			}
			line = n
		} else {
			line++
		}
		if t.selfClosing {
			continue
		}
		row := sheetRow{line: line}
		for {
			t, ok := x.next()
			if !ok {
				return nil, nil, false
			}
			if string(t.name) == "row" && t.closing {
				break
			}
			if string(t.name) != "c" || t.closing {
				continue
			}
			ref := attr(t.attrs, "r")
			col, rowNum, err := excelize.CellNameToCoordinates(ref)
			if err != nil || rowNum != line {
				return nil, nil, false // cells placed by position only
			}
			if t.selfClosing {
				continue
			}
			value, shared, ok := x.cell(attr(t.attrs, "t"), sst)
			if !ok {
				return nil, nil, false
			}
			for len(row.cells) < col {
				row.cells = append(row.cells, "")
			}
			row.cells[col-1] = value
			if shared {
				expand = append(expand, formulaCell{row: len(rows), col: col - 1, ref: ref})
			}
		}
		rows = append(rows, row)
	}
}

// cell reads the children of a <c> element of type typ up to </c>. shared is
// set for a formula stored elsewhere (Excel's fill-down), whose text the
// caller must obtain from excelize.
func (x *xmlScanner) cell(typ string, sst []string) (value string, shared, ok bool) {
	var v, inline, formula string
	hasFormula, hasInline := false, false
	for {
		t, ok := x.next()
		if !ok {
			return "", false, false
		}
		if t.closing {
			if string(t.name) == "c" {
				break
			}
			continue
		}
		switch string(t.name) {
		case "v":
			if !t.selfClosing {
				v = x.text()
			}
		case "f":
			hasFormula = true
			if !t.selfClosing {
				formula = x.text()
			}
		case "is":
			if !t.selfClosing {
				if inline, ok = x.richText("is"); !ok {
					return "", false, false
				}
				hasInline = true
			}
		}
	}
	switch {
	case hasFormula && formula != "":
		return "=" + formula, false, true
	case hasFormula:
		return "", true, true
	case typ == "s":
		if v == "" {
			return "", false, true
		}
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || i < 0 || i >= len(sst) {
			return "", false, false
		}
		return sst[i], false, true
	case typ == "inlineStr" && hasInline:
		return inline, false, true
	}
	return v, false, true
}

var bstrRe = regexp.MustCompile(`_x[a-fA-F\d]{4}_`)

// bstr decodes the _xHHHH_ escapes OOXML uses for characters XML cannot
// carry (as excelize does for shared and inline strings).
func bstr(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	return bstrRe.ReplaceAllStringFunc(s, func(m string) string {
		if m == "_x005F_" {
			return "_"
		}
		n, err := strconv.ParseUint(m[2:6], 16, 32)
		if err != nil {
			return m
		}
		return string(rune(n))
	})
}

// unescapeXML resolves entities and normalises line ends as an XML parser does.
func unescapeXML(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 && bytes.IndexByte(b, '\r') < 0 {
		return string(b)
	}
	s := string(b)
	if strings.Contains(s, "\r") {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	return html.UnescapeString(s)
}

// attr returns the value of attribute name in the attribute text of a tag.
func attr(attrs []byte, name string) string {
	for len(attrs) > 0 {
		eq := bytes.IndexByte(attrs, '=')
		if eq < 0 {
			return ""
		}
		key := bytes.TrimSpace(attrs[:eq])
		rest := bytes.TrimLeft(attrs[eq+1:], " \t\r\n")
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return ""
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return ""
		}
		if string(key) == name {
			return unescapeXML(rest[1 : 1+end])
		}
		attrs = rest[end+2:]
	}
	return ""
}
