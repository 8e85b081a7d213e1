package wecomsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors of the card click driver (client side).
var (
	// ErrNotACard means the Delivered is not a template card with a task_id for
	// that user.
	ErrNotACard = errors.New("wecomsim: not an interactive card of this user")
	// ErrCardDisabled means the card's buttons were replaced (update_button,
	// replace_text) so WeCom would not let the member click.
	ErrCardDisabled = errors.New("wecomsim: card buttons were replaced; nothing to click")
	// ErrUnknownKey means the key, question or option is not on the card.
	ErrUnknownKey = errors.New("wecomsim: no such key on the card")
)

// Card types.
const (
	cardTextNotice = "text_notice"
	cardNewsNotice = "news_notice"
	cardButton     = "button_interaction"
	cardVote       = "vote_interaction"
	cardMultiple   = "multiple_interaction"
)

type titleDesc struct {
	Title string `json:"title"`
	Desc  string `json:"desc"`
}

type cardOption struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	IsChecked bool   `json:"is_checked"`
}

type selectQuestion struct {
	QuestionKey string       `json:"question_key"`
	Title       string       `json:"title"`
	SelectedID  string       `json:"selected_id"`
	Disable     bool         `json:"disable"`
	OptionList  []cardOption `json:"option_list"`
}

type checkbox struct {
	QuestionKey string       `json:"question_key"`
	Mode        int          `json:"mode"`
	Disable     bool         `json:"disable"`
	OptionList  []cardOption `json:"option_list"`
}

type cardButtonDef struct {
	Type  int    `json:"type"`
	Text  string `json:"text"`
	Style int    `json:"style"`
	Key   string `json:"key"`
	URL   string `json:"url"`
}

type submitButton struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

type actionMenu struct {
	Desc       string       `json:"desc"`
	ActionList []actionItem `json:"action_list"`
}

type actionItem struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

type horizontalItem struct {
	KeyName string `json:"keyname"`
	Value   string `json:"value"`
	Type    int    `json:"type"`
	URL     string `json:"url"`
	MediaID string `json:"media_id"`
	UserID  string `json:"userid"`
}

type linkTarget struct {
	Type     int    `json:"type"`
	Title    string `json:"title"`
	URL      string `json:"url"`
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
}

// card is the simulator's reading of an app template_card.
type card struct {
	CardType string `json:"card_type"`
	Source   *struct {
		IconURL   string `json:"icon_url"`
		Desc      string `json:"desc"`
		DescColor int    `json:"desc_color"`
	} `json:"source"`
	ActionMenu      *actionMenu `json:"action_menu"`
	MainTitle       *titleDesc  `json:"main_title"`
	EmphasisContent *titleDesc  `json:"emphasis_content"`
	QuoteArea       *struct {
		Type      int    `json:"type"`
		URL       string `json:"url"`
		Title     string `json:"title"`
		QuoteText string `json:"quote_text"`
	} `json:"quote_area"`
	SubTitleText          string           `json:"sub_title_text"`
	HorizontalContentList []horizontalItem `json:"horizontal_content_list"`
	JumpList              []linkTarget     `json:"jump_list"`
	CardAction            *linkTarget      `json:"card_action"`
	CardImage             *struct {
		URL         string  `json:"url"`
		AspectRatio float64 `json:"aspect_ratio"`
	} `json:"card_image"`
	ImageTextArea *struct {
		Type     int    `json:"type"`
		URL      string `json:"url"`
		Title    string `json:"title"`
		Desc     string `json:"desc"`
		ImageURL string `json:"image_url"`
	} `json:"image_text_area"`
	VerticalContentList []titleDesc      `json:"vertical_content_list"`
	TaskID              string           `json:"task_id"`
	ButtonSelection     *selectQuestion  `json:"button_selection"`
	ButtonList          []cardButtonDef  `json:"button_list"`
	Checkbox            *checkbox        `json:"checkbox"`
	SelectList          []selectQuestion `json:"select_list"`
	SubmitButton        *submitButton    `json:"submit_button"`
	ReplaceText         string           `json:"replace_text"`
}

func (c *card) interactive() bool {
	return c.CardType == cardButton || c.CardType == cardVote || c.CardType == cardMultiple
}

// needsResponseCode: interactive cards, and notice cards with an action_menu.
func (c *card) needsResponseCode() bool { return c.interactive() || c.ActionMenu != nil }

