package roster

import (
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"safetybot"
)

// EnterpriseRow is one valid row of an enterprise roster: the enterprise (Active
// set, ID zero) and its contacts by WeCom userid. SafetyOfficerUserID is empty
// when the enterprise names none.
type EnterpriseRow struct {
	Line                int
	Enterprise          safetybot.Enterprise
	PrincipalName       string
	PrincipalUserID     string
	SafetyOfficerUserID string
}

// extraNineSmallTypes and extraFiveSmallTypes are the type names the fixture
// roster uses besides safetybot.NineSmallTypes and FiveSmallTypes. They belong
// in the root lists; until they are there, the reader accepts them too.
var (
	extraNineSmallTypes = []string{"小棋牌室", "小美容", "小餐馆", "小歌舞厅"}
	extraFiveSmallTypes = []string{"小皮革"}
)

// smallTypes returns the accepted small-place types for a category, nil for
// 一般企业.
func smallTypes(category string) []string {
	switch category {
	case safetybot.CategoryNineSmall:
		return slices.Concat(safetybot.NineSmallTypes, extraNineSmallTypes)
	case safetybot.CategoryFiveSmall:
		return slices.Concat(safetybot.FiveSmallTypes, extraFiveSmallTypes)
	}
	return nil
}

// ReadEnterprises reads an enterprise roster (CSV or XLSX; filename only helps
// to tell which) and validates every row. The error is for problems with the
// file as a whole — too large, unreadable, empty, a required column missing —
// and carries a Chinese message (safetybot.ErrorMessage). Faults in rows are in
// Result.Errors, and rows with a fault are left out of Result.Rows.
//
// Rules that need the store (a principal who is already registered as an
// official) are checked afterwards by CheckOfficials.
func (rd *Reader) ReadEnterprises(r io.Reader, filename string) (*Result[EnterpriseRow], error) {
	t, err := open(r, filename, enterpriseSchema)
	if err != nil {
		return nil, err
	}
	defer t.src.close()

	v := &enterpriseValidator{
		t:          t,
		c:          newCollector[EnterpriseRow](),
		today:      rd.today(),
		loc:        rd.location(),
		nine:       smallTypes(safetybot.CategoryNineSmall),
		five:       smallTypes(safetybot.CategoryFiveSmall),
		codes:      make(map[string][]int),
		principals: make(map[string]principalSeen),
	}
	v.c.res.Warnings = t.warnings
	for {
		line, cells, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		v.c.res.Total++
		v.row(line, cells)
	}
	if v.c.res.Total == 0 {
		return nil, invalid("文件只有表头，没有数据行")
	}
	v.duplicates()
	return v.c.finish(), nil
}

type principalSeen struct {
	line int
	name string
}

type enterpriseValidator struct {
	t          *table
	c          *collector[EnterpriseRow]
	loc        *time.Location
	today      time.Time
	nine, five []string
	codes      map[string][]int         // credit code → lines
	principals map[string]principalSeen // folded principal userid → first row naming it
}

