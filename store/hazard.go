package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"safetybot"
)

// Hazard sources.
const (
	SourceSelfCheck = "自查"
)

// NewHazard is one hazard to register (from a self-inspection's failed item).
type NewHazard struct {
	ItemKey     string
	Description string
	Grade       string                 // safetybot.GradeGeneral or GradeMajor
	Status      safetybot.HazardStatus // HazardRectifying, or HazardFixed when fixed on the spot
	Deadline    *time.Time             // a civil date; nil when fixed on the spot
	Photos      []string               // problem photos (SHA-256)
	FixedPhotos []string               // photos after an on-the-spot fix, kept on the first event
	FoundBy     string
	Note        string // note of the first hazard event
}

type hazardRow struct {
	ID           int64      `db:"id"`
	EnterpriseID int64      `db:"enterprise_id"`
	SubmissionID *int64     `db:"submission_id"`
	InspectionID *int64     `db:"inspection_id"`
	Source       string     `db:"source"`
	ItemKey      string     `db:"item_key"`
	Description  string     `db:"description"`
	Grade        string     `db:"grade"`
	Status       string     `db:"status"`
	Deadline     *string    `db:"deadline"`
	FoundAt      time.Time  `db:"found_at"`
	FoundBy      string     `db:"found_by"`
	ClosedAt     *time.Time `db:"closed_at"`
	Tracker      string     `db:"tracker"`
	Measures     string     `db:"measures"`
	Owner        string     `db:"owner"`
	Funds        string     `db:"funds"`
	Plan         string     `db:"plan"`
	Photos       string     `db:"photos"`
	UpdatedAt    time.Time  `db:"updated_at"`
}

const hazardCols = `id, enterprise_id, submission_id, inspection_id, source, item_key, description, grade, status, deadline,
	found_at, found_by, closed_at, tracker, measures, owner, funds, plan, photos, updated_at`

func (r hazardRow) domain() safetybot.Hazard {
	return safetybot.Hazard{ID: r.ID, EnterpriseID: r.EnterpriseID, SubmissionID: r.SubmissionID, InspectionID: r.InspectionID,
		Source: r.Source, ItemKey: r.ItemKey, Description: r.Description, Grade: r.Grade, Status: safetybot.HazardStatus(r.Status),
		Deadline: parseDate(r.Deadline), FoundAt: r.FoundAt, FoundBy: r.FoundBy, ClosedAt: r.ClosedAt, Tracker: r.Tracker,
		Measures: r.Measures, Owner: r.Owner, Funds: r.Funds, Plan: r.Plan, UpdatedAt: r.UpdatedAt}
}

// CreateHazards registers the hazards of a submission, each with its first
// hazard event (登记 → its status), and returns them with their ids. Call it in
// the submission's transaction.
func (s *Store) CreateHazards(ctx context.Context, enterpriseID, submissionID int64, hs []NewHazard) ([]safetybot.Hazard, error) {
	var out []safetybot.Hazard
	err := s.InTx(ctx, func(ctx context.Context) error {
		now := s.Now()
		for _, h := range hs {
			photos := jsonList(h.Photos)
			var id int64
			if err := s.get(ctx, &id, `INSERT INTO hazards (enterprise_id, submission_id, source, item_key, description, grade, status,
				deadline, found_at, found_by, photos, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				enterpriseID, submissionID, SourceSelfCheck, h.ItemKey, h.Description, h.Grade, string(h.Status),
				dateString(h.Deadline), now, h.FoundBy, photos, now); err != nil {
				return fmt.Errorf("create hazard %s: %w", h.ItemKey, err)
			}
			evPhotos := photos
			if len(h.FixedPhotos) > 0 {
				evPhotos = jsonList(h.FixedPhotos)
			}
			if _, err := s.exec(ctx, `INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos, deadline)
				VALUES (?, ?, ?, '', ?, ?, ?, ?)`, id, now, h.FoundBy, string(h.Status), h.Note, evPhotos, dateString(h.Deadline)); err != nil {
				return err
			}
			hz, err := s.FindHazard(ctx, id)
			if err != nil {
				return err
			}
			out = append(out, hz)
		}
		return nil
	})
	return out, err
}

func jsonList(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// FindHazard returns one hazard.
func (s *Store) FindHazard(ctx context.Context, id int64) (safetybot.Hazard, error) {
	var r hazardRow
	err := s.get(ctx, &r, `SELECT `+hazardCols+` FROM hazards WHERE id = ?`, id)
	if IsNotFound(err) {
		return safetybot.Hazard{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这条隐患", Err: err}
	}
	return r.domain(), err
}

// HazardPhotos returns the problem photos registered with a hazard.
func (s *Store) HazardPhotos(ctx context.Context, id int64) ([]string, error) {
	var raw string
	if err := s.get(ctx, &raw, `SELECT photos FROM hazards WHERE id = ?`, id); err != nil {
		return nil, err
	}
	var out []string
	err := json.Unmarshal([]byte(raw), &out)
	return out, err
}

// HazardFilter selects hazards; empty fields match everything.
type HazardFilter struct {
	EnterpriseID int64
	SubmissionID int64
	Period       string // hazards found through a submission of this month
	Grade        string
	Statuses     []safetybot.HazardStatus
	Limit        int
}

// ListHazards returns the hazards matching f, oldest first.
func (s *Store) ListHazards(ctx context.Context, f HazardFilter) ([]safetybot.Hazard, error) {
	q := `SELECT ` + hazardCols + ` FROM hazards WHERE 1 = 1`
	var args []any
	if f.EnterpriseID != 0 {
		q += ` AND enterprise_id = ?`
		args = append(args, f.EnterpriseID)
	}
	if f.SubmissionID != 0 {
		q += ` AND submission_id = ?`
		args = append(args, f.SubmissionID)
	}
	if f.Period != "" {
		q += ` AND submission_id IN (SELECT id FROM submissions WHERE period = ?)`
		args = append(args, f.Period)
	}
	if f.Grade != "" {
		q += ` AND grade = ?`
		args = append(args, f.Grade)
	}
	if len(f.Statuses) > 0 {
		st := make([]string, len(f.Statuses))
		for i, x := range f.Statuses {
			st[i] = string(x)
		}
		q += ` AND status IN (?)`
		args = append(args, st)
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	q, a, err := s.in(q, args...)
	if err != nil {
		return nil, err
	}
	var rows []hazardRow
	if err := mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...)); err != nil {
		return nil, err
	}
	out := make([]safetybot.Hazard, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// LatestCampaignSettings returns the settings of the newest campaign, with the
// plan's defaults filled in (the defaults alone when no campaign is stored).
func (s *Store) LatestCampaignSettings(ctx context.Context) (safetybot.CampaignSettings, error) {
	var raw []string
	if err := s.sel(ctx, &raw, `SELECT settings FROM campaigns ORDER BY id DESC LIMIT 1`); err != nil {
		return safetybot.CampaignSettings{}, err
	}
	var cs safetybot.CampaignSettings
	if len(raw) > 0 && raw[0] != "" {
		if err := json.Unmarshal([]byte(raw[0]), &cs); err != nil {
			return safetybot.CampaignSettings{}, fmt.Errorf("campaign settings: %w", err)
		}
	}
	return cs.WithDefaults(), nil
}
