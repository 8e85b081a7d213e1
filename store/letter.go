package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"safetybot"
)

type letterRow struct {
	ID         int64     `db:"id"`
	CampaignID *int64    `db:"campaign_id"`
	Title      string    `db:"title"`
	Body       string    `db:"body"`
	SHA256     string    `db:"sha256"`
	Deadline   *string   `db:"deadline"`
	Scope      string    `db:"scope"`
	Sender     string    `db:"sender"`
	TaskID     string    `db:"task_id"`
	CreatedAt  time.Time `db:"created_at"`
}

func (r letterRow) domain() safetybot.Letter {
	return safetybot.Letter{ID: r.ID, CampaignID: r.CampaignID, Title: r.Title, Body: r.Body, SHA256: r.SHA256,
		Deadline: parseDate(r.Deadline), Scope: r.Scope, Sender: r.Sender, CreatedAt: r.CreatedAt}
}

const letterCols = `id, campaign_id, title, body, sha256, deadline, scope, sender, task_id, created_at`

// LetterRecipient is one enterprise a letter is addressed to, through its principal.
type LetterRecipient struct {
	EnterpriseID int64  `db:"enterprise_id"`
	Enterprise   string `db:"enterprise"`
	UserID       string `db:"userid"`
	Township     string `db:"township"`
}

// LetterAudience returns, for the scope, every active enterprise with its
// principal(s): one row per (enterprise, principal), ordered by principal.
func (s *Store) LetterAudience(ctx context.Context, scope safetybot.LetterScope) ([]LetterRecipient, error) {
	q := `SELECT e.id AS enterprise_id, e.name AS enterprise, p.userid, e.township
		FROM enterprises e JOIN contacts c ON c.enterprise_id = e.id AND c.role = 'principal'
		JOIN people p ON p.id = c.person_id
		WHERE e.active = TRUE AND p.active = TRUE`
	var args []any
	if len(scope.Townships) > 0 {
		q += ` AND e.township IN (?)`
		args = append(args, scope.Townships)
	}
	if len(scope.Categories) > 0 {
		q += ` AND e.category IN (?)`
		args = append(args, scope.Categories)
	}
	q += ` ORDER BY p.userid, e.id`
	q, a, err := s.in(q, args...)
	if err != nil {
		return nil, err
	}
	var rows []LetterRecipient
	err = mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...))
	return rows, err
}