// parseCard validates a template_card object. forUpdate relaxes what only a new
// card needs (a task_id).
func parseCard(raw json.RawMessage, forUpdate bool) (*card, json.RawMessage, *apiError) {
	var c card
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, nil, errf(47001, "template_card: %v", err)
	}
	if aerr := c.validate(forUpdate); aerr != nil {
		return nil, nil, aerr
	}
	return &c, compact(raw), nil
}

func (c *card) validate(forUpdate bool) *apiError {
	switch c.CardType {
	case cardTextNotice, cardNewsNotice, cardButton, cardVote, cardMultiple:
	default:
		return errf(40058, "template_card.card_type %q", c.CardType)
	}
	if c.TaskID != "" && !validTaskID(c.TaskID) {
		return errf(40058, "template_card.task_id must be 1-128 bytes of [A-Za-z0-9_-@]")
	}
	if c.TaskID == "" && !forUpdate && c.needsResponseCode() {
		return errf(40058, "template_card.task_id is required for %s", c.CardType)
	}
	if m := c.ActionMenu; m != nil {
		if len(m.ActionList) < 1 || len(m.ActionList) > 3 {
			return errf(40058, "action_menu.action_list needs 1-3 items")
		}
		keys := map[string]bool{}
		for _, a := range m.ActionList {
			if a.Text == "" || !validKey(a.Key) || keys[a.Key] {
				return errf(40058, "action_menu item needs text and a unique key of at most 1024 bytes")
			}
			keys[a.Key] = true
		}
	}
	if len(c.HorizontalContentList) > 6 {
		return errf(40058, "horizontal_content_list has %d items, at most 6", len(c.HorizontalContentList))
	}
	for i, h := range c.HorizontalContentList {
		if h.KeyName == "" {
			return errf(40058, "horizontal_content_list[%d].keyname is required", i)
		}
		if h.Type == 3 && h.UserID == "" || h.Type == 2 && h.MediaID == "" || h.Type == 1 && h.URL == "" {
			return errf(40058, "horizontal_content_list[%d] lacks the field its type needs", i)
		}
	}
	if len(c.JumpList) > 3 {
		return errf(40058, "jump_list has %d items, at most 3", len(c.JumpList))
	}
	for i, j := range c.JumpList {
		if j.Title == "" {
			return errf(40058, "jump_list[%d].title is required", i)
		}
	}
	if a := c.CardAction; a != nil {
		if a.Type == 1 && !isHTTPURL(a.URL) || a.Type == 2 && a.AppID == "" {
			return errf(40058, "card_action lacks the url or appid its type needs")
		}
	}
	switch c.CardType {
	case cardTextNotice:
		if (c.MainTitle == nil || c.MainTitle.Title == "") && c.SubTitleText == "" {
			return errf(40058, "text_notice needs main_title.title or sub_title_text")
		}
		if c.CardAction == nil || c.CardAction.Type != 1 && c.CardAction.Type != 2 {
			return errf(40058, "text_notice needs card_action of type 1 or 2")
		}
	case cardNewsNotice:
		if c.MainTitle == nil || c.MainTitle.Title == "" {
			return errf(40058, "news_notice needs main_title.title")
		}
		if c.CardAction == nil || c.CardAction.Type != 1 && c.CardAction.Type != 2 {
			return errf(40058, "news_notice needs card_action of type 1 or 2")
		}
		if (c.CardImage == nil || c.CardImage.URL == "") && c.ImageTextArea == nil {
			return errf(40058, "news_notice needs card_image or image_text_area")
		}
		if len(c.VerticalContentList) > 4 {
			return errf(40058, "vertical_content_list has more than 4 items")
		}
	case cardButton:
		if (c.MainTitle == nil || c.MainTitle.Title == "") && c.SubTitleText == "" {
			return errf(40058, "button_interaction needs main_title.title or sub_title_text")
		}
		if len(c.ButtonList) < 1 || len(c.ButtonList) > 6 {
			return errf(40058, "button_list needs 1-6 buttons, has %d", len(c.ButtonList))
		}
		keys := map[string]bool{}
		for i, b := range c.ButtonList {
			if b.Text == "" {
				return errf(40058, "button_list[%d].text is required", i)
			}
			if b.Type == 1 {
				if !isHTTPURL(b.URL) {
					return errf(40058, "button_list[%d] of type 1 needs url", i)
				}
				continue
			}
			if !validKey(b.Key) || keys[b.Key] {
				return errf(40058, "button_list[%d].key must be unique, 1-1024 bytes", i)
			}
			keys[b.Key] = true
		}
		if c.ButtonSelection != nil {
			if aerr := validateQuestion("button_selection", c.ButtonSelection.QuestionKey, c.ButtonSelection.OptionList, 10); aerr != nil {
				return aerr
			}
		}
	case cardVote:
		if c.MainTitle == nil || c.MainTitle.Title == "" {
			return errf(40058, "vote_interaction needs main_title.title")
		}
		if c.Checkbox == nil {
			return errf(40058, "vote_interaction needs checkbox")
		}
		if c.Checkbox.Mode != 0 && c.Checkbox.Mode != 1 {
			return errf(40058, "checkbox.mode must be 0 or 1")
		}
		if aerr := validateQuestion("checkbox", c.Checkbox.QuestionKey, c.Checkbox.OptionList, 20); aerr != nil {
			return aerr
		}
		if c.SubmitButton == nil || !validKey(c.SubmitButton.Key) {
			return errf(40058, "vote_interaction needs submit_button.key")
		}
	case cardMultiple:
		if c.MainTitle == nil || c.MainTitle.Title == "" {
			return errf(40058, "multiple_interaction needs main_title.title")
		}
		if len(c.SelectList) < 1 || len(c.SelectList) > 3 {
			return errf(40058, "select_list needs 1-3 items, has %d", len(c.SelectList))
		}
		qk := map[string]bool{}
		for i, q := range c.SelectList {
			if aerr := validateQuestion(fmt.Sprintf("select_list[%d]", i), q.QuestionKey, q.OptionList, 10); aerr != nil {
				return aerr
			}
			if qk[q.QuestionKey] {
				return errf(40058, "select_list question_key %q repeats", q.QuestionKey)
			}
			qk[q.QuestionKey] = true
		}
		if c.SubmitButton == nil || !validKey(c.SubmitButton.Key) {
			return errf(40058, "multiple_interaction needs submit_button.key")
		}
	}
	return nil
}

