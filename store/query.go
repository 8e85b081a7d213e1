package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"safetybot"
)

// Scope is who asks a compliance query: their role and where they belong.
// Every scoped query adds the scope's WHERE clause itself, so no caller can
// forget it: a principal sees their own enterprises, a township official their
// township, a department official the enterprises their department supervises,
// the office everything. Any other scope is refused with EFORBIDDEN.
type Scope struct {
	Role       safetybot.Role
	UserID     string
	Township   string
	Department string
}

// ScopeOf returns the scope of a person.
func ScopeOf(p safetybot.Person) Scope {
	return Scope{Role: p.Role, UserID: p.UserID, Township: p.Township, Department: p.Department}
}

// ErrOutOfScope is the message of every refusal by scope.
const ErrOutOfScope = "无权查看"

func outOfScope(format string, args ...any) error {
	msg := ErrOutOfScope
	if format != "" {
		msg += "：" + fmt.Sprintf(format, args...)
	}
	return &safetybot.Error{Code: safetybot.EFORBIDDEN, Message: msg}
}

// cond returns the condition that restricts the enterprises table (aliased as
// alias) to the scope, with its arguments.
func (sc Scope) cond(alias string) (string, []any, error) {
	switch sc.Role {
	case safetybot.RolePrincipal, safetybot.RoleSafetyOfficer:
		if sc.UserID == "" {
			break
		}
		return alias + `.id IN (SELECT c.enterprise_id FROM contacts c JOIN people p ON p.id = c.person_id WHERE p.userid = ?)`,
			[]any{sc.UserID}, nil
	case safetybot.RoleTownship:
		if sc.Township == "" {
			break
		}
		return alias + `.township = ?`, []any{sc.Township}, nil
	case safetybot.RoleDepartment:
		if sc.Department == "" {
			break
		}
		return alias + `.department = ?`, []any{sc.Department}, nil
	case safetybot.RoleOffice:
		return `1 = 1`, nil, nil
	}
	return "", nil, outOfScope("")
}

// Hazard status lists as SQL: open ones still need work; rectified ones are
// closed, fixed on the spot, or the enterprise was shut down.
var (
	sqlOpenStatuses       = sqlList(safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardSuspended)
	sqlRectifiedStatuses  = sqlList(safetybot.HazardClosed, safetybot.HazardFixed, safetybot.HazardShutDown)
	sqlSubmissionSigned   = "'" + safetybot.SubmissionSigned + "'"
	sqlSignedOffCondition = `EXISTS (SELECT 1 FROM letter_recipients r WHERE r.enterprise_id = e.id)
		AND NOT EXISTS (SELECT 1 FROM letter_recipients r WHERE r.enterprise_id = e.id
			AND NOT EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id))`
)

