package wecom

import (
	"encoding/xml"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"safetybot/messages"
)

// Envelope is the outer XML of a POST callback. Only Encrypt is signed.
type Envelope struct {
	ToUserName string // CorpID
	AgentID    string // only on app callbacks; CDATA text here, unlike inside
	Encrypt    string // base64 ciphertext
}

// ParseEnvelope parses the callback body. Elements are matched by name in any
// order, as CDATA or bare text. A body that is not XML or has no Encrypt gives
// an error wrapping ErrMalformed.
func ParseEnvelope(body []byte) (Envelope, error) {
	var raw struct {
		ToUserName string `xml:"ToUserName"`
		AgentID    string `xml:"AgentID"`
		Encrypt    string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &raw); err != nil {
		return Envelope{}, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	env := Envelope{
		ToUserName: strings.TrimSpace(raw.ToUserName),
		AgentID:    strings.TrimSpace(raw.AgentID),
		Encrypt:    strings.TrimSpace(raw.Encrypt),
	}
	if env.Encrypt == "" {
		return Envelope{}, fmt.Errorf("%w: envelope without Encrypt", ErrMalformed)
	}
	return env, nil
}

// Unix seconds of 0000-01-01 and 9999-12-31T23:59:59 UTC.
const (
	minUnix = -62167219200
	maxUnix = 253402300799
)

// rawInbound is the union of every element of PROTOCOL.md §2.
type rawInbound struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	CreateTime   string `xml:"CreateTime"`
	MsgType      string `xml:"MsgType"`
	AgentID      string `xml:"AgentID"`
	MsgID        string `xml:"MsgId"`

	Content      string `xml:"Content"`
	PicURL       string `xml:"PicUrl"`
	MediaID      string `xml:"MediaId"`
	Format       string `xml:"Format"`
	ThumbMediaID string `xml:"ThumbMediaId"`

	LocationX string `xml:"Location_X"`
	LocationY string `xml:"Location_Y"`
	Scale     string `xml:"Scale"`
	Label     string `xml:"Label"`

	Title       string `xml:"Title"`
	Description string `xml:"Description"`
	URL         string `xml:"Url"`

	Event     string `xml:"Event"`
	EventKey  string `xml:"EventKey"`
	Latitude  string `xml:"Latitude"`
	Longitude string `xml:"Longitude"`
	Precision string `xml:"Precision"`

	TaskID        string        `xml:"TaskId"`
	CardType      string        `xml:"CardType"`
	ResponseCode  string        `xml:"ResponseCode"`
	SelectedItems []rawSelected `xml:"SelectedItems>SelectedItem"`
}

// rawSelected accepts both spellings seen in SDKs: OptionIds/OptionId and the
// transposed OpitonIds/OpitonId.
type rawSelected struct {
	QuestionKey string   `xml:"QuestionKey"`
	OptionIDs   []string `xml:"OptionIds>OptionId"`
	OpitonIDs   []string `xml:"OpitonIds>OpitonId"`
}

