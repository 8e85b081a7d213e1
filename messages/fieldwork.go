package messages

import (
	"fmt"
	"strings"
)

// Card key prefixes of the on-site inspection opinion form (S9):
// "insp:sign:<id>:<role>" and "insp:refuse:<id>:<role>".
const (
	InspectionKeyPrefix = "insp:"
	InspectionSignKey   = "sign"
	InspectionRefuseKey = "refuse"
)

// InspectionButtonKey is the key of a 签字确认 or 拒签 button.
func InspectionButtonKey(action string, id int64, role string) string {
	return fmt.Sprintf("%s%s:%d:%s", InspectionKeyPrefix, action, id, role)
}

// InspectionTaskID is the task id of the card a signer gets (unique per app).
func InspectionTaskID(id int64, role string) string {
	return fmt.Sprintf("insp%d_%s", id, role)
}

// Prompts and answers of the field-work conversations.
const (
	OnlyLeadersLog     = "只有镇街、部门领导可以登记带队检查。"
	OnlyOfficialsForm  = "只有检查人员（镇街、部门干部和市安委办）可以填写检查意见书。"
	AskFieldEnterprise = "检查的是哪家企业？请发送企业名称（写一部分即可）。回复“取消”放弃。"
	AskFieldDate       = "检查日期？回复“今天”，或发日期，如 7-15。"
	AskFindings        = "检查发现了什么问题？一条消息写完；没有问题回复“无”。"
	AskItems           = "检查了哪些项目？如：消防设施、用电安全、危化品存放。"
	AskProblems        = "发现的问题？一条消息写完；没有问题回复“无”。"
	AskRectification   = "整改要求和期限？如“清理消防通道 7天”或“更换灭火器 7-20”；不需要整改回复“无”。"
	AskPhotos          = "请发送现场照片（可多张），发完回复“好了”；没有照片直接回复“好了”。"
	AskPhotosRequired  = "请发送照片证据（至少一张，可多张），发完回复“好了”。"
	AskHazards         = "登记发现的隐患：每条发一条消息，如“消防通道堵塞 重大 15天”或“灭火器过期 7-20”。" +
		"不写等级算一般隐患，不写期限按默认期限。都发完回复“好了”；没有隐患回复“无”。"
	NeedPhoto             = "还没有收到照片。暗查、交叉检查必须附照片证据，请先发送照片。"
	FieldCancelled        = "好的，已放弃，没有保存。"
	AskConfirm            = "回复“确认”提交，回复“取消”放弃。"
	AskRefuseReason       = "请回复拒签理由（一条消息）。回复“取消”则不拒签。"
	RefuseCancelled       = "好的，没有拒签。需要时可以再点卡片上的按钮。"
	AskDateAgain          = "没看懂这个日期。请回复“今天”“昨天”，或如 7-15、2026-07-15。"
	FutureDate            = "检查日期不能晚于今天，请重新发送。"
	PhotoAtWrongStep      = "已收到照片（共 %d 张）。"
	StaleCard             = "这张卡片已失效。"
	NoEnterprisePrincipal = "该企业还没有登记主要负责人，无法请其签字。请先在名册中登记，或换一家企业。"
	NoEnterpriseOfficer   = "该企业还没有登记安全管理员，无法请其签字。请先在名册中登记，或换一家企业。"
)

// AskSigner asks who the official signer of a role is (陪同检查干部 …).
func AskSigner(label string) string {
	return fmt.Sprintf("%s是谁？请发送姓名或企业微信账号。", label)
}

// PickPersonText lists officials to choose from by number.
func PickPersonText(lines []string) string {
	var b strings.Builder
	b.WriteString("找到多位，请回复序号：\n")
	for i, l := range lines {
		fmt.Fprintf(&b, "%d. %s\n", i+1, l)
	}
	b.WriteString("回复“取消”放弃。")
	return b.String()
}

// NoPersonFound answers a search for an official without match.
func NoPersonFound(part string) string {
	return fmt.Sprintf("没有找到“%s”，请发送姓名或企业微信账号。", Truncate(part, 60))
}

// HazardNoted confirms one hazard of a led inspection.
func HazardNoted(n int, description, grade, deadline string) string {
	return fmt.Sprintf("已记下第 %d 条隐患：%s（%s，期限%s）。继续发送，或回复“好了”。", n, Truncate(description, 120), grade, ShortDate(deadline))
}

// PhotoNoted confirms a photo.
func PhotoNoted(n int) string {
	return fmt.Sprintf("已收到第 %d 张照片。继续发送，或回复“好了”。", n)
}

// FieldHazard is a hazard in a summary.
type FieldHazard struct {
	Description, Grade, Deadline string
}

