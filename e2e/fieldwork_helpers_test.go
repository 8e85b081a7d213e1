package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot/e2e"
	"safetybot/wecomsim"
)

// fieldBot starts a bot of the variant with the field roster seeded as it
// stands today in the campaign time zone.
func fieldBot(t *testing.T, v variant) (*e2e.Bot, *e2e.FieldRoster) {
	t.Helper()
	b := start(t, v)
	tag := e2e.Users("fw", 1)[0]
	r, err := e2e.SeedFieldRoster(context.Background(), b.Store, time.Now().In(b.Config.Location), strings.TrimPrefix(tag, "fw-"))
	if err != nil {
		t.Fatal(err)
	}
	return b, r
}

// member is one person chatting with the bot; it remembers how much of
// their inbox the test has seen.
type member struct {
	t    *testing.T
	b    *e2e.Bot
	id   string
	seen int
}

var (
	membersMu sync.Mutex
	members   = map[*e2e.Bot]map[string]*member{}
)

// chatAs returns the member id of bot b; the same member (with what the test
// has seen of their inbox) every time it is asked for.
func chatAs(t *testing.T, b *e2e.Bot, id string) *member {
	membersMu.Lock()
	defer membersMu.Unlock()
	if members[b] == nil {
		members[b] = map[string]*member{}
		t.Cleanup(func() {
			membersMu.Lock()
			delete(members, b)
			membersMu.Unlock()
		})
	}
	m := members[b][id]
	if m == nil {
		m = &member{b: b, id: id}
		members[b][id] = m
	}
	m.t = t
	return m
}

// fresh returns what the member received since the last call, once the bot
// is idle.
func (m *member) fresh() []wecomsim.Delivered {
	m.t.Helper()
	waitIdle(m.t, m.b)
	all := m.b.Sim.Messages(m.id)
	out := all[m.seen:]
	m.seen = len(all)
	return out
}

// say sends text and returns the one text reply (failing on anything else).
func (m *member) say(text string) string {
	m.t.Helper()
	if _, err := m.b.Sim.As(m.id).SendText(ctxT(m.t), text); err != nil {
		m.t.Fatalf("%s says %q: %v", m.id, text, err)
	}
	return m.only(text)
}

// only returns the single text message the member got since the last look.
func (m *member) only(what string) string {
	m.t.Helper()
	got := m.fresh()
	if len(got) != 1 || got[0].MsgType != "text" {
		m.t.Fatalf("%s after %q: %d messages %q, want one text", m.id, what, len(got), texts(got))
	}
	reply := texts(got)[0]
	if len(reply) > 2048 {
		m.t.Fatalf("%s after %q: a reply of %d bytes, over WeCom's 2048", m.id, what, len(reply))
	}
	return reply
}

// sayAll sends text and returns every message the member got for it.
func (m *member) sayAll(text string) []wecomsim.Delivered {
	m.t.Helper()
	if _, err := m.b.Sim.As(m.id).SendText(ctxT(m.t), text); err != nil {
		m.t.Fatalf("%s says %q: %v", m.id, text, err)
	}
	return m.fresh()
}

// photo sends an image (JPEG magic bytes and a distinct body) and returns the reply.
func (m *member) photo(n int) string {
	m.t.Helper()
	data := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, []byte(fmt.Sprintf("field photo %d of %s", n, m.id))...)
	if _, err := m.b.Sim.As(m.id).SendImage(ctxT(m.t), data, "image/jpeg"); err != nil {
		m.t.Fatalf("%s sends a photo: %v", m.id, err)
	}
	return m.only("a photo")
}

// menu clicks an app menu key and returns the one text reply.
func (m *member) menu(key string) string {
	m.t.Helper()
	if _, err := m.b.Sim.As(m.id).ClickMenu(ctxT(m.t), key); err != nil {
		m.t.Fatalf("%s clicks menu %s: %v", m.id, key, err)
	}
	return m.only("menu " + key)
}

// click taps a button of a card the member received and returns what came back.
func (m *member) click(card wecomsim.Delivered, key string) []wecomsim.Delivered {
	m.t.Helper()
	if _, err := m.b.Sim.As(m.id).ClickCard(ctxT(m.t), card, key, nil); err != nil {
		m.t.Fatalf("%s clicks %s: %v", m.id, key, err)
	}
	return m.fresh()
}

// cardOf is the template card of a delivery (zero when it is none).
type cardOf struct {
	CardType  string `json:"card_type"`
	TaskID    string `json:"task_id"`
	MainTitle struct {
		Title string `json:"title"`
		Desc  string `json:"desc"`
	} `json:"main_title"`
	SubTitle   string `json:"sub_title_text"`
	ButtonList []struct {
		Text string `json:"text"`
		Key  string `json:"key"`
	} `json:"button_list"`
}

func card(t *testing.T, d wecomsim.Delivered) cardOf {
	t.Helper()
	var c cardOf
	if d.MsgType != "template_card" {
		t.Fatalf("a %s message, want a template card", d.MsgType)
	}
	if err := json.Unmarshal(d.Body, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s: missing %q in\n%s", what, w, got)
		}
	}
}

func mustEqual(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// dayOff returns D+days as YYYY-MM-DD.
func dayOff(r *e2e.FieldRoster, days int) string {
	d, _ := time.Parse("2006-01-02", r.Day)
	return d.AddDate(0, 0, days).Format("2006-01-02")
}
