package roster_test

import (
	"bytes"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"safetybot"
	"safetybot/roster"
)

var fuzzReader = &roster.Reader{Clock: safetybot.ClockFunc(func() time.Time { return time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC) })}

// FuzzReadEnterprises feeds arbitrary bytes to the enterprise roster reader as a
// CSV file (UTF-8, GBK or UTF-16 are sniffed). Nothing may panic; a rejected
// file has a message for the user; an accepted file accounts for every data
// row exactly once (a good row, or one or more errors on its line), lists its
// errors in line order with a readable message, and every row it returns
// passes the same validation the store applies (credit code check character,
// name, township, category), names a principal, and has a credit code no
// other returned row has. The seed corpus is in testdata/fuzz/FuzzReadEnterprises
// (small files: UTF-8 with and without BOM, GBK, UTF-16 with tabs, Chinese and
// English headers, a title row, bad rows).
func FuzzReadEnterprises(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fuzzReader.ReadEnterprises(bytes.NewReader(data), "roster.csv")
		if !checkResult(t, res, err, func(r roster.EnterpriseRow) int { return r.Line }) {
			return
		}
		codes := map[string]bool{}
		for _, r := range res.Rows {
			e := r.Enterprise
			if err := e.Validate(); err != nil {
				t.Fatalf("line %d accepted but the store would refuse it: %v (%+v)", r.Line, err, e)
			}
			if !e.Active || r.PrincipalUserID == "" || r.PrincipalName == "" {
				t.Fatalf("line %d accepted without a principal or inactive: %+v", r.Line, r)
			}
			if !safetybot.ValidUserID(r.PrincipalUserID) || (r.SafetyOfficerUserID != "" && !safetybot.ValidUserID(r.SafetyOfficerUserID)) {
				t.Fatalf("line %d accepted with an invalid userid: %+v", r.Line, r)
			}
			if r.SafetyOfficerUserID != "" && strings.EqualFold(r.SafetyOfficerUserID, r.PrincipalUserID) {
				t.Fatalf("line %d: the principal is also the safety officer", r.Line)
			}
			if codes[e.CreditCode] {
				t.Fatalf("credit code %s accepted twice", e.CreditCode)
			}
			codes[e.CreditCode] = true
		}
	})
}

// FuzzReadOfficials does the same for the officials roster: every returned
// person passes Person.Validate with an official role, and no userid is
// returned twice.
func FuzzReadOfficials(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := fuzzReader.ReadOfficials(bytes.NewReader(data), "officials.csv")
		if !checkResult(t, res, err, func(r roster.OfficialRow) int { return r.Line }) {
			return
		}
		ids := map[string]bool{}
		for _, r := range res.Rows {
			p := r.Person
			if err := p.Validate(); err != nil {
				t.Fatalf("line %d accepted but the store would refuse it: %v (%+v)", r.Line, err, p)
			}
			switch p.Role {
			case safetybot.RoleTownship, safetybot.RoleDepartment, safetybot.RoleOffice:
			default:
				t.Fatalf("line %d accepted with role %q, not an official's", r.Line, p.Role)
			}
			if !p.Active {
				t.Fatalf("line %d accepted inactive", r.Line)
			}
			k := strings.ToLower(p.UserID)
			if ids[k] {
				t.Fatalf("userid %s accepted twice", p.UserID)
			}
			ids[k] = true
		}
	})
}

// checkResult checks what every roster read must satisfy and reports whether
// there is a result to look at further.
func checkResult[T any](t *testing.T, res *roster.Result[T], err error, line func(T) int) bool {
	t.Helper()
	if err != nil {
		if safetybot.ErrorMessage(err) == "" {
			t.Fatalf("file refused without a message for the user: %v", err)
		}
		if res != nil {
			t.Fatalf("both a result and an error: %v", err)
		}
		return false
	}
	if res == nil {
		t.Fatal("no result and no error")
	}
	if !sort.SliceIsSorted(res.Errors, func(i, j int) bool { return res.Errors[i].Line < res.Errors[j].Line }) {
		t.Fatalf("errors not in line order: %v", res.Errors)
	}
	bad := map[int]bool{}
	for _, e := range res.Errors {
		if e.Line < 2 {
			t.Fatalf("error on line %d (the header is line 1 or later): %v", e.Line, e)
		}
		if e.Message == "" || !utf8.ValidString(e.Message) {
			t.Fatalf("error without a readable message: %#v", e)
		}
		bad[e.Line] = true
	}
	for _, r := range res.Rows {
		if bad[line(r)] {
			t.Fatalf("row on line %d returned although it has an error", line(r))
		}
	}
	if len(res.Rows)+len(bad) != res.Total {
		t.Fatalf("%d data rows, but %d accepted and %d lines with errors", res.Total, len(res.Rows), len(bad))
	}
	return true
}
