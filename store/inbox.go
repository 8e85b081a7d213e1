package store

import (
	"context"
	"strings"
	"time"

	"safetybot"
)

// InboxItem is one callback to store.
type InboxItem struct {
	DedupeKey  string
	FromUser   string
	Kind       string
	CreateTime time.Time
	Raw        string // the decrypted XML
}

// InboxRow is a stored callback.
type InboxRow struct {
	ID          int64      `db:"id"`
	DedupeKey   string     `db:"dedupe_key"`
	FromUser    string     `db:"from_user"`
	Kind        string     `db:"kind"`
	CreateTime  time.Time  `db:"create_time"`
	Raw         string     `db:"raw"`
	ReceivedAt  time.Time  `db:"received_at"`
	ProcessedAt *time.Time `db:"processed_at"`
	Attempts    int        `db:"attempts"`
	LastError   string     `db:"last_error"`
}

// inboxChunk is the most rows one INSERT statement stores (6 parameters each,
// well under SQLite's and Postgres's limits); the intake's batches fit in one.
const inboxChunk = 500

// InsertInbox stores callbacks in one transaction (group commit) and reports,
// for each item, whether it was new. A redelivered callback (same dedupe key) is
// not stored again. The items are durable when this returns nil.
func (s *Store) InsertInbox(ctx context.Context, items []InboxItem) ([]bool, error) {
	fresh := make([]bool, len(items))
	if len(items) == 0 {
		return fresh, nil
	}
	now := s.Now()
	insert := func(ctx context.Context) error {
		// One multi-row statement per chunk; RETURNING tells which keys were new.
		for start := 0; start < len(items); start += inboxChunk {
			end := min(start+inboxChunk, len(items))
			var b strings.Builder
			b.WriteString(`INSERT INTO inbox (dedupe_key, from_user, kind, create_time, raw, received_at) VALUES `)
			args := make([]any, 0, (end-start)*6)
			for i := start; i < end; i++ {
				if i > start {
					b.WriteString(", ")
				}
				b.WriteString("(?, ?, ?, ?, ?, ?)")
				it := items[i]
				args = append(args, it.DedupeKey, it.FromUser, it.Kind, it.CreateTime.UTC(), it.Raw, now)
			}
			b.WriteString(` ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`)
			var keys []string
			if err := s.sel(ctx, &keys, b.String(), args...); err != nil {
				return err
			}
			got := make(map[string]bool, len(keys))
			for _, k := range keys {
				got[k] = true
			}
			for i := start; i < end; i++ {
				if got[items[i].DedupeKey] {
					fresh[i] = true
					delete(got, items[i].DedupeKey) // a key twice in one batch: only the first is new
				}
			}
		}
		return nil
	}
	if len(items) <= inboxChunk {
		// A single statement is atomic and durable on its own when it commits:
		// no BEGIN and COMMIT round trips for the usual batch.
		return fresh, insert(ctx)
	}
	return fresh, s.InTx(ctx, insert)
}

// PendingInboxUsers returns users with unprocessed callbacks received before cutoff.
func (s *Store) PendingInboxUsers(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	var users []string
	err := s.sel(ctx, &users, `SELECT from_user FROM inbox WHERE processed_at IS NULL AND received_at <= ?
		GROUP BY from_user ORDER BY MIN(id) LIMIT ?`, cutoff.UTC(), limit)
	return users, err
}

// NextInbox returns the user's oldest unprocessed callback, in the order sent
// (CreateTime, then arrival). ENOTFOUND when there is none.
func (s *Store) NextInbox(ctx context.Context, user string) (InboxRow, error) {
	rows, err := s.NextInboxRows(ctx, user, 1)
	if err != nil {
		return InboxRow{}, err
	}
	if len(rows) == 0 {
		return InboxRow{}, safetybot.Errorf(safetybot.ENOTFOUND, "no pending callback from %s", user)
	}
	return rows[0], nil
}

// NextInboxRows returns up to n of the user's oldest unprocessed callbacks,
// in the order they were sent. Asking for two tells a worker in the same
// query whether more are waiting after the one it handles.
func (s *Store) NextInboxRows(ctx context.Context, user string, n int) ([]InboxRow, error) {
	var rows []InboxRow
	err := s.sel(ctx, &rows, `SELECT id, dedupe_key, from_user, kind, create_time, raw, received_at, processed_at, attempts, last_error
		FROM inbox WHERE from_user = ? AND processed_at IS NULL ORDER BY create_time, id LIMIT ?`, user, n)
	return rows, err
}

// MarkInboxProcessed marks a callback handled.
func (s *Store) MarkInboxProcessed(ctx context.Context, id int64, lastError string) error {
	_, err := s.exec(ctx, `UPDATE inbox SET processed_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ? AND processed_at IS NULL`, s.Now(), lastError, id)
	return err
}

// MarkInboxFailed records a failed attempt and returns the attempt count.
func (s *Store) MarkInboxFailed(ctx context.Context, id int64, lastError string) (int, error) {
	var n int
	err := s.get(ctx, &n, `UPDATE inbox SET attempts = attempts + 1, last_error = ? WHERE id = ? RETURNING attempts`, lastError, id)
	return n, err
}

// FindInbox returns one stored callback.
func (s *Store) FindInbox(ctx context.Context, dedupeKey string) (InboxRow, error) {
	var r InboxRow
	err := s.get(ctx, &r, `SELECT id, dedupe_key, from_user, kind, create_time, raw, received_at, processed_at, attempts, last_error
		FROM inbox WHERE dedupe_key = ?`, dedupeKey)
	return r, err
}

// InboxCounts returns how many callbacks are stored and how many are processed.
func (s *Store) InboxCounts(ctx context.Context) (total, processed int, err error) {
	var r struct {
		Total     int `db:"total"`
		Processed int `db:"processed"`
	}
	err = s.get(ctx, &r, `SELECT COUNT(*) AS total, COUNT(processed_at) AS processed FROM inbox`)
	return r.Total, r.Processed, err
}

// LockUser takes a transaction-scoped lock on a user's conversation so that one
// user's messages are handled one at a time, in order, across replicas. It must
// run inside InTx; it reports false when another worker holds the lock. On SQLite
// the single writer connection already serialises transactions.
func (s *Store) LockUser(ctx context.Context, user string) (bool, error) {
	if s.dialect != "postgres" {
		return true, nil
	}
	var ok bool
	err := s.get(ctx, &ok, `SELECT pg_try_advisory_xact_lock(hashtextextended('user:' || ?, 0))`, user)
	return ok, err
}
