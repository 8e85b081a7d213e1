package wecomsim

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// Delivered is one message as one member received it.
type Delivered struct {
	// Seq orders deliveries and updates across the whole server (1, 2, …).
	Seq int64 `json:"seq"`
	// MsgID is the msgid the send call returned (empty for passive replies).
	MsgID string `json:"msgid,omitempty"`
	// To is the recipient's userid, lower-cased.
	To      string `json:"to"`
	MsgType string `json:"msgtype"`
	// Body is the payload object for MsgType as delivered, e.g. {"content":"…"} for
	// text (after truncation) or the template_card object.
	Body json.RawMessage `json:"body"`
	// ResponseCode is this recipient's own code, for interactive cards.
	ResponseCode string `json:"response_code,omitempty"`
	// TaskID is the card's task_id.
	TaskID string    `json:"task_id,omitempty"`
	At     time.Time `json:"at"`
	// Passive marks a message that came as the bot's synchronous reply to a callback.
	Passive bool `json:"passive,omitempty"`
	// Recalled is set once the bot recalled the message with message/recall.
	Recalled bool `json:"recalled,omitempty"`
}

// Update is one card update as one member saw it, from message/update_template_card
// or from a passive update_button / update_template_card reply.
type Update struct {
	Seq          int64  `json:"seq"`
	To           string `json:"to"`
	TaskID       string `json:"task_id,omitempty"`
	ResponseCode string `json:"response_code,omitempty"`
	// ReplaceName is set for a button update (mode A).
	ReplaceName string `json:"replace_name,omitempty"`
	// Card is the new card for a whole-card update (mode B) made through the API.
	Card json.RawMessage `json:"card,omitempty"`
	// ReplaceText is the grey label replacing the buttons, from the card or top level.
	ReplaceText string `json:"replace_text,omitempty"`
	// XML is the TemplateCard element of a passive update_template_card reply.
	XML     string    `json:"xml,omitempty"`
	Passive bool      `json:"passive,omitempty"`
	At      time.Time `json:"at"`
}

// PassiveReply is a validated, decrypted synchronous reply of the bot.
type PassiveReply struct {
	To      string    `json:"to"`
	MsgType string    `json:"msgtype"`
	XML     string    `json:"xml"`
	At      time.Time `json:"at"`
}

// Messages returns what user (case-insensitive) received, in order.
func (s *Server) Messages(user string) []Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(strings.ToLower(user), 0)
}

func (s *Server) messagesLocked(user string, after int64) []Delivered {
	var out []Delivered
	for _, i := range s.byUser[user] {
		if s.delivered[i].Seq > after {
			out = append(out, s.delivered[i])
		}
	}
	return out
}

// AllMessages returns every delivery to every member, in order.
func (s *Server) AllMessages() []Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivered(nil), s.delivered...)
}

// Updates returns the card updates user saw, in order.
func (s *Server) Updates(user string) []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updatesLocked(strings.ToLower(user), 0)
}

func (s *Server) updatesLocked(user string, after int64) []Update {
	var out []Update
	for _, i := range s.updByUser[user] {
		if s.updates[i].Seq > after {
			out = append(out, s.updates[i])
		}
	}
	return out
}

// Replies returns the bot's validated passive replies to user, in order.
func (s *Server) Replies(user string) []PassiveReply {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PassiveReply
	for _, r := range s.replies {
		if r.To == strings.ToLower(user) {
			out = append(out, r)
		}
	}
	return out
}

// WaitMessages blocks until user has received at least n messages and returns
// them all, or returns ctx's error with what arrived so far.
func (s *Server) WaitMessages(ctx context.Context, user string, n int) ([]Delivered, error) {
	user = strings.ToLower(user)
	for {
		s.mu.Lock()
		msgs := s.messagesLocked(user, 0)
		ch := s.notify
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return msgs, ctx.Err()
		case <-ch:
		}
	}
}

// WaitUpdates blocks until user has seen at least n card updates.
func (s *Server) WaitUpdates(ctx context.Context, user string, n int) ([]Update, error) {
	user = strings.ToLower(user)
	for {
		s.mu.Lock()
		ups := s.updatesLocked(user, 0)
		ch := s.notify
		s.mu.Unlock()
		if len(ups) >= n {
			return ups, nil
		}
		select {
		case <-ctx.Done():
			return ups, ctx.Err()
		case <-ch:
		}
	}
}

// recordLocked stores d under a fresh Seq and wakes waiters.
func (s *Server) recordLocked(d Delivered) Delivered {
	s.seq++
	d.Seq = s.seq
	s.delivered = append(s.delivered, d)
	s.byUser[d.To] = append(s.byUser[d.To], len(s.delivered)-1)
	s.broadcastLocked()
	return d
}

func (s *Server) recordUpdateLocked(u Update) {
	s.seq++
	u.Seq = s.seq
	s.updates = append(s.updates, u)
	s.updByUser[u.To] = append(s.updByUser[u.To], len(s.updates)-1)
	s.broadcastLocked()
}
