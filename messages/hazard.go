package messages

import (
	"fmt"
	"strings"
)

// Card button keys of the hazard loop.
const (
	// RectifyKeyPrefix starts the 提交整改 button: "rectify:<hazard id>", or
	// "rectify:" alone to pick among several.
	RectifyKeyPrefix = "rectify:"
	// ReviewKeyPrefix starts the official's review buttons:
	// "hzrev:ok:<hazard id>:<event id>" (通过) and "hzrev:back:<hazard id>:<event id>" (退回).
	ReviewKeyPrefix = "hzrev:"
	// ExtendKeyPrefix starts the buttons of an extension request:
	// "hzext:ok:<hazard id>:<YYYY-MM-DD>:<event id>" and "hzext:no:<hazard id>:<YYYY-MM-DD>:<event id>".
	ExtendKeyPrefix = "hzext:"
)

// Words of the hazard loop.
const (
	WordRectify     = "整改"
	WordSubmit      = "提交"
	WordCancel      = "取消"
	WordSkip        = "跳过"
	WordAskExtend   = "申请延期"
	WordReviewQueue = "待复查"
	WordReviewOne   = "复查"
	WordApprove     = "通过"
	WordReturn      = "退回"
	WordExtend      = "延期"
	WordSuspend     = "停产整改"
	WordShutDown    = "关闭取缔"
	WordPlan        = "五定"
)

// Texts of the hazard loop.
const (
	RectifyNone         = "您的企业目前没有需要整改的隐患。"
	RectifyOnlyCompany  = "整改由企业主要负责人或安全管理员提交。"
	RectifyNeedPhoto    = "还没有整改后的照片，请至少拍一张发来，再回复“提交”。"
	RectifyNeedText     = "还缺一句整改说明，请用文字说一下怎么整改的，再回复“提交”。"
	RectifyPhotoFailed  = "照片没收到，请重新发送。"
	RectifyCancelled    = "好的，已取消。需要时再发送“整改”。"
	RectifyWrongKind    = "这里请回复文字或照片。"
	RectifyNoReviewer   = "注意：本镇街还没有登记干部，复查卡片发不出去，请联系镇街安监办。"
	HazardStaleCard     = "这张卡片已失效。"
	HazardOnlyOfficials = "只有企业所属镇街、主管部门的干部、市安委办或隐患跟踪人可以处理。"
	HazardAskReturn     = "请回复退回原因，如“照片看不清，灭火器没换”。回复“取消”放弃。"
	HazardNeedReason    = "请写上原因，不能为空。回复“取消”放弃。"
	HazardCancelled     = "好的，已取消。"
	ReviewQueueEmpty    = "目前没有等待复查的整改。"
	ExtendAsk           = "请回复新的整改期限和原因，如：8月20日 设备还没到货\n回复“取消”放弃。"
	ExtendNeedDate      = "没看懂日期，请按“8月20日 原因”的格式回复，回复“取消”放弃。"
	ExtendNeedReason    = "请在日期后写上延期原因，如：8月20日 设备还没到货"
)

// HazardIDUsage explains a command that needs a hazard number; example is
// the command as it should be typed, e.g. "退回 12 照片看不清".
func HazardIDUsage(example string) string {
	return "请写上隐患编号，如：" + example + "\n（编号见提醒和“逾期隐患”“待复查”列表）"
}

// PickHazardText lists several hazards to choose from.
func PickHazardText(what string, hs []HazardRef, day string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "您有 %d 条隐患%s，请回复序号选择：", len(hs), what)
	for i, h := range hs {
		fmt.Fprintf(&b, "\n%d. %s", i+1, HazardRefText(h, day, true))
	}
	b.WriteString("\n回复“取消”放弃。")
	return Truncate(b.String(), MaxText)
}

// RectifyStart opens the rectification of one hazard.
func RectifyStart(h HazardRef, day, returnReason string) string {
	s := "提交整改：" + HazardRefText(h, day, true)
	if returnReason != "" {
		s += "\n上次退回原因：" + Truncate(returnReason, 200)
	}
	return s + "\n请用一句话说明怎么整改的，并拍照发送整改后的照片（可多张）。都发完后回复“提交”。回复“取消”放弃。"
}

