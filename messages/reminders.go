package messages

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// ReminderTaskID is the card task_id of one reminder: unique per app because
// the reminder ledger sends at most one of a kind per target per day.
// WeCom allows letters, digits and _-@ in a task_id.
func ReminderTaskID(kind, day, target string) string {
	sum := sha1.Sum([]byte(target))
	return "rem-" + kind + "-" + strings.ReplaceAll(day, "-", "") + "-" + hex.EncodeToString(sum[:6])
}

// LetterDue is one open letter a principal has not signed.
type LetterDue struct {
	LetterID    int64
	Title       string
	Deadline    string // YYYY-MM-DD, "" when none
	Enterprises []string
}

// LetterReminderCard reminds a principal of unsigned open letters. Its 签收
// button signs the first letter (the letters feature handles the key); the
// others are named and signed with “签收”.
func LetterReminderCard(letters []LetterDue, publicURL, taskID string) TemplateCard {
	l := letters[0]
	link := strings.TrimRight(publicURL, "/") + fmt.Sprintf("/letters/%d", l.LetterID)
	deadline := "无"
	if l.Deadline != "" {
		deadline = ShortDate(l.Deadline)
	}
	sub := fmt.Sprintf("《%s》还没签收，请阅读后点“签收”。\n涉及企业：%s", l.Title, strings.Join(l.Enterprises, "、"))
	if len(letters) > 1 {
		sub += fmt.Sprintf("\n另有 %d 封公开信待签收，签完这封后发送“签收”继续。", len(letters)-1)
	}
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "签收提醒", DescColor: 1},
		MainTitle:    &CardTitle{Title: "公开信还没签收", Desc: Truncate(l.Title, 108)},
		SubTitleText: Truncate(sub, 480),
		HorizontalContentList: []HorizontalItem{
			{KeyName: "签收截止", Value: deadline},
			{KeyName: "全文", Value: "点击查看", Type: 1, URL: link},
		},
		CardAction: &CardAction{Type: 1, URL: link},
		TaskID:     taskID,
		ButtonList: []CardButton{{Text: "签收", Style: 1, Key: fmt.Sprintf("%s%d", SignKeyPrefix, l.LetterID)}},
	}
}

// EnterpriseRef names one enterprise.
type EnterpriseRef struct {
	ID   int64
	Name string
}

// SelfCheckDueCard reminds a principal that the month's self-inspection is
// not done (S7). due is the day it is due (YYYY-MM-DD); atDeadline says the
// campaign's 100% deadline is today. One enterprise gets a 开始自查 button for
// it; several get one that asks which.
func SelfCheckDueCard(ents []EnterpriseRef, period, due string, atDeadline bool, publicURL, taskID string) TemplateCard {
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name
	}
	var title, sub string
	switch {
	case atDeadline:
		title = "自查自纠今天截止"
		sub = fmt.Sprintf("全市要求%s前全部完成自查，您的企业还没完成。请现在填报，由主要负责人签字。", ShortDate(due))
	case due == "":
		title = PeriodLabel(period) + "自查还没完成"
		sub = "请尽快完成本月自查，由主要负责人签字，并在单位内部公示。"
	default:
		title = PeriodLabel(period) + "自查还没完成"
		sub = fmt.Sprintf("请在%s前完成本月自查，由主要负责人签字，并在单位内部公示。", ShortDate(due))
	}
	key := SelfCheckStartKey
	if len(ents) == 1 {
		key = fmt.Sprintf("%s:%d", SelfCheckStartKey, ents[0].ID)
	}
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "自查自纠提醒", DescColor: 0},
		MainTitle:    &CardTitle{Title: title, Desc: Truncate(strings.Join(names, "、"), 120)},
		SubTitleText: sub,
		TaskID:       taskID,
		ButtonList:   []CardButton{{Text: "开始自查", Style: 1, Key: key}},
	}
}

// HazardRef is one hazard as reminders show it.
type HazardRef struct {
	ID          int64
	Enterprise  string
	Township    string
	Description string
	Grade       string
	Status      string
	Deadline    string // YYYY-MM-DD
}

// HazardRefText is one hazard on one line: "编号12 青石小吃店：后门上锁（重大，期限7月20日）".
func HazardRefText(h HazardRef, day string, withEnterprise bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "编号%d ", h.ID)
	if withEnterprise && h.Enterprise != "" {
		b.WriteString(h.Enterprise + "：")
	}
	b.WriteString(Truncate(h.Description, 90))
	b.WriteString("（" + h.Grade)
	if h.Status != "" && withEnterprise {
		b.WriteString("，" + h.Status)
	}
	b.WriteString(DeadlineNote(h.Deadline, day, h.Status))
	b.WriteString("）")
	return b.String()
}

