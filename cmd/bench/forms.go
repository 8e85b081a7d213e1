package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"safetybot"
	"safetybot/app"
	"safetybot/e2e"
	"safetybot/store"
	"safetybot/wecomsim"
)

func init() { register(scenario{name: "forms", run: benchForms}) }

const (
	formsGoalP95     = 150 * time.Millisecond // step: message in → next question at the simulator
	formsThinkMin    = 3 * time.Second        // a member reads at least this long between steps
	formsThinkSpread = 4 * time.Second        // … plus up to this much more
)

// benchForms runs the whole bot (Postgres, Redis, processor, sender) with
// 1,000 members filling their self-inspection form at once, each stepping at
// random like a person on a phone: mostly answers (typed or tapped on the
// card), now and then 上一步, 帮助, a wrong answer, photos where asked. Each
// member reads for 3–7 s before the next step (5 s on average: 200 steps/s in
// all, the load of the chat round-trip goal, and well under WeCom's 30
// messages a minute per member). A step's latency is from sending the
// message to the next question's arrival at the simulator. The table also
// shows where the time goes: callback stored → handled, reply queued → sent.
func benchForms(ctx context.Context, env *benchEnv) ([]row, error) {
	dbURL, drop, err := env.FreshPostgres(ctx, "forms")
	if err != nil {
		return nil, err
	}
	defer drop()
	b, err := e2e.Start(e2e.Options{DatabaseURL: dbURL, RedisURL: env.RedisURL, DataDir: env.TempDir, App: app.Options{}})
	if err != nil {
		return nil, err
	}
	defer b.Stop()

	sessions, steps := 1000, 20
	if env.Quick {
		sessions, steps = 100, 8
	}
	users := e2e.Users("form", sessions)
	env.Logf("forms: registering %d enterprises and principals", sessions)
	if err := seedForms(ctx, b.Store, users); err != nil {
		return nil, err
	}
	env.Logf("forms: %d sessions × %d steps", sessions, steps+1)
	var (
		mu       sync.Mutex
		lat      []time.Duration
		failed   atomic.Int64
		timedOut atomic.Int64
		firstMu  sync.Mutex
		first    error
	)
	fail := func(err error) {
		if errors.Is(err, context.DeadlineExceeded) {
			// No answer within formsWait: the bot fell behind. The session
			// stops (a late answer would be taken for the next one).
			timedOut.Add(1)
			return
		}
		failed.Add(1)
		firstMu.Lock()
		if first == nil {
			first = err
		}
		firstMu.Unlock()
	}
	runCtx, cancel := context.WithTimeout(ctx, time.Duration(steps)*(formsThinkMin+formsThinkSpread)+3*time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &formSession{b: b, user: u, rnd: rand.New(rand.NewPCG(uint64(i), 7)), photo: benchJPEG(i)}
			// Stagger the starts over three seconds.
			if !sleepCtx(runCtx, time.Duration(s.rnd.Int64N(int64(3*time.Second)))) {
				return
			}
			for k := 0; k <= steps; k++ {
				d, err := s.step(runCtx, k == 0)
				if err != nil {
					fail(fmt.Errorf("%s step %d: %w", u, k, err))
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
				if !sleepCtx(runCtx, formsThinkMin+time.Duration(s.rnd.Int64N(int64(formsThinkSpread)))) {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if n := failed.Load(); n > 0 {
		return nil, fmt.Errorf("%d sessions failed; first: %v", n, first)
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return nil, fmt.Errorf("no steps measured")
	}
	p := func(q float64) time.Duration { return lat[min(len(lat)-1, max(0, int(float64(len(lat))*q/100+0.5)-1))] }
	p95 := p(95)
	figure := fmt.Sprintf("p95 %s (p50 %s, p99 %s, max %s; %d steps, %.0f steps/s)", ms(p95), ms(p(50)), ms(p(99)), ms(lat[len(lat)-1]),
		len(lat), float64(len(lat))/elapsed.Seconds())
	if n := timedOut.Load(); n > 0 {
		figure += fmt.Sprintf("; %d sessions got no answer within %s", n, formsWait)
	}
	rows := []row{metRow(fmt.Sprintf("form step p95, %d concurrent sessions (Postgres+Redis)", sessions), figure,
		"≤ "+ms(formsGoalP95), p95 <= formsGoalP95 && timedOut.Load() == 0)}
	if st, err := stageTimes(ctx, b.Store); err == nil {
		rows = append(rows, infoRow("form step: callback stored → handled; reply queued → sent", st))
	}
	return rows, nil
}

// formsWait is how long a member waits for the next question before giving up.
const formsWait = 30 * time.Second

// stageTimes reads where a step's time went from the inbox and outbox rows.
func stageTimes(ctx context.Context, st *store.Store) (string, error) {
	var r struct {
		In50, In95, Out50, Out95 float64
	}
	err := st.DB().GetContext(ctx, &r, `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) AS in50,
		percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM processed_at - received_at)) AS in95,
		(SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)) FROM outbox WHERE sent_at IS NOT NULL) AS out50,
		(SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)) FROM outbox WHERE sent_at IS NOT NULL) AS out95
		FROM inbox WHERE processed_at IS NOT NULL`)
	sec := func(f float64) string { return ms(time.Duration(f * float64(time.Second))) }
	return fmt.Sprintf("handled p50 %s, p95 %s; sent p50 %s, p95 %s", sec(r.In50), sec(r.In95), sec(r.Out50), sec(r.Out95)), err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// seedForms registers one 九小场所 enterprise (of varying types) per user, with
// the user as its principal.
func seedForms(ctx context.Context, st *store.Store, users []string) error {
	types := []string{"小餐饮", "小旅馆", "小商店", "小网吧", "小美容洗浴", "小歌舞娱乐"}
	return st.InTx(ctx, func(ctx context.Context) error {
		for i, u := range users {
			first := fmt.Sprintf("91320581MA%07d", 2_000_000+i)
			e := safetybot.Enterprise{CreditCode: first + string(safetybot.CreditCodeCheckChar(first)), Name: "压测企业" + strconv.Itoa(i),
				Township: fmt.Sprintf("压测镇%d", i%14), Category: safetybot.CategoryNineSmall, SmallType: types[i%len(types)], KeyUnit: i%10 == 0}
			if err := st.CreateEnterprise(ctx, &e); err != nil {
				return err
			}
			p := safetybot.Person{UserID: u, Name: "负责人" + strconv.Itoa(i), Role: safetybot.RolePrincipal}
			if err := st.CreatePerson(ctx, &p); err != nil {
				return err
			}
			if err := st.SetContact(ctx, e.ID, p.ID, safetybot.ContactPrincipal); err != nil {
				return err
			}
		}
		return nil
	})
}

// formSession is one member filling the form.
type formSession struct {
	b     *e2e.Bot
	user  string
	rnd   *rand.Rand
	photo []byte
	got   int // messages received so far
	last  wecomsim.Delivered
}

// step sends the member's next input and waits for the bot's answer; it
// returns the latency.
func (s *formSession) step(ctx context.Context, first bool) (time.Duration, error) {
	send := func() (wecomsim.CallbackResult, error) { return s.b.Sim.As(s.user).SendText(ctx, "自查") }
	if !first {
		send = s.next(ctx)
	}
	sent := time.Now()
	if _, err := send(); err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, formsWait)
	defer cancel()
	ds, err := s.b.Sim.WaitMessages(wctx, s.user, s.got+1)
	if err != nil {
		return 0, fmt.Errorf("no answer: %w", err)
	}
	s.got = len(ds)
	s.last = ds[s.got-1]
	return s.last.At.Sub(sent), nil
}

// next picks the member's input from the bot's last message, as a person
// reads it (the driver never touches the database, so it adds no load
// there): tap or type one of a card's options; a photo, 完成 or 跳过 where
// photos are asked; a date, a number or some text; 提交 at the review. Now
// and then it sends 上一步, 帮助 or a wrong answer instead. Whatever it
// sends, the bot answers with exactly one message.
func (s *formSession) next(ctx context.Context) func() (wecomsim.CallbackResult, error) {
	sim := s.b.Sim.As(s.user)
	say := func(t string) func() (wecomsim.CallbackResult, error) {
		return func() (wecomsim.CallbackResult, error) { return sim.SendText(ctx, t) }
	}
	var card struct {
		MainTitle struct {
			Title string `json:"title"`
		} `json:"main_title"`
		SubTitleText string `json:"sub_title_text"`
		ButtonList   []struct {
			Key string `json:"key"`
		} `json:"button_list"`
	}
	var plain struct {
		Content string `json:"content"`
	}
	text := ""
	if s.last.MsgType == "template_card" {
		json.Unmarshal(s.last.Body, &card)
		text = card.MainTitle.Title + "\n" + card.SubTitleText
	} else {
		json.Unmarshal(s.last.Body, &plain)
		text = plain.Content
	}
	r := s.rnd.IntN(100)
	switch {
	case r < 5:
		return say("上一步")
	case r < 8:
		return say("帮助")
	case r < 11:
		return say("也许吧") // a wrong answer for most steps
	}
	has := func(w string) bool { return strings.Contains(text, w) }
	switch {
	case len(card.ButtonList) > 0:
		// Options: mostly the first (是 passes most items; the rest fail
		// into a hazard block now and then), tapped or typed.
		n := 1
		if s.rnd.IntN(4) == 0 {
			n = 1 + s.rnd.IntN(len(card.ButtonList))
		}
		if s.rnd.IntN(3) == 0 {
			key, d := card.ButtonList[n-1].Key, s.last
			return func() (wecomsim.CallbackResult, error) { return sim.ClickCard(ctx, d, key, nil) }
		}
		return say(strconv.Itoa(n))
	case has("请核对"):
		return say("提交")
	case has("确认以负责人身份签字提交"), has("确认取消"):
		return say("确认")
	case has("已取消"), has("已经提交过了"), has("不用再填"), has("签字提交"):
		return say("自查")
	case has("收到第"), has("已收到"):
		return say("完成")
	case has("照片") && has("选填"):
		return say("跳过")
	case has("照片"):
		return func() (wecomsim.CallbackResult, error) { return sim.SendImage(ctx, s.photo, "image/jpeg") }
	case has("哪天前整改"):
		return say("7天")
	case has("日期"):
		return say("今天")
	case has("问题是什么"):
		return say("通道堆放杂物")
	case has("多少"):
		return say("20")
	case has("请回复 1–"):
		return say("1")
	}
	return say("张三")
}

// benchJPEG is a small JPEG unique to n.
func benchJPEG(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	c := color.RGBA{uint8(n), uint8(n >> 8), uint8(n * 7), 255}
	for x := 0; x < 32; x++ {
		for y := 0; y < 24; y++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}
