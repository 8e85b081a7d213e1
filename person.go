package safetybot

import (
	"regexp"
	"strings"
)

// Role is what a person does in the campaign; it decides what they may see and do.
type Role string

// Roles. A person has exactly one.
const (
	RolePrincipal     Role = "principal"      // 企业主要负责人
	RoleSafetyOfficer Role = "safety_officer" // 安全管理员
	RoleTownship      Role = "township"       // 镇街/板块 official
	RoleDepartment    Role = "department"     // department official
	RoleOffice        Role = "office"         // 市安委办 staff
)

// Label is the Chinese name of the role.
func (r Role) Label() string {
	switch r {
	case RolePrincipal:
		return "企业主要负责人"
	case RoleSafetyOfficer:
		return "安全管理员"
	case RoleTownship:
		return "镇街干部"
	case RoleDepartment:
		return "部门干部"
	case RoleOffice:
		return "市安委办"
	}
	return string(r)
}

// IsOfficial reports whether the role belongs to government staff.
func (r Role) IsOfficial() bool {
	return r == RoleTownship || r == RoleDepartment || r == RoleOffice
}

// ParseRole accepts the English role names and the Chinese labels an office types.
func ParseRole(s string) (Role, bool) {
	switch strings.TrimSpace(strings.ToLower(s)) {
	case "principal", "主要负责人", "企业主要负责人", "负责人":
		return RolePrincipal, true
	case "safety_officer", "安全管理员", "安全员":
		return RoleSafetyOfficer, true
	case "township", "镇街", "镇街干部", "板块":
		return RoleTownship, true
	case "department", "部门", "部门干部":
		return RoleDepartment, true
	case "office", "市安委办", "安委办":
		return RoleOffice, true
	}
	return "", false
}

// Person is anyone the bot knows by WeCom userid.
type Person struct {
	ID         int64  `db:"id"`
	UserID     string `db:"userid"`
	Name       string `db:"name"`
	Role       Role   `db:"role"`
	Township   string `db:"township"`   // for township officials (and informational for others)
	Department string `db:"department"` // for department and office staff
	Leader     bool   `db:"leader"`
	Phone      string `db:"phone"`
	Active     bool   `db:"active"`
}

var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// ValidUserID reports whether s is a syntactically valid WeCom userid
// (1–64 bytes of letters, digits, _ . @ -, starting with a letter or digit).
func ValidUserID(s string) bool { return userIDPattern.MatchString(s) }

// Validate checks a person before it is stored.
func (p *Person) Validate() error {
	switch {
	case !ValidUserID(p.UserID):
		return Errorf(EINVALID, "企业微信账号格式不正确：%q", p.UserID)
	case strings.TrimSpace(p.Name) == "":
		return Errorf(EINVALID, "姓名不能为空")
	}
	if _, ok := ParseRole(string(p.Role)); !ok {
		return Errorf(EINVALID, "角色不正确：%q", p.Role)
	}
	if p.Role == RoleTownship && p.Township == "" {
		return Errorf(EINVALID, "镇街干部必须填写所属镇街")
	}
	if p.Role == RoleDepartment && p.Department == "" {
		return Errorf(EINVALID, "部门干部必须填写所属部门")
	}
	return nil
}
