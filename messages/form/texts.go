package form

import "fmt"

// Every Chinese text of the engine, in one place. Question texts live in defs/.
const (
	txtStart          = "开始填写%s（共 %d 项）。\n随时可回复“上一步”“跳过”“取消”“帮助”。"
	txtResume         = "接着上次的继续填："
	txtProgress       = "第 %d/%d 项"
	txtOptional       = "（选填，可回复“跳过”）"
	txtCurrent        = "当前答案：%s。回复“下一步”保持不变。"
	txtHint           = "提示：%s"
	txtBasis          = "依据：%s"
	txtReplyMulti     = "可多选，回复编号，如 1 3。"
	txtReplyNumber    = "请回复数字%s。"
	txtReplyDate      = "请回复日期，如 %s。"
	txtReplyDateToday = "请回复“今天”，或日期，如 %s。"
	txtReplyLocation  = "请发送位置（点“+”→“位置”），或直接写地址。"
	txtReplyPhoto     = "请拍照发送，%s；发完回复“完成”。"
	txtPhotosSoFar    = "已收到 %d 张。"
	txtPhotosKeep     = "已收到 %d 张。可以接着发；回复“完成”保留，回复“重拍”清空重发。"
	txtPhotoGot       = "收到第 %d 张（最多 %d 张）。可继续发，发完回复“完成”。"
	txtPhotoDup       = "这张照片已经收到过了。"
	txtPhotoCleared   = "已清空照片，请重新发送。"

	txtRepeatHeader      = "【登记隐患 %d/%d】第 %d 项「%s」不合格"
	txtRepeatProblem     = "问题是什么？请简单描述，如“后门上锁”“灭火器过期”。"
	txtRepeatGrade       = "隐患等级？"
	txtRepeatGradeHelp   = "提示：危害大、整改难、需停产停业整改的为重大隐患，其余为一般。"
	txtRepeatPhotos      = "请拍问题处的照片发来（1–9 张），发完回复“完成”。"
	txtRepeatFixed       = "已经当场整改好了吗？"
	txtRepeatFixedPhotos = "请发整改后的照片（最多 9 张），发完回复“完成”；没有可回复“跳过”。"
	txtRepeatDeadline    = "计划哪天前整改完？回复日期，如 %s，或“7天”。"

	txtHelp = "可以回复：\n上一步 — 回到上一项修改\n修改 N — 改第N项\n跳过 — 跳过选填项\n继续 — 重新显示当前问题\n取消 — 不填了，删除草稿\n拍照题发完照片回复“完成”，最后回复“提交”\n中途去忙别的也行，草稿保留7天，回复“继续”接着填"

	txtConfirmCancel = "确认取消吗？已填的内容会删除。回复“确认”取消，回复“继续”接着填"
	txtCancelled     = "已取消，草稿已删除。"
	txtStillCancel   = "本次填报已取消。回复“继续”可以接着填（草稿保留7天）。" // a draft kept by 取消 before it deleted

	txtReviewHead    = "请核对："
	txtReviewFoot    = "回复“提交”提交，“修改 N”修改第N项"
	txtReviewPage    = "（第 %d/%d 页，回复“下一页”“上一页”翻看）"
	txtEditing       = "修改第 %d 项："
	txtTotalsNone    = "共 %d 项，未发现隐患。"
	txtTotals        = "共 %d 项，发现隐患 %d 处（当场整改 %d 处）。"
	txtConfirmSubmit = "确认以负责人身份签字提交？回复“确认”"
	txtSubmitted     = "已签字提交，谢谢！%s"
	txtSubmittedOff  = "已提交，谢谢！%s\n还需主要负责人签字确认，我会把签字卡片发给负责人。"
	txtOpenHazards   = "未当场整改的隐患请按期整改，整改后记得拍照上报。"
	txtAlreadyDone   = "本次自查已经提交过了，不用重复提交。"

	txtAttachAsk     = "收到 %d 张照片，但当前这一项不需要照片。它们属于哪一项？"
	txtAttachFoot    = "回复编号；回复“不用”则不保存。"
	txtAttachFootOne = "回复 1 放到这一项；回复“不用”则不保存。"
	txtAttachItem    = "第 %d 项 %s"
	txtAttachProblem = "第 %d 项 %s（问题照片）"
	txtAttached      = "已放到第 %d 项「%s」。"
	txtAttachedFull  = "第 %d 项「%s」最多 %d 张，已放入 %d 张，其余未保存。"
	txtDiscarded     = "好的，这些照片不保存。"

	errEmpty        = "没有收到内容，请再回复一次。"
	errChoice       = "请回复 %s，或选项文字。"
	errRequired     = "此项为必填，不能跳过"
	errNoAnswerYet  = "这一项还没有答案，请先回答。"
	errWantPhoto    = "请发送照片；发完回复“完成”。"
	errPhotoMin     = "至少需要 %d 张照片，已收到 %d 张，请继续发送。"
	errPhotoFull    = "已经收到 %d 张，到上限了。"
	errNotPhoto     = "这一项不需要照片，请按问题回复。"
	errNotLocation  = "这一项不需要位置，请按问题回复。"
	errWantLocation = "请发送位置，或直接写地址。"
	errTextLong     = "内容太长了，请控制在 %d 字以内。"
	errNumber       = "请回复一个数字，如 %s。"
	errNumberRange  = "请填写 %s 之间的数。"
	errNumberMin    = "不能小于 %s。"
	errNumberMax    = "不能大于 %s。"
	errDate         = "日期看不懂，请回复如 %s 的日期。"
	errDatePast     = "整改期限不能早于今天（%s）。"
	errDateFuture   = "日期不能晚于今天（%s）。"
	errDateFar      = "日期离今天太远了，请检查一下。"
	errFirst        = "已经是第一项了。"
	errEditRange    = "没有第 %d 项，请回复 %s。"
	errEditAhead    = "第 %d 项还没填到，请先回答当前这一项。"
	errReview       = "请回复“提交”，或“修改 N”修改第N项。"
	errConfirm      = "请回复“确认”或“继续”。"
	errAttach       = "请回复 %s，或回复“不用”。"
	errIncomplete   = "第 %d 项还没填完，请先填好。"
	errNotAllowed   = "现在不能这样回复。"
)

// numbers names the numbers of n choices for a "请回复 …" text: "1–3 的编号",
// or just "1" when there is one choice.
func numbers(n int) string {
	if n == 1 {
		return "1"
	}
	return span(n) + " 的编号"
}

// span is "1–n", or "1" when n is 1.
func span(n int) string {
	if n == 1 {
		return "1"
	}
	return fmt.Sprintf("1–%d", n)
}