func validateQuestion(where, key string, opts []cardOption, maxOpts int) *apiError {
	if !validKey(key) {
		return errf(40058, "%s.question_key must be 1-1024 bytes", where)
	}
	if len(opts) < 1 || len(opts) > maxOpts {
		return errf(40058, "%s.option_list needs 1-%d options, has %d", where, maxOpts, len(opts))
	}
	ids := map[string]bool{}
	for i, o := range opts {
		if o.ID == "" || len(o.ID) > 128 || ids[o.ID] {
			return errf(40058, "%s.option_list[%d].id must be unique, 1-128 bytes", where, i)
		}
		if o.Text == "" {
			return errf(40058, "%s.option_list[%d].text is required", where, i)
		}
		ids[o.ID] = true
	}
	return nil
}

func validKey(k string) bool { return k != "" && len(k) <= 1024 }

// validTaskID: 1–128 bytes of letters, digits, '_', '-' and '@'.
func validTaskID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '@') {
			return false
		}
	}
	return true
}

// task is one sent card with a task_id and what each recipient currently sees.
type task struct {
	id         string
	msgID      string
	cardType   string
	recipients map[string]*cardState
}

type cardState struct {
	card        json.RawMessage
	code        string // the recipient's own code from message/send
	codeCarried bool   // the code already rode on a click callback
	disabled    bool
	replaceName string
}

type respCode struct {
	taskID string
	user   string
	issued time.Time
	used   bool
}

func (s *Server) newCodeLocked(taskID, user string, now time.Time) string {
	code := s.randomString(43, alphabetToken)
	s.codes[code] = &respCode{taskID: taskID, user: user, issued: now}
	return code
}

type updateRequest struct {
	UserIDs      []string          `json:"userids"`
	PartyIDs     []json.RawMessage `json:"partyids"`
	TagIDs       []json.RawMessage `json:"tagids"`
	AtAll        flexInt           `json:"atall"`
	AgentID      flexInt           `json:"agentid"`
	ResponseCode string            `json:"response_code"`
	Button       *struct {
		ReplaceName string `json:"replace_name"`
	} `json:"button"`
	TemplateCard json.RawMessage `json:"template_card"`
	ReplaceText  string          `json:"replace_text"`
}

// handleUpdateCard serves POST /cgi-bin/message/update_template_card.
func (s *Server) handleUpdateCard(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, http.MethodPost) {
		return
	}
	var req updateRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes)).Decode(&req); err != nil {
		writeErr(w, 47001, "body: "+err.Error())
		return
	}
	invalid, aerr := s.updateCard(req)
	if aerr != nil {
		s.log.Debug("update_template_card rejected", "errcode", aerr.code, "hint", aerr.hint)
		writeJSON(w, map[string]any{"errcode": aerr.code, "errmsg": errMsg(aerr.code, aerr.hint), "invaliduser": invalid})
		return
	}
	writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "invaliduser": invalid})
}

