package messages

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Card button keys of the self-inspection (S7). Every key starts with
// SelfCheckKeyPrefix so one route takes them all.
const (
	SelfCheckKeyPrefix = "selfcheck:"
	// SelfCheckStartKey is the key of 开始自查 on a reminder card; append
	// ":<enterprise id>" to start for one enterprise of several.
	SelfCheckStartKey  = SelfCheckKeyPrefix + "start"
	SelfCheckOptionKey = SelfCheckKeyPrefix + "opt:"    // + session:step:option id
	SelfCheckSignKey   = SelfCheckKeyPrefix + "sign:"   // + submission id
	SelfCheckRejectKey = SelfCheckKeyPrefix + "reject:" // + submission id (principal: 退回修改)
	SelfCheckReturnKey = SelfCheckKeyPrefix + "return:" // + submission id (official: 退回补正)
)

// Texts of the self-inspection conversation.
const (
	SelfCheckForOfficials = "自查自纠由企业主要负责人或安全管理员填写。"
	SelfCheckNoEnterprise = "您名下还没有登记企业，请联系所在镇街安监办。"
	SelfCheckNoDraft      = "您没有未完成的自查草稿。发送“自查”开始填写。"
	SelfCheckStaleCard    = "这张卡片已失效。"
	SelfCheckStaleStep    = "这一项已经答过了。当前问题："
	SelfCheckWrongKind    = "这里只能回复文字、照片或位置。"
	SelfCheckPhotoMissing = "照片没有收到，请重新发送。"
	SelfCheckCancelled    = "好的，已取消。"
	SelfCheckFormMissing  = "这份自查表的版本已停用，草稿无法继续，请发送“自查”重新填写。"
	SelfCheckNoPrincipal  = "注意：本企业还没有登记主要负责人，签字卡片发不出去。请联系镇街安监办登记。"
	SelfCheckOnlyPrinc    = "只有本企业主要负责人可以签字或退回。"
	SelfCheckAskReject    = "请回复退回修改的原因，如“第3项照片看不清”。\n回复“取消”放弃。"
	SelfCheckAskReturn    = "请回复需要补正的项目编号和说明，如：\n3 5 灭火器照片看不清\n只写说明则全部项目都可修改。回复“取消”放弃。"
	SelfCheckNeedReason   = "请写上原因或说明，不能为空。回复“取消”放弃。"
	SelfCheckMayNotReturn = "只有企业所属镇街、主管部门或市安委办可以退回补正。"

	SelfCheckSignedLabel   = "已签字"
	SelfCheckRejectedLabel = "已退回修改"
	SelfCheckReturnedLabel = "已退回补正"
	SelfCheckStaleLabel    = "已失效"
)

// PeriodLabel shows a YYYY-MM period as 2025年7月.
func PeriodLabel(period string) string {
	t, err := time.Parse("2006-01", period)
	if err != nil {
		return period
	}
	return t.Format("2006年1月")
}

func scAt(t time.Time, loc *time.Location) string { return t.In(loc).Format("1月2日 15:04") }

// SelfCheckPickText lists the enterprises a person answers for, with this
// month's state, to choose which one to fill.
func SelfCheckPickText(lines []string) string {
	var b strings.Builder
	b.WriteString("您负责多家企业，这次为哪一家自查？请回复序号：\n")
	for i, l := range lines {
		fmt.Fprintf(&b, "%d. %s\n", i+1, l)
	}
	b.WriteString("回复“取消”放弃。")
	return b.String()
}

// SelfCheckPickRange answers a number outside the list.
func SelfCheckPickRange(n int) string {
	return fmt.Sprintf("请回复 1 到 %d 之间的序号，或回复“取消”。", n)
}

// SelfCheckDraftExists answers 自查 from someone with several enterprises who
// has a draft: one draft at a time, so 继续 it or 取消 it first.
func SelfCheckDraftExists(enterprise string) string {
	return fmt.Sprintf("您有一份%s的自查还没填完。\n回复“继续”接着填；要改填其他企业，回复“取消”删除这份草稿。", enterprise)
}

// SelfCheckConfirmDiscard asks before a draft is deleted.
func SelfCheckConfirmDiscard(enterprise string) string {
	return fmt.Sprintf("确认删除%s这份没填完的自查吗？已填的内容不能恢复。\n回复“确认”删除，回复“继续”接着填。", enterprise)
}

