package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The reads below feed the statistics in package report. They are plain
// SELECTs over the tables of migrations 00001 and 00002, meant to be run
// inside ReportSnapshot so that every figure of one report comes from the same
// moment. Aggregation happens in Go: the report needs the names behind every
// rate anyway, so it reads the rows once and counts them.

// ReportSnapshot runs fn in one read-only transaction that sees a single
// snapshot of the database: REPEATABLE READ on Postgres (every statement sees
// the data as of the first one), a deferred read transaction on SQLite (WAL
// readers see the database as of their first read). Store reads made with the
// ctx passed to fn use it. Inside an existing transaction fn simply joins it.
func (s *Store) ReportSnapshot(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sqlx.Tx); ok {
		return fn(ctx)
	}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == "postgres" {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTxx(ctx, opts)
	if err != nil {
		return mapErr(fmt.Errorf("begin snapshot: %w", err))
	}
	defer tx.Rollback()
	if err := fn(context.WithValue(ctx, txKey{}, tx)); err != nil {
		return err
	}
	return mapErr(tx.Commit())
}

// scanEach runs a query and hands each row to scan: the big report reads
// scan their columns directly, which costs a fraction of mapping them by name.
func (s *Store) scanEach(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := s.q(ctx).QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return mapErr(err)
		}
	}
	return mapErr(rows.Err())
}

