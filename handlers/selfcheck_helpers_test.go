package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
	"safetybot/store/storetest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// world is a store with a small roster and the router, driven as the
// processor drives it: one transaction per inbound message.
type world struct {
	t     *testing.T
	st    *store.Store
	r     *handlers.Router
	clock *clock
	seq   int

	shop, plant, keyUnit safetybot.Enterprise
}

// Users of the roster.
const (
	boss     = "boss"     // principal of the shop and of the plant
	officer  = "officer"  // safety officer of the shop
	solo     = "solo"     // principal of the key unit only
	township = "township" // official of 青石镇
	dept     = "dept"     // official of 应急管理局, the key unit's department
	other    = "other"    // official of another township
)

func code(prefix string) string { return prefix + string(safetybot.CreditCodeCheckChar(prefix)) }

// eachWorld runs fn on SQLite and Postgres, each with a fresh world.
func eachWorld(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			c := &clock{t: time.Date(2026, 7, 15, 10, 0, 0, 0, shanghai)}
			st := storetest.New(t, d, storetest.Options{Clock: c})
			w := &world{t: t, st: st, clock: c,
				r: handlers.New(handlers.Deps{Store: st, PublicURL: "https://bot.example", Location: shanghai})}
			w.roster()
			fn(t, w)
		})
	}
}

func (w *world) roster() {
	ctx := context.Background()
	mk := func(c, name, cat, small string, key bool, dept string) safetybot.Enterprise {
		e := &safetybot.Enterprise{CreditCode: code(c), Name: name, Township: "青石镇", Category: cat, SmallType: small, KeyUnit: key, Department: dept}
		if err := w.st.CreateEnterprise(ctx, e); err != nil {
			w.t.Fatal(err)
		}
		return *e
	}
	w.shop = mk("91320581MA1XC0001", "青石小餐馆", safetybot.CategoryNineSmall, "小餐饮", false, "")
	w.plant = mk("91320581MA1XC0002", "青石家具厂", safetybot.CategoryFiveSmall, "小家具", false, "")
	w.keyUnit = mk("91320581MA1XC0003", "青石化工", safetybot.CategoryGeneral, "", true, "应急管理局")
	people := []safetybot.Person{
		{UserID: boss, Name: "王老板", Role: safetybot.RolePrincipal},
		{UserID: officer, Name: "李安全", Role: safetybot.RoleSafetyOfficer},
		{UserID: solo, Name: "赵厂长", Role: safetybot.RolePrincipal},
		{UserID: township, Name: "周镇长", Role: safetybot.RoleTownship, Township: "青石镇"},
		{UserID: dept, Name: "吴科长", Role: safetybot.RoleDepartment, Department: "应急管理局"},
		{UserID: other, Name: "郑干部", Role: safetybot.RoleTownship, Township: "白水镇"},
	}
	ids := map[string]int64{}
	for _, p := range people {
		p := p
		if err := w.st.CreatePerson(ctx, &p); err != nil {
			w.t.Fatal(err)
		}
		ids[p.UserID] = p.ID
	}
	link := func(e safetybot.Enterprise, user string, role safetybot.ContactRole) {
		if err := w.st.SetContact(ctx, e.ID, ids[user], role); err != nil {
			w.t.Fatal(err)
		}
	}
	link(w.shop, boss, safetybot.ContactPrincipal)
	link(w.plant, boss, safetybot.ContactPrincipal)
	link(w.shop, officer, safetybot.ContactSafetyOfficer)
	link(w.keyUnit, solo, safetybot.ContactPrincipal)
}

// handle runs one inbound message through the router in a transaction, as the
// processor does, and returns the reply. A user error (not internal) comes
// back as its message, as the processor shows it.
func (w *world) handle(in messages.Inbound) messages.Reply {
	w.t.Helper()
	w.seq++
	in.MsgID = fmt.Sprint(w.seq)
	in.CreateTime = w.clock.Now()
	var reply messages.Reply
	err := w.st.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		reply, err = w.r.Handle(ctx, in)
		return err
	})
	if err != nil {
		if msg := safetybot.ErrorMessage(err); msg != "" {
			return messages.Reply{messages.Text(msg)}
		}
		w.t.Fatalf("%s: handle %+v: %v", in.From, in, err)
	}
	return reply
}

