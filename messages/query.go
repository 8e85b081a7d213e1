package messages

import (
	"fmt"
	"strings"
	"time"
)

// MaxText is WeCom's limit for one text message, in bytes.
const MaxText = 2048

// Words of the compliance queries.
const (
	WordMore = "更多"
)

// Texts of the compliance queries.
const (
	NoMore            = "没有更多了。"
	OutOfScopeText    = "无权查看。"
	OnlyOfficials     = "这项查询只对镇街、部门干部和市安委办开放。"
	OnlyOffice        = "无权查看全市进度。发送“进度”查看您负责范围的进度。"
	NoEnterprisesYet  = "您名下还没有登记企业，请联系所在镇街安监办。"
	AskEnterprisePart = "请在“企业”后面写上企业名称，如：企业 青石小吃店"
)

// Figures are the campaign's numbers for one scope or township.
type Figures struct {
	Enterprises, Signed, SelfInspected int
	NotInspected                       int
	Hazards, Rectified, Open, Overdue  int
	Major, MajorOpen                   int
}

// Rate renders n/d as a percentage with one decimal, "—" when d is 0.
func Rate(n, d int) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", float64(n)*100/float64(d))
}

// ShortDate renders YYYY-MM-DD as "7月15日" ("" stays "").
func ShortDate(day string) string {
	t, err := time.Parse("2006-01-02", day)
	if err != nil {
		return day
	}
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}

// DaysBetween returns to − from in days for two YYYY-MM-DD dates.
func DaysBetween(from, to string) int {
	a, err1 := time.Parse("2006-01-02", from)
	b, err2 := time.Parse("2006-01-02", to)
	if err1 != nil || err2 != nil {
		return 0
	}
	return int(b.Sub(a).Hours() / 24)
}

// ProgressText answers 本镇进度 / 进度 for one scope on day; at is when the
// figures were counted (HH:MM).
func ProgressText(title, day, at string, f Figures) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s进度（%s %s统计）\n", title, ShortDate(day), at)
	fmt.Fprintf(&b, "企业：%d 家\n", f.Enterprises)
	fmt.Fprintf(&b, "公开信签收率：%s（%d/%d）\n", Rate(f.Signed, f.Enterprises), f.Signed, f.Enterprises)
	fmt.Fprintf(&b, "本月自查率：%s（%d/%d）\n", Rate(f.SelfInspected, f.Enterprises), f.SelfInspected, f.Enterprises)
	fmt.Fprintf(&b, "隐患整改率：%s（%d/%d）\n", Rate(f.Rectified, f.Hazards), f.Rectified, f.Hazards)
	fmt.Fprintf(&b, "未整改隐患 %d 条，其中逾期 %d 条\n", f.Open, f.Overdue)
	fmt.Fprintf(&b, "重大隐患 %d 条，未整改 %d 条\n", f.Major, f.MajorOpen)
	fmt.Fprintf(&b, "两年未检查 %d 家\n", f.NotInspected)
	b.WriteString("看名单请发：未签收、未自查、逾期隐患、两年未检查")
	return b.String()
}

// CityHeader heads the 全市进度 list; at is when the figures were counted (HH:MM).
func CityHeader(day, at string, f Figures) string {
	return fmt.Sprintf("全市进度（%s %s统计）\n企业 %d 家｜签收 %s｜自查 %s｜整改 %s｜逾期隐患 %d 条\n各镇街（签收/自查/整改/逾期）：",
		ShortDate(day), at, f.Enterprises, Rate(f.Signed, f.Enterprises), Rate(f.SelfInspected, f.Enterprises),
		Rate(f.Rectified, f.Hazards), f.Overdue)
}

// CityLine is one township of 全市进度.
func CityLine(township string, f Figures) string {
	return fmt.Sprintf("%s：%s / %s / %s / %d（%d家）", township, Rate(f.Signed, f.Enterprises),
		Rate(f.SelfInspected, f.Enterprises), Rate(f.Rectified, f.Hazards), f.Overdue, f.Enterprises)
}

