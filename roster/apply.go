package roster

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"safetybot"
	"safetybot/store"
)

// ApplyOptions control how a read roster is written to the store.
type ApplyOptions struct {
	SkipInvalid       bool // import the good rows even when some are bad
	DryRun            bool // validate and count, write nothing
	DeactivateMissing bool // mark active enterprises missing from the file inactive (never delete)
	Progress          func(done, total int)
}

// Report is what an import did (or would do, on a dry run).
type Report struct {
	Total       int        `json:"total"`
	Created     int        `json:"created"`
	Updated     int        `json:"updated"`
	Unchanged   int        `json:"unchanged"`
	Deactivated int        `json:"deactivated"`
	Skipped     int        `json:"skipped"`
	Errors      []RowError `json:"errors"`
	Warnings    []string   `json:"warnings"`
	DryRun      bool       `json:"dry_run"`
	Applied     bool       `json:"applied"`
}

// Summary is the one-line Chinese result: "新增 N, 更新 M, 未变 K".
func (r *Report) Summary() string {
	s := "新增 " + itoa(r.Created) + ", 更新 " + itoa(r.Updated) + ", 未变 " + itoa(r.Unchanged)
	if r.Deactivated > 0 {
		s += ", 停用 " + itoa(r.Deactivated)
	}
	if r.Skipped > 0 {
		s += ", 跳过错误行 " + itoa(r.Skipped)
	}
	return s
}

// ErrInvalidRows is returned (wrapped in an EINVALID error) when the file has
// bad rows and SkipInvalid is off: nothing was written.
var ErrInvalidRows = errors.New("roster has invalid rows")

var errDryRun = errors.New("dry run: roll back")