// RectifyGotText confirms the description.
func RectifyGotText(photos int) string {
	if photos == 0 {
		return "已记下整改说明。请拍照发送整改后的照片，发完回复“提交”。"
	}
	return fmt.Sprintf("已记下整改说明（照片 %d 张）。回复“提交”送镇街复查，或继续发照片。", photos)
}

// RectifyGotPhoto confirms a photo.
func RectifyGotPhoto(n int, haveText bool) string {
	if haveText {
		return fmt.Sprintf("已收到第 %d 张照片。回复“提交”送镇街复查，或继续发照片。", n)
	}
	return fmt.Sprintf("已收到第 %d 张照片。请再用一句话说明怎么整改的。", n)
}

// RectifySubmitted confirms the submission.
func RectifySubmitted(id int64, photos int) string {
	return fmt.Sprintf("已提交整改（编号%d，照片 %d 张），等待镇街复查，结果会通知您。", id, photos)
}

// ReviewView is what an official's review card shows.
type ReviewView struct {
	Hazard      HazardRef
	Note        string   // the principal's description
	Submitter   string   // name of who submitted
	BeforeLinks []string // photo URLs before the fix
	AfterLinks  []string // photo URLs after the fix
	Resubmitted bool
}

// ReviewCard asks the township official(s) to review a rectification, with
// links to the photos before and after and 通过 / 退回 buttons.
func ReviewCard(v ReviewView, eventID int64, taskID string) TemplateCard {
	h := v.Hazard
	title := "整改待复查"
	if v.Resubmitted {
		title = "整改重新提交，待复查"
	}
	sub := fmt.Sprintf("%s：%s（%s）\n整改说明：%s", h.Enterprise, Truncate(h.Description, 120), h.Grade, Truncate(v.Note, 200))
	if v.Submitter != "" {
		sub += "\n提交人：" + v.Submitter
	}
	items := []HorizontalItem{{KeyName: "照片", Value: fmt.Sprintf("整改前 %d 张，整改后 %d 张", len(v.BeforeLinks), len(v.AfterLinks))}}
	for i, u := range v.BeforeLinks {
		if i == 1 {
			break
		}
		items = append(items, HorizontalItem{KeyName: "整改前", Value: "点击查看", Type: 1, URL: u})
	}
	for i, u := range v.AfterLinks {
		if len(items) == 6 {
			break
		}
		items = append(items, HorizontalItem{KeyName: fmt.Sprintf("整改后%d", i+1), Value: "点击查看", Type: 1, URL: u})
	}
	card := TemplateCard{
		CardType:              "button_interaction",
		Source:                &CardSource{Desc: "隐患复查", DescColor: 1},
		MainTitle:             &CardTitle{Title: title, Desc: fmt.Sprintf("编号%d｜%s", h.ID, h.Township)},
		SubTitleText:          Truncate(sub, 480),
		HorizontalContentList: items,
		TaskID:                taskID,
		ButtonList: []CardButton{
			{Text: "通过", Style: 1, Key: fmt.Sprintf("%sok:%d:%d", ReviewKeyPrefix, h.ID, eventID)},
			{Text: "退回", Style: 2, Key: fmt.Sprintf("%sback:%d:%d", ReviewKeyPrefix, h.ID, eventID)},
		},
	}
	if len(v.AfterLinks) > 0 {
		card.CardAction = &CardAction{Type: 1, URL: v.AfterLinks[0]}
	}
	return card
}

// ReviewTaskID is the task_id of a review card (one per submission event).
func ReviewTaskID(hazardID, eventID int64) string {
	return fmt.Sprintf("hzrev-%d-%d", hazardID, eventID)
}

// Labels that replace the review buttons.
const (
	ApprovedLabel = "已通过"
	ReturnedLabel = "已退回"
	AgreedLabel   = "已同意延期"
	RefusedLabel  = "未同意延期"
)

// ApprovedText answers the official who approved.
func ApprovedText(id int64) string {
	return fmt.Sprintf("已复查通过，隐患（编号%d）已销号。", id)
}

// ApprovedNotice tells the principal their rectification passed.
func ApprovedNotice(h HazardRef) string {
	return fmt.Sprintf("您提交的整改已复查通过，隐患已销号：\n%s\n感谢配合！", HazardRefText(h, "", true))
}

// ReturnedText answers the official who sent a rectification back.
func ReturnedText(id int64) string {
	return fmt.Sprintf("已退回（编号%d），已通知企业重新整改。", id)
}