// EnterpriseLineText is one enterprise of a list. withTownship adds the
// township (lists that span townships).
func EnterpriseLineText(n int, name, township, principal, phone, detail string, withTownship bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d. %s", n, name)
	if withTownship {
		b.WriteString("［" + township + "］")
	}
	var extra []string
	if principal != "" {
		extra = append(extra, principal)
	}
	if phone != "" {
		extra = append(extra, phone)
	}
	if detail != "" {
		extra = append(extra, detail)
	}
	if len(extra) > 0 {
		b.WriteString("（" + strings.Join(extra, " ") + "）")
	}
	return b.String()
}

// HazardLineText is one hazard of a list, seen on day. withEnterprise names
// the enterprise (officials' lists).
func HazardLineText(n int, enterprise, township, description, grade, status, deadline, day string, withEnterprise, withTownship bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d. ", n)
	if withEnterprise {
		b.WriteString(enterprise)
		if withTownship {
			b.WriteString("［" + township + "］")
		}
		b.WriteString("：")
	}
	b.WriteString(Truncate(description, 150))
	b.WriteString("（" + grade)
	if status != "" {
		b.WriteString("，" + status)
	}
	b.WriteString(DeadlineNote(deadline, day, status))
	b.WriteString("）")
	return b.String()
}

// DeadlineNote says when something is due relative to day: "，期限7月20日" or
// "，期限7月10日，逾期5天"; "" when there is no deadline.
func DeadlineNote(deadline, day, status string) string {
	if deadline == "" {
		return ""
	}
	s := "，期限" + ShortDate(deadline)
	if open := status == "" || isOpenStatus(status); open {
		if d := DaysBetween(deadline, day); d > 0 {
			s += fmt.Sprintf("，逾期%d天", d)
		}
	}
	return s
}

func isOpenStatus(s string) bool {
	switch s {
	case "待整改", "整改中", "待复查", "停产整改":
		return true
	}
	return false
}

// PageText renders one page of a list: header, as many lines as fit one WeCom
// text message (from the first), and a footer saying which part this is and
// how to get the next. offset is how many lines earlier pages showed; total
// is the length of the whole list (-1 when unknown); more says whether lines
// follow the ones that fit. It returns the text and how many lines it used
// (at least one when there are lines; an over-long line is cut).
func PageText(header string, lines []string, offset, total int, more bool) (string, int) {
	const footerRoom = 120
	budget := MaxText - len(header) - 1 - footerRoom
	var b strings.Builder
	b.WriteString(header)
	n := 0
	for _, l := range lines {
		if n > 0 && b.Len()+1+len(l) > len(header)+budget {
			break
		}
		if n == 0 && len(l) > budget {
			l = Truncate(l, budget)
		}
		b.WriteString("\n")
		b.WriteString(l)
		n++
	}
	end := offset + n
	switch {
	case (n < len(lines) || more) && total >= 0:
		fmt.Fprintf(&b, "\n（第%d–%d条，共%d条。回复“更多”看下一页）", offset+1, end, total)
	case n < len(lines) || more:
		fmt.Fprintf(&b, "\n（第%d–%d条。回复“更多”看下一页）", offset+1, end)
	case offset > 0:
		fmt.Fprintf(&b, "\n（第%d–%d条，共%d条，已全部列出）", offset+1, end, end)
	}
	return b.String(), n
}

// ListHeader heads a list: "青石镇 未签收公开信的企业 12 家："; without the
// count when total is -1 (unknown).
func ListHeader(scope, what string, total int, unit string) string {
	if total < 0 {
		return fmt.Sprintf("%s%s：", scope, what)
	}
	return fmt.Sprintf("%s%s %d %s：", scope, what, total, unit)
}

// EnterpriseStatusView is one enterprise's status as the texts show it.
type EnterpriseStatusView struct {
	Name, Township, Category, SmallType string
	KeyUnit                             bool
	Principals                          []string
	Phone                               string
	Letters                             int
	Unsigned                            []string
	Submission                          string
	OpenHazards                         []HazardView
	Overdue, Rectified                  int
	LastInspected                       string
	Inspections                         int
}

