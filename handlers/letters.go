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

// letters handles open-letter sign-off (S6): the 签收 button and the typed fallback.
type letters struct {
	store *store.Store
	loc   *time.Location
}

const convPickLetter = "pick_letter"

type pickLetter struct {
	LetterIDs []int64 `json:"letter_ids"`
}

// button handles a tap on 签收; req.Args is the letter id.
func (h *letters) button(ctx context.Context, req *Request) (messages.Reply, error) {
	id, err := strconv.ParseInt(req.Args, 10, 64)
	if err != nil {
		return messages.Reply{messages.Text("这张卡片已失效。")}, nil
	}
	if msg := h.mayNotSign(req); msg != "" {
		return messages.Reply{messages.Text(msg)}, nil
	}
	return h.sign(ctx, req, id, safetybot.SignByButton)
}

func (h *letters) mayNotSign(req *Request) string {
	switch {
	case req.Person == nil:
		return messages.NotRegistered
	case req.Person.Role != safetybot.RolePrincipal:
		return messages.OnlyPrincipalSigns
	}
	return ""
}

func (h *letters) sign(ctx context.Context, req *Request, letterID int64, method string) (messages.Reply, error) {
	res, err := h.store.SignLetter(ctx, letterID, req.In.From, method)
	if err != nil {
		return nil, err
	}
	var reply messages.Reply
	if len(res.Signed) > 0 {
		reply = append(reply, messages.Text(messages.SignedText(res.Letter.Title, res.Signed, res.SignedAt, h.loc)))
	} else {
		reply = append(reply, messages.Text(messages.AlreadySignedText(res.Letter.Title, *res.FirstSigned, h.loc)))
	}
	if req.In.ResponseCode != "" {
		at := res.SignedAt
		if len(res.Signed) == 0 {
			at = *res.FirstSigned
		}
		reply = append(reply, messages.ReplaceButton([]string{req.In.From}, req.In.ResponseCode, messages.SignedLabel(at, h.loc)))
	}
	return reply, nil
}

// typed handles "签收" and "签收 <part of a title>".
func (h *letters) typed(ctx context.Context, req *Request) (messages.Reply, error) {
	if msg := h.mayNotSign(req); msg != "" {
		return messages.Reply{messages.Text(msg)}, nil
	}
	all, err := h.store.LettersFor(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var pending []store.LetterStatus
	for _, st := range all {
		if len(st.Unsigned) > 0 && (req.Args == "" || strings.Contains(st.Letter.Title, req.Args)) {
			pending = append(pending, st)
		}
	}
	switch {
	case len(pending) == 1:
		return h.sign(ctx, req, pending[0].Letter.ID, safetybot.SignByText)
	case len(pending) > 1:
		p := pickLetter{}
		var titles []string
		for _, st := range pending {
			p.LetterIDs = append(p.LetterIDs, st.Letter.ID)
			titles = append(titles, st.Letter.Title)
		}
		if err := h.store.PutConversation(ctx, req.In.From, convPickLetter, p, 24*time.Hour); err != nil {
			return nil, err
		}
		return messages.Reply{messages.Text(messages.PickLetterText(titles))}, nil
	case req.Args != "":
		return messages.Reply{messages.Text(fmt.Sprintf(messages.LetterNotFound, req.Args))}, nil
	}
	// Nothing pending: say when the newest letter was signed, if any.
	for _, st := range all {
		if st.SignedAt != nil {
			return messages.Reply{messages.Text(messages.AlreadySignedText(st.Letter.Title, *st.SignedAt, h.loc))}, nil
		}
	}
	return messages.Reply{messages.Text(messages.NoPendingLetters)}, nil
}

// pick answers the numbered list of pending letters.
func (h *letters) pick(ctx context.Context, req *Request) (messages.Reply, error) {
	conv, err := h.store.FindConversation(ctx, req.In.From)
	if err != nil {
		return nil, err
	}
	var p pickLetter
	if err := json.Unmarshal([]byte(conv.Data), &p); err != nil {
		return nil, err
	}
	if req.Text == "取消" {
		return messages.Reply{messages.Text("好的，已取消。")}, h.store.DeleteConversation(ctx, req.In.From)
	}
	n, err := strconv.Atoi(req.Text)
	if err != nil {
		// Not a choice: the user moved on. Forget the question and route the input.
		if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
			return nil, err
		}
		return nil, errPass
	}
	if n < 1 || n > len(p.LetterIDs) {
		return messages.Reply{messages.Text(fmt.Sprintf("请回复 1 到 %d 之间的序号，或回复“取消”。", len(p.LetterIDs)))}, nil
	}
	if err := h.store.DeleteConversation(ctx, req.In.From); err != nil {
		return nil, err
	}
	return h.sign(ctx, req, p.LetterIDs[n-1], safetybot.SignByText)
}
