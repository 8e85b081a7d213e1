package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"safetybot"
	"safetybot/messages"
	"safetybot/store"
)

// NoticeInput is a notice the office sends to groups (store.Group…).
type NoticeInput struct {
	Text   string
	Groups []string
	Ack    bool // ask for 已阅 on a card
	Sender string
}

// NoticeSent reports what SendNotice did.
type NoticeSent struct {
	Notice     store.Notice
	Recipients int
	Calls      int // message/send calls queued
}

// SendNotice stores a notice and, in the same transaction, queues it for the
// groups' members: a text message, or with Ack a card with 已阅 (a long
// notice goes as text first, then the card). Cards go in batches of at most
// 1000 recipients, each batch with its own task id. Sending continues in serve.
func SendNotice(ctx context.Context, st *store.Store, in NoticeInput) (NoticeSent, error) {
	var out NoticeSent
	in.Text = strings.TrimSpace(in.Text)
	if in.Sender == "" {
		in.Sender = "市安委办"
	}
	if err := st.ValidateNotice(ctx, in.Text, in.Groups); err != nil {
		return out, err
	}
	err := st.InTx(ctx, func(ctx context.Context) error {
		to, err := st.NoticeAudience(ctx, in.Groups)
		if err != nil {
			return err
		}
		if len(to) == 0 {
			return safetybot.Errorf(safetybot.EINVALID, "所选范围内没有登记的人员，通知未发送")
		}
		n := store.Notice{Body: in.Text, Groups: in.Groups, Ack: in.Ack, Sender: in.Sender,
			TaskID: fmt.Sprintf("notice%d", time.Now().UnixNano())}
		if err := st.CreateNotice(ctx, &n, to); err != nil {
			return err
		}
		out.Notice, out.Recipients = n, len(to)
		var msgs []messages.Outgoing
		if !in.Ack {
			msgs = append(msgs, messages.TextTo(to, messages.NoticeText(n.Body, n.Sender)))
		} else {
			if !messages.NoticeCardFits(n.Body) {
				msgs = append(msgs, messages.TextTo(to, messages.NoticeLongText(n.Body)))
			}
			for b, start := 0, 0; start < len(to); b, start = b+1, start+store.MaxBatch {
				end := min(start+store.MaxBatch, len(to))
				taskID := messages.NoticeTaskID(n.ID, b)
				card := messages.Card(to[start:end], messages.NoticeCard(n.ID, n.Body, n.Sender, taskID))
				card.Batch = taskID
				msgs = append(msgs, card)
			}
		}
		for _, m := range msgs {
			body, err := json.Marshal(m.Body)
			if err != nil {
				return err
			}
			if _, err := st.Enqueue(ctx, store.OutboxMessage{Batch: m.Batch, Recipients: m.To, Payload: body}); err != nil {
				return err
			}
			out.Calls += (len(m.To) + store.MaxBatch - 1) / store.MaxBatch
		}
		return nil
	})
	return out, err
}

// notices handles the office's chat notice and the 已阅 acknowledgements.
type notices struct {
	store *store.Store
	loc   *time.Location
}

const convNotice = "notice_confirm"

type noticeDraft struct {
	Township string `json:"township"`
	Text     string `json:"text"`
	Count    int    `json:"count"`
}

// compose answers 通知 镇街名 内容 (office only): it says how many people the
// notice reaches and waits for 确认.
func (h *notices) compose(ctx context.Context, req *Request) (messages.Reply, error) {
	switch {
	case req.Person == nil:
		return messages.Reply{messages.Text(messages.NotRegistered)}, nil
	case req.Person.Role != safetybot.RoleOffice:
		return messages.Reply{messages.Text(messages.OnlyOfficeNotice)}, nil
	}
	township, text, _ := strings.Cut(req.Args, " ")
	text = strings.TrimSpace(text)
	if township == "" || text == "" {
		return messages.Reply{messages.Text(messages.NoticeUsage)}, nil
	}
	groups := []string{store.GroupTownship + township}
	if err := h.store.ValidateNotice(ctx, text, groups); err != nil {
		return nil, err
	}
	to, err := h.store.NoticeAudience(ctx, groups)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return messages.Reply{messages.Text(township + "还没有登记人员，通知无法发送。")}, nil
	}
	d := noticeDraft{Township: township, Text: text, Count: len(to)}
	if err := h.store.PutConversation(ctx, req.In.From, convNotice, d, time.Hour); err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.NoticeConfirmText(township, len(to), text))}, nil
}

// confirm answers 确认 (send) or 取消; anything else leaves the draft.
func (h *notices) confirm(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var d noticeDraft
	if err := json.Unmarshal([]byte(conv.Data), &d); err != nil {
		return nil, err
	}
	switch req.Text {
	case "取消":
		return messages.Reply{messages.Text(messages.NoticeCancelled)}, h.store.DeleteConversation(ctx, req.In.From)
	case "确认":
	default:
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	res, err := SendNotice(ctx, h.store, NoticeInput{Text: d.Text, Groups: []string{store.GroupTownship + d.Township}, Sender: req.Person.Name})
	if err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.NoticeSentText(res.Notice.ID, res.Recipients))}, nil
}

// ackButton handles a tap on 已阅: req.Args is the notice id.
func (h *notices) ackButton(ctx context.Context, req *Request) (messages.Reply, error) {
	id, err := strconv.ParseInt(req.Args, 10, 64)
	if err != nil {
		return messages.Reply{messages.Text(messages.StaleCard)}, nil
	}
	res, err := h.store.AckNotice(ctx, id, req.In.From)
	if err != nil {
		return nil, err
	}
	if req.In.ResponseCode == "" {
		return messages.Reply{messages.Text(messages.NoticeAckText(id))}, nil
	}
	return messages.Reply{messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, messages.AckedLabel(res.AckedAt, h.loc))}, nil
}

// ackTyped answers 已阅: it acknowledges the newest notice still waiting for it.
func (h *notices) ackTyped(ctx context.Context, req *Request) (messages.Reply, error) {
	if req.Person == nil {
		return messages.Reply{messages.Text(messages.NotRegistered)}, nil
	}
	ids, err := h.store.PendingAcks(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return messages.Reply{messages.Text(messages.NoPendingAck)}, nil
	}
	if _, err := h.store.AckNotice(ctx, ids[0], req.In.From); err != nil {
		return nil, err
	}
	return messages.Reply{messages.Text(messages.NoticeAckText(ids[0]))}, nil
}
