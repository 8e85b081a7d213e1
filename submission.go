package safetybot

import "time"

// Submission states.
const (
	SubmissionAwaitingSignature = "待签字"
	SubmissionSigned            = "已签字"
	SubmissionReturned          = "已退回"
)

// Submission is one enterprise's self-inspection (自查自纠) for a month (S7).
type Submission struct {
	ID           int64      `db:"id"`
	EnterpriseID int64      `db:"enterprise_id"`
	Period       string     `db:"period"` // YYYY-MM
	FormKey      string     `db:"form_key"`
	FormVersion  string     `db:"form_version"` // e.g. "nine-small@1+key-unit@1+closing@1"
	Version      int        `db:"version"`      // resubmissions after 退回补正 increase it
	Answers      string     `db:"answers"`      // JSON, frozen with the form version
	Filler       string     `db:"filler"`
	Signer       string     `db:"signer"`
	SignedAt     *time.Time `db:"signed_at"`
	State        string     `db:"state"`
	Comment      string     `db:"comment"`
	CreatedAt    time.Time  `db:"created_at"`
}
