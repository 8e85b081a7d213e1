package store

import "context"

// ClaimReminder records that a reminder of kind goes to target on day (a civil
// date in the campaign time zone, "2006-01-02"). It reports true only for the
// first claim of (kind, target, day): the reminder ledger is how a reminder job
// sends at most one reminder of a kind per target per day, across replicas and
// restarts. Call it in the same transaction (ctx from InTx) that enqueues the
// outbox row, so the claim and the message stand or fall together.
func (s *Store) ClaimReminder(ctx context.Context, kind, target, day string) (bool, error) {
	var got []string
	err := s.sel(ctx, &got, `INSERT INTO reminders (kind, target, day, sent_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (kind, target, day) DO NOTHING RETURNING kind`,
		kind, target, day, s.Now())
	return len(got) == 1, err
}

// RemindersSent lists the targets already reminded of kind on day, in order.
// Jobs use it to leave those targets out of a scan.
func (s *Store) RemindersSent(ctx context.Context, kind, day string) ([]string, error) {
	targets := []string{}
	err := s.sel(ctx, &targets, `SELECT target FROM reminders WHERE kind = ? AND day = ? ORDER BY target`, kind, day)
	return targets, err
}
