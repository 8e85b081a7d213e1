package store

import (
	"context"
	"encoding/json"
	"time"
)

// Conversation is a user's open multi-step exchange (a form, a pending choice).
type Conversation struct {
	UserID    string     `db:"userid"`
	Kind      string     `db:"kind"`
	Data      string     `db:"data"`
	UpdatedAt time.Time  `db:"updated_at"`
	ExpiresAt *time.Time `db:"expires_at"`
}

// FindConversation returns the user's open conversation (ENOTFOUND when none or expired).
func (s *Store) FindConversation(ctx context.Context, userid string) (Conversation, error) {
	var c Conversation
	err := s.get(ctx, &c, `SELECT userid, kind, data, updated_at, expires_at FROM conversations WHERE userid = ?`, userid)
	if err == nil && c.ExpiresAt != nil && !c.ExpiresAt.After(s.Now()) {
		return Conversation{}, &notFound
	}
	return c, err
}

// PutConversation stores the user's conversation state as JSON.
func (s *Store) PutConversation(ctx context.Context, userid, kind string, data any, ttl time.Duration) error {
	b, err := json.Marshal(data)
	if err != nil {
		return err
	}
	now := s.Now()
	var exp *time.Time
	if ttl > 0 {
		e := now.Add(ttl)
		exp = &e
	}
	_, err = s.exec(ctx, `INSERT INTO conversations (userid, kind, data, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (userid) DO UPDATE SET kind = excluded.kind, data = excluded.data, updated_at = excluded.updated_at, expires_at = excluded.expires_at`,
		userid, kind, string(b), now, exp)
	return err
}

// DeleteConversation ends the user's conversation.
func (s *Store) DeleteConversation(ctx context.Context, userid string) error {
	_, err := s.exec(ctx, `DELETE FROM conversations WHERE userid = ?`, userid)
	return err
}
