package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
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
	sqlOpenStatuses      = sqlList(safetybot.HazardPending, safetybot.HazardRectifying, safetybot.HazardReview, safetybot.HazardSuspended)
	sqlRectifiedStatuses = sqlList(safetybot.HazardClosed, safetybot.HazardFixed, safetybot.HazardShutDown)
	sqlSubmissionSigned  = "'" + safetybot.SubmissionSigned + "'"
	// sqlSignedState is, for enterprise e, NULL when no open letter was
	// addressed to it, 1 when it signed every one, 0 otherwise. As a scalar
	// subquery it is evaluated per enterprise, so a list that stops after a
	// page only looks at the enterprises it passes.
	sqlSignedState = `(SELECT MIN(CASE WHEN sg.id IS NULL THEN 0 ELSE 1 END) FROM letter_recipients r
		LEFT JOIN signatures sg ON sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id WHERE r.enterprise_id = e.id)`
	sqlSignedOffCondition = `COALESCE(` + sqlSignedState + `, 0) = 1`
)

func sqlList(states ...safetybot.HazardStatus) string {
	q := make([]string, len(states))
	for i, s := range states {
		q[i] = "'" + string(s) + "'"
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// Page selects a slice of a long list. Officials' lists continue After the
// last row of the previous page (keyset paging: a page costs about a page,
// wherever it is in the list); the principal's hazard list and the
// spot-check tasks, always short, are paged by Offset. With Count the exact
// total of the whole list comes back too (every matching row is visited);
// without, the total is -1.
type Page struct {
	After  *Cursor
	Offset int
	Limit  int
	Count  bool
}

// Cursor is where a keyset-paged list continues: the key of the last row
// shown. Enterprise lists are in (township, name, id) order, hazard lists in
// (deadline, id) order (no deadline sorts last).
type Cursor struct {
	Township string `json:"t,omitempty" db:"township"`
	Name     string `json:"n,omitempty" db:"name"`
	Deadline string `json:"d,omitempty" db:"deadline"`
	ID       int64  `json:"i" db:"id"`
	chunk    int    // for a chunk's bound: how many candidates the chunk holds
}

func chunkOf(upTo *Cursor) int { return upTo.chunk }

func (p Page) limit() int {
	if p.Limit <= 0 || p.Limit > 200 {
		return 50
	}
	return p.Limit
}

// firstChunk is how many candidates in list order a keyset page looks at
// first; each further look takes four times as many. A chunk is one index
// range, so the planner walks it in order instead of filtering the whole scope.
const firstChunk = 256

// enterpriseSide reports whether the scope is a principal's or safety
// officer's: a handful of enterprises, listed without chunks.
func (sc Scope) enterpriseSide() bool {
	return sc.Role == safetybot.RolePrincipal || sc.Role == safetybot.RoleSafetyOfficer
}

// keyset pages a list in key order: rows after the cursor, in chunks of
// candidates bounded by the chunk's last key (found with an index-only
// OFFSET on the key), until the page is full or the list ends. bound(after,
// chunk) returns the chunk's last key (nil: fewer candidates are left);
// fetch(after, upTo, n) returns up to n matching rows with keys in
// (after, upTo] (upTo nil: to the end). next is nil at the end of the list.
func keyset[T any](pg Page, chunked bool, keyOf func(T) Cursor,
	bound func(after Cursor, chunk int) (*Cursor, error),
	fetch func(after Cursor, upTo *Cursor, n int) ([]T, error)) ([]T, *Cursor, error) {
	after := Cursor{}
	if pg.After != nil {
		after = *pg.After
	}
	limit := pg.limit()
	var out []T
	for chunk := firstChunk; ; chunk *= 4 {
		var upTo *Cursor
		if chunked {
			var err error
			if upTo, err = bound(after, chunk); err != nil {
				return nil, nil, err
			}
		}
		rows, err := fetch(after, upTo, limit+1-len(out))
		if err != nil {
			return nil, nil, err
		}
		out = append(out, rows...)
		switch {
		case len(out) > limit:
			out = out[:limit]
			k := keyOf(out[limit-1])
			return out, &k, nil
		case upTo == nil:
			return out, nil, nil // this fetch ran to the end of the list
		case len(out) == limit:
			// Full, but more may follow: the next page finds out.
			k := keyOf(out[limit-1])
			return out, &k, nil
		}
		after = *upTo
	}
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
	NotInspected  int    `db:"not_inspected"` // never inspected, or not in the two years before the day
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
	p.NotInspected += o.NotInspected
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
			COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? AND sb.state = ` + sqlSubmissionSigned + `) THEN 1 ELSE 0 END), 0) AS self_inspected,
			COALESCE(SUM(CASE WHEN e.last_inspected IS NULL OR e.last_inspected < ? THEN 1 ELSE 0 END), 0) AS not_inspected
		FROM enterprises e WHERE e.active = TRUE AND ` + cond + ` GROUP BY e.township ORDER BY e.township`
	if err := s.qsel(ctx, &ents, q, append([]any{period(day), InspectionCutoff(day)}, cargs...)...); err != nil {
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
	if err := s.qsel(ctx, &hz, q, append([]any{day, safetybot.GradeMajor, safetybot.GradeMajor}, cargs...)...); err != nil {
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

// InspectionWindow is S9's two years: places not inspected in them are due a visit.
const InspectionWindow = 730

// InspectionCutoff is the first day (YYYY-MM-DD) of the two years up to day:
// an enterprise last inspected before it counts as not inspected.
func InspectionCutoff(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return t.AddDate(0, 0, -InspectionWindow).Format("2006-01-02")
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
}

const principalNameSQL = `COALESCE((SELECT p.name FROM contacts c JOIN people p ON p.id = c.person_id
	WHERE c.enterprise_id = e.id AND c.role = 'principal' ORDER BY p.id LIMIT 1), '') AS principal`

// enterpriseKey is the key of enterprise lists as SQL and its values for a
// cursor. Within one township the key is (name, id), so that the range is a
// range of the (township, name, id) index the planner can see.
func (sc Scope) enterpriseKey() (string, func(Cursor) []any) {
	if sc.Role == safetybot.RoleTownship {
		return `(e.name, e.id)`, func(c Cursor) []any { return []any{c.Name, c.ID} }
	}
	return `(e.township, e.name, e.id)`, func(c Cursor) []any { return []any{c.Township, c.Name, c.ID} }
}

// enterpriseList pages the active enterprises of the scope that match where
// (SQL on alias e), in (township, name, id) order. cols are the detail and
// date columns, with colArgs for their placeholders.
func (s *Store) enterpriseList(ctx context.Context, sc Scope, cols string, colArgs []any, where string, whereArgs []any, pg Page) ([]EnterpriseLine, *Cursor, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, nil, 0, err
	}
	base := `e.active = TRUE AND ` + cond
	key, keyArgs := sc.enterpriseKey()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(keyArgs(Cursor{}))), ", ")
	rows, next, err := keyset(pg, !sc.enterpriseSide(),
		func(r EnterpriseLine) Cursor { return Cursor{Township: r.Township, Name: r.Name, ID: r.ID} },
		func(after Cursor, chunk int) (*Cursor, error) {
			var b []Cursor
			err := s.qsel(ctx, &b, `SELECT e.township, e.name, e.id FROM enterprises e WHERE `+base+` AND `+key+` > (`+marks+`)
				ORDER BY e.township, e.name, e.id LIMIT 1 OFFSET `+fmt.Sprint(chunk-1), append(append([]any{}, cargs...), keyArgs(after)...)...)
			if err != nil || len(b) == 0 {
				return nil, err
			}
			b[0].chunk = chunk
			return &b[0], nil
		},
		func(after Cursor, upTo *Cursor, n int) ([]EnterpriseLine, error) {
			// The chunk is a subquery with its own ORDER BY and LIMIT: the
			// planner walks the key index for exactly the chunk, and the
			// filter's subqueries run for its rows only.
			from := `enterprises e`
			args := append([]any{}, colArgs...)
			if upTo != nil {
				from = `(SELECT e.* FROM enterprises e WHERE ` + base + ` AND ` + key + ` > (` + marks + `)
					ORDER BY e.township, e.name, e.id LIMIT ` + fmt.Sprint(chunkOf(upTo)) + `) e`
				args = append(append(args, cargs...), keyArgs(after)...)
			}
			q := `SELECT e.id, e.name, e.township, e.phone, ` + principalNameSQL + `, ` + cols + `
				FROM ` + from + ` WHERE ` + base + ` AND ` + key + ` > (` + marks + `)`
			args = append(append(args, cargs...), keyArgs(after)...)
			if upTo != nil {
				q += ` AND ` + key + ` <= (` + marks + `)`
				args = append(args, keyArgs(*upTo)...)
			}
			q += ` AND ` + where + ` ORDER BY e.township, e.name, e.id LIMIT ` + fmt.Sprint(n)
			var rows []EnterpriseLine
			err := s.qsel(ctx, &rows, q, append(args, whereArgs...)...)
			return rows, err
		})
	if err != nil {
		return nil, nil, 0, err
	}
	total := -1
	if pg.Count {
		err = s.qget(ctx, &total, `SELECT COUNT(*) FROM enterprises e WHERE `+base+` AND `+where, append(append([]any{}, cargs...), whereArgs...)...)
	}
	return rows, next, total, err
}

// UnsignedEnterprises lists the enterprises of the scope that have not signed
// every open letter addressed to them, or were never addressed (Detail says
// why: no principal registered, or no letter yet).
func (s *Store) UnsignedEnterprises(ctx context.Context, sc Scope, pg Page) ([]EnterpriseLine, *Cursor, int, error) {
	cols := `CASE WHEN (SELECT COUNT(*) FROM contacts c WHERE c.enterprise_id = e.id AND c.role = 'principal') = 0 THEN '未登记负责人'
		WHEN (SELECT COUNT(*) FROM letter_recipients r WHERE r.enterprise_id = e.id) = 0 THEN '未收到公开信'
		ELSE '' END AS detail, NULL AS date`
	return s.enterpriseList(ctx, sc, cols, nil, `COALESCE(`+sqlSignedState+`, 0) = 0`, nil, pg)
}

// NotSelfInspected lists the enterprises of the scope without a
// principal-signed self-inspection for the month of day; Detail is the state of
// an unfinished one ("待签字", "已退回") or "".
func (s *Store) NotSelfInspected(ctx context.Context, sc Scope, day string, pg Page) ([]EnterpriseLine, *Cursor, int, error) {
	p := period(day)
	cols := `COALESCE((SELECT sb.state FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? ORDER BY sb.version DESC LIMIT 1), '') AS detail, NULL AS date`
	where := `NOT EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? AND sb.state = ` + sqlSubmissionSigned + `)`
	return s.enterpriseList(ctx, sc, cols, []any{p}, where, []any{p}, pg)
}

// NotInspectedSince lists the enterprises of the scope never inspected or last
// inspected before cutoff (YYYY-MM-DD); Date is the last inspection.
func (s *Store) NotInspectedSince(ctx context.Context, sc Scope, cutoff string, pg Page) ([]EnterpriseLine, *Cursor, int, error) {
	return s.enterpriseList(ctx, sc, `'' AS detail, e.last_inspected AS date`, nil,
		`(e.last_inspected IS NULL OR e.last_inspected < ?)`, []any{cutoff}, pg)
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
}

// Open reports whether the hazard still needs work.
func (h HazardLine) Open() bool { return safetybot.HazardStatus(h.Status).Open() }

const (
	hazardKey      = `(COALESCE(h.deadline, '9999-12-31'), h.id)`
	hazardOrder    = `COALESCE(h.deadline, '9999-12-31'), h.id`
	hazardLineCols = `h.id, h.enterprise_id, e.name AS enterprise, e.township, h.description, h.grade, h.status, h.deadline, h.tracker`
	hazardKeyCols  = `COALESCE(h.deadline, '9999-12-31') AS deadline, h.id`
)

// hazardList pages hazards in (deadline, id) order: those matching only (SQL
// on alias h alone, so that a chunk's bound is an index-only range of a
// partial index) and where (on h and the enterprise e) in the scope.
func (s *Store) hazardList(ctx context.Context, sc Scope, only string, onlyArgs []any, where string, whereArgs []any, pg Page) ([]HazardLine, *Cursor, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, nil, 0, err
	}
	if where == "" {
		where = cond
		whereArgs = cargs
	}
	full := only + ` AND e.active = TRUE AND ` + where
	fullArgs := append(append([]any{}, onlyArgs...), whereArgs...)
	// Hazard lists are not chunked: with the scope on the enterprise side of
	// the join the planner estimates well and walks the partial index in
	// order, stopping after the page.
	rows, next, err := keyset(pg, false,
		func(r HazardLine) Cursor { return Cursor{Deadline: r.sortDeadline(), ID: r.ID} },
		func(after Cursor, chunk int) (*Cursor, error) {
			var b []Cursor
			err := s.qsel(ctx, &b, `SELECT `+hazardKeyCols+` FROM hazards h WHERE `+only+` AND `+hazardKey+` > (?, ?)
				ORDER BY `+hazardOrder+` LIMIT 1 OFFSET `+fmt.Sprint(chunk-1), append(append([]any{}, onlyArgs...), after.Deadline, after.ID)...)
			if err != nil || len(b) == 0 {
				return nil, err
			}
			return &b[0], nil
		},
		func(after Cursor, upTo *Cursor, n int) ([]HazardLine, error) {
			q := `SELECT ` + hazardLineCols + ` FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id WHERE ` + full + ` AND ` + hazardKey + ` > (?, ?)`
			args := append(append([]any{}, fullArgs...), after.Deadline, after.ID)
			if upTo != nil {
				q += ` AND ` + hazardKey + ` <= (?, ?)`
				args = append(args, upTo.Deadline, upTo.ID)
			}
			var rows []HazardLine
			err := s.qsel(ctx, &rows, q+` ORDER BY `+hazardOrder+` LIMIT `+fmt.Sprint(n), args...)
			return rows, err
		})
	if err != nil {
		return nil, nil, 0, err
	}
	total := -1
	if pg.Count {
		err = s.qget(ctx, &total, `SELECT COUNT(*) FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id WHERE `+full, fullArgs...)
	}
	return rows, next, total, err
}

func (h HazardLine) sortDeadline() string {
	if h.Deadline == nil {
		return "9999-12-31"
	}
	return *h.Deadline
}

// OverdueHazards lists the open hazards of the scope whose deadline is before
// day, oldest deadline first.
func (s *Store) OverdueHazards(ctx context.Context, sc Scope, day string, pg Page) ([]HazardLine, *Cursor, int, error) {
	return s.hazardList(ctx, sc, `h.status IN `+sqlOpenStatuses+` AND COALESCE(h.deadline, '9999-12-31') < ?`, []any{day}, "", nil, pg)
}

// OpenHazards lists the open hazards of the scope by deadline.
func (s *Store) OpenHazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, *Cursor, int, error) {
	return s.hazardList(ctx, sc, `h.status IN `+sqlOpenStatuses, nil, "", nil, pg)
}

// MajorHazards lists the open major hazards (重大隐患) of the scope and those
// the asker is the named tracker of (S8), wherever they are, by deadline.
func (s *Store) MajorHazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, *Cursor, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, nil, 0, err
	}
	return s.hazardList(ctx, sc, `h.grade = '`+safetybot.GradeMajor+`' AND h.status IN `+sqlOpenStatuses, nil,
		`(`+cond+` OR h.tracker = ?)`, append(cargs, sc.UserID), pg)
}

// Hazards lists every hazard of the scope, open ones first by deadline, then
// the rectified ones, newest first. It is the principal's list (a few
// enterprises), paged by Offset.
func (s *Store) Hazards(ctx context.Context, sc Scope, pg Page) ([]HazardLine, int, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, 0, err
	}
	from := ` FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id WHERE e.active = TRUE AND ` + cond
	var rows []HazardLine
	if err := s.qsel(ctx, &rows, `SELECT `+hazardLineCols+from+` ORDER BY CASE WHEN h.status IN `+sqlOpenStatuses+` THEN 0 ELSE 1 END,
			CASE WHEN h.status IN `+sqlOpenStatuses+` THEN COALESCE(h.deadline, '9999-12-31') ELSE '' END, h.found_at DESC, h.id DESC
		LIMIT `+fmt.Sprint(pg.limit())+` OFFSET `+fmt.Sprint(max(pg.Offset, 0)), cargs...); err != nil {
		return nil, 0, err
	}
	total := -1
	if pg.Count {
		if err := s.qget(ctx, &total, `SELECT COUNT(*)`+from, cargs...); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}

// findCap bounds how many matches of a name search are looked at.
const findCap = 50

// FindEnterprisesInScope returns up to limit active enterprises of the scope
// whose name contains part (or whose credit code is part), shortest names
// first (the closest matches), and how many match in total — -1 when more
// than findCap do. When none matches in the scope but some exist outside
// it, the error is EFORBIDDEN (无权查看).
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
	var rows []enterpriseRow
	if err := s.qsel(ctx, &rows, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e
		WHERE e.active = TRUE AND `+cond+` AND `+match+` ORDER BY length(e.name), e.name, e.id LIMIT `+fmt.Sprint(findCap+1), append(cargs, margs...)...); err != nil {
		return nil, 0, err
	}
	if len(rows) == 0 {
		var n int
		if err := s.qget(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM enterprises e WHERE e.active = TRUE AND `+match+` LIMIT 1) x`, margs...); err != nil {
			return nil, 0, err
		}
		if n > 0 {
			return nil, 0, outOfScope("“%s”不在您的管辖范围内", part)
		}
		return nil, 0, nil
	}
	total := len(rows)
	if total > findCap {
		rows, total = rows[:findCap], -1
	}
	out := make([]safetybot.Enterprise, min(limit, len(rows)))
	for i := range out {
		out[i] = rows[i].domain()
	}
	return out, total, nil
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
	err = s.qget(ctx, &r, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e WHERE e.id = ? AND `+cond, append([]any{id}, cargs...)...)
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
	var facts struct {
		Principals  string `db:"principals"`
		Submission  string `db:"submission"`
		Rectified   int    `db:"rectified"`
		Inspections int    `db:"inspections"`
	}
	// One round trip for the small facts; names are joined with a separator
	// no name contains.
	if err := s.qget(ctx, &facts, `SELECT
			COALESCE(`+s.joinedNames(`SELECT p.name, p.id FROM contacts c JOIN people p ON p.id = c.person_id WHERE c.enterprise_id = ? AND c.role = 'principal'`)+`, '') AS principals,
			COALESCE((SELECT state FROM submissions WHERE enterprise_id = ? AND period = ? ORDER BY version DESC LIMIT 1), '') AS submission,
			(SELECT COUNT(*) FROM hazards WHERE enterprise_id = ? AND status IN `+sqlRectifiedStatuses+`) AS rectified,
			(SELECT COUNT(*) FROM inspections WHERE enterprise_id = ?) AS inspections`, id, id, period(day), id, id); err != nil {
		return st, err
	}
	if facts.Principals != "" {
		st.Principals = strings.Split(facts.Principals, "\x1f")
	}
	st.Submission, st.Rectified, st.Inspections = facts.Submission, facts.Rectified, facts.Inspections
	var letters []struct {
		Title  string `db:"title"`
		Signed bool   `db:"signed"`
	}
	if err := s.qsel(ctx, &letters, `SELECT l.title, EXISTS (SELECT 1 FROM signatures sg WHERE sg.letter_id = r.letter_id AND sg.enterprise_id = r.enterprise_id) AS signed
		FROM letter_recipients r JOIN letters l ON l.id = r.letter_id WHERE r.enterprise_id = ? ORDER BY l.id DESC`, id); err != nil {
		return st, err
	}
	st.Letters = len(letters)
	for _, l := range letters {
		if !l.Signed {
			st.Unsigned = append(st.Unsigned, l.Title)
		}
	}
	if err := s.qsel(ctx, &st.OpenHazards, `SELECT h.id, h.enterprise_id, e.name AS enterprise, e.township, h.description, h.grade, h.status, h.deadline, h.tracker
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE h.enterprise_id = ? AND h.status IN `+sqlOpenStatuses+` ORDER BY COALESCE(h.deadline, '9999-12-31'), h.id`, id); err != nil {
		return st, err
	}
	for _, h := range st.OpenHazards {
		if h.Deadline != nil && *h.Deadline < day {
			st.Overdue++
		}
	}
	return st, nil
}

