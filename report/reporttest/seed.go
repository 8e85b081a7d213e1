// Package reporttest seeds a store with a described campaign for the report
// and admin-page tests. A Fixture is plain data, so a test can compute every
// figure it expects from it without going through the code under test.
package reporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/store"
)

// Clock is a settable clock for seeded stores.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the time shown.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Location is the campaign time zone of the fixtures.
var Location = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}()

// Day is midnight of a date in the campaign time zone, plus hours.
func Day(date string, hours ...int) time.Time {
	t, err := time.ParseInLocation("2006-01-02", date, Location)
	if err != nil {
		panic(err)
	}
	if len(hours) > 0 {
		t = t.Add(time.Duration(hours[0]) * time.Hour)
	}
	return t
}

// Fixture describes a campaign's data.
type Fixture struct {
	Now         time.Time
	Campaign    Campaign
	Enterprises []Ent
	Leaders     []Leader
	Letters     []Letter
	// Photos are image files by name; Missing lists names whose file is not
	// written (a photo the data dir lost).
	Photos  map[string][]byte
	Missing map[string]bool
}

// Campaign is the campaign row.
type Campaign struct {
	Name, StartsOn, EndsOn string
}

// Ent is an enterprise with everything that happened to it.
type Ent struct {
	Code, Name, Township, Category string
	KeyUnit                        bool
	Inactive                       bool
	LastInspected                  string // roster date, "" for none
	Principal, PrincipalName       string // userid and name
	Subs                           []Sub
	Hazards                        []Hazard
	Inspections                    []Inspection
}

// Sub is one period's self-inspection: the state of each version in order.
type Sub struct {
	Period   string
	Versions []string
}

// Hazard is one hazard and its history.
type Hazard struct {
	Grade, Status, Deadline, Tracker string
	FoundAt                          time.Time
	ClosedAt                         time.Time // zero: none
	Photos                           []string  // photo names (keys of Fixture.Photos)
	Events                           []Event
	Description                      string
}

// Event is one status change.
type Event struct {
	At     time.Time
	From   string
	To     string
	Photos []string
	Note   string
}

// Inspection is one on-site inspection.
type Inspection struct {
	On        string
	Inspector string
	Led       bool
	Signed    int // signatures in state signed
}

// Leader is a leader who owes led inspections.
type Leader struct {
	UserID, Name, Role, Township, Department string
}

// Letter is an open letter: when it was sent, whether it is filed under the
// campaign, whom it addressed (enterprise codes) and who signed.
type Letter struct {
	Title     string
	SentAt    time.Time
	Campaign  bool
	Addressed []string
	Signed    []string
}

// SHA returns the SHA-256 of a fixture photo.
func (f *Fixture) SHA(name string) string {
	if name == "bad" {
		return "../../etc/passwd" // a corrupt entry that must never reach the file system
	}
	sum := sha256.Sum256(f.Photos[name])
	return hex.EncodeToString(sum[:])
}

// Ent returns the enterprise with the code.
func (f *Fixture) Ent(code string) *Ent {
	for i := range f.Enterprises {
		if f.Enterprises[i].Code == code {
			return &f.Enterprises[i]
		}
	}
	return nil
}

