package handlers_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
)

func (w *world) latest(e safetybot.Enterprise) store.Submission {
	w.t.Helper()
	s, err := w.st.LatestSubmission(context.Background(), e.ID, "2026-07")
	if err != nil {
		w.t.Fatalf("latest submission of %s: %v", e.Name, err)
	}
	return s
}

// startShop opens the shop's form for user (the boss is asked which enterprise).
func (w *world) startShop(user string) shown {
	w.t.Helper()
	r := lastTo(w.t, w.say(user, "自查"))
	if user == boss {
		mustContain(w.t, r, "青石小餐馆", "青石家具厂")
		r = lastTo(w.t, w.say(user, "2"))
	}
	mustContain(w.t, r, "第 1/", "燃料")
	return r
}

func TestSelfCheckPrincipalFillsAndSigns(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(boss)
		w.fill(boss, map[string]string{
			"exits_clear":                "否",
			"exits_clear#problem":        "后门上锁",
			"exits_clear#grade":          "2",
			"exits_clear#photos":         "photo:door1|photo:door2|完成",
			"exits_clear#fixed":          "否",
			"exits_clear#deadline":       "7天",
			"extinguishers":              "否",
			"extinguishers#problem":      "两具灭火器过期",
			"extinguishers#grade":        "一般",
			"extinguishers#photos":       "photo:ext|完成",
			"extinguishers#fixed":        "是",
			"extinguishers#fixed_photos": "photo:extnew|完成",
			"overall_photos":             "photo:hall|完成",
		})
		review := lastTo(t, w.say(boss, "继续"))
		mustContain(t, review, "请核对", "安全出口", "重大隐患")
		confirm := lastTo(t, w.say(boss, "提交"))
		mustContain(t, confirm, "确认以负责人身份签字提交")
		if w.step(boss) != form.PhaseConfirmSubmit {
			t.Fatalf("after 提交 the step is %q", w.step(boss))
		}
		if _, err := w.st.LatestSubmission(context.Background(), w.shop.ID, "2026-07"); !store.IsNotFound(err) {
			t.Fatalf("a submission exists before the principal confirmed: %v", err)
		}
		reply := w.say(boss, "确认")
		mustContain(t, lastTo(t, reply[:1]), "已签字提交")

		sub := w.latest(w.shop)
		if sub.State != safetybot.SubmissionSigned || sub.Signer != boss || sub.Filler != boss || sub.SignedAt == nil || sub.Version != 1 {
			t.Fatalf("submission %+v, want signed by the boss, version 1", sub)
		}
		if sub.FormVersion != "nine-small@2+closing@1" || sub.FormKey != "nine-small+closing" || sub.FillerRole != safetybot.ContactPrincipal {
			t.Fatalf("form %q %q role %q", sub.FormKey, sub.FormVersion, sub.FillerRole)
		}
		var ans handlers.SubmissionAnswers
		if err := json.Unmarshal([]byte(sub.Answers), &ans); err != nil || len(ans.Items) < 20 || ans.State.Ctx.Enterprise != "青石小餐馆" {
			t.Fatalf("answers: %v, %d items", err, len(ans.Items))
		}
		photos, err := w.st.SubmissionPhotos(context.Background(), sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, p := range photos {
			kinds[p.ItemKey+"/"+p.Kind]++
		}
		if kinds["exits_clear/problem"] != 2 || kinds["extinguishers/problem"] != 1 || kinds["extinguishers/fixed"] != 1 || kinds["overall_photos/answer"] != 1 {
			t.Fatalf("photos by item: %v", kinds)
		}

		hs, err := w.st.ListHazards(context.Background(), store.HazardFilter{SubmissionID: sub.ID})
		if err != nil || len(hs) != 2 {
			t.Fatalf("hazards %+v, %v; want 2", hs, err)
		}
		door, ext := hs[0], hs[1]
		if door.Grade != safetybot.GradeMajor || door.Status != safetybot.HazardRectifying || door.Deadline == nil ||
			door.Deadline.Format("2006-01-02") != "2026-07-22" || !strings.Contains(door.Description, "后门上锁") || door.Source != "自查" {
			t.Fatalf("major hazard %+v", door)
		}
		if ext.Grade != safetybot.GradeGeneral || ext.Status != safetybot.HazardFixed || ext.Deadline != nil {
			t.Fatalf("fixed hazard %+v", ext)
		}
		if ps, _ := w.st.HazardPhotos(context.Background(), door.ID); len(ps) != 2 {
			t.Fatalf("major hazard photos %v", ps)
		}

		// The 重大 hazard reached the township official at once; the other
		// township's official and the shop (no department) heard nothing.
		cards := to(reply, township, boss)
		if len(cards) != 1 || cards[0].Card == nil || !strings.Contains(cards[0].Text, "重大隐患") || !strings.Contains(cards[0].Card.SubTitleText, "后门上锁") {
			t.Fatalf("township official got %+v", cards)
		}
		if k := keyFor(t, cards[0], "退回补正"); k != messages.SelfCheckReturnKey+itoa(sub.ID) {
			t.Fatalf("return key %q", k)
		}
		if !strings.Contains(cards[0].Card.CardAction.URL, "/submissions/") || !strings.Contains(cards[0].Card.CardAction.URL, "sig=") {
			t.Fatalf("card link %q is not a signed report link", cards[0].Card.CardAction.URL)
		}
		if got := to(reply, other, boss); len(got) != 0 {
			t.Fatalf("another township's official was told: %+v", got)
		}

		trail, err := w.st.AuditTrail(context.Background(), "submission:"+itoa(sub.ID))
		if err != nil || len(trail) != 2 || trail[0].Action != "submission.submit" || trail[1].Action != "submission.sign" || trail[0].SHA256 != sub.SHA256 {
			t.Fatalf("audit %+v, %v", trail, err)
		}

		// Double 提交 and 确认 after done: no second submission.
		mustContain(t, lastTo(t, w.say(boss, "提交")), "不用重复提交")
		mustContain(t, lastTo(t, w.say(boss, "确认")), "不用重复提交")
		if vs, _ := w.st.SubmissionVersions(context.Background(), w.shop.ID, "2026-07"); len(vs) != 1 {
			t.Fatalf("%d submissions after double submit", len(vs))
		}
		// This month is done for the shop.
		w.say(boss, "自查")
		mustContain(t, lastTo(t, w.say(boss, "2")), "签字提交，本月不用再填")
	})
}

