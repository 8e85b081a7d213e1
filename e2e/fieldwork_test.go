package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"safetybot/config"
	"safetybot/e2e"
	"safetybot/messages"
	"safetybot/store"
	"safetybot/wecomsim"
)

// TestLedInspectionInChat logs a leader-led inspection (S5) in chat: scoped
// search, pick from the list, date, findings, photos, hazards (each becomes a
// hazard of the enterprise), confirmation; the month's count moves.
func TestLedInspectionInChat(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b, r := fieldBot(t, v)
		ctx := context.Background()
		sd := func(days int) string { return messages.ShortDate(dayOff(r, days)) }

		mustEqual(t, "a township official who is not a leader", chatAs(t, b, r.QsStaff).say("带队检查"), messages.OnlyLeadersLog)
		mustEqual(t, "a principal", chatAs(t, b, r.Wang).say("带队检查"), messages.OnlyLeadersLog)

		ld := chatAs(t, b, r.QsLeader)
		mustEqual(t, "another township's enterprise", ld.say("带队检查 印染"),
			"无权查看：“印染”不在您的管辖范围内\n"+messages.AskFieldEnterprise)
		mustEqual(t, "search", ld.say("青石"), messages.PickEnterpriseText(
			[]string{"青石旅馆［青石镇］", "青石家具厂［青石镇］", "青石小吃店［青石镇］", "青石建材厂［青石镇］"}, 4))
		mustEqual(t, "pick", ld.say("3"), "企业：青石小吃店［青石镇］\n"+messages.AskFieldDate)
		mustEqual(t, "a future date", ld.say("2099-01-01"), messages.FutureDate)
		mustEqual(t, "date", ld.say("今天"), messages.AskFindings)
		mustEqual(t, "findings", ld.say("后厨消防器材不足，员工不会使用灭火器"), messages.AskPhotos)
		mustEqual(t, "photo 1", ld.photo(1), messages.PhotoNoted(1))
		mustEqual(t, "photo 2", ld.photo(2), messages.PhotoNoted(2))
		mustEqual(t, "photos done", ld.say("好了"), messages.AskHazards)
		mustEqual(t, "major hazard", ld.say("消防通道堵塞 重大 15天"), messages.HazardNoted(1, "消防通道堵塞", "重大", dayOff(r, 15)))
		mustEqual(t, "general hazard", ld.say("插座乱接"), messages.HazardNoted(2, "插座乱接", "一般", dayOff(r, 7)))
		mustContain(t, "summary", ld.say("好了"), "企业：青石小吃店［青石镇］", "日期："+sd(0), "照片：2 张", "隐患：2 条",
			"1. 消防通道堵塞（重大，期限"+sd(15)+"）", "2. 插座乱接（一般，期限"+sd(7)+"）", messages.AskConfirm)
		// A question in the middle of the form is answered; the form stays open.
		mustContain(t, "a query inside the form", ld.say("我的带队检查"), messages.LedHeader(r.Day, 2, 3))
		mustEqual(t, "confirm", ld.say("确认"), messages.LedDone("青石小吃店", 2, 3, 3))
		mustContain(t, "我的带队检查 after", ld.say("我的带队检查"), messages.LedHeader(r.Day, 3, 3), "3. "+sd(0)+" 青石小吃店［青石镇］，隐患 2 条")

		var hz []struct {
			Description string `db:"description"`
			Grade       string `db:"grade"`
			Status      string `db:"status"`
			Deadline    string `db:"deadline"`
			Source      string `db:"source"`
		}
		if err := b.Store.DB().Select(&hz, b.Store.DB().Rebind(`SELECT description, grade, status, deadline, source FROM hazards
			WHERE enterprise_id = ? AND inspection_id IS NOT NULL ORDER BY id`), r.E1); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("消防通道堵塞/重大/整改中/%s/带队检查,插座乱接/一般/整改中/%s/带队检查", dayOff(r, 15), dayOff(r, 7))
		var got []string
		for _, h := range hz {
			got = append(got, strings.Join([]string{h.Description, h.Grade, h.Status, h.Deadline, h.Source}, "/"))
		}
		mustEqual(t, "hazards of the led inspection", strings.Join(got, ","), want)
		led, err := b.Store.LedInspections(ctx, store.Scope{Role: "township", UserID: r.QsLeader, Township: e2e.RosterQs}, r.Day)
		if err != nil || len(led) != 3 {
			t.Fatalf("led inspections: %d %v", len(led), err)
		}
		in, _, err := b.Store.FindInspection(ctx, led[2].ID)
		if err != nil || len(in.Photos) != 2 || in.Findings != "后厨消防器材不足，员工不会使用灭火器" {
			t.Fatalf("the inspection: %+v %v", in, err)
		}
		if e, _ := b.Store.FindEnterprise(ctx, r.E1); e.LastInspected == nil || e.LastInspected.Format("2006-01-02") != r.Day {
			t.Fatalf("E1 last inspected %v, want %s", e.LastInspected, r.Day)
		}
	})
}