// CreateLetter stores a letter and freezes its recipients. l.ID and l.SHA256 are set.
func (s *Store) CreateLetter(ctx context.Context, l *safetybot.Letter, taskID string, recipients []LetterRecipient) error {
	if err := l.Validate(); err != nil {
		return err
	}
	l.SHA256 = safetybot.BodyHash(l.Body)
	l.CreatedAt = s.Now()
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.get(ctx, &l.ID, `INSERT INTO letters (campaign_id, title, body, sha256, deadline, scope, sender, task_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			l.CampaignID, l.Title, l.Body, l.SHA256, dateString(l.Deadline), l.Scope, l.Sender, taskID, l.CreatedAt); err != nil {
			return err
		}
		const chunk = 1000 // 3,000 parameters a statement
		seen := map[int64]bool{}
		var uniq []LetterRecipient
		for _, r := range recipients {
			if !seen[r.EnterpriseID] { // an enterprise with two principals is addressed once
				seen[r.EnterpriseID] = true
				uniq = append(uniq, r)
			}
		}
		for start := 0; start < len(uniq); start += chunk {
			end := min(start+chunk, len(uniq))
			var q strings.Builder
			q.WriteString(`INSERT INTO letter_recipients (letter_id, enterprise_id, userid) VALUES `)
			args := make([]any, 0, 3*(end-start))
			for i := start; i < end; i++ {
				if i > start {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?)")
				args = append(args, l.ID, uniq[i].EnterpriseID, uniq[i].UserID)
			}
			if _, err := s.exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return s.Audit(ctx, l.Sender, "letter.send", fmt.Sprintf("letter:%d", l.ID),
			map[string]any{"title": l.Title, "recipients": len(uniq), "scope": json.RawMessage(l.Scope)}, l.SHA256)
	})
}

// FindLetter returns one letter.
func (s *Store) FindLetter(ctx context.Context, id int64) (safetybot.Letter, error) {
	var r letterRow
	err := s.get(ctx, &r, `SELECT `+letterCols+` FROM letters WHERE id = ?`, id)
	if IsNotFound(err) {
		return safetybot.Letter{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这封公开信", Err: err}
	}
	return r.domain(), err
}

// ListLetters returns every letter, newest first.
func (s *Store) ListLetters(ctx context.Context) ([]safetybot.Letter, error) {
	var rows []letterRow
	if err := s.sel(ctx, &rows, `SELECT `+letterCols+` FROM letters ORDER BY id DESC`); err != nil {
		return nil, err
	}
	out := make([]safetybot.Letter, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// LetterStatus is one letter as seen by one principal.
type LetterStatus struct {
	Letter      safetybot.Letter
	Enterprises []string   // enterprises the user signs for
	Unsigned    []string   // of those, not yet signed
	SignedAt    *time.Time // latest signature time, when any
}

// LettersFor returns the letters addressed to a principal, newest first, with
// what is signed and what is not.
func (s *Store) LettersFor(ctx context.Context, userid string) ([]LetterStatus, error) {
	var rows []struct {
		letterRow
		Enterprise string     `db:"enterprise"`
		SignedAt   *time.Time `db:"signed_at"`
	}
	// The exact userid first (indexed); a spelling that differs only in case
	// scans, and only when the exact one found nothing.
	for _, match := range []string{`r.userid = ?`, `lower(r.userid) = lower(?)`} {
		err := s.sel(ctx, &rows, `SELECT l.id, l.campaign_id, l.title, l.body, l.sha256, l.deadline, l.scope, l.sender, l.task_id, l.created_at,
				e.name AS enterprise, sg.signed_at
			FROM letter_recipients r JOIN letters l ON l.id = r.letter_id JOIN enterprises e ON e.id = r.enterprise_id
			LEFT JOIN signatures sg ON sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id
			WHERE `+match+` ORDER BY l.id DESC, e.name`, userid)
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			break
		}
	}
	var out []LetterStatus
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].Letter.ID != r.ID {
			out = append(out, LetterStatus{Letter: r.letterRow.domain()})
		}
		st := &out[len(out)-1]
		st.Enterprises = append(st.Enterprises, r.Enterprise)
		if r.SignedAt == nil {
			st.Unsigned = append(st.Unsigned, r.Enterprise)
		} else if st.SignedAt == nil || r.SignedAt.After(*st.SignedAt) {
			st.SignedAt = r.SignedAt
		}
	}
	return out, nil
}

// SignResult says what a sign-off did.
type SignResult struct {
	Letter      safetybot.Letter
	Signed      []string   // enterprises signed now
	Already     []string   // enterprises signed before
	FirstSigned *time.Time // when signed before (for "您已于 … 签收")
	SignedAt    time.Time
}

// SignLetter records signatures of userid for every enterprise the letter was
// addressed to through them, with an audit row each, in one transaction.
// Enterprises already signed are reported, not signed again. A user the letter
// was not addressed to gets EFORBIDDEN.
func (s *Store) SignLetter(ctx context.Context, letterID int64, userid, method string) (SignResult, error) {
	var res SignResult
	err := s.InTx(ctx, func(ctx context.Context) error {
		l, err := s.FindLetter(ctx, letterID)
		if err != nil {
			return err
		}
		res.Letter = l
		var rows []struct {
			EnterpriseID int64      `db:"enterprise_id"`
			Name         string     `db:"name"`
			SignedAt     *time.Time `db:"signed_at"`
		}
		// The exact userid first, through the index on (userid, letter_id): a
		// case-insensitive match cannot use it and scans every recipient of
		// the letter, which a sign-off storm on a 100,000-recipient letter
		// cannot afford on every tap.
		for _, match := range []string{`r.userid = ?`, `lower(r.userid) = lower(?)`} {
			if err := s.sel(ctx, &rows, `SELECT r.enterprise_id, e.name, sg.signed_at FROM letter_recipients r
				JOIN enterprises e ON e.id = r.enterprise_id
				LEFT JOIN signatures sg ON sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id
				WHERE r.letter_id = ? AND `+match+` ORDER BY e.name`, letterID, userid); err != nil {
				return err
			}
			if len(rows) > 0 {
				break
			}
		}
		if len(rows) == 0 {
			return safetybot.Errorf(safetybot.EFORBIDDEN, "这封公开信不是发给您的企业的，无需签收。")
		}
		now := s.Now()
		res.SignedAt = now
		for _, r := range rows {
			if r.SignedAt != nil {
				res.Already = append(res.Already, r.Name)
				if res.FirstSigned == nil || r.SignedAt.Before(*res.FirstSigned) {
					t := *r.SignedAt
					res.FirstSigned = &t
				}
				continue
			}
			var ids []int64
			if err := s.sel(ctx, &ids, `INSERT INTO signatures (letter_id, enterprise_id, userid, signed_at, sha256, method)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (letter_id, enterprise_id) DO NOTHING RETURNING id`,
				letterID, r.EnterpriseID, userid, now, l.SHA256, method); err != nil {
				return err
			}
			if len(ids) == 0 {
				res.Already = append(res.Already, r.Name)
				continue
			}
			res.Signed = append(res.Signed, r.Name)
			if err := s.Audit(ctx, userid, "letter.sign", fmt.Sprintf("letter:%d/enterprise:%d", letterID, r.EnterpriseID),
				map[string]any{"method": method, "signature_id": ids[0]}, l.SHA256); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// Signatures returns a letter's signatures.
func (s *Store) Signatures(ctx context.Context, letterID int64) ([]safetybot.Signature, error) {
	var rows []safetybot.Signature
	err := s.sel(ctx, &rows, `SELECT id, letter_id, enterprise_id, userid, signed_at, sha256, method FROM signatures WHERE letter_id = ? ORDER BY id`, letterID)
	return rows, err
}

// LetterLine is one addressed enterprise in a sign-off report.
type LetterLine struct {
	EnterpriseID int64      `db:"enterprise_id"`
	CreditCode   string     `db:"credit_code"`
	Name         string     `db:"name"`
	Township     string     `db:"township"`
	Principal    string     `db:"principal"`
	UserID       string     `db:"userid"`
	SignedAt     *time.Time `db:"signed_at"`
}

// LetterLines returns every enterprise a letter was addressed to, with its
// signature time, ordered by township and name. townships limits the scope.
func (s *Store) LetterLines(ctx context.Context, letterID int64, townships ...string) ([]LetterLine, error) {
	q := `SELECT e.id AS enterprise_id, e.credit_code, e.name, e.township, COALESCE(p.name, '') AS principal, r.userid, sg.signed_at
		FROM letter_recipients r JOIN enterprises e ON e.id = r.enterprise_id
		LEFT JOIN people p ON p.userid = r.userid
		LEFT JOIN signatures sg ON sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id
		WHERE r.letter_id = ?`
	args := []any{letterID}
	if len(townships) > 0 {
		q += ` AND e.township IN (?)`
		args = append(args, townships)
	}
	q += ` ORDER BY e.township, e.name, e.id`
	q, a, err := s.in(q, args...)
	if err != nil {
		return nil, err
	}
	var rows []LetterLine
	err = mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...))
	return rows, err
}
