package store

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/lib/pq"
)

// OutboxMessage is one message to enqueue: one body for one or more recipients.
// Recipients beyond 1000 are split into batches of at most 1000.
type OutboxMessage struct {
	Batch      string // batch id prefix; rows sharing a batch go out in one call
	Recipients []string
	Kind       string // "send" or "update"
	Payload    []byte // JSON body without recipients/agentid
	Dedupe     string // optional idempotency key (single-recipient messages)
	NotBefore  time.Time
}

// OutboxRow is a claimed or stored outbox row.
type OutboxRow struct {
	ID            int64      `db:"id"`
	Batch         string     `db:"batch"`
	Recipient     string     `db:"recipient"`
	Kind          string     `db:"kind"`
	Payload       string     `db:"payload"`
	State         string     `db:"state"`
	Attempts      int        `db:"attempts"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	FirstSentAt   *time.Time `db:"first_sent_at"`
	MsgID         string     `db:"msgid"`
	ResponseCode  string     `db:"response_code"`
	ErrCode       int        `db:"errcode"`
	Error         string     `db:"error"`
	CreatedAt     time.Time  `db:"created_at"`
	SentAt        *time.Time `db:"sent_at"`
}

// claimCandidates is how many of the oldest due batches a claim looks at in one go.
const claimCandidates = 16

// MaxBatch is WeCom's recipient limit per message/send call.
const MaxBatch = 1000

// Enqueue writes outbox rows, one per recipient. Call it inside the transaction
// of the change that caused the message. It returns the number of rows written
// (rows whose dedupe key already exists are skipped).
func (s *Store) Enqueue(ctx context.Context, msgs ...OutboxMessage) (int, error) {
	now := s.Now()
	if s.dialect == "postgres" && len(msgs) > 1 && allSingle(msgs) {
		return s.enqueueSingles(ctx, now, msgs)
	}
	written := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		for _, m := range msgs {
			m, at := m.filled(now)
			batchID := m.Batch
			for start := 0; start < len(m.Recipients); start += MaxBatch {
				end := min(start+MaxBatch, len(m.Recipients))
				b := batchID
				if len(m.Recipients) > MaxBatch {
					b = batchID + "#" + itoa(start/MaxBatch)
				}
				// One statement per batch: the body is sent once and the
				// recipients as one list parameter (a VALUES row per
				// recipient repeated the body up to 1000 times per batch).
				src, list, err := s.stringRows(m.Recipients[start:end])
				if err != nil {
					return err
				}
				dedupe, args := "NULL", []any{b, m.Kind, string(m.Payload)}
				switch {
				case m.Dedupe != "" && len(m.Recipients) > 1:
					dedupe = "? || ':' || r.value"
					args = append(args, m.Dedupe)
				case m.Dedupe != "":
					dedupe = "?"
					args = append(args, m.Dedupe)
				}
				args = append(args, at, now, list)
				res, err := s.exec(ctx, `INSERT INTO outbox (batch, recipient, kind, payload, dedupe_key, state, next_attempt_at, created_at)
					SELECT ?, r.value, ?, ?, `+dedupe+`, 'pending', `+s.timeParam()+`, `+s.timeParam()+`
					FROM `+src+` WHERE true ORDER BY r.key ON CONFLICT DO NOTHING`, args...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				written += int(n)
			}
		}
		return nil
	})
	return written, err
}

// filled returns m with its defaults (kind "send", a new batch id) and when
// it is first due: now, or NotBefore when that is later (UTC).
func (m OutboxMessage) filled(now time.Time) (OutboxMessage, time.Time) {
	if m.Kind == "" {
		m.Kind = "send"
	}
	if m.Batch == "" {
		m.Batch = newID()
	}
	at := now
	if m.NotBefore.After(now) {
		at = m.NotBefore.UTC()
	}
	return m, at
}

// allSingle reports whether every message has exactly one recipient.
func allSingle(msgs []OutboxMessage) bool {
	for _, m := range msgs {
		if len(m.Recipients) != 1 {
			return false
		}
	}
	return true
}

// enqueueSingles writes several one-recipient messages (a chat answer and a
// card update, say) with one statement on Postgres, in their order.
func (s *Store) enqueueSingles(ctx context.Context, now time.Time, msgs []OutboxMessage) (int, error) {
	n := len(msgs)
	batches, recipients, kinds, payloads, dedupes, ats := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	for i, m := range msgs {
		m, at := m.filled(now)
		batches[i], recipients[i], kinds[i], payloads[i], dedupes[i] = m.Batch, m.Recipients[0], m.Kind, string(m.Payload), m.Dedupe
		ats[i] = at.Format(time.RFC3339Nano)
	}
	res, err := s.exec(ctx, `INSERT INTO outbox (batch, recipient, kind, payload, dedupe_key, state, next_attempt_at, created_at)
		SELECT r.batch, r.recipient, r.kind, r.payload, NULLIF(r.dedupe, ''), 'pending', r.at, CAST(? AS TIMESTAMPTZ)
		FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TIMESTAMPTZ[]))
			WITH ORDINALITY AS r(batch, recipient, kind, payload, dedupe, at, key)
		ORDER BY r.key ON CONFLICT DO NOTHING`,
		now.UTC().Format(time.RFC3339Nano), pq.Array(batches), pq.Array(recipients), pq.Array(kinds), pq.Array(payloads), pq.Array(dedupes), pq.Array(ats))
	if err != nil {
		return 0, err
	}
	written, _ := res.RowsAffected()
	return int(written), nil
}

// ClaimOutbox claims the oldest due batch for owner until lease and returns its
// rows (nil when nothing is due). A batch whose recipient still has an earlier
// unsent message waits, so one user's messages arrive in order.
//
// On Postgres claimers run in parallel: a claim locks the batch's first
// pending row (FOR UPDATE SKIP LOCKED) before it updates the batch, and
// passes over a batch whose first row another claimer holds. Locking any
// other row of the batch is what let two claimers deadlock, each holding one
// row of a 1000-row batch and updating the others. On SQLite the immediate
// transaction makes the claim atomic.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, lease time.Duration) ([]OutboxRow, error) {
	rows, err := s.claimBatches(ctx, owner, lease, 1)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// ClaimOutboxBatches claims up to max of the oldest due batches at once, as
// ClaimOutbox claims one: one transaction for several calls when many are due.
// It returns each batch's rows (by id), oldest batch first.
func (s *Store) ClaimOutboxBatches(ctx context.Context, owner string, lease time.Duration, max int) ([][]OutboxRow, error) {
	return s.claimBatches(ctx, owner, lease, max)
}

func (s *Store) claimBatches(ctx context.Context, owner string, lease time.Duration, most int) ([][]OutboxRow, error) {
	now := s.Now()
	most = min(max(most, 1), claimCandidates)
	var rows []OutboxRow
	err := s.InTx(ctx, func(ctx context.Context) error {
		var passed []string // batches another claimer holds
		for try := 0; try < 8; try++ {
			// The oldest due batches, several at once: concurrent claimers all
			// see the same oldest ones, and one statement below then finds the
			// first of them nobody holds (instead of a round per lost race).
			q := `SELECT o.batch FROM outbox o
				WHERE o.state = 'pending' AND o.next_attempt_at <= ?
				  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.recipient = o.recipient AND p.id < o.id
				                  AND p.state IN ('pending', 'sending') AND p.batch <> o.batch
				                  -- a push deferred past quiet hours (not yet tried) does not hold back chat answers
				                  AND (p.state = 'sending' OR p.attempts > 0 OR p.next_attempt_at <= ?))`
			args := []any{now, now}
			if len(passed) > 0 {
				q += ` AND o.batch NOT IN (?)`
				args = append(args, passed)
			}
			q += ` ORDER BY o.next_attempt_at, o.id LIMIT ?`
			args = append(args, claimCandidates)
			q, a, err := s.in(q, args...)
			if err != nil {
				return err
			}
			var found []string
			if err := mapErr(s.q(ctx).SelectContext(ctx, &found, q, a...)); err != nil || len(found) == 0 {
				return err
			}
			var batches []string // distinct, oldest first
			for _, b := range found {
				if !slices.Contains(batches, b) {
					batches = append(batches, b)
				}
			}
			claim := batches[:min(most, len(batches))]
			if s.dialect == "postgres" {
				// Lock the first pending row of each batch nobody else holds.
				q, a, err := s.in(`SELECT batch FROM outbox WHERE id IN (
						SELECT MIN(id) FROM outbox WHERE batch IN (?) AND state = 'pending' GROUP BY batch)
					AND state = 'pending' ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED`, batches, most)
				if err != nil {
					return err
				}
				claim = nil
				if err := mapErr(s.q(ctx).SelectContext(ctx, &claim, q, a...)); err != nil {
					return err
				}
				if len(claim) == 0 {
					passed = append(passed, batches...)
					continue
				}
			}
			q, a, err = s.in(`UPDATE outbox SET state = 'sending', attempts = attempts + 1, lease_until = ?, claimed_by = ?,
					first_sent_at = COALESCE(first_sent_at, ?)
				WHERE batch IN (?) AND state = 'pending'
				RETURNING id, batch, recipient, kind, state, attempts, next_attempt_at, first_sent_at, msgid, response_code, errcode, error, created_at, sent_at`,
				now.Add(lease), owner, now, claim)
			if err != nil {
				return err
			}
			if err := mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...)); err != nil {
				return err
			}
			return s.fillPayloads(ctx, rows)
		}
		return nil
	})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	// RETURNING has no order: sort, so that a resend of the same rows (after a
	// lease ran out) lists the recipients in the same order and its body is
	// byte-identical for WeCom's duplicate check. Batches go oldest first.
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	var out [][]OutboxRow
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.Batch]
		if !ok {
			i = len(out)
			at[r.Batch] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], r)
	}
	return out, nil
}

// OutboxResult records what happened to one claimed row.
type OutboxResult struct {
	ID           int64
	State        string // sent, failed, pending (retry), unknown
	MsgID        string
	ResponseCode string
	ErrCode      int
	Error        string
	RetryAt      time.Time
}

// CompleteOutbox records results of a claimed batch. The owner guard stops a
// worker whose lease expired from overwriting a row another worker reclaimed.
// Rows with the same result (a whole batch, usually) are updated by one
// statement.
func (s *Store) CompleteOutbox(ctx context.Context, owner string, results []OutboxResult) error {
	now := s.Now()
	type outcome struct {
		state, msgID, code, errText string
		errCode                     int
		next                        time.Time
	}
	groups := map[outcome][]int64{}
	var order []outcome
	for _, r := range results {
		next := r.RetryAt
		if next.IsZero() {
			next = now
		}
		o := outcome{state: r.State, msgID: r.MsgID, code: r.ResponseCode, errText: r.Error, errCode: r.ErrCode, next: next.UTC()}
		if _, ok := groups[o]; !ok {
			order = append(order, o)
		}
		groups[o] = append(groups[o], r.ID)
	}
	if s.dialect == "postgres" && len(order) > 1 {
		return s.completeOutboxPostgres(ctx, owner, now, results)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		for _, o := range order {
			var sentAt *time.Time
			if o.state == "sent" {
				sentAt = &now
			}
			ids := groups[o]
			for start := 0; start < len(ids); start += MaxBatch {
				q, args, err := s.in(`UPDATE outbox SET state = ?, msgid = ?, response_code = ?, errcode = ?, error = ?, sent_at = ?,
						next_attempt_at = ?, lease_until = NULL
					WHERE claimed_by = ? AND state = 'sending' AND id IN (?)`,
					o.state, o.msgID, o.code, o.errCode, o.errText, sentAt, o.next, owner, ids[start:min(start+MaxBatch, len(ids))])
				if err != nil {
					return err
				}
				if _, err := s.q(ctx).ExecContext(ctx, q, args...); err != nil {
					return mapErr(err)
				}
			}
		}
		return nil
	})
}

// fillPayloads sets each claimed row's body, read once per batch: the rows
// of a batch share one body, and a 1000-row batch would otherwise bring the
// same card from the database and hold it in memory 1000 times.
func (s *Store) fillPayloads(ctx context.Context, rows []OutboxRow) error {
	first := map[string]int64{}
	for _, r := range rows {
		if id, ok := first[r.Batch]; !ok || r.ID < id {
			first[r.Batch] = r.ID
		}
	}
	ids := make([]int64, 0, len(first))
	for _, id := range first {
		ids = append(ids, id)
	}
	q, a, err := s.in(`SELECT batch, payload FROM outbox WHERE id IN (?)`, ids)
	if err != nil {
		return err
	}
	var bodies []struct {
		Batch   string `db:"batch"`
		Payload string `db:"payload"`
	}
	if err := mapErr(s.q(ctx).SelectContext(ctx, &bodies, q, a...)); err != nil {
		return err
	}
	byBatch := make(map[string]string, len(bodies))
	for _, b := range bodies {
		byBatch[b.Batch] = b.Payload
	}
	for i := range rows {
		rows[i].Payload = byBatch[rows[i].Batch]
	}
	return nil
}

// completeOutboxPostgres records results with different outcomes (each
// chat answer has its own msgid) in one statement: the values travel as
// parallel arrays, instead of one UPDATE per outcome.
func (s *Store) completeOutboxPostgres(ctx context.Context, owner string, now time.Time, results []OutboxResult) error {
	n := len(results)
	ids, errCodes := make([]int64, n), make([]int64, n)
	states, msgIDs, codes, errTexts, nexts := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range results {
		next := r.RetryAt
		if next.IsZero() {
			next = now
		}
		ids[i], errCodes[i] = r.ID, int64(r.ErrCode)
		states[i], msgIDs[i], codes[i], errTexts[i] = r.State, r.MsgID, r.ResponseCode, r.Error
		nexts[i] = next.UTC().Format(time.RFC3339Nano)
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		for start := 0; start < n; start += MaxBatch {
			end := min(start+MaxBatch, n)
			_, err := s.exec(ctx, `UPDATE outbox AS o SET state = r.state, msgid = r.msgid, response_code = r.code, errcode = r.errcode,
				error = r.err, sent_at = CASE WHEN r.state = 'sent' THEN CAST(? AS TIMESTAMPTZ) END,
				next_attempt_at = r.next, lease_until = NULL
			FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS INTEGER[]),
				CAST(? AS TEXT[]), CAST(? AS TIMESTAMPTZ[])) AS r(id, state, msgid, code, errcode, err, next)
			WHERE o.id = r.id AND o.claimed_by = ? AND o.state = 'sending'`,
				now.UTC().Format(time.RFC3339Nano), pq.Array(ids[start:end]), pq.Array(states[start:end]), pq.Array(msgIDs[start:end]),
				pq.Array(codes[start:end]), pq.Array(errCodes[start:end]), pq.Array(errTexts[start:end]), pq.Array(nexts[start:end]), owner)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// stringRows returns a FROM item with one row per string of vals — columns
// value (the string) and key (its position, from 0 or 1) — and the argument
// to bind for its one placeholder: unnest of a text array on Postgres,
// json_each of a JSON array on SQLite.
func (s *Store) stringRows(vals []string) (from string, arg any, err error) {
	if s.dialect == "postgres" {
		return `unnest(CAST(? AS TEXT[])) WITH ORDINALITY AS r(value, key)`, pq.Array(vals), nil
	}
	b, err := json.Marshal(vals)
	return `json_each(?) AS r`, string(b), err
}

// timeParam is the placeholder for a time bound in a SELECT list, where
// Postgres cannot infer its type from a column.
func (s *Store) timeParam() string {
	if s.dialect == "postgres" {
		return `CAST(? AS TIMESTAMPTZ)`
	}
	return `?`
}

// RescueOutbox returns rows whose sender died (lease expired) to pending so they
// are resent with the same body; WeCom's duplicate check suppresses a second
// delivery within 4 h. Rows first sent more than maxAge ago become "unknown"
// instead: resending them could deliver twice.
func (s *Store) RescueOutbox(ctx context.Context, maxAge time.Duration) (rescued, unknown int64, err error) {
	now := s.Now()
	err = s.InTx(ctx, func(ctx context.Context) error {
		res, err := s.exec(ctx, `UPDATE outbox SET state = 'unknown', lease_until = NULL, error = 'lease expired after the duplicate-check window'
			WHERE state = 'sending' AND lease_until < ? AND first_sent_at < ?`, now, now.Add(-maxAge))
		if err != nil {
			return err
		}
		unknown, _ = res.RowsAffected()
		res, err = s.exec(ctx, `UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?
			WHERE state = 'sending' AND lease_until < ?`, now, now)
		if err != nil {
			return err
		}
		rescued, _ = res.RowsAffected()
		return nil
	})
	return rescued, unknown, err
}

// OutboxStats counts rows per state.
func (s *Store) OutboxStats(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		State string `db:"state"`
		N     int    `db:"n"`
	}
	if err := s.sel(ctx, &rows, `SELECT state, COUNT(*) AS n FROM outbox GROUP BY state`); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.State] = r.N
	}
	return out, nil
}

// OldestPendingOutbox returns the creation time of the oldest pending row, if any.
func (s *Store) OldestPendingOutbox(ctx context.Context) (*time.Time, error) {
	var t []time.Time
	err := s.sel(ctx, &t, `SELECT created_at FROM outbox WHERE state = 'pending' ORDER BY id LIMIT 1`)
	if err != nil || len(t) == 0 {
		return nil, err
	}
	return &t[0], nil
}

// ListOutbox returns rows for one recipient (all when empty), newest last.
func (s *Store) ListOutbox(ctx context.Context, recipient string) ([]OutboxRow, error) {
	q := `SELECT id, batch, recipient, kind, payload, state, attempts, next_attempt_at, first_sent_at, msgid, response_code, errcode, error, created_at, sent_at FROM outbox`
	var args []any
	if recipient != "" {
		q += ` WHERE recipient = ?`
		args = append(args, recipient)
	}
	q += ` ORDER BY id`
	var rows []OutboxRow
	err := s.sel(ctx, &rows, q, args...)
	return rows, err
}
