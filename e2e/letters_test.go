package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/e2e"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/roster"
	"safetybot/store"
	"safetybot/wecomsim"
)

// Open letters end to end: a roster imported through roster.Apply*, a letter
// sent through handlers.SendLetter (what `letter send` and POST /api/letters
// run), cards delivered by the sender to the simulator, and sign-off by people
// tapping and typing in the simulator.

// letterPeople are the userids of one test's roster (unique per run: the
// per-member rate windows in a shared Redis are keyed by userid).
type letterPeople struct {
	wang, li, zhao, chen string // principals; wang heads E1 (青石镇) and E2 (白沙镇); chen heads E5 (白沙镇)
	officer              string // safety officer of E1 and E3
	official             string // 青石镇 official
	stranger             string // in nobody's roster
}

// letterRoster imports the enterprises and officials through the roster package.
func letterRoster(t *testing.T, st *store.Store) letterPeople {
	t.Helper()
	ctx := context.Background()
	u := e2e.Users("lt", 7)
	p := letterPeople{wang: u[0], li: u[1], zhao: u[2], chen: u[3], officer: u[4], official: u[5], stranger: u[6]}
	officials := [][]string{{"账号", "姓名", "角色", "镇街"}, {p.official, "周镇长", "镇街", "青石镇"}}
	res, err := roster.ReadOfficials(bytes.NewReader(csvBytes(t, officials)), "officials.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := roster.ApplyOfficials(ctx, st, res, roster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	ents := [][]string{
		{"统一社会信用代码", "企业名称", "所属镇街", "类别", "九小场所类型", "主要负责人", "负责人企业微信账号", "安全管理员账号"},
		{e2e.GeneratedCode(1), "青石甲小吃店", "青石镇", "九小场所", "小餐饮", "王建国", p.wang, p.officer},
		{e2e.GeneratedCode(2), "白沙乙旅馆", "白沙镇", "九小场所", "小旅馆", "王建国", p.wang, ""},
		{e2e.GeneratedCode(3), "青石丙家具厂", "青石镇", "五小企业", "小家具", "李秀英", p.li, p.officer},
		{e2e.GeneratedCode(4), "青石丁超市", "青石镇", "九小场所", "小商店", "赵敏", p.zhao, ""},
		{e2e.GeneratedCode(5), "白沙戊诊所", "白沙镇", "九小场所", "小医院", "陈静", p.chen, ""},
	}
	er, err := roster.ReadEnterprises(bytes.NewReader(csvBytes(t, ents)), "enterprises.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := roster.ApplyEnterprises(ctx, st, er, roster.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 5 {
		t.Fatalf("roster import: %s", rep.Summary())
	}
	return p
}

