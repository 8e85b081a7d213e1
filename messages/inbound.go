// Package messages is the bot's language: the inbound message model, the outgoing
// messages and template cards, every Chinese text the bot sends, and the
// self-inspection form definitions.
package messages

import (
	"strconv"
	"time"
)

// Message kinds (WeCom MsgType) and event names (WeCom Event).
const (
	KindText     = "text"
	KindImage    = "image"
	KindVoice    = "voice"
	KindVideo    = "video"
	KindLocation = "location"
	KindLink     = "link"
	KindEvent    = "event"

	EventSubscribe        = "subscribe"
	EventUnsubscribe      = "unsubscribe"
	EventEnterAgent       = "enter_agent"
	EventClick            = "click"
	EventView             = "view"
	EventLocation         = "LOCATION"
	EventTemplateCard     = "template_card_event"
	EventTemplateCardMenu = "template_card_menu_event"
)

// Inbound is one decrypted callback from WeCom, parsed into a flat shape.
type Inbound struct {
	CorpID     string    `json:"corp_id"`
	From       string    `json:"from"` // member userid
	AgentID    int64     `json:"agent_id"`
	CreateTime time.Time `json:"create_time"`
	Kind       string    `json:"kind"` // MsgType
	MsgID      string    `json:"msg_id,omitempty"`

	Text         string `json:"text,omitempty"`           // text Content
	MediaID      string `json:"media_id,omitempty"`       // image, voice, video
	PicURL       string `json:"pic_url,omitempty"`        // image, link
	Format       string `json:"format,omitempty"`         // voice
	ThumbMediaID string `json:"thumb_media_id,omitempty"` // video

	Location *Location `json:"location,omitempty"` // location message or LOCATION event
	Link     *Link     `json:"link,omitempty"`

	Event        string         `json:"event,omitempty"`
	EventKey     string         `json:"event_key,omitempty"`
	TaskID       string         `json:"task_id,omitempty"`
	CardType     string         `json:"card_type,omitempty"`
	ResponseCode string         `json:"response_code,omitempty"`
	Selected     []SelectedItem `json:"selected,omitempty"`

	// PhotoPath is set by the bot before a handler runs when an image was downloaded
	// and stored under the data dir: the stored file's SHA-256 name.
	PhotoSHA256 string `json:"photo_sha256,omitempty"`
	PhotoError  string `json:"photo_error,omitempty"`
}

// Location is a position reported by a member.
type Location struct {
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	Scale     int     `json:"scale,omitempty"`
	Precision float64 `json:"precision,omitempty"`
	Label     string  `json:"label,omitempty"`
}

// Link is a shared link.
type Link struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
}

// SelectedItem is one answered question of a card with selections.
type SelectedItem struct {
	QuestionKey string   `json:"question_key"`
	OptionIDs   []string `json:"option_ids"`
}

// DedupeKey is the inbox key under which redeliveries collapse: the MsgId for
// messages; for events the sender, CreateTime, event and event key, plus the
// ResponseCode for card clicks (unique per click).
func (in *Inbound) DedupeKey() string {
	if in.MsgID != "" {
		return "m:" + in.MsgID
	}
	k := "e:" + in.From + ":" + strconv.FormatInt(in.CreateTime.Unix(), 10) + ":" + in.Event + ":" + in.EventKey
	if in.ResponseCode != "" {
		k += ":" + in.ResponseCode
	}
	if len(k) > 512 {
		k = k[:512]
	}
	return k
}

// IsCardClick reports whether the inbound is a template card button or submit click.
func (in *Inbound) IsCardClick() bool {
	return in.Kind == KindEvent && (in.Event == EventTemplateCard || in.Event == EventTemplateCardMenu)
}