// SelfCheckDraftDeleted opens the list of enterprises after a draft was deleted.
func SelfCheckDraftDeleted(enterprise string) string {
	return fmt.Sprintf("已删除%s的自查草稿。", enterprise)
}

// SelfCheckDiscarded answers 取消, confirmed, inside the form.
func SelfCheckDiscarded(enterprise string) string {
	return fmt.Sprintf("已取消，%s的自查草稿已删除。需要时回复“自查”重新填。", enterprise)
}

// SelfCheckResuming introduces a draft taken up again.
func SelfCheckResuming(enterprise string) string {
	return fmt.Sprintf("您有一份没填完的自查（%s），接着填：", enterprise)
}

// SelfCheckAlreadySigned says this month is done.
func SelfCheckAlreadySigned(enterprise, period string, signedAt time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s%s的自查已于 %s 签字提交，本月不用再填。", enterprise, PeriodLabel(period), scAt(signedAt, loc))
}

// SelfCheckAwaiting says this month waits for the principal's signature.
func SelfCheckAwaiting(enterprise, period string, principal bool) string {
	s := fmt.Sprintf("%s%s的自查已经提交，正在等主要负责人签字。", enterprise, PeriodLabel(period))
	if principal {
		s += "\n请在下面的卡片上签字确认，或退回修改。"
	}
	return s
}

// SelfCheckSubmittedBefore answers 提交 when nothing is open but this month was submitted.
func SelfCheckSubmittedBefore(enterprise, period, state string, createdAt time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s%s的自查已于 %s 提交（%s），不用重复提交。", enterprise, PeriodLabel(period), scAt(createdAt, loc), state)
}

// SelfCheckConflict explains a draft overtaken by someone else's submission.
func SelfCheckConflict(enterprise, period, filler string, createdAt time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s%s的自查已由%s于 %s 提交，您的草稿已作废，不用再填。", enterprise, PeriodLabel(period), filler, scAt(createdAt, loc))
}

// SelfCheckCorrection introduces a correction after a send-back: who sent it
// back, why, and which items to change (labels like "第 3 项「灭火器」").
func SelfCheckCorrection(byLabel, comment string, items []string) string {
	s := fmt.Sprintf("本月自查被%s退回：%s", byLabel, comment)
	if len(items) > 0 {
		s += "\n需修改：" + strings.Join(items, "、") + "。改好后回复“提交”。"
	} else {
		s += "\n请按意见修改（回复“修改 N”改第N项），改好后回复“提交”。"
	}
	return s
}

// SelfCheckFlaggedOnly refuses an edit outside the flagged items.
func SelfCheckFlaggedOnly(items []string) string {
	return "这次只需修改" + strings.Join(items, "、") + "，其他项不用改。改好后回复“提交”。"
}

// SelfCheckItemLabel names an item as "第 3 项「灭火器」".
func SelfCheckItemLabel(n int, short string) string {
	return fmt.Sprintf("第 %d 项「%s」", n, short)
}

// SelfCheckSigned confirms the principal's signature from the card.
func SelfCheckSigned(enterprise, period string) string {
	return fmt.Sprintf("已签字确认%s%s的自查。谢谢！", enterprise, PeriodLabel(period))
}

// SelfCheckSignedBefore answers a second tap on 签字确认.
func SelfCheckSignedBefore(enterprise, period string, signedAt time.Time, loc *time.Location) string {
	return fmt.Sprintf("%s%s的自查已于 %s 签字，不用重复签字。", enterprise, PeriodLabel(period), scAt(signedAt, loc))
}

// SelfCheckSignedForFiller tells the safety officer the principal signed.
func SelfCheckSignedForFiller(enterprise, period, signer string) string {
	return fmt.Sprintf("%s%s的自查已由负责人%s签字确认，本月完成。", enterprise, PeriodLabel(period), signer)
}

// SelfCheckRejectedDone confirms the principal's 退回修改.
func SelfCheckRejectedDone(filler string) string {
	return fmt.Sprintf("已退回给%s修改。改好后会再请您签字。", filler)
}

// SelfCheckRejectedForFiller tells the filler why the principal sent the form back.
func SelfCheckRejectedForFiller(enterprise, period, principal, reason string) string {
	return fmt.Sprintf("负责人%s退回了%s%s的自查：%s\n发送“自查”修改后重新提交。", principal, enterprise, PeriodLabel(period), reason)
}

