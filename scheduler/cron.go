package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/robfig/cron/v3"
)

// cronSpec is a 5-field cron expression evaluated in one location. It is also
// the gocron.Cron implementation of our jobs, so gocron fires exactly at the
// times prev computes slots from.
type cronSpec struct {
	expr  string
	sched cron.Schedule
	loc   *time.Location
}

var _ gocron.Cron = (*cronSpec)(nil)

func parseCron(expr string, loc *time.Location) (*cronSpec, error) {
	f := strings.Fields(expr)
	if len(f) != 5 {
		return nil, fmt.Errorf("cron %q: want 5 fields (minute hour day-of-month month day-of-week), evaluated in the campaign time zone", expr)
	}
	sched, err := cron.ParseStandard(strings.Join(f, " "))
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w", expr, err)
	}
	c := &cronSpec{expr: expr, sched: sched, loc: loc}
	if c.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, loc)).IsZero() {
		return nil, fmt.Errorf("cron %q never fires", expr)
	}
	return c, nil
}

// IsValid satisfies gocron.Cron; the expression was checked by parseCron.
func (c *cronSpec) IsValid(_ string, _ *time.Location, now time.Time) error {
	if c.Next(now).IsZero() {
		return errors.New("cron " + c.expr + " never fires again")
	}
	return nil
}

// Next returns the first fire time after t, in the spec's location.
func (c *cronSpec) Next(t time.Time) time.Time { return c.sched.Next(t.In(c.loc)) }

// prev returns the last fire time at or before t, or zero when there is none
// in the past eight years. It looks back through growing windows so that an
// every-minute and a yearly expression both cost a handful of Next calls.
func (c *cronSpec) prev(t time.Time) time.Time {
	for _, w := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 8 * 366 * 24 * time.Hour} {
		s := c.Next(t.Add(-w))
		if s.IsZero() || s.After(t) {
			continue
		}
		for {
			n := c.Next(s)
			if n.IsZero() || n.After(t) {
				return s
			}
			s = n
		}
	}
	return time.Time{}
}