func itoa(i int64) string { return strings.TrimSpace(strings.ReplaceAll(jsonNum(i), "\"", "")) }

func jsonNum(i int64) string { b, _ := json.Marshal(i); return string(b) }

// A fix on the spot claimed without a photo is registered 整改中 with the
// campaign's default deadline, not 已整改.
func TestSelfCheckFixedOnSpotWithoutPhoto(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(boss)
		w.fill(boss, map[string]string{
			"extinguishers":              "否",
			"extinguishers#problem":      "两具灭火器过期",
			"extinguishers#grade":        "一般",
			"extinguishers#photos":       "photo:ext|完成",
			"extinguishers#fixed":        "是",
			"extinguishers#fixed_photos": "跳过",
		})
		w.say(boss, "提交")
		mustContain(t, lastTo(t, w.say(boss, "确认")), "已签字提交")
		hs, err := w.st.ListHazards(context.Background(), store.HazardFilter{SubmissionID: w.latest(w.shop).ID})
		if err != nil || len(hs) != 1 {
			t.Fatalf("hazards %+v, %v; want 1", hs, err)
		}
		if h := hs[0]; h.Status != safetybot.HazardRectifying || h.Deadline == nil || !h.Deadline.After(w.clock.Now()) {
			t.Fatalf("hazard %+v, want 整改中 with a deadline", h)
		}
	})
}

