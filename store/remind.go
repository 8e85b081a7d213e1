package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"safetybot"
)

// The scans behind the scheduled reminders (scheduler/reminders.go): one
// query per kind, each answering "who is due today" from the rows as they
// stand, so a reminder is a decision made when the job runs, never a timer.
// Days are civil dates (YYYY-MM-DD) in the campaign time zone; instants are
// passed in UTC.

// Status lists of the scans. A principal is reminded of hazards they must
// work on; 待复查 waits for an official and is reminded to them instead.
// openDue and actionableDue are the deadline of such a hazard (NULL for the
// others): the expressions of the indexes hazards_open_due and
// hazards_actionable_due (migration 00005), written exactly as there so both
// databases use them and Postgres has their statistics.
var (
	sqlOpen       = sqlList(safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardSuspended)
	openDue       = `(CASE WHEN h.status IN ('待整改', '整改中', '待复查', '停产整改') THEN h.deadline END)`
	actionableDue = `(CASE WHEN h.status IN ('待整改', '整改中', '停产整改') THEN h.deadline END)`
)

// Explain is the plan of one scan, run with EXPLAIN (ANALYZE, BUFFERS).
type Explain struct {
	Name string
	Plan string
}

// Explains collects the plans of the scans run with a context from WithExplain.
type Explains struct {
	mu    sync.Mutex
	Plans []Explain
}

type explainKey struct{}

// WithExplain returns a context under which every reminder scan on Postgres
// is first run with EXPLAIN (ANALYZE, BUFFERS), its plan kept in the
// returned Explains (the benchmark shows them). The scan then runs as usual.
func WithExplain(ctx context.Context) (context.Context, *Explains) {
	ex := &Explains{}
	return context.WithValue(ctx, explainKey{}, ex), ex
}