// Code builds a valid credit code from a number.
func Code(n int) string {
	first := fmt.Sprintf("91320581MA%07d", n)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// PNG returns a small valid PNG of one colour.
func PNG(r, g, b uint8) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for x := 0; x < 8; x++ {
		for y := 0; y < 6; y++ {
			img.Set(x, y, color.RGBA{r, g, b, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// Seed writes the fixture into the store (and its photos under dataDir when
// not empty). clock must be the store's clock: letters are sent at their time.
func Seed(t testing.TB, s *store.Store, clock *Clock, dataDir string, f *Fixture) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("seed %s: %v", what, err)
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := s.DB().ExecContext(ctx, s.DB().Rebind(q), args...)
		must(err, q)
	}
	var campaignID int64
	if f.Campaign.Name != "" {
		must(s.DB().GetContext(ctx, &campaignID, s.DB().Rebind(`INSERT INTO campaigns (name, starts_on, ends_on, settings, created_at) VALUES (?, ?, ?, '{}', ?) RETURNING id`),
			f.Campaign.Name, f.Campaign.StartsOn, f.Campaign.EndsOn, f.Now), "campaign")
	}
	for name, data := range f.Photos {
		sha := f.SHA(name)
		must(s.SavePhoto(ctx, sha, "image/png", int64(len(data)), "seed"), "photo")
		if dataDir != "" && !f.Missing[name] {
			p := filepath.Join(dataDir, "photos", sha[:2], sha)
			must(os.MkdirAll(filepath.Dir(p), 0o755), "photo dir")
			must(os.WriteFile(p, data, 0o644), "photo file")
		}
	}
	photos := func(names []string) string {
		shas := []string{}
		for _, n := range names {
			shas = append(shas, f.SHA(n))
		}
		b, _ := json.Marshal(shas)
		return string(b)
	}
	ids := map[string]int64{}
	for _, e := range f.Enterprises {
		ent := safetybot.Enterprise{CreditCode: e.Code, Name: e.Name, Township: e.Township, Category: e.Category, KeyUnit: e.KeyUnit}
		if e.LastInspected != "" {
			d, _ := time.Parse("2006-01-02", e.LastInspected)
			ent.LastInspected = &d
		}
		_, err := s.UpsertEnterprise(ctx, &ent)
		must(err, "enterprise "+e.Name)
		ids[e.Code] = ent.ID
		if e.Principal != "" {
			p := safetybot.Person{UserID: e.Principal, Name: e.PrincipalName, Role: safetybot.RolePrincipal, Township: e.Township, Active: true}
			_, err := s.UpsertPerson(ctx, &p)
			must(err, "principal")
			must(s.ReplaceContacts(ctx, ent.ID, safetybot.ContactPrincipal, []int64{p.ID}), "contact")
		}
		for _, sub := range e.Subs {
			for v, state := range sub.Versions {
				var signedAt *time.Time
				if state == safetybot.SubmissionSigned {
					signedAt = &f.Now
				}
				exec(`INSERT INTO submissions (enterprise_id, period, form_key, form_version, version, answers, filler, signer, signed_at, state, created_at)
					VALUES (?, ?, 'general', '1', ?, '{}', ?, ?, ?, ?, ?)`, ent.ID, sub.Period, v+1, e.Principal, e.Principal, signedAt, state, f.Now)
			}
		}
		for _, h := range e.Hazards {
			var deadline *string
			if h.Deadline != "" {
				deadline = &h.Deadline
			}
			var closed *time.Time
			if !h.ClosedAt.IsZero() {
				closed = &h.ClosedAt
			}
			desc := h.Description
			if desc == "" {
				desc = "隐患：" + h.Grade + h.Status
			}
			var hid int64
			must(s.DB().GetContext(ctx, &hid, s.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, closed_at, tracker, photos, updated_at)
				VALUES (?, '自查', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				ent.ID, desc, h.Grade, h.Status, deadline, h.FoundAt, e.Principal, closed, h.Tracker, photos(h.Photos), f.Now), "hazard")
			for _, ev := range h.Events {
				exec(`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					hid, ev.At, "official", ev.From, ev.To, ev.Note, photos(ev.Photos))
			}
		}
		for _, in := range e.Inspections {
			kind, status := "现场检查", "待签字"
			if in.Led {
				kind, status = "带队检查", "已登记"
			} else if in.Signed == 3 {
				status = "已完成"
			}
			var iid int64
			must(s.DB().GetContext(ctx, &iid, s.DB().Rebind(`INSERT INTO inspections (kind, enterprise_id, inspector, led, inspected_on, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), kind, ent.ID, in.Inspector, in.Led, in.On, status, f.Now), "inspection")
			roles := []string{"inspector", "principal", "accompanying"}
			for i, role := range roles {
				state := "pending"
				if i < in.Signed {
					state = "signed"
				}
				exec(`INSERT INTO inspection_signatures (inspection_id, role, userid, state) VALUES (?, ?, ?, ?)`, iid, role, "u"+role, state)
			}
		}
		if e.Inactive {
			exec(`UPDATE enterprises SET active = FALSE WHERE id = ?`, ent.ID)
		}
	}
	for _, l := range f.Leaders {
		p := safetybot.Person{UserID: l.UserID, Name: l.Name, Role: safetybot.Role(l.Role), Township: l.Township, Department: l.Department, Leader: true, Active: true}
		_, err := s.UpsertPerson(ctx, &p)
		must(err, "leader")
	}
	for i, l := range f.Letters {
		clock.Set(l.SentAt)
		var recips []store.LetterRecipient
		for _, code := range l.Addressed {
			e := f.Ent(code)
			recips = append(recips, store.LetterRecipient{EnterpriseID: ids[code], Enterprise: e.Name, UserID: e.Principal, Township: e.Township})
		}
		letter := safetybot.Letter{Title: l.Title, Body: "致全市企业的一封公开信", Sender: "市安委办", Scope: "{}"}
		must(s.CreateLetter(ctx, &letter, fmt.Sprintf("seedletter%d", i), recips), "letter")
		if l.Campaign {
			exec(`UPDATE letters SET campaign_id = ? WHERE id = ?`, campaignID, letter.ID)
		}
		for _, code := range l.Signed {
			_, err := s.SignLetter(ctx, letter.ID, f.Ent(code).Principal, "button")
			must(err, "sign")
		}
	}
	clock.Set(f.Now)
	return ids
}

// Small is a hand-made campaign whose figures are worked out by hand in the
// tests (see the comments there): two townships, seven enterprises in scope
// and an inactive one, hazards in every state, leaders below and on target.
func Small() *Fixture {
	f := &Fixture{
		Now:      Day("2026-08-20", 10),
		Campaign: Campaign{Name: "2026年安全生产大检查", StartsOn: "2026-07-01", EndsOn: "2026-09-30"},
		Photos:   map[string][]byte{"a": PNG(200, 30, 30), "b": PNG(30, 200, 30), "c": PNG(30, 30, 200)},
		Missing:  map[string]bool{"c": true},
	}
	a1, a2, a3, a4, a5 := Code(1), Code(2), Code(3), Code(4), Code(5)
	b1, b2, b3 := Code(11), Code(12), Code(13)
	f.Enterprises = []Ent{
		{Code: a1, Name: "青石甲化工厂", Township: "青石镇", Category: safetybot.CategoryFiveSmall, KeyUnit: true, Principal: "qa1", PrincipalName: "甲一",
			Subs: []Sub{{"2026-07", []string{"待签字"}}, {"2026-08", []string{"已签字"}}},
			Hazards: []Hazard{
				{Grade: "重大", Status: "已销号", Deadline: "2026-08-10", Tracker: "qs_leader", FoundAt: Day("2026-07-10", 9), ClosedAt: Day("2026-08-05", 15),
					Photos: []string{"a"}, Description: "反应釜无泄压装置",
					Events: []Event{
						{At: Day("2026-07-11", 9), From: "待整改", To: "整改中", Note: "已制定治理方案"},
						{At: Day("2026-08-04", 9), From: "整改中", To: "待复查", Photos: []string{"b"}},
						{At: Day("2026-08-05", 15), From: "待复查", To: "已销号", Note: "复查合格"},
					}},
				{Grade: "一般", Status: "待整改", Deadline: "2026-08-01", FoundAt: Day("2026-07-20", 9)},
			},
			Inspections: []Inspection{{"2026-07-15", "qs_leader", true, 3}, {"2026-08-03", "QS_Leader", true, 3}, {"2026-08-10", "qs_leader", true, 2}, {"2026-08-12", "qs_leader", true, 3}}},
		{Code: a2, Name: "青石乙超市", Township: "青石镇", Category: safetybot.CategoryNineSmall, LastInspected: "2020-01-01", Principal: "qa2", PrincipalName: "乙二",
			Subs: []Sub{{"2026-08", []string{"待签字"}}},
			Hazards: []Hazard{
				{Grade: "一般", Status: "已整改", Deadline: "2026-08-10", FoundAt: Day("2026-08-01", 9), ClosedAt: Day("2026-08-12", 9)},
				{Grade: "较大", Status: "停产整改", Deadline: "2026-09-30", FoundAt: Day("2026-08-01", 10),
					Events: []Event{{At: Day("2026-08-02", 9), From: "待整改", To: "停产整改"}}},
			}},
		{Code: a3, Name: "青石丙宾馆", Township: "青石镇", Category: safetybot.CategoryNineSmall, KeyUnit: true, Principal: "qa3", PrincipalName: "丙三",
			Subs: []Sub{{"2026-07", []string{"已签字"}}, {"2026-08", []string{"已退回"}}},
			Hazards: []Hazard{
				{Grade: "重大", Status: "整改中", Deadline: "2026-09-15", FoundAt: Day("2026-08-08", 9)},
			},
			Inspections: []Inspection{{"2025-06-01", "insp1", false, 3}}},
		{Code: a4, Name: "青石丁作坊", Township: "青石镇", Category: safetybot.CategoryGeneral, Principal: "qa4", PrincipalName: "丁四",
			Hazards: []Hazard{
				{Grade: "一般", Status: "关闭取缔", Deadline: "2026-08-10", FoundAt: Day("2026-07-05", 9),
					Events: []Event{{At: Day("2026-08-15", 9), From: "待整改", To: "关闭取缔"}}},
			}},
		{Code: a5, Name: "青石戊厂", Township: "青石镇", Category: safetybot.CategoryGeneral, Inactive: true, Principal: "qa5", PrincipalName: "戊五",
			Hazards: []Hazard{{Grade: "一般", Status: "待整改", Deadline: "2026-08-30", FoundAt: Day("2026-07-25", 9)}}},
		{Code: b1, Name: "白沙甲饭店", Township: "白沙镇", Category: safetybot.CategoryNineSmall, Principal: "ba1", PrincipalName: "白一",
			Subs: []Sub{{"2026-08", []string{"已退回", "已签字"}}},
			Hazards: []Hazard{
				{Grade: "一般", Status: "已销号", Deadline: "2026-06-25", FoundAt: Day("2026-06-20", 9), ClosedAt: Day("2026-06-22", 9)},
				{Grade: "重大", Status: "已销号", FoundAt: Day("2026-07-02", 9), ClosedAt: Day("2026-08-18", 9), Photos: []string{"c", "bad"}, Tracker: "bs_leader"},
			},
			Inspections: []Inspection{{"2026-08-05", "bs_leader", true, 3}, {"2026-07-20", "dept_leader", true, 3}}},
		{Code: b2, Name: "白沙乙电镀厂", Township: "白沙镇", Category: safetybot.CategoryFiveSmall, KeyUnit: true, Principal: "ba2", PrincipalName: "白二",
			Inspections: []Inspection{{"2026-08-06", "insp1", false, 1}}},
		{Code: b3, Name: "白沙丙商店", Township: "白沙镇", Category: safetybot.CategoryGeneral, LastInspected: "2025-01-01", Principal: "ba3", PrincipalName: "白三"},
	}
	f.Leaders = []Leader{
		{UserID: "qs_leader", Name: "青石镇长", Role: "township", Township: "青石镇"},
		{UserID: "qs_leader2", Name: "青石副镇长", Role: "township", Township: "青石镇"},
		{UserID: "bs_leader", Name: "白沙镇长", Role: "township", Township: "白沙镇"},
		{UserID: "dept_leader", Name: "安监局长", Role: "department", Department: "安监局"},
	}
	f.Letters = []Letter{
		{Title: "去年的公开信", SentAt: Day("2026-06-01", 9), Addressed: []string{a1}},
		{Title: "致全市企业的一封公开信", SentAt: Day("2026-07-03", 9), Campaign: true, Addressed: []string{a1, a2, a3, a5, b1, b2}, Signed: []string{a1, a2, b1, b2}},
	}
	return f
}

// Random is a generated campaign of n enterprises over four townships with
// every kind of record, reproducible from the seed.
func Random(seed uint64, n int) *Fixture {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := &Fixture{
		Now:      Day("2026-08-20", 10),
		Campaign: Campaign{Name: "随机大检查", StartsOn: "2026-07-01", EndsOn: "2026-09-30"},
		Photos:   map[string][]byte{},
		Missing:  map[string]bool{},
	}
	for i := 0; i < 6; i++ {
		name := fmt.Sprintf("p%d", i)
		f.Photos[name] = PNG(uint8(40*i), 100, uint8(255-30*i))
	}
	townships := []string{"东湖街道", "西山镇", "南港镇", "北塘板块"}
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	day := func(from, to string) time.Time {
		a, b := Day(from), Day(to)
		days := int(b.Sub(a).Hours() / 24)
		return a.AddDate(0, 0, r.IntN(days+1)).Add(time.Duration(8+r.IntN(10)) * time.Hour)
	}
	var leaders []string
	for i, t := range townships {
		for j := 0; j < 2; j++ {
			u := fmt.Sprintf("ld%d_%d", i, j)
			leaders = append(leaders, u)
			f.Leaders = append(f.Leaders, Leader{UserID: u, Name: fmt.Sprintf("%s领导%d", t, j), Role: "township", Township: t})
		}
	}
	f.Leaders = append(f.Leaders, Leader{UserID: "dl0", Name: "部门领导", Role: "department", Department: "住建局"})
	leaders = append(leaders, "dl0")
	statuses := []string{"待整改", "整改中", "待复查", "已销号", "已整改", "停产整改", "关闭取缔"}
	main := Letter{Title: "公开信", SentAt: Day("2026-07-02", 9), Campaign: true}
	second := Letter{Title: "补充通知", SentAt: Day("2026-08-02", 9)} // filed under no campaign, sent while it runs
	for i := 0; i < n; i++ {
		e := Ent{Code: Code(1000 + i), Name: fmt.Sprintf("企业%03d", i), Township: townships[r.IntN(len(townships))],
			Category: safetybot.Categories[r.IntN(3)], KeyUnit: r.IntN(4) == 0, Inactive: r.IntN(15) == 0,
			Principal: fmt.Sprintf("p%04d", i), PrincipalName: fmt.Sprintf("负责人%d", i)}
		if r.IntN(3) > 0 {
			e.LastInspected = day("2022-01-01", "2026-06-30").Format("2006-01-02")
		}
		if r.IntN(10) > 0 {
			main.Addressed = append(main.Addressed, e.Code)
			if r.IntN(3) > 0 {
				main.Signed = append(main.Signed, e.Code)
			}
		}
		if r.IntN(4) == 0 {
			second.Addressed = append(second.Addressed, e.Code)
			if r.IntN(2) == 0 {
				second.Signed = append(second.Signed, e.Code)
			}
		}
		for _, period := range []string{"2026-06", "2026-07", "2026-08"} {
			if r.IntN(3) == 0 {
				continue
			}
			var vs []string
			for v := 0; v < 1+r.IntN(3); v++ {
				vs = append(vs, pick("待签字", "已签字", "已退回", "已签字"))
			}
			e.Subs = append(e.Subs, Sub{Period: period, Versions: vs})
		}
		for h := 0; h < r.IntN(4); h++ {
			hz := Hazard{Grade: pick("一般", "一般", "一般", "较大", "重大"), Status: statuses[r.IntN(len(statuses))],
				FoundAt: day("2026-06-15", "2026-08-20")}
			if r.IntN(5) > 0 {
				hz.Deadline = hz.FoundAt.AddDate(0, 0, r.IntN(40)).Format("2006-01-02")
			}
			if hz.Status == "已销号" || hz.Status == "已整改" {
				hz.ClosedAt = hz.FoundAt.Add(time.Duration(r.IntN(30*24)) * time.Hour)
				if hz.ClosedAt.After(f.Now) {
					hz.ClosedAt = f.Now.Add(-time.Hour)
				}
			}
			if r.IntN(2) == 0 {
				hz.Tracker = pick(leaders...)
			}
			if r.IntN(3) == 0 {
				hz.Photos = []string{fmt.Sprintf("p%d", r.IntN(6))}
			}
			at := hz.FoundAt
			prev := "待整改"
			for k := 0; k < r.IntN(3); k++ {
				at = at.Add(time.Duration(1+r.IntN(72)) * time.Hour)
				to := statuses[r.IntN(len(statuses))]
				ev := Event{At: at, From: prev, To: to}
				if r.IntN(3) == 0 {
					ev.Photos = []string{fmt.Sprintf("p%d", r.IntN(6))}
				}
				hz.Events = append(hz.Events, ev)
				prev = to
			}
			e.Hazards = append(e.Hazards, hz)
		}
		for k := 0; k < r.IntN(4); k++ {
			in := Inspection{On: day("2024-01-01", "2026-08-20").Format("2006-01-02"), Inspector: pick(append(leaders, "insp1", "insp2")...),
				Led: r.IntN(2) == 0, Signed: r.IntN(4)}
			if r.IntN(2) == 0 {
				in.On = day("2026-07-01", "2026-08-20").Format("2006-01-02")
			}
			e.Inspections = append(e.Inspections, in)
		}
		f.Enterprises = append(f.Enterprises, e)
	}
	f.Letters = []Letter{main, second}
	return f
}