func TestSelfCheckOfficerFillsPrincipalSigns(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.fill(officer, nil)
		reply := w.say(officer, "提交")
		mustContain(t, show(reply[0]), "已提交", "负责人签字")
		sub := w.latest(w.shop)
		if sub.State != safetybot.SubmissionAwaitingSignature || sub.Filler != officer || sub.Signer != "" {
			t.Fatalf("submission %+v, want 待签字", sub)
		}
		cards := to(reply, boss, officer)
		if len(cards) != 1 || cards[0].Card == nil {
			t.Fatalf("the principal got %+v, want the signature card", cards)
		}
		mustContain(t, cards[0], "待您签字")
		// A second 提交 from the officer does nothing.
		mustContain(t, lastTo(t, w.say(officer, "提交")), "不用重复提交")

		// Someone else may not sign.
		mustContain(t, lastTo(t, w.click(officer, keyFor(t, cards[0], "签字确认"))), "只有本企业主要负责人")
		signed := w.click(boss, keyFor(t, cards[0], "签字确认"))
		if u := show(signed[0]).Update; !strings.HasPrefix(u, "已签字") {
			t.Fatalf("the card was not greyed out: %+v", show(signed[0]))
		}
		mustContain(t, lastTo(t, signed), "已签字确认")
		if got := to(signed, officer, boss); len(got) != 1 || !strings.Contains(got[0].Text, "签字确认") {
			t.Fatalf("the officer was told %+v", got)
		}
		sub = w.latest(w.shop)
		if !sub.Signed() || sub.Signer != boss || sub.Filler != officer {
			t.Fatalf("after signing: %+v", sub)
		}
		// A second tap says so and changes nothing.
		mustContain(t, lastTo(t, w.click(boss, keyFor(t, cards[0], "签字确认"))), "不用重复签字")
		trail, _ := w.st.AuditTrail(context.Background(), "submission:"+itoa(sub.ID))
		if len(trail) != 2 {
			t.Fatalf("audit rows %d, want submit + sign", len(trail))
		}
	})
}

// A submission stored 已签字 without a signing time (the schema allows it; a
// roster seeded by SQL has such rows) is still answered: 自查 and a second tap
// on its signature card say it is signed, at the time it was made.
func TestSelfCheckSignedWithoutSigningTime(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.fill(officer, nil)
		cards := to(w.say(officer, "提交"), boss, officer)
		if len(cards) != 1 || cards[0].Card == nil {
			t.Fatalf("the principal got %+v, want the signature card", cards)
		}
		sub := w.latest(w.shop)
		db := w.st.DB()
		if _, err := db.Exec(db.Rebind(`UPDATE submissions SET state = ?, signer = ?, signed_at = NULL WHERE id = ?`),
			safetybot.SubmissionSigned, boss, sub.ID); err != nil {
			t.Fatal(err)
		}
		made := sub.CreatedAt.In(shanghai).Format("1月2日")

		mustContain(t, lastTo(t, w.click(boss, keyFor(t, cards[0], "签字确认"))), "不用重复签字")
		mustContain(t, lastTo(t, w.say(boss, "自查")), "青石小餐馆")
		mustContain(t, lastTo(t, w.say(boss, "2")), "青石小餐馆", "签字提交", "不用再填", made)
	})
}

