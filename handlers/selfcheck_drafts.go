package handlers

import (
	"context"
	"encoding/json"
	"time"

	"safetybot/messages"
	"safetybot/store"
)

// DraftWarningAhead is how long before a self-inspection draft expires its
// user is warned.
const DraftWarningAhead = 24 * time.Hour

// DraftWarnings finds the self-inspection drafts that expire within a day of
// now and were not warned about since their last step, marks them warned and
// returns one message per user ("草稿将于 … 过期，回复“继续”接着填写"), each with
// To set. now should be in the campaign time zone (it formats the expiry).
//
// A scheduler job calls it inside st.InTx and enqueues the reply in the same
// transaction — or simply calls SendDraftWarnings, which does both. Run it at
// least hourly during the day; a user who steps the form again gets a fresh
// week and, later, a fresh warning.
func DraftWarnings(ctx context.Context, st *store.Store, now time.Time) (messages.Reply, error) {
	drafts, err := st.DraftsExpiringBetween(ctx, now, now.Add(DraftWarningAhead))
	if err != nil {
		return nil, err
	}
	var reply messages.Reply
	for _, d := range drafts {
		ok, err := st.MarkDraftWarned(ctx, d.UserID, d.UpdatedAt)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue // stepped meanwhile
		}
		var data draftData
		json.Unmarshal([]byte(d.Data), &data)
		reply = append(reply, messages.TextTo([]string{d.UserID},
			messages.SelfCheckDraftWarning(data.Enterprise, d.Period, d.ExpiresAt, now.Location())))
	}
	return reply, nil
}

// SendDraftWarnings runs DraftWarnings and enqueues its messages in one
// transaction, and removes drafts already expired. It returns how many users
// were warned. This is the one call a scheduler job needs.
func SendDraftWarnings(ctx context.Context, st *store.Store, now time.Time) (int, error) {
	n := 0
	err := st.InTx(ctx, func(ctx context.Context) error {
		reply, err := DraftWarnings(ctx, st, now)
		if err != nil {
			return err
		}
		n = len(reply)
		if err := enqueue(ctx, st, reply); err != nil {
			return err
		}
		_, err = st.DeleteExpiredDrafts(ctx)
		return err
	})
	return n, err
}
