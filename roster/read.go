package roster

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	xunicode "golang.org/x/text/encoding/unicode"

	"safetybot"
)

// MaxFileSize is the largest roster file accepted, in bytes (50 MB).
const MaxFileSize = 50 << 20

// maxUnzipped caps what an XLSX may expand to, so that a small zip bomb cannot
// exhaust memory. A 50,000-row roster is about 25 MB of sheet XML.
const maxUnzipped = 256 << 20

// headerSearchRows is how many non-blank rows may precede the header (a title
// such as "青石镇企业名单" often sits above it).
const headerSearchRows = 10

// Reader reads roster files. The zero value is ready to use; the package-level
// ReadEnterprises and ReadOfficials use it.
type Reader struct {
	// Clock tells today's date, against which a last-inspected date in the
	// future is caught. Nil means the system clock.
	Clock safetybot.Clock
	// Location is the campaign time zone: dates are midnight there and "today"
	// is today there. Nil means Asia/Shanghai.
	Location *time.Location
}

// ReadEnterprises reads and validates an enterprise roster with a zero Reader.
// See Reader.ReadEnterprises.
func ReadEnterprises(r io.Reader, filename string) (*Result[EnterpriseRow], error) {
	return (&Reader{}).ReadEnterprises(r, filename)
}

// ReadOfficials reads and validates an officials roster with a zero Reader.
// See Reader.ReadOfficials.
func ReadOfficials(r io.Reader, filename string) (*Result[OfficialRow], error) {
	return (&Reader{}).ReadOfficials(r, filename)
}

var shanghai = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	// No tzdata on the machine: China has had no daylight saving since 1991.
	return time.FixedZone("CST", 8*60*60)
})

func (rd *Reader) location() *time.Location {
	if rd.Location != nil {
		return rd.Location
	}
	return shanghai()
}

// today is midnight of the current day in the campaign time zone.
func (rd *Reader) today() time.Time {
	var now time.Time
	if rd.Clock != nil {
		now = rd.Clock.Now()
	} else {
		now = time.Now()
	}
	loc := rd.location()
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func invalid(format string, args ...any) error {
	return safetybot.Errorf(safetybot.EINVALID, format, args...)
}

func errTooLarge() error {
	return invalid("文件过大（超过 %d MB），请拆分成几个文件分批导入", MaxFileSize>>20)
}

// readAll reads the whole file, refusing more than MaxFileSize bytes. Readers
// that know their size (files, bytes.Reader, strings.Reader) are refused
// before a byte is read.
func readAll(r io.Reader) ([]byte, error) {
	size := int64(-1)
	switch v := r.(type) {
	case interface{ Len() int }:
		size = int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
	}
	if size > MaxFileSize {
		return nil, errTooLarge()
	}
	var buf bytes.Buffer
	if size > 0 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read roster file: %w", err)
	}
	if n > MaxFileSize {
		return nil, errTooLarge()
	}
	return buf.Bytes(), nil
}

// rowSource yields the rows of a sheet with the line number a user sees.
type rowSource interface {
	// next returns the next row; io.EOF after the last.
	next() (line int, cells []string, err error)
	close() error
}

// table is an opened roster: its rows after the header and how their cells map
// to the schema's columns.
type table struct {
	src      rowSource
	layout   layout
	xlsx     bool // cells come from a workbook: bare numbers in date columns are serial dates
	date1904 bool
	warnings []string
}

// next returns the next non-blank data row; io.EOF after the last.
func (t *table) next() (int, []string, error) {
	for {
		line, cells, err := t.src.next()
		if err != nil {
			return 0, nil, err
		}
		if !blank(cells) {
			return line, cells, nil
		}
	}
}

func blank(cells []string) bool {
	for _, c := range cells {
		if clean(c) != "" {
			return false
		}
	}
	return true
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")
)

// open reads the file, picks the format and finds the header row.
func open(r io.Reader, filename string, s *schema) (*table, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	t := &table{}
	ext := strings.ToLower(filepath.Ext(filename))
	switch {
	case bytes.HasPrefix(data, zipMagic):
		t.xlsx = true
		src, date1904, warnings, err := openXLSX(data)
		if err != nil {
			return nil, err
		}
		t.src, t.date1904, t.warnings = src, date1904, warnings
	case bytes.HasPrefix(data, oleMagic):
		return nil, invalid("不支持旧版 Excel（.xls）或加密的文件，请在 Excel 中另存为 .xlsx 或 CSV（不设密码）后再导入")
	case ext == ".xlsx" || ext == ".xlsm":
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, invalid("文件是空的，没有表头也没有数据")
		}
		return nil, invalid("文件扩展名是 %s，但内容不是 Excel 文件，请重新保存后再导入", ext)
	default:
		src, err := openCSV(data)
		if err != nil {
			return nil, err
		}
		t.src = src
	}
	if err := t.findHeader(s); err != nil {
		t.src.close()
		return nil, err
	}
	return t, nil
}

