package form_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"safetybot"
	"safetybot/messages"
	"safetybot/messages/form"
)

// A 小餐饮 using bottled gas runs the whole 九小场所 checklist: one failed item
// fixed on the spot, one with a deadline, photos throughout, signed by the principal.
func TestNineSmallFullRun(t *testing.T) {
	c := startNineSmall(t, "小餐馆", safetybot.ContactPrincipal)
	if !strings.Contains(c.out.Text, "第 1/24 项") || !strings.Contains(c.out.Text, "1. 瓶装液化气") {
		t.Fatalf("first question:\n%s", c.out.Text)
	}
	c.at("fuel").say("1")
	c.ok().at("no_living").say("否")
	c.ok().at("exits_clear")
	if !strings.Contains(c.out.Text, "第 3/24 项") || !strings.Contains(c.out.Text, "1. 是  2. 否") {
		t.Fatalf("progress and options:\n%s", c.out.Text)
	}
	c.say("否")
	c.ok().at("exits_clear#problem").say("后门上锁，通道堆放纸箱")
	c.ok().at("exits_clear#grade").say("一般")
	c.ok().at("exits_clear#photos").photo("p-exit-1")
	c.ok().at("exits_clear#photos").photo("p-exit-2")
	c.say("完成")
	c.ok().at("exits_clear#fixed").say("是")
	c.ok().at("exits_clear#fixed_photos").photo("p-exit-fixed")
	c.say("好了")
	c.ok().at("windows_open").say("否")
	c.ok().at("extinguishers").say("２") // full-width digit
	c.ok().at("extinguishers#problem").say("2具灭火器过期")
	c.ok().at("extinguishers#grade").click("major")
	c.ok().at("extinguishers#photos").photo("p-ext-1")
	c.say("完成")
	c.ok().at("extinguishers#fixed").say("否")
	c.ok().at("extinguishers#deadline").say("昨天")
	if !strings.Contains(c.out.Error, "不能早于今天") {
		t.Fatalf("deadline in the past accepted: %q", c.out.Error)
	}
	c.at("extinguishers#deadline").say("7月25日")
	c.ok().at("emergency_light")
	c.passUntil("gas_cylinder").passUntil("kitchen_flue").passUntil("inspector")
	c.say("张三、李四")
	c.ok().at("inspect_date")
	if !strings.Contains(c.out.Text, "今天") {
		t.Errorf("date prompt should offer 今天:\n%s", c.out.Text)
	}
	c.say("今天")
	c.ok().at("published")
	if !strings.Contains(c.out.Text, "本月自查结果是否已在单位内部公示（每月30日）") {
		t.Fatalf("S7 publication item:\n%s", c.out.Text)
	}
	c.say("1")
	c.ok().at("overall_photos").photo("o-1")
	c.photo("o-2")
	c.say("完成")
	c.ok().at("remarks").say("跳过")
	c.ok().phase(form.PhaseReview)

	for _, want := range []string{"请核对", "3. 安全出口：否 ⚠一般隐患", "5. 灭火器：否 ⚠重大隐患", "限2025年7月25日前整改", "现场照片：2 张照片", "备注：（跳过）", "共 24 项，发现隐患 2 处（当场整改 1 处）", "回复“提交”提交，“修改 N”修改第N项"} {
		if !strings.Contains(c.out.Text, want) {
			t.Errorf("review lacks %q:\n%s", want, c.out.Text)
		}
	}

	c.say("提交")
	c.ok().phase(form.PhaseConfirmSubmit)
	if c.out.Text != "确认以负责人身份签字提交？回复“确认”" {
		t.Errorf("confirm text %q", c.out.Text)
	}
	c.say("确认")
	if !c.out.Done || c.out.NeedsSignature || !c.st.Signed || c.st.Phase != form.PhaseDone {
		t.Fatalf("after 确认: %+v, signed %v", c.out, c.st.Signed)
	}
	if !c.st.SubmittedAt.Equal(now) {
		t.Errorf("SubmittedAt %v", c.st.SubmittedAt)
	}

	q := func(key string) *form.Question { return c.f.Question(key) }
	want := []form.HazardDraft{
		{ItemKey: "exits_clear", ItemText: q("exits_clear").Text, Basis: q("exits_clear").Basis, Problem: "后门上锁，通道堆放纸箱", Grade: safetybot.GradeGeneral,
			Photos: []string{"p-exit-1", "p-exit-2"}, FixedOnSpot: true, FixedPhotos: []string{"p-exit-fixed"}},
		{ItemKey: "extinguishers", ItemText: q("extinguishers").Text, Problem: "2具灭火器过期", Grade: safetybot.GradeMajor,
			Photos: []string{"p-ext-1"}, Deadline: "2025-07-25"},
	}
	if got := c.f.Hazards(c.st); !reflect.DeepEqual(got, want) {
		t.Fatalf("Hazards:\n got %+v\nwant %+v", got, want)
	}

	// Registered hazards are being rectified (登记 → 整改中); 已整改 needs a photo of the fix.
	major := want[1].Hazard(7, "qy161981", now)
	if major.Status != safetybot.HazardRectifying || major.Deadline == nil || major.Deadline.Format("2006-01-02") != "2025-07-25" ||
		major.Description != "2具灭火器过期" || major.Source != form.SourceSelfInspection || major.EnterpriseID != 7 {
		t.Errorf("Hazard(): %+v", major)
	}
	if fixed := want[0].Hazard(7, "qy161981", now); fixed.Status != safetybot.HazardFixed || fixed.Deadline != nil {
		t.Errorf("fixed on the spot: %+v", fixed)
	}
	noPhoto := want[0]
	noPhoto.FixedPhotos = nil
	if claimed := noPhoto.Hazard(7, "qy161981", now); claimed.Status != safetybot.HazardRectifying || claimed.Deadline != nil {
		t.Errorf("fixed on the spot without a photo: %+v", claimed)
	}

	items := c.f.Items(c.st)
	if len(items) != 24 {
		t.Fatalf("%d items, want 24", len(items))
	}
	exits := items[2]
	if exits.Key != "exits_clear" || exits.N != 3 || !exits.Failed || exits.Display != "否" || len(exits.Photos) != 3 {
		t.Errorf("item 3: %+v", exits)
	}
	if items[22].Key != "overall_photos" || items[22].Display != "2 张照片" {
		t.Errorf("item 23: %+v", items[22])
	}
}