// scan runs one reminder scan, explained when the context asks for it. On
// Postgres, outside a transaction, it runs in a read-only one of its own
// with no parallel workers and no JIT: a sweep runs its scans concurrently
// already (scheduler, prefetch), and workers on top of that rebuild the same
// hashed subplans in every process; compiling the few expressions of a scan
// costs more than it saves.
func (s *Store) scan(ctx context.Context, name string, dest any, q string, args ...any) error {
	if _, inTx := ctx.Value(txKey{}).(*sqlx.Tx); s.dialect == "postgres" && !inTx {
		return s.InTx(ctx, func(ctx context.Context) error {
			if _, err := s.exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off; SET TRANSACTION READ ONLY`); err != nil {
				return err
			}
			return s.scan(ctx, name, dest, q, args...)
		})
	}
	if ex, ok := ctx.Value(explainKey{}).(*Explains); ok && s.dialect == "postgres" {
		var plan []string
		if err := s.sel(ctx, &plan, `EXPLAIN (ANALYZE, BUFFERS) `+q, args...); err != nil {
			return fmt.Errorf("explain %s: %w", name, err)
		}
		ex.mu.Lock()
		ex.Plans = append(ex.Plans, Explain{Name: name, Plan: strings.Join(plan, "\n")})
		ex.mu.Unlock()
	}
	return s.sel(ctx, dest, q, args...)
}

// Reminder is one reminder to send: its key in the reminder ledger (kind,
// target, day) and the message body. The target is the recipient's userid.
type Reminder struct {
	Kind    string
	Target  string // userid
	Day     string // YYYY-MM-DD in the campaign time zone
	Payload []byte // message/send body without touser/agentid
}

// ReminderKey is the outbox batch and dedupe key of a reminder:
// "rem:<kind>:<day>:<target>" (userids and kinds hold no colon).
func ReminderKey(kind, day, target string) string {
	return "rem:" + kind + ":" + day + ":" + target
}

// ParseReminderKey splits a ReminderKey; ok is false for other batches.
func ParseReminderKey(key string) (kind, day, target string, ok bool) {
	f := strings.SplitN(key, ":", 4)
	if len(f) != 4 || f[0] != "rem" {
		return "", "", "", false
	}
	return f[1], f[2], f[3], true
}

// reminderChunk bounds the rows of one claim/enqueue transaction on SQLite
// (its parameter limit); reminderChunkPostgres on Postgres (6 parameters a
// row of the enqueue, within the 65,535 of a statement).
const (
	reminderChunk         = 500
	reminderChunkPostgres = 5000
)

// SendReminders claims each reminder in the reminder ledger and enqueues the
// claimed ones as outbox rows due at notBefore (or now, when later): a
// reminder whose (kind, target, day) was claimed before — by another replica,
// or by this one before a restart — is skipped, and a reminder named twice is
// sent once (the first). Claim and enqueue stand or fall together. It
// returns how many were enqueued.
func (s *Store) SendReminders(ctx context.Context, rs []Reminder, notBefore time.Time) (int, error) {
	now := s.Now()
	at := now
	if notBefore.After(now) {
		at = notBefore.UTC()
	}
	chunk := reminderChunk
	if s.dialect == "postgres" {
		chunk = reminderChunkPostgres
	}
	sent := 0
	for start := 0; start < len(rs); start += chunk {
		part := rs[start:min(start+chunk, len(rs))]
		var n int
		var err error
		if s.dialect == "postgres" {
			n, err = s.sendRemindersPostgres(ctx, part, now, at)
		} else {
			n, err = s.sendRemindersChunk(ctx, part, now, at)
		}
		sent += n
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendRemindersPostgres claims and enqueues a chunk in one transaction of
// two statements: the ledger INSERT … SELECT FROM unnest(keys) ON CONFLICT
// DO NOTHING RETURNING names the claimed reminders (a repeat sweep stops
// there, having sent only the keys), then one multi-row INSERT enqueues the
// claimed ones, in the order given.
func (s *Store) sendRemindersPostgres(ctx context.Context, rs []Reminder, now, at time.Time) (int, error) {
	kinds, targets, days := make([]string, 0, len(rs)), make([]string, 0, len(rs)), make([]string, 0, len(rs))
	first := make(map[string]int, len(rs)) // key → index in rs of its first reminder
	for i, r := range rs {
		key := ReminderKey(r.Kind, r.Day, r.Target)
		if _, dup := first[key]; dup {
			continue // a chunk naming a reminder twice sends it once
		}
		first[key] = i
		kinds, targets, days = append(kinds, r.Kind), append(targets, r.Target), append(days, r.Day)
	}
	sent := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		var claimed []struct {
			Kind   string `db:"kind"`
			Target string `db:"target"`
			Day    string `db:"day"`
		}
		if err := s.sel(ctx, &claimed, `INSERT INTO reminders (kind, target, day, sent_at)
			SELECT kind, target, day, CAST(? AS TIMESTAMPTZ) FROM unnest(CAST(? AS TEXT[]), CAST(? AS TEXT[]), CAST(? AS TEXT[])) AS r(kind, target, day)
			ON CONFLICT (kind, target, day) DO NOTHING RETURNING kind, target, day`,
			now, pq.Array(kinds), pq.Array(targets), pq.Array(days)); err != nil {
			return fmt.Errorf("claim reminders: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		idx := make([]int, 0, len(claimed))
		for _, c := range claimed {
			idx = append(idx, first[ReminderKey(c.Kind, c.Day, c.Target)])
		}
		slices.Sort(idx)
		// The bodies go as parameters of a VALUES list: as elements of a
		// text array every quote of their JSON would be escaped on the way.
		var q strings.Builder
		q.WriteString(`INSERT INTO outbox (batch, recipient, kind, payload, dedupe_key, state, next_attempt_at, created_at) VALUES `)
		args := make([]any, 0, 6*len(idx))
		for j, i := range idx {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, 'send', ?, ?, 'pending', ?, ?)")
			r := rs[i]
			key := ReminderKey(r.Kind, r.Day, r.Target)
			args = append(args, key, r.Target, string(r.Payload), key, at, now)
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		res, err := s.exec(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("enqueue reminders: %w", err)
		}
		n, _ := res.RowsAffected()
		sent = int(n)
		return nil
	})
	return sent, err
}

// sendRemindersChunk claims and enqueues a chunk in one transaction: the
// ledger INSERT names the claimed reminders, then one INSERT enqueues them.
func (s *Store) sendRemindersChunk(ctx context.Context, chunk []Reminder, now, at time.Time) (int, error) {
	sent := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		var q strings.Builder
		q.WriteString(`INSERT INTO reminders (kind, target, day, sent_at) VALUES `)
		args := make([]any, 0, 4*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?)")
			args = append(args, r.Kind, r.Target, r.Day, now)
		}
		q.WriteString(` ON CONFLICT (kind, target, day) DO NOTHING RETURNING kind, target, day`)
		var claimed []struct {
			Kind   string `db:"kind"`
			Target string `db:"target"`
			Day    string `db:"day"`
		}
		if err := s.sel(ctx, &claimed, q.String(), args...); err != nil {
			return fmt.Errorf("claim reminders: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		mine := make(map[string]bool, len(claimed))
		for _, c := range claimed {
			mine[ReminderKey(c.Kind, c.Day, c.Target)] = true
		}
		q.Reset()
		q.WriteString(`INSERT INTO outbox (batch, recipient, kind, payload, dedupe_key, state, next_attempt_at, created_at) VALUES `)
		args = args[:0]
		n := 0
		for _, r := range chunk {
			key := ReminderKey(r.Kind, r.Day, r.Target)
			if !mine[key] {
				continue
			}
			delete(mine, key) // a chunk naming a reminder twice sends it once
			if n > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, 'send', ?, ?, 'pending', ?, ?)")
			args = append(args, key, r.Target, string(r.Payload), key, at, now)
			n++
		}
		if n == 0 {
			return nil
		}
		q.WriteString(` ON CONFLICT DO NOTHING`)
		res, err := s.exec(ctx, q.String(), args...)
		if err != nil {
			return fmt.Errorf("enqueue reminders: %w", err)
		}
		k, _ := res.RowsAffected()
		sent = int(k)
		return nil
	})
	return sent, err
}

// Official is an active township, department or office person.
type Official struct {
	UserID     string         `db:"userid"`
	Name       string         `db:"name"`
	Role       safetybot.Role `db:"role"`
	Township   string         `db:"township"`
	Department string         `db:"department"`
	Leader     bool           `db:"leader"`
}

// ActiveOfficials returns every active official, by userid.
func (s *Store) ActiveOfficials(ctx context.Context) ([]Official, error) {
	var out []Official
	err := s.scan(ctx, "officials", &out, `SELECT userid, name, role, township, department, leader FROM people
		WHERE active = TRUE AND role IN ('township', 'department', 'office') ORDER BY userid`)
	return out, err
}

// CampaignSettingsJSON returns the raw settings of the newest campaign ("{}"
// when none is stored), for settings the root type does not name.
func (s *Store) CampaignSettingsJSON(ctx context.Context) (string, error) {
	var raw []string
	if err := s.sel(ctx, &raw, `SELECT settings FROM campaigns ORDER BY id DESC LIMIT 1`); err != nil {
		return "", err
	}
	if len(raw) == 0 || strings.TrimSpace(raw[0]) == "" {
		return "{}", nil
	}
	return raw[0], nil
}

// ReminderCampaignSettings parses the newest campaign's settings into the
// root type (with defaults) and into extra, a struct of further keys.
func (s *Store) ReminderCampaignSettings(ctx context.Context, extra any) (safetybot.CampaignSettings, error) {
	raw, err := s.CampaignSettingsJSON(ctx)
	if err != nil {
		return safetybot.CampaignSettings{}.WithDefaults(), err
	}
	var cs safetybot.CampaignSettings
	if err := json.Unmarshal([]byte(raw), &cs); err != nil {
		return safetybot.CampaignSettings{}.WithDefaults(), fmt.Errorf("campaign settings: %w", err)
	}
	if extra != nil {
		if err := json.Unmarshal([]byte(raw), extra); err != nil {
			return cs.WithDefaults(), fmt.Errorf("campaign settings: %w", err)
		}
	}
	return cs.WithDefaults(), nil
}

// UnsignedLetterRow is one enterprise that has not signed a letter, with the
// recipient who should.
type UnsignedLetterRow struct {
	UserID       string    `db:"userid"`
	LetterID     int64     `db:"letter_id"`
	Title        string    `db:"title"`
	Deadline     *string   `db:"deadline"`
	EnterpriseID int64     `db:"enterprise_id"`
	Enterprise   string    `db:"enterprise"`
	Township     string    `db:"township"`
	Principal    string    `db:"principal"`        // the recipient's name
	Phone        string    `db:"phone"`            // the enterprise's phone, else the recipient's
	SentAt       time.Time `db:"sent_at"`          // when the letter was sent
	Active       bool      `db:"recipient_active"` // the recipient is an active person: only they are reminded
}

// UnsignedLetters returns the unsigned (letter, enterprise) pairs of active
// enterprises, of the letters sent before sentBefore, by recipient. The
// principals' daily reminder, the townships' lists, the office's digest and
// the digest's sign-off count all come from this one scan. It needs no
// anti-join against the signatures: letter_recipients.signed, kept by
// triggers on signatures (migration 00006), marks the signed pairs, and a
// partial index holds the unsigned ones for when they are few among many
// recipients.
func (s *Store) UnsignedLetters(ctx context.Context, sentBefore time.Time) ([]UnsignedLetterRow, error) {
	var out []UnsignedLetterRow
	err := s.scan(ctx, "letters-unsigned", &out, `SELECT r.userid, l.id AS letter_id, l.title, l.deadline, e.id AS enterprise_id,
			e.name AS enterprise, e.township, COALESCE(p.name, '') AS principal, l.created_at AS sent_at,
			CASE WHEN e.phone <> '' THEN e.phone ELSE COALESCE(p.phone, '') END AS phone, COALESCE(p.active, FALSE) AS recipient_active
		FROM letters l
		JOIN letter_recipients r ON r.letter_id = l.id AND NOT r.signed
		JOIN enterprises e ON e.id = r.enterprise_id
		LEFT JOIN people p ON p.userid = r.userid
		WHERE e.active = TRUE AND l.created_at < ?
		ORDER BY r.userid, l.id, e.name, e.id`, sentBefore.UTC())
	return out, err
}

// TownshipCount is a count of enterprises of a township.
type TownshipCount struct {
	Township string `db:"township"`
	Count    int    `db:"n"`     // enterprises behind
	Total    int    `db:"total"` // enterprises concerned
}

// SelfCheckRow is an active enterprise without a principal-signed
// self-inspection, with one of its principals (UserID "" when none is
// registered).
type SelfCheckRow struct {
	UserID       string `db:"userid"`
	Principal    string `db:"principal"`
	EnterpriseID int64  `db:"enterprise_id"`
	Enterprise   string `db:"enterprise"`
	Township     string `db:"township"`
	Phone        string `db:"phone"`
}

// MissingSelfChecks returns the active enterprises with no principal-signed
// submission for a period from `from` to `to` (YYYY-MM, inclusive), one row per
// active principal (one row with an empty UserID when there is none), by
// principal. from == to asks about one month; the campaign deadline asks
// about every month up to its own.
func (s *Store) MissingSelfChecks(ctx context.Context, from, to string) ([]SelfCheckRow, error) {
	var out []SelfCheckRow
	err := s.scan(ctx, "selfcheck-missing", &out, `SELECT COALESCE(p.userid, '') AS userid, COALESCE(p.name, '') AS principal, e.id AS enterprise_id,
			e.name AS enterprise, e.township, CASE WHEN e.phone <> '' THEN e.phone ELSE COALESCE(p.phone, '') END AS phone
		FROM enterprises e
		LEFT JOIN contacts c ON c.enterprise_id = e.id AND c.role = 'principal'
			AND c.person_id IN (SELECT id FROM people WHERE active = TRUE)
		LEFT JOIN people p ON p.id = c.person_id
		WHERE e.active = TRUE AND NOT EXISTS (SELECT 1 FROM submissions sb
			WHERE sb.enterprise_id = e.id AND sb.period >= ? AND sb.period <= ? AND sb.state = ?)
		ORDER BY COALESCE(p.userid, ''), e.township, e.name, e.id`, from, to, safetybot.SubmissionSigned)
	return out, err
}

// HazardDueRow is an open hazard with someone to remind of it.
type HazardDueRow struct {
	UserID       string  `db:"userid"` // the principal, tracker or official reminded
	HazardID     int64   `db:"hazard_id"`
	EnterpriseID int64   `db:"enterprise_id"`
	Enterprise   string  `db:"enterprise"`
	Township     string  `db:"township"`
	Department   string  `db:"department"`
	Description  string  `db:"description"`
	Grade        string  `db:"grade"`
	Status       string  `db:"status"`
	Deadline     string  `db:"deadline"`
	Tracker      string  `db:"tracker"`
	Rank         int     `db:"rn"`    // position in its township's list (by deadline)
	Total        int     `db:"total"` // rows of its township's list
	Since        *string `db:"since"` // pending reviews: when it entered 待复查
}

var hazardPrincipalSelect = `SELECT p.userid, h.id AS hazard_id, h.enterprise_id, e.name AS enterprise, e.township, e.department,
		h.description, h.grade, h.status, h.deadline, h.tracker, 0 AS rn, 0 AS total, NULL AS since
	FROM hazards h
	JOIN enterprises e ON e.id = h.enterprise_id
	JOIN contacts c ON c.enterprise_id = h.enterprise_id AND c.role = 'principal'
	JOIN people p ON p.id = c.person_id
	WHERE e.active = TRUE AND p.active = TRUE`

// DateRange is the civil dates From ≤ d < To (YYYY-MM-DD).
type DateRange struct{ From, To string }

// HazardsDueIn returns, per principal, the hazards they must work on whose
// deadline falls in one of the ranges: the "due in 3 days" and "due today"
// reminders.
func (s *Store) HazardsDueIn(ctx context.Context, ranges []DateRange) ([]HazardDueRow, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	var conds []string
	var args []any
	for _, r := range ranges {
		conds = append(conds, `(`+actionableDue+` >= ? AND `+actionableDue+` < ?)`)
		args = append(args, r.From, r.To)
	}
	var out []HazardDueRow
	err := s.scan(ctx, "hazard-due", &out, hazardPrincipalSelect+` AND (`+strings.Join(conds, ` OR `)+`)
		ORDER BY p.userid, h.deadline, h.id`, args...)
	return out, err
}

// HazardsOverdueForPrincipals returns, per principal, the hazards they must
// work on whose deadline is before today.
func (s *Store) HazardsOverdueForPrincipals(ctx context.Context, today string) ([]HazardDueRow, error) {
	var out []HazardDueRow
	err := s.scan(ctx, "hazard-overdue", &out, hazardPrincipalSelect+` AND `+actionableDue+` < ? ORDER BY p.userid, h.deadline, h.id`, today)
	return out, err
}

// HazardsOverdueByTownship returns the first perTownship open hazards past
// their deadline of each township, oldest deadline first, each row carrying
// its township's total.
func (s *Store) HazardsOverdueByTownship(ctx context.Context, today string, perTownship int) ([]HazardDueRow, error) {
	var out []HazardDueRow
	err := s.scan(ctx, "hazard-overdue-township", &out, `SELECT '' AS userid, hazard_id, enterprise_id, enterprise, township, department, description, grade, status,
			deadline, tracker, rn, total, NULL AS since
		FROM (SELECT h.id AS hazard_id, h.enterprise_id, e.name AS enterprise, e.township, e.department, h.description, h.grade,
				h.status, h.deadline, h.tracker,
				ROW_NUMBER() OVER (PARTITION BY e.township ORDER BY h.deadline, h.id) AS rn,
				COUNT(*) OVER (PARTITION BY e.township) AS total
			FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
			WHERE e.active = TRUE AND `+openDue+` < ?) x
		WHERE rn <= ? ORDER BY township, rn`, today, perTownship)
	return out, err
}

// MajorHazardsOverdue returns the 重大 hazards past their deadline that the
// enterprise still has to work on, with their tracker and department: the
// escalation to trackers and supervising departments.
func (s *Store) MajorHazardsOverdue(ctx context.Context, today string) ([]HazardDueRow, error) {
	var out []HazardDueRow
	err := s.scan(ctx, "hazard-major-overdue", &out, `SELECT '' AS userid, h.id AS hazard_id, h.enterprise_id, e.name AS enterprise, e.township, e.department,
			h.description, h.grade, h.status, h.deadline, h.tracker, 0 AS rn, 0 AS total, NULL AS since
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE e.active = TRUE AND `+actionableDue+` < ? AND h.grade = ?
		ORDER BY h.deadline, h.id`, today, safetybot.GradeMajor)
	return out, err
}

// PendingReviews returns the hazards waiting for review (待复查) that were
// submitted before `before`, oldest submission first; Since is when (RFC 3339).
// The submission is the newest event that moved the hazard into its status.
// On Postgres one LATERAL probe of the events' index per hazard under review
// finds it with its time, and only the hazards submitted before `before` are
// joined to their enterprise. On SQLite both the newest submission and its
// time are scalar subqueries on the events' indexes (hazard_id, then the
// primary key). Either way the scan reads only the hazards under review.
func (s *Store) PendingReviews(ctx context.Context, before time.Time) ([]HazardDueRow, error) {
	var rows []struct {
		HazardDueRow
		EventID int64      `db:"ev_id"`
		EventAt *time.Time `db:"ev_at"`
	}
	if s.dialect == "postgres" {
		err := s.scan(ctx, "review-pending", &rows, `SELECT '' AS userid, r.hazard_id, r.enterprise_id, e.name AS enterprise,
				e.township, e.department, r.description, r.grade, r.status, r.deadline, r.tracker, 0 AS rn, 0 AS total,
				NULL AS since, r.ev_id, r.ev_at
			FROM (SELECT h.id AS hazard_id, h.enterprise_id, h.description, h.grade, h.status, COALESCE(h.deadline, '') AS deadline,
					h.tracker, ev.id AS ev_id, ev.at AS ev_at
				FROM hazards h
				CROSS JOIN LATERAL (SELECT x.id, x.at FROM hazard_events x
					WHERE x.hazard_id = h.id AND x.to_status = h.status AND x.from_status <> x.to_status
					ORDER BY x.id DESC LIMIT 1) ev
				WHERE h.status = ? AND ev.at < ? OFFSET 0) r
			JOIN enterprises e ON e.id = r.enterprise_id
			WHERE e.active = TRUE
			ORDER BY r.ev_id`, string(safetybot.HazardReview), before.UTC())
		if err != nil {
			return nil, err
		}
		out := make([]HazardDueRow, len(rows))
		for i, r := range rows {
			out[i] = r.HazardDueRow
			at := r.EventAt.UTC().Format(time.RFC3339)
			out[i].Since = &at
		}
		return out, nil
	}
	err := s.scan(ctx, "review-pending", &rows, `SELECT r.* FROM (SELECT '' AS userid, h.id AS hazard_id,
			h.enterprise_id, e.name AS enterprise, e.township, e.department, h.description, h.grade, h.status,
			COALESCE(h.deadline, '') AS deadline, h.tracker, 0 AS rn, 0 AS total, NULL AS since,
			(SELECT MAX(x.id) FROM hazard_events x WHERE x.hazard_id = h.id AND x.to_status = h.status AND x.from_status <> x.to_status) AS ev_id
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE e.active = TRUE AND h.status = ?) r
		WHERE (SELECT ev.at FROM hazard_events ev WHERE ev.id = r.ev_id) < ?
		ORDER BY r.ev_id`, string(safetybot.HazardReview), before.UTC())
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.EventID
	}
	var ats []struct {
		ID int64     `db:"id"`
		At time.Time `db:"at"`
	}
	for start := 0; start < len(ids); start += 1000 {
		q, args, err := s.in(`SELECT id, at FROM hazard_events WHERE id IN (?)`, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return nil, err
		}
		var part []struct {
			ID int64     `db:"id"`
			At time.Time `db:"at"`
		}
		if err := mapErr(s.q(ctx).SelectContext(ctx, &part, q, args...)); err != nil {
			return nil, err
		}
		ats = append(ats, part...)
	}
	when := make(map[int64]time.Time, len(ats))
	for _, a := range ats {
		when[a.ID] = a.At
	}
	out := make([]HazardDueRow, len(rows))
	for i, r := range rows {
		out[i] = r.HazardDueRow
		at := when[r.EventID].UTC().Format(time.RFC3339)
		out[i].Since = &at
	}
	return out, nil
}

// LeaderCount is a leader and their led inspections in a date range.
type LeaderCount struct {
	Official
	Led int `db:"led"`
}

// LedInspectionCounts returns every active township and department leader
// with their led inspections (inspections.led, inspector = userid) from
// `from` to `to` (YYYY-MM-DD, inclusive).
func (s *Store) LedInspectionCounts(ctx context.Context, from, to string) ([]LeaderCount, error) {
	var out []LeaderCount
	err := s.scan(ctx, "led-inspections", &out, `SELECT p.userid, p.name, p.role, p.township, p.department, p.leader,
			(SELECT COUNT(*) FROM inspections i WHERE i.inspector = p.userid AND i.led = TRUE
				AND i.inspected_on >= ? AND i.inspected_on <= ?) AS led
		FROM people p WHERE p.active = TRUE AND p.leader = TRUE AND p.role IN ('township', 'department')
		ORDER BY p.userid`, from, to)
	return out, err
}

// TownshipCounts are one township's enterprise counts: the denominators and
// numerators of the digest and the office's digest.
type TownshipCounts struct {
	Township      string `db:"township"`
	Enterprises   int    `db:"enterprises"`    // active
	Addressed     int    `db:"addressed"`      // addressed by a letter
	PastDeadline  int    `db:"past_deadline"`  // addressed by a letter whose deadline is before today
	SelfInspected int    `db:"self_inspected"` // with a principal-signed self-inspection for the month of today
}

// CountsByTownship makes one pass over the active enterprises, each
// membership test a hashed subquery built once, so nothing is sorted or
// aggregated per enterprise.
func (s *Store) CountsByTownship(ctx context.Context, today string) ([]TownshipCounts, error) {
	var out []TownshipCounts
	err := s.scan(ctx, "township-counts", &out, `SELECT e.township, COUNT(*) AS enterprises,
			COALESCE(SUM(CASE WHEN e.id IN (SELECT r.enterprise_id FROM letter_recipients r) THEN 1 ELSE 0 END), 0) AS addressed,
			COALESCE(SUM(CASE WHEN e.id IN (SELECT r.enterprise_id FROM letter_recipients r JOIN letters l ON l.id = r.letter_id
				WHERE l.deadline IS NOT NULL AND l.deadline <> '' AND l.deadline < ?) THEN 1 ELSE 0 END), 0) AS past_deadline,
			COALESCE(SUM(CASE WHEN e.id IN (SELECT sb.enterprise_id FROM submissions sb WHERE sb.period = ? AND sb.state = ?)
				THEN 1 ELSE 0 END), 0) AS self_inspected
		FROM enterprises e WHERE e.active = TRUE GROUP BY e.township ORDER BY e.township`,
		today, period(today), safetybot.SubmissionSigned)
	return out, err
}

// OpenHazards is one township's open hazards in the digest.
type OpenHazards struct {
	Township string `db:"township"`
	General  int    `db:"open_general"`
	Major    int    `db:"open_major"`
	Overdue  int    `db:"overdue"`
}

// OpenHazardsByTownship counts the open hazards of active enterprises per
// township, by grade, and those past their deadline on day. The open
// hazards are counted per enterprise first, so the join to the enterprises
// for their township and activity meets one row per enterprise with open
// hazards, not one per hazard.
func (s *Store) OpenHazardsByTownship(ctx context.Context, day string) ([]OpenHazards, error) {
	var out []OpenHazards
	err := s.scan(ctx, "digest-hazards", &out, `SELECT e.township, COALESCE(SUM(g.general), 0) AS open_general,
			COALESCE(SUM(g.major), 0) AS open_major, COALESCE(SUM(g.overdue), 0) AS overdue
		FROM (SELECT h.enterprise_id,
				SUM(CASE WHEN h.grade = ? THEN 0 ELSE 1 END) AS general,
				SUM(CASE WHEN h.grade = ? THEN 1 ELSE 0 END) AS major,
				SUM(CASE WHEN h.deadline < ? THEN 1 ELSE 0 END) AS overdue
			FROM hazards h WHERE h.status IN `+sqlOpen+` GROUP BY h.enterprise_id) g
		JOIN enterprises e ON e.id = g.enterprise_id
		WHERE e.active = TRUE
		GROUP BY e.township`, safetybot.GradeMajor, safetybot.GradeMajor, day)
	return out, err
}