// InspectionView is an inspection record as texts and cards show it.
type InspectionView struct {
	ID            int64
	Kind          string
	Enterprise    string
	Township      string
	Date          string // YYYY-MM-DD
	Inspector     string // name
	Signers       []string
	Items         string
	Findings      string
	Rectification string
	Deadline      string // YYYY-MM-DD or ""
	Photos        int
	Hazards       []FieldHazard
}

// LedSummary shows a led inspection before it is submitted.
func LedSummary(v InspectionView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "请核对带队检查记录：\n企业：%s［%s］\n日期：%s\n", v.Enterprise, v.Township, ShortDate(v.Date))
	fmt.Fprintf(&b, "发现问题：%s\n照片：%d 张\n", orNone(Truncate(v.Findings, 600)), v.Photos)
	fmt.Fprintf(&b, "隐患：%d 条", len(v.Hazards))
	for i, h := range v.Hazards {
		if i == 8 {
			fmt.Fprintf(&b, "\n……另有 %d 条", len(v.Hazards)-8)
			break
		}
		fmt.Fprintf(&b, "\n%d. %s（%s，期限%s）", i+1, Truncate(h.Description, 90), h.Grade, ShortDate(h.Deadline))
	}
	b.WriteString("\n" + AskConfirm)
	return Truncate(b.String(), MaxText)
}

// LedDone confirms a logged led inspection with the month's count.
func LedDone(enterprise string, hazards, count, target int) string {
	s := fmt.Sprintf("已登记带队检查：%s，登记隐患 %d 条。\n本月第 %d 次，目标 %d 次", enterprise, hazards, count, target)
	if count >= target {
		return s + "，已完成。"
	}
	return s + fmt.Sprintf("，还差 %d 次。", target-count)
}

// InspectionText is the full opinion form as text: the summary before
// submitting, and the copy each signer reads before signing.
func InspectionText(v InspectionView) string {
	var b strings.Builder
	title := "现场检查意见书"
	if v.Kind != "" && v.Kind != "现场检查" {
		title = v.Kind + "记录"
	}
	if v.ID > 0 {
		fmt.Fprintf(&b, "【%s】编号 %d\n", title, v.ID)
	} else {
		fmt.Fprintf(&b, "【%s】\n", title)
	}
	fmt.Fprintf(&b, "被检查单位：%s［%s］\n检查日期：%s\n", v.Enterprise, v.Township, ShortDate(v.Date))
	if v.Inspector != "" {
		fmt.Fprintf(&b, "检查人员：%s\n", v.Inspector)
	}
	fmt.Fprintf(&b, "检查项目：%s\n", orNone(Truncate(v.Items, 300)))
	fmt.Fprintf(&b, "发现问题：%s\n", orNone(Truncate(v.Findings, 500)))
	fmt.Fprintf(&b, "整改要求：%s", orNone(Truncate(v.Rectification, 400)))
	if v.Deadline != "" {
		fmt.Fprintf(&b, "（期限%s）", ShortDate(v.Deadline))
	}
	fmt.Fprintf(&b, "\n照片：%d 张", v.Photos)
	if len(v.Signers) > 0 {
		b.WriteString("\n签字：" + strings.Join(v.Signers, "、"))
	}
	return Truncate(b.String(), MaxText)
}

// InspectionSummary shows an opinion form before it is submitted.
func InspectionSummary(v InspectionView) string {
	return Truncate("请核对：\n"+InspectionText(v)+"\n"+AskConfirm, MaxText)
}

// InspectionCreated confirms a submitted opinion form.
func InspectionCreated(id int64, waiting []string, notified int) string {
	s := fmt.Sprintf("已保存检查记录（编号 %d）。", id)
	if len(waiting) > 0 {
		s += "已请 " + strings.Join(waiting, "、") + " 签字确认，签字齐后记录完成。"
	} else {
		s += "记录已完成。"
	}
	if notified > 0 {
		s += fmt.Sprintf("\n已书面通报属地镇街和监管部门（%d 人）。", notified)
	}
	return s
}

// InspectionCard is the button card a signer taps: 签字确认 or 拒签. The full
// record comes as a text message just before it.
func InspectionCard(v InspectionView, role, roleLabel string) TemplateCard {
	title := "现场检查意见书"
	if v.Kind != "" && v.Kind != "现场检查" {
		title = v.Kind + "记录"
	}
	deadline := "无"
	if v.Deadline != "" {
		deadline = ShortDate(v.Deadline)
	}
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "安全生产大检查", DescColor: 2},
		MainTitle:    &CardTitle{Title: title + "待您签字", Desc: fmt.Sprintf("编号 %d｜您是%s", v.ID, roleLabel)},
		SubTitleText: truncateRunes("发现问题："+orNone(v.Findings)+"；整改要求："+orNone(v.Rectification), 110),
		HorizontalContentList: []HorizontalItem{
			{KeyName: "被检查单位", Value: truncateRunes(v.Enterprise, 26)},
			{KeyName: "检查日期", Value: ShortDate(v.Date)},
			{KeyName: "检查人员", Value: truncateRunes(v.Inspector, 26)},
			{KeyName: "整改期限", Value: deadline},
		},
		TaskID: InspectionTaskID(v.ID, role),
		ButtonList: []CardButton{
			{Text: "签字确认", Style: 1, Key: InspectionButtonKey(InspectionSignKey, v.ID, role)},
			{Text: "拒签", Style: 2, Key: InspectionButtonKey(InspectionRefuseKey, v.ID, role)},
		},
	}
}