func sqlList(states ...safetybot.HazardStatus) string {
	q := make([]string, len(states))
	for i, s := range states {
		q[i] = "'" + string(s) + "'"
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// Page selects a slice of a long list.
type Page struct {
	Offset, Limit int
}

func (p Page) sql() string {
	limit := p.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return fmt.Sprintf(` LIMIT %d OFFSET %d`, limit, max(p.Offset, 0))
}

// Progress is the campaign's figures for one scope (or one township of it).
// The sign-off rate is Signed/Enterprises: an enterprise counts as signed when
// it was addressed by at least one open letter and signed every one. The
// self-inspection rate is SelfInspected/Enterprises: a principal-signed
// submission for the month. The rectification rate is Rectified/Hazards.
type Progress struct {
	Township      string `db:"township"`
	Enterprises   int    `db:"enterprises"`
	Signed        int    `db:"signed"`
	SelfInspected int    `db:"self_inspected"`
	Hazards       int    `db:"hazards"`
	Rectified     int    `db:"rectified"`
	Open          int    `db:"open"`
	Overdue       int    `db:"overdue"`
	Major         int    `db:"major"`
	MajorOpen     int    `db:"major_open"`
}

func (p *Progress) add(o Progress) {
	p.Enterprises += o.Enterprises
	p.Signed += o.Signed
	p.SelfInspected += o.SelfInspected
	p.Hazards += o.Hazards
	p.Rectified += o.Rectified
	p.Open += o.Open
	p.Overdue += o.Overdue
	p.Major += o.Major
	p.MajorOpen += o.MajorOpen
}

// ScopeProgress returns the figures of the whole scope on day (YYYY-MM-DD in
// the campaign time zone; its month is the self-inspection period).
func (s *Store) ScopeProgress(ctx context.Context, sc Scope, day string) (Progress, error) {
	rows, err := s.ProgressByTownship(ctx, sc, day)
	var p Progress
	for _, r := range rows {
		p.add(r)
	}
	return p, err
}

// ProgressByTownship returns the figures of the scope per township, ordered by
// township name.
func (s *Store) ProgressByTownship(ctx context.Context, sc Scope, day string) ([]Progress, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, err
	}
	var ents []Progress
	q := `SELECT e.township, COUNT(*) AS enterprises,
			COALESCE(SUM(CASE WHEN ` + sqlSignedOffCondition + ` THEN 1 ELSE 0 END), 0) AS signed,
			COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? AND sb.state = ` + sqlSubmissionSigned + `) THEN 1 ELSE 0 END), 0) AS self_inspected
		FROM enterprises e WHERE e.active = TRUE AND ` + cond + ` GROUP BY e.township ORDER BY e.township`
	if err := s.sel(ctx, &ents, q, append([]any{period(day)}, cargs...)...); err != nil {
		return nil, err
	}
	var hz []Progress
	q = `SELECT e.township, COUNT(*) AS hazards,
			COALESCE(SUM(CASE WHEN h.status IN ` + sqlRectifiedStatuses + ` THEN 1 ELSE 0 END), 0) AS rectified,
			COALESCE(SUM(CASE WHEN h.status IN ` + sqlOpenStatuses + ` THEN 1 ELSE 0 END), 0) AS open,
			COALESCE(SUM(CASE WHEN h.status IN ` + sqlOpenStatuses + ` AND h.deadline < ? THEN 1 ELSE 0 END), 0) AS overdue,
			COALESCE(SUM(CASE WHEN h.grade = ? THEN 1 ELSE 0 END), 0) AS major,
			COALESCE(SUM(CASE WHEN h.grade = ? AND h.status IN ` + sqlOpenStatuses + ` THEN 1 ELSE 0 END), 0) AS major_open
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE e.active = TRUE AND ` + cond + ` GROUP BY e.township`
	if err := s.sel(ctx, &hz, q, append([]any{day, safetybot.GradeMajor, safetybot.GradeMajor}, cargs...)...); err != nil {
		return nil, err
	}
	byTown := map[string]Progress{}
	for _, h := range hz {
		byTown[h.Township] = h
	}
	for i := range ents {
		h := byTown[ents[i].Township]
		ents[i].Hazards, ents[i].Rectified, ents[i].Open, ents[i].Overdue = h.Hazards, h.Rectified, h.Open, h.Overdue
		ents[i].Major, ents[i].MajorOpen = h.Major, h.MajorOpen
	}
	return ents, nil
}

// period is the self-inspection period (YYYY-MM) of a day (YYYY-MM-DD).
func period(day string) string {
	if len(day) >= 7 {
		return day[:7]
	}
	return day
}

// EnterpriseLine is one enterprise in a list answer.
type EnterpriseLine struct {
	ID        int64   `db:"id"`
	Name      string  `db:"name"`
	Township  string  `db:"township"`
	Phone     string  `db:"phone"`
	Principal string  `db:"principal"` // name of the (first) principal, "" when none is registered
	Detail    string  `db:"detail"`    // what the list is about, e.g. a submission state
	Date      *string `db:"date"`      // a date the list is about (last inspected), nil when none
	Total     int     `db:"total"`     // rows of the whole list (same on every row)
}

const principalNameSQL = `COALESCE((SELECT p.name FROM contacts c JOIN people p ON p.id = c.person_id
	WHERE c.enterprise_id = e.id AND c.role = 'principal' ORDER BY p.id LIMIT 1), '') AS principal`

func (s *Store) enterpriseList(ctx context.Context, sc Scope, detail, where string, args []any, order string, pg Page) ([]EnterpriseLine, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	if order == "" {
		order = `e.township, e.name, e.id`
	}
	q := `SELECT e.id, e.name, e.township, e.phone, ` + principalNameSQL + `, ` + detail + `, COUNT(*) OVER () AS total
		FROM enterprises e WHERE e.active = TRUE AND ` + cond + ` AND ` + where + ` ORDER BY ` + order + pg.sql()
	var rows []EnterpriseLine
	if err := s.sel(ctx, &rows, q, append(cargs, args...)...); err != nil {
		return nil, 0, err
	}
	total := 0
	if len(rows) > 0 {
		total = rows[0].Total
	} else if pg.Offset > 0 {
		// Past the end: count on its own.
		if err := s.get(ctx, &total, `SELECT COUNT(*) FROM enterprises e WHERE e.active = TRUE AND `+cond+` AND `+where, append(cargs, args...)...); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}

// UnsignedEnterprises lists the enterprises of the scope that have not signed
// every open letter addressed to them, or were never addressed (Detail says
// why: no principal registered, or no letter yet).
func (s *Store) UnsignedEnterprises(ctx context.Context, sc Scope, pg Page) ([]EnterpriseLine, int, error) {
	detail := `CASE WHEN NOT EXISTS (SELECT 1 FROM contacts c WHERE c.enterprise_id = e.id AND c.role = 'principal') THEN '未登记负责人'
		WHEN NOT EXISTS (SELECT 1 FROM letter_recipients r WHERE r.enterprise_id = e.id) THEN '未收到公开信'
		ELSE '' END AS detail, NULL AS date`
	return s.enterpriseList(ctx, sc, detail, `NOT (`+sqlSignedOffCondition+`)`, nil, "", pg)
}

// NotSelfInspected lists the enterprises of the scope without a
// principal-signed self-inspection for the month of day; Detail is the state of
// an unfinished one ("待签字", "已退回") or "".
func (s *Store) NotSelfInspected(ctx context.Context, sc Scope, day string, pg Page) ([]EnterpriseLine, int, error) {
	p := period(day)
	detail := `COALESCE((SELECT sb.state FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? ORDER BY sb.version DESC LIMIT 1), '') AS detail, NULL AS date`
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	where := `NOT EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? AND sb.state = ` + sqlSubmissionSigned + `)`
	q := `SELECT e.id, e.name, e.township, e.phone, ` + principalNameSQL + `, ` + detail + `, COUNT(*) OVER () AS total
		FROM enterprises e WHERE e.active = TRUE AND ` + cond + ` AND ` + where + ` ORDER BY e.township, e.name, e.id` + pg.sql()
	args := append(append([]any{p}, cargs...), p)
	var rows []EnterpriseLine
	if err := s.sel(ctx, &rows, q, args...); err != nil {
		return nil, 0, err
	}
	total := 0
	if len(rows) > 0 {
		total = rows[0].Total
	} else if pg.Offset > 0 {
		if err := s.get(ctx, &total, `SELECT COUNT(*) FROM enterprises e WHERE e.active = TRUE AND `+cond+` AND `+where, append(cargs, p)...); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}

// NotInspectedSince lists the enterprises of the scope never inspected or last
// inspected before cutoff (YYYY-MM-DD), never-inspected first, then oldest.
func (s *Store) NotInspectedSince(ctx context.Context, sc Scope, cutoff string, pg Page) ([]EnterpriseLine, int, error) {
	return s.enterpriseList(ctx, sc, `'' AS detail, e.last_inspected AS date`,
		`(e.last_inspected IS NULL OR e.last_inspected < ?)`, []any{cutoff},
		`COALESCE(e.last_inspected, ''), e.township, e.name, e.id`, pg)
}

// HazardLine is one hazard in a list answer.
type HazardLine struct {
	ID           int64   `db:"id"`
	EnterpriseID int64   `db:"enterprise_id"`
	Enterprise   string  `db:"enterprise"`
	Township     string  `db:"township"`
	Description  string  `db:"description"`
	Grade        string  `db:"grade"`
	Status       string  `db:"status"`
	Deadline     *string `db:"deadline"`
	Tracker      string  `db:"tracker"`
	Total        int     `db:"total"`
}

// Open reports whether the hazard still needs work.
func (h HazardLine) Open() bool { return safetybot.HazardStatus(h.Status).Open() }

func (s *Store) hazardList(ctx context.Context, sc Scope, where string, args []any, order string, pg Page) ([]HazardLine, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	return s.hazardListCond(ctx, `e.active = TRUE AND `+cond+` AND `+where, append(cargs, args...), order, pg)
}

func (s *Store) hazardListCond(ctx context.Context, where string, args []any, order string, pg Page) ([]HazardLine, int, error) {
	q := `SELECT h.id, h.enterprise_id, e.name AS enterprise, e.township, h.description, h.grade, h.status, h.deadline, h.tracker,
			COUNT(*) OVER () AS total
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id WHERE ` + where + ` ORDER BY ` + order + pg.sql()
	var rows []HazardLine
	if err := s.sel(ctx, &rows, q, args...); err != nil {
		return nil, 0, err
	}
	total := 0
	if len(rows) > 0 {
		total = rows[0].Total
	} else if pg.Offset > 0 {
		if err := s.get(ctx, &total, `SELECT COUNT(*) FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id WHERE `+where, args...); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}

// OverdueHazards lists the open hazards of the scope whose deadline is before
// day, oldest deadline first.
func (s *Store) OverdueHazards(ctx context.Context, sc Scope, day string, pg Page) ([]HazardLine, int, error) {
	return s.hazardList(ctx, sc, `h.status IN `+sqlOpenStatuses+` AND h.deadline < ?`, []any{day}, `h.deadline, h.id`, pg)
}

// Hazards lists the hazards of the scope: open ones first by deadline, then
// the rectified ones, newest first.
func (s *Store) Hazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, int, error) {
	return s.hazardList(ctx, sc, `1 = 1`, nil,
		`CASE WHEN h.status IN `+sqlOpenStatuses+` THEN 0 ELSE 1 END, CASE WHEN h.status IN `+sqlOpenStatuses+` THEN COALESCE(h.deadline, '9999-12-31') ELSE '' END, h.found_at DESC, h.id DESC`, pg)
}

// OpenHazards lists the open hazards of the scope by deadline.
func (s *Store) OpenHazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, int, error) {
	return s.hazardList(ctx, sc, `h.status IN `+sqlOpenStatuses, nil, `COALESCE(h.deadline, '9999-12-31'), h.id`, pg)
}

// MajorHazards lists the open major hazards (重大隐患) of the scope and every
// open hazard the asker is the named tracker of (S8), wherever it is.
func (s *Store) MajorHazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	where := `e.active = TRUE AND h.status IN ` + sqlOpenStatuses + ` AND ((h.grade = ? AND ` + cond + `) OR h.tracker = ?)`
	args := append(append([]any{safetybot.GradeMajor}, cargs...), sc.UserID)
	return s.hazardListCond(ctx, where, args, `COALESCE(h.deadline, '9999-12-31'), h.id`, pg)
}

// FindEnterprisesInScope returns up to limit active enterprises of the scope
// whose name contains part (or whose credit code is part), and how many match
// in total. When none matches in the scope but some exist outside it, the
// error is EFORBIDDEN (无权查看).
func (s *Store) FindEnterprisesInScope(ctx context.Context, sc Scope, part string, limit int) ([]safetybot.Enterprise, int, error) {
	part = strings.TrimSpace(part)
	if part == "" {
		return nil, 0, safetybot.Errorf(safetybot.EINVALID, "请给出企业名称（可只写一部分）")
	}
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	match := `(e.name LIKE ? ESCAPE '\' OR e.credit_code = ?)`
	margs := []any{"%" + likeEscape(part) + "%", strings.ToUpper(part)}
	if limit <= 0 {
		limit = 10
	}
	var rows []struct {
		enterpriseRow
		Total int `db:"total"`
	}
	q := `SELECT e.` + enterpriseColsPrefixed + `, COUNT(*) OVER () AS total FROM enterprises e
		WHERE e.active = TRUE AND ` + cond + ` AND ` + match + ` ORDER BY length(e.name), e.name, e.id LIMIT ` + fmt.Sprint(limit)
	if err := s.sel(ctx, &rows, q, append(cargs, margs...)...); err != nil {
		return nil, 0, err
	}
	if len(rows) == 0 {
		var n int
		if err := s.get(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM enterprises e WHERE e.active = TRUE AND `+match+` LIMIT 1) x`, margs...); err != nil {
			return nil, 0, err
		}
		if n > 0 {
			return nil, 0, outOfScope("“%s”不在您的管辖范围内", part)
		}
		return nil, 0, nil
	}
	out := make([]safetybot.Enterprise, len(rows))
	for i, r := range rows {
		out[i] = r.enterpriseRow.domain()
	}
	return out, rows[0].Total, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// EnterpriseInScope returns one enterprise when it is in the scope:
// EFORBIDDEN (无权查看) when it exists outside it, ENOTFOUND when it does not exist.
func (s *Store) EnterpriseInScope(ctx context.Context, sc Scope, id int64) (safetybot.Enterprise, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return safetybot.Enterprise{}, err
	}
	var r enterpriseRow
	err = s.get(ctx, &r, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e WHERE e.id = ? AND `+cond, append([]any{id}, cargs...)...)
	if IsNotFound(err) {
		if _, ferr := s.FindEnterprise(ctx, id); ferr == nil {
			return safetybot.Enterprise{}, outOfScope("该企业不在您的管辖范围内")
		}
		return safetybot.Enterprise{}, &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "没有找到这家企业", Err: err}
	}
	return r.domain(), err
}

