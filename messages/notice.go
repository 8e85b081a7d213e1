package messages

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// NoticeAckPrefix starts the key of a notice's 已阅 button: "notice:ack:<id>".
const NoticeAckPrefix = "notice:ack:"

// NoticeTaskID is the card task id of one send batch of a notice.
func NoticeTaskID(id int64, batch int) string {
	return fmt.Sprintf("notice%d_b%d", id, batch)
}

// NoticeCardFits reports whether a notice is short enough to be read on the
// 已阅 card itself; a longer one goes as a text message first.
func NoticeCardFits(body string) bool { return utf8.RuneCountInString(body) <= 110 }

// NoticeCard is the card with the 已阅 button. A short notice is on the card;
// a long one was sent just before as text.
func NoticeCard(id int64, body, sender, taskID string) TemplateCard {
	sub := body
	if !NoticeCardFits(body) {
		sub = "请阅读上面的通知全文，读完点“已阅”。"
	}
	return TemplateCard{
		CardType:     "button_interaction",
		Source:       &CardSource{Desc: "安全生产大检查", DescColor: 2},
		MainTitle:    &CardTitle{Title: "通知", Desc: truncateRunes(sender, 30)},
		SubTitleText: sub,
		TaskID:       taskID,
		ButtonList:   []CardButton{{Text: "已阅", Style: 1, Key: fmt.Sprintf("%s%d", NoticeAckPrefix, id)}},
	}
}

// NoticeText is a notice without 已阅, as a text message.
func NoticeText(body, sender string) string {
	return Truncate("【通知】"+body+"\n——"+sender, MaxText)
}

// NoticeLongText is the text of a long notice that asks for 已阅 on the card after it.
func NoticeLongText(body string) string {
	return Truncate("【通知】"+body, MaxText)
}

// AckedLabel is the grey label replacing 已阅 after the tap.
func AckedLabel(at time.Time, loc *time.Location) string {
	return "已阅 " + at.In(loc).Format("01-02 15:04")
}

// Texts of the office's chat notice.
const (
	OnlyOfficeNotice = "只有市安委办可以发通知。"
	NoticeUsage      = "请这样发：通知 镇街名 内容，如：通知 青石镇 明天上午九点开安全例会。"
	NoticeCancelled  = "好的，通知没有发送。"
	NoPendingAck     = "您没有需要确认的通知。"
)

// NoticeConfirmText asks the office to confirm a chat notice.
func NoticeConfirmText(township string, n int, body string) string {
	return fmt.Sprintf("发给%s（企业负责人和镇街干部）：\n%s\n\n将发给 %d 人，回复“确认”发送，回复“取消”放弃。", township, Truncate(body, 1500), n)
}

// NoticeSentText confirms a chat notice.
func NoticeSentText(id int64, n int) string {
	return fmt.Sprintf("通知已发出（编号 %d），共 %d 人。", id, n)
}

// NoticeAckText confirms an acknowledgement typed as 已阅.
func NoticeAckText(id int64) string {
	return fmt.Sprintf("已确认阅读通知（编号 %d）。", id)
}