func csvBytes(t *testing.T, recs [][]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sendLetter sends a letter as `letter send` does and wakes the sender.
func sendLetter(t *testing.T, b *e2e.Bot, in handlers.LetterInput) handlers.LetterSent {
	t.Helper()
	if in.Body == "" {
		in.Body = "# " + in.Title + "\n\n请认真履行安全生产第一责任人职责，组织开展**自查自纠**。"
	}
	if in.Sender == "" {
		in.Sender = "市安委办"
	}
	res, err := handlers.SendLetter(context.Background(), b.Store, b.Config.PublicURL, b.Config.Location, in, nil)
	if err != nil {
		t.Fatalf("send letter: %v", err)
	}
	b.Sender.Wake()
	return res
}

// letterCard waits for user's n-th message and returns it with its card.
func letterCard(t *testing.T, b *e2e.Bot, user string, n int) (wecomsim.Delivered, messages.TemplateCard) {
	t.Helper()
	ds, err := b.Sim.WaitMessages(ctxT(t), user, n)
	if err != nil {
		t.Fatalf("%s received %d of %d messages", user, len(ds), n)
	}
	d := ds[n-1]
	if d.MsgType != "template_card" {
		t.Fatalf("%s message %d is %s, not a card: %s", user, n, d.MsgType, d.Body)
	}
	var c messages.TemplateCard
	if err := json.Unmarshal(d.Body, &c); err != nil {
		t.Fatal(err)
	}
	return d, c
}

func signatures(t *testing.T, st *store.Store, letterID int64) []safetybot.Signature {
	t.Helper()
	sg, err := st.Signatures(context.Background(), letterID)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// signedFor returns the enterprise ids a user's signatures cover.
func signedBy(sgs []safetybot.Signature, user string) int {
	n := 0
	for _, s := range sgs {
		if s.UserID == user {
			n++
		}
	}
	return n
}

func enterpriseID(t *testing.T, st *store.Store, n int) int64 {
	t.Helper()
	e, err := st.FindEnterpriseByCode(context.Background(), e2e.GeneratedCode(n))
	if err != nil {
		t.Fatal(err)
	}
	return e.ID
}

func TestLetterCardAndButtonSignOff(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		p := letterRoster(t, b.Store)
		ctx := ctxT(t)
		deadlineDay := time.Now().In(b.Config.Location).AddDate(0, 0, 14)
		dl := time.Date(deadlineDay.Year(), deadlineDay.Month(), deadlineDay.Day(), 0, 0, 0, 0, time.UTC)
		sent := sendLetter(t, b, handlers.LetterInput{Title: "致全市企业主要负责人的一封信", Deadline: &dl})
		l := sent.Letter
		if sent.Enterprises != 5 || sent.Principals != 4 || sent.Batches != 1 {
			t.Errorf("sent = %+v, want 5 enterprises, 4 principals, 1 batch", sent)
		}

		// Every principal gets the same button_interaction card, in one API call.
		link := fmt.Sprintf("%s/letters/%d", b.Config.PublicURL, l.ID)
		var wangCard wecomsim.Delivered
		for _, u := range []string{p.wang, p.li, p.zhao, p.chen} {
			d, c := letterCard(t, b, u, 1)
			if u == p.wang {
				wangCard = d
			}
			if c.CardType != "button_interaction" || c.MainTitle == nil || c.MainTitle.Title != l.Title {
				t.Errorf("%s card: type %q title %+v", u, c.CardType, c.MainTitle)
			}
			if !strings.Contains(c.SubTitleText, "签收") || !strings.Contains(c.SubTitleText, "承诺") {
				t.Errorf("%s card does not say what signing means: %q", u, c.SubTitleText)
			}
			var hasDeadline, hasLink bool
			for _, h := range c.HorizontalContentList {
				if h.KeyName == "签收截止" && h.Value == dl.Format("2006年1月2日") {
					hasDeadline = true
				}
				if h.URL == link {
					hasLink = true
				}
			}
			if !hasDeadline || !hasLink || c.CardAction == nil || c.CardAction.URL != link {
				t.Errorf("%s card lacks the deadline or the link %s: %s", u, link, d.Body)
			}
			if len(c.ButtonList) != 1 || c.ButtonList[0].Text != "签收" || c.ButtonList[0].Key != fmt.Sprintf("sign:%d", l.ID) {
				t.Errorf("%s card buttons = %+v", u, c.ButtonList)
			}
			if d.TaskID == "" || d.ResponseCode == "" {
				t.Errorf("%s card has no task id or response code", u)
			}
		}
		for _, u := range []string{p.officer, p.official} {
			if n := len(b.Sim.Messages(u)); n != 0 {
				t.Errorf("%s (not a principal) got %d messages", u, n)
			}
		}
		waitIdle(t, b)
		if n := b.Sim.SendCalls(); n != 1 {
			t.Errorf("message/send calls = %d, want 1 for 4 principals", n)
		}

		// The page behind the link shows the text and its SHA-256.
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(page), l.SHA256) || !strings.Contains(string(page), "<strong>自查自纠</strong>") {
			t.Errorf("letter page %d does not show the text and its SHA-256", resp.StatusCode)
		}

		t.Run("one tap signs every enterprise of the principal, a double tap nothing more", func(t *testing.T) {
			// The card update waits a moment, so that a second tap can come
			// before the button turns grey, as a double tap does.
			b.Sim.InjectFault("/cgi-bin/message/update_template_card", wecomsim.Fault{Latency: 1500 * time.Millisecond, Count: 1})
			key := fmt.Sprintf("sign:%d", l.ID)
			if _, err := b.Sim.As(p.wang).ClickCard(ctx, wangCard, key, nil); err != nil {
				t.Fatal(err)
			}
			got := waitTexts(t, b, p.wang, 2)[1]
			if !strings.Contains(got, "已签收《"+l.Title+"》") || !strings.Contains(got, "青石甲小吃店") || !strings.Contains(got, "白沙乙旅馆") {
				t.Errorf("answer = %q", got)
			}
			if _, err := b.Sim.As(p.wang).ClickCard(ctx, wangCard, key, nil); err != nil {
				t.Fatalf("second tap before the card changed: %v", err)
			}
			again := waitTexts(t, b, p.wang, 3)[2]
			if !strings.HasPrefix(again, "您已于 ") || !strings.Contains(again, l.Title) {
				t.Errorf("answer to the second tap = %q", again)
			}
			ups, err := b.Sim.WaitUpdates(ctx, p.wang, 2)
			if err != nil {
				t.Fatal(err)
			}
			if ups[0].ResponseCode != wangCard.ResponseCode {
				t.Errorf("card updated through %q, want the card's response code %q", ups[0].ResponseCode, wangCard.ResponseCode)
			}
			waitIdle(t, b)
			sgs := signatures(t, b.Store, l.ID)
			if len(sgs) != 2 || signedBy(sgs, p.wang) != 2 {
				t.Fatalf("signatures = %+v, want two by %s", sgs, p.wang)
			}
			label := "已签收 " + sgs[0].SignedAt.In(b.Config.Location).Format("01-02 15:04")
			for _, u := range ups {
				if u.ReplaceName != label {
					t.Errorf("card label %q, want %q", u.ReplaceName, label)
				}
			}
			if _, err := b.Sim.As(p.wang).ClickCard(ctx, wangCard, key, nil); err == nil {
				t.Error("the button can still be tapped after the card was updated")
			}
			for _, s := range sgs {
				if s.SHA256 != l.SHA256 || s.Method != safetybot.SignByButton || s.LetterID != l.ID {
					t.Errorf("signature = %+v", s)
				}
				audit, err := b.Store.AuditTrail(ctx, fmt.Sprintf("letter:%d/enterprise:%d", l.ID, s.EnterpriseID))
				if err != nil {
					t.Fatal(err)
				}
				if len(audit) != 1 || audit[0].Action != "letter.sign" || audit[0].Actor != p.wang || audit[0].SHA256 != l.SHA256 {
					t.Errorf("audit of enterprise %d = %+v", s.EnterpriseID, audit)
				}
			}
		})

		t.Run("a redelivered callback is handled once", func(t *testing.T) {
			liCard, _ := letterCard(t, b, p.li, 1)
			res, err := b.Sim.As(p.li).DeliverTimes(4).ClickCard(ctx, liCard, fmt.Sprintf("sign:%d", l.ID), nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Attempts != 4 {
				t.Fatalf("deliveries = %d, want 4", res.Attempts)
			}
			waitTexts(t, b, p.li, 2)
			waitIdle(t, b)
			msgs := texts(b.Sim.Messages(p.li))
			if len(msgs) != 2 || !strings.Contains(msgs[1], "已签收《") {
				t.Errorf("li received %q, want the card and one confirmation", msgs)
			}
			if ups := b.Sim.Updates(p.li); len(ups) != 1 {
				t.Errorf("li's card was updated %d times, want 1", len(ups))
			}
			if n := signedBy(signatures(t, b.Store, l.ID), p.li); n != 1 {
				t.Errorf("li signatures = %d, want 1", n)
			}
			audit, _ := b.Store.AuditTrail(ctx, fmt.Sprintf("letter:%d/enterprise:%d", l.ID, enterpriseID(t, b.Store, 3)))
			if len(audit) != 1 {
				t.Errorf("li audit rows = %d, want 1", len(audit))
			}
		})

		t.Run("text after the button answers 您已于", func(t *testing.T) {
			if _, err := b.Sim.As(p.li).SendText(ctx, "签收"); err != nil {
				t.Fatal(err)
			}
			got := waitTexts(t, b, p.li, 3)[2]
			if !strings.HasPrefix(got, "您已于 ") || !strings.Contains(got, l.Title) {
				t.Errorf("answer = %q", got)
			}
			waitIdle(t, b)
			if n := signedBy(signatures(t, b.Store, l.ID), p.li); n != 1 {
				t.Errorf("li signatures = %d, want 1", n)
			}
		})

		t.Run("typed 签收 signs with method text, whatever the userid's case", func(t *testing.T) {
			// WeCom userids are case-insensitive: the callback may spell the
			// userid otherwise than the roster.
			if _, err := b.Sim.As(strings.ToUpper(p.zhao)).SendText(ctx, "签收"); err != nil {
				t.Fatal(err)
			}
			got := waitTexts(t, b, p.zhao, 2)[1]
			if !strings.Contains(got, "已签收《"+l.Title+"》") {
				t.Errorf("answer = %q", got)
			}
			var found bool
			for _, s := range signatures(t, b.Store, l.ID) {
				if strings.EqualFold(s.UserID, p.zhao) {
					found = true
					if s.Method != safetybot.SignByText || s.EnterpriseID != enterpriseID(t, b.Store, 4) {
						t.Errorf("typed signature = %+v", s)
					}
				}
			}
			if !found {
				t.Error("no signature for the typed 签收")
			}
		})
	})
}

