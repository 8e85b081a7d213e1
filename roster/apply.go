package roster

import (
	"context"
	"errors"
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
		codes := make([]string, 0, len(res.Rows))
		for i, row := range res.Rows {
			e := row.Enterprise
			outcome, err := s.UpsertEnterprise(ctx, &e)
			if err != nil {
				return lineErr(row.Line, err)
			}
			codes = append(codes, e.CreditCode)
			principal, err := upsertContact(ctx, s, row.PrincipalUserID, row.PrincipalName, safetybot.RolePrincipal, e)
			if err != nil {
				return lineErr(row.Line, err)
			}
			changed, err := s.ReplaceContactsChanged(ctx, e.ID, safetybot.ContactPrincipal, []int64{principal})
			if err != nil {
				return lineErr(row.Line, err)
			}
			var officers []int64
			if row.SafetyOfficerUserID != "" {
				id, err := upsertContact(ctx, s, row.SafetyOfficerUserID, "", safetybot.RoleSafetyOfficer, e)
				if err != nil {
					return lineErr(row.Line, err)
				}
				officers = append(officers, id)
			}
			changedOfficer, err := s.ReplaceContactsChanged(ctx, e.ID, safetybot.ContactSafetyOfficer, officers)
			if err != nil {
				return lineErr(row.Line, err)
			}
			if outcome == store.Unchanged && (changed || changedOfficer) {
				outcome = store.Updated
			}
			switch outcome {
			case store.Created:
				rep.Created++
			case store.Updated:
				rep.Updated++
			default:
				rep.Unchanged++
			}
			if opt.Progress != nil && (i%200 == 0 || i == len(res.Rows)-1) {
				opt.Progress(i+1, len(res.Rows))
			}
		}
		if opt.DeactivateMissing {
			n, err := s.DeactivateEnterprisesExcept(ctx, codes)
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

// upsertContact makes sure the person exists with a role that fits. A principal
// stays a principal when also named safety officer elsewhere.
func upsertContact(ctx context.Context, s *store.Store, userid, name string, role safetybot.Role, e safetybot.Enterprise) (int64, error) {
	cur, err := s.FindPerson(ctx, userid)
	switch {
	case err == nil:
		if cur.Role.IsOfficial() {
			return 0, safetybot.Errorf(safetybot.EINVALID, "账号 %s 已登记为%s", userid, cur.Role.Label())
		}
		if role == safetybot.RoleSafetyOfficer && cur.Role == safetybot.RolePrincipal {
			return cur.ID, nil
		}
		if name == "" {
			name = cur.Name
		}
		p := cur
		p.Name, p.Role = name, role
		if p.Township == "" {
			p.Township = e.Township
		}
		if role == safetybot.RolePrincipal && e.Phone != "" {
			p.Phone = e.Phone
		}
		_, err := s.UpsertPerson(ctx, &p)
		return p.ID, err
	case !store.IsNotFound(err):
		return 0, err
	}
	if name == "" {
		name = userid // the roster names no safety officer; the userid stands in until one does
	}
	p := safetybot.Person{UserID: userid, Name: name, Role: role, Township: e.Township}
	if role == safetybot.RolePrincipal {
		p.Phone = e.Phone
	}
	_, err = s.UpsertPerson(ctx, &p)
	return p.ID, err
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
