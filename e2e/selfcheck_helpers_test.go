package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/e2e"
	"safetybot/messages/form"
	"safetybot/store"
	"safetybot/wecomsim"
)

// scWait bounds one exchange of a form scripted through the simulator. WeCom
// lets an app send a member at most 30 messages a minute and the sender keeps
// to that, so a long form pauses for up to a minute now and then.
const scWait = 3 * time.Minute

// scNoDrops fails t when b's simulator dropped a message for WeCom's
// per-member limit (30 in any 60 s), which the sender must keep to.
func scNoDrops(t *testing.T, b *e2e.Bot) {
	t.Helper()
	if n := b.Sim.Dropped(); n > 0 {
		t.Errorf("the simulator dropped %d messages over the per-member limit", n)
	}
}

// scRoster is one scenario's own township, enterprise and people (unique per
// run, so parallel scenarios on one bot never see each other's messages).
type scRoster struct {
	Township   string
	Enterprise safetybot.Enterprise
	Principal  string
	Officer    string
	Official   string // of the township
	Department string // official of the enterprise's department
}

// scSeed registers an enterprise of the category with a principal, a safety
// officer, a township official and a department official.
func scSeed(t *testing.T, st *store.Store, name, category, small string, keyUnit bool) scRoster {
	t.Helper()
	ctx := context.Background()
	ids := e2e.Users("sc", 4)
	tag := ids[0][3:]
	r := scRoster{Township: "镇" + tag, Principal: ids[0], Officer: ids[1], Official: ids[2], Department: ids[3]}
	first := fmt.Sprintf("91320581MA%07d", rand.IntN(9_000_000)+1_000_000)
	r.Enterprise = safetybot.Enterprise{CreditCode: first + string(safetybot.CreditCodeCheckChar(first)), Name: name,
		Township: r.Township, Category: category, SmallType: small, KeyUnit: keyUnit, Department: "部门" + tag}
	if err := st.CreateEnterprise(ctx, &r.Enterprise); err != nil {
		t.Fatal(err)
	}
	people := []safetybot.Person{
		{UserID: r.Principal, Name: "钱老板", Role: safetybot.RolePrincipal},
		{UserID: r.Officer, Name: "孙安全", Role: safetybot.RoleSafetyOfficer},
		{UserID: r.Official, Name: "周干部", Role: safetybot.RoleTownship, Township: r.Township},
		{UserID: r.Department, Name: "吴科长", Role: safetybot.RoleDepartment, Department: "部门" + tag},
	}
	for i := range people {
		if err := st.CreatePerson(ctx, &people[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, role := range []safetybot.ContactRole{safetybot.ContactPrincipal, safetybot.ContactSafetyOfficer} {
		if err := st.SetContact(ctx, r.Enterprise.ID, people[i].ID, role); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// scMsg is one delivered message as a member reads it.
type scMsg struct {
	wecomsim.Delivered
	Text    string   // text content, or a card's title and body
	Buttons []string // card button texts
	Keys    []string // card button keys
	Link    string   // a card's link
}

func scRead(d wecomsim.Delivered) scMsg {
	m := scMsg{Delivered: d}
	switch d.MsgType {
	case "text":
		var p struct{ Content string }
		json.Unmarshal(d.Body, &p)
		m.Text = p.Content
	case "template_card":
		var c struct {
			MainTitle    struct{ Title string }       `json:"main_title"`
			SubTitleText string                       `json:"sub_title_text"`
			CardAction   struct{ URL string }         `json:"card_action"`
			ButtonList   []struct{ Text, Key string } `json:"button_list"`
		}
		json.Unmarshal(d.Body, &c)
		m.Text = c.MainTitle.Title + "\n" + c.SubTitleText
		m.Link = c.CardAction.URL
		for _, b := range c.ButtonList {
			m.Buttons = append(m.Buttons, b.Text)
			m.Keys = append(m.Keys, b.Key)
		}
	}
	return m
}

// scMember is one member talking to a bot through its simulator.
type scMember struct {
	t    *testing.T
	b    *e2e.Bot
	id   string
	seen int // messages already read
}

func scAs(t *testing.T, b *e2e.Bot, id string) *scMember { return &scMember{t: t, b: b, id: id} }

// settle waits until every callback of the member is handled and every
// message to it is sent, then returns the messages it got since last time.
func (m *scMember) settle() []scMsg {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scWait)
	defer cancel()
	q := m.b.Store.DB().Rebind(`SELECT
		(SELECT COUNT(*) FROM inbox WHERE from_user = ? AND processed_at IS NULL) +
		(SELECT COUNT(*) FROM outbox WHERE recipient = ? AND state IN ('pending', 'sending'))`)
	for {
		var open int
		if err := m.b.Store.DB().GetContext(ctx, &open, q, m.id, m.id); err != nil {
			m.t.Fatalf("%s: %v", m.id, err)
		}
		if open == 0 {
			break
		}
		select {
		case <-ctx.Done():
			m.t.Fatalf("%s: callbacks or messages still open after %s", m.id, scWait)
		case <-time.After(15 * time.Millisecond):
		}
	}
	all := m.b.Sim.Messages(m.id)
	var out []scMsg
	for _, d := range all[m.seen:] {
		out = append(out, scRead(d))
	}
	m.seen = len(all)
	return out
}

func (m *scMember) checkSent(res wecomsim.CallbackResult, err error, what string) {
	m.t.Helper()
	if err != nil || res.Status != http.StatusOK {
		m.t.Fatalf("%s %s: status %d, %v", m.id, what, res.Status, err)
	}
}

// say sends text and returns the one reply (failing on none).
func (m *scMember) say(text string) scMsg {
	m.t.Helper()
	res, err := m.b.Sim.As(m.id).SendText(context.Background(), text)
	m.checkSent(res, err, fmt.Sprintf("%q", text))
	return m.one(fmt.Sprintf("%q", text))
}

// photo sends a JPEG and returns the reply.
func (m *scMember) photo(data []byte) scMsg {
	m.t.Helper()
	res, err := m.b.Sim.As(m.id).SendImage(context.Background(), data, "image/jpeg")
	m.checkSent(res, err, "image")
	return m.one("image")
}

// tap clicks a button of a card the member got and returns the reply.
func (m *scMember) tap(card scMsg, button string) scMsg {
	m.t.Helper()
	for i, b := range card.Buttons {
		if b == button || strings.Contains(b, button) {
			res, err := m.b.Sim.As(m.id).ClickCard(context.Background(), card.Delivered, card.Keys[i], nil)
			m.checkSent(res, err, "tap "+button)
			return m.one("tap " + button)
		}
	}
	m.t.Fatalf("%s: no button %q on %q (%q)", m.id, button, card.Text, card.Buttons)
	return scMsg{}
}

func (m *scMember) one(what string) scMsg {
	m.t.Helper()
	got := m.settle()
	if len(got) == 0 {
		rows, _ := m.b.Store.ListOutbox(context.Background(), m.id)
		var states []string
		for _, r := range rows {
			states = append(states, r.State+":"+r.Error)
		}
		m.t.Fatalf("%s: no reply to %s (outbox %q)", m.id, what, states)
	}
	return got[len(got)-1]
}

func (r scMsg) has(t *testing.T, want ...string) scMsg {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(r.Text, w) {
			t.Fatalf("reply %q does not contain %q", r.Text, w)
		}
	}
	return r
}

// state is the member's stored draft.
func (m *scMember) state() (form.State, bool) {
	m.t.Helper()
	d, err := m.b.Store.FindDraft(context.Background(), m.id)
	if store.IsNotFound(err) {
		return form.State{}, false
	}
	if err != nil {
		m.t.Fatal(err)
	}
	var data struct{ State form.State }
	json.Unmarshal([]byte(d.Data), &data)
	return data.State, true
}

// step is the open step of the member's draft ("key", "key#sub" or the phase).
func (m *scMember) step() string {
	m.t.Helper()
	st, ok := m.state()
	switch {
	case !ok:
		return ""
	case st.Phase == form.PhaseAsking:
		return st.Cursor
	case st.Phase == form.PhaseRepeat:
		return st.Repeat.Item + "#" + st.Repeat.Step
	}
	return st.Phase
}

var scForms = func() *form.Registry {
	r, err := form.Shipped()
	if err != nil {
		panic(err)
	}
	return r
}()

// fillUntil answers until the open step is stop: script by step key ("a|b"
// sends several; "jpeg:N" sends photo N of scPhotos; "tap:TEXT" taps a card
// button), else the passing answer.
func (m *scMember) fillUntil(script map[string]string, stop string) scMsg {
	m.t.Helper()
	var last scMsg
	for i := 0; i < 120; i++ {
		step := m.step()
		if step == stop || step == "" {
			return last
		}
		ans, ok := script[step]
		if !ok {
			ans = m.passing(step)
		}
		for _, a := range strings.Split(ans, "|") {
			switch {
			case strings.HasPrefix(a, "jpeg:"):
				var n int
				fmt.Sscan(a[5:], &n)
				last = m.photo(scPhoto(n))
			case strings.HasPrefix(a, "tap:"):
				last = m.tap(last, a[4:])
			default:
				last = m.say(a)
			}
		}
		if m.step() == step && !strings.Contains(step, "photo") {
			m.t.Fatalf("%s: step %s did not move on after %q: %q", m.id, step, ans, last.Text)
		}
	}
	m.t.Fatalf("%s: the form did not reach %s", m.id, stop)
	return last
}

func (m *scMember) passing(step string) string {
	key, sub, _ := strings.Cut(step, "#")
	switch sub {
	case form.RepeatProblem:
		return "有问题"
	case form.RepeatGrade:
		return "一般"
	case form.RepeatPhotos:
		return "jpeg:99|完成"
	case form.RepeatFixed:
		return "否"
	case form.RepeatFixedPhotos:
		return "跳过"
	case form.RepeatDeadline:
		return "7天"
	}
	st, _ := m.state()
	f, err := scForms.ForState(st)
	if err != nil {
		m.t.Fatal(err)
	}
	q := f.Question(key)
	switch {
	case q == nil:
		m.t.Fatalf("no question %q", key)
	case q.Type == form.TypeYesNo && q.FailOn == form.Yes:
		return "否"
	case q.Type == form.TypeYesNo:
		return "是"
	case q.Type == form.TypeText:
		return "孙安全"
	case q.Type == form.TypeDate:
		return "今天"
	case q.Type == form.TypeNumber:
		return "12"
	case q.Type == form.TypePhoto:
		return "跳过"
	}
	return "1"
}

// scPhoto is a small JPEG, different for every n.
func scPhoto(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	c := color.RGBA{uint8(n * 37), uint8(255 - n*11), uint8(n * 73), 255}
	for x := 0; x < 16; x++ {
		for y := 0; y < 12; y++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	return buf.Bytes()
}

// scLatest is the enterprise's newest submission this month.
func scLatest(t *testing.T, b *e2e.Bot, e safetybot.Enterprise) store.Submission {
	t.Helper()
	s, err := b.Store.LatestSubmission(context.Background(), e.ID, b.Store.Now().In(b.Config.Location).Format("2006-01"))
	if err != nil {
		t.Fatalf("no submission of %s: %v", e.Name, err)
	}
	return s
}
