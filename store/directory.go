package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"safetybot"
)

// enterpriseRow is how an enterprise sits in the database.
type enterpriseRow struct {
	ID            int64     `db:"id"`
	CreditCode    string    `db:"credit_code"`
	Name          string    `db:"name"`
	Township      string    `db:"township"`
	Sector        string    `db:"sector"`
	Category      string    `db:"category"`
	SmallType     string    `db:"small_type"`
	KeyUnit       bool      `db:"key_unit"`
	Department    string    `db:"department"`
	Phone         string    `db:"phone"`
	Address       string    `db:"address"`
	LastInspected *string   `db:"last_inspected"`
	Active        bool      `db:"active"`
	CreatedAt     time.Time `db:"created_at"`
	UpdatedAt     time.Time `db:"updated_at"`
}

func (r enterpriseRow) domain() safetybot.Enterprise {
	return safetybot.Enterprise{ID: r.ID, CreditCode: r.CreditCode, Name: r.Name, Township: r.Township,
		Sector: r.Sector, Category: r.Category, SmallType: r.SmallType, KeyUnit: r.KeyUnit,
		Department: r.Department, Phone: r.Phone, Address: r.Address,
		LastInspected: parseDate(r.LastInspected), Active: r.Active}
}

func enterprises(rows []enterpriseRow) []safetybot.Enterprise {
	out := make([]safetybot.Enterprise, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

const enterpriseCols = `id, credit_code, name, township, sector, category, small_type, key_unit, department, phone, address, last_inspected, active, created_at, updated_at`

// EnsureTownship creates the township if it does not exist.
func (s *Store) EnsureTownship(ctx context.Context, name string) error {
	_, err := s.exec(ctx, `INSERT INTO townships (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, s.Now())
	return err
}

// EnsureDepartment creates the department if it does not exist.
func (s *Store) EnsureDepartment(ctx context.Context, name string) error {
	_, err := s.exec(ctx, `INSERT INTO departments (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, s.Now())
	return err
}

// ListTownships returns every township name, sorted.
func (s *Store) ListTownships(ctx context.Context) ([]string, error) {
	var names []string
	err := s.sel(ctx, &names, `SELECT name FROM townships ORDER BY name`)
	return names, err
}

// Upsert outcomes.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
)

// UpsertEnterprise creates the enterprise or updates it by credit code. It
// reports whether the row was created, updated or unchanged, and sets e.ID.
func (s *Store) UpsertEnterprise(ctx context.Context, e *safetybot.Enterprise) (string, error) {
	if err := e.Validate(); err != nil {
		return "", err
	}
	var outcome string
	err := s.InTx(ctx, func(ctx context.Context) error {
		if err := s.EnsureTownship(ctx, e.Township); err != nil {
			return err
		}
		var cur enterpriseRow
		err := s.get(ctx, &cur, `SELECT `+enterpriseCols+` FROM enterprises WHERE credit_code = ?`, e.CreditCode)
		now := s.Now()
		switch {
		case IsNotFound(err):
			err = s.get(ctx, &e.ID, `INSERT INTO enterprises (credit_code, name, township, sector, category, small_type, key_unit, department, phone, address, last_inspected, active, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING id`,
				e.CreditCode, e.Name, e.Township, e.Sector, e.Category, e.SmallType, e.KeyUnit, e.Department, e.Phone, e.Address, dateString(e.LastInspected), now, now)
			e.Active = true
			outcome = Created
			return err
		case err != nil:
			return err
		}
		e.ID = cur.ID
		e.Active = true
		old := cur.domain()
		if sameEnterprise(old, *e) {
			outcome = Unchanged
			return nil
		}
		outcome = Updated
		_, err = s.exec(ctx, `UPDATE enterprises SET name = ?, township = ?, sector = ?, category = ?, small_type = ?, key_unit = ?, department = ?, phone = ?, address = ?, last_inspected = ?, active = TRUE, updated_at = ? WHERE id = ?`,
			e.Name, e.Township, e.Sector, e.Category, e.SmallType, e.KeyUnit, e.Department, e.Phone, e.Address, dateString(e.LastInspected), now, e.ID)
		return err
	})
	return outcome, err
}

func sameEnterprise(a, b safetybot.Enterprise) bool {
	da, db := dateString(a.LastInspected), dateString(b.LastInspected)
	sameDate := (da == nil && db == nil) || (da != nil && db != nil && *da == *db)
	return a.Name == b.Name && a.Township == b.Township && a.Sector == b.Sector && a.Category == b.Category &&
		a.SmallType == b.SmallType && a.KeyUnit == b.KeyUnit && a.Department == b.Department &&
		a.Phone == b.Phone && a.Address == b.Address && a.Active && sameDate
}

// DeactivateEnterprisesExcept marks active enterprises whose credit code is not in
// keep as inactive and returns how many. History is never deleted.
func (s *Store) DeactivateEnterprisesExcept(ctx context.Context, keep []string) (int64, error) {
	set := make(map[string]bool, len(keep))
	for _, k := range keep {
		set[k] = true
	}
	var all []struct {
		ID   int64  `db:"id"`
		Code string `db:"credit_code"`
	}
	if err := s.sel(ctx, &all, `SELECT id, credit_code FROM enterprises WHERE active = TRUE`); err != nil {
		return 0, err
	}
	var n int64
	for _, e := range all {
		if set[e.Code] {
			continue
		}
		if _, err := s.exec(ctx, `UPDATE enterprises SET active = FALSE, updated_at = ? WHERE id = ?`, s.Now(), e.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CreateEnterprise inserts a new enterprise; a duplicate credit code is ECONFLICT.
func (s *Store) CreateEnterprise(ctx context.Context, e *safetybot.Enterprise) error {
	if err := e.Validate(); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if err := s.EnsureTownship(ctx, e.Township); err != nil {
			return err
		}
		now := s.Now()
		err := s.get(ctx, &e.ID, `INSERT INTO enterprises (credit_code, name, township, sector, category, small_type, key_unit, department, phone, address, last_inspected, active, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING id`,
			e.CreditCode, e.Name, e.Township, e.Sector, e.Category, e.SmallType, e.KeyUnit, e.Department, e.Phone, e.Address, dateString(e.LastInspected), now, now)
		if IsConflict(err) {
			return &safetybot.Error{Code: safetybot.ECONFLICT, Message: fmt.Sprintf("统一社会信用代码 %s 已登记", e.CreditCode), Err: err}
		}
		e.Active = true
		return err
	})
}

// FindEnterprise returns one enterprise by id.
func (s *Store) FindEnterprise(ctx context.Context, id int64) (safetybot.Enterprise, error) {
	var r enterpriseRow
	err := s.get(ctx, &r, `SELECT `+enterpriseCols+` FROM enterprises WHERE id = ?`, id)
	return r.domain(), err
}

// FindEnterpriseByCode returns one enterprise by credit code.
func (s *Store) FindEnterpriseByCode(ctx context.Context, code string) (safetybot.Enterprise, error) {
	var r enterpriseRow
	err := s.get(ctx, &r, `SELECT `+enterpriseCols+` FROM enterprises WHERE credit_code = ?`, code)
	return r.domain(), err
}

// EnterpriseFilter selects enterprises. Empty fields match everything.
type EnterpriseFilter struct {
	Townships  []string
	Categories []string
	KeyUnit    *bool
	Department string
	NameLike   string
	ActiveOnly bool
	Limit      int
}

// ListEnterprises returns the enterprises matching f, ordered by township and name.
func (s *Store) ListEnterprises(ctx context.Context, f EnterpriseFilter) ([]safetybot.Enterprise, error) {
	q := `SELECT ` + enterpriseCols + ` FROM enterprises WHERE 1 = 1`
	var args []any
	if len(f.Townships) > 0 {
		q += ` AND township IN (?)`
		args = append(args, f.Townships)
	}
	if len(f.Categories) > 0 {
		q += ` AND category IN (?)`
		args = append(args, f.Categories)
	}
	if f.KeyUnit != nil {
		q += ` AND key_unit = ?`
		args = append(args, *f.KeyUnit)
	}
	if f.Department != "" {
		q += ` AND department = ?`
		args = append(args, f.Department)
	}
	if f.NameLike != "" {
		q += ` AND (name LIKE ? OR credit_code = ?)`
		args = append(args, "%"+f.NameLike+"%", f.NameLike)
	}
	if f.ActiveOnly {
		q += ` AND active = TRUE`
	}
	q += ` ORDER BY township, name, id`
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	q, a, err := s.in(q, args...)
	if err != nil {
		return nil, err
	}
	var rows []enterpriseRow
	if err := mapErr(s.q(ctx).SelectContext(ctx, &rows, q, a...)); err != nil {
		return nil, err
	}
	return enterprises(rows), nil
}

// personRow is how a person sits in the database.
type personRow struct {
	safetybot.Person
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

const personCols = `id, userid, name, role, township, department, leader, phone, active, created_at, updated_at`

// UpsertPerson creates the person or updates them by userid and reports the outcome.
func (s *Store) UpsertPerson(ctx context.Context, p *safetybot.Person) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	var outcome string
	err := s.InTx(ctx, func(ctx context.Context) error {
		if p.Role == safetybot.RoleTownship && p.Township != "" {
			if err := s.EnsureTownship(ctx, p.Township); err != nil {
				return err
			}
		}
		if p.Department != "" {
			if err := s.EnsureDepartment(ctx, p.Department); err != nil {
				return err
			}
		}
		var cur personRow
		err := s.get(ctx, &cur, `SELECT `+personCols+` FROM people WHERE userid = ?`, p.UserID)
		now := s.Now()
		switch {
		case IsNotFound(err):
			outcome = Created
			p.Active = true
			return s.get(ctx, &p.ID, `INSERT INTO people (userid, name, role, township, department, leader, phone, active, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING id`,
				p.UserID, p.Name, p.Role, p.Township, p.Department, p.Leader, p.Phone, now, now)
		case err != nil:
			return err
		}
		p.ID = cur.ID
		p.Active = true
		c := cur.Person
		if c.Name == p.Name && c.Role == p.Role && c.Township == p.Township && c.Department == p.Department && c.Leader == p.Leader && c.Phone == p.Phone && c.Active {
			outcome = Unchanged
			return nil
		}
		outcome = Updated
		_, err = s.exec(ctx, `UPDATE people SET name = ?, role = ?, township = ?, department = ?, leader = ?, phone = ?, active = TRUE, updated_at = ? WHERE id = ?`,
			p.Name, p.Role, p.Township, p.Department, p.Leader, p.Phone, now, p.ID)
		return err
	})
	return outcome, err
}

// CreatePerson inserts a new person; a duplicate userid is ECONFLICT.
func (s *Store) CreatePerson(ctx context.Context, p *safetybot.Person) error {
	if err := p.Validate(); err != nil {
		return err
	}
	now := s.Now()
	err := s.get(ctx, &p.ID, `INSERT INTO people (userid, name, role, township, department, leader, phone, active, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, TRUE, ?, ?) RETURNING id`,
		p.UserID, p.Name, p.Role, p.Township, p.Department, p.Leader, p.Phone, now, now)
	if IsConflict(err) {
		return &safetybot.Error{Code: safetybot.ECONFLICT, Message: fmt.Sprintf("账号 %s 已登记", p.UserID), Err: err}
	}
	p.Active = true
	return err
}

// FindPerson returns the person with the WeCom userid (ENOTFOUND when unknown).
// WeCom userids are case-insensitive; the roster stores them as given.
func (s *Store) FindPerson(ctx context.Context, userid string) (safetybot.Person, error) {
	var r personRow
	err := s.get(ctx, &r, `SELECT `+personCols+` FROM people WHERE userid = ?`, userid)
	if IsNotFound(err) {
		err = s.get(ctx, &r, `SELECT `+personCols+` FROM people WHERE lower(userid) = lower(?)`, userid)
	}
	return r.Person, err
}

// ListPeople returns people with the given role (all roles when empty), optionally in one township.
func (s *Store) ListPeople(ctx context.Context, role safetybot.Role, township string) ([]safetybot.Person, error) {
	q := `SELECT ` + personCols + ` FROM people WHERE active = TRUE`
	var args []any
	if role != "" {
		q += ` AND role = ?`
		args = append(args, role)
	}
	if township != "" {
		q += ` AND township = ?`
		args = append(args, township)
	}
	q += ` ORDER BY userid`
	var rows []personRow
	if err := s.sel(ctx, &rows, q, args...); err != nil {
		return nil, err
	}
	out := make([]safetybot.Person, len(rows))
	for i, r := range rows {
		out[i] = r.Person
	}
	return out, nil
}

// SetContact links a person to an enterprise in a role (idempotent).
func (s *Store) SetContact(ctx context.Context, enterpriseID, personID int64, role safetybot.ContactRole) error {
	_, err := s.exec(ctx, `INSERT INTO contacts (enterprise_id, person_id, role) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, enterpriseID, personID, role)
	return err
}

// ReplaceContacts sets the enterprise's contacts of one role to exactly personIDs.
func (s *Store) ReplaceContacts(ctx context.Context, enterpriseID int64, role safetybot.ContactRole, personIDs []int64) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, `DELETE FROM contacts WHERE enterprise_id = ? AND role = ?`, enterpriseID, role); err != nil {
			return err
		}
		for _, id := range personIDs {
			if err := s.SetContact(ctx, enterpriseID, id, role); err != nil {
				return err
			}
		}
		return nil
	})
}

// EnterprisesOf returns the active enterprises a person is a contact of in role.
func (s *Store) EnterprisesOf(ctx context.Context, userid string, role safetybot.ContactRole) ([]safetybot.Enterprise, error) {
	var rows []enterpriseRow
	err := s.sel(ctx, &rows, `SELECT e.`+enterpriseColsPrefixed+` FROM enterprises e
		JOIN contacts c ON c.enterprise_id = e.id JOIN people p ON p.id = c.person_id
		WHERE p.userid = ? AND c.role = ? AND e.active = TRUE ORDER BY e.name, e.id`, userid, role)
	return enterprises(rows), err
}

const enterpriseColsPrefixed = `id, e.credit_code, e.name, e.township, e.sector, e.category, e.small_type, e.key_unit, e.department, e.phone, e.address, e.last_inspected, e.active, e.created_at, e.updated_at`

// Principals returns the userids of the enterprise's principals.
func (s *Store) Principals(ctx context.Context, enterpriseID int64) ([]safetybot.Person, error) {
	var rows []personRow
	err := s.sel(ctx, &rows, `SELECT p.id, p.userid, p.name, p.role, p.township, p.department, p.leader, p.phone, p.active, p.created_at, p.updated_at
		FROM people p JOIN contacts c ON c.person_id = p.id WHERE c.enterprise_id = ? AND c.role = 'principal' ORDER BY p.userid`, enterpriseID)
	out := make([]safetybot.Person, len(rows))
	for i, r := range rows {
		out[i] = r.Person
	}
	return out, err
}

// ReplaceContactsChanged sets the enterprise's contacts of one role to exactly
// personIDs and reports whether that changed anything.
func (s *Store) ReplaceContactsChanged(ctx context.Context, enterpriseID int64, role safetybot.ContactRole, personIDs []int64) (bool, error) {
	var cur []int64
	if err := s.sel(ctx, &cur, `SELECT person_id FROM contacts WHERE enterprise_id = ? AND role = ? ORDER BY person_id`, enterpriseID, role); err != nil {
		return false, err
	}
	want := append([]int64(nil), personIDs...)
	slices.Sort(want)
	if slices.Equal(cur, want) {
		return false, nil
	}
	return true, s.ReplaceContacts(ctx, enterpriseID, role, personIDs)
}
