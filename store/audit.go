package store

import (
	"context"
	"encoding/json"

	"safetybot"
)

// Audit appends an audit row. There is no method to change or remove one, and the
// database refuses UPDATE and DELETE on the table.
func (s *Store) Audit(ctx context.Context, actor, action, subject string, detail any, sha string) error {
	d := "{}"
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		d = string(b)
	}
	_, err := s.exec(ctx, `INSERT INTO audit_log (at, actor, action, subject, detail, sha256) VALUES (?, ?, ?, ?, ?, ?)`,
		s.Now(), actor, action, subject, d, sha)
	return err
}

// AuditTrail returns the audit rows of a subject, oldest first.
func (s *Store) AuditTrail(ctx context.Context, subject string) ([]safetybot.AuditEntry, error) {
	var rows []safetybot.AuditEntry
	err := s.sel(ctx, &rows, `SELECT id, at, actor, action, subject, detail, sha256 FROM audit_log WHERE subject = ? ORDER BY id`, subject)
	return rows, err
}
