package scheduler

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// defaultCalendar is the shipped calendar: mainland China public holidays and
// make-up working days of the years it declares.
//
//go:embed calendar_cn.txt
var defaultCalendar []byte

// Calendar knows which days are working days. Monday to Friday are working days
// and weekends are not, except for the days a calendar file lists: public
// holidays (days off) and make-up working days (调休上班, always a weekend day).
// For a year the file does not declare, only the weekend rule applies; see
// CoverageWarning. A Calendar is immutable and safe for concurrent use.
//
// Every method takes the civil date of its argument in the argument's own
// location, so pass times in the campaign time zone.
type Calendar struct {
	source string
	years  map[int]bool
	days   map[civil]listed
}

// civil is a calendar date without a time zone.
type civil struct {
	y int
	m time.Month
	d int
}

func civilOf(t time.Time) civil {
	y, m, d := t.Date()
	return civil{y, m, d}
}

func (c civil) time() time.Time     { return time.Date(c.y, c.m, c.d, 0, 0, 0, 0, time.UTC) }
func (c civil) addDays(n int) civil { return civilOf(c.time().AddDate(0, 0, n)) }
func (c civil) before(o civil) bool { return c.time().Before(o.time()) }
func (c civil) String() string      { return c.time().Format(time.DateOnly) }

type listed struct {
	working bool
	name    string
	line    int
}

// DefaultCalendar returns the shipped calendar (2026, mainland China).
func DefaultCalendar() *Calendar {
	c, err := ParseCalendar(bytes.NewReader(defaultCalendar), "calendar_cn.txt (built in)")
	if err != nil {
		panic("scheduler: shipped calendar is broken: " + err.Error())
	}
	return c
}

// LoadCalendar reads the calendar file at path; an empty path means the shipped
// DefaultCalendar. Errors name the file and line.
func LoadCalendar(path string) (*Calendar, error) {
	if path == "" {
		return DefaultCalendar(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("calendar: %w", err)
	}
	defer f.Close()
	return ParseCalendar(f, path)
}

// ParseCalendar reads a calendar in the file format of calendar_cn.txt:
//
//	# comment
//	year 2026
//	2026-01-01 holiday 元旦
//	2026-01-04 workday 元旦调休上班
//
// "休" may stand for holiday and "班" for workday; the words after the kind are a
// free-form name. Every listed date must fall in a declared year, no date may be
// listed twice, and a workday must be a Saturday or Sunday. name labels errors,
// which read "name:line: problem".
func ParseCalendar(r io.Reader, name string) (*Calendar, error) {
	c := &Calendar{source: name, years: map[int]bool{}, days: map[civil]listed{}}
	sc := bufio.NewScanner(r)
	lineNo := 0
	fail := func(format string, args ...any) error {
		return fmt.Errorf("calendar %s:%d: %s", name, lineNo, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		lineNo++
		raw := sc.Bytes()
		if lineNo == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\ufeff")) // Windows editors add a BOM
		}
		if !utf8.Valid(raw) {
			return nil, fail("not UTF-8 text (save the file as UTF-8)")
		}
		line, _, _ := strings.Cut(string(raw), "#")
		f := strings.Fields(line) // also splits on full-width spaces
		if len(f) == 0 {
			continue
		}
		if strings.EqualFold(f[0], "year") {
			if len(f) < 2 {
				return nil, fail("%q names no year (want: year 2026)", strings.TrimSpace(line))
			}
			for _, s := range f[1:] {
				y, err := strconv.Atoi(s)
				if err != nil || y < 2000 || y > 2100 {
					return nil, fail("bad year %q (want: year 2026)", s)
				}
				c.years[y] = true
			}
			continue
		}
		d, err := time.Parse(time.DateOnly, f[0])
		if err != nil {
			return nil, fail("bad date %q (want YYYY-MM-DD, e.g. 2026-10-01)", f[0])
		}
		if len(f) < 2 {
			return nil, fail("%s has no kind (want holiday or workday after the date)", f[0])
		}
		var working bool
		switch strings.ToLower(f[1]) {
		case "holiday", "休":
		case "workday", "班":
			working = true
		default:
			return nil, fail("unknown kind %q (want holiday or workday)", f[1])
		}
		day := civilOf(d)
		if prev, dup := c.days[day]; dup {
			return nil, fail("%s is listed twice (first on line %d)", day, prev.line)
		}
		if wd := d.Weekday(); working && wd != time.Saturday && wd != time.Sunday {
			return nil, fail("%s is a %s, already a working day; a workday line must be a Saturday or Sunday", day, wd)
		}
		c.days[day] = listed{working: working, name: strings.Join(f[2:], " "), line: lineNo}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("calendar %s: %w", name, err)
	}
	if len(c.years) == 0 {
		return nil, fmt.Errorf("calendar %s: no \"year\" line says which years the file covers", name)
	}
	var stray *civil // report the first offending line, not a random one
	for day, l := range c.days {
		if !c.years[day.y] && (stray == nil || l.line < c.days[*stray].line) {
			stray = &day
		}
	}
	if stray != nil {
		lineNo = c.days[*stray].line
		return nil, fail("%s is in %d, which no \"year\" line declares", *stray, stray.y)
	}
	return c, nil
}

// Source names where the calendar came from.
func (c *Calendar) Source() string { return c.source }

// Years lists the years the calendar covers, ascending.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.years))
	for y := range c.years {
		ys = append(ys, y)
	}
	slices.Sort(ys)
	return ys
}

// Covers reports whether the calendar lists the holidays of year. Outside its
// years IsWorkingDay falls back to the weekend rule.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// CoverageWarning returns a warning to log when the calendar does not cover
// the year of now, or, from 1 December, the year after; else "".
func (c *Calendar) CoverageWarning(now time.Time) string {
	var missing []string
	if !c.Covers(now.Year()) {
		missing = append(missing, strconv.Itoa(now.Year()))
	}
	if now.Month() == time.December && !c.Covers(now.Year()+1) {
		missing = append(missing, strconv.Itoa(now.Year()+1))
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("working-day calendar %s does not cover %s: public holidays there are unknown and only weekends count as days off; add the year from the State Council notice",
		c.source, strings.Join(missing, ", "))
}

// IsWorkingDay reports whether the date of t is a working day.
func (c *Calendar) IsWorkingDay(t time.Time) bool { return c.working(civilOf(t)) }

func (c *Calendar) working(d civil) bool {
	if l, ok := c.days[d]; ok {
		return l.working
	}
	wd := d.time().Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// NextWorkingDay returns midnight, in t's location, of the first working day
// after the date of t.
func (c *Calendar) NextWorkingDay(t time.Time) time.Time {
	d := civilOf(t).addDays(1)
	for !c.working(d) {
		d = d.addDays(1)
	}
	return time.Date(d.y, d.m, d.d, 0, 0, 0, 0, t.Location())
}

// WorkingDaysBetween counts the working days after the date of a up to and
// including the date of b: from a Friday to the next Monday it is 1 in a normal
// week, and 0 for the same date. It is negative when b is before a.
func (c *Calendar) WorkingDaysBetween(a, b time.Time) int {
	from, to := civilOf(a), civilOf(b)
	sign := 1
	if to.before(from) {
		from, to, sign = to, from, -1
	}
	n := 0
	for d := from.addDays(1); !to.before(d); d = d.addDays(1) {
		if c.working(d) {
			n++
		}
	}
	return sign * n
}