// ReturnedCard tells the principal their rectification was sent back, with
// the reason and a 提交整改 button.
func ReturnedCard(h HazardRef, reason, day, taskID string) TemplateCard {
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "整改退回", DescColor: 2},
		MainTitle:    &CardTitle{Title: "整改被退回，请重新整改", Desc: Truncate(h.Enterprise, 120)},
		SubTitleText: Truncate(HazardRefText(h, day, false)+"\n退回原因："+reason+"\n整改好后点“提交整改”重新上传照片。", 480),
		TaskID:       taskID,
		ButtonList:   []CardButton{{Text: "提交整改", Style: 1, Key: fmt.Sprintf("%s%d", RectifyKeyPrefix, h.ID)}},
	}
}

// ReturnedTaskID is the task_id of the card that tells a principal of a 退回.
func ReturnedTaskID(hazardID, eventID int64) string {
	return fmt.Sprintf("hzback-%d-%d", hazardID, eventID)
}

// ReviewQueueText lists the rectifications waiting for the official.
func ReviewQueueText(hs []HazardRef, notes []string) string {
	lines := make([]string, len(hs))
	for i, h := range hs {
		lines[i] = fmt.Sprintf("%d. %s\n   整改说明：%s", i+1, HazardRefText(h, "", true), Truncate(notes[i], 90))
	}
	return ListText(fmt.Sprintf("有 %d 条整改等待复查：", len(hs)), lines, len(hs), "回复“复查 编号”看照片，或直接回复“通过 编号”“退回 编号 原因”。")
}

// ReviewNotPending answers 复查 for a hazard that is not waiting for review.
func ReviewNotPending(id int64, status string) string {
	return fmt.Sprintf("隐患（编号%d）现在是“%s”，不用复查。", id, status)
}

// ReviewAgainTaskID is the task_id of a review card sent again on 复查: a
// task_id works once per app, so each resend has its own.
func ReviewAgainTaskID(hazardID, eventID int64, nonce string) string {
	return fmt.Sprintf("hzrev-%d-%d-%s", hazardID, eventID, nonce)
}

// ExtendRequestCard asks the township official(s) to approve an extension.
func ExtendRequestCard(h HazardRef, newDeadline, reason, who string, eventID int64, taskID string) TemplateCard {
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "延期申请", DescColor: 3},
		MainTitle:    &CardTitle{Title: "隐患整改申请延期", Desc: fmt.Sprintf("编号%d｜%s", h.ID, h.Township)},
		SubTitleText: Truncate(fmt.Sprintf("%s：%s（%s）\n原期限：%s，申请延至：%s\n原因：%s\n申请人：%s", h.Enterprise, Truncate(h.Description, 120), h.Grade, ShortDate(h.Deadline), ShortDate(newDeadline), reason, who), 480),
		TaskID:       taskID,
		ButtonList: []CardButton{
			{Text: "同意", Style: 1, Key: fmt.Sprintf("%sok:%d:%s:%d", ExtendKeyPrefix, h.ID, newDeadline, eventID)},
			{Text: "不同意", Style: 2, Key: fmt.Sprintf("%sno:%d:%s:%d", ExtendKeyPrefix, h.ID, newDeadline, eventID)},
		},
	}
}

// ExtendTaskID is the task_id of an extension request card.
func ExtendTaskID(hazardID int64, newDeadline string, eventID int64, nonce string) string {
	return fmt.Sprintf("hzext-%d-%s-%d-%s", hazardID, strings.ReplaceAll(newDeadline, "-", ""), eventID, nonce)
}

// ExtendRequested confirms the request to the principal.
func ExtendRequested(id int64, newDeadline string) string {
	return fmt.Sprintf("已提交延期申请（编号%d，申请延至%s），镇街同意后生效。", id, ShortDate(newDeadline))
}

// ExtendedText answers the official who granted an extension.
func ExtendedText(id int64, deadline string) string {
	return fmt.Sprintf("已批准延期：隐患（编号%d）新期限%s。", id, ShortDate(deadline))
}

// ExtendedNotice tells the principal of an extension.
func ExtendedNotice(h HazardRef, deadline string) string {
	return fmt.Sprintf("延期已批准：编号%d %s，新的整改期限是%s。", h.ID, Truncate(h.Description, 90), ShortDate(deadline))
}

