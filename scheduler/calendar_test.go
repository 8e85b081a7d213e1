package scheduler_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"safetybot/scheduler"
)

var shanghai = mustLocation("Asia/Shanghai")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// day returns midnight of a date in Asia/Shanghai.
func day(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// at returns a minute in Asia/Shanghai, "2026-07-01 09:00".
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// The State Council notice for 2026 (2025-11-04), transcribed independently of
// calendar_cn.txt: days off and make-up working days.
var (
	official2026Off = []string{
		"2026-01-01", "2026-01-02", "2026-01-03",
		"2026-02-15", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-21", "2026-02-22", "2026-02-23",
		"2026-04-04", "2026-04-05", "2026-04-06",
		"2026-05-01", "2026-05-02", "2026-05-03", "2026-05-04", "2026-05-05",
		"2026-06-19", "2026-06-20", "2026-06-21",
		"2026-09-25", "2026-09-26", "2026-09-27",
		"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
	}
	official2026MakeUp = []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"}
)

func TestDefaultCalendar2026(t *testing.T) {
	c := scheduler.DefaultCalendar()
	if got := c.Years(); len(got) != 1 || got[0] != 2026 {
		t.Fatalf("years = %v, want [2026]", got)
	}
	off := map[string]bool{}
	for _, d := range official2026Off {
		off[d] = true
	}
	makeUp := map[string]bool{}
	for _, d := range official2026MakeUp {
		makeUp[d] = true
	}
	// Every day of 2026: listed days as the notice says, all others by weekday.
	for d := day("2026-01-01"); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		want := d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
		switch {
		case off[key]:
			want = false
		case makeUp[key]:
			want = true
		}
		if got := c.IsWorkingDay(d); got != want {
			t.Errorf("%s (%s): working = %v, want %v", key, d.Weekday(), got, want)
		}
	}
	// The weekdays the notice prints beside its dates.
	for date, wd := range map[string]time.Weekday{
		"2026-01-01": time.Thursday, "2026-01-04": time.Sunday, "2026-02-14": time.Saturday,
		"2026-02-15": time.Sunday, "2026-02-23": time.Monday, "2026-02-28": time.Saturday,
		"2026-04-04": time.Saturday, "2026-05-01": time.Friday, "2026-05-05": time.Tuesday,
		"2026-05-09": time.Saturday, "2026-06-19": time.Friday, "2026-09-20": time.Sunday,
		"2026-09-25": time.Friday, "2026-10-01": time.Thursday, "2026-10-07": time.Wednesday,
		"2026-10-10": time.Saturday,
	} {
		if got := day(date).Weekday(); got != wd {
			t.Errorf("%s is a %s, the notice says %s", date, got, wd)
		}
	}
}

func TestCalendarOutsideCoveredYears(t *testing.T) {
	c := scheduler.DefaultCalendar()
	// 2027-02-08 is a Monday; the 2027 Spring Festival is not in the file, so
	// only the weekend rule applies.
	if !c.IsWorkingDay(day("2027-02-08")) || c.IsWorkingDay(day("2027-02-06")) {
		t.Fatal("uncovered year does not follow the weekend rule")
	}
	if c.Covers(2027) {
		t.Fatal("covers 2027")
	}
	if w := c.CoverageWarning(at("2026-07-01 09:00")); w != "" {
		t.Fatalf("warning inside a covered year: %s", w)
	}
	if w := c.CoverageWarning(at("2026-12-01 09:00")); !strings.Contains(w, "2027") {
		t.Fatalf("December warning does not name next year: %q", w)
	}
	if w := c.CoverageWarning(at("2027-03-01 09:00")); !strings.Contains(w, "2027") {
		t.Fatalf("warning for an uncovered year: %q", w)
	}
}