// SelfCheckReturnedDone confirms an official's 退回补正.
func SelfCheckReturnedDone(enterprise, period string, items []string) string {
	s := fmt.Sprintf("已退回%s%s的自查，请其补正", enterprise, PeriodLabel(period))
	if len(items) > 0 {
		return s + "：" + strings.Join(items, "、") + "。"
	}
	return s + "。"
}

// SelfCheckReturnedForEnterprise tells the enterprise its submission was sent back.
func SelfCheckReturnedForEnterprise(enterprise, period, byLabel, comment string, items []string) string {
	s := fmt.Sprintf("%s%s的自查被%s退回补正：%s", enterprise, PeriodLabel(period), byLabel, comment)
	if len(items) > 0 {
		s += "\n需修改：" + strings.Join(items, "、")
	}
	return s + "\n发送“自查”开始补正，改好后重新签字提交。"
}

// SelfCheckResubmitted tells the official who sent a submission back that it
// came back corrected.
func SelfCheckResubmitted(enterprise, period string, version int, signed bool) string {
	s := fmt.Sprintf("%s%s的自查已补正并重新提交（第 %d 版）", enterprise, PeriodLabel(period), version)
	if signed {
		return s + "，负责人已签字。"
	}
	return s + "，等负责人签字。"
}

// SelfCheckBadItem refuses an item number in a send-back.
func SelfCheckBadItem(n, total int) string {
	return fmt.Sprintf("没有第 %d 项，这份自查共 %d 项。请重新回复，如：3 5 灭火器照片看不清。", n, total)
}

// SelfCheckDraftWarning warns that a draft expires in a day.
func SelfCheckDraftWarning(enterprise, period string, expires time.Time, loc *time.Location) string {
	return fmt.Sprintf("您为%s填写的%s自查还没提交，草稿将于 %s 过期。\n回复“继续”接着填写。", enterprise, PeriodLabel(period), scAt(expires, loc))
}

// SelfCheckOutcome is a short result line for cards: items, hazards by grade.
func SelfCheckOutcome(items, hazards, major, fixed int) string {
	if hazards == 0 {
		return fmt.Sprintf("共 %d 项，未发现隐患。", items)
	}
	s := fmt.Sprintf("共 %d 项，发现隐患 %d 处", items, hazards)
	if major > 0 {
		s += fmt.Sprintf("（重大 %d 处）", major)
	}
	if fixed > 0 {
		s += fmt.Sprintf("，当场整改 %d 处", fixed)
	}
	return s + "。"
}

// maxCardBodyRunes keeps a question card's text within what a phone shows
// (WeCom advises about 112–160 characters for sub_title_text); longer
// questions go as plain text with numbered options.
const maxCardBodyRunes = 160

// FormStepCard renders one form step with its options as buttons: title is
// the progress line ("第 3/20 项"), body the question. It returns false when
// the step does not fit a card (no options, more than 6, or a long text).
func FormStepCard(title, enterprise, body string, options []CardButton, taskID string) (TemplateCard, bool) {
	if len(options) == 0 || len(options) > 6 || utf8.RuneCountInString(body) > maxCardBodyRunes || utf8.RuneCountInString(title) > 36 {
		return TemplateCard{}, false
	}
	for _, o := range options {
		if utf8.RuneCountInString(o.Text) > 12 {
			return TemplateCard{}, false
		}
	}
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "自查自纠", DescColor: 0},
		MainTitle:    &CardTitle{Title: title, Desc: Truncate(enterprise, 120)},
		SubTitleText: body,
		TaskID:       taskID,
		ButtonList:   options,
	}, true
}

// SubmissionSummary is what the cards about one submission show.
type SubmissionSummary struct {
	ID         int64
	Enterprise string
	Township   string
	Period     string // YYYY-MM
	Filler     string // name
	Outcome    string // SelfCheckOutcome
	Link       string // the signed report page link
	Version    int
}

