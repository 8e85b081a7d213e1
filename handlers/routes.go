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
	r.words(sc.resumeWord, selfCheckResumeWords...)
	r.words(sc.afterDone, selfCheckDoneWords...)
	r.word("帮助", sc.helpOr(h.help))

	r.fallback = h.unknown
	return r
}