// TestOpinionFormSignatures fills the on-site inspection opinion form (S9):
// the principal and the accompanying official each get the record and a card;
// one signs, one refuses with a reason; the record is then complete, the
// inspector hears who signed, and the enterprise counts as inspected.
func TestOpinionFormSignatures(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b, r := fieldBot(t, v)
		ctx := context.Background()
		sd := func(days int) string { return messages.ShortDate(dayOff(r, days)) }
		yj, li, gan := chatAs(t, b, r.Yj), chatAs(t, b, r.Li), chatAs(t, b, r.QsStaff)

		mustEqual(t, "a principal cannot fill it", chatAs(t, b, r.Wang).say("现场检查"), messages.OnlyOfficialsForm)
		mustEqual(t, "start", yj.say("现场检查"), messages.AskFieldEnterprise)
		mustEqual(t, "enterprise", yj.say("家具"), "企业：青石家具厂［青石镇］\n"+messages.AskFieldDate)
		mustEqual(t, "date", yj.say("今天"), messages.AskItems)
		mustEqual(t, "items", yj.say("消防设施、粉尘防爆"), messages.AskProblems)
		mustEqual(t, "problems", yj.say("除尘设备未接地"), messages.AskRectification)
		mustEqual(t, "rectification", yj.say("加装接地装置 10天"), messages.AskPhotos)
		mustEqual(t, "no photos", yj.say("好了"), messages.AskSigner("陪同检查干部"))
		mustEqual(t, "not oneself", yj.say("冯科长"), "不能填写您自己，请发送另一位干部的姓名。")
		mustContain(t, "accompanying official", yj.say("吴"), "陪同检查干部：吴干事\n请核对：\n【现场检查意见书】",
			"被检查单位：青石家具厂［青石镇］", "检查项目：消防设施、粉尘防爆", "发现问题：除尘设备未接地",
			"整改要求：加装接地装置（期限"+sd(10)+"）", messages.AskConfirm)
		created := yj.say("确认")
		var id int64
		if _, err := fmt.Sscanf(created, "已保存检查记录（编号 %d）", &id); err != nil {
			t.Fatalf("confirmation %q: %v", created, err)
		}
		mustEqual(t, "created", created, messages.InspectionCreated(id, []string{"李秀英", "吴干事"}, 0))

		signCard := func(m *member, role string) wecomsim.Delivered {
			t.Helper()
			got := m.fresh()
			if len(got) != 2 {
				t.Fatalf("%s got %d messages, want the record and a card", m.id, len(got))
			}
			mustContain(t, m.id+"'s copy", texts(got)[0], fmt.Sprintf("【现场检查意见书】编号 %d", id), "检查人员：冯科长",
				"签字：冯科长（检查人员）、李秀英（企业主要负责人）、吴干事（陪同检查干部）")
			c := card(t, got[1])
			if c.MainTitle.Title != "现场检查意见书待您签字" || len(c.ButtonList) != 2 || c.ButtonList[0].Text != "签字确认" || c.ButtonList[1].Text != "拒签" ||
				c.ButtonList[0].Key != messages.InspectionButtonKey(messages.InspectionSignKey, id, role) {
				t.Fatalf("%s's card: %+v", m.id, c)
			}
			return got[1]
		}
		liCard, ganCard := signCard(li, store.SignerPrincipal), signCard(gan, store.SignerAccompanying)

		inspected := func() string {
			e, err := b.Store.FindEnterprise(ctx, r.E3)
			if err != nil || e.LastInspected == nil {
				t.Fatalf("E3: %v", err)
			}
			return e.LastInspected.Format("2006-01-02")
		}
		if got := inspected(); got != dayOff(r, -1200) {
			t.Fatalf("last inspected %s before the signatures, want it unchanged", got)
		}

		got := li.click(liCard, messages.InspectionButtonKey(messages.InspectionSignKey, id, store.SignerPrincipal))
		if len(got) != 1 || texts(got)[0] != messages.InspectionSigned(id, false) {
			t.Fatalf("li signs: %q", texts(got))
		}
		got = gan.click(ganCard, messages.InspectionButtonKey(messages.InspectionRefuseKey, id, store.SignerAccompanying))
		if len(got) != 1 || texts(got)[0] != messages.AskRefuseReason {
			t.Fatalf("gan taps 拒签: %q", texts(got))
		}
		if len(yj.fresh()) != 0 {
			t.Fatal("the inspector heard of completion before the refusal's reason")
		}
		mustEqual(t, "reason", gan.say("整改期限太短，设备要停产才能改"), messages.InspectionSigned(id, true))
		for user, label := range map[string]string{r.Li: "已签字", r.QsStaff: "已拒签"} {
			ups := b.Sim.Updates(user)
			if len(ups) != 1 || ups[0].ReplaceName != label {
				t.Errorf("%s's card updates %+v, want the buttons replaced by %s", user, ups, label)
			}
		}
		mustEqual(t, "the inspector's note", yj.only("completion"), messages.InspectionCompleteText(id, "青石家具厂", []string{
			"冯科长（检查人员）已签字", "李秀英（企业主要负责人）已签字", "吴干事（陪同检查干部）拒签：整改期限太短，设备要停产才能改"}))

		in, signers, err := b.Store.FindInspection(ctx, id)
		if err != nil || in.Status != store.InspectionComplete || len(signers) != 3 || signers[2].State != store.SignRefused {
			t.Fatalf("stored record %+v %+v %v", in, signers, err)
		}
		if got := inspected(); got != r.Day {
			t.Fatalf("last inspected %s after completion, want %s", got, r.Day)
		}
		mustEqual(t, "两年未检查 after the inspection", yj.say("两年未检查"), "应急管理局监管企业 两年内未检查的企业 1 家：\n"+
			"1. 青石旅馆［青石镇］（王建国 13800000002 从未检查）")
	})
}