func (s *Server) updateCard(req updateRequest) ([]string, *apiError) {
	invalid := []string{}
	if aerr := s.checkAgent(req.AgentID); aerr != nil {
		return invalid, aerr
	}
	if req.ResponseCode == "" {
		return invalid, errf(40058, "response_code is required")
	}
	hasCard := len(req.TemplateCard) > 0 && string(req.TemplateCard) != "null"
	if (req.Button != nil) == hasCard {
		return invalid, errf(40058, "exactly one of button and template_card is required")
	}
	if req.Button != nil && req.Button.ReplaceName == "" {
		return invalid, errf(40058, "button.replace_name is empty")
	}
	switch {
	case len(req.UserIDs) > maxUsers:
		return invalid, errf(40058, "userids lists %d users, at most %d", len(req.UserIDs), maxUsers)
	case len(req.PartyIDs) > maxParties || len(req.TagIDs) > maxTags:
		return invalid, errf(40058, "too many partyids or tagids")
	case len(req.UserIDs) == 0 && len(req.PartyIDs) == 0 && len(req.TagIDs) == 0 && req.AtAll.v != 1:
		return invalid, errf(82001, "userids, partyids, tagids empty and atall is 0")
	}
	var newCard *card
	var newBody json.RawMessage
	if hasCard {
		var aerr *apiError
		if newCard, newBody, aerr = parseCard(req.TemplateCard, true); aerr != nil {
			return invalid, aerr
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rc := s.codes[req.ResponseCode]
	switch {
	case rc == nil:
		return invalid, errf(40058, "response_code is unknown")
	case rc.used:
		return invalid, errf(40058, "response_code has been used")
	case !now.Before(rc.issued.Add(s.cfg.ResponseCodeTTL)):
		return invalid, errf(40058, "response_code has expired")
	}
	t := s.tasks[rc.taskID]
	var targets []string
	if req.AtAll.v == 1 && t != nil {
		for u := range t.recipients {
			targets = append(targets, u)
		}
		slices.Sort(targets)
	} else {
		seen := map[string]bool{}
		for _, u := range req.UserIDs {
			low := strings.ToLower(u)
			if seen[low] {
				continue
			}
			seen[low] = true
			if t != nil && t.recipients[low] != nil {
				targets = append(targets, low)
			} else {
				invalid = append(invalid, low)
			}
		}
	}
	if len(targets) == 0 {
		return invalid, errf(81013, "none of the users received this card")
	}
	rc.used = true
	for _, u := range targets {
		st := t.recipients[u]
		up := Update{To: u, TaskID: t.id, ResponseCode: req.ResponseCode, At: now}
		if req.Button != nil {
			st.disabled, st.replaceName = true, req.Button.ReplaceName
			up.ReplaceName = req.Button.ReplaceName
		} else {
			up.Card = newBody
			up.ReplaceText = newCard.ReplaceText
			if up.ReplaceText == "" {
				up.ReplaceText = req.ReplaceText
			}
			st.card, st.replaceName = newBody, ""
			st.disabled = up.ReplaceText != "" || !clickable(newCard)
		}
		s.recordUpdateLocked(up)
	}
	return invalid, nil
}

// clickable reports whether a card still offers something that calls back.
func clickable(c *card) bool {
	if c.ActionMenu != nil {
		return true
	}
	switch c.CardType {
	case cardButton:
		for _, b := range c.ButtonList {
			if b.Type != 1 {
				return true
			}
		}
	case cardVote, cardMultiple:
		return c.SubmitButton != nil
	}
	return false
}

// clickEvent is a prepared card callback.
type clickEvent struct {
	taskID   string
	cardType string
	code     string
	items    []selectedItem
}

type selectedItem struct {
	questionKey string
	optionIDs   []string
}

// prepareClick checks that user may click key on the card of taskID and picks the
// ResponseCode the callback carries: the recipient's own code the first time,
// a fresh single-use code for every later click.
func (s *Server) prepareClick(user, taskID, key string, selected map[string][]string, menu bool) (clickEvent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	user = strings.ToLower(user)
	t := s.tasks[taskID]
	if t == nil || t.recipients[user] == nil {
		return clickEvent{}, ErrNotACard
	}
	st := t.recipients[user]
	var c card
	if err := json.Unmarshal(st.card, &c); err != nil {
		return clickEvent{}, fmt.Errorf("wecomsim: stored card: %w", err)
	}
	ev := clickEvent{taskID: taskID, cardType: c.CardType}
	if c.CardType == "" {
		ev.cardType = t.cardType
	}
	if menu {
		if c.ActionMenu == nil || !slices.ContainsFunc(c.ActionMenu.ActionList, func(a actionItem) bool { return a.Key == key }) {
			return clickEvent{}, fmt.Errorf("%w: action_menu key %q", ErrUnknownKey, key)
		}
	} else {
		if st.disabled {
			return clickEvent{}, ErrCardDisabled
		}
		items, err := clickItems(&c, key, selected)
		if err != nil {
			return clickEvent{}, err
		}
		ev.items = items
	}
	now := s.now()
	if rc := s.codes[st.code]; st.code != "" && !st.codeCarried && rc != nil && !rc.used && now.Before(rc.issued.Add(s.cfg.ResponseCodeTTL)) {
		st.codeCarried = true
		ev.code = st.code
	} else {
		ev.code = s.newCodeLocked(taskID, user, now)
	}
	return ev, nil
}

// clickItems validates the clicked key and the selections, filling in the card's
// defaults (is_checked, selected_id) for questions the caller left out.
func clickItems(c *card, key string, selected map[string][]string) ([]selectedItem, error) {
	type question struct {
		key    string
		opts   []cardOption
		single bool
		def    []string
	}
	var qs []question
	switch c.CardType {
	case cardButton:
		ok := false
		for _, b := range c.ButtonList {
			if b.Type != 1 && b.Key == key {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%w: button key %q", ErrUnknownKey, key)
		}
		if q := c.ButtonSelection; q != nil {
			qs = append(qs, question{key: q.QuestionKey, opts: q.OptionList, single: true, def: nonEmpty(q.SelectedID)})
		}
	case cardVote, cardMultiple:
		if c.SubmitButton == nil || c.SubmitButton.Key != key {
			return nil, fmt.Errorf("%w: submit key %q", ErrUnknownKey, key)
		}
		if q := c.Checkbox; c.CardType == cardVote && q != nil {
			var def []string
			for _, o := range q.OptionList {
				if o.IsChecked {
					def = append(def, o.ID)
				}
			}
			qs = append(qs, question{key: q.QuestionKey, opts: q.OptionList, single: q.Mode == 0, def: def})
		}
		if c.CardType == cardMultiple {
			for _, q := range c.SelectList {
				qs = append(qs, question{key: q.QuestionKey, opts: q.OptionList, single: true, def: nonEmpty(q.SelectedID)})
			}
		}
	default:
		return nil, fmt.Errorf("%w: a %s card has no buttons", ErrUnknownKey, c.CardType)
	}
	for qk := range selected {
		if !slices.ContainsFunc(qs, func(q question) bool { return q.key == qk }) {
			return nil, fmt.Errorf("%w: question %q", ErrUnknownKey, qk)
		}
	}
	var items []selectedItem
	for _, q := range qs {
		ids, given := selected[q.key]
		if !given {
			ids = q.def
		}
		if q.single && len(ids) > 1 {
			return nil, fmt.Errorf("%w: question %q takes one option", ErrUnknownKey, q.key)
		}
		for _, id := range ids {
			if !slices.ContainsFunc(q.opts, func(o cardOption) bool { return o.ID == id }) {
				return nil, fmt.Errorf("%w: option %q of question %q", ErrUnknownKey, id, q.key)
			}
		}
		if len(ids) > 0 {
			items = append(items, selectedItem{questionKey: q.key, optionIDs: ids})
		}
	}
	return items, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// cardByCode finds the task a response code belongs to, for /sim/send.
func (s *Server) cardByCode(code string) (taskID, user string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rc := s.codes[code]
	if rc == nil {
		return "", "", false
	}
	return rc.taskID, rc.user, true
}

// applyPassiveUpdateLocked applies a passive update_button / update_template_card
// reply to the clicked card of user.
func (s *Server) applyPassiveUpdateLocked(user, taskID string, up Update, disable bool) {
	if t := s.tasks[taskID]; t != nil {
		if st := t.recipients[user]; st != nil {
			if up.ReplaceName != "" {
				st.replaceName = up.ReplaceName
			}
			if disable {
				st.disabled = true
			}
		}
	}
	s.recordUpdateLocked(up)
}
