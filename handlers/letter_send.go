package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// LetterInput is an open letter an office sends.
type LetterInput struct {
	Title      string
	Body       string     // Markdown
	Deadline   *time.Time // a civil date (UTC midnight of the date)
	Townships  []string   // empty: all
	Categories []string   // empty: all
	Sender     string
}

// LetterSent reports what SendLetter did.
type LetterSent struct {
	Letter      safetybot.Letter
	Enterprises int // enterprises addressed
	Principals  int // people who get a card
	Batches     int // message/send calls the cards need
}

// SendLetter stores a letter and, in the same transaction, writes one outbox
// row per principal in scope: identical cards in batches of at most 1000
// recipients, each batch with its own task id. Sending continues in serve.
// progress (may be nil) is called as rows are written.
func SendLetter(ctx context.Context, st *store.Store, publicURL string, loc *time.Location, in LetterInput, progress func(done, total int)) (LetterSent, error) {
	var out LetterSent
	l := safetybot.Letter{Title: strings.TrimSpace(in.Title), Body: in.Body, Deadline: in.Deadline, Sender: in.Sender}
	if err := l.Validate(); err != nil {
		return out, err
	}
	if loc == nil {
		loc = time.UTC
	}
	if in.Deadline != nil {
		today := time.Now().In(loc).Format("2006-01-02")
		if in.Deadline.Format("2006-01-02") < today {
			return out, safetybot.Errorf(safetybot.EINVALID, "签收截止日期 %s 已经过去", in.Deadline.Format("2006-01-02"))
		}
	}
	known, err := st.ListTownships(ctx)
	if err != nil {
		return out, err
	}
	for _, t := range in.Townships {
		if !slices.Contains(known, t) {
			return out, safetybot.Errorf(safetybot.EINVALID, "没有名为“%s”的镇街", t)
		}
	}
	for _, c := range in.Categories {
		if !slices.Contains(safetybot.Categories, c) {
			return out, safetybot.Errorf(safetybot.EINVALID, "类别“%s”不正确（应为 %s）", c, strings.Join(safetybot.Categories, "、"))
		}
	}
	scope := safetybot.LetterScope{Townships: in.Townships, Categories: in.Categories}
	sb, _ := json.Marshal(scope)
	l.Scope = string(sb)

	err = st.InTx(ctx, func(ctx context.Context) error {
		audience, err := st.LetterAudience(ctx, scope)
		if err != nil {
			return err
		}
		if len(audience) == 0 {
			return safetybot.Errorf(safetybot.EINVALID, "范围内没有登记了主要负责人的企业，公开信未发送")
		}
		if err := st.CreateLetter(ctx, &l, fmt.Sprintf("letter%d", time.Now().UnixNano()), audience); err != nil {
			return err
		}
		// An enterprise with two principals is addressed to the first (as
		// CreateLetter records it): only they get a card, since only they can
		// sign for it.
		enterprises := map[int64]bool{}
		var users []string
		for _, r := range audience {
			if enterprises[r.EnterpriseID] {
				continue
			}
			enterprises[r.EnterpriseID] = true
			if len(users) == 0 || users[len(users)-1] != r.UserID {
				users = append(users, r.UserID) // audience is ordered by userid
			}
		}
		out.Enterprises, out.Principals = len(enterprises), len(users)
		for b, start := 0, 0; start < len(users); b, start = b+1, start+store.MaxBatch {
			end := min(start+store.MaxBatch, len(users))
			taskID := messages.LetterTaskID(l.ID, b)
			card := messages.Card(nil, messages.LetterCard(l, publicURL, taskID, loc))
			body, err := json.Marshal(card.Body)
			if err != nil {
				return err
			}
			if _, err := st.Enqueue(ctx, store.OutboxMessage{Batch: taskID, Recipients: users[start:end], Payload: body}); err != nil {
				return err
			}
			out.Batches++
			if progress != nil {
				progress(end, len(users))
			}
		}
		return nil
	})
	out.Letter = l
	return out, err
}
