// Package handlers holds one file per conversation capability and the router
// that picks one for each inbound message. Handlers return what to say; they
// neither send nor log. Conversation state lives in the store.
package handlers

import (
	"context"
	"errors"
	"strings"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// Func handles one inbound message from a known (or unknown) sender.
type Func func(ctx context.Context, req *Request) (messages.Reply, error)

// Request is an inbound message with who sent it.
type Request struct {
	In     messages.Inbound
	Person *safetybot.Person // nil when the sender is not in the roster
	Text   string            // trimmed text content ("" for non-text)
	Args   string            // text after the matched command word
}

// Router dispatches inbound messages. Its table is filled in routes.go.
type Router struct {
	store *store.Store

	exact         map[string]Func // whole text equals the word
	prefix        []prefixRoute   // text starts with the word
	cardKeys      []prefixRoute   // template card EventKey prefix
	menuKeys      map[string]Func // menu click EventKey
	conversations map[string]Func // open conversation kind → handler
	kinds         map[string]Func // message kind (image, location …) with no conversation
	events        map[string]Func // event name (subscribe, enter_agent …)
	fallback      Func
	// global words are handled by their route even inside an open conversation.
	global map[string]bool
}

type prefixRoute struct {
	word string
	fn   Func
}

func newRouter(s *store.Store) *Router {
	return &Router{store: s, exact: map[string]Func{}, menuKeys: map[string]Func{}, conversations: map[string]Func{},
		kinds: map[string]Func{}, events: map[string]Func{}, global: map[string]bool{}}
}

func (r *Router) word(w string, fn Func) { r.exact[w] = fn }
func (r *Router) words(fn Func, ws ...string) {
	for _, w := range ws {
		r.exact[w] = fn
	}
}
func (r *Router) command(w string, fn Func) { r.prefix = append(r.prefix, prefixRoute{w, fn}) }
func (r *Router) card(prefix string, fn Func) {
	r.cardKeys = append(r.cardKeys, prefixRoute{prefix, fn})
}
func (r *Router) menu(key string, fn Func)          { r.menuKeys[key] = fn }
func (r *Router) conversation(kind string, fn Func) { r.conversations[kind] = fn }
func (r *Router) kind(kind string, fn Func)         { r.kinds[kind] = fn }
func (r *Router) event(ev string, fn Func)          { r.events[ev] = fn }

// Handle implements bot.Handler.
func (r *Router) Handle(ctx context.Context, in messages.Inbound) (messages.Reply, error) {
	req := &Request{In: in, Text: normalize(in.Text)}
	if p, err := r.store.FindPerson(ctx, in.From); err == nil {
		req.Person = &p
	} else if !store.IsNotFound(err) {
		return nil, err
	}
	fn := r.route(ctx, req, true)
	reply, err := fn(ctx, req)
	if errors.Is(err, errPass) {
		// The open conversation does not take this input: route it as if there were none.
		req.Args = ""
		return r.route(ctx, req, false)(ctx, req)
	}
	return reply, err
}

// errPass is returned by a conversation handler for input that is not an
// answer to its question (a new command), so the router routes it normally.
var errPass = errors.New("not an answer to the open conversation")

func (r *Router) route(ctx context.Context, req *Request, withConversation bool) Func {
	in := req.In
	if in.Kind == messages.KindEvent {
		switch in.Event {
		case messages.EventTemplateCard, messages.EventTemplateCardMenu:
			for _, c := range r.cardKeys {
				if strings.HasPrefix(in.EventKey, c.word) {
					req.Args = strings.TrimPrefix(in.EventKey, c.word)
					return c.fn
				}
			}
			return r.fallback
		case messages.EventClick:
			if fn, ok := r.menuKeys[in.EventKey]; ok {
				return fn
			}
			return r.fallback
		}
		if fn, ok := r.events[in.Event]; ok {
			return fn
		}
		return silent
	}
	// A global command word wins over an open conversation.
	if in.Kind == messages.KindText {
		first, rest, _ := strings.Cut(req.Text, " ")
		if r.global[first] {
			req.Args = strings.TrimSpace(rest)
			if fn, ok := r.exact[req.Text]; ok {
				return fn
			}
			for _, p := range r.prefix {
				if p.word == first {
					return p.fn
				}
			}
		}
	}
	if !withConversation {
		// skip the open conversation
	} else if conv, err := r.store.FindConversation(ctx, in.From); err == nil {
		if fn, ok := r.conversations[conv.Kind]; ok {
			return fn
		}
	}
	if in.Kind == messages.KindText {
		if fn, ok := r.exact[req.Text]; ok {
			return fn
		}
		for _, p := range r.prefix {
			if req.Text == p.word || strings.HasPrefix(req.Text, p.word+" ") {
				req.Args = strings.TrimSpace(strings.TrimPrefix(req.Text, p.word))
				return p.fn
			}
		}
		return r.fallback
	}
	if fn, ok := r.kinds[in.Kind]; ok {
		return fn
	}
	return r.fallback
}

// silent ignores events nobody needs to answer.
func silent(context.Context, *Request) (messages.Reply, error) { return nil, nil }

// normalize trims the text and folds full-width spaces and digits so that
// "签收　" and "１" match.
func normalize(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == '\u3000':
			r = ' '
		case r >= '０' && r <= '９':
			r = '0' + (r - '０')
		}
		b.WriteRune(r)
	}
	// Collapse runs of spaces.
	return strings.Join(strings.Fields(b.String()), " ")
}