func TestSelfCheckPrincipalSendsBackToOfficer(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.fill(officer, nil)
		cards := to(w.say(officer, "提交"), boss, officer)
		mustContain(t, lastTo(t, w.click(boss, keyFor(t, cards[0], "退回修改"))), "原因")
		reply := w.say(boss, "第5项灭火器写错了")
		mustContain(t, lastTo(t, reply), "已退回给李安全")
		if got := to(reply, officer, boss); len(got) != 1 || !strings.Contains(got[0].Text, "第5项灭火器写错了") {
			t.Fatalf("officer told %+v", got)
		}
		v1 := w.latest(w.shop)
		if v1.State != safetybot.SubmissionReturned || v1.Comment != "第5项灭火器写错了" {
			t.Fatalf("after 退回修改: %+v", v1)
		}
		// Signing the old card now is refused.
		mustContain(t, lastTo(t, w.click(boss, keyFor(t, cards[0], "签字确认"))), "退回")

		// The officer corrects: the answers are kept, the review comes first.
		r := lastTo(t, w.say(officer, "自查"))
		mustContain(t, r, "第5项灭火器写错了", "请核对")
		mustContain(t, lastTo(t, w.say(officer, "修改 5")), "灭火器")
		w.say(officer, "否")
		w.fill(officer, map[string]string{
			"extinguishers#problem": "一具灭火器压力不足", "extinguishers#grade": "1",
			"extinguishers#photos": "photo:p|完成", "extinguishers#fixed": "否", "extinguishers#deadline": "3天",
		})
		reply = w.say(officer, "提交")
		v2 := w.latest(w.shop)
		if v2.Version != 2 || v2.State != safetybot.SubmissionAwaitingSignature || v2.ID == v1.ID {
			t.Fatalf("resubmission %+v", v2)
		}
		if len(to(reply, boss, officer)) != 1 {
			t.Fatalf("no new signature card for the principal")
		}
		if old, _ := w.st.FindSubmission(context.Background(), v1.ID); old.State != safetybot.SubmissionReturned || old.Answers != v1.Answers {
			t.Fatalf("version 1 changed: %+v", old)
		}
	})
}

func TestSelfCheckOfficialReturnsKeyUnit(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		mustContain(t, lastTo(t, w.say(solo, "自查")), "第 1/", "从业人员")
		w.fill(solo, nil)
		w.say(solo, "提交")
		reply := w.say(solo, "确认")
		v1 := w.latest(w.keyUnit)
		if !v1.Signed() {
			t.Fatalf("key unit not signed: %+v", v1)
		}
		// S7: the signed key unit's written report goes to its department.
		cards := to(reply, dept, solo)
		if len(cards) != 1 || cards[0].Card == nil || !strings.Contains(cards[0].Text, "书面报告") {
			t.Fatalf("department got %+v", cards)
		}
		if !strings.Contains(cards[0].Card.CardAction.URL, "/submissions/"+itoa(v1.ID)+"?sig=") {
			t.Fatalf("report link %q", cards[0].Card.CardAction.URL)
		}
		ret := keyFor(t, cards[0], "退回补正")
		// Only the enterprise's own officials may send it back.
		mustContain(t, lastTo(t, w.click(other, ret)), "只有企业所属镇街")
		mustContain(t, lastTo(t, w.click(dept, ret)), "项目编号")
		mustContain(t, lastTo(t, w.say(dept, "99 看不清")), "没有第 99 项")
		reply = w.say(dept, "2、3 责任书没有签字，请补充")
		mustContain(t, lastTo(t, reply), "已退回", "第 2 项", "第 3 项")
		if got := to(reply, solo, dept); len(got) != 1 || !strings.Contains(got[0].Text, "责任书没有签字") || !strings.Contains(got[0].Text, "第 2 项") {
			t.Fatalf("enterprise told %+v", got)
		}
		v1 = w.latest(w.keyUnit)
		if v1.State != safetybot.SubmissionReturned || len(v1.Flagged) != 2 || v1.ReturnedBy != dept {
			t.Fatalf("returned %+v", v1)
		}

		// The correction opens at the first flagged item and keeps to them.
		r := lastTo(t, w.say(solo, "自查"))
		mustContain(t, r, "责任书没有签字", "第 2/")
		if w.step(solo) != "responsibility" {
			t.Fatalf("correction opened at %q", w.step(solo))
		}
		w.say(solo, "是")
		mustContain(t, lastTo(t, w.say(solo, "修改 1")), "只需修改")
		if w.step(solo) == "staff_count" {
			t.Fatal("an unflagged item was opened")
		}
		w.say(solo, "修改 3")
		w.say(solo, "是")
		if w.step(solo) != form.PhaseReview {
			t.Fatalf("after the flagged items: %q", w.step(solo))
		}
		w.say(solo, "提交")
		reply = w.say(solo, "确认")
		v2 := w.latest(w.keyUnit)
		if v2.Version != 2 || !v2.Signed() {
			t.Fatalf("corrected version %+v", v2)
		}
		if got := to(reply, dept, solo); len(got) != 2 {
			t.Fatalf("department got %d messages, want the new report and the news of the correction", len(got))
		}
		vs, _ := w.st.SubmissionVersions(context.Background(), w.keyUnit.ID, "2026-07")
		if len(vs) != 2 || vs[0].State != safetybot.SubmissionReturned {
			t.Fatalf("versions %+v", vs)
		}
	})
}

