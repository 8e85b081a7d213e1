package safetybot

import "time"

// AuditEntry is one append-only audit row: who did what to which document version.
type AuditEntry struct {
	ID      int64     `db:"id"`
	At      time.Time `db:"at"`
	Actor   string    `db:"actor"`
	Action  string    `db:"action"`
	Subject string    `db:"subject"` // e.g. "letter:12/enterprise:34"
	Detail  string    `db:"detail"`  // JSON
	SHA256  string    `db:"sha256"`
}