// TestUndercoverVisit records an undercover visit (S10): any enterprise of
// the city, photo evidence required, and a written notice to the township's
// officials and the supervising department's officials.
func TestUndercoverVisit(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b, r := fieldBot(t, v)
		ctx := context.Background()
		zj := chatAs(t, b, r.Zj)

		mustEqual(t, "on-site check outside the department", zj.say("现场检查 小吃"), "无权查看：“小吃”不在您的管辖范围内\n"+messages.AskFieldEnterprise)
		mustEqual(t, "cancel", zj.say("取消"), messages.FieldCancelled)
		mustEqual(t, "start", zj.say("暗查 小吃"), "企业：青石小吃店［青石镇］\n"+messages.AskFieldDate)
		mustEqual(t, "date", zj.say("昨天"), messages.AskItems)
		mustEqual(t, "items", zj.say("燃气管道"), messages.AskProblems)
		mustEqual(t, "problems", zj.say("液化气钢瓶未固定，软管老化"), messages.AskRectification)
		mustEqual(t, "rectification", zj.say("立即整改"), messages.AskPhotosRequired)
		mustEqual(t, "no photo yet", zj.say("好了"), messages.NeedPhoto)
		mustEqual(t, "photo", zj.photo(1), messages.PhotoNoted(1))
		mustEqual(t, "photos done", zj.say("好了"), messages.AskSigner("陪同检查干部"))
		mustContain(t, "summary", zj.say("郑镇长"), "【暗查记录】", "照片：1 张", "整改要求：立即整改（期限"+messages.ShortDate(r.Day)+"）")
		created := zj.say("确认")
		var id int64
		fmt.Sscanf(created, "已保存检查记录（编号 %d）", &id)
		mustEqual(t, "created", created, messages.InspectionCreated(id, []string{"王建国", "郑镇长"}, 4))

		for _, u := range []string{r.QsLeader, r.QsStaff, r.Yj, r.YjStaff} {
			mustContain(t, "written notice to "+u, chatAs(t, b, u).only("the notice"),
				"【暗查通报】"+messages.ShortDate(dayOff(r, -1))+"，褚科长 对青石镇青石小吃店进行暗查。",
				"发现问题：液化气钢瓶未固定，软管老化", "照片证据 1 张已存档", fmt.Sprintf("记录编号 %d", id))
		}
		for _, u := range []string{r.BsLeader, r.Wang} {
			if got := chatAs(t, b, u).fresh(); len(got) != 2 || got[1].MsgType != "template_card" {
				t.Errorf("signer %s got %q, want the record and a card", u, texts(got))
			}
		}
		if got := chatAs(t, b, r.Office).fresh(); len(got) != 0 {
			t.Errorf("the office got %q; the notice goes to the township and the department", texts(got))
		}
		var groups string
		if err := b.Store.DB().Get(&groups, b.Store.DB().Rebind(`SELECT groups FROM notices ORDER BY id DESC LIMIT 1`)); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "notice groups", groups, `["township-officials:青石镇","department:应急管理局"]`)

		// A cross-check goes to another township's enterprise too.
		mustEqual(t, "cross-check elsewhere", chatAs(t, b, r.BsLeader).say("交叉检查 家具"), "企业：青石家具厂［青石镇］\n"+messages.AskFieldDate)
		_ = ctx
	})
}