// Going back past a condition and changing its answer drops the answers that no
// longer apply and returns the user to where they were.
func TestBackAcrossCondition(t *testing.T) {
	c := startNineSmall(t, "小餐馆", safetybot.ContactPrincipal)
	c.say("1") // 瓶装液化气: three gas items apply
	c.passUntil("decoration")
	if !strings.Contains(c.out.Text, "第 13/24 项") {
		t.Fatalf("before going back:\n%s", c.out.Text)
	}
	for _, k := range []string{"gas_cylinder", "gas_alarm", "gas_valve"} {
		if _, ok := c.st.Answers[k]; !ok {
			t.Fatalf("%s not answered", k)
		}
	}
	backs := 0
	for c.out.Step != "fuel" {
		c.say("上一步").ok()
		if backs++; backs > 20 {
			t.Fatal("上一步 never reached the first question")
		}
	}
	if backs != 12 {
		t.Errorf("took %d × 上一步 to go back 12 questions", backs)
	}
	if !strings.Contains(c.out.Text, "当前答案：瓶装液化气") {
		t.Errorf("revisited question should show the current answer:\n%s", c.out.Text)
	}
	c.say("上一步")
	if c.out.Error != "已经是第一项了。" {
		t.Errorf("上一步 on the first question: %q", c.out.Error)
	}

	c.say("不用燃气")
	c.ok().at("decoration")
	if !strings.Contains(c.out.Text, "第 10/21 项") {
		t.Errorf("progress after dropping the gas items:\n%s", c.out.Text)
	}
	for _, k := range []string{"gas_cylinder", "gas_alarm", "gas_valve"} {
		if _, ok := c.st.Answers[k]; ok {
			t.Errorf("answer to %s kept after the condition changed", k)
		}
	}
	c.say("上一步")
	c.ok().at("ebike")

	// From the review, turning gas back on asks only the gas items, then returns.
	c.passToReview()
	c.say("修改 1")
	c.ok().at("fuel").say("2") // 管道天然气: alarm and valve apply, cylinder does not
	c.ok().at("gas_alarm").say("是")
	c.ok().at("gas_valve").say("是")
	c.ok().phase(form.PhaseReview)
	if _, ok := c.st.Answers["gas_cylinder"]; ok {
		t.Error("gas_cylinder applies only to bottled gas")
	}
}

// typesForm has one question of every type.
const typesForm = `key: types
version: 1
title: 题型
applies_to: {category: 一般企业}
questions:
  - {key: yn, type: yesno, text: 出口畅通吗？, fail_on: 否}
  - {key: one, type: single, text: 用什么燃料？, options: [{id: lpg, text: 液化气}, {id: none, text: 不用}]}
  - {key: many, type: multi, text: 有哪些设施？, options: [{id: a, text: 灭火器}, {id: b, text: 烟感}, {id: c, text: 喷淋}]}
  - {key: words, type: text, text: 谁检查的？}
  - {key: count, type: number, text: 多少员工？, min: 1, max: 500, unit: 人}
  - {key: day, type: date, text: 哪天检查的？, not_future: true}
  - {key: due, type: date, text: 计划哪天完成？, not_past: true}
  - {key: pics, type: photo, text: 请拍现场, min: 2, max: 3}
  - {key: where, type: location, text: 在哪里？}
`

func startTypes(t *testing.T) *convo {
	t.Helper()
	f, err := MustLoad(t, map[string]string{"types.yaml": typesForm}).For(safetybot.CategoryGeneral, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, f, form.Context{Category: safetybot.CategoryGeneral})
}

