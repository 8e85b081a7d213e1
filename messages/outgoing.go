package messages

// Outgoing is one message the bot will send. It becomes an outbox row before it
// becomes a request. To lists recipients; an empty To means "the sender of the
// inbound message being handled".
type Outgoing struct {
	To []string `json:"-"`
	// Body is the message/send body without touser/toparty/agentid, e.g.
	// {"msgtype":"text","text":{"content":"…"}}. For a card update it is the
	// update_template_card body without userids/agentid.
	Body any `json:"-"`
	// Update marks a message/update_template_card call; ResponseCode is then required.
	Update       bool   `json:"-"`
	ResponseCode string `json:"-"`
	// Batch groups recipients that share an identical body (≤ 1000 per call).
	Batch string `json:"-"`
	// Dedupe, when set, makes the outbox insert idempotent under this key.
	Dedupe string `json:"-"`
}

// Reply is what a handler wants said, in order.
type Reply []Outgoing

// TextBody is the body of a text message.
type TextBody struct {
	MsgType string      `json:"msgtype"`
	Text    TextContent `json:"text"`
	// DuplicateCheck, when set, overrides the sender's default
	// (enable_duplicate_check=1): chat answers set it to 0, because WeCom would
	// otherwise swallow the same answer to the same question asked twice.
	DuplicateCheck *int `json:"enable_duplicate_check,omitempty"`
}

// TextContent is the text payload.
type TextContent struct {
	Content string `json:"content"`
}

// MarkdownBody is the body of a markdown message.
type MarkdownBody struct {
	MsgType  string      `json:"msgtype"`
	Markdown TextContent `json:"markdown"`
}

// TextCardBody is the body of a textcard message.
type TextCardBody struct {
	MsgType  string   `json:"msgtype"`
	TextCard TextCard `json:"textcard"`
}

// TextCard is the textcard payload.
type TextCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

// TemplateCardBody is the body of a template_card message.
type TemplateCardBody struct {
	MsgType      string       `json:"msgtype"`
	TemplateCard TemplateCard `json:"template_card"`
}

// TemplateCard is WeCom's app template card (text_notice, button_interaction,
// vote_interaction, multiple_interaction).
type TemplateCard struct {
	CardType              string            `json:"card_type"`
	Source                *CardSource       `json:"source,omitempty"`
	MainTitle             *CardTitle        `json:"main_title,omitempty"`
	EmphasisContent       *CardTitle        `json:"emphasis_content,omitempty"`
	SubTitleText          string            `json:"sub_title_text,omitempty"`
	HorizontalContentList []HorizontalItem  `json:"horizontal_content_list,omitempty"`
	JumpList              []CardJump        `json:"jump_list,omitempty"`
	CardAction            *CardAction       `json:"card_action,omitempty"`
	TaskID                string            `json:"task_id,omitempty"`
	ButtonList            []CardButton      `json:"button_list,omitempty"`
	ButtonSelection       *CardSelect       `json:"button_selection,omitempty"`
	Checkbox              *CardCheckbox     `json:"checkbox,omitempty"`
	SelectList            []CardSelect      `json:"select_list,omitempty"`
	SubmitButton          *CardSubmitButton `json:"submit_button,omitempty"`
	ReplaceText           string            `json:"replace_text,omitempty"`
}

// CardSource is the small source line at the top of a card.
type CardSource struct {
	IconURL   string `json:"icon_url,omitempty"`
	Desc      string `json:"desc,omitempty"`
	DescColor int    `json:"desc_color,omitempty"`
}

// CardTitle is a title with an optional description.
type CardTitle struct {
	Title string `json:"title,omitempty"`
	Desc  string `json:"desc,omitempty"`
}

// HorizontalItem is one key/value line.
type HorizontalItem struct {
	KeyName string `json:"keyname"`
	Value   string `json:"value,omitempty"`
	Type    int    `json:"type,omitempty"`
	URL     string `json:"url,omitempty"`
	UserID  string `json:"userid,omitempty"`
}

// CardJump is a link line.
type CardJump struct {
	Type  int    `json:"type,omitempty"`
	Title string `json:"title"`
	URL   string `json:"url,omitempty"`
}

// CardAction is what tapping the card body does.
type CardAction struct {
	Type int    `json:"type"`
	URL  string `json:"url,omitempty"`
}

// CardButton is a button of a button_interaction card.
type CardButton struct {
	Type  int    `json:"type,omitempty"`
	Text  string `json:"text"`
	Style int    `json:"style,omitempty"`
	Key   string `json:"key,omitempty"`
	URL   string `json:"url,omitempty"`
}

// CardSelect is a drop-down selection.
type CardSelect struct {
	QuestionKey string       `json:"question_key"`
	Title       string       `json:"title,omitempty"`
	SelectedID  string       `json:"selected_id,omitempty"`
	Disable     bool         `json:"disable,omitempty"`
	OptionList  []CardOption `json:"option_list"`
}

// CardCheckbox is the checkbox of a vote_interaction card.
type CardCheckbox struct {
	QuestionKey string       `json:"question_key"`
	Mode        int          `json:"mode,omitempty"`
	Disable     bool         `json:"disable,omitempty"`
	OptionList  []CardOption `json:"option_list"`
}

// CardOption is one option of a selection or checkbox.
type CardOption struct {
	ID        string `json:"id"`
	Text      string `json:"text"`
	IsChecked bool   `json:"is_checked,omitempty"`
}

// CardSubmitButton is the submit button of vote and multiple cards.
type CardSubmitButton struct {
	Text string `json:"text"`
	Key  string `json:"key"`
}

// UpdateButtonBody is an update_template_card body that greys out the buttons
// with a label (mode A).
type UpdateButtonBody struct {
	ResponseCode string       `json:"response_code"`
	Button       UpdateButton `json:"button"`
}

// UpdateButton is the replacement label.
type UpdateButton struct {
	ReplaceName string `json:"replace_name"`
}

// UpdateCardBody is an update_template_card body that replaces the whole card (mode B).
type UpdateCardBody struct {
	ResponseCode string       `json:"response_code"`
	TemplateCard TemplateCard `json:"template_card"`
}

var zero = 0

// Text returns a chat answer to the inbound sender. It is sent without WeCom's
// duplicate check (see TextBody.DuplicateCheck).
func Text(content string) Outgoing {
	return Outgoing{Body: TextBody{MsgType: "text", Text: TextContent{Content: Truncate(content, 2048)}, DuplicateCheck: &zero}}
}

// TextTo returns a pushed text message (a reminder, a notice) to the given
// users, sent with WeCom's duplicate check so a resend after a crash is
// suppressed.
func TextTo(to []string, content string) Outgoing {
	return Outgoing{To: to, Body: TextBody{MsgType: "text", Text: TextContent{Content: Truncate(content, 2048)}}}
}

// Card returns a template card message to the given users (nil: the sender).
func Card(to []string, c TemplateCard) Outgoing {
	return Outgoing{To: to, Body: TemplateCardBody{MsgType: "template_card", TemplateCard: c}}
}

// ReplaceButton greys out the clicker's card buttons with label.
func ReplaceButton(to []string, responseCode, label string) Outgoing {
	return Outgoing{To: to, Update: true, ResponseCode: responseCode,
		Body: UpdateButtonBody{ResponseCode: responseCode, Button: UpdateButton{ReplaceName: label}}}
}

// Truncate cuts s to at most n bytes without splitting a UTF-8 character.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}