// tapXML is the template_card_event a tap on the letter's 签收 button sends,
// built by hand for people the simulator would not let tap (they never got the card).
func tapXML(b *e2e.Bot, user string, letterID int64, taskID string) []byte {
	c := b.Sim.Config()
	return []byte("<xml><ToUserName><![CDATA[" + c.CorpID + "]]></ToUserName><FromUserName><![CDATA[" + user +
		"]]></FromUserName><CreateTime>" + strconv.FormatInt(time.Now().Unix(), 10) +
		"</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event><EventKey><![CDATA[sign:" +
		strconv.FormatInt(letterID, 10) + "]]></EventKey><TaskId><![CDATA[" + taskID +
		"]]></TaskId><CardType><![CDATA[button_interaction]]></CardType><ResponseCode><![CDATA[forged" + user +
		"]]></ResponseCode><AgentID>" + strconv.FormatInt(c.AgentID, 10) + "</AgentID></xml>")
}

func TestLetterOnlyPrincipalsSign(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		p := letterRoster(t, b.Store)
		ctx := ctxT(t)
		// Only 青石镇: chen (白沙镇 only) is a principal the letter is not addressed to.
		l := sendLetter(t, b, handlers.LetterInput{Title: "青石镇公开信", Townships: []string{"青石镇"}}).Letter
		d, _ := letterCard(t, b, p.wang, 1)
		cases := []struct{ who, user, want string }{
			{"safety officer", p.officer, messages.OnlyPrincipalSigns},
			{"official", p.official, messages.OnlyPrincipalSigns},
			{"unknown user", p.stranger, messages.NotRegistered},
			{"principal outside the scope", p.chen, "不是发给您的企业的"},
		}
		for _, tc := range cases {
			t.Run(tc.who, func(t *testing.T) {
				if _, err := b.Sim.As(tc.user).SendRaw(ctx, tapXML(b, tc.user, l.ID, d.TaskID)); err != nil {
					t.Fatal(err)
				}
				if got := waitTexts(t, b, tc.user, 1)[0]; !strings.Contains(got, tc.want) {
					t.Errorf("answer to a tap = %q, want %q", got, tc.want)
				}
				if _, err := b.Sim.As(tc.user).SendText(ctx, "签收"); err != nil {
					t.Fatal(err)
				}
				want := tc.want
				if tc.user == p.chen {
					want = messages.NoPendingLetters
				}
				if got := waitTexts(t, b, tc.user, 2)[1]; !strings.Contains(got, want) {
					t.Errorf("answer to typed 签收 = %q, want %q", got, want)
				}
				if ups := b.Sim.Updates(tc.user); len(ups) != 0 {
					t.Errorf("card updates = %+v", ups)
				}
			})
		}
		waitIdle(t, b)
		if sgs := signatures(t, b.Store, l.ID); len(sgs) != 0 {
			t.Errorf("signatures = %+v, want none", sgs)
		}
		audit, err := b.Store.AuditTrail(ctx, fmt.Sprintf("letter:%d/enterprise:%d", l.ID, enterpriseID(t, b.Store, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 0 {
			t.Errorf("audit rows = %+v, want none", audit)
		}
	})
}

func TestLetterTypedFallback(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		p := letterRoster(t, b.Store)
		ctx := ctxT(t)
		scope := []string{"青石镇"}
		flood := sendLetter(t, b, handlers.LetterInput{Title: "防汛安全告知书", Townships: scope}).Letter
		check := sendLetter(t, b, handlers.LetterInput{Title: "安全生产大检查公开信", Townships: scope}).Letter
		letterCard(t, b, p.zhao, 2)
		seen := 2
		say := func(text string) string {
			t.Helper()
			if _, err := b.Sim.As(p.zhao).SendText(ctx, text); err != nil {
				t.Fatal(err)
			}
			seen++
			return waitTexts(t, b, p.zhao, seen)[seen-1]
		}
		count := func() (int, int) {
			return signedBy(signatures(t, b.Store, flood.ID), p.zhao), signedBy(signatures(t, b.Store, check.ID), p.zhao)
		}

		// Two pending: a numbered list, newest first.
		list := say("签收")
		if !strings.Contains(list, "1. 安全生产大检查公开信") || !strings.Contains(list, "2. 防汛安全告知书") {
			t.Fatalf("list = %q", list)
		}
		if got := say("3"); !strings.Contains(got, "1 到 2") {
			t.Errorf("out-of-range pick = %q", got)
		}
		// Anything else leaves the list: a later "1" picks nothing.
		say("你好")
		if got := say("1"); strings.Contains(got, "已签收") {
			t.Errorf("the list was still open after another message: %q", got)
		}
		if f, c := count(); f+c != 0 {
			t.Fatalf("signed %d+%d without a pick", f, c)
		}
		// Reply 2 picks the second.
		say("签收")
		if got := say("2"); !strings.Contains(got, "已签收《防汛安全告知书》") {
			t.Errorf("pick 2 = %q", got)
		}
		if f, c := count(); f != 1 || c != 0 {
			t.Errorf("after pick 2: flood %d, check %d", f, c)
		}

		// A third letter; a title fragment picks without a list.
		third := sendLetter(t, b, handlers.LetterInput{Title: "燃气安全公开信", Townships: scope}).Letter
		letterCard(t, b, p.zhao, seen+1)
		seen++
		if got := say("签收 燃气"); !strings.Contains(got, "已签收《燃气安全公开信》") {
			t.Errorf("签收 燃气 = %q", got)
		}
		if got := say("签收 不存在的标题"); !strings.Contains(got, "没有找到标题含“不存在的标题”") {
			t.Errorf("unknown fragment = %q", got)
		}
		// One pending: 签收 signs it at once.
		if got := say("签收"); !strings.Contains(got, "已签收《安全生产大检查公开信》") {
			t.Errorf("签收 with one pending = %q", got)
		}
		if got := say("签收"); !strings.HasPrefix(got, "您已于 ") {
			t.Errorf("签收 with nothing pending = %q", got)
		}
		waitIdle(t, b)
		for _, l := range []safetybot.Letter{flood, check, third} {
			sgs := signatures(t, b.Store, l.ID)
			if signedBy(sgs, p.zhao) != 1 {
				t.Errorf("letter %q: zhao signatures = %d, want 1", l.Title, signedBy(sgs, p.zhao))
			}
			for _, s := range sgs {
				if s.UserID == p.zhao && s.Method != safetybot.SignByText {
					t.Errorf("letter %q signed by %q", l.Title, s.Method)
				}
			}
		}
	})
}