func TestSelfCheckInterruptionsAndResume(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.say(officer, "1")
		w.say(officer, "否")
		if w.step(officer) != "exits_clear" {
			t.Fatalf("at %q", w.step(officer))
		}
		// Another capability's command leaves the form; the draft stays.
		mustContain(t, lastTo(t, w.say(officer, "签收")), "仅企业主要负责人")
		mustContain(t, lastTo(t, w.say(officer, "继续")), "第 3/", "安全出口")
		// 帮助 inside the form explains the form and repeats the question.
		mustContain(t, lastTo(t, w.say(officer, "帮助")), "上一步", "第 3/")
		// 自查 again resumes rather than starting over.
		mustContain(t, lastTo(t, w.say(officer, "自查")), "没填完", "第 3/")

		// Days later, after another command, 继续 resumes exactly there.
		w.say(officer, "签收")
		w.clock.Add(3 * 24 * time.Hour)
		mustContain(t, lastTo(t, w.say(officer, "继续")), "第 3/", "安全出口")

		// 取消 asks first; 继续 goes on.
		mustContain(t, lastTo(t, w.say(officer, "取消")), "确认取消", "会删除")
		mustContain(t, lastTo(t, w.say(officer, "继续")), "第 3/", "安全出口")
		// 取消, 确认 deletes the draft; input no longer goes to the form.
		w.say(officer, "取消")
		mustContain(t, lastTo(t, w.say(officer, "确认")), "已取消", "青石小餐馆", "草稿已删除")
		if _, ok := w.draft(officer); ok {
			t.Fatal("the cancelled draft is still there")
		}
		if r := lastTo(t, w.say(officer, "是")); strings.Contains(r.Text, "第 4/") {
			t.Fatalf("a cancelled form took an answer: %q", r.Text)
		}
		mustContain(t, lastTo(t, w.say(officer, "继续")), "没有未完成的自查草稿")
		// 自查 starts afresh.
		mustContain(t, lastTo(t, w.say(officer, "自查")), "第 1/", "燃料")
	})
}