// joinedNames is a scalar subquery joining the names of rows (name, id) in
// id order with U+001F, in the dialect's aggregate.
func (s *Store) joinedNames(rows string) string {
	if s.dialect == "postgres" {
		return `(SELECT string_agg(x.name, chr(31) ORDER BY x.id) FROM (` + rows + `) x)`
	}
	return `(SELECT group_concat(x.name, char(31)) FROM (` + rows + ` ORDER BY 2) x)`
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
	err = s.qsel(ctx, &rows, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e WHERE e.active = TRUE AND `+cond+` ORDER BY e.name, e.id`, cargs...)
	return enterprises(rows), err
}

// SelfInspected returns the ids of the scope's active enterprises whose
// self-inspection for the month of day the principal signed.
func (s *Store) SelfInspected(ctx context.Context, sc Scope, day string) (map[int64]bool, error) {
	cond, cargs, err := sc.cond("e")
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := s.qsel(ctx, &ids, `SELECT e.id FROM enterprises e WHERE e.active = TRUE AND `+cond+`
		AND EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.period = ? AND sb.state = `+sqlSubmissionSigned+`)`,
		append(cargs, period(day))...); err != nil {
		return nil, err
	}
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
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
	err = s.qsel(ctx, &out, q, append(cargs, cargs...)...)
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
	err := s.qsel(ctx, &out, `SELECT i.id, i.inspected_on, e.name AS enterprise, e.township,
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

type recorderKey struct{}

// QueryRecord collects the SQL the scoped queries run with a context from
// RecordQueries, as sent to the database (rebound) with its arguments.
type QueryRecord struct {
	mu      sync.Mutex
	Queries []RecordedQuery
}

// RecordedQuery is one statement a scoped query ran.
type RecordedQuery struct {
	SQL  string
	Args []any
}

// RecordQueries returns a context under which the scoped queries record
// their SQL (benchmarks EXPLAIN exactly what a query runs).
func RecordQueries(ctx context.Context) (context.Context, *QueryRecord) {
	r := &QueryRecord{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func (s *Store) record(ctx context.Context, q string, args []any) {
	if r, ok := ctx.Value(recorderKey{}).(*QueryRecord); ok {
		r.mu.Lock()
		r.Queries = append(r.Queries, RecordedQuery{SQL: s.db.Rebind(q), Args: args})
		r.mu.Unlock()
	}
}

func (s *Store) qsel(ctx context.Context, dest any, q string, args ...any) error {
	s.record(ctx, q, args)
	return s.sel(ctx, dest, q, args...)
}

func (s *Store) qget(ctx context.Context, dest any, q string, args ...any) error {
	s.record(ctx, q, args)
	return s.get(ctx, dest, q, args...)
}

// ProgressSnapshot returns the scope's figures per township like
// ProgressByTownship, and when they were computed. Officials' figures come
// from the township × department snapshot, recomputed first when it is older
// than maxAge or counts for another day; while one asker recomputes it, others
// get it as it was. A principal's or safety officer's figures are computed live.
func (s *Store) ProgressSnapshot(ctx context.Context, sc Scope, day string, maxAge time.Duration) ([]Progress, time.Time, error) {
	if sc.Role == safetybot.RolePrincipal || sc.Role == safetybot.RoleSafetyOfficer {
		rows, err := s.ProgressByTownship(ctx, sc, day)
		return rows, s.Now(), err
	}
	cond, cargs, err := sc.cond("p")
	if err != nil {
		return nil, time.Time{}, err
	}
	var rows []Progress
	var at time.Time
	live := false
	err = s.InTx(ctx, func(ctx context.Context) error {
		now := s.Now()
		var meta struct {
			Day string    `db:"day"`
			At  time.Time `db:"computed_at"`
		}
		if err := s.qget(ctx, &meta, `SELECT day, computed_at FROM progress_snapshot_meta WHERE id = 1`); err != nil {
			return err
		}
		at = meta.At
		if meta.Day != day || !meta.At.After(now.Add(-maxAge)) {
			claimed, err := s.claimProgressRefresh(ctx, day, now, maxAge)
			switch {
			case err != nil:
				return err
			case claimed:
				if err := s.refreshProgress(ctx, day); err != nil {
					return err
				}
				at = now
			case meta.Day == "":
				// Never computed and someone else is computing it: count live.
				live = true
				return nil
			}
			// Otherwise another asker is refreshing: serve the snapshot as it is.
		}
		return s.qsel(ctx, &rows, `SELECT p.township, SUM(p.enterprises) AS enterprises, SUM(p.signed) AS signed,
				SUM(p.self_inspected) AS self_inspected, SUM(p.not_inspected) AS not_inspected, SUM(p.hazards) AS hazards,
				SUM(p.rectified) AS rectified, SUM(p.open) AS open, SUM(p.overdue) AS overdue, SUM(p.major) AS major, SUM(p.major_open) AS major_open
			FROM progress_snapshot p WHERE `+cond+` GROUP BY p.township ORDER BY p.township`, cargs...)
	})
	if err == nil && live {
		rows, err = s.ProgressByTownship(ctx, sc, day)
		at = s.Now()
	}
	return rows, at, err
}

// claimProgressRefresh marks the snapshot as being recomputed for day if it
// is still stale, and reports whether this caller got the job. The row lock
// it takes lasts until commit; on Postgres a caller finding the row locked
// does not wait (SKIP LOCKED) but serves the snapshot as it is. SQLite has one
// writer, so there is nobody to skip.
func (s *Store) claimProgressRefresh(ctx context.Context, day string, now time.Time, maxAge time.Duration) (bool, error) {
	q := `UPDATE progress_snapshot_meta SET day = ?, computed_at = ? WHERE id = 1 AND (day <> ? OR computed_at < ?)`
	if s.dialect == "postgres" {
		q = `UPDATE progress_snapshot_meta SET day = ?, computed_at = ? WHERE id = (SELECT id FROM progress_snapshot_meta
			WHERE id = 1 AND (day <> ? OR computed_at < ?) FOR UPDATE SKIP LOCKED)`
	}
	res, err := s.exec(ctx, q, day, now, day, now.Add(-maxAge))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// snapshotRow is one township × department of the progress snapshot.
type snapshotRow struct {
	Department string `db:"department"`
	Progress
}

// refreshProgress recomputes the whole snapshot for day with two city-wide
// grouped passes (enterprises, hazards) and replaces its rows.
func (s *Store) refreshProgress(ctx context.Context, day string) error {
	var ents, hz []snapshotRow
	if err := s.qsel(ctx, &ents, `SELECT e.township, e.department, COUNT(*) AS enterprises,
			COUNT(sg.enterprise_id) AS signed, COUNT(sb.enterprise_id) AS self_inspected,
			COALESCE(SUM(CASE WHEN e.last_inspected IS NULL OR e.last_inspected < ? THEN 1 ELSE 0 END), 0) AS not_inspected
		FROM enterprises e
		LEFT JOIN (SELECT r.enterprise_id FROM letter_recipients r
				LEFT JOIN signatures g ON g.letter_id = r.letter_id AND g.enterprise_id = r.enterprise_id
				GROUP BY r.enterprise_id HAVING COUNT(g.id) = COUNT(*)) sg ON sg.enterprise_id = e.id
		LEFT JOIN (SELECT DISTINCT enterprise_id FROM submissions WHERE period = ? AND state = `+sqlSubmissionSigned+`) sb ON sb.enterprise_id = e.id
		WHERE e.active = TRUE GROUP BY e.township, e.department`, InspectionCutoff(day), period(day)); err != nil {
		return err
	}
	if err := s.qsel(ctx, &hz, `SELECT e.township, e.department, COUNT(*) AS hazards,
			COALESCE(SUM(CASE WHEN h.status IN `+sqlRectifiedStatuses+` THEN 1 ELSE 0 END), 0) AS rectified,
			COALESCE(SUM(CASE WHEN h.status IN `+sqlOpenStatuses+` THEN 1 ELSE 0 END), 0) AS open,
			COALESCE(SUM(CASE WHEN h.status IN `+sqlOpenStatuses+` AND h.deadline < ? THEN 1 ELSE 0 END), 0) AS overdue,
			COALESCE(SUM(CASE WHEN h.grade = ? THEN 1 ELSE 0 END), 0) AS major,
			COALESCE(SUM(CASE WHEN h.grade = ? AND h.status IN `+sqlOpenStatuses+` THEN 1 ELSE 0 END), 0) AS major_open
		FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id
		WHERE e.active = TRUE GROUP BY e.township, e.department`, day, safetybot.GradeMajor, safetybot.GradeMajor); err != nil {
		return err
	}
	type key struct{ t, d string }
	byKey := map[key]snapshotRow{}
	for _, h := range hz {
		byKey[key{h.Township, h.Department}] = h
	}
	if _, err := s.exec(ctx, `DELETE FROM progress_snapshot`); err != nil {
		return err
	}
	const chunk = 200
	for start := 0; start < len(ents); start += chunk {
		var q strings.Builder
		q.WriteString(`INSERT INTO progress_snapshot (township, department, enterprises, signed, self_inspected, not_inspected,
			hazards, rectified, open, overdue, major, major_open) VALUES `)
		var args []any
		for i := start; i < min(start+chunk, len(ents)); i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			e, h := ents[i], byKey[key{ents[i].Township, ents[i].Department}]
			args = append(args, e.Township, e.Department, e.Enterprises, e.Signed, e.SelfInspected, e.NotInspected,
				h.Hazards, h.Rectified, h.Open, h.Overdue, h.Major, h.MajorOpen)
		}
		if _, err := s.exec(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}