// ReportParallel runs the reads in fns concurrently, each in a read-only
// transaction of its own, all seeing one snapshot: on Postgres the first
// transaction exports its snapshot (pg_export_snapshot) and the others adopt
// it (SET TRANSACTION SNAPSHOT) before they read anything. On SQLite, or
// inside a transaction already, they run one after another in one snapshot.
// The fns must not share state they write.
func (s *Store) ReportParallel(ctx context.Context, fns ...func(ctx context.Context) error) error {
	if _, inTx := ctx.Value(txKey{}).(*sqlx.Tx); inTx || s.dialect != "postgres" || len(fns) < 2 {
		return s.ReportSnapshot(ctx, func(ctx context.Context) error {
			for _, fn := range fns {
				if err := fn(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	txs := make([]*sqlx.Tx, len(fns))
	defer func() {
		for _, tx := range txs {
			if tx != nil {
				tx.Rollback()
			}
		}
	}()
	var err error
	if txs[0], err = s.db.BeginTxx(ctx, opts); err != nil {
		return mapErr(fmt.Errorf("begin snapshot: %w", err))
	}
	var snapshot string
	if err := txs[0].GetContext(ctx, &snapshot, `SELECT pg_export_snapshot()`); err != nil {
		return mapErr(fmt.Errorf("export snapshot: %w", err))
	}
	for i := 1; i < len(fns); i++ {
		if txs[i], err = s.db.BeginTxx(ctx, opts); err != nil {
			return mapErr(fmt.Errorf("begin snapshot: %w", err))
		}
		// The snapshot id comes from the server; it is quoted as a literal anyway.
		if _, err := txs[i].ExecContext(ctx, `SET TRANSACTION SNAPSHOT `+pq.QuoteLiteral(snapshot)); err != nil {
			return mapErr(fmt.Errorf("import snapshot: %w", err))
		}
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(context.WithValue(ctx, txKey{}, txs[i]))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// ReportCampaign is one row of campaigns.
type ReportCampaign struct {
	ID       int64  `db:"id"`
	Name     string `db:"name"`
	StartsOn string `db:"starts_on"`
	EndsOn   string `db:"ends_on"`
	Settings string `db:"settings"`
}

// ReportCampaigns returns every campaign, oldest start first.
func (s *Store) ReportCampaigns(ctx context.Context) ([]ReportCampaign, error) {
	var rows []ReportCampaign
	err := s.sel(ctx, &rows, `SELECT id, name, starts_on, ends_on, settings FROM campaigns ORDER BY starts_on, id`)
	return rows, err
}

// ReportEnterprise is an enterprise as the reports see it.
type ReportEnterprise struct {
	ID            int64   `db:"id"`
	CreditCode    string  `db:"credit_code"`
	Name          string  `db:"name"`
	Township      string  `db:"township"`
	Category      string  `db:"category"`
	SmallType     string  `db:"small_type"`
	KeyUnit       bool    `db:"key_unit"`
	Department    string  `db:"department"`
	Phone         string  `db:"phone"`
	Address       string  `db:"address"`
	LastInspected *string `db:"last_inspected"` // YYYY-MM-DD from the roster
	Active        bool    `db:"active"`
}

// ReportEnterprises returns every enterprise, active or not, by id.
func (s *Store) ReportEnterprises(ctx context.Context) ([]ReportEnterprise, error) {
	var out []ReportEnterprise
	err := s.scanEach(ctx, `SELECT id, credit_code, name, township, category, small_type, key_unit, department,
		phone, address, last_inspected, active FROM enterprises ORDER BY id`, nil, func(rows *sql.Rows) error {
		var e ReportEnterprise
		err := rows.Scan(&e.ID, &e.CreditCode, &e.Name, &e.Township, &e.Category, &e.SmallType, &e.KeyUnit, &e.Department,
			&e.Phone, &e.Address, &e.LastInspected, &e.Active)
		out = append(out, e)
		return err
	})
	return out, err
}

// ReportContact is one principal of an enterprise.
type ReportContact struct {
	EnterpriseID int64  `db:"enterprise_id"`
	UserID       string `db:"userid"`
	Name         string `db:"name"`
	Phone        string `db:"phone"`
}

// ReportPrincipals returns the principals of every enterprise, ordered by
// enterprise and person id (the first is the one a list shows).
func (s *Store) ReportPrincipals(ctx context.Context) ([]ReportContact, error) {
	var out []ReportContact
	err := s.scanEach(ctx, `SELECT c.enterprise_id, p.userid, p.name, p.phone
		FROM contacts c JOIN people p ON p.id = c.person_id
		WHERE c.role = 'principal' ORDER BY c.enterprise_id, c.person_id`, nil, func(rows *sql.Rows) error {
		var c ReportContact
		err := rows.Scan(&c.EnterpriseID, &c.UserID, &c.Name, &c.Phone)
		out = append(out, c)
		return err
	})
	return out, err
}

// ReportTownships returns every township name in the townships table, sorted.
func (s *Store) ReportTownships(ctx context.Context) ([]string, error) {
	return s.ListTownships(ctx)
}

// ReportLetter is one open letter.
type ReportLetter struct {
	ID         int64     `db:"id"`
	CampaignID *int64    `db:"campaign_id"`
	Title      string    `db:"title"`
	CreatedAt  time.Time `db:"created_at"`
}

// ReportLetters returns every letter, oldest first.
func (s *Store) ReportLetters(ctx context.Context) ([]ReportLetter, error) {
	var rows []ReportLetter
	err := s.sel(ctx, &rows, `SELECT id, campaign_id, title, created_at FROM letters ORDER BY id`)
	return rows, err
}

// ReportAddressed is one enterprise a letter was addressed to, with its signature.
type ReportAddressed struct {
	LetterID     int64      `db:"letter_id"`
	EnterpriseID int64      `db:"enterprise_id"`
	SignedAt     *time.Time `db:"signed_at"`
}

// ReportLetterRecipients returns the addressed enterprises of every letter,
// with their signature time (nil: not signed), in no particular order.
func (s *Store) ReportLetterRecipients(ctx context.Context) ([]ReportAddressed, error) {
	var out []ReportAddressed
	err := s.scanEach(ctx, `SELECT r.letter_id, r.enterprise_id, sg.signed_at
		FROM letter_recipients r
		LEFT JOIN signatures sg ON sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id`, nil, func(rows *sql.Rows) error {
		var a ReportAddressed
		err := rows.Scan(&a.LetterID, &a.EnterpriseID, &a.SignedAt)
		out = append(out, a)
		return err
	})
	return out, err
}

// ReportSubmission is one version of a self-inspection.
type ReportSubmission struct {
	EnterpriseID int64      `db:"enterprise_id"`
	Period       string     `db:"period"`
	Version      int        `db:"version"`
	State        string     `db:"state"`
	SignedAt     *time.Time `db:"signed_at"`
	CreatedAt    time.Time  `db:"created_at"`
}

// ReportSubmissions returns every self-inspection version, ordered by
// enterprise, period and version (the last of a period is the one that counts).
func (s *Store) ReportSubmissions(ctx context.Context) ([]ReportSubmission, error) {
	var out []ReportSubmission
	err := s.scanEach(ctx, `SELECT enterprise_id, period, version, state, signed_at, created_at
		FROM submissions ORDER BY enterprise_id, period, version`, nil, func(rows *sql.Rows) error {
		var sub ReportSubmission
		err := rows.Scan(&sub.EnterpriseID, &sub.Period, &sub.Version, &sub.State, &sub.SignedAt, &sub.CreatedAt)
		out = append(out, sub)
		return err
	})
	return out, err
}

// ReportHazard is one hazard with what the ledger shows.
type ReportHazard struct {
	ID           int64      `db:"id"`
	EnterpriseID int64      `db:"enterprise_id"`
	Source       string     `db:"source"`
	Description  string     `db:"description"`
	Grade        string     `db:"grade"`
	Status       string     `db:"status"`
	Deadline     *string    `db:"deadline"` // YYYY-MM-DD
	FoundAt      time.Time  `db:"found_at"`
	FoundBy      string     `db:"found_by"`
	ClosedAt     *time.Time `db:"closed_at"`
	Tracker      string     `db:"tracker"`
	Measures     string     `db:"measures"`
	Photos       string     `db:"photos"` // JSON array of sha256
	UpdatedAt    time.Time  `db:"updated_at"`
}

const reportHazardCols = `id, enterprise_id, source, description, grade, status, deadline, found_at, found_by,
	closed_at, tracker, measures, photos, updated_at`

// ReportHazards returns every hazard by id.
func (s *Store) ReportHazards(ctx context.Context) ([]ReportHazard, error) {
	var out []ReportHazard
	err := s.scanEach(ctx, `SELECT `+reportHazardCols+` FROM hazards ORDER BY id`, nil, func(rows *sql.Rows) error {
		var h ReportHazard
		err := rows.Scan(&h.ID, &h.EnterpriseID, &h.Source, &h.Description, &h.Grade, &h.Status, &h.Deadline, &h.FoundAt, &h.FoundBy,
			&h.ClosedAt, &h.Tracker, &h.Measures, &h.Photos, &h.UpdatedAt)
		out = append(out, h)
		return err
	})
	return out, err
}

// ReportHazard returns one hazard (ENOTFOUND when there is none).
func (s *Store) ReportHazard(ctx context.Context, id int64) (ReportHazard, error) {
	var row ReportHazard
	err := s.get(ctx, &row, `SELECT `+reportHazardCols+` FROM hazards WHERE id = ?`, id)
	return row, err
}

// ReportHazardEvent is one step in a hazard's history.
type ReportHazardEvent struct {
	ID         int64     `db:"id"`
	HazardID   int64     `db:"hazard_id"`
	At         time.Time `db:"at"`
	Actor      string    `db:"actor"`
	FromStatus string    `db:"from_status"`
	ToStatus   string    `db:"to_status"`
	Note       string    `db:"note"`
	Photos     string    `db:"photos"` // JSON array of sha256
	Deadline   *string   `db:"deadline"`
}

const reportEventCols = `id, hazard_id, at, actor, from_status, to_status, note, photos, deadline`

// ReportHazardEvents returns the events of the hazards (all hazards when ids
// is empty), ordered by hazard, time and id.
func (s *Store) ReportHazardEvents(ctx context.Context, ids ...int64) ([]ReportHazardEvent, error) {
	var rows []ReportHazardEvent
	if len(ids) == 0 {
		err := s.sel(ctx, &rows, `SELECT `+reportEventCols+` FROM hazard_events ORDER BY hazard_id, at, id`)
		return rows, err
	}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		q, a, err := s.in(`SELECT `+reportEventCols+` FROM hazard_events WHERE hazard_id IN (?) ORDER BY hazard_id, at, id`, chunk)
		if err != nil {
			return nil, err
		}
		var part []ReportHazardEvent
		if err := mapErr(s.q(ctx).SelectContext(ctx, &part, q, a...)); err != nil {
			return nil, err
		}
		rows = append(rows, part...)
	}
	return rows, nil
}

// ReportStatusEvents returns the events that moved a hazard into one of the
// statuses (e.g. 停产整改, 关闭取缔), ordered by hazard and time.
func (s *Store) ReportStatusEvents(ctx context.Context, statuses ...string) ([]ReportHazardEvent, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	q, a, err := s.in(`SELECT `+reportEventCols+` FROM hazard_events WHERE to_status IN (?) ORDER BY hazard_id, at, id`, statuses)
	if err != nil {
		return nil, err
	}
	var rows []ReportHazardEvent
	err = mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...))
	return rows, err
}

// ReportInspection is one inspection (led, on-site, undercover or cross-check).
type ReportInspection struct {
	ID           int64  `db:"id"`
	Kind         string `db:"kind"`
	EnterpriseID int64  `db:"enterprise_id"`
	Inspector    string `db:"inspector"`
	Led          bool   `db:"led"`
	InspectedOn  string `db:"inspected_on"` // YYYY-MM-DD
	Findings     string `db:"findings"`
	Status       string `db:"status"`
}

// ReportInspections returns every inspection by id.
func (s *Store) ReportInspections(ctx context.Context) ([]ReportInspection, error) {
	var out []ReportInspection
	err := s.scanEach(ctx, `SELECT id, kind, enterprise_id, inspector, led, inspected_on, findings, status
		FROM inspections ORDER BY id`, nil, func(rows *sql.Rows) error {
		var in ReportInspection
		err := rows.Scan(&in.ID, &in.Kind, &in.EnterpriseID, &in.Inspector, &in.Led, &in.InspectedOn, &in.Findings, &in.Status)
		out = append(out, in)
		return err
	})
	return out, err
}

// ReportLeader is a leader (people.leader) of a township or department.
type ReportLeader struct {
	UserID     string `db:"userid"`
	Name       string `db:"name"`
	Role       string `db:"role"`
	Township   string `db:"township"`
	Department string `db:"department"`
}

// ReportLeaders returns the active leaders, by role, township, department and name.
func (s *Store) ReportLeaders(ctx context.Context) ([]ReportLeader, error) {
	var rows []ReportLeader
	err := s.sel(ctx, &rows, `SELECT userid, name, role, township, department FROM people
		WHERE leader = TRUE AND active = TRUE AND role IN ('township', 'department', 'office')
		ORDER BY role DESC, township, department, name, userid`)
	return rows, err
}

// ReportPhotoTypes returns the content type of each stored photo among shas.
func (s *Store) ReportPhotoTypes(ctx context.Context, shas []string) (map[string]string, error) {
	out := make(map[string]string, len(shas))
	for start := 0; start < len(shas); start += 500 {
		chunk := shas[start:min(start+500, len(shas))]
		q, a, err := s.in(`SELECT sha256, content_type FROM photos WHERE sha256 IN (?)`, chunk)
		if err != nil {
			return nil, err
		}
		var rows []struct {
			SHA  string `db:"sha256"`
			Type string `db:"content_type"`
		}
		if err := mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...)); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.SHA] = r.Type
		}
	}
	return out, nil
}

// ReportEnterprise returns one enterprise (ENOTFOUND when there is none).
func (s *Store) ReportEnterprise(ctx context.Context, id int64) (ReportEnterprise, error) {
	var row ReportEnterprise
	err := s.get(ctx, &row, `SELECT id, credit_code, name, township, category, small_type, key_unit, department,
		phone, address, last_inspected, active FROM enterprises WHERE id = ?`, id)
	return row, err
}