func TestLetterBatches(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		const n = 2500
		ctx := ctxT(t)
		ps, err := e2e.SeedPrincipals(ctx, b.Store, 1, n, e2e.Users("batch", 1)[0], []string{"青石镇", "白沙镇", "临江镇"})
		if err != nil {
			t.Fatal(err)
		}
		sent := sendLetter(t, b, handlers.LetterInput{Title: "致全市企业主要负责人的一封信"})
		if sent.Principals != n || sent.Batches != 3 {
			t.Errorf("sent = %+v", sent)
		}
		waitIdle(t, b)
		if got, want := b.Sim.SendCalls(), (n+999)/1000; got != want {
			t.Errorf("message/send calls = %d, want ceil(%d/1000) = %d", got, n, want)
		}
		all := b.Sim.AllMessages()
		to := map[string]int{}
		tasks := map[string]bool{}
		for _, d := range all {
			to[d.To]++
			tasks[d.TaskID] = true
		}
		if len(all) != n || len(to) != n || len(tasks) != 3 {
			t.Errorf("delivered %d messages to %d people in %d tasks, want %d, %d, 3", len(all), len(to), len(tasks), n, n)
		}
		for _, p := range []e2e.Principal{ps[0], ps[n/2], ps[n-1]} {
			if to[strings.ToLower(p.UserID)] != 1 {
				t.Errorf("%s got %d cards", p.UserID, to[strings.ToLower(p.UserID)])
			}
		}
	})
}

