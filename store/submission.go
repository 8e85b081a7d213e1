package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"safetybot"
)

// Submission is one stored version of an enterprise's monthly self-inspection
// (S7). It differs from safetybot.Submission in FormVersion: the column holds
// the composed version string ("nine-small@1+key-unit@1+closing@1") that
// rebuilds the exact form, which an int cannot.
type Submission struct {
	ID           int64
	EnterpriseID int64
	Period       string // YYYY-MM in the campaign time zone
	FormKey      string // composed form key, e.g. "nine-small+closing"
	FormVersion  string // e.g. "nine-small@1+closing@1"
	Version      int    // 1, then +1 for every resubmission after 退回
	Answers      string // JSON, frozen with the form version
	SHA256       string // of Answers
	Filler       string // userid
	FillerRole   safetybot.ContactRole
	Signer       string // userid of the signing principal, "" until signed
	SignedAt     *time.Time
	State        string // safetybot.Submission… states
	Comment      string // why it was sent back
	Flagged      []string
	ReturnedBy   string
	ReturnedAt   *time.Time
	CreatedAt    time.Time
}

// Signed reports whether the submission counts as done.
func (s Submission) Signed() bool { return s.State == safetybot.SubmissionSigned }

type submissionRow struct {
	ID           int64      `db:"id"`
	EnterpriseID int64      `db:"enterprise_id"`
	Period       string     `db:"period"`
	FormKey      string     `db:"form_key"`
	FormVersion  string     `db:"form_version"`
	Version      int        `db:"version"`
	Answers      string     `db:"answers"`
	SHA256       string     `db:"sha256"`
	Filler       string     `db:"filler"`
	FillerRole   string     `db:"filler_role"`
	Signer       string     `db:"signer"`
	SignedAt     *time.Time `db:"signed_at"`
	State        string     `db:"state"`
	Comment      string     `db:"comment"`
	Flagged      string     `db:"flagged"`
	ReturnedBy   string     `db:"returned_by"`
	ReturnedAt   *time.Time `db:"returned_at"`
	CreatedAt    time.Time  `db:"created_at"`
}

const submissionCols = `id, enterprise_id, period, form_key, form_version, version, answers, sha256, filler, filler_role,
	signer, signed_at, state, comment, flagged, returned_by, returned_at, created_at`

func (r submissionRow) domain() Submission {
	s := Submission{ID: r.ID, EnterpriseID: r.EnterpriseID, Period: r.Period, FormKey: r.FormKey, FormVersion: r.FormVersion,
		Version: r.Version, Answers: r.Answers, SHA256: r.SHA256, Filler: r.Filler, FillerRole: safetybot.ContactRole(r.FillerRole),
		Signer: r.Signer, SignedAt: r.SignedAt, State: r.State, Comment: r.Comment, ReturnedBy: r.ReturnedBy,
		ReturnedAt: r.ReturnedAt, CreatedAt: r.CreatedAt}
	json.Unmarshal([]byte(r.Flagged), &s.Flagged)
	return s
}

// SubmissionPhoto is one photo of a submission, linked to the item it belongs to.
type SubmissionPhoto struct {
	ItemKey string `db:"item_key"`
	Kind    string `db:"kind"` // PhotoAnswer, PhotoProblem or PhotoFixed
	SHA256  string `db:"sha256"`
}

// Kinds of submission photos.
const (
	PhotoAnswer  = "answer"  // the answer to a photo question
	PhotoProblem = "problem" // a failed item's problem photo
	PhotoFixed   = "fixed"   // a failed item fixed on the spot, after the fix
)

// NewSubmission is what CreateSubmission stores.
type NewSubmission struct {
	EnterpriseID int64
	Period       string
	FormKey      string
	FormVersion  string
	Answers      string // JSON
	Filler       string
	FillerRole   safetybot.ContactRole
	Signed       bool // the filler is the principal and signed while submitting
	Photos       []SubmissionPhoto
}