// A principal of several enterprises has one draft at a time: 自查 says which
// enterprise it is for and offers 继续 or 取消; 取消 (confirmed) deletes it and
// lists the enterprises, so another one's form can start.
func TestSelfCheckDraftOfAnotherEnterprise(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(boss)
		mustContain(t, lastTo(t, w.say(boss, "1")), "第 2/")

		// 自查 inside the form asks; the form does not take it as an answer.
		mustContain(t, lastTo(t, w.say(boss, "自查")), "青石小餐馆", "还没填完", "继续", "取消")
		mustContain(t, lastTo(t, w.say(boss, "继续")), "第 2/")
		if st, _ := w.draft(boss); st.Ctx.Enterprise != "青石小餐馆" || w.step(boss) != "no_living" {
			t.Fatalf("继续 changed the draft: %s at %s", st.Ctx.Enterprise, w.step(boss))
		}

		// So does 自查 after the form was left, and 开始自查 on another
		// enterprise's reminder card; a stray word leaves the question.
		w.say(boss, "签收")
		mustContain(t, lastTo(t, w.click(boss, messages.SelfCheckStartKey+":"+itoa(w.plant.ID))), "青石小餐馆", "还没填完")
		mustContain(t, lastTo(t, w.say(boss, "确认")), "青石小餐馆", "还没填完") // 确认 before 取消 deletes nothing
		mustContain(t, lastTo(t, w.say(boss, "签收")), "公开信")
		if _, ok := w.draft(boss); !ok {
			t.Fatal("the draft is gone")
		}
		// 开始自查 on the draft's own enterprise goes on with it.
		mustContain(t, lastTo(t, w.click(boss, messages.SelfCheckStartKey+":"+itoa(w.shop.ID))), "没填完", "第 2/")

		// 取消 asks; 确认 deletes the draft and lists the enterprises.
		w.say(boss, "签收")
		mustContain(t, lastTo(t, w.say(boss, "自查")), "青石小餐馆", "还没填完")
		mustContain(t, lastTo(t, w.say(boss, "取消")), "确认删除青石小餐馆", "不能恢复")
		r := w.say(boss, "确认")
		mustContain(t, lastTo(t, r[:1]), "已删除青石小餐馆的自查草稿")
		mustContain(t, lastTo(t, r), "哪一家", "1. 青石家具厂")
		if _, ok := w.draft(boss); ok {
			t.Fatal("the deleted draft is still there")
		}
		mustContain(t, lastTo(t, w.say(boss, "1")), "第 1/")
		if st, _ := w.draft(boss); st.Ctx.Enterprise != "青石家具厂" {
			t.Fatalf("the new draft is for %q", st.Ctx.Enterprise)
		}

		// 取消 inside the form, confirmed, deletes the draft too.
		mustContain(t, lastTo(t, w.say(boss, "取消")), "确认取消")
		mustContain(t, lastTo(t, w.say(boss, "确认")), "已取消", "青石家具厂", "草稿已删除")
		mustContain(t, lastTo(t, w.say(boss, "自查")), "哪一家")
		mustContain(t, lastTo(t, w.say(boss, "2")), "第 1/", "燃料")
	})
}

func TestSelfCheckBackAcrossCondition(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.say(officer, "1") // 瓶装液化气: the three gas items apply
		w.fillUntil(officer, nil, "gas_cylinder")
		for i := 0; i < 9; i++ {
			w.say(officer, "上一步")
		}
		if w.step(officer) != "fuel" {
			t.Fatalf("nine times 上一步 from item 10 reached %q", w.step(officer))
		}
		// 不用燃气: the gas items no longer apply; the answers after stay.
		r := lastTo(t, w.say(officer, "3"))
		mustContain(t, r, "第 10/21 项")
		if w.step(officer) != "decoration" {
			t.Fatalf("after 不用燃气 the form is at %q, want decoration", w.step(officer))
		}
		mustContain(t, lastTo(t, w.say(officer, "上一步")), "第 9/21 项")
		if w.step(officer) != "ebike" {
			t.Fatalf("上一步 from decoration reached %q, want ebike (no gas items)", w.step(officer))
		}
		// 管道天然气 brings back the two items it needs, not the cylinder.
		w.say(officer, "修改 1")
		mustContain(t, lastTo(t, w.say(officer, "2")), "第 10/23 项")
		if w.step(officer) != "gas_alarm" {
			t.Fatalf("after 管道天然气 the form is at %q, want gas_alarm", w.step(officer))
		}
	})
}

