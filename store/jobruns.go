package store

import (
	"context"
	"time"
)

// ClaimJobRun claims (job, slot) for owner. It reports false when the slot was
// already claimed by anyone — this or another replica, now or before a restart —
// so a scheduled run happens at most once.
func (s *Store) ClaimJobRun(ctx context.Context, job, slot, owner string, lease time.Duration) (bool, error) {
	now := s.Now()
	var got []string
	err := s.sel(ctx, &got, `INSERT INTO job_runs (job_name, slot, owner, state, claimed_at, lease_until)
		VALUES (?, ?, ?, 'running', ?, ?) ON CONFLICT (job_name, slot) DO NOTHING RETURNING job_name`,
		job, slot, owner, now, now.Add(lease))
	return len(got) == 1, err
}

// FinishJobRun marks a claimed run done (or failed with errText).
func (s *Store) FinishJobRun(ctx context.Context, job, slot, errText string) error {
	state := "done"
	if errText != "" {
		state = "failed"
	}
	_, err := s.exec(ctx, `UPDATE job_runs SET state = ?, finished_at = ?, error = ? WHERE job_name = ? AND slot = ?`,
		state, s.Now(), errText, job, slot)
	return err
}

// JobRun is one ledger row.
type JobRun struct {
	Job        string     `db:"job_name"`
	Slot       string     `db:"slot"`
	Owner      string     `db:"owner"`
	State      string     `db:"state"`
	ClaimedAt  time.Time  `db:"claimed_at"`
	FinishedAt *time.Time `db:"finished_at"`
	Error      string     `db:"error"`
}

// JobRuns lists the ledger for one job (all when empty).
func (s *Store) JobRuns(ctx context.Context, job string) ([]JobRun, error) {
	q := `SELECT job_name, slot, owner, state, claimed_at, finished_at, error FROM job_runs`
	var args []any
	if job != "" {
		q += ` WHERE job_name = ?`
		args = append(args, job)
	}
	q += ` ORDER BY job_name, slot`
	var rows []JobRun
	err := s.sel(ctx, &rows, q, args...)
	return rows, err
}