func TestNextWorkingDay(t *testing.T) {
	c := scheduler.DefaultCalendar()
	for _, tc := range []struct{ from, want string }{
		{"2026-07-03", "2026-07-06"}, // Friday -> Monday
		{"2026-07-06", "2026-07-07"}, // Monday -> Tuesday
		{"2026-09-30", "2026-10-08"}, // before the National Day week
		{"2026-10-09", "2026-10-10"}, // Friday -> make-up Saturday
		{"2026-02-13", "2026-02-14"}, // Friday -> make-up Saturday before Spring Festival
		{"2026-02-14", "2026-02-24"}, // across the 9-day Spring Festival
		{"2026-12-31", "2027-01-01"}, // into an uncovered year: weekend rule only
	} {
		got := c.NextWorkingDay(day(tc.from).Add(15 * time.Hour))
		if !got.Equal(day(tc.want)) {
			t.Errorf("NextWorkingDay(%s) = %s, want %s 00:00", tc.from, got, tc.want)
		}
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	c := scheduler.DefaultCalendar()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2026-07-01", "2026-07-01", 0},
		{"2026-07-03", "2026-07-06", 1},  // Friday to Monday
		{"2026-07-01", "2026-07-08", 5},  // one normal week
		{"2026-09-30", "2026-10-08", 1},  // National Day week: only 10-08
		{"2026-09-18", "2026-09-21", 2},  // make-up Sunday 09-20 and Monday
		{"2026-10-08", "2026-09-30", -1}, // reversed
	} {
		if got := c.WorkingDaysBetween(day(tc.a).Add(18*time.Hour), day(tc.b).Add(8*time.Hour)); got != tc.want {
			t.Errorf("WorkingDaysBetween(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestParseCalendarErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"bad date", "year 2026\n2026-13-01 holiday X\n", "t.txt:2: bad date"},
		{"unknown kind", "year 2026\n\n2026-10-01 vacation 国庆\n", "t.txt:3: unknown kind"},
		{"no kind", "year 2026\n2026-10-01\n", "t.txt:2:"},
		{"duplicate", "year 2026\n2026-10-01 holiday a\n# c\n2026-10-01 holiday b\n", "t.txt:4: 2026-10-01 is listed twice (first on line 2)"},
		{"workday on a weekday", "year 2026\n2026-10-08 workday x\n", "t.txt:2: 2026-10-08 is a Thursday"},
		{"undeclared year", "year 2026\n2026-10-01 holiday a\n2027-01-01 holiday b\n", "t.txt:3: 2027-01-01 is in 2027"},
		{"bad year", "year twenty\n", "t.txt:1: bad year"},
		{"no year line", "2026-10-01 holiday a\n", "no \"year\" line"},
		{"not utf-8", "year 2026\n2026-10-01 holiday \xb9\xfa\xc7\xec\n", "t.txt:2: not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scheduler.ParseCalendar(strings.NewReader(tc.text), "t.txt")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseCalendarOfficeEdits(t *testing.T) {
	// What a Windows editor saves: BOM, CRLF, full-width spaces, Chinese kinds,
	// trailing comments.
	text := "\ufeff# 本市日历\r\nyear 2026 2027\r\n2027-01-01　休　元旦 # 待核对\r\n2027-02-06 班 春节调休\r\n"
	c, err := scheduler.ParseCalendar(strings.NewReader(text), "office.txt")
	if err != nil {
		t.Fatal(err)
	}
	if c.IsWorkingDay(day("2027-01-01")) || !c.IsWorkingDay(day("2027-02-06")) || !c.Covers(2027) {
		t.Fatal("office edits not understood")
	}
	path := filepath.Join(t.TempDir(), "calendar.txt")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := scheduler.LoadCalendar(path); err != nil || c.Source() != path || !c.Covers(2027) {
		t.Fatalf("LoadCalendar(%s) = %v, %v", path, c, err)
	}
	if _, err := scheduler.LoadCalendar(filepath.Join(t.TempDir(), "missing.txt")); err == nil {
		t.Fatal("missing file loaded")
	}
	if c, err := scheduler.LoadCalendar(""); err != nil || !c.Covers(2026) {
		t.Fatalf("LoadCalendar(\"\") = %v, %v; want the shipped calendar", c, err)
	}
}