func TestSelfCheckInvalidAnswers(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		bad := func(input, want string) {
			t.Helper()
			before := w.step(officer)
			r := lastTo(t, w.say(officer, input))
			mustContain(t, r, want)
			if w.step(officer) != before {
				t.Fatalf("%q moved the form from %s to %s", input, before, w.step(officer))
			}
		}
		bad("5", "请回复 1–3")  // single choice out of range
		bad("烧柴", "请回复 1–3") // single choice, unknown text
		w.say(officer, "1")
		bad("也许吧", "请回复 1–3") // yes/no with 不适用
		w.say(officer, "否")
		bad("不适用", "请回复 1–2") // yes/no without 不适用
		w.say(officer, "否")
		bad("   ", "没有收到内容") // hazard problem text, empty
		w.say(officer, "后门上锁")
		bad("特别严重", "请回复 1–2") // grade
		w.say(officer, "1")
		bad("好了", "至少需要 1 张") // problem photos: none yet
		bad("拍了", "请发送照片")    // text where a photo is asked
		r := lastTo(t, w.badPhoto(officer, "只支持 JPG、PNG 或 WebP 格式的照片"))
		mustContain(t, r, "只支持 JPG", "照片")
		w.photo(officer, "door")
		w.say(officer, "完成")
		w.say(officer, "否")
		bad("去年", "日期看不懂")          // deadline
		bad("2026-07-01", "不能早于今天") // deadline in the past
		r = lastTo(t, w.handle(messages.Inbound{From: officer, Kind: messages.KindVoice, MediaID: "v"}))
		mustContain(t, r, "只能回复文字、照片或位置")
		w.say(officer, "7天")
		w.fill(officer, map[string]string{"inspector": "李安全", "inspect_date": "2099-01-01|今天"})
		st, _ := w.draft(officer)
		if st.Answers["inspect_date"].Date != "2026-07-15" {
			t.Fatalf("a future inspection date was accepted: %+v", st.Answers["inspect_date"])
		}

		// Numbers: the key unit's staff count.
		mustContain(t, lastTo(t, w.say(solo, "自查")), "从业人员")
		for _, in := range []string{"很多", "0", "三十"} {
			if r := lastTo(t, w.say(solo, in)); w.step(solo) != "staff_count" || !strings.Contains(r.Text, "第 1/") {
				t.Fatalf("%q for a number: %q at %s", in, r.Text, w.step(solo))
			}
		}
		w.say(solo, "约30人")
		if st, _ := w.draft(solo); st.Answers["staff_count"].Number == nil || *st.Answers["staff_count"].Number != 30 {
			t.Fatalf("staff count %+v", st.Answers["staff_count"])
		}
	})
}

func TestSelfCheckPhotoBeforeItsQuestion(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		r, sha := w.photo(officer, "early")
		r0 := lastTo(t, r)
		mustContain(t, r0, "属于哪一项")
		if len(r0.Buttons) != 1 || !strings.Contains(r0.Buttons[0], "现场照片") {
			t.Fatalf("attach targets %q, want the overall photos", r0.Buttons)
		}
		if w.step(officer) != form.PhaseAttach {
			t.Fatalf("at %q", w.step(officer))
		}
		// Tap the card's target.
		mustContain(t, lastTo(t, w.click(officer, r0.Keys[0])), "已放到", "第 1/")
		w.fillUntil(officer, nil, "overall_photos")
		st, _ := w.draft(officer)
		if p := st.Answers["overall_photos"].Photos; len(p) != 1 || p[0] != sha {
			t.Fatalf("the early photo did not join its question: %+v", st.Answers["overall_photos"])
		}
		w.fill(officer, map[string]string{"overall_photos": "完成"})
		w.say(officer, "提交")
		photos, _ := w.st.SubmissionPhotos(context.Background(), w.latest(w.shop).ID)
		if len(photos) != 1 || photos[0].ItemKey != "overall_photos" || photos[0].SHA256 != sha {
			t.Fatalf("submission photos %+v", photos)
		}
	})
}

func TestSelfCheckCards(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		first := w.startShop(officer)
		if first.Card == nil || len(first.Buttons) != 3 || first.Buttons[0] != "瓶装液化气" {
			t.Fatalf("first question is not a card with the options: %+v", first)
		}
		r := w.click(officer, keyFor(t, first, "不用燃气"))
		if u := show(r[0]).Update; u != "已选：不用燃气" {
			t.Fatalf("tapped card update %q", u)
		}
		second := lastTo(t, r)
		mustContain(t, second, "第 2/")
		if st, _ := w.draft(officer); st.Answers["fuel"].Value != "none" {
			t.Fatalf("fuel %+v", st.Answers["fuel"])
		}
		// A typed answer, then a tap on the old card: refused, nothing changes.
		w.say(officer, "否")
		stale := w.click(officer, keyFor(t, second, "是"))
		mustContain(t, lastTo(t, stale), "已经答过了", "第 3/")
		if st, _ := w.draft(officer); st.Answers["no_living"].Value != "否" || w.step(officer) != "exits_clear" {
			t.Fatalf("a stale tap changed the form: %+v at %s", st.Answers["no_living"], w.step(officer))
		}
		// A card of a finished draft is dead.
		w.fill(officer, nil)
		w.say(officer, "提交")
		mustContain(t, lastTo(t, w.click(officer, keyFor(t, first, "瓶装液化气"))), "已失效")
	})
}

