package messages

import (
	"fmt"
	"strings"
	"time"

	"safetybot"
)

// SignKeyPrefix starts the button key of a letter's 签收 button: "sign:<letter id>".
const SignKeyPrefix = "sign:"

// LetterTaskID is the card task id of one send batch of a letter (unique per app).
func LetterTaskID(letterID int64, batch int) string {
	return fmt.Sprintf("letter%d_b%d", letterID, batch)
}

// LetterCard is the button_interaction card a principal taps to sign. The
// body is the same for every recipient of a batch, so up to 1000 principals
// share one API call; the enterprises a tap signs for are named in the answer.
func LetterCard(l safetybot.Letter, publicURL, taskID string, loc *time.Location) TemplateCard {
	link := strings.TrimRight(publicURL, "/") + fmt.Sprintf("/letters/%d", l.ID)
	deadline := "无"
	if l.Deadline != nil {
		deadline = l.Deadline.Format("2006年1月2日")
	}
	return TemplateCard{
		CardType:  "button_interaction",
		Source:    &CardSource{Desc: "安全生产大检查", DescColor: 2},
		MainTitle: &CardTitle{Title: Truncate(l.Title, 108), Desc: "请企业主要负责人阅读并签收"},
		SubTitleText: "点“签收”即表示您已阅读这封公开信，并承诺落实企业安全生产主体责任。" +
			"您名下在册的企业将一并签收。",
		HorizontalContentList: []HorizontalItem{
			{KeyName: "签收截止", Value: deadline},
			{KeyName: "全文", Value: "点击查看", Type: 1, URL: link},
		},
		CardAction: &CardAction{Type: 1, URL: link},
		TaskID:     taskID,
		ButtonList: []CardButton{{Text: "签收", Style: 1, Key: fmt.Sprintf("%s%d", SignKeyPrefix, l.ID)}},
	}
}

// SignedLabel is the grey label that replaces the 签收 button after signing.
func SignedLabel(at time.Time, loc *time.Location) string {
	return "已签收 " + at.In(loc).Format("01-02 15:04")
}

// SignedText confirms a fresh signature.
func SignedText(title string, enterprises []string, at time.Time, loc *time.Location) string {
	return fmt.Sprintf("已签收《%s》。\n签收企业：%s\n签收时间：%s\n感谢您的配合！",
		title, strings.Join(enterprises, "、"), at.In(loc).Format("2006-01-02 15:04"))
}

// AlreadySignedText answers a repeated sign-off.
func AlreadySignedText(title string, at time.Time, loc *time.Location) string {
	return fmt.Sprintf("您已于 %s 签收《%s》，无需重复签收。", at.In(loc).Format("2006-01-02 15:04"), title)
}

// Texts of the sign-off conversation.
const (
	OnlyPrincipalSigns = "仅企业主要负责人可签收公开信。"
	NoPendingLetters   = "您目前没有待签收的公开信。"
	LetterNotFound     = "没有找到标题含“%s”的待签收公开信。"
)

// PickLetterText lists several unsigned letters to choose from.
func PickLetterText(titles []string) string {
	var b strings.Builder
	b.WriteString("您有多封待签收的公开信，请回复序号选择：\n")
	for i, t := range titles {
		fmt.Fprintf(&b, "%d. %s\n", i+1, t)
	}
	b.WriteString("回复“取消”放弃。")
	return b.String()
}