// EnterpriseStatus is what a query answers about one enterprise.
type EnterpriseStatus struct {
	Enterprise   safetybot.Enterprise
	Principals   []string // names
	Letters      int      // open letters addressed to it
	Unsigned     []string // titles of those not signed
	Submission   string   // state of the month's latest self-inspection, "" when none
	OpenHazards  []HazardLine
	Overdue      int     // open hazards past their deadline
	Rectified    int     // hazards rectified
	Inspections  int     // on-site and led inspections recorded
	LastInspSelf *string // last inspected date as stored (YYYY-MM-DD)
}

// OpenCount is the number of open hazards.
func (st EnterpriseStatus) OpenCount() int { return len(st.OpenHazards) }

// EnterpriseStatusInScope returns the status of one enterprise of the scope on
// day (EFORBIDDEN outside the scope).
func (s *Store) EnterpriseStatusInScope(ctx context.Context, sc Scope, id int64, day string) (EnterpriseStatus, error) {
	e, err := s.EnterpriseInScope(ctx, sc, id)
	if err != nil {
		return EnterpriseStatus{}, err
	}
	st := EnterpriseStatus{Enterprise: e, LastInspSelf: dateString(e.LastInspected)}
	if err := s.sel(ctx, &st.Principals, `SELECT p.name FROM contacts c JOIN people p ON p.id = c.person_id
		WHERE c.enterprise_id = ? AND c.role = 'principal' ORDER BY p.id`, id); err != nil {
		return st, err
	}
	var letters []struct {
		Title  string `db:"title"`
		Signed bool   `db:"signed"`
	}
	if err := s.sel(ctx, &letters, `SELECT l.title, EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id) AS signed
		FROM letter_recipients r JOIN letters l ON l.id = r.letter_id WHERE r.enterprise_id = ? ORDER BY l.id DESC`, id); err != nil {
		return st, err
	}
	st.Letters = len(letters)
	for _, l := range letters {
		if !l.Signed {
			st.Unsigned = append(st.Unsigned, l.Title)
		}
	}
	var states []string
	if err := s.sel(ctx, &states, `SELECT state FROM submissions WHERE enterprise_id = ? AND period = ? ORDER BY version DESC LIMIT 1`, id, period(day)); err != nil {
		return st, err
	}
	if len(states) > 0 {
		st.Submission = states[0]
	}
	if err := s.sel(ctx, &st.OpenHazards, `SELECT h.id, h.enterprise_id, e.name AS enterprise, e.township, h.description, h.grade, h.status, h.deadline, h.tracker, 0 AS total
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE h.enterprise_id = ? AND h.status IN `+sqlOpenStatuses+` ORDER BY COALESCE(h.deadline, '9999-12-31'), h.id`, id); err != nil {
		return st, err
	}
	for _, h := range st.OpenHazards {
		if h.Deadline != nil && *h.Deadline < day {
			st.Overdue++
		}
	}
	if err := s.get(ctx, &st.Rectified, `SELECT COUNT(*) FROM hazards WHERE enterprise_id = ? AND status IN `+sqlRectifiedStatuses, id); err != nil {
		return st, err
	}
	err = s.get(ctx, &st.Inspections, `SELECT COUNT(*) FROM inspections WHERE enterprise_id = ?`, id)
	return st, err
}