func TestSelfCheckEntryPoints(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		mustContain(t, lastTo(t, w.say(township, "自查")), "由企业")
		mustContain(t, lastTo(t, w.say(township, "确认")), "没听懂")
		mustContain(t, lastTo(t, w.say("nobody", "自查")), "尚未登记")
		// The menu asks the boss which enterprise; a stray word leaves the list.
		mustContain(t, lastTo(t, w.menu(boss, messages.MenuSelfCheck)), "哪一家", "1. 青石家具厂")
		mustContain(t, lastTo(t, w.say(boss, "9")), "1 到 2")
		mustContain(t, lastTo(t, w.say(boss, "取消")), "已取消")
		// A reminder card's 开始自查 goes straight to its enterprise.
		r := lastTo(t, w.click(boss, messages.SelfCheckStartKey+":"+itoa(w.plant.ID)))
		mustContain(t, r, "第 1/")
		if st, _ := w.draft(boss); st.Ctx.Enterprise != "青石家具厂" || st.Ctx.SmallType != "小家具" || st.Ctx.Role != safetybot.ContactPrincipal {
			t.Fatalf("draft context %+v", st.Ctx)
		}
	})
}

func TestSelfCheckSomeoneElseSubmitsFirst(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		w.startShop(officer)
		w.startShop(boss)
		w.fill(officer, nil)
		w.fill(boss, nil)
		w.say(officer, "提交")
		w.say(boss, "提交")
		mustContain(t, lastTo(t, w.say(boss, "确认")), "已由李安全", "草稿已作废")
		if _, ok := w.draft(boss); ok {
			t.Fatal("the overtaken draft is still there")
		}
		vs, _ := w.st.SubmissionVersions(context.Background(), w.shop.ID, "2026-07")
		if len(vs) != 1 || vs[0].Filler != officer {
			t.Fatalf("versions %+v", vs)
		}
	})
}

func TestSelfCheckDraftExpiry(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.startShop(officer)
		w.say(officer, "1")
		now := func() time.Time { return w.clock.Now().In(shanghai) }
		if r, err := handlers.DraftWarnings(ctx, w.st, now()); err != nil || len(r) != 0 {
			t.Fatalf("warnings for a fresh draft: %v %v", r, err)
		}
		w.clock.Add(6*24*time.Hour + time.Hour) // expires in 23 hours
		n, err := handlers.SendDraftWarnings(ctx, w.st, now())
		if err != nil || n != 1 {
			t.Fatalf("warned %d, %v; want 1", n, err)
		}
		rows, _ := w.st.ListOutbox(ctx, officer)
		if len(rows) != 1 || !strings.Contains(rows[0].Payload, "过期") || !strings.Contains(rows[0].Payload, "继续") {
			t.Fatalf("outbox %+v", rows)
		}
		if n, _ := handlers.SendDraftWarnings(ctx, w.st, now()); n != 0 {
			t.Fatalf("warned twice")
		}
		// A step renews the week; the old warning does not block a new one.
		mustContain(t, lastTo(t, w.say(officer, "继续")), "第 2/")
		w.clock.Add(6*24*time.Hour + 2*time.Hour)
		if n, _ := handlers.SendDraftWarnings(ctx, w.st, now()); n != 1 {
			t.Fatalf("no warning for the renewed draft")
		}
		w.clock.Add(24 * time.Hour)
		mustContain(t, lastTo(t, w.say(officer, "继续")), "没有未完成的自查")
		mustContain(t, lastTo(t, w.say(officer, "自查")), "第 1/")
	})
}
