package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"safetybot"
)

// SpotCheck is one draw of key units for a department to spot-check (S8).
type SpotCheck struct {
	ID         int64     `db:"id"`
	Department string    `db:"department"`
	Township   string    `db:"township"`
	Percent    int       `db:"percent"`
	Seed       int64     `db:"seed"`
	CreatedAt  time.Time `db:"created_at"`
}

// SpotCheckUnit is a key unit that may be drawn: it has a principal-signed
// self-inspection; Period is the newest signed one's month.
type SpotCheckUnit struct {
	EnterpriseID int64  `db:"enterprise_id"`
	Name         string `db:"name"`
	Township     string `db:"township"`
	Period       string `db:"period"`
}

// SpotCheckPopulation returns the active key units the department supervises
// (in the township, when given) that have a signed self-inspection, by id.
func (s *Store) SpotCheckPopulation(ctx context.Context, department, township string) ([]SpotCheckUnit, error) {
	q := `SELECT e.id AS enterprise_id, e.name, e.township,
			(SELECT MAX(sb.period) FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.state = ` + sqlSubmissionSigned + `) AS period
		FROM enterprises e WHERE e.active = TRUE AND e.key_unit = TRUE AND e.department = ?
			AND EXISTS (SELECT 1 FROM submissions sb WHERE sb.enterprise_id = e.id AND sb.state = ` + sqlSubmissionSigned + `)`
	args := []any{department}
	if township != "" {
		q += ` AND e.township = ?`
		args = append(args, township)
	}
	q += ` ORDER BY e.id`
	var out []SpotCheckUnit
	err := s.sel(ctx, &out, q, args...)
	return out, err
}

// DepartmentOfficials returns the active officials of a department, by userid.
func (s *Store) DepartmentOfficials(ctx context.Context, department string) ([]safetybot.Person, error) {
	var rows []personRow
	err := s.sel(ctx, &rows, `SELECT `+personCols+` FROM people WHERE active = TRUE AND role = 'department' AND department = ? ORDER BY userid`, department)
	out := make([]safetybot.Person, len(rows))
	for i, r := range rows {
		out[i] = r.Person
	}
	return out, err
}

// SpotCheckAssignment is one drawn unit and the official who checks it.
type SpotCheckAssignment struct {
	SpotCheckID  int64  `db:"spot_check_id"`
	EnterpriseID int64  `db:"enterprise_id"`
	Enterprise   string `db:"enterprise"`
	Township     string `db:"township"`
	Official     string `db:"official"`
}

// CreateSpotCheck stores a draw and its assignments. sc.ID and sc.CreatedAt are set.
func (s *Store) CreateSpotCheck(ctx context.Context, sc *SpotCheck, assignments []SpotCheckAssignment) error {
	sc.CreatedAt = s.Now()
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.get(ctx, &sc.ID, `INSERT INTO spot_checks (department, township, percent, seed, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			sc.Department, sc.Township, sc.Percent, sc.Seed, sc.CreatedAt); err != nil {
			return err
		}
		const chunk = 300
		for start := 0; start < len(assignments); start += chunk {
			end := min(start+chunk, len(assignments))
			var q strings.Builder
			q.WriteString(`INSERT INTO spot_check_assignments (spot_check_id, enterprise_id, official) VALUES `)
			args := make([]any, 0, 3*(end-start))
			for i := start; i < end; i++ {
				if i > start {
					q.WriteString(", ")
				}
				q.WriteString("(?, ?, ?)")
				assignments[i].SpotCheckID = sc.ID
				args = append(args, sc.ID, assignments[i].EnterpriseID, assignments[i].Official)
			}
			if _, err := s.exec(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return s.Audit(ctx, "cli", "spotcheck.draw", fmt.Sprintf("spot_check:%d", sc.ID),
			map[string]any{"department": sc.Department, "township": sc.Township, "percent": sc.Percent, "seed": sc.Seed, "drawn": len(assignments)}, "")
	})
}

// SpotCheckTasks lists the spot-check assignments of the scope: an official's
// own; the office sees every one. Newest draw first, then by township and name.
func (s *Store) SpotCheckTasks(ctx context.Context, sc Scope, pg Page) ([]SpotCheckAssignment, int, error) {
	where, args := `a.official = ?`, []any{sc.UserID}
	switch {
	case sc.Role == safetybot.RoleOffice:
		where, args = `1 = 1`, nil
	case !sc.Role.IsOfficial() || sc.UserID == "":
		return nil, 0, outOfScope("")
	}
	from := ` FROM spot_check_assignments a JOIN enterprises e ON e.id = a.enterprise_id WHERE ` + where
	var rows []SpotCheckAssignment
	if err := s.sel(ctx, &rows, `SELECT a.spot_check_id, a.enterprise_id, e.name AS enterprise, e.township, a.official`+
		from+` ORDER BY a.spot_check_id DESC, e.township, e.name, e.id LIMIT `+fmt.Sprint(pg.limit())+` OFFSET `+fmt.Sprint(max(pg.Offset, 0)), args...); err != nil {
		return nil, 0, err
	}
	total := -1
	if pg.Count {
		if err := s.get(ctx, &total, `SELECT COUNT(*)`+from, args...); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}