// ExtendRefusedNotice tells the principal an extension was refused.
func ExtendRefusedNotice(h HazardRef) string {
	return fmt.Sprintf("延期申请未获同意：编号%d %s，请按原期限%s整改。", h.ID, Truncate(h.Description, 90), ShortDate(h.Deadline))
}

// ExtendRefusedText answers the official who refused.
func ExtendRefusedText(id int64) string {
	return fmt.Sprintf("已回复企业：延期申请（编号%d）不同意。", id)
}

// ClosureText answers the official who ordered 停产整改 or 关闭取缔.
func ClosureText(id int64, status string) string {
	return fmt.Sprintf("已登记：隐患（编号%d）%s。", id, status)
}

// ClosureNotice tells the principal of 停产整改 or 关闭取缔.
func ClosureNotice(h HazardRef, status, reason string) string {
	s := fmt.Sprintf("【%s】编号%d %s：%s", status, h.ID, h.Enterprise, Truncate(h.Description, 90))
	if reason != "" {
		s += "\n原因：" + reason
	}
	if status == "停产整改" {
		s += "\n整改期间请停止相关生产经营，整改完成后发送“整改”提交复查，复查通过后方可恢复。"
	} else {
		s += "\n请依法停止经营，配合镇街办理。"
	}
	return s
}

// PlanStep is one question of the 五定 conversation.
type PlanStep struct {
	Key, Label, Hint string
}

// PlanSteps are the 五定 fields (DOMAIN.md §3) and the tracker (S8), in order.
var PlanSteps = []PlanStep{
	{"measures", "措施", "整改要采取的措施"},
	{"owner", "责任人", "企业负责整改的人（姓名、职务）"},
	{"funds", "资金", "整改资金（金额和来源）"},
	{"deadline", "时限", "整改完成期限，如 8月20日"},
	{"plan", "预案", "整改期间的临时措施和应急预案"},
	{"tracker", "跟踪人", "跟踪这条重大隐患的干部（姓名或企业微信账号）"},
}

// PlanIntro opens the 五定 conversation.
func PlanIntro(h HazardRef) string {
	return "五定（编号" + fmt.Sprint(h.ID) + "）：" + HazardRefText(h, "", true) + "\n依次回答 6 项，回复“跳过”保留原值，“取消”放弃。"
}

// PlanQuestion asks one 五定 step, showing the current value.
func PlanQuestion(n int, s PlanStep, current string) string {
	q := fmt.Sprintf("%d/%d【%s】请回复%s。", n, len(PlanSteps), s.Label, s.Hint)
	if current != "" {
		q += "\n现在是：" + Truncate(current, 200)
	}
	return q
}

// PlanOnlyMajor refuses 五定 for a general hazard.
func PlanOnlyMajor(id int64) string {
	return fmt.Sprintf("编号%d 是一般隐患；五定和跟踪人用于重大隐患。", id)
}

// PlanView shows a hazard's 五定.
type PlanView struct {
	Measures, Owner, Funds, Deadline, Plan, Tracker string
}

// PlanSaved confirms the 五定 of a hazard.
func PlanSaved(id int64, v PlanView) string {
	or := func(s string) string {
		if s == "" {
			return "（未填）"
		}
		return Truncate(s, 200)
	}
	return fmt.Sprintf("已保存五定（编号%d）：\n措施：%s\n责任人：%s\n资金：%s\n时限：%s\n预案：%s\n跟踪人：%s",
		id, or(v.Measures), or(v.Owner), or(v.Funds), or(ShortDate(v.Deadline)), or(v.Plan), or(v.Tracker))
}

// TrackerNotice tells an official they were named the tracker of a hazard.
func TrackerNotice(h HazardRef, by string) string {
	return fmt.Sprintf("您被%s指定为重大隐患的跟踪人：\n%s\n逾期时会提醒您。发送“重大隐患”查看您跟踪的隐患。", by, HazardRefText(h, "", true))
}

// TrackerNotFound answers a tracker name that matches no official.
func TrackerNotFound(part string) string {
	return fmt.Sprintf("没有找到干部“%s”，请发送姓名或企业微信账号，或回复“跳过”。", Truncate(part, 60))
}

// TrackerAmbiguous answers a name that matches several officials.
func TrackerAmbiguous(names []string) string {
	return "找到多位干部：" + strings.Join(names, "、") + "。请发送企业微信账号。"
}