// MyEnterprises returns the active enterprises of a principal or safety
// officer scope (the ones they are a contact of), by name. Officials have none.
func (s *Store) MyEnterprises(ctx context.Context, sc Scope) ([]safetybot.Enterprise, error) {
	if sc.Role != safetybot.RolePrincipal && sc.Role != safetybot.RoleSafetyOfficer {
		return nil, nil
	}
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, err
	}
	var rows []enterpriseRow
	err = s.sel(ctx, &rows, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e WHERE e.active = TRUE AND `+cond+` ORDER BY e.name, e.id`, cargs...)
	return enterprises(rows), err
}

// Deadline is one date something of the scope is due.
type Deadline struct {
	Date       string `db:"date"` // YYYY-MM-DD
	Kind       string `db:"kind"` // "hazard" or "letter"
	What       string `db:"what"` // hazard description or letter title
	Enterprise string `db:"enterprise"`
}

// Deadlines returns the open hazards' deadlines and the unsigned letters'
// sign-off deadlines of the scope, earliest first (overdue ones included), at
// most limit of them.
func (s *Store) Deadlines(ctx context.Context, sc Scope, limit int) ([]Deadline, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 10
	}
	q := `SELECT date, kind, what, enterprise FROM (
			SELECT h.deadline AS date, 'hazard' AS kind, h.description AS what, e.name AS enterprise
			FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
			WHERE e.active = TRUE AND ` + cond + ` AND h.status IN ` + sqlOpenStatuses + ` AND h.deadline IS NOT NULL
			UNION ALL
			SELECT l.deadline AS date, 'letter' AS kind, l.title AS what, e.name AS enterprise
			FROM letter_recipients r JOIN letters l ON l.id = r.letter_id JOIN enterprises e ON e.id = r.enterprise_id
			WHERE e.active = TRUE AND ` + cond + ` AND l.deadline IS NOT NULL
				AND NOT EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id)
		) d ORDER BY date, kind, enterprise LIMIT ` + fmt.Sprint(limit)
	var out []Deadline
	err = s.sel(ctx, &out, q, append(cargs, cargs...)...)
	return out, err
}

// LedInspection is one leader-led inspection (S5) in a list.
type LedInspection struct {
	ID          int64  `db:"id"`
	InspectedOn string `db:"inspected_on"`
	Enterprise  string `db:"enterprise"`
	Township    string `db:"township"`
	Hazards     int    `db:"hazards"`
}

// LedInspections returns the scope's own leader-led inspections (by the
// asker's userid) dated in the month of day, oldest first. Only officials have
// any; a principal's scope is refused.
func (s *Store) LedInspections(ctx context.Context, sc Scope, day string) ([]LedInspection, error) {
	if !sc.Role.IsOfficial() || sc.UserID == "" {
		return nil, outOfScope("")
	}
	from := period(day) + "-01"
	to := nextMonth(day)
	var out []LedInspection
	err := s.sel(ctx, &out, `SELECT i.id, i.inspected_on, e.name AS enterprise, e.township,
			(SELECT COUNT(*) FROM hazards h WHERE h.inspection_id = i.id) AS hazards
		FROM inspections i JOIN enterprises e ON e.id = i.enterprise_id
		WHERE i.inspector = ? AND i.led = TRUE AND i.inspected_on >= ? AND i.inspected_on < ?
		ORDER BY i.inspected_on, i.id`, sc.UserID, from, to)
	return out, err
}

// nextMonth returns the first day (YYYY-MM-DD) of the month after day's.
func nextMonth(day string) string {
	t, err := time.Parse("2006-01", period(day))
	if err != nil {
		return day
	}
	return t.AddDate(0, 1, 0).Format("2006-01-02")
}
