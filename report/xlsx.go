package report

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The workbook writer behind WriteXLSX. It writes SpreadsheetML directly: a
// 100,000-enterprise summary has about four million cells, and a general
// spreadsheet library spends microseconds on each (the bound is ten
// seconds for the whole workbook). Each sheet is rendered and compressed on
// its own core, then the parts are stored in order. Text is always an inline
// string and no cell ever carries a formula, so nothing a user typed can be
// evaluated; excelize reads every file back in the tests.

// Cell style ids in styles.xml.
const (
	styleHeader  = 1 // bold on a light fill
	stylePercent = 2 // built-in number format 10: 0.00%
	styleDate    = 3 // built-in number format 14: a short date
)

// maxCellChars is Excel's limit on the text of one cell (UTF-16 units).
const maxCellChars = 32767

func writeWorkbook(w io.Writer, tables []Table) error {
	names := make([]string, len(tables))
	used := map[string]bool{}
	for i, t := range tables {
		n := sheetName(t.Name, i)
		for k := 2; used[strings.ToLower(n)]; k++ {
			n = sheetName(t.Name+"("+strconv.Itoa(k)+")", i)
		}
		used[strings.ToLower(n)] = true
		names[i] = n
	}

	// Render and compress the sheets in parallel.
	parts := make([]rawPart, len(tables))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i := range tables {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			parts[i] = compress("xl/worksheets/sheet"+strconv.Itoa(i+1)+".xml", func(b *bufWriter) { writeSheet(b, tables[i], i == 0) })
		}()
	}
	wg.Wait()

	zw := zip.NewWriter(w)
	small := []rawPart{
		compress("[Content_Types].xml", func(b *bufWriter) { contentTypes(b, len(tables)) }),
		compress("_rels/.rels", func(b *bufWriter) {
			b.s(xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
				`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
				`</Relationships>`)
		}),
		compress("xl/workbook.xml", func(b *bufWriter) { workbook(b, names) }),
		compress("xl/_rels/workbook.xml.rels", func(b *bufWriter) { workbookRels(b, len(tables)) }),
		compress("xl/styles.xml", func(b *bufWriter) { b.s(stylesXML) }),
	}
	for _, p := range append(small, parts...) {
		if err := p.store(zw); err != nil {
			return err
		}
	}
	return zw.Close()
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

// rawPart is one compressed part of the package.
type rawPart struct {
	name       string
	data       []byte
	crc        uint32
	size       uint64
	compressed bool
}

func (p rawPart) store(zw *zip.Writer) error {
	fh := &zip.FileHeader{Name: p.name, Method: zip.Deflate, CRC32: p.crc, CompressedSize64: uint64(len(p.data)),
		UncompressedSize64: p.size, Modified: time.Now()}
	fw, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = fw.Write(p.data)
	return err
}

// bufWriter collects a part's XML, hashing and compressing it as it grows.
type bufWriter struct {
	buf  []byte
	fl   *flate.Writer
	out  bytes.Buffer
	crc  uint32
	size uint64
}

func (b *bufWriter) s(x string) {
	b.buf = append(b.buf, x...)
	if len(b.buf) >= 1<<16 {
		b.flush()
	}
}

func (b *bufWriter) flush() {
	b.crc = crc32.Update(b.crc, crc32.IEEETable, b.buf)
	b.size += uint64(len(b.buf))
	b.fl.Write(b.buf)
	b.buf = b.buf[:0]
}

func compress(name string, render func(b *bufWriter)) rawPart {
	b := &bufWriter{buf: make([]byte, 0, 1<<16+4096)}
	b.fl, _ = flate.NewWriter(&b.out, flate.BestSpeed)
	render(b)
	b.flush()
	b.fl.Close()
	return rawPart{name: name, data: b.out.Bytes(), crc: b.crc, size: b.size}
}

// text appends s escaped for XML character data, without the characters XML
// cannot carry, and cut to Excel's cell limit.
func (b *bufWriter) text(s string) {
	if len(s) > maxCellChars {
		s = truncateUTF16(s, maxCellChars)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '&' && c != '<' && c != '>' && c != 0xEF {
			continue // most bytes, including every byte of Chinese text
		}
		var repl string
		skip := 1
		switch {
		case c == '&':
			repl = "&amp;"
		case c == '<':
			repl = "&lt;"
		case c == '>':
			repl = "&gt;"
		case c == '\t' || c == '\n':
			continue
		case c == '\r':
			repl = "&#xD;"
		case c < 0x20:
			repl = "" // not allowed in XML 1.0
		default: // 0xEF: U+FFFE and U+FFFF are not allowed either
			if i+2 >= len(s) || s[i+1] != 0xBF || (s[i+2] != 0xBE && s[i+2] != 0xBF) {
				continue
			}
			skip = 3
		}
		b.buf = append(b.buf, s[start:i]...)
		b.buf = append(b.buf, repl...)
		i += skip - 1
		start = i + 1
	}
	b.buf = append(b.buf, s[start:]...)
	if len(b.buf) >= 1<<16 {
		b.flush()
	}
}

func truncateUTF16(s string, units int) string {
	n := 0
	for i, r := range s {
		n += len(utf16.AppendRune(nil, r))
		if n > units {
			return s[:i]
		}
	}
	return s
}

// colNames caches column letters.
var colNames = func() []string {
	out := make([]string, 0, 702)
	for i := 1; i <= 702; i++ {
		out = append(out, colName(i))
	}
	return out
}()

func colName(n int) string {
	s := ""
	for n > 0 {
		n--
		s = string(rune('A'+n%26)) + s
		n /= 26
	}
	return s
}

func col(i int) string {
	if i < len(colNames) {
		return colNames[i]
	}
	return colName(i + 1)
}

// excelEpoch is day 0 of Excel's 1900 date system (as corrected for its
// fictitious 29 February 1900, for dates from March 1900 on).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// appendSerialDate appends the spreadsheet number of t's civil date and time of day.
func appendSerialDate(dst []byte, t time.Time) []byte {
	y, m, d := t.Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(excelEpoch).Hours() / 24
	h, mi, s := t.Clock()
	frac := float64(h*3600+mi*60+s) / 86400
	return strconv.AppendFloat(dst, days+frac, 'f', -1, 64)
}

func writeSheet(b *bufWriter, t Table, first bool) {
	widths := make([]int, len(t.Headers))
	for i, h := range t.Headers {
		widths[i] = displayWidth(h)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			var w int
			if c.Kind == "text" || c.Kind == "" {
				w = displayWidth(c.Text)
			} else {
				w = displayWidth(c.String())
			}
			widths[i] = max(widths[i], w)
		}
	}
	b.s(xmlHeader + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`)
	b.s(`<sheetViews><sheetView workbookViewId="0"`)
	if first {
		b.s(` tabSelected="1"`)
	}
	b.s(`><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>`)
	b.s(`<sheetFormatPr defaultRowHeight="15"/>`)
	if len(widths) > 0 {
		b.s(`<cols>`)
		for i, wd := range widths {
			n := strconv.Itoa(i + 1)
			b.s(`<col min="` + n + `" max="` + n + `" width="` + strconv.Itoa(min(max(wd+2, 8), 60)) + `" customWidth="1"/>`)
		}
		b.s(`</cols>`)
	}
	b.s(`<sheetData><row r="1">`)
	for i, h := range t.Headers {
		b.s(`<c r="` + col(i) + `1" s="1" t="inlineStr"><is><t>`)
		b.text(h)
		b.s(`</t></is></c>`)
	}
	b.s(`</row>`)
	var num [24]byte
	for ri, r := range t.Rows {
		row := strconv.AppendInt(num[:0], int64(ri+2), 10)
		b.buf = append(b.buf, `<row r="`...)
		b.buf = append(b.buf, row...)
		b.buf = append(b.buf, `">`...)
		for i, c := range r {
			// <c r="B7" s="2"><v>…</v></c>, written piece by piece: no garbage per cell.
			open := func(style string) {
				b.buf = append(b.buf, `<c r="`...)
				b.buf = append(b.buf, col(i)...)
				b.buf = append(b.buf, row...)
				b.buf = append(b.buf, style...)
			}
			switch c.Kind {
			case "int":
				open(`"><v>`)
				b.buf = strconv.AppendInt(b.buf, int64(c.Int), 10)
				b.buf = append(b.buf, `</v></c>`...)
			case "percent":
				open(`" s="2"><v>`)
				b.buf = strconv.AppendFloat(b.buf, c.Float, 'f', -1, 64)
				b.buf = append(b.buf, `</v></c>`...)
			case "date":
				if !c.Time.IsZero() {
					open(`" s="3"><v>`)
					b.buf = appendSerialDate(b.buf, c.Time)
					b.buf = append(b.buf, `</v></c>`...)
				}
			default:
				if c.Text == "" {
					continue
				}
				if first, last := c.Text[0], c.Text[len(c.Text)-1]; isSpace(first) || isSpace(last) {
					open(`" t="inlineStr"><is><t xml:space="preserve">`)
				} else {
					open(`" t="inlineStr"><is><t>`)
				}
				b.text(c.Text)
				b.buf = append(b.buf, `</t></is></c>`...)
			}
		}
		b.buf = append(b.buf, `</row>`...)
		if len(b.buf) >= 1<<16 {
			b.flush()
		}
	}
	b.s(`</sheetData></worksheet>`)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func contentTypes(b *bufWriter, sheets int) {
	b.s(xmlHeader + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/>` +
		`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
		`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>`)
	for i := 1; i <= sheets; i++ {
		b.s(`<Override PartName="/xl/worksheets/sheet` + strconv.Itoa(i) + `.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`)
	}
	b.s(`</Types>`)
}

func workbook(b *bufWriter, names []string) {
	b.s(xmlHeader + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<bookViews><workbookView activeTab="0"/></bookViews><sheets>`)
	for i, n := range names {
		id := strconv.Itoa(i + 1)
		b.s(`<sheet name="`)
		b.text(strings.ReplaceAll(n, `"`, "'"))
		b.s(`" sheetId="` + id + `" r:id="rId` + id + `"/>`)
	}
	b.s(`</sheets></workbook>`)
}

func workbookRels(b *bufWriter, sheets int) {
	b.s(xmlHeader + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for i := 1; i <= sheets; i++ {
		id := strconv.Itoa(i)
		b.s(`<Relationship Id="rId` + id + `" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet` + id + `.xml"/>`)
	}
	b.s(`<Relationship Id="rId` + strconv.Itoa(sheets+1) + `" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`)
	b.s(`</Relationships>`)
}

// stylesXML: 0 plain, 1 header (bold on #E8EEF7), 2 percentage, 3 date.
const stylesXML = xmlHeader + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>` +
	`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
	`<fill><patternFill patternType="solid"><fgColor rgb="FFE8EEF7"/><bgColor indexed="64"/></patternFill></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>` +
	`<xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>` +
	`<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>` +
	`</styleSheet>`
