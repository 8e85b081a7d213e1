package store

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

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

// RemindersClaimed returns which of targets hold the claim of each of kinds
// on day, as kind → target → true (probes of the ledger's primary key): a
// reminder job leaves out the kinds and targets reminded already, before
// building their messages.
func (s *Store) RemindersClaimed(ctx context.Context, day string, kinds, targets []string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	if len(kinds) == 0 || len(targets) == 0 {
		return out, nil
	}
	var rows []struct {
		Kind   string `db:"kind"`
		Target string `db:"target"`
	}
	if s.dialect == "postgres" {
		if err := s.sel(ctx, &rows, `SELECT kind, target FROM reminders
			WHERE kind = ANY(CAST(? AS TEXT[])) AND target = ANY(CAST(? AS TEXT[])) AND day = ?`,
			pq.Array(kinds), pq.Array(targets), day); err != nil {
			return nil, err
		}
	} else {
		const chunk = 500 // targets per statement (the SQLite parameter limit)
		for start := 0; start < len(targets); start += chunk {
			q, args, err := s.in(`SELECT kind, target FROM reminders WHERE kind IN (?) AND target IN (?) AND day = ?`,
				kinds, targets[start:min(start+chunk, len(targets))], day)
			if err != nil {
				return nil, err
			}
			var part []struct {
				Kind   string `db:"kind"`
				Target string `db:"target"`
			}
			if err := mapErr(s.q(ctx).SelectContext(ctx, &part, q, args...)); err != nil {
				return nil, err
			}
			rows = append(rows, part...)
		}
	}
	for _, r := range rows {
		if out[r.Kind] == nil {
			out[r.Kind] = map[string]bool{}
		}
		out[r.Kind][r.Target] = true
	}
	return out, nil
}

// ConcurrentCalls reports whether store calls made with ctx may run from
// several goroutines at once, each on a connection of its own: on Postgres
// outside a transaction (SQLite has one connection, a transaction is one
// connection), and not while scans are explained (WithExplain), so each
// plan's times are its own.
func (s *Store) ConcurrentCalls(ctx context.Context) bool {
	_, inTx := ctx.Value(txKey{}).(*sqlx.Tx)
	_, explained := ctx.Value(explainKey{}).(*Explains)
	return s.dialect == "postgres" && !inTx && !explained
}
