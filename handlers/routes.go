package handlers

import (
	"time"

	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
)

// Deps are what the handlers need.
type Deps struct {
	Store     *store.Store
	PublicURL string
	Location  *time.Location // campaign time zone
	Forms     *form.Registry // self-inspection forms; nil: form.Shipped()
}

// New returns the router with every route of the bot. This file is the whole
// surface: message kinds, menu and card keys, Chinese command words, the default.
func New(d Deps) *Router {
	r := newRouter(d.Store)
	if d.Location == nil {
		d.Location = time.UTC
	}
	h := &help{}
	lt := &letters{store: d.Store, loc: d.Location}

	r.words(h.help, "帮助", "help", "?", "？", "菜单")
	r.global["帮助"] = true
	r.menu(messages.MenuHelp, h.help)
	r.event(messages.EventSubscribe, h.welcome)
	r.event(messages.EventEnterAgent, silent)

	// Open letters (S6).
	r.card(messages.SignKeyPrefix, lt.button)
	r.command("签收", lt.typed)
	r.conversation(convPickLetter, lt.pick)

	// Monthly self-inspection (S2, S3, S7): start, the open form, signature and send-back.
	sc := newSelfCheck(d)
	sc.router = r
	r.words(sc.start, selfCheckStartWords...)
	r.menu(messages.MenuSelfCheck, sc.start)
	r.card(messages.SelfCheckKeyPrefix, sc.card)
	r.conversation(convSelfCheck, sc.answer)
	r.conversation(convSelfCheckPick, sc.pick)
	r.conversation(convSelfCheckReason, sc.reason)
	r.conversation(convSelfCheckDraft, sc.draftChoiceAnswer)
	r.words(sc.resumeWord, selfCheckResumeWords...)
	r.words(sc.afterDone, selfCheckDoneWords...)
	r.word("帮助", sc.helpOr(h.help))

	// Compliance queries (rules on words and menu keys; scoped in the store).
	q := newQueries(d.Store, d.Location)
	r.words(q.mine, "我的情况", "情况")
	r.menu(messages.MenuStatus, q.mine)
	r.word("隐患", q.hazards)
	r.word("期限", q.deadline)
	r.words(q.progress, "进度", "本镇进度", "本街道进度", "本部门进度")
	r.menu(messages.MenuProgress, q.progress)
	r.word("全市进度", q.city)
	r.word("未签收", q.officialList(listUnsigned))
	r.words(q.officialList(listNoSelf), "未自查", "未填报")
	r.word("逾期隐患", q.officialList(listOverdue))
	r.words(q.officialList(listNoInsp), "两年未检查", "未检查")
	r.word("重大隐患", q.officialList(listMajor))
	r.word("抽查任务", q.officialList(listTasks))
	r.card(messages.SpotCheckKey, q.spotList)
	r.word("我的带队检查", q.officialList(listLed))
	r.command("企业", q.enterprise)
	r.conversation(convPickQuery, q.pick)
	r.word(messages.WordMore, q.noMore)
	r.conversation(convMore, q.more)

	// Officials' field work: led inspections (S5), the opinion form with its
	// signatures (S9), undercover and cross-check visits (S10).
	fw := &fieldwork{store: d.Store, loc: d.Location, isCommand: r.isCommand}
	r.command("带队检查", fw.startLed)
	r.command("现场检查", fw.startForm(store.InspectionOnSite))
	r.command("暗查", fw.startForm(store.InspectionUndercover))
	r.command("交叉检查", fw.startForm(store.InspectionCross))
	r.conversation(convField, fw.answer)
	r.card(messages.InspectionKeyPrefix, fw.button)
	r.conversation(convRefuse, fw.refuseReason)

	// Notices: the office's chat notice and 已阅.
	nt := &notices{store: d.Store, loc: d.Location}
	r.command("通知", nt.compose)
	r.conversation(convNotice, nt.confirm)
	r.card(messages.NoticeAckPrefix, nt.ackButton)
	r.word("已阅", nt.ackTyped)

	// Hazard follow-up (S3, S8, S12): 整改 with photos, the review card (通过 /
	// 退回), 延期, 停产整改 / 关闭取缔, 五定 and the tracker.
	rc := newRectify(d, r)
	r.words(rc.start, messages.WordRectify, "提交整改")
	r.menu(messages.MenuRectify, rc.start)
	r.card(messages.RectifyKeyPrefix, rc.button)
	r.conversation(convRectifyPick, rc.pick)
	r.conversation(convRectify, rc.answer)
	r.card(messages.ReviewKeyPrefix, rc.review)
	r.conversation(convRectifyBack, rc.backReason)
	r.word(messages.WordReviewQueue, rc.queue)
	r.command(messages.WordReviewOne, rc.reviewOne)
	r.command(messages.WordApprove, rc.approveTyped)
	r.command(messages.WordReturn, rc.returnTyped)
	r.word(messages.WordAskExtend, rc.askExtend)
	r.conversation(convExtendAsk, rc.extendAnswer)
	r.card(messages.ExtendKeyPrefix, rc.extendButton)
	r.command(messages.WordExtend, rc.extendTyped)
	r.command(messages.WordSuspend, rc.closure(store.HazardSuspend))
	r.command(messages.WordShutDown, rc.closure(store.HazardShutDown))
	r.command(messages.WordPlan, rc.planStart)
	r.conversation(convHazardPlan, rc.planAnswer)

	r.fallback = h.unknown
	return r
}