func (w *world) say(user, text string) messages.Reply {
	w.t.Helper()
	return w.handle(messages.Inbound{From: user, Kind: messages.KindText, Text: text})
}

// photo sends an image that the bot stored (as the processor does) with a
// SHA-256 made from name.
func (w *world) photo(user, name string) (messages.Reply, string) {
	w.t.Helper()
	sum := sha256.Sum256([]byte(name))
	sha := hex.EncodeToString(sum[:])
	if err := w.st.SavePhoto(context.Background(), sha, "image/jpeg", 1000, user); err != nil {
		w.t.Fatal(err)
	}
	return w.handle(messages.Inbound{From: user, Kind: messages.KindImage, MediaID: "m" + name, PhotoSHA256: sha}), sha
}

func (w *world) badPhoto(user, msg string) messages.Reply {
	w.t.Helper()
	return w.handle(messages.Inbound{From: user, Kind: messages.KindImage, MediaID: "bad", PhotoError: msg})
}

func (w *world) click(user, key string) messages.Reply {
	w.t.Helper()
	return w.handle(messages.Inbound{From: user, Kind: messages.KindEvent, Event: messages.EventTemplateCard,
		EventKey: key, TaskID: "t", ResponseCode: "rc" + fmt.Sprint(w.seq)})
}

func (w *world) menu(user, key string) messages.Reply {
	w.t.Helper()
	return w.handle(messages.Inbound{From: user, Kind: messages.KindEvent, Event: messages.EventClick, EventKey: key})
}

// shown is one outgoing message as a person would read it.
type shown struct {
	To      []string
	Text    string   // text content, or a card's title and body
	Keys    []string // card button keys
	Buttons []string // card button texts
	Update  string   // replace_name of a card update
	Card    *messages.TemplateCard
}

func show(o messages.Outgoing) shown {
	s := shown{To: o.To}
	switch b := o.Body.(type) {
	case messages.TextBody:
		s.Text = b.Text.Content
	case messages.TemplateCardBody:
		c := b.TemplateCard
		s.Card = &c
		if c.MainTitle != nil {
			s.Text = c.MainTitle.Title + "\n"
		}
		s.Text += c.SubTitleText
		for _, btn := range c.ButtonList {
			s.Keys = append(s.Keys, btn.Key)
			s.Buttons = append(s.Buttons, btn.Text)
		}
	case messages.UpdateButtonBody:
		s.Update = b.Button.ReplaceName
	default:
		raw, _ := json.Marshal(o.Body)
		s.Text = string(raw)
	}
	return s
}