// CreateSubmission stores a new version of the enterprise's submission for
// the period, its photos and an audit row, in one transaction. The version is
// 1, or one more than the latest when that was sent back (已退回). When the
// latest version is waiting for a signature or signed, it returns ECONFLICT
// with the existing submission, so a double 提交 or two people submitting the
// same month never make two.
func (s *Store) CreateSubmission(ctx context.Context, in NewSubmission) (Submission, error) {
	var out Submission
	err := s.InTx(ctx, func(ctx context.Context) error {
		version := 1
		cur, err := s.LatestSubmission(ctx, in.EnterpriseID, in.Period)
		switch {
		case err == nil && cur.State != safetybot.SubmissionReturned:
			out = cur
			return &safetybot.Error{Code: safetybot.ECONFLICT, Message: "本月自查已经提交过了",
				Err: fmt.Errorf("submission %d (enterprise %d, %s) is %s", cur.ID, in.EnterpriseID, in.Period, cur.State)}
		case err == nil:
			version = cur.Version + 1
		case !IsNotFound(err):
			return err
		}
		now := s.Now()
		state := safetybot.SubmissionAwaitingSignature
		var signer string
		var signedAt *time.Time
		if in.Signed {
			state, signer, signedAt = safetybot.SubmissionSigned, in.Filler, &now
		}
		sha := safetybot.BodyHash(in.Answers)
		var id int64
		err = s.get(ctx, &id, `INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, sha256,
			filler, filler_role, signer, signed_at, state, comment, flagged, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '[]', ?) RETURNING id`,
			in.EnterpriseID, in.Period, in.FormKey, in.FormVersion, version, in.Answers, sha,
			in.Filler, string(in.FillerRole), signer, signedAt, state, now)
		if IsConflict(err) {
			return &safetybot.Error{Code: safetybot.ECONFLICT, Message: "本月自查已经提交过了", Err: err}
		}
		if err != nil {
			return err
		}
		for i, p := range in.Photos {
			if _, err := s.exec(ctx, `INSERT INTO submission_photos (submission_id, item_key, kind, sha256, position)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, id, p.ItemKey, p.Kind, p.SHA256, i); err != nil {
				return err
			}
		}
		detail := map[string]any{"enterprise_id": in.EnterpriseID, "period": in.Period, "form_version": in.FormVersion,
			"version": version, "role": in.FillerRole, "photos": len(in.Photos)}
		if err := s.Audit(ctx, in.Filler, "submission.submit", submissionSubject(id), detail, sha); err != nil {
			return err
		}
		if in.Signed {
			if err := s.Audit(ctx, in.Filler, "submission.sign", submissionSubject(id), map[string]any{"version": version}, sha); err != nil {
				return err
			}
		}
		out, err = s.FindSubmission(ctx, id)
		return err
	})
	return out, err
}

func submissionSubject(id int64) string { return fmt.Sprintf("submission:%d", id) }

// FindSubmission returns one submission version.
func (s *Store) FindSubmission(ctx context.Context, id int64) (Submission, error) {
	var r submissionRow
	err := s.get(ctx, &r, `SELECT `+submissionCols+` FROM submissions WHERE id = ?`, id)
	if IsNotFound(err) {
		return Submission{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这份自查", Err: err}
	}
	return r.domain(), err
}

// LatestSubmission returns the newest version of the enterprise's submission
// for the period (ENOTFOUND when there is none).
func (s *Store) LatestSubmission(ctx context.Context, enterpriseID int64, period string) (Submission, error) {
	var r submissionRow
	err := s.get(ctx, &r, `SELECT `+submissionCols+` FROM submissions WHERE enterprise_id = ? AND period = ?
		ORDER BY version DESC LIMIT 1`, enterpriseID, period)
	return r.domain(), err
}

// SubmissionVersions returns every version of the enterprise's submission for
// the period, oldest first. Old versions are never changed or removed.
func (s *Store) SubmissionVersions(ctx context.Context, enterpriseID int64, period string) ([]Submission, error) {
	var rows []submissionRow
	if err := s.sel(ctx, &rows, `SELECT `+submissionCols+` FROM submissions WHERE enterprise_id = ? AND period = ?
		ORDER BY version`, enterpriseID, period); err != nil {
		return nil, err
	}
	out := make([]Submission, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SubmissionPhotos returns the photos of a submission in the order stored.
func (s *Store) SubmissionPhotos(ctx context.Context, id int64) ([]SubmissionPhoto, error) {
	var out []SubmissionPhoto
	err := s.sel(ctx, &out, `SELECT item_key, kind, sha256 FROM submission_photos WHERE submission_id = ? ORDER BY position, item_key, kind`, id)
	return out, err
}

// SignSubmission records the principal's signature on a submission waiting
// for one. It reports whether this call signed it; signing one already signed
// is not an error (signed is false and the stored submission is returned).
// Only the newest version of a month can be signed; others are ECONFLICT.
func (s *Store) SignSubmission(ctx context.Context, id int64, signer string) (sub Submission, signed bool, err error) {
	err = s.InTx(ctx, func(ctx context.Context) error {
		sub, err = s.lockSubmission(ctx, id)
		if err != nil {
			return err
		}
		switch sub.State {
		case safetybot.SubmissionSigned:
			return nil
		case safetybot.SubmissionReturned:
			return safetybot.Errorf(safetybot.ECONFLICT, "这份自查已退回修改，不能签字")
		}
		if err := s.checkLatest(ctx, sub); err != nil {
			return err
		}
		now := s.Now()
		if _, err := s.exec(ctx, `UPDATE submissions SET state = ?, signer = ?, signed_at = ? WHERE id = ?`,
			safetybot.SubmissionSigned, signer, now, id); err != nil {
			return err
		}
		if err := s.Audit(ctx, signer, "submission.sign", submissionSubject(id), map[string]any{"version": sub.Version}, sub.SHA256); err != nil {
			return err
		}
		signed = true
		sub, err = s.FindSubmission(ctx, id)
		return err
	})
	return sub, signed, err
}

// ReturnSubmission sends a submission back (已退回) with a comment: by the
// principal before signing (退回修改), or by an official after (退回补正), who
// may flag the item keys to correct. The row stays as it was otherwise; the
// enterprise's corrected form becomes a new version. Returning one already
// returned, or an older version, is ECONFLICT.
func (s *Store) ReturnSubmission(ctx context.Context, id int64, by, comment string, flagged []string) (Submission, error) {
	var sub Submission
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		sub, err = s.lockSubmission(ctx, id)
		if err != nil {
			return err
		}
		if sub.State == safetybot.SubmissionReturned {
			return safetybot.Errorf(safetybot.ECONFLICT, "这份自查已经退回过了")
		}
		if err := s.checkLatest(ctx, sub); err != nil {
			return err
		}
		if flagged == nil {
			flagged = []string{}
		}
		fb, _ := json.Marshal(flagged)
		now := s.Now()
		if _, err := s.exec(ctx, `UPDATE submissions SET state = ?, comment = ?, flagged = ?, returned_by = ?, returned_at = ? WHERE id = ?`,
			safetybot.SubmissionReturned, comment, string(fb), by, now, id); err != nil {
			return err
		}
		if err := s.Audit(ctx, by, "submission.return", submissionSubject(id),
			map[string]any{"version": sub.Version, "comment": comment, "flagged": flagged, "was": sub.State}, sub.SHA256); err != nil {
			return err
		}
		sub, err = s.FindSubmission(ctx, id)
		return err
	})
	return sub, err
}

// lockSubmission reads a submission for update (Postgres row lock; SQLite has
// one writer).
func (s *Store) lockSubmission(ctx context.Context, id int64) (Submission, error) {
	q := `SELECT ` + submissionCols + ` FROM submissions WHERE id = ?`
	if s.dialect == "postgres" {
		q += ` FOR UPDATE`
	}
	var r submissionRow
	err := s.get(ctx, &r, q, id)
	if IsNotFound(err) {
		return Submission{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这份自查", Err: err}
	}
	return r.domain(), err
}

func (s *Store) checkLatest(ctx context.Context, sub Submission) error {
	var latest int
	if err := s.get(ctx, &latest, `SELECT MAX(version) FROM submissions WHERE enterprise_id = ? AND period = ?`, sub.EnterpriseID, sub.Period); err != nil {
		return err
	}
	if latest != sub.Version {
		return safetybot.Errorf(safetybot.ECONFLICT, "这是旧版本（第 %d 版），已有第 %d 版", sub.Version, latest)
	}
	return nil
}

// InspectionLine is one active enterprise with the state of its newest
// submission for a period: the rows behind `report inspections`.
type InspectionLine struct {
	EnterpriseID int64      `db:"enterprise_id"`
	Township     string     `db:"township"`
	CreditCode   string     `db:"credit_code"`
	Name         string     `db:"name"`
	Category     string     `db:"category"`
	KeyUnit      bool       `db:"key_unit"`
	Principal    string     `db:"principal"`
	UserID       string     `db:"userid"`
	SubmissionID *int64     `db:"submission_id"`
	State        *string    `db:"state"` // nil: not submitted
	Version      *int       `db:"version"`
	SignedAt     *time.Time `db:"signed_at"`
}

// InspectionLines returns every active enterprise (of the townships, when
// given) with its newest submission for the period, ordered by township and name.
func (s *Store) InspectionLines(ctx context.Context, period string, townships ...string) ([]InspectionLine, error) {
	q := `SELECT e.id AS enterprise_id, e.township, e.credit_code, e.name, e.category, e.key_unit,
		COALESCE((SELECT p.name FROM contacts c JOIN people p ON p.id = c.person_id
			WHERE c.enterprise_id = e.id AND c.role = 'principal' ORDER BY p.userid LIMIT 1), '') AS principal,
		COALESCE((SELECT p.userid FROM contacts c JOIN people p ON p.id = c.person_id
			WHERE c.enterprise_id = e.id AND c.role = 'principal' ORDER BY p.userid LIMIT 1), '') AS userid,
		s.id AS submission_id, s.state, s.version, s.signed_at
		FROM enterprises e
		LEFT JOIN submissions s ON s.enterprise_id = e.id AND s.period = ?
			AND s.version = (SELECT MAX(version) FROM submissions x WHERE x.enterprise_id = e.id AND x.period = ?)
		WHERE e.active = TRUE`
	args := []any{period, period}
	if len(townships) > 0 {
		q += ` AND e.township IN (?)`
		args = append(args, townships)
	}
	q += ` ORDER BY e.township, e.name, e.id`
	q, a, err := s.in(q, args...)
	if err != nil {
		return nil, err
	}
	var rows []InspectionLine
	err = mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...))
	return rows, err
}

// ---- drafts ----

// Draft is a user's unfinished self-inspection form: the engine's State as
// JSON, the enterprise and month it is for, and, for a correction after 退回,
// the submission it corrects. A user has at most one. It expires DraftTTL after
// its last step.
type Draft struct {
	UserID         string     `db:"userid"`
	EnterpriseID   int64      `db:"enterprise_id"`
	Period         string     `db:"period"`
	BaseSubmission *int64     `db:"base_submission"`
	Session        string     `db:"session"` // random per draft; card buttons carry it
	Data           string     `db:"data"`
	CreatedAt      time.Time  `db:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at"`
	ExpiresAt      time.Time  `db:"expires_at"`
	WarnedAt       *time.Time `db:"warned_at"`
}

// DraftTTL is how long an untouched draft is kept.
const DraftTTL = 7 * 24 * time.Hour

const draftCols = `userid, enterprise_id, period, base_submission, session, data, created_at, updated_at, expires_at, warned_at`

// PutDraft creates or replaces the user's draft and moves its expiry to
// DraftTTL from now (clearing any expiry warning). d.Session is kept when set.
func (s *Store) PutDraft(ctx context.Context, d *Draft) error {
	now := s.Now()
	if d.Session == "" {
		d.Session = newID()
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now
	}
	d.UpdatedAt, d.ExpiresAt, d.WarnedAt = now, now.Add(DraftTTL), nil
	_, err := s.exec(ctx, `INSERT INTO selfcheck_drafts (`+draftCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (userid) DO UPDATE SET enterprise_id = excluded.enterprise_id, period = excluded.period,
			base_submission = excluded.base_submission, session = excluded.session, data = excluded.data,
			created_at = excluded.created_at, updated_at = excluded.updated_at, expires_at = excluded.expires_at, warned_at = NULL`,
		d.UserID, d.EnterpriseID, d.Period, d.BaseSubmission, d.Session, d.Data, d.CreatedAt, d.UpdatedAt, d.ExpiresAt)
	return err
}

// FindDraft returns the user's draft (ENOTFOUND when none or expired).
func (s *Store) FindDraft(ctx context.Context, userid string) (Draft, error) {
	var d Draft
	err := s.get(ctx, &d, `SELECT `+draftCols+` FROM selfcheck_drafts WHERE userid = ?`, userid)
	if err == nil && !d.ExpiresAt.After(s.Now()) {
		return Draft{}, &notFound
	}
	return d, err
}

// DeleteDraft removes the user's draft.
func (s *Store) DeleteDraft(ctx context.Context, userid string) error {
	_, err := s.exec(ctx, `DELETE FROM selfcheck_drafts WHERE userid = ?`, userid)
	return err
}

// DraftsExpiringBetween returns the drafts that expire in [from, to) and have
// not been warned about since their last step, oldest expiry first. A
// scheduler job calls it (through handlers.DraftWarnings) to warn a day ahead.
func (s *Store) DraftsExpiringBetween(ctx context.Context, from, to time.Time) ([]Draft, error) {
	var out []Draft
	err := s.sel(ctx, &out, `SELECT `+draftCols+` FROM selfcheck_drafts
		WHERE expires_at >= ? AND expires_at < ? AND warned_at IS NULL ORDER BY expires_at, userid`, from.UTC(), to.UTC())
	return out, err
}

// MarkDraftWarned records that the user was warned about the draft's expiry.
// A draft touched since (a different updated_at) is left alone.
func (s *Store) MarkDraftWarned(ctx context.Context, userid string, updatedAt time.Time) (bool, error) {
	r, err := s.exec(ctx, `UPDATE selfcheck_drafts SET warned_at = ? WHERE userid = ? AND updated_at = ? AND warned_at IS NULL`,
		s.Now(), userid, updatedAt)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// DeleteExpiredDrafts removes drafts past their expiry and returns how many.
func (s *Store) DeleteExpiredDrafts(ctx context.Context) (int64, error) {
	r, err := s.exec(ctx, `DELETE FROM selfcheck_drafts WHERE expires_at <= ?`, s.Now())
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// InstallSecret returns this installation's secret of the given name, making
// a random 32-byte one the first time. Every replica reads the same value.
func (s *Store) InstallSecret(ctx context.Context, name string) ([]byte, error) {
	var v []string
	if err := s.sel(ctx, &v, `SELECT value FROM install_secrets WHERE name = ?`, name); err != nil {
		return nil, err
	}
	if len(v) == 0 {
		var b [32]byte
		rand.Read(b[:])
		if _, err := s.exec(ctx, `INSERT INTO install_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(b[:]), s.Now()); err != nil {
			return nil, err
		}
		if err := s.sel(ctx, &v, `SELECT value FROM install_secrets WHERE name = ?`, name); err != nil {
			return nil, err
		}
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("install secret %q: not stored", name)
	}
	return hex.DecodeString(v[0])
}