// TestNotices sends notices in chat (office only, confirmed with the count)
// and through POST /api/notices with 已阅, and acknowledges them.
func TestNotices(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v, func(o *e2e.Options) { o.Configure = func(c *config.Config) { c.AdminToken = "notice-token" } })
		r, err := e2e.SeedFieldRoster(context.Background(), b.Store, b.Clock.Now().In(b.Config.Location), strings.TrimPrefix(e2e.Users("nt", 1)[0], "nt-"))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		of := chatAs(t, b, r.Office)
		text := "明天上午九点在镇政府开安全例会"

		mustEqual(t, "not the office", chatAs(t, b, r.QsLeader).say("通知 青石镇 "+text), messages.OnlyOfficeNotice)
		mustEqual(t, "usage", of.say("通知 青石镇"), messages.NoticeUsage)
		mustEqual(t, "unknown township", of.say("通知 火星镇 开会"), "没有名为“火星镇”的镇街")
		mustEqual(t, "draft", of.say("通知 青石镇 "+text), messages.NoticeConfirmText("青石镇", 4, text))
		mustEqual(t, "cancel", of.say("取消"), messages.NoticeCancelled)
		mustEqual(t, "draft again", of.say("通知 青石镇 "+text), messages.NoticeConfirmText("青石镇", 4, text))
		sent := of.say("确认")
		var id int64
		fmt.Sscanf(sent, "通知已发出（编号 %d）", &id)
		mustEqual(t, "sent", sent, messages.NoticeSentText(id, 4))
		for _, u := range []string{r.Wang, r.Li, r.QsLeader, r.QsStaff} {
			mustEqual(t, "notice to "+u, chatAs(t, b, u).only("the notice"), messages.NoticeText(text, "卫主任"))
		}
		for _, u := range []string{r.Zhang, r.BsLeader, r.Yj} {
			if got := chatAs(t, b, u).fresh(); len(got) != 0 {
				t.Errorf("%s outside 青石镇 got %q", u, texts(got))
			}
		}

		post := func(token, body string) (int, map[string]any) {
			req, _ := http.NewRequest(http.MethodPost, b.URL()+"/api/notices", bytes.NewBufferString(body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}
		if code, out := post("wrong", `{"text":"x","to":["principals"]}`); code != http.StatusUnauthorized {
			t.Fatalf("wrong token: %d %v", code, out)
		}
		if code, out := post("notice-token", `{"text":"x","to":["everyone"]}`); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "everyone") {
			t.Fatalf("bad group: %d %v", code, out)
		}
		code, out := post("notice-token", `{"text":"请重点单位于周五前上报自查情况","to":["key-units"],"ack":true}`)
		if code != http.StatusCreated || out["recipients"] != float64(2) || out["api_calls"] != float64(1) {
			t.Fatalf("POST /api/notices: %d %v", code, out)
		}
		ackID := int64(out["id"].(float64))
		li, liu := chatAs(t, b, r.Li), chatAs(t, b, r.Liu)
		got := li.fresh()
		if len(got) != 1 {
			t.Fatalf("li got %q, want the 已阅 card", texts(got))
		}
		c := card(t, got[0])
		if c.SubTitle != "请重点单位于周五前上报自查情况" || len(c.ButtonList) != 1 || c.ButtonList[0].Text != "已阅" {
			t.Fatalf("the notice card: %+v", c)
		}
		if got := li.click(got[0], c.ButtonList[0].Key); len(got) != 0 {
			t.Fatalf("the tap answered %q; the card's button turns grey instead", texts(got))
		}
		if ups := b.Sim.Updates(r.Li); len(ups) != 1 || !strings.HasPrefix(ups[0].ReplaceName, "已阅 ") {
			t.Fatalf("li's card updates: %+v", ups)
		}
		liu.fresh()
		mustEqual(t, "typed 已阅", liu.say("已阅"), messages.NoticeAckText(ackID))
		mustEqual(t, "nothing more to acknowledge", liu.say("已阅"), messages.NoPendingAck)
		rs, err := b.Store.NoticeRecipients(ctx, ackID)
		if err != nil || len(rs) != 2 || rs[0].AckedAt == nil || rs[1].AckedAt == nil {
			t.Fatalf("acknowledgements: %+v %v", rs, err)
		}
	})
}