// ApplyEnterprises writes an enterprise roster in one transaction: enterprises by
// credit code, principals and safety officers by userid, and the contacts that
// link them. With any invalid row and no SkipInvalid nothing is written.
//
// It reads what is stored for the file's codes and userids once, works out
// every row's outcome in memory and writes only the differences with
// multi-row statements, so that a re-import of an unchanged file writes
// nothing but its audit row.
func ApplyEnterprises(ctx context.Context, s *store.Store, res *Result[EnterpriseRow], opt ApplyOptions) (*Report, error) {
	officials, err := officialIDs(ctx, s)
	if err != nil {
		return nil, err
	}
	CheckOfficials(res, func(u string) bool { return officials[strings.ToLower(u)] })
	rep := &Report{Total: res.Total, Errors: res.Errors, Warnings: res.Warnings, DryRun: opt.DryRun}
	if rep.Errors == nil {
		rep.Errors = []RowError{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	if len(res.Errors) > 0 && !opt.SkipInvalid {
		return rep, &safetybot.Error{Code: safetybot.EINVALID, Message: "文件中有 " + itoa(len(res.Errors)) + " 处错误，未导入任何数据", Err: ErrInvalidRows}
	}
	rep.Skipped = countLines(res.Errors)
	err = s.InTx(ctx, func(ctx context.Context) error {
		p, err := planEnterprises(ctx, s, res.Rows, opt.Progress)
		if err != nil {
			return err
		}
		rep.Created, rep.Updated, rep.Unchanged = p.created, p.updated, p.unchanged
		if err := p.write(ctx, s); err != nil {
			return err
		}
		if opt.DeactivateMissing {
			n, err := s.DeactivateEnterprisesExcept(ctx, p.codes)
			if err != nil {
				return err
			}
			rep.Deactivated = int(n)
		}
		if opt.DryRun {
			return errDryRun
		}
		return s.Audit(ctx, "import", "roster.enterprises", "roster", map[string]int{"created": rep.Created, "updated": rep.Updated,
			"unchanged": rep.Unchanged, "deactivated": rep.Deactivated, "skipped": rep.Skipped}, "")
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, nil
}

// personPlan is one person named by the roster: as stored (orig, nil when new)
// and as the roster leaves them.
type personPlan struct {
	orig *safetybot.Person
	p    safetybot.Person
}

func (pp *personPlan) changed() bool {
	o := pp.orig
	return o == nil || o.Name != pp.p.Name || o.Role != pp.p.Role || o.Township != pp.p.Township ||
		o.Department != pp.p.Department || o.Leader != pp.p.Leader || o.Phone != pp.p.Phone || !o.Active
}

// entPlan is one row's enterprise and the people it links.
type entPlan struct {
	e         safetybot.Enterprise
	isNew     bool
	changed   bool // fields differ from what is stored (or it was inactive)
	principal *personPlan
	officer   *personPlan // nil: none
}

// enterprisePlan is what an import will write.
type enterprisePlan struct {
	ents                        []*entPlan
	people                      map[string]*personPlan // by lower-case userid
	contacts                    map[int64]map[safetybot.ContactRole][]int64
	codes                       []string
	created, updated, unchanged int
}

// planEnterprises compares the rows with the store, row by row in file order,
// as if each row were upserted in turn.
func planEnterprises(ctx context.Context, s *store.Store, rows []EnterpriseRow, progress func(done, total int)) (*enterprisePlan, error) {
	codes := make([]string, 0, len(rows))
	var userids []string
	for _, row := range rows {
		codes = append(codes, row.Enterprise.CreditCode)
		userids = append(userids, row.PrincipalUserID)
		if row.SafetyOfficerUserID != "" {
			userids = append(userids, row.SafetyOfficerUserID)
		}
	}
	stored, err := s.EnterprisesByCode(ctx, codes)
	if err != nil {
		return nil, err
	}
	people, err := s.PeopleByUserID(ctx, userids)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range stored {
		ids = append(ids, e.ID)
	}
	contacts, err := s.ContactsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	p := &enterprisePlan{people: map[string]*personPlan{}, contacts: contacts, codes: codes}
	for i, row := range rows {
		e := row.Enterprise
		if err := e.Validate(); err != nil {
			return nil, lineErr(row.Line, err)
		}
		ep := &entPlan{e: e}
		if cur, ok := stored[e.CreditCode]; ok {
			ep.e.ID = cur.ID
			ep.changed = !store.SameEnterprise(cur, e)
		} else {
			ep.isNew = true
		}
		ep.e.Active = true
		if ep.principal, err = p.contact(people, row.PrincipalUserID, row.PrincipalName, safetybot.RolePrincipal, e); err != nil {
			return nil, lineErr(row.Line, err)
		}
		if row.SafetyOfficerUserID != "" {
			if ep.officer, err = p.contact(people, row.SafetyOfficerUserID, "", safetybot.RoleSafetyOfficer, e); err != nil {
				return nil, lineErr(row.Line, err)
			}
		}
		p.ents = append(p.ents, ep)
		if progress != nil && (i%200 == 0 || i == len(rows)-1) {
			progress(i+1, len(rows))
		}
	}
	// Outcomes: a row is updated when its enterprise, its contacts or the
	// people it names end up different from what was stored.
	for _, ep := range p.ents {
		switch {
		case ep.isNew:
			p.created++
		case ep.changed || p.contactsChanged(ep) || ep.principal.changed() || (ep.officer != nil && ep.officer.changed()):
			p.updated++
		default:
			p.unchanged++
		}
	}
	return p, nil
}

// contact applies one row's mention of a person: created when unknown, else
// given the role (a principal stays a principal when also named safety
// officer), the name when the row has one, the township when they have none,
// and a principal the enterprise's phone. An official cannot be a contact.
func (p *enterprisePlan) contact(stored map[string]safetybot.Person, userid, name string, role safetybot.Role, e safetybot.Enterprise) (*personPlan, error) {
	key := strings.ToLower(userid)
	pp := p.people[key]
	if pp == nil {
		if cur, ok := stored[key]; ok {
			orig := cur
			pp = &personPlan{orig: &orig, p: cur}
		} else {
			if name == "" {
				name = userid // the roster names no safety officer; the userid stands in until one does
			}
			pp = &personPlan{p: safetybot.Person{UserID: userid, Name: name, Role: role, Township: e.Township}}
			if role == safetybot.RolePrincipal {
				pp.p.Phone = e.Phone
			}
			if err := pp.p.Validate(); err != nil {
				return nil, err
			}
			p.people[key] = pp
			return pp, nil
		}
		p.people[key] = pp
	}
	cur := &pp.p
	if cur.Role.IsOfficial() {
		return nil, safetybot.Errorf(safetybot.EINVALID, "账号 %s 已登记为%s", userid, cur.Role.Label())
	}
	if role == safetybot.RoleSafetyOfficer && cur.Role == safetybot.RolePrincipal {
		return pp, nil
	}
	if name != "" {
		cur.Name = name
	}
	cur.Role = role
	if cur.Township == "" {
		cur.Township = e.Township
	}
	if role == safetybot.RolePrincipal && e.Phone != "" {
		cur.Phone = e.Phone
	}
	cur.Active = true
	if err := cur.Validate(); err != nil {
		return nil, err
	}
	return pp, nil
}

// contactsChanged reports whether a stored enterprise's principal or safety
// officer differs from the row's.
func (p *enterprisePlan) contactsChanged(ep *entPlan) bool {
	cur := p.contacts[ep.e.ID]
	if ep.principal.orig == nil || !slices.Equal(cur[safetybot.ContactPrincipal], []int64{ep.principal.orig.ID}) {
		return true
	}
	officers := cur[safetybot.ContactSafetyOfficer]
	if ep.officer == nil {
		return len(officers) > 0
	}
	return ep.officer.orig == nil || !slices.Equal(officers, []int64{ep.officer.orig.ID})
}

// write stores the plan: new enterprises and people in multi-row INSERTs,
// changed ones one UPDATE each, and the contacts that differ.
func (p *enterprisePlan) write(ctx context.Context, s *store.Store) error {
	var newEnts []*safetybot.Enterprise
	for _, ep := range p.ents {
		switch {
		case ep.isNew:
			newEnts = append(newEnts, &ep.e)
		case ep.changed:
			if err := s.UpdateEnterprise(ctx, &ep.e); err != nil {
				return err
			}
		}
	}
	if err := s.CreateEnterprises(ctx, newEnts); err != nil {
		return err
	}
	var newPeople []*safetybot.Person
	keys := make([]string, 0, len(p.people))
	for k := range p.people {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		pp := p.people[k]
		switch {
		case pp.orig == nil:
			newPeople = append(newPeople, &pp.p)
		case pp.changed():
			if err := s.UpdatePerson(ctx, &pp.p); err != nil {
				return err
			}
		}
	}
	if err := s.CreatePeople(ctx, newPeople); err != nil {
		return err
	}
	principals := map[int64][]int64{}
	officers := map[int64][]int64{}
	for _, ep := range p.ents {
		if ep.isNew || p.contactsChanged(ep) {
			principals[ep.e.ID] = []int64{ep.principal.p.ID}
			officers[ep.e.ID] = nil
			if ep.officer != nil {
				officers[ep.e.ID] = []int64{ep.officer.p.ID}
			}
		}
	}
	if err := s.ReplaceContactsOf(ctx, safetybot.ContactPrincipal, principals); err != nil {
		return err
	}
	return s.ReplaceContactsOf(ctx, safetybot.ContactSafetyOfficer, officers)
}

// ApplyOfficials writes an officials roster in one transaction, by userid.
func ApplyOfficials(ctx context.Context, s *store.Store, res *Result[OfficialRow], opt ApplyOptions) (*Report, error) {
	rep := &Report{Total: res.Total, Errors: append([]RowError{}, res.Errors...), Warnings: res.Warnings, DryRun: opt.DryRun}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	// Someone already registered as a principal or safety officer cannot become an official here.
	var good []OfficialRow
	for _, row := range res.Rows {
		cur, err := s.FindPerson(ctx, row.Person.UserID)
		if err == nil && !cur.Role.IsOfficial() {
			rep.Errors = append(rep.Errors, RowError{Line: row.Line, Field: "userid",
				Message: "账号 " + row.Person.UserID + " 已登记为" + cur.Role.Label() + "，不能作为干部导入"})
			continue
		} else if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
		good = append(good, row)
	}
	sortErrors(rep.Errors)
	if len(rep.Errors) > 0 && !opt.SkipInvalid {
		return rep, &safetybot.Error{Code: safetybot.EINVALID, Message: "文件中有 " + itoa(len(rep.Errors)) + " 处错误，未导入任何数据", Err: ErrInvalidRows}
	}
	rep.Skipped = countLines(rep.Errors)
	err := s.InTx(ctx, func(ctx context.Context) error {
		for i, row := range good {
			p := row.Person
			outcome, err := s.UpsertPerson(ctx, &p)
			if err != nil {
				return lineErr(row.Line, err)
			}
			switch outcome {
			case store.Created:
				rep.Created++
			case store.Updated:
				rep.Updated++
			default:
				rep.Unchanged++
			}
			if opt.Progress != nil && (i%200 == 0 || i == len(good)-1) {
				opt.Progress(i+1, len(good))
			}
		}
		if opt.DryRun {
			return errDryRun
		}
		return s.Audit(ctx, "import", "roster.officials", "roster", map[string]int{"created": rep.Created, "updated": rep.Updated, "unchanged": rep.Unchanged}, "")
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	rep.Applied = true
	return rep, nil
}

func officialIDs(ctx context.Context, s *store.Store) (map[string]bool, error) {
	out := map[string]bool{}
	for _, role := range []safetybot.Role{safetybot.RoleTownship, safetybot.RoleDepartment, safetybot.RoleOffice} {
		ps, err := s.ListPeople(ctx, role, "")
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			out[strings.ToLower(p.UserID)] = true
		}
	}
	return out, nil
}

func lineErr(line int, err error) error {
	if msg := safetybot.ErrorMessage(err); msg != "" {
		return &safetybot.Error{Code: safetybot.ErrorCode(err), Message: "第 " + itoa(line) + " 行: " + msg, Err: err}
	}
	return err
}

func countLines(errs []RowError) int {
	seen := map[int]bool{}
	for _, e := range errs {
		seen[e.Line] = true
	}
	return len(seen)
}

func itoa(i int) string { return strconv.Itoa(i) }