// ParseMessage parses a decrypted callback message or event into
// messages.Inbound. Values may be CDATA or bare text. CreateTime becomes a UTC
// time, MsgId a canonical decimal string. Unknown MsgType or Event values are
// kept as they are, with the common fields filled. Invalid XML, a missing
// FromUserName or MsgType, or a number that does not parse gives an error
// wrapping ErrMalformed.
func ParseMessage(plain []byte) (messages.Inbound, error) {
	var r rawInbound
	if err := xml.Unmarshal(plain, &r); err != nil {
		return messages.Inbound{}, fmt.Errorf("%w: message: %v", ErrMalformed, err)
	}
	in := messages.Inbound{
		CorpID: strings.TrimSpace(r.ToUserName),
		From:   strings.TrimSpace(r.FromUserName),
		Kind:   strings.TrimSpace(r.MsgType),
	}
	if in.From == "" {
		return messages.Inbound{}, fmt.Errorf("%w: message without FromUserName", ErrMalformed)
	}
	if in.Kind == "" {
		return messages.Inbound{}, fmt.Errorf("%w: message without MsgType", ErrMalformed)
	}
	var p numParser
	if ts, ok := p.int("CreateTime", r.CreateTime); ok {
		// Years outside 0000..9999 cannot be marshalled as JSON (the inbox
		// stores Inbound as JSON), so treat them as garbage.
		if ts < minUnix || ts > maxUnix {
			p.fail("CreateTime")
		} else {
			in.CreateTime = time.Unix(ts, 0).UTC()
		}
	}
	in.AgentID, _ = p.int("AgentID", r.AgentID)
	if id, ok := p.uint("MsgId", r.MsgID); ok {
		in.MsgID = strconv.FormatUint(id, 10)
	}

	switch in.Kind {
	case messages.KindText:
		in.Text = r.Content
	case messages.KindImage:
		in.PicURL = strings.TrimSpace(r.PicURL)
		in.MediaID = strings.TrimSpace(r.MediaID)
	case messages.KindVoice:
		in.MediaID = strings.TrimSpace(r.MediaID)
		in.Format = strings.TrimSpace(r.Format)
	case messages.KindVideo:
		in.MediaID = strings.TrimSpace(r.MediaID)
		in.ThumbMediaID = strings.TrimSpace(r.ThumbMediaID)
	case messages.KindLocation:
		loc := &messages.Location{Label: r.Label}
		loc.Lat, _ = p.float("Location_X", r.LocationX)
		loc.Lng, _ = p.float("Location_Y", r.LocationY)
		scale, _ := p.int("Scale", r.Scale)
		loc.Scale = int(scale)
		in.Location = loc
	case messages.KindLink:
		in.PicURL = strings.TrimSpace(r.PicURL)
		in.Link = &messages.Link{Title: r.Title, Description: r.Description, URL: strings.TrimSpace(r.URL)}
	case messages.KindEvent:
		in.Event = strings.TrimSpace(r.Event)
		in.EventKey = strings.TrimSpace(r.EventKey)
		switch in.Event {
		case messages.EventLocation:
			loc := &messages.Location{}
			loc.Lat, _ = p.float("Latitude", r.Latitude)
			loc.Lng, _ = p.float("Longitude", r.Longitude)
			loc.Precision, _ = p.float("Precision", r.Precision)
			in.Location = loc
		case messages.EventTemplateCard, messages.EventTemplateCardMenu:
			in.TaskID = strings.TrimSpace(r.TaskID)
			in.CardType = strings.TrimSpace(r.CardType)
			in.ResponseCode = strings.TrimSpace(r.ResponseCode)
			in.Selected = selectedItems(r.SelectedItems)
		}
	}
	if p.err != nil {
		return messages.Inbound{}, p.err
	}
	return in, nil
}

func selectedItems(raw []rawSelected) []messages.SelectedItem {
	if len(raw) == 0 {
		return nil
	}
	out := make([]messages.SelectedItem, 0, len(raw))
	for _, s := range raw {
		ids := make([]string, 0, len(s.OptionIDs)+len(s.OpitonIDs))
		for _, list := range [][]string{s.OptionIDs, s.OpitonIDs} {
			for _, id := range list {
				if id = strings.TrimSpace(id); id != "" {
					ids = append(ids, id)
				}
			}
		}
		out = append(out, messages.SelectedItem{QuestionKey: strings.TrimSpace(s.QuestionKey), OptionIDs: ids})
	}
	return out
}

// numParser parses optional numeric elements and keeps the first failure, so
// ParseMessage reads as a list of fields instead of a ladder of ifs.
type numParser struct{ err error }

func (p *numParser) fail(field string) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: %s is not a valid number", ErrMalformed, field)
	}
}

// int parses s; ok is false for an absent (empty) or invalid value.
func (p *numParser) int(field, s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(field)
		return 0, false
	}
	return v, true
}

func (p *numParser) uint(field, s string) (uint64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		p.fail(field)
		return 0, false
	}
	return v, true
}

func (p *numParser) float(field, s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	// NaN and ±Inf would make the Inbound unmarshalable as JSON later.
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail(field)
		return 0, false
	}
	return v, true
}