// HazardReminderCard reminds a principal of hazards due soon (overdue false)
// or past their deadline (overdue true), with a 提交整改 button: for the
// hazard when there is one, else one that asks which.
func HazardReminderCard(hs []HazardRef, day string, overdue bool, taskID string) TemplateCard {
	title, src, color := "隐患整改快到期了", "整改提醒", 0
	if overdue {
		title, src, color = "隐患整改已逾期", "整改督促", 2
	}
	var lines []string
	for i, h := range hs {
		if i == 3 {
			lines = append(lines, fmt.Sprintf("……共 %d 条，发送“隐患”查看全部", len(hs)))
			break
		}
		lines = append(lines, HazardRefText(h, day, false))
	}
	sub := strings.Join(lines, "\n")
	if overdue {
		sub += "\n请尽快整改，拍照提交复查；确有困难可发送“申请延期”。"
	} else {
		sub += "\n整改完成后点“提交整改”，拍照上传。"
	}
	key := RectifyKeyPrefix
	if len(hs) == 1 {
		key = fmt.Sprintf("%s%d", RectifyKeyPrefix, hs[0].ID)
	}
	ent := hs[0].Enterprise
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: src, DescColor: color},
		MainTitle:    &CardTitle{Title: title, Desc: Truncate(ent, 120)},
		SubTitleText: Truncate(sub, 480),
		TaskID:       taskID,
		ButtonList:   []CardButton{{Text: "提交整改", Style: 1, Key: key}},
	}
}

// ListText fits a header, lines and a footer into one text message: lines
// that do not fit are counted in "……另有 N 条". total is the whole list's
// length when lines is only its start.
func ListText(header string, lines []string, total int, footer string) string {
	budget := MaxText - len(header) - len(footer) - 80
	var b strings.Builder
	b.WriteString(header)
	n := 0
	for _, l := range lines {
		if b.Len()+1+len(l) > len(header)+budget {
			break
		}
		b.WriteString("\n" + l)
		n++
	}
	if rest := max(total, len(lines)) - n; rest > 0 {
		fmt.Fprintf(&b, "\n……另有 %d 条", rest)
	}
	if footer != "" {
		b.WriteString("\n" + footer)
	}
	return b.String()
}

// UnsignedLine is one unsigned enterprise in a township's list.
type UnsignedLine struct {
	Enterprise, Principal, Phone string
	Days                         int // days since the letter was sent
}

// TownshipUnsignedText is a township official's morning list of enterprises
// that have not signed the open letter (from the third day after sending).
func TownshipUnsignedText(township string, lines []UnsignedLine) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		who := strings.TrimSpace(l.Principal + " " + l.Phone)
		if who != "" {
			who = "（" + who + "）"
		}
		out[i] = fmt.Sprintf("%d. %s%s，已发出%d天", i+1, l.Enterprise, who, l.Days)
	}
	return ListText(fmt.Sprintf("【签收督促】%s还有 %d 家企业没签收公开信：", township, len(lines)), out, len(lines),
		"请督促主要负责人在企业微信点“签收”。发送“未签收”可查看全部名单。")
}

// TownshipCountLine is one township in the office's digest.
type TownshipCountLine struct {
	Township      string
	Behind, Total int
}

// OfficeUnsignedText is the city office's digest of unsigned enterprises per
// township once a letter's deadline has passed.
func OfficeUnsignedText(day string, lines []TownshipCountLine) string {
	out := make([]string, len(lines))
	sum := 0
	for i, l := range lines {
		out[i] = fmt.Sprintf("%s：未签收 %d 家（共 %d 家，签收率 %s）", l.Township, l.Behind, l.Total, Rate(l.Total-l.Behind, l.Total))
		sum += l.Behind
	}
	return ListText(fmt.Sprintf("【签收逾期】截至%s，公开信签收已过期限，仍有 %d 家企业未签收：", ShortDate(day), sum), out, len(lines),
		"发送“全市进度”查看各镇街进度。")
}

// SelfCheckMissingLine is one enterprise without a self-inspection.
type SelfCheckMissingLine struct {
	Enterprise, Principal, Phone string
}

// TownshipSelfCheckDeadlineText tells a township official, on the campaign's
// self-inspection deadline, which enterprises have still not reported.
func TownshipSelfCheckDeadlineText(township, deadline string, lines []SelfCheckMissingLine) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		who := strings.TrimSpace(l.Principal + " " + l.Phone)
		if who != "" {
			who = "（" + who + "）"
		}
		out[i] = fmt.Sprintf("%d. %s%s", i+1, l.Enterprise, who)
	}
	return ListText(fmt.Sprintf("【自查截止】今天（%s）是自查自纠全覆盖的截止日，%s还有 %d 家企业没完成：", ShortDate(deadline), township, len(lines)),
		out, len(lines), "请今天内督促完成。发送“未自查”可查看全部名单。")
}