// findHeader reads up to headerSearchRows non-blank rows and takes the first
// that names at least two known columns as the header.
func (t *table) findHeader(s *schema) error {
	var first []string
	for seen := 0; seen < headerSearchRows; {
		line, cells, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		seen++
		l := s.mapHeader(cells)
		if l.known < 2 {
			if first == nil {
				first = append([]string(nil), cells...)
			}
			continue
		}
		if rep := s.repeated(l); len(rep) > 0 {
			return invalid("表头中这些列重复了：%s，请只保留一列", strings.Join(rep, "、"))
		}
		if miss := s.missing(l); len(miss) > 0 {
			return invalid("缺少必填列：%s", strings.Join(miss, "、"))
		}
		if seen > 1 {
			t.warnings = append(t.warnings, fmt.Sprintf("表头在第 %d 行，上面的 %d 行标题已跳过", line, seen-1))
		}
		if len(l.unknown) > 0 {
			t.warnings = append(t.warnings, fmt.Sprintf("已忽略无法识别的列：%s", strings.Join(l.unknown, "、")))
		}
		t.layout = l
		return nil
	}
	if first == nil {
		return invalid("文件是空的，没有表头也没有数据")
	}
	return invalid("缺少必填列：%s", strings.Join(s.missing(s.mapHeader(first)), "、"))
}

// openCSV decodes the text and returns a CSV row source.
func openCSV(data []byte) (rowSource, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) == 0 {
		return nil, invalid("文件是空的，没有表头也没有数据")
	}
	head := trimmed[:min(len(trimmed), 4096)]
	if trimmed[0] == '<' || bytes.IndexByte(head, 0) >= 0 {
		return nil, invalid("无法识别文件格式，请上传 CSV 或 Excel（.xlsx）文件")
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	// Quotes stay strict: a lenient reader lets one stray quote swallow every
	// row after it into a single cell, losing rows without a word.
	r.Comma = sniffComma(head)
	return &csvSource{r: r}, nil
}

// decodeText turns the file into UTF-8: UTF-8 with or without BOM, UTF-16 with
// BOM (Excel's "Unicode 文本"), else GBK/GB18030 as Excel writes CSV on a
// Chinese Windows.
func decodeText(data []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		if !utf8.Valid(data[3:]) {
			// Marked UTF-8 but is not: saying so beats importing or quoting garbage.
			return nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "文件标明是 UTF-8 编码，但其中有无法识别的字符，请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后再导入"}
		}
		return data[3:], nil
	case bytes.HasPrefix(data, []byte("\xFF\xFE")) || bytes.HasPrefix(data, []byte("\xFE\xFF")):
		out, err := xunicode.UTF16(xunicode.LittleEndian, xunicode.ExpectBOM).NewDecoder().Bytes(data)
		if err != nil {
			return nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "文件编码无法识别，请另存为 CSV 或 .xlsx 后再导入", Err: err}
		}
		return out, nil
	case utf8.Valid(data):
		return data, nil
	}
	out, err := simplifiedchinese.GB18030.NewDecoder().Bytes(data)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return nil, &safetybot.Error{Code: safetybot.EINVALID, Message: "文件编码无法识别，请在 Excel 中另存为 CSV 或 .xlsx 后再导入", Err: err}
	}
	return out, nil
}

// sniffComma picks the separator: comma, unless the start of the file has more
// tabs (text copied out of Excel) or semicolons.
func sniffComma(head []byte) rune {
	commas := bytes.Count(head, []byte{','})
	tabs := bytes.Count(head, []byte{'\t'})
	semis := bytes.Count(head, []byte{';'})
	switch {
	case tabs > commas && tabs >= semis:
		return '\t'
	case semis > commas:
		return ';'
	}
	return ','
}

type csvSource struct{ r *csv.Reader }

func (s *csvSource) next() (int, []string, error) {
	rec, err := s.r.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return 0, nil, &safetybot.Error{Code: safetybot.EINVALID, Message: fmt.Sprintf("第 %d 行的引号不成对，文件无法读取，请在 Excel 中打开后重新保存", pe.StartLine), Err: err}
		}
		return 0, nil, fmt.Errorf("read csv: %w", err)
	}
	line, _ := s.r.FieldPos(0)
	return line, rec, nil
}

func (s *csvSource) close() error { return nil }