// HazardView is a hazard as texts show it.
type HazardView struct {
	Description, Grade, Status, Deadline string
}

// EnterpriseStatusText answers 企业 名称: an official's view of one enterprise on day.
func EnterpriseStatusText(v EnterpriseStatusView, day string) string {
	var b strings.Builder
	kind := v.Category
	if v.SmallType != "" {
		kind = v.SmallType
	}
	fmt.Fprintf(&b, "%s（%s·%s", v.Name, v.Township, kind)
	if v.KeyUnit {
		b.WriteString("·重点单位")
	}
	b.WriteString("）\n")
	if len(v.Principals) > 0 {
		fmt.Fprintf(&b, "负责人：%s", strings.Join(v.Principals, "、"))
	} else {
		b.WriteString("负责人：未登记")
	}
	if v.Phone != "" {
		b.WriteString("　电话：" + v.Phone)
	}
	b.WriteString("\n")
	b.WriteString("公开信：" + letterState(v.Letters, v.Unsigned) + "\n")
	b.WriteString("本月自查：" + submissionState(v.Submission) + "\n")
	fmt.Fprintf(&b, "隐患：未整改 %d 条（逾期 %d 条），已整改 %d 条\n", len(v.OpenHazards), v.Overdue, v.Rectified)
	for i, h := range v.OpenHazards {
		if i == 5 {
			fmt.Fprintf(&b, "……另有 %d 条\n", len(v.OpenHazards)-5)
			break
		}
		fmt.Fprintf(&b, "· %s（%s%s）\n", Truncate(h.Description, 90), h.Grade, DeadlineNote(h.Deadline, day, h.Status))
	}
	switch {
	case v.LastInspected == "":
		b.WriteString("上次检查：从未检查")
	case DaysBetween(v.LastInspected, day) > 730:
		fmt.Fprintf(&b, "上次检查：%s（已超过两年）", v.LastInspected)
	default:
		b.WriteString("上次检查：" + v.LastInspected)
	}
	return b.String()
}

func letterState(letters int, unsigned []string) string {
	switch {
	case letters == 0:
		return "未收到"
	case len(unsigned) == 0:
		return "已签收"
	default:
		return fmt.Sprintf("未签收《%s》", Truncate(strings.Join(unsigned, "》《"), 120))
	}
}

func submissionState(state string) string {
	switch state {
	case "":
		return "未填报"
	case "已签字":
		return "已完成（负责人已签字）"
	case "待签字":
		return "已填报，待负责人签字"
	case "已退回":
		return "被退回，待补正"
	}
	return state
}

// MyEnterpriseText is one enterprise block of a principal's 我的情况 on day.
func MyEnterpriseText(v EnterpriseStatusView, day, selfDue string) string {
	var b strings.Builder
	b.WriteString("【" + v.Name + "】\n")
	switch {
	case v.Letters == 0:
		b.WriteString("· 公开信：暂未收到\n")
	case len(v.Unsigned) == 0:
		b.WriteString("· 公开信：已签收\n")
	default:
		fmt.Fprintf(&b, "· 公开信：%d 封未签收，回复“签收”\n", len(v.Unsigned))
	}
	switch v.Submission {
	case "已签字":
		b.WriteString("· 本月自查：已完成\n")
	case "":
		fmt.Fprintf(&b, "· 本月自查：未填报，%s前回复“自查”\n", ShortDate(selfDue))
	default:
		b.WriteString("· 本月自查：" + submissionState(v.Submission) + "\n")
	}
	if len(v.OpenHazards) == 0 {
		b.WriteString("· 隐患：没有未整改的隐患")
		return b.String()
	}
	fmt.Fprintf(&b, "· 隐患：%d 条未整改", len(v.OpenHazards))
	if v.Overdue > 0 {
		fmt.Fprintf(&b, "，%d 条已逾期", v.Overdue)
	}
	for i, h := range v.OpenHazards {
		if i == 3 {
			b.WriteString("\n  ……发送“隐患”看全部")
			break
		}
		fmt.Fprintf(&b, "\n  - %s%s", Truncate(h.Description, 90), DeadlineNote(h.Deadline, day, h.Status))
	}
	return b.String()
}

