package roster

import (
	"errors"
	"io"
	"strings"

	"safetybot"
)

// OfficialRow is one valid row of an officials roster: a township, department
// or office official (Active set, ID zero).
type OfficialRow struct {
	Line   int
	Person safetybot.Person
}

// ReadOfficials reads an officials roster (CSV or XLSX) and validates every
// row; errors and results work as in ReadEnterprises. Only official roles
// (镇街、部门、市安委办) are accepted: principals and safety officers come in
// through the enterprise roster.
func (rd *Reader) ReadOfficials(r io.Reader, filename string) (*Result[OfficialRow], error) {
	t, err := open(r, filename, officialSchema)
	if err != nil {
		return nil, err
	}
	defer t.src.close()

	c := newCollector[OfficialRow]()
	c.res.Warnings = t.warnings
	userids := make(map[string][]int) // folded userid → lines
	for {
		line, cells, err := t.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c.res.Total++
		p := officialRow(c, &t.layout, line, cells)
		if p.UserID != "" {
			key := strings.ToLower(p.UserID)
			userids[key] = append(userids[key], line)
		}
	}
	if c.res.Total == 0 {
		return nil, invalid("文件只有表头，没有数据行")
	}
	for _, lines := range userids {
		if len(lines) < 2 {
			continue
		}
		for _, line := range lines {
			c.fail(line, "userid", "账号与第 %s 行重复", otherLines(lines, line))
		}
	}
	return c.finish(), nil
}

func officialRow(c *collector[OfficialRow], l *layout, line int, cells []string) safetybot.Person {
	get := func(col int) string { return l.get(cells, col) }
	fail := func(field, format string, args ...any) { c.fail(line, field, format, args...) }

	p := safetybot.Person{Active: true}
	p.UserID = userID(get(oUserID))
	switch {
	case p.UserID == "":
		fail("userid", "账号不能为空")
	case !safetybot.ValidUserID(p.UserID):
		fail("userid", "账号“%s”格式不正确（只能用字母、数字和 _ . @ -）", p.UserID)
	}
	p.Name = get(oName)
	if p.Name == "" {
		fail("name", "姓名不能为空")
	}
	rawRole := get(oRole)
	role, ok := safetybot.ParseRole(rawRole)
	switch {
	case rawRole == "":
		fail("role", "角色不能为空（应为 镇街、部门 或 市安委办）")
	case !ok:
		fail("role", "角色“%s”不正确，应为 镇街、部门 或 市安委办", rawRole)
	case !role.IsOfficial():
		fail("role", "角色“%s”不是干部角色；企业负责人和安全管理员请在企业名单中导入", rawRole)
	}
	p.Role = role
	p.Township = get(oTownship)
	if role == safetybot.RoleTownship && p.Township == "" {
		fail("township", "镇街干部须填写所属镇街")
	}
	p.Department = get(oDepartment)
	if role == safetybot.RoleDepartment && p.Department == "" {
		fail("department", "部门干部须填写所属部门")
	}
	if raw := get(oLeader); raw != "" {
		if p.Leader, ok = parseBool(raw); !ok {
			fail("leader", "是否领导应填“是”或“否”，现为“%s”", raw)
		}
	}
	if raw := get(oPhone); raw != "" {
		if p.Phone, ok = phone(raw); !ok {
			fail("phone", "联系电话“%s”格式不正确，应为11位手机号或带区号的固定电话", raw)
		}
	}
	c.add(line, OfficialRow{Line: line, Person: p})
	return p
}