// to returns what reply says to user (To empty means the sender).
func to(reply messages.Reply, user, sender string) []shown {
	var out []shown
	for _, o := range reply {
		if (len(o.To) == 0 && user == sender) || contains(o.To, user) {
			out = append(out, show(o))
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// last is the last thing reply says to the sender (updates skipped).
func last(t *testing.T, reply messages.Reply) shown {
	t.Helper()
	for i := len(reply) - 1; i >= 0; i-- {
		if len(reply[i].To) == 0 && !reply[i].Update {
			return show(reply[i])
		}
	}
	t.Fatalf("no reply to the sender in %d messages", len(reply))
	return shown{}
}

func mustContain(t *testing.T, s shown, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s.Text, w) {
			t.Fatalf("reply %q does not contain %q", s.Text, w)
		}
	}
}

// keyFor returns the key of the card button with text.
func keyFor(t *testing.T, s shown, button string) string {
	t.Helper()
	for i, b := range s.Buttons {
		if b == button {
			return s.Keys[i]
		}
	}
	t.Fatalf("no button %q on %q (buttons %q)", button, s.Text, s.Buttons)
	return ""
}

// answer replies to each question in turn: the map is keyed by a piece of the
// question's text; unlisted yes/no questions get the passing answer given
// by dflt. It stops at the first reply that contains stop, and returns it.
func (w *world) answerUntil(user string, first shown, answers map[string]string, stop string) shown {
	w.t.Helper()
	cur := first
	for i := 0; i < 80; i++ {
		if strings.Contains(cur.Text, stop) {
			return cur
		}
		reply := ""
		for k, v := range answers {
			if strings.Contains(cur.Text, k) {
				reply = v
				break
			}
		}
		if reply == "" {
			w.t.Fatalf("no scripted answer for %q", cur.Text)
		}
		cur = last(w.t, w.say(user, reply))
	}
	w.t.Fatalf("form did not reach %q", stop)
	return cur
}

var registry = func() *form.Registry {
	r, err := form.Shipped()
	if err != nil {
		panic(err)
	}
	return r
}()

// draft returns the user's stored draft state (ok false when none).
func (w *world) draft(user string) (form.State, bool) {
	w.t.Helper()
	d, err := w.st.FindDraft(context.Background(), user)
	if store.IsNotFound(err) {
		return form.State{}, false
	}
	if err != nil {
		w.t.Fatal(err)
	}
	var data struct {
		State form.State `json:"state"`
	}
	if err := json.Unmarshal([]byte(d.Data), &data); err != nil {
		w.t.Fatal(err)
	}
	return data.State, true
}

// step is the user's open step: a question key, "key#sub" in a hazard block,
// or the phase ("review", "confirm_submit" …).
func (w *world) step(user string) string {
	w.t.Helper()
	st, ok := w.draft(user)
	if !ok {
		return ""
	}
	switch st.Phase {
	case form.PhaseAsking:
		return st.Cursor
	case form.PhaseRepeat:
		return st.Repeat.Item + "#" + st.Repeat.Step
	}
	return st.Phase
}

// passing is the answer that passes a question of the user's form.
func (w *world) passing(user, key string) string {
	w.t.Helper()
	st, _ := w.draft(user)
	f, err := registry.ForState(st)
	if err != nil {
		w.t.Fatal(err)
	}
	q := f.Question(key)
	if q == nil {
		w.t.Fatalf("no question %q", key)
	}
	switch q.Type {
	case form.TypeYesNo:
		if q.FailOn == form.Yes {
			return "否"
		}
		return "是"
	case form.TypeText:
		return "李安全"
	case form.TypeDate:
		return "今天"
	case form.TypeNumber:
		return "20"
	case form.TypeSingle:
		return "1"
	case form.TypePhoto:
		return "跳过"
	}
	return "是"
}

// fill answers the user's open form until it reaches the review: script
// answers by step key (several messages separated by "|"; "photo:NAME" sends
// a photo), everything else gets the passing answer. It returns the last reply.
func (w *world) fill(user string, script map[string]string) shown {
	w.t.Helper()
	return w.fillUntil(user, script, form.PhaseReview)
}

// fillUntil is fill stopping when the open step is stop.
func (w *world) fillUntil(user string, script map[string]string, stop string) shown {
	w.t.Helper()
	var last shown
	for i := 0; i < 120; i++ {
		step := w.step(user)
		if step == stop || step == "" {
			return last
		}
		ans, ok := script[step]
		if !ok {
			ans = w.passing(user, strings.Split(step, "#")[0])
		}
		for _, a := range strings.Split(ans, "|") {
			var reply messages.Reply
			if name, ok := strings.CutPrefix(a, "photo:"); ok {
				reply, _ = w.photo(user, name)
			} else {
				reply = w.say(user, a)
			}
			last = lastTo(w.t, reply)
		}
		if w.step(user) == step && !strings.Contains(step, "photo") {
			w.t.Fatalf("step %s did not move on after %q: %q", step, ans, last.Text)
		}
	}
	w.t.Fatalf("the form did not reach %s", stop)
	return last
}

func lastTo(t *testing.T, reply messages.Reply) shown { t.Helper(); return last(t, reply) }