func TestInvalidAnswers(t *testing.T) {
	loc := &messages.Location{Lat: 31, Lng: 120}
	for _, tc := range []struct {
		name string
		step string
		in   form.Input
		want string
	}{
		{"yesno: unknown word", "yn", form.Input{Text: "也许"}, "请回复 1–3 的编号"},
		{"yesno: 是否 is not a choice", "yn", form.Input{Text: "是否"}, "请回复 1–3 的编号"},
		{"yesno: number out of range", "yn", form.Input{Text: "4"}, "请回复 1–3 的编号"},
		{"yesno: location", "yn", form.Input{Location: loc}, "这一项不需要位置"},
		{"yesno: unknown card option", "yn", form.Input{OptionIDs: []string{"maybe"}}, "请回复 1–3 的编号"},
		{"single: unknown option", "one", form.Input{Text: "煤"}, "请回复 1–2 的编号"},
		{"single: two card options", "one", form.Input{OptionIDs: []string{"lpg", "none"}}, "请回复 1–2 的编号"},
		{"multi: one unknown part", "many", form.Input{Text: "1 7"}, "没有“7”这个选项"},
		{"multi: nothing chosen", "many", form.Input{Text: "，"}, "请至少选一项"},
		{"text: too long", "words", form.Input{Text: strings.Repeat("字", 501)}, "内容太长"},
		{"text: blank", "words", form.Input{Text: " 　 "}, "没有收到内容"},
		{"number: not a number", "count", form.Input{Text: "很多"}, "请回复一个数字"},
		{"number: below min", "count", form.Input{Text: "0"}, "请填写 1–500人 之间的数"},
		{"number: above max", "count", form.Input{Text: "501人"}, "请填写 1–500人 之间的数"},
		{"date: gibberish", "day", form.Input{Text: "明年"}, "日期看不懂"},
		{"date: no such day", "day", form.Input{Text: "2月30日"}, "日期看不懂"},
		{"date: future when not allowed", "day", form.Input{Text: "明天"}, "日期不能晚于今天"},
		{"date: far off", "day", form.Input{Text: "1999-01-01"}, "太远"},
		{"date: past when not allowed", "due", form.Input{Text: "昨天"}, "不能早于今天"},
		{"photo: text instead", "pics", form.Input{Text: "好看"}, "请发送照片"},
		{"photo: done too early", "pics", form.Input{Text: "完成"}, "至少需要 2 张照片"},
		{"photo: location instead", "pics", form.Input{Location: loc}, "这一项不需要位置"},
		{"location: too short", "where", form.Input{Text: "a"}, "请发送位置"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startTypes(t).passUntil(tc.step)
			before := mustJSON(t, c.st.Answers)
			question := c.f.Question(tc.step).Text
			c.send(tc.in)
			if !strings.Contains(c.out.Error, tc.want) {
				t.Fatalf("Error %q, want …%s…", c.out.Error, tc.want)
			}
			if strings.Contains(c.out.Error, "\n") {
				t.Errorf("Error should be one line: %q", c.out.Error)
			}
			c.at(tc.step)
			if !strings.Contains(c.out.Text, question) {
				t.Errorf("Text should repeat the question:\n%s", c.out.Text)
			}
			if after := mustJSON(t, c.st.Answers); after != before {
				t.Errorf("invalid input changed the answers:\n%s\n%s", before, after)
			}
		})
	}
}

