package safetybot

import "time"

// Hazard grades (DOMAIN.md §2). 较大 is optional and configurable.
const (
	GradeGeneral = "一般"
	GradeMajor   = "重大"
)

// HazardStatus is a state of the closed loop (DOMAIN.md §4).
type HazardStatus string

// Hazard states.
const (
	HazardPending    HazardStatus = "待整改"
	HazardRectifying HazardStatus = "整改中"
	HazardReview     HazardStatus = "待复查"
	HazardClosed     HazardStatus = "已销号"
	HazardFixed      HazardStatus = "已整改" // fixed on the spot during self-inspection, with a photo
	HazardSuspended  HazardStatus = "停产整改"
	HazardShutDown   HazardStatus = "关闭取缔"
)

// Open reports whether the hazard still needs work.
func (s HazardStatus) Open() bool {
	switch s {
	case HazardPending, HazardRectifying, HazardReview, HazardSuspended:
		return true
	}
	return false
}

// Hazard is one defect found, followed until it is closed.
type Hazard struct {
	ID           int64        `db:"id"`
	EnterpriseID int64        `db:"enterprise_id"`
	SubmissionID *int64       `db:"submission_id"`
	InspectionID *int64       `db:"inspection_id"`
	Source       string       `db:"source"` // 自查 | 检查 | 带队检查 | 暗查 | 交叉检查
	ItemKey      string       `db:"item_key"`
	Description  string       `db:"description"`
	Grade        string       `db:"grade"`
	Status       HazardStatus `db:"status"`
	Deadline     *time.Time   `db:"deadline"`
	FoundAt      time.Time    `db:"found_at"`
	FoundBy      string       `db:"found_by"`
	ClosedAt     *time.Time   `db:"closed_at"`
	Tracker      string       `db:"tracker"` // userid of the named tracker (S8)
	Measures     string       `db:"measures"`
	Owner        string       `db:"owner"`
	Funds        string       `db:"funds"`
	Plan         string       `db:"plan"`
	UpdatedAt    time.Time    `db:"updated_at"`
}
