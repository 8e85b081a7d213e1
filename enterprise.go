package safetybot

import (
	"strings"
	"time"
)

// Categories of enterprises in the campaign.
const (
	CategoryNineSmall = "九小场所"
	CategoryFiveSmall = "五小企业"
	CategoryGeneral   = "一般企业"
)

// Categories lists every category the roster may name.
var Categories = []string{CategoryNineSmall, CategoryFiveSmall, CategoryGeneral}

// NineSmallTypes are the 九小场所 types (DOMAIN.md §7).
var NineSmallTypes = []string{"小学校", "小幼儿园", "小医院", "小商店", "小餐饮", "小旅馆", "小歌舞娱乐", "小网吧", "小美容洗浴", "小生产加工",
	// Names rosters use for the same places (and 小棋牌室, which some lists count).
	"小餐馆", "小美容", "小歌舞厅", "小棋牌室"}

// FiveSmallTypes are the 五小企业 types (DOMAIN.md §8).
var FiveSmallTypes = []string{"小化工", "小电镀", "小制革", "小家具", "小印染", "小皮革"}

// Enterprise is one unit in the campaign's scope.
type Enterprise struct {
	ID            int64      `db:"id"`
	CreditCode    string     `db:"credit_code"`
	Name          string     `db:"name"`
	Township      string     `db:"township"`
	Sector        string     `db:"sector"`
	Category      string     `db:"category"`
	SmallType     string     `db:"small_type"` // 九小场所 or 五小企业 type, "" otherwise
	KeyUnit       bool       `db:"key_unit"`
	Department    string     `db:"department"` // supervising department, "" when unknown
	Phone         string     `db:"phone"`
	Address       string     `db:"address"`
	LastInspected *time.Time `db:"last_inspected"`
	Active        bool       `db:"active"`
}

// Validate checks an enterprise before it is stored.
func (e *Enterprise) Validate() error {
	if err := CheckCreditCode(e.CreditCode); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(e.Name) == "":
		return Errorf(EINVALID, "企业名称不能为空")
	case strings.TrimSpace(e.Township) == "":
		return Errorf(EINVALID, "所属镇街不能为空")
	}
	if !contains(Categories, e.Category) {
		return Errorf(EINVALID, "类别不正确：%q（应为 %s）", e.Category, strings.Join(Categories, "、"))
	}
	return nil
}

// ContactRole is how a person relates to an enterprise.
type ContactRole string

// Contact roles.
const (
	ContactPrincipal     ContactRole = "principal"
	ContactSafetyOfficer ContactRole = "safety_officer"
)

// Contact links a person to an enterprise. A person may be principal of several
// enterprises and safety officer of several.
type Contact struct {
	EnterpriseID int64       `db:"enterprise_id"`
	PersonID     int64       `db:"person_id"`
	Role         ContactRole `db:"role"`
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