// SignerState renders one signer for the completion note: "张三（检查人员）已签字".
func SignerState(name, label, state, reason string) string {
	switch state {
	case "signed":
		return fmt.Sprintf("%s（%s）已签字", name, label)
	case "refused":
		return fmt.Sprintf("%s（%s）拒签：%s", name, label, Truncate(reason, 200))
	}
	return fmt.Sprintf("%s（%s）未签", name, label)
}

// InspectionSigned answers a signer's tap.
func InspectionSigned(id int64, refused bool) string {
	if refused {
		return fmt.Sprintf("已记录您拒签检查记录（编号 %d）及理由。", id)
	}
	return fmt.Sprintf("已签字确认检查记录（编号 %d）。", id)
}

// InspectionAlreadyAnswered answers a second tap.
func InspectionAlreadyAnswered(id int64, state string) string {
	if state == "refused" {
		return fmt.Sprintf("您已拒签过检查记录（编号 %d）。", id)
	}
	return fmt.Sprintf("您已签过检查记录（编号 %d），无需重复签字。", id)
}

// InspectionCompleteText tells the inspector the record is complete.
func InspectionCompleteText(id int64, enterprise string, signers []string) string {
	return Truncate(fmt.Sprintf("检查记录（编号 %d，%s）签字已齐，记录完成：\n%s", id, enterprise, strings.Join(signers, "\n")), MaxText)
}

// SignLabel is the grey label replacing the buttons after an answer.
func SignLabel(refused bool) string {
	if refused {
		return "已拒签"
	}
	return "已签字"
}

// WrittenNotice is the S10 written notice of an undercover or cross-check
// visit to the township officials and the supervising department.
func WrittenNotice(v InspectionView) string {
	var b strings.Builder
	fmt.Fprintf(&b, "【%s通报】%s，%s 对%s%s进行%s。\n", v.Kind, ShortDate(v.Date), v.Inspector, v.Township, v.Enterprise, v.Kind)
	fmt.Fprintf(&b, "发现问题：%s\n", orNone(Truncate(v.Findings, 800)))
	fmt.Fprintf(&b, "整改要求：%s", orNone(Truncate(v.Rectification, 500)))
	if v.Deadline != "" {
		fmt.Fprintf(&b, "（期限%s）", ShortDate(v.Deadline))
	}
	fmt.Fprintf(&b, "\n照片证据 %d 张已存档（记录编号 %d）。请属地镇街和监管部门督促整改。", v.Photos, v.ID)
	return Truncate(b.String(), MaxText)
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "无"
	}
	return s
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// SpotCheckKey is the key of the 查看名单 button of a spot-check card.
const SpotCheckKey = "spot:list"

// SpotCheckCard is the card a department official gets for their spot-check
// assignments (S8): how many, the first few names, and a button that lists
// them all.
func SpotCheckCard(id int64, department string, names []string, taskID string) TemplateCard {
	items := []HorizontalItem{}
	for i, n := range names {
		if i == 5 {
			items = append(items, HorizontalItem{KeyName: "……", Value: fmt.Sprintf("另有 %d 家", len(names)-5)})
			break
		}
		items = append(items, HorizontalItem{KeyName: fmt.Sprintf("第%d家", i+1), Value: truncateRunes(n, 26)})
	}
	return TemplateCard{
		CardType:              "button_interaction",
		Source:                &CardSource{Desc: "安全生产大检查", DescColor: 2},
		MainTitle:             &CardTitle{Title: "重点单位自查抽查任务", Desc: fmt.Sprintf("%s · 抽查批次 %d", department, id)},
		SubTitleText:          fmt.Sprintf("以下 %d 家重点单位由您抽查：请核查其自查报告并到现场查看。", len(names)),
		HorizontalContentList: items,
		TaskID:                taskID,
		ButtonList:            []CardButton{{Text: "查看名单", Style: 1, Key: SpotCheckKey}},
	}
}

// SpotCheckTaskID is the task id of one official's card of a draw.
func SpotCheckTaskID(id int64, n int) string {
	return fmt.Sprintf("spot%d_%d", id, n)
}