func (v *enterpriseValidator) row(line int, cells []string) {
	l := &v.t.layout
	get := func(c int) string { return l.get(cells, c) }
	fail := func(field, format string, args ...any) { v.c.fail(line, field, format, args...) }

	e := safetybot.Enterprise{Active: true}
	e.CreditCode = code(get(eCode))
	if e.CreditCode == "" {
		fail("credit_code", "统一社会信用代码不能为空")
	} else {
		if err := safetybot.CheckCreditCode(e.CreditCode); err != nil {
			fail("credit_code", "%s", message(err))
		}
		v.codes[e.CreditCode] = append(v.codes[e.CreditCode], line)
	}

	e.Name = get(eName)
	if e.Name == "" {
		fail("name", "企业名称不能为空")
	}
	e.Township = get(eTownship)
	if e.Township == "" {
		fail("township", "所属镇街不能为空")
	}
	e.Sector = get(eSector)

	rawCategory := get(eCategory)
	category, ok := parseCategory(rawCategory)
	switch {
	case rawCategory == "":
		fail("category", "类别不能为空（应为 九小场所、五小企业 或 一般企业）")
	case !ok:
		fail("category", "类别“%s”不正确，应为 九小场所、五小企业 或 一般企业", rawCategory)
	}
	e.Category = category

	smallType := get(eSmallType)
	switch category {
	case safetybot.CategoryNineSmall, safetybot.CategoryFiveSmall:
		allowed := v.nine
		if category == safetybot.CategoryFiveSmall {
			allowed = v.five
		}
		switch {
		case smallType == "":
			fail("small_place_type", "%s须填写场所类型（可填：%s）", category, strings.Join(allowed, "、"))
		case !slices.Contains(allowed, smallType):
			fail("small_place_type", "“%s”不是%s的类型（可填：%s）", smallType, category, strings.Join(allowed, "、"))
		default:
			e.SmallType = smallType
		}
	case safetybot.CategoryGeneral:
		if smallType != "" {
			v.c.warn("第 %d 行：一般企业不需要填写场所类型，已忽略“%s”", line, smallType)
		}
	}

	if raw := get(eKeyUnit); raw != "" {
		if e.KeyUnit, ok = parseBool(raw); !ok {
			fail("key_unit", "重点监管单位应填“是”或“否”，现为“%s”", raw)
		}
	}

	principalName := get(ePrincipalName)
	if principalName == "" {
		fail("principal_name", "主要负责人姓名不能为空")
	}
	principal := userID(get(ePrincipalUserID))
	switch {
	case principal == "":
		fail("principal_userid", "负责人企业微信账号不能为空")
	case !safetybot.ValidUserID(principal):
		fail("principal_userid", "负责人企业微信账号“%s”格式不正确（只能用字母、数字和 _ . @ -）", principal)
	default:
		key := strings.ToLower(principal)
		if seen, dup := v.principals[key]; !dup {
			v.principals[key] = principalSeen{line: line, name: principalName}
		} else if principalName != "" && seen.name != "" && seen.name != principalName {
			fail("principal_name", "负责人账号 %s 在第 %d 行的姓名是“%s”，与本行“%s”不一致", principal, seen.line, seen.name, principalName)
		}
	}
	officer := userID(get(eSafetyOfficerUserID))
	switch {
	case officer == "":
	case !safetybot.ValidUserID(officer):
		fail("safety_officer_userid", "安全管理员账号“%s”格式不正确（只能用字母、数字和 _ . @ -）", officer)
	case strings.EqualFold(officer, principal):
		fail("safety_officer_userid", "安全管理员账号 %s 与负责人账号相同，同一个人不能既是负责人又是安全管理员", officer)
	}

	if raw := get(ePhone); raw != "" {
		if e.Phone, ok = phone(raw); !ok {
			fail("phone", "联系电话“%s”格式不正确，应为11位手机号或带区号的固定电话", raw)
		}
	}
	e.Address = get(eAddress)

	if raw := get(eLastInspected); raw != "" {
		d, ok := parseDate(raw, v.t.xlsx, v.t.date1904, v.loc)
		switch {
		case !ok:
			fail("last_inspected", "最近检查日期“%s”看不懂，请写成 2025-03-01 这样的日期", raw)
		case d.After(v.today):
			fail("last_inspected", "最近检查日期 %s 晚于今天，请核对", d.Format("2006-01-02"))
		default:
			e.LastInspected = &d
		}
	}
	e.Department = get(eDepartment)

	v.c.add(line, EnterpriseRow{
		Line:                line,
		Enterprise:          e,
		PrincipalName:       principalName,
		PrincipalUserID:     principal,
		SafetyOfficerUserID: officer,
	})
}

// duplicates flags every line of a credit code that appears more than once.
func (v *enterpriseValidator) duplicates() {
	for _, lines := range v.codes {
		if len(lines) < 2 {
			continue
		}
		for _, line := range lines {
			v.c.fail(line, "credit_code", "统一社会信用代码与第 %s 行重复", otherLines(lines, line))
		}
	}
}

// CheckOfficials applies the rule that needs the store: a principal or safety
// officer must not be someone already registered as an official. isOfficial
// answers for one userid (typically a store lookup, perhaps combined with an
// officials file imported alongside). Each offending row gets a RowError and is
// removed from res.Rows.
//
// It is a function rather than a method because Go allows no methods on one
// instantiation of a generic type.
func CheckOfficials(res *Result[EnterpriseRow], isOfficial func(userid string) bool) {
	bad := make(map[int]bool)
	lines := make([]int, len(res.Rows))
	for i, row := range res.Rows {
		lines[i] = row.Line
		if row.PrincipalUserID != "" && isOfficial(row.PrincipalUserID) {
			res.Errors = append(res.Errors, RowError{Line: row.Line, Field: "principal_userid",
				Message: "负责人账号 " + row.PrincipalUserID + " 已登记为干部，不能作为企业负责人"})
			bad[row.Line] = true
		}
		if row.SafetyOfficerUserID != "" && isOfficial(row.SafetyOfficerUserID) {
			res.Errors = append(res.Errors, RowError{Line: row.Line, Field: "safety_officer_userid",
				Message: "安全管理员账号 " + row.SafetyOfficerUserID + " 已登记为干部，不能作为企业安全管理员"})
			bad[row.Line] = true
		}
	}
	if len(bad) == 0 {
		return
	}
	res.Rows = dropBad(res.Rows, lines, bad)
	sortErrors(res.Errors)
}

// message is the user-safe text of a root-package error.
func message(err error) string {
	if m := safetybot.ErrorMessage(err); m != "" {
		return m
	}
	return "内容不正确"
}
