package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QuietHours is a daily window, in the campaign time zone, inside which nothing is
// pushed. Start == End means no quiet hours.
type QuietHours struct {
	Start, End int // minutes after midnight
}

// ParseQuietHours parses "HH:MM-HH:MM" (the window may cross midnight) or "" / "off".
func ParseQuietHours(s string) (QuietHours, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return QuietHours{}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("malformed quiet hours %q (want HH:MM-HH:MM, e.g. 21:00-08:00)", s)
	}
	start, err1 := parseClock(a)
	end, err2 := parseClock(b)
	if err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("malformed quiet hours %q (want HH:MM-HH:MM, e.g. 21:00-08:00)", s)
	}
	return QuietHours{Start: start, End: end}, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("bad clock %q", s)
	}
	return hh*60 + mm, nil
}

// Contains reports whether t (converted to loc) falls inside the quiet window.
func (q QuietHours) Contains(t time.Time, loc *time.Location) bool {
	if q.Start == q.End {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// NextAllowed returns t itself when it is outside the window, else the end of the
// window: the first moment pushes may go out again.
func (q QuietHours) NextAllowed(t time.Time, loc *time.Location) time.Time {
	if !q.Contains(t, loc) {
		return t
	}
	lt := t.In(loc)
	end := time.Date(lt.Year(), lt.Month(), lt.Day(), q.End/60, q.End%60, 0, 0, loc)
	if !end.After(lt) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// String renders the window as HH:MM-HH:MM.
func (q QuietHours) String() string {
	if q.Start == q.End {
		return "off"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d", q.Start/60, q.Start%60, q.End/60, q.End%60)
}
