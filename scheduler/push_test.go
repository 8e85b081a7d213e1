package scheduler_test

import (
	"testing"

	"safetybot/config"
	"safetybot/scheduler"
	"safetybot/store/storetest"
)

func TestNextPushTime(t *testing.T) {
	st := storetest.New(t, "sqlite")
	quiet, err := config.ParseQuietHours("21:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		workdays bool
		quiet    config.QuietHours
		at, want string
	}{
		{"before the window", false, quiet, "2026-07-01 20:59", "2026-07-01 20:59"},
		{"window starts", false, quiet, "2026-07-01 21:00", "2026-07-02 08:00"},
		{"before midnight", false, quiet, "2026-07-01 23:30", "2026-07-02 08:00"},
		{"after midnight", false, quiet, "2026-07-02 02:00", "2026-07-02 08:00"},
		{"window ends", false, quiet, "2026-07-02 08:00", "2026-07-02 08:00"},
		{"Friday night, weekends allowed", false, quiet, "2026-07-03 22:00", "2026-07-04 08:00"},
		{"no quiet hours", false, config.QuietHours{}, "2026-07-01 23:30", "2026-07-01 23:30"},
		{"Friday night to Monday", true, quiet, "2026-07-03 22:00", "2026-07-06 08:00"},
		{"Saturday noon to Monday", true, quiet, "2026-07-04 12:00", "2026-07-06 08:00"},
		{"into the National Day week", true, quiet, "2026-09-30 22:00", "2026-10-08 08:00"},
		{"to a make-up Saturday", true, quiet, "2026-10-09 21:30", "2026-10-10 08:00"},
		{"working day, allowed hour", true, quiet, "2026-10-10 10:00", "2026-10-10 10:00"},
		{"holiday, no quiet hours", true, config.QuietHours{}, "2026-10-01 10:00", "2026-10-08 00:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := scheduler.New(scheduler.Config{Store: st, Location: shanghai, Quiet: tc.quiet, PushWorkingDaysOnly: tc.workdays})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Shutdown() })
			from, want := at(tc.at), at(tc.want)
			got := s.NextPushTime(from.UTC())
			if !got.Equal(want) || got.Location() != shanghai {
				t.Fatalf("NextPushTime(%s) = %s, want %s", tc.at, got, want)
			}
			if allowed := s.PushAllowed(from); allowed != from.Equal(want) {
				t.Fatalf("PushAllowed(%s) = %v", tc.at, allowed)
			}
			if !s.PushAllowed(got) {
				t.Fatalf("PushAllowed(NextPushTime(%s)) = false", tc.at)
			}
		})
	}
}
