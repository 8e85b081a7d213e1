package safetybot

import "time"

// Campaign is one 安全生产大检查 run. Its settings (deadlines, reminder switches, signer
// roles) are data because they vary by city and year.
type Campaign struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	StartsOn  time.Time `db:"starts_on"`
	EndsOn    time.Time `db:"ends_on"`
	Settings  string    `db:"settings"` // JSON of CampaignSettings
	CreatedAt time.Time `db:"created_at"`
}

// CampaignSettings are the per-campaign knobs. Zero values mean "use the default".
type CampaignSettings struct {
	// SelfInspectionDay is the day of month self-inspections are due and published (S7: 30).
	SelfInspectionDay int `json:"self_inspection_day"`
	// SelfInspectionDeadline is the date by which 100% must have reported (S7: 10 August).
	SelfInspectionDeadline string `json:"self_inspection_deadline,omitempty"`
	// DefaultDeadlineDays per hazard grade, e.g. {"一般": 7, "重大": 30}.
	DefaultDeadlineDays map[string]int `json:"default_deadline_days,omitempty"`
	// InspectionSigners are the roles that must sign an on-site inspection record (S9).
	InspectionSigners []string `json:"inspection_signers,omitempty"`
	// Reminders switches reminder kinds on or off by name; absent means on.
	Reminders map[string]bool `json:"reminders,omitempty"`
	// LedInspectionTarget is the monthly target of leader-led inspections (S5: 3).
	LedInspectionTarget int `json:"led_inspection_target,omitempty"`
}

// WithDefaults fills zero values with the campaign plan's numbers.
func (s CampaignSettings) WithDefaults() CampaignSettings {
	if s.SelfInspectionDay == 0 {
		s.SelfInspectionDay = 30
	}
	if s.DefaultDeadlineDays == nil {
		s.DefaultDeadlineDays = map[string]int{GradeGeneral: 7, GradeMajor: 30}
	}
	if len(s.InspectionSigners) == 0 {
		s.InspectionSigners = []string{"inspector", "principal", "accompanying"}
	}
	if s.LedInspectionTarget == 0 {
		s.LedInspectionTarget = 3
	}
	return s
}

// ReminderOn reports whether the reminder kind is switched on.
func (s CampaignSettings) ReminderOn(kind string) bool {
	on, ok := s.Reminders[kind]
	return !ok || on
}