// TownshipOverdueText is a township official's daily list of overdue hazards.
func TownshipOverdueText(township, day string, hs []HazardRef, total int) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = fmt.Sprintf("%d. %s", i+1, HazardRefText(h, day, true))
	}
	return ListText(fmt.Sprintf("【逾期隐患】%s有 %d 条隐患超过整改期限：", township, total), out, total,
		"请督促整改。官员可发送“延期 编号 日期”批准延期，“停产整改 编号”或“关闭取缔 编号”依法处理。")
}

// MajorOverdueText escalates overdue 重大 hazards to their tracker and the
// supervising department's officials.
func MajorOverdueText(day string, hs []HazardRef, tracking bool) string {
	out := make([]string, len(hs))
	for i, h := range hs {
		t := h.Enterprise
		if h.Township != "" {
			t += "［" + h.Township + "］"
		}
		out[i] = fmt.Sprintf("%d. %s", i+1, HazardRefText(HazardRef{ID: h.ID, Enterprise: t, Description: h.Description,
			Grade: h.Grade, Status: h.Status, Deadline: h.Deadline}, day, true))
	}
	head := "【重大隐患逾期】您监管的企业有 %d 条重大隐患超过整改期限："
	if tracking {
		head = "【重大隐患逾期】您跟踪（或监管）的 %d 条重大隐患超过整改期限："
	}
	return ListText(fmt.Sprintf(head, len(hs)), out, len(hs), "请跟进督办。发送“五定 编号”补充或修改整改方案。")
}

// ReviewLine is one rectification waiting for review.
type ReviewLine struct {
	Hazard HazardRef
	Since  string // YYYY-MM-DD submitted
	Days   int    // working days waited
}

// ReviewPendingText reminds a township official of rectifications waiting
// for their review for more than the allowed working days.
func ReviewPendingText(lines []ReviewLine, afterDays int) string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("%d. %s，%s提交，已等%d个工作日", i+1, HazardRefText(l.Hazard, "", true), ShortDate(l.Since), l.Days)
	}
	return ListText(fmt.Sprintf("【待复查】有 %d 条整改提交超过 %d 个工作日还没复查：", len(lines), afterDays), out, len(lines),
		"发送“待复查”逐条处理，或“通过 编号”、“退回 编号 原因”。")
}

// LedInspectionText reminds a leader of the monthly target of led
// inspections (S5).
func LedInspectionText(month string, done, target int) string {
	return fmt.Sprintf("【带队检查】%s您已带队检查 %d 次，每月目标 %d 次，还差 %d 次。\n请安排带队检查，检查后发送“带队检查”登记。",
		PeriodLabel(month), done, target, target-done)
}

// Digest is one township's figures in an official's daily digest.
type Digest struct {
	Township                       string
	Enterprises, Signed, Submitted int
	OpenGeneral, OpenMajor         int
	Overdue                        int
	TopOverdue                     []HazardRef // oldest overdue first
}

// DigestText is a township official's 09:00 digest.
func DigestText(day string, d Digest) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【每日简报】%s %s\n", d.Township, ShortDate(day))
	fmt.Fprintf(&b, "公开信签收：%d/%d（%s）\n", d.Signed, d.Enterprises, Rate(d.Signed, d.Enterprises))
	fmt.Fprintf(&b, "本月自查：%d/%d（%s）\n", d.Submitted, d.Enterprises, Rate(d.Submitted, d.Enterprises))
	fmt.Fprintf(&b, "未整改隐患：一般 %d 条，重大 %d 条\n", d.OpenGeneral, d.OpenMajor)
	fmt.Fprintf(&b, "逾期隐患：%d 条", d.Overdue)
	if len(d.TopOverdue) > 0 {
		b.WriteString("，逾期最久的：")
		for i, h := range d.TopOverdue {
			fmt.Fprintf(&b, "\n%d. %s", i+1, HazardRefText(h, day, true))
		}
	}
	b.WriteString("\n发送“本镇进度”“未签收”“逾期隐患”看详情。")
	return Truncate(b.String(), MaxText)
}

// DayLabel renders a time's date in loc as "7月15日".
func DayLabel(t time.Time, loc *time.Location) string {
	return ShortDate(t.In(loc).Format("2006-01-02"))
}
