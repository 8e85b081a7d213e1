package roster

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"
)

// clean trims white space (the full-width space U+3000 included), byte-order
// marks and zero-width spaces that copy-and-paste leaves around cell values.
func clean(s string) string {
	// Most cells need nothing; skip the rune-by-rune trim for them.
	if n := len(s); n == 0 || (s[0] > ' ' && s[0] < 0x80 && s[n-1] > ' ' && s[n-1] < 0x80) {
		return s
	}
	return strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\ufeff' || r == '\u200b'
	})
}

// narrow converts full-width ASCII (Ａ, １, －, （ …) and the full-width space to
// their half-width forms, as a Chinese input method often types them.
func narrow(s string) string {
	wide := false
	for _, r := range s {
		if (r >= 0xFF01 && r <= 0xFF5E) || r == 0x3000 {
			wide = true
			break
		}
	}
	if !wide {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3000:
			return ' '
		}
		return r
	}, s)
}

// code normalises a credit code: half-width, upper case, no spaces at all.
func code(s string) string {
	s = narrow(clean(s))
	if strings.ContainsFunc(s, unicode.IsSpace) {
		s = strings.Join(strings.Fields(s), "")
	}
	return strings.ToUpper(s)
}

// userID normalises a WeCom userid: trimmed and half-width. Case is kept, as
// WeCom returns it in callbacks; comparisons fold case.
func userID(s string) string { return narrow(clean(s)) }

// parseBool reads the yes/no cells (重点监管单位, 是否领导). Empty is no.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(narrow(clean(s))) {
	case "是", "true", "1", "y", "yes":
		return true, true
	case "否", "false", "0", "n", "no", "":
		return false, true
	}
	return false, false
}

// parseCategory accepts the three categories and their short forms.
func parseCategory(s string) (string, bool) {
	switch s {
	case "九小场所", "九小":
		return "九小场所", true
	case "五小企业", "五小":
		return "五小企业", true
	case "一般企业", "一般":
		return "一般企业", true
	}
	return "", false
}

var dateRe = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?)?$`)

// parseDate reads a calendar date written as 2025-03-01, 2025/3/1, 2025.03.01,
// 2025年3月1日 or 20250301 (Excel's CSV export may append a time, and an ISO
// date cell carries one; it is dropped). When fromXLSX is set, a bare number is taken as an Excel serial date,
// which is how a date-formatted cell is stored.
func parseDate(s string, fromXLSX, date1904 bool, loc *time.Location) (time.Time, bool) {
	s = narrow(clean(s))
	var y, m, d int
	switch {
	case fromXLSX && isSerial(s):
		f, _ := strconv.ParseFloat(s, 64)
		t, err := excelize.ExcelDateToTime(f, date1904)
		if err != nil {
			return time.Time{}, false
		}
		y, m, d = t.Year(), int(t.Month()), t.Day()
	case len(s) == 10 && s[4] == '-' && s[7] == '-' && isDigits(s[:4]) && isDigits(s[5:7]) && isDigits(s[8:]):
		// The common 2025-03-01, without the regexp.
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[5:7])
		d, _ = strconv.Atoi(s[8:])
	case len(s) == 8 && isDigits(s):
		y, _ = strconv.Atoi(s[:4])
		m, _ = strconv.Atoi(s[4:6])
		d, _ = strconv.Atoi(s[6:])
	default:
		p := dateRe.FindStringSubmatch(s)
		if p == nil {
			return time.Time{}, false
		}
		y, _ = strconv.Atoi(p[1])
		m, _ = strconv.Atoi(p[2])
		d, _ = strconv.Atoi(p[3])
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, loc)
	// time.Date normalises 2025-02-30 to March; a real date survives unchanged.
	if y < 1900 || t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// isSerial reports whether s is an Excel serial date number (days since 1900,
// possibly with a time fraction) in Excel's valid range.
func isSerial(s string) bool {
	if s == "" || (s[0] < '0' || s[0] > '9') {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && f >= 1 && f < 2958466
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var (
	mobileRe   = regexp.MustCompile(`^(?:\+?86-?)?1[3-9]\d{9}$`)
	landlineRe = regexp.MustCompile(`^(?:\(0\d{2,3}\)-?|0\d{2,3}-?)\d{7,8}(?:(?:-|转)\d{1,6})?$`)
	phoneSep   = regexp.MustCompile(`[/、,;]+`)
)

// phone normalises a phone cell (trimmed, half-width) and reports whether every
// number in it is an 11-digit mobile or a landline with its area code. Several
// numbers may be separated by / 、 , or ;.
func phone(s string) (string, bool) {
	s = narrow(clean(s))
	if s == "" {
		return "", true
	}
	if len(s) == 11 && s[0] == '1' && isDigits(s) {
		return s, s[1] >= '3' // the common case, without the regexps
	}
	for _, p := range phoneSep.Split(s, -1) {
		p = strings.Join(strings.Fields(p), "")
		if p == "" {
			continue
		}
		if !mobileRe.MatchString(p) && !landlineRe.MatchString(p) {
			return s, false
		}
	}
	return s, true
}
