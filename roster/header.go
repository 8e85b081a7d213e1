package roster

import (
	"strings"
	"unicode"
)

// column describes one roster column: its English key (the fixtures' header),
// its Chinese header, other names offices use for it, and a hint for the
// template's instructions sheet.
type column struct {
	key      string
	label    string
	aliases  []string
	required bool
	// multi lets several file columns feed this one (the first non-empty cell
	// wins), e.g. a sheet with both 九小场所类型 and 五小企业类型.
	multi bool
	// extra marks a column beyond the agreed roster contract: read when
	// present, left out of the template.
	extra bool
	hint  string
}

// schema is the set of columns of one roster kind.
type schema struct {
	kind    string // "enterprises" or "officials"
	title   string // sheet name in the template
	columns []column
	index   map[string]int // normalised header → column
}

// Column positions in enterpriseSchema.columns.
const (
	eCode = iota
	eName
	eTownship
	eSector
	eCategory
	eSmallType
	eKeyUnit
	ePrincipalName
	ePrincipalUserID
	eSafetyOfficerUserID
	ePhone
	eAddress
	eLastInspected
	eDepartment
)

var enterpriseSchema = newSchema("enterprises", "企业名单", []column{
	eCode:                {key: "credit_code", label: "统一社会信用代码", aliases: []string{"社会信用代码", "信用代码"}, required: true, hint: "18位，含校验位"},
	eName:                {key: "name", label: "企业名称", aliases: []string{"单位名称", "名称", "场所名称"}, required: true},
	eTownship:            {key: "township", label: "所属镇街", aliases: []string{"镇街", "所属镇（街道）", "镇（街道）", "所属板块"}, required: true},
	eSector:              {key: "sector", label: "行业", aliases: []string{"所属行业"}},
	eCategory:            {key: "category", label: "类别", aliases: []string{"企业类别", "场所类别"}, required: true, hint: "九小场所、五小企业 或 一般企业"},
	eSmallType:           {key: "small_place_type", label: "九小场所类型", aliases: []string{"五小企业类型", "小场所类型", "场所类型"}, multi: true, hint: "九小场所、五小企业必填，一般企业不填"},
	eKeyUnit:             {key: "key_unit", label: "重点监管单位", aliases: []string{"是否重点监管单位", "重点单位"}, hint: "是 或 否，不填为否"},
	ePrincipalName:       {key: "principal_name", label: "主要负责人", aliases: []string{"负责人", "负责人姓名", "主要负责人姓名"}, required: true},
	ePrincipalUserID:     {key: "principal_userid", label: "负责人企业微信账号", aliases: []string{"负责人账号", "主要负责人企业微信账号", "主要负责人账号"}, required: true, hint: "企业微信通讯录中的账号"},
	eSafetyOfficerUserID: {key: "safety_officer_userid", label: "安全管理员账号", aliases: []string{"安全管理员企业微信账号", "安全员账号"}, hint: "没有可不填，不能与负责人相同"},
	ePhone:               {key: "phone", label: "联系电话", aliases: []string{"电话", "手机", "手机号", "联系方式"}, hint: "11位手机号或带区号的固定电话"},
	eAddress:             {key: "address", label: "地址", aliases: []string{"企业地址", "经营地址", "详细地址"}},
	eLastInspected:       {key: "last_inspected", label: "最近检查日期", aliases: []string{"上次检查日期", "最近一次检查日期"}, hint: "如 2025-03-01，不能晚于今天"},
	eDepartment:          {key: "department", label: "监管部门", aliases: []string{"主管部门", "行业主管部门"}, extra: true},
})

// Column positions in officialSchema.columns.
const (
	oUserID = iota
	oName
	oRole
	oTownship
	oDepartment
	oLeader
	oPhone
)

var officialSchema = newSchema("officials", "干部名单", []column{
	oUserID:     {key: "userid", label: "账号", aliases: []string{"企业微信账号", "用户账号", "user_id"}, required: true, hint: "企业微信通讯录中的账号"},
	oName:       {key: "name", label: "姓名", required: true},
	oRole:       {key: "role", label: "角色", required: true, hint: "镇街、部门 或 市安委办"},
	oTownship:   {key: "township", label: "镇街", aliases: []string{"所属镇街"}, hint: "角色为镇街时必填"},
	oDepartment: {key: "department", label: "部门", aliases: []string{"所属部门", "单位"}, hint: "角色为部门时必填"},
	oLeader:     {key: "leader", label: "是否领导", aliases: []string{"领导"}, hint: "是 或 否，不填为否"},
	oPhone:      {key: "phone", label: "联系电话", aliases: []string{"电话", "手机", "手机号"}, extra: true},
})

func newSchema(kind, title string, cols []column) *schema {
	s := &schema{kind: kind, title: title, columns: cols, index: make(map[string]int)}
	for i, c := range cols {
		for _, name := range append([]string{c.key, c.label}, c.aliases...) {
			n := normHeader(name)
			if j, dup := s.index[n]; dup && j != i {
				panic("roster: header " + name + " names two columns")
			}
			s.index[n] = i
		}
	}
	return s
}

// normHeader folds a header cell for matching: half-width, no spaces, lower
// case, without the "*" or "(必填)" marks templates put on required columns.
func normHeader(s string) string {
	s = narrow(clean(s))
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
	for _, mark := range []string{"(必填)", "(选填)", "(可选)"} {
		s = strings.ReplaceAll(s, mark, "")
	}
	return strings.Trim(s, "*")
}

// layout maps the schema's columns to the cells of a file's rows.
type layout struct {
	cells   [][]int  // per schema column, the cell indexes that feed it
	unknown []string // header cells that name no column
	known   int      // number of header cells that name a column
}

// mapHeader matches a header row against the schema.
func (s *schema) mapHeader(header []string) layout {
	l := layout{cells: make([][]int, len(s.columns))}
	for i, h := range header {
		n := normHeader(h)
		if n == "" {
			continue
		}
		c, ok := s.index[n]
		if !ok {
			l.unknown = append(l.unknown, clean(h))
			continue
		}
		l.cells[c] = append(l.cells[c], i)
		l.known++
	}
	return l
}

// missing lists the Chinese names of required columns the header lacks.
func (s *schema) missing(l layout) []string {
	var out []string
	for i, c := range s.columns {
		if c.required && len(l.cells[i]) == 0 {
			out = append(out, c.label)
		}
	}
	return out
}

// repeated lists the Chinese names of columns that appear more than once
// without being allowed to.
func (s *schema) repeated(l layout) []string {
	var out []string
	for i, c := range s.columns {
		if !c.multi && len(l.cells[i]) > 1 {
			out = append(out, c.label)
		}
	}
	return out
}

// get returns the cleaned value of schema column c in a row.
func (l *layout) get(row []string, c int) string {
	for _, i := range l.cells[c] {
		if i < len(row) {
			if v := clean(row[i]); v != "" {
				return v
			}
		}
	}
	return ""
}

// has reports whether the file has schema column c.
func (l *layout) has(c int) bool { return len(l.cells[c]) > 0 }