// DeadlineItem is one due date for 期限.
type DeadlineItem struct {
	Date, What, Enterprise string
}

// DeadlinesText answers 期限: overdue items first, then the next date and
// what falls due on it. withEnterprise names the enterprise (several of them).
func DeadlinesText(items []DeadlineItem, day string, withEnterprise bool) string {
	if len(items) == 0 {
		return "目前没有待办的期限。"
	}
	var b strings.Builder
	var overdue, next []DeadlineItem
	for _, it := range items {
		switch {
		case it.Date < day:
			overdue = append(overdue, it)
		case len(next) == 0 || it.Date == next[0].Date:
			next = append(next, it)
		}
	}
	name := func(it DeadlineItem) string {
		if withEnterprise && it.Enterprise != "" {
			return it.What + "（" + it.Enterprise + "）"
		}
		return it.What
	}
	if len(overdue) > 0 {
		fmt.Fprintf(&b, "已逾期 %d 项：\n", len(overdue))
		for _, it := range overdue {
			fmt.Fprintf(&b, "· %s，%s到期，逾期%d天\n", name(it), ShortDate(it.Date), DaysBetween(it.Date, day))
		}
	}
	if len(next) > 0 {
		left := DaysBetween(day, next[0].Date)
		when := fmt.Sprintf("还有%d天", left)
		if left == 0 {
			when = "就是今天"
		}
		fmt.Fprintf(&b, "最近的期限：%s（%s）\n", ShortDate(next[0].Date), when)
		for _, it := range next {
			fmt.Fprintf(&b, "· %s\n", name(it))
		}
	}
	return Truncate(strings.TrimRight(b.String(), "\n"), MaxText)
}

// LedHeader heads 我的带队检查: the month's count against the target.
func LedHeader(day string, count, target int) string {
	t, _ := time.Parse("2006-01-02", day)
	s := fmt.Sprintf("%d月带队检查 %d 次，目标 %d 次", t.Month(), count, target)
	if count >= target {
		return s + "，已完成。"
	}
	return s + fmt.Sprintf("，还差 %d 次。", target-count)
}

// LedLine is one led inspection of 我的带队检查.
func LedLine(n int, day, enterprise, township string, hazards int) string {
	return fmt.Sprintf("%d. %s %s［%s］，隐患 %d 条", n, ShortDate(day), enterprise, township, hazards)
}

// NotInspectedDetail describes an enterprise's last inspection for 两年未检查.
func NotInspectedDetail(last string) string {
	if last == "" {
		return "从未检查"
	}
	return "上次 " + last
}

// PickEnterpriseText lists enterprises to choose from by number.
func PickEnterpriseText(names []string, total int) string {
	var b strings.Builder
	if total < 0 {
		fmt.Fprintf(&b, "找到很多家，先列出 %d 家，请回复序号：\n", len(names))
	} else {
		fmt.Fprintf(&b, "找到 %d 家，请回复序号：\n", total)
	}
	for i, n := range names {
		fmt.Fprintf(&b, "%d. %s\n", i+1, n)
	}
	if total < 0 || total > len(names) {
		b.WriteString("（只列出前几家，可发送更完整的名称）\n")
	}
	b.WriteString("回复“取消”放弃。")
	return b.String()
}

// NoEnterpriseFound answers a search without match.
func NoEnterpriseFound(part string) string {
	return fmt.Sprintf("没有找到名称含“%s”的企业，请换个说法。", Truncate(part, 60))
}

// PickRange asks for a number in range.
func PickRange(n int) string {
	return fmt.Sprintf("请回复 1 到 %d 之间的序号，或回复“取消”。", n)
}

// SpotCheckLine is one spot-check assignment. withOfficial names who checks it
// (the office's view).
func SpotCheckLine(n int, enterprise, township string, batch int64, official string, withOfficial bool) string {
	s := fmt.Sprintf("%d. %s［%s］批次%d", n, enterprise, township, batch)
	if withOfficial {
		s += "，由 " + official + " 抽查"
	}
	return s
}
