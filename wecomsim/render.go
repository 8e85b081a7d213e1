package wecomsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Button is one clickable thing of a rendered card, numbered as Render shows it.
type Button struct {
	// Number is the [n] shown by Render, from 1.
	Number int
	Text   string
	// Key is what ClickCard (or ClickCardMenu when Menu is set) takes.
	Key  string
	Menu bool
}

// Question is one selection of a card (button_selection, checkbox, select_list).
type Question struct {
	Key     string
	Title   string
	Multi   bool
	Options []Option
}

// Option is one choice of a Question.
type Option struct {
	ID      string
	Text    string
	Default bool
}

// Render renders a delivered message for a terminal: text as is, markdown raw,
// cards as title, description lines, questions and numbered buttons "[1] 签收".
func (s *Server) Render(d Delivered) string {
	var b strings.Builder
	switch d.MsgType {
	case "text", "markdown":
		var p struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(d.Body, &p)
		b.WriteString(p.Content)
	case "textcard":
		var p struct {
			Title, Description, URL, BtnTxt string
		}
		_ = json.Unmarshal(d.Body, &p)
		line(&b, "【"+p.Title+"】")
		line(&b, stripHTML(p.Description))
		btn := p.BtnTxt
		if btn == "" {
			btn = "详情"
		}
		line(&b, btn+": "+p.URL)
	case "news":
		var p struct {
			Articles []struct{ Title, Description, URL string }
		}
		_ = json.Unmarshal(d.Body, &p)
		for _, a := range p.Articles {
			line(&b, "【"+a.Title+"】")
			line(&b, a.Description)
			line(&b, a.URL)
		}
	case "image", "voice", "video", "file":
		var p struct {
			MediaID string `json:"media_id"`
			Title   string `json:"title"`
		}
		_ = json.Unmarshal(d.Body, &p)
		line(&b, fmt.Sprintf("[%s %s] %s", d.MsgType, p.MediaID, p.Title))
	case "template_card":
		renderCard(&b, d.Body)
	default:
		b.Write(d.Body)
	}
	out := strings.TrimRight(b.String(), "\n")
	if d.Recalled {
		out = "(recalled) " + out
	}
	return out
}

// RenderUpdate renders a card update for a terminal.
func RenderUpdate(u Update) string {
	switch {
	case u.ReplaceName != "":
		return "[" + u.ReplaceName + "]"
	case u.Card != nil:
		var b strings.Builder
		renderCard(&b, u.Card)
		if u.ReplaceText != "" {
			var c card
			_ = json.Unmarshal(u.Card, &c)
			if c.ReplaceText == "" {
				line(&b, "["+u.ReplaceText+"]")
			}
		}
		return strings.TrimRight(b.String(), "\n")
	case u.ReplaceText != "":
		return "[" + u.ReplaceText + "]"
	}
	return "(card updated)"
}

func renderCard(b *strings.Builder, raw json.RawMessage) {
	var c card
	if err := json.Unmarshal(raw, &c); err != nil {
		b.Write(raw)
		return
	}
	if c.Source != nil && c.Source.Desc != "" {
		line(b, c.Source.Desc)
	}
	if c.MainTitle != nil {
		if c.MainTitle.Title != "" {
			line(b, "【"+c.MainTitle.Title+"】")
		}
		line(b, c.MainTitle.Desc)
	}
	if e := c.EmphasisContent; e != nil {
		line(b, strings.TrimSpace(e.Title+" "+e.Desc))
	}
	if q := c.QuoteArea; q != nil {
		line(b, "> "+strings.TrimSpace(q.Title+" "+q.QuoteText))
	}
	line(b, c.SubTitleText)
	for _, v := range c.VerticalContentList {
		line(b, strings.TrimSpace(v.Title+" "+v.Desc))
	}
	for _, h := range c.HorizontalContentList {
		v := h.Value
		if v == "" {
			v = h.UserID
		}
		line(b, h.KeyName+": "+v)
	}
	for _, j := range c.JumpList {
		line(b, "→ "+j.Title+" "+j.URL)
	}
	for _, q := range cardQuestions(&c) {
		head := q.Title
		if head == "" {
			head = q.Key
		}
		if q.Multi {
			head += " (multiple)"
		}
		line(b, head+":")
		for _, o := range q.Options {
			mark := " "
			if o.Default {
				mark = "x"
			}
			line(b, fmt.Sprintf("  [%s] %s (%s)", mark, o.Text, o.ID))
		}
	}
	if c.ReplaceText != "" {
		line(b, "["+c.ReplaceText+"]")
		return
	}
	var btns []string
	for _, bt := range cardButtons(&c) {
		btns = append(btns, fmt.Sprintf("[%d] %s", bt.Number, bt.Text))
	}
	line(b, strings.Join(btns, "  "))
}

// Buttons lists the clickable buttons of a delivered card in Render's numbering:
// button_list (callback buttons), the submit button, then action_menu items.
func Buttons(d Delivered) []Button {
	var c card
	if d.MsgType != "template_card" || json.Unmarshal(d.Body, &c) != nil {
		return nil
	}
	return cardButtons(&c)
}

// Questions lists the selections of a delivered card with their defaults.
func Questions(d Delivered) []Question {
	var c card
	if d.MsgType != "template_card" || json.Unmarshal(d.Body, &c) != nil {
		return nil
	}
	return cardQuestions(&c)
}

func cardButtons(c *card) []Button {
	var out []Button
	add := func(text, key string, menu bool) {
		out = append(out, Button{Number: len(out) + 1, Text: text, Key: key, Menu: menu})
	}
	for _, bt := range c.ButtonList {
		if bt.Type != 1 {
			add(bt.Text, bt.Key, false)
		}
	}
	if c.SubmitButton != nil && (c.CardType == cardVote || c.CardType == cardMultiple) {
		text := c.SubmitButton.Text
		if text == "" {
			text = "提交"
		}
		add(text, c.SubmitButton.Key, false)
	}
	if c.ActionMenu != nil {
		for _, a := range c.ActionMenu.ActionList {
			add("⋯ "+a.Text, a.Key, true)
		}
	}
	return out
}

func cardQuestions(c *card) []Question {
	var out []Question
	sel := func(q *selectQuestion) Question {
		qq := Question{Key: q.QuestionKey, Title: q.Title}
		for _, o := range q.OptionList {
			qq.Options = append(qq.Options, Option{ID: o.ID, Text: o.Text, Default: o.ID == q.SelectedID})
		}
		return qq
	}
	if c.ButtonSelection != nil {
		out = append(out, sel(c.ButtonSelection))
	}
	if q := c.Checkbox; q != nil && c.CardType == cardVote {
		qq := Question{Key: q.QuestionKey, Multi: q.Mode == 1}
		for _, o := range q.OptionList {
			qq.Options = append(qq.Options, Option{ID: o.ID, Text: o.Text, Default: o.IsChecked})
		}
		out = append(out, qq)
	}
	if c.CardType == cardMultiple {
		for i := range c.SelectList {
			out = append(out, sel(&c.SelectList[i]))
		}
	}
	return out
}

func line(b *strings.Builder, s string) {
	if s != "" {
		b.WriteString(s)
		b.WriteByte('\n')
	}
}

var (
	reBreak = regexp.MustCompile(`(?i)<br\s*/?>|</div>`)
	reTag   = regexp.MustCompile(`<[^>]*>`)
)

// stripHTML turns textcard description markup into plain lines.
func stripHTML(s string) string {
	s = reBreak.ReplaceAllString(s, "\n")
	s = reTag.ReplaceAllString(s, "")
	return strings.TrimSpace(s)
}
