package handlers

import (
	"safetybot/messages"
	"safetybot/store"
)

// Deps are what the handlers need.
type Deps struct {
	Store     *store.Store
	PublicURL string
}

// New returns the router with every route of the bot. This file is the whole
// surface: message kinds, menu and card keys, Chinese command words, the default.
func New(d Deps) *Router {
	r := newRouter(d.Store)
	h := &help{}

	r.words(h.help, "帮助", "help", "?", "？", "菜单")
	r.global["帮助"] = true
	r.menu(messages.MenuHelp, h.help)
	r.event(messages.EventSubscribe, h.welcome)
	r.event(messages.EventEnterAgent, silent)

	r.fallback = h.unknown
	return r
}