func TestAcceptedReplies(t *testing.T) {
	loc := &messages.Location{Lat: 31.3, Lng: 120.6, Label: "厂区大门"}
	for _, tc := range []struct {
		step string
		in   form.Input
		want form.Answer
	}{
		{"yn", form.Input{Text: "1"}, form.Answer{Value: "是"}},
		{"yn", form.Input{Text: "是的"}, form.Answer{Value: "是"}},
		{"yn", form.Input{Text: "１"}, form.Answer{Value: "是"}},
		{"yn", form.Input{Text: "Yes!"}, form.Answer{Value: "是"}},
		{"yn", form.Input{OptionIDs: []string{"yes"}}, form.Answer{Value: "是"}},
		{"yn", form.Input{Text: "否，后门锁了"}, form.Answer{Value: "否"}},
		{"yn", form.Input{Text: "3"}, form.Answer{Value: "不适用", NA: true}},
		{"yn", form.Input{Text: "不适用"}, form.Answer{Value: "不适用", NA: true}},
		{"one", form.Input{Text: "2"}, form.Answer{Value: "none"}},
		{"one", form.Input{Text: "不用"}, form.Answer{Value: "none"}},
		{"one", form.Input{Text: "2."}, form.Answer{Value: "none"}},
		{"one", form.Input{OptionIDs: []string{"lpg"}}, form.Answer{Value: "lpg"}},
		{"many", form.Input{Text: "1 3"}, form.Answer{Values: []string{"a", "c"}}},
		{"many", form.Input{Text: "1，3"}, form.Answer{Values: []string{"a", "c"}}},
		{"many", form.Input{Text: "1、3、1"}, form.Answer{Values: []string{"a", "c"}}},
		{"many", form.Input{Text: "13"}, form.Answer{Values: []string{"a", "c"}}},
		{"many", form.Input{Text: "灭火器、喷淋"}, form.Answer{Values: []string{"a", "c"}}},
		{"many", form.Input{OptionIDs: []string{"a", "c"}}, form.Answer{Values: []string{"a", "c"}}},
		{"words", form.Input{Text: "  张三 "}, form.Answer{Value: "张三"}},
		{"count", form.Input{Text: "２５"}, form.Answer{Number: ptr(25.0)}},
		{"count", form.Input{Text: "约25人"}, form.Answer{Number: ptr(25.0)}},
		{"count", form.Input{Text: "12.5"}, form.Answer{Number: ptr(12.5)}},
		{"day", form.Input{Text: "今天"}, form.Answer{Date: "2025-07-15"}},
		{"day", form.Input{Text: "2025/7/14"}, form.Answer{Date: "2025-07-14"}},
		{"day", form.Input{Text: "2025年7月1日"}, form.Answer{Date: "2025-07-01"}},
		{"day", form.Input{Text: "7月1日"}, form.Answer{Date: "2025-07-01"}},
		{"day", form.Input{Text: "7-1"}, form.Answer{Date: "2025-07-01"}},
		{"day", form.Input{Text: "20250701"}, form.Answer{Date: "2025-07-01"}},
		{"day", form.Input{Text: "3号"}, form.Answer{Date: "2025-07-03"}},
		{"day", form.Input{Text: "昨天"}, form.Answer{Date: "2025-07-14"}},
		{"due", form.Input{Text: "3天"}, form.Answer{Date: "2025-07-18"}},
		{"due", form.Input{Text: "一周"}, form.Answer{Date: "2025-07-22"}},
		{"due", form.Input{Text: "2个月内"}, form.Answer{Date: "2025-09-15"}},
		{"where", form.Input{Location: loc}, form.Answer{Location: loc}},
		{"where", form.Input{Text: "青石镇新村69号"}, form.Answer{Value: "青石镇新村69号"}},
	} {
		t.Run(tc.step+"/"+tc.in.Text+strings.Join(tc.in.OptionIDs, ","), func(t *testing.T) {
			c := startTypes(t).passUntil(tc.step)
			c.send(tc.in)
			c.ok()
			got := c.st.Answers[tc.step]
			got.Failure = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("answer %+v, want %+v", got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestPhotoQuestion(t *testing.T) {
	c := startTypes(t).passUntil("pics")
	c.photo("a").ok()
	if !strings.Contains(c.out.Text, "收到第 1 张（最多 3 张）") {
		t.Errorf("ack:\n%s", c.out.Text)
	}
	c.photo("a")
	if !strings.Contains(c.out.Text, "已经收到过了") || len(c.st.Answers["pics"].Photos) != 1 {
		t.Errorf("duplicate photo:\n%s", c.out.Text)
	}
	c.say("重拍").ok().at("pics")
	if len(c.st.Answers["pics"].Photos) != 0 {
		t.Error("重拍 should clear the photos")
	}
	c.photo("b")
	c.photo("c")
	c.photo("d") // the third reaches max and moves on
	c.ok().at("where")
	if got := c.st.Answers["pics"].Photos; !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Errorf("photos %v", got)
	}
	c.say("上一步").ok().at("pics")
	if !strings.Contains(c.out.Text, "已收到 3 张") {
		t.Errorf("revisit shows the photos:\n%s", c.out.Text)
	}
	c.say("完成").ok().at("where")
}

func TestSkip(t *testing.T) {
	t.Run("required question", func(t *testing.T) {
		c := startTypes(t)
		c.say("跳过")
		if c.out.Error != "此项为必填，不能跳过" {
			t.Fatalf("Error %q", c.out.Error)
		}
		c.at("yn")
	})
	t.Run("required hazard step", func(t *testing.T) {
		c := startTypes(t)
		c.say("否").at("yn#problem").say("跳过")
		if c.out.Error != "此项为必填，不能跳过" {
			t.Fatalf("Error %q", c.out.Error)
		}
	})
	t.Run("optional questions and fix photos", func(t *testing.T) {
		c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
		c.say("1").say("否").say("否").say("堵了").say("1").photo("x")
		c.say("完成").say("是").at("exits_clear#fixed_photos").say("跳过")
		c.ok().at("windows_open")
		c.passUntil("overall_photos").say("完成") // no photos: 完成 skips an optional photo question
		c.ok().at("remarks").say("跳过")
		c.ok().phase(form.PhaseReview)
		for _, k := range []string{"overall_photos", "remarks"} {
			if !c.st.Answers[k].Skipped {
				t.Errorf("%s not marked skipped: %+v", k, c.st.Answers[k])
			}
		}
		if !strings.Contains(c.out.Text, "现场照片：（跳过）") {
			t.Errorf("review:\n%s", c.out.Text)
		}
	})
}

func TestCancelAndContinue(t *testing.T) {
	c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
	c.say("1").at("no_living")
	c.say("继续")
	if c.out.Text != c.f.Current(c.st).Text {
		t.Errorf("继续 should re-render the question:\n%s", c.out.Text)
	}
	c.say("帮助")
	if !strings.Contains(c.out.Text, "上一步") || !strings.Contains(c.out.Text, "取消") || !strings.Contains(c.out.Text, "住宿") {
		t.Errorf("help should list commands and repeat the question:\n%s", c.out.Text)
	}
	c.say("取消").phase(form.PhaseConfirmCancel)
	if c.out.Text != "确认取消吗？已填的内容会删除。回复“确认”取消，回复“继续”接着填" {
		t.Errorf("confirm text %q", c.out.Text)
	}
	c.say("继续").ok().at("no_living")
	c.say("取消").say("随便")
	c.phase(form.PhaseConfirmCancel)
	if c.out.Error == "" {
		t.Error("an unclear reply to the cancel question should say what to reply")
	}
	c.click("继续").ok().at("no_living")
	c.say("取消").say("确认")
	if !c.out.Cancelled || c.st.Phase != form.PhaseCancelled {
		t.Fatalf("not cancelled: %+v", c.out)
	}
	c.say("1")
	if c.out.Cancelled || !strings.Contains(c.out.Text, "继续") {
		t.Errorf("after cancelling:\n%s", c.out.Text)
	}

	// Days later, after a restart: the stored draft resumes where it stopped.
	var st form.State
	if err := json.Unmarshal([]byte(mustJSON(t, c.st)), &st); err != nil {
		t.Fatal(err)
	}
	f, err := MustShipped(t).ForState(st)
	if err != nil {
		t.Fatal(err)
	}
	st, out := f.Step(st, form.Input{Text: "继续", Now: now.AddDate(0, 0, 3)})
	if out.Step != "no_living" || st.Answers["fuel"].Value != "lpg" || !strings.HasPrefix(out.Text, "接着上次的继续填") {
		t.Fatalf("resume: step %q, answers %v\n%s", out.Step, keysOf(st.Answers), out.Text)
	}

	// A photo sent while asked to confirm cancelling means "go on".
	c = startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
	c.say("1").say("否").say("否").say("堵了").say("1").at("exits_clear#photos")
	c.say("取消").photo("p1")
	c.ok().at("exits_clear#photos")
	if got := c.st.Answers["exits_clear"].Failure.Photos; !slices.Equal(got, []string{"p1"}) {
		t.Errorf("photo after cancel prompt: %v", got)
	}
}

func TestPhotoBeforeItsQuestion(t *testing.T) {
	c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
	c.photo("early").phase(form.PhaseAttach)
	if !strings.Contains(c.out.Text, "属于哪一项") || len(c.out.Options) != 1 || !strings.Contains(c.out.Options[0].Text, "现场照片") {
		t.Fatalf("attach prompt:\n%s\n%+v", c.out.Text, c.out.Options)
	}
	if !strings.Contains(c.out.Text, "回复 1 放到这一项") {
		t.Errorf("attach prompt with one item:\n%s", c.out.Text)
	}
	c.say("9")
	if c.out.Error != "请回复 1，或回复“不用”。" || c.st.Phase != form.PhaseAttach {
		t.Fatalf("out-of-range choice: %q", c.out.Error)
	}
	c.say("1").ok().at("fuel")
	if !strings.HasPrefix(c.out.Text, "已放到第 19 项「现场照片」") {
		t.Errorf("ack:\n%s", c.out.Text)
	}

	// Two loose photos for a failed item's problem photos.
	c.say("1").say("否").say("否").say("堵了").say("1").photo("p")
	c.say("完成").say("否").say("5天").at("windows_open")
	c.photo("late-1")
	c.photo("late-2")
	if !strings.Contains(c.out.Text, "收到 2 张照片") {
		t.Errorf("two loose photos:\n%s", c.out.Text)
	}
	i := slices.IndexFunc(c.out.Options, func(o form.Option) bool { return strings.Contains(o.Text, "安全出口（问题照片）") })
	if i < 0 {
		t.Fatalf("problem photos not offered: %+v", c.out.Options)
	}
	c.say(c.out.Options[i].ID).ok().at("windows_open")
	if got := c.st.Answers["exits_clear"].Failure.Photos; !slices.Equal(got, []string{"p", "late-1", "late-2"}) {
		t.Errorf("problem photos %v", got)
	}

	// 不用 discards.
	c.photo("junk").say("不用")
	c.ok().at("windows_open")
	if strings.Contains(mustJSON(t, c.st), "junk") {
		t.Error("discarded photo kept in the state")
	}

	c.passUntil("overall_photos")
	if !strings.Contains(c.out.Text, "已收到 1 张") {
		t.Errorf("the early photo should be waiting:\n%s", c.out.Text)
	}
	c.say("跳过").ok().at("remarks") // 跳过 ends the question but keeps the photo
	if got := c.st.Answers["overall_photos"].Photos; !slices.Equal(got, []string{"early"}) {
		t.Errorf("overall photos %v", got)
	}
}

func TestPhotoWithNowhereToGo(t *testing.T) {
	f, err := MustLoad(t, map[string]string{"a.yaml": minimalForm("a", 1, "一般企业")}).For(safetybot.CategoryGeneral, "", false)
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, f, form.Context{Category: safetybot.CategoryGeneral})
	c.photo("x")
	if !strings.Contains(c.out.Error, "不需要照片") || len(c.st.LoosePhotos) != 0 {
		t.Fatalf("photo on a form without photo items: %q", c.out.Error)
	}
}

func TestEditFromReview(t *testing.T) {
	c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal).passToReview()
	if len(c.f.Hazards(c.st)) != 0 {
		t.Fatal("no hazards expected")
	}
	c.say("修改 3").ok().at("exits_clear")
	if !strings.HasPrefix(c.out.Text, "修改第 3 项") {
		t.Errorf("edit prompt:\n%s", c.out.Text)
	}
	c.say("否").say("通道堵了").say("1").photo("e1")
	c.say("完成").say("否").say("3天")
	c.ok().phase(form.PhaseReview)
	hs := c.f.Hazards(c.st)
	if len(hs) != 1 || hs[0].ItemKey != "exits_clear" || hs[0].Deadline != "2025-07-18" {
		t.Fatalf("hazards after edit: %+v", hs)
	}

	// Editing a failed item walks its hazard block with the answers kept.
	c.say("修改第3项").ok().at("exits_clear").say("下一步")
	c.ok().at("exits_clear#problem")
	if !strings.Contains(c.out.Text, "当前答案：通道堵了") {
		t.Errorf("hazard block should show the kept answer:\n%s", c.out.Text)
	}
	for range 5 { // problem, grade, photos, fixed, deadline
		c.say("下一步").ok()
	}
	c.phase(form.PhaseReview)
	if got := c.f.Hazards(c.st); !reflect.DeepEqual(got, hs) {
		t.Errorf("keeping every answer changed the hazard: %+v", got)
	}

	c.say("修改 3").say("是").ok().phase(form.PhaseReview)
	if len(c.f.Hazards(c.st)) != 0 || c.st.Answers["exits_clear"].Failure != nil {
		t.Error("answering 是 should drop the hazard")
	}
	c.say("修改 99")
	if !strings.Contains(c.out.Error, "没有第 99 项") {
		t.Errorf("Error %q", c.out.Error)
	}
	c.say("随便说点")
	if c.out.Error == "" || c.st.Phase != form.PhaseReview {
		t.Errorf("unclear reply at review: %q", c.out.Error)
	}
	c.say("上一步").ok().at("remarks")
}

func TestSubmitByRole(t *testing.T) {
	t.Run("principal signs", func(t *testing.T) {
		c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal).passToReview()
		c.say("提交").phase(form.PhaseConfirmSubmit)
		c.say("继续").phase(form.PhaseReview)
		c.say("提交").say("修改 2").ok().at("no_living")
		c.passToReview().say("提交").click("确认")
		if !c.out.Done || c.out.NeedsSignature || !c.st.Signed {
			t.Fatalf("principal submit: %+v", c.out)
		}
		c.say("提交")
		if c.out.Done || c.st.Phase != form.PhaseDone || !strings.Contains(c.out.Text, "已经提交过了") {
			t.Fatalf("second 提交: %+v", c.out)
		}
		c.say("确认")
		if c.out.Done {
			t.Fatal("Done must be reported once")
		}
	})
	t.Run("safety officer asks the principal", func(t *testing.T) {
		c := startNineSmall(t, "小旅馆", safetybot.ContactSafetyOfficer).passToReview()
		c.say("提交")
		if !c.out.Done || !c.out.NeedsSignature || c.st.Signed || c.st.Phase != form.PhaseDone {
			t.Fatalf("officer submit: %+v", c.out)
		}
		if !strings.Contains(c.out.Text, "负责人签字") {
			t.Errorf("officer should be told the principal signs:\n%s", c.out.Text)
		}
		c.say("提交")
		if c.out.Done || !strings.Contains(c.out.Text, "已经提交过了") {
			t.Fatalf("second 提交: %+v", c.out)
		}
	})
	t.Run("submit before the end", func(t *testing.T) {
		c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
		c.say("提交")
		if c.out.Error == "" || c.out.Done {
			t.Fatalf("提交 mid-form: %+v", c.out)
		}
	})
}

// script is a mid-form conversation touching every feature, for round-trip tests.
var script = []form.Input{
	{Text: "1"}, {Text: "否"}, {Text: "否"}, {Text: "后门上锁"}, {Text: "2"}, {PhotoSHA256: "a1"},
	{Text: "完成"}, {Text: "否"}, {Text: "7月30日"}, {PhotoSHA256: "loose"}, {Text: "1"}, {Text: "上一步"},
	{Text: "下一步"}, {Text: "是"}, {Text: "取消"}, {Text: "继续"}, {Text: "否"}, {Text: "灭火器过期"},
	{OptionIDs: []string{"general"}}, {PhotoSHA256: "b1"}, {PhotoSHA256: "b2"}, {Text: "好了"}, {Text: "1"},
	{PhotoSHA256: "b3"}, {Text: "完成"}, {Text: "帮助"}, {Text: "是"},
}

// Marshalling the state at any point and continuing from the copy (as after a
// restart) gives exactly the same conversation.
func TestStateJSONRoundTrip(t *testing.T) {
	r := MustShipped(t)
	ctx := form.Context{Enterprise: "临江旺美小吃", Category: safetybot.CategoryNineSmall, SmallType: "小餐馆", KeyUnit: true, Role: safetybot.ContactPrincipal, Now: now}
	run := func(cut int) ([]string, string) {
		f, _ := r.For(ctx.Category, ctx.SmallType, ctx.KeyUnit)
		st, out := f.Start(ctx)
		texts := []string{out.Text}
		for i, in := range script {
			if i == cut {
				var copied form.State
				if err := json.Unmarshal([]byte(mustJSON(t, st)), &copied); err != nil {
					t.Fatal(err)
				}
				f2, err := r.Lookup(copied.Form, copied.Versions)
				if err != nil {
					t.Fatal(err)
				}
				if f2.Current(copied).Text != f.Current(st).Text {
					t.Fatalf("cut %d: Current differs after the round trip", cut)
				}
				st, f = copied, f2
			}
			in.Now = now
			st, out = f.Step(st, in)
			texts = append(texts, out.Text)
		}
		return texts, mustJSON(t, st) + "\n" + f.Summary(st)
	}
	wantTexts, wantEnd := run(-1)
	for cut := range script {
		texts, end := run(cut)
		if !slices.Equal(texts, wantTexts) || end != wantEnd {
			t.Fatalf("round trip at step %d changed the conversation", cut)
		}
	}
}

func TestStepDoesNotModifyItsInput(t *testing.T) {
	f := MustFor(t, safetybot.CategoryNineSmall, "小餐馆", false)
	st, _ := f.Start(form.Context{Category: safetybot.CategoryNineSmall, SmallType: "小餐馆", Role: safetybot.ContactPrincipal, Now: now})
	for _, in := range script {
		in.Now = now
		before := mustJSON(t, st)
		next, _ := f.Step(st, in)
		if mustJSON(t, st) != before {
			t.Fatalf("Step(%+v) modified its input state", in)
		}
		st = next
	}
}

// Long answers everywhere still give messages that fit, and the review pages.
func TestOutputFitsOneMessage(t *testing.T) {
	f := MustFor(t, safetybot.CategoryFiveSmall, "小化工", true)
	c := start(t, f, form.Context{Enterprise: strings.Repeat("很长的企业名称", 10), Category: safetybot.CategoryFiveSmall, SmallType: "小化工", KeyUnit: true})
	long := strings.Repeat("隐患描述很长", 83)
	for i := 0; c.st.Phase != form.PhaseReview; i++ {
		if i > 400 {
			t.Fatal("never reached the review")
		}
		key, sub, _ := strings.Cut(c.out.Step, "#")
		q := f.Question(key)
		switch {
		case sub == form.RepeatProblem || (sub == "" && q.Type == form.TypeText):
			c.say(long)
		case sub == "" && q.FailOn != "":
			c.say(q.FailOn) // every checklist item fails
		default:
			c.pass()
		}
		c.ok()
	}
	if !strings.Contains(c.out.Text, "下一页") {
		t.Fatalf("a long review should page:\n%s", c.out.Text)
	}
	first := c.out.Text
	c.say("下一页").ok()
	if c.out.Text == first {
		t.Error("下一页 did not turn the page")
	}
	c.photo("loose").ok() // attach list with every failed item
	c.say("不用").ok().phase(form.PhaseReview)
	if n := len(c.f.Hazards(c.st)); n < 20 {
		t.Errorf("%d hazards", n)
	}
	if s := f.Summary(c.st); len(s) <= form.MaxTextBytes {
		t.Errorf("Summary is not paged and should hold everything (%d bytes)", len(s))
	}
}

func TestCardClicks(t *testing.T) {
	c := startTypes(t)
	if !reflect.DeepEqual(c.out.Options, []form.Option{{ID: "yes", Text: "是"}, {ID: "no", Text: "否"}, {ID: "na", Text: "不适用"}}) || c.out.Expect != form.ExpectChoice {
		t.Fatalf("yesno options %+v", c.out.Options)
	}
	c.click("no").ok().at("yn#problem").say("堵了")
	c.ok().at("yn#grade")
	if len(c.out.Options) != 2 {
		t.Fatalf("grade options %+v", c.out.Options)
	}
	c.click("major").ok().at("yn#photos")
	if c.st.Answers["yn"].Failure.Grade != safetybot.GradeMajor {
		t.Errorf("grade %q", c.st.Answers["yn"].Failure.Grade)
	}
	c.photo("p").say("完成").click("yes").ok().at("yn#fixed_photos")
	if c.out.Expect != form.ExpectPhoto {
		t.Errorf("Expect %q", c.out.Expect)
	}
}

const conditionsForm = `key: cond
version: 1
title: 条件
applies_to: {category: 五小企业}
questions:
  - {key: kinds, type: multi, text: 有哪些？, options: [{id: a, text: 甲}, {id: b, text: 乙}, {id: c, text: 丙}]}
  - {key: if_a, type: yesno, text: 甲好吗？, when: {key: kinds, equals: a}}
  - {key: if_bc, type: yesno, text: 乙丙好吗？, when: {key: kinds, in: [b, c]}}
  - {key: not_c, type: yesno, text: 没有丙？, when: {key: kinds, not: c}}
  - {key: chained, type: text, text: 甲的细节？, when: {key: if_a, equals: no}}
  - {key: ku, type: text, text: 重点单位的事？, when: {key: _key_unit, equals: 是}}
  - {key: officer, type: text, text: 安全员的事？, when: {key: _role, equals: safety_officer}}
  - {key: plating, type: text, text: 电镀的事？, when: {key: _small_type, equals: 小电镀}}
  - {key: cat, type: text, text: 五小的事？, when: {key: _category, in: [五小企业]}}
`

func TestConditions(t *testing.T) {
	f, err := MustLoad(t, map[string]string{"cond.yaml": conditionsForm}).For(safetybot.CategoryFiveSmall, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kinds string
		ctx   form.Context
		want  []string
	}{
		{"1", form.Context{SmallType: "小化工"}, []string{"kinds", "if_a", "not_c", "cat"}},
		{"2 3", form.Context{SmallType: "小电镀", KeyUnit: true, Role: safetybot.ContactSafetyOfficer}, []string{"kinds", "if_bc", "ku", "officer", "plating", "cat"}},
		{"1 2", form.Context{}, []string{"kinds", "if_a", "if_bc", "not_c", "cat"}},
	} {
		t.Run(tc.kinds, func(t *testing.T) {
			tc.ctx.Category = safetybot.CategoryFiveSmall
			c := start(t, f, tc.ctx)
			c.say(tc.kinds).ok().passToReview()
			var got []string
			for _, it := range f.Items(c.st) {
				got = append(got, it.Key)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("applicable %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("chained condition collapses", func(t *testing.T) {
		c := start(t, f, form.Context{Category: safetybot.CategoryFiveSmall})
		c.say("1").say("否").ok().at("not_c").say("是").ok().at("chained").say("细节")
		c.ok().at("cat")
		c.say("修改 1").say("2").ok() // without 甲, if_a and chained no longer apply
		if _, ok := c.st.Answers["chained"]; ok {
			t.Errorf("chained answer kept: %v", keysOf(c.st.Answers))
		}
		if _, ok := c.st.Answers["if_a"]; ok {
			t.Errorf("if_a answer kept: %v", keysOf(c.st.Answers))
		}
	})
}

// A state from storage that no longer makes sense is repaired, not trusted.
func TestRepairStoredState(t *testing.T) {
	f := MustFor(t, safetybot.CategoryNineSmall, "小旅馆", false)
	c := startNineSmall(t, "小旅馆", safetybot.ContactPrincipal)
	c.say("1").say("否").at("exits_clear")
	good := c.st
	for _, tc := range []struct {
		name   string
		mutate func(*form.State)
		step   string
		phase  string
	}{
		{"unknown cursor", func(s *form.State) { s.Cursor = "ghost" }, "exits_clear", form.PhaseAsking},
		{"unknown phase", func(s *form.State) { s.Phase = "weird" }, "exits_clear", form.PhaseAsking},
		{"repeat on an item that passed", func(s *form.State) {
			s.Phase, s.Repeat = form.PhaseRepeat, &form.RepeatState{Item: "no_living", Step: form.RepeatGrade}
		}, "exits_clear", form.PhaseAsking},
		{"attach without photos", func(s *form.State) { s.Phase, s.Resume = form.PhaseAttach, form.PhaseAsking }, "exits_clear", form.PhaseAsking},
		{"review with a missing answer", func(s *form.State) { s.Phase, s.Cursor = form.PhaseReview, "" }, "exits_clear", form.PhaseAsking},
		{"nothing but the form key", func(s *form.State) { *s = form.State{Form: s.Form} }, "fuel", form.PhaseAsking},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st form.State
			if err := json.Unmarshal([]byte(mustJSON(t, good)), &st); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&st)
			out := f.Current(st)
			checkOutput(t, "current", out)
			if out.Step != tc.step {
				t.Fatalf("Current at %q, want %q\n%s", out.Step, tc.step, out.Text)
			}
			st, out = f.Step(st, form.Input{Text: "1", Now: now})
			checkOutput(t, "step", out)
			if out.Error != "" {
				t.Fatalf("step after repair: %q", out.Error)
			}
		})
	}
}