// SelfCheckSignCard asks the principal to sign a submission their safety
// officer filled: 签字确认 / 退回修改.
func SelfCheckSignCard(s SubmissionSummary, taskID string) TemplateCard {
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "自查自纠待签字", DescColor: 2},
		MainTitle:    &CardTitle{Title: PeriodLabel(s.Period) + "自查待您签字", Desc: Truncate(s.Enterprise, 120)},
		SubTitleText: fmt.Sprintf("安全管理员%s已填报本月自查。%s\n请点开核对，再签字确认。", s.Filler, s.Outcome),
		HorizontalContentList: []HorizontalItem{
			{KeyName: "填报人", Value: s.Filler},
			{KeyName: "版本", Value: fmt.Sprintf("第 %d 版", s.Version)},
			{KeyName: "填报内容", Value: "点击查看", Type: 1, URL: s.Link},
		},
		CardAction: &CardAction{Type: 1, URL: s.Link},
		TaskID:     taskID,
		ButtonList: []CardButton{
			{Text: "签字确认", Style: 1, Key: fmt.Sprintf("%s%d", SelfCheckSignKey, s.ID)},
			{Text: "退回修改", Style: 2, Key: fmt.Sprintf("%s%d", SelfCheckRejectKey, s.ID)},
		},
	}
}

// MajorHazard is one 重大 hazard for the officials' card.
type MajorHazard struct {
	Item     string // item label
	Problem  string
	Deadline string // 2025年7月20日, or "已当场整改"
}

// SelfCheckMajorHazardCard tells township and department officials about 重大
// hazards an enterprise reported, with the report link and 退回补正.
func SelfCheckMajorHazardCard(s SubmissionSummary, hs []MajorHazard, taskID string) TemplateCard {
	var lines []string
	for _, h := range hs {
		lines = append(lines, fmt.Sprintf("· %s：%s（%s）", h.Item, h.Problem, h.Deadline))
	}
	body := Truncate(strings.Join(lines, "\n"), 600)
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "重大隐患", DescColor: 2},
		MainTitle:    &CardTitle{Title: fmt.Sprintf("自查发现重大隐患 %d 处", len(hs)), Desc: Truncate(s.Enterprise, 120)},
		SubTitleText: body,
		HorizontalContentList: []HorizontalItem{
			{KeyName: "镇街", Value: s.Township},
			{KeyName: "月份", Value: PeriodLabel(s.Period)},
			{KeyName: "自查报告", Value: "点击查看", Type: 1, URL: s.Link},
		},
		CardAction: &CardAction{Type: 1, URL: s.Link},
		TaskID:     taskID,
		ButtonList: []CardButton{{Text: "退回补正", Style: 2, Key: fmt.Sprintf("%s%d", SelfCheckReturnKey, s.ID)}},
	}
}

// SelfCheckKeyUnitCard sends a key unit's signed written report (S7) to its
// supervising department, with the report link and 退回补正.
func SelfCheckKeyUnitCard(s SubmissionSummary, taskID string) TemplateCard {
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "重点监管单位自查报告", DescColor: 1},
		MainTitle:    &CardTitle{Title: PeriodLabel(s.Period) + "自查书面报告", Desc: Truncate(s.Enterprise, 120)},
		SubTitleText: s.Outcome + "\n负责人已签字。点开可查看、打印书面报告。",
		HorizontalContentList: []HorizontalItem{
			{KeyName: "镇街", Value: s.Township},
			{KeyName: "版本", Value: fmt.Sprintf("第 %d 版", s.Version)},
			{KeyName: "书面报告", Value: "点击查看", Type: 1, URL: s.Link},
		},
		CardAction: &CardAction{Type: 1, URL: s.Link},
		TaskID:     taskID,
		ButtonList: []CardButton{{Text: "退回补正", Style: 2, Key: fmt.Sprintf("%s%d", SelfCheckReturnKey, s.ID)}},
	}
}

// SelfCheckReminderCard is a reminder with a 开始自查 button, for the
// scheduler's monthly reminder (the button starts the form for enterprise).
func SelfCheckReminderCard(enterprise string, enterpriseID int64, period, due, taskID string) TemplateCard {
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "自查自纠提醒", DescColor: 0},
		MainTitle:    &CardTitle{Title: PeriodLabel(period) + "自查还没完成", Desc: Truncate(enterprise, 120)},
		SubTitleText: fmt.Sprintf("请在%s前完成本月自查，由主要负责人签字，并在单位内部公示。", due),
		TaskID:       taskID,
		ButtonList:   []CardButton{{Text: "开始自查", Style: 1, Key: fmt.Sprintf("%s:%d", SelfCheckStartKey, enterpriseID)}},
	}
}

// SelfCheckDoneLabel is the grey label on a card after signing or sending back.
func SelfCheckDoneLabel(label string, t time.Time, loc *time.Location) string {
	return label + " " + t.In(loc).Format("01-02 15:04")
}