func TestLetterEnterpriseWithTwoPrincipals(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		p := letterRoster(t, b.Store)
		ctx := ctxT(t)
		// A second principal of E1 only (linked by hand; an import links one).
		co := safetybot.Person{UserID: p.wang + "z", Name: "王副总", Role: safetybot.RolePrincipal, Township: "青石镇"}
		if _, err := b.Store.UpsertPerson(ctx, &co); err != nil {
			t.Fatal(err)
		}
		if err := b.Store.SetContact(ctx, enterpriseID(t, b.Store, 1), co.ID, safetybot.ContactPrincipal); err != nil {
			t.Fatal(err)
		}
		sent := sendLetter(t, b, handlers.LetterInput{Title: "致全市企业主要负责人的一封信"})
		if sent.Enterprises != 5 || sent.Principals != 4 {
			t.Errorf("sent = %+v, want 5 enterprises to 4 principals", sent)
		}
		d, _ := letterCard(t, b, p.wang, 1)
		waitIdle(t, b)
		// The card goes to whoever the enterprise is addressed to: a card the
		// second principal could not sign with would only confuse.
		if msgs := b.Sim.Messages(co.UserID); len(msgs) != 0 {
			t.Errorf("the second principal got %d messages", len(msgs))
		}
		if _, err := b.Sim.As(p.wang).ClickCard(ctx, d, fmt.Sprintf("sign:%d", sent.Letter.ID), nil); err != nil {
			t.Fatal(err)
		}
		waitTexts(t, b, p.wang, 2)
		waitIdle(t, b)
		if n := signedBy(signatures(t, b.Store, sent.Letter.ID), p.wang); n != 2 {
			t.Errorf("wang signed for %d enterprises, want 2", n)
		}
	})
}