// TestOpinionFormSignersFromSettings takes the signer roles from the
// campaign's settings: inspector, principal and safety officer here, so no
// accompanying official is asked for and the safety officer gets a card.
func TestOpinionFormSignersFromSettings(t *testing.T) {
	b, r := fieldBot(t, variants[0])
	if _, err := b.Store.DB().Exec(`INSERT INTO campaigns (name, starts_on, ends_on, settings, created_at)
		VALUES ('2026年大检查', '2026-01-01', '2026-12-31', '{"inspection_signers":["inspector","principal","safety_officer"]}', CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	qs := chatAs(t, b, r.QsLeader)
	mustEqual(t, "an enterprise without a safety officer", qs.say("现场检查 家具"), messages.NoEnterpriseOfficer)
	mustEqual(t, "enterprise", qs.say("小吃"), "企业：青石小吃店［青石镇］\n"+messages.AskFieldDate)
	for _, answer := range []string{"今天", "消防设施", "无", "无"} {
		qs.say(answer)
	}
	mustContain(t, "no accompanying official asked", qs.say("好了"), "请核对：", "【现场检查意见书】")
	created := qs.say("确认")
	var id int64
	fmt.Sscanf(created, "已保存检查记录（编号 %d）", &id)
	mustEqual(t, "created", created, messages.InspectionCreated(id, []string{"王建国", "孙安全"}, 0))
	for user, role := range map[string]string{r.Wang: store.SignerPrincipal, r.Officer: store.SignerSafetyOfficer} {
		got := chatAs(t, b, user).fresh()
		if len(got) != 2 || card(t, got[1]).ButtonList[0].Key != messages.InspectionButtonKey(messages.InspectionSignKey, id, role) {
			t.Fatalf("%s got %q, want the record and a card to sign as %s", user, texts(got), role)
		}
	}
	_, signers, err := b.Store.FindInspection(context.Background(), id)
	if err != nil || len(signers) != 3 || signers[2].Role != store.SignerSafetyOfficer || signers[2].UserID != r.Officer {
		t.Fatalf("signers %+v %v", signers, err)
	}
}
