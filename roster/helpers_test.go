package roster_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/xuri/excelize/v2"

	"safetybot"
	"safetybot/roster"
)

// fixtureDir is the repository copy of the shared roster fixtures.
const fixtureDir = "../testdata/fixtures"

// today is the fixed "now" of the tests: after every date in the fixtures.
var today = time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)

// reader is a roster reader with a fixed clock.
var reader = &roster.Reader{Clock: safetybot.ClockFunc(func() time.Time { return today })}

func mustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatalf("read fixture: %v", err)
	}
	return b
}

func mustRecords(tb testing.TB, data []byte) [][]string {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		tb.Fatalf("parse csv: %v", err)
	}
	return recs
}

func csvBytes(tb testing.TB, recs [][]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// mustXLSX builds a workbook whose first sheet holds recs as text cells;
// edit may then change cells (formulas, numbers, styles).
func mustXLSX(tb testing.TB, recs [][]string, edit func(f *excelize.File, sheet string)) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const sheet = "Sheet1"
	for i, rec := range recs {
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+1), &row); err != nil {
			tb.Fatal(err)
		}
	}
	if edit != nil {
		edit(f, sheet)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// validCode returns the i-th made-up credit code with a correct check character.
func validCode(i int) string {
	first := fmt.Sprintf("91320581%09d", i)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// wrongCheck returns code with a check character that does not fit.
func wrongCheck(code string) string {
	last := code[17]
	for _, c := range "0123456789ABCDEFGHJKLMNPQRTUWXY" {
		if byte(c) != last {
			return code[:17] + string(c)
		}
	}
	panic("unreachable")
}

var enterpriseHeader = []string{"credit_code", "name", "township", "sector", "category", "small_place_type", "key_unit", "principal_name", "principal_userid", "safety_officer_userid", "phone", "address", "last_inspected"}

// enterprise returns a valid enterprise record in enterpriseHeader order with
// the given fields changed; i makes the code and userids unique.
func enterprise(i int, change map[string]string) []string {
	v := map[string]string{
		"credit_code":           validCode(i),
		"name":                  fmt.Sprintf("测试企业%d", i),
		"township":              "青石镇",
		"sector":                "餐饮",
		"category":              "九小场所",
		"small_place_type":      "小餐饮",
		"key_unit":              "否",
		"principal_name":        "王伟",
		"principal_userid":      fmt.Sprintf("qy%06d", i),
		"safety_officer_userid": "",
		"phone":                 "13912345678",
		"address":               "青石镇人民路1号",
		"last_inspected":        "2025-06-01",
	}
	for k, val := range change {
		if _, ok := v[k]; !ok {
			panic("unknown field " + k)
		}
		v[k] = val
	}
	rec := make([]string, len(enterpriseHeader))
	for j, h := range enterpriseHeader {
		rec[j] = v[h]
	}
	return rec
}

var officialHeader = []string{"userid", "name", "role", "township", "department", "leader"}

// hasHan reports whether s contains a Chinese character.
func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

// assertChinese fails when a user-facing message is not Chinese prose.
func assertChinese(tb testing.TB, msg string) {
	tb.Helper()
	if !hasHan(msg) {
		tb.Errorf("message %q has no Chinese", msg)
	}
	lower := strings.ToLower(msg)
	for _, w := range []string{"invalid", "error", "required", "line ", "failed", "unexpected", "missing", "cannot", "must"} {
		if strings.Contains(lower, w) {
			tb.Errorf("message %q contains English %q", msg, w)
		}
	}
}

func errorsText(errs []roster.RowError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.String())
		b.WriteString("\n")
	}
	return b.String()
}
