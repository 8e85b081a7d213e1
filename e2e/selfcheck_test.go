package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"safetybot"
	"safetybot/app"
	"safetybot/e2e"
	"safetybot/messages/form"
	"safetybot/store"
)

// TestSelfCheck scripts the monthly self-inspection through the simulator, as
// members would type and tap it, on SQLite with in-process state and on
// Postgres with Redis. The scenarios share one bot per variant, each with its
// own enterprise and people.
func TestSelfCheck(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := start(t, v)
		t.Cleanup(func() { scNoDrops(t, b) })

		t.Run("a full 九小场所 form with photos, signed by the principal", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小饭店", safetybot.CategoryNineSmall, "小餐饮", false)
			boss := scAs(t, b, r.Principal)
			first := boss.say("自查").has(t, "第 1/24 项", "燃料")
			if len(first.Buttons) != 3 {
				t.Fatalf("the first question is not a card with its options: %+v", first)
			}
			boss.tap(first, "瓶装液化气").has(t, "第 2/24 项")
			boss.fillUntil(map[string]string{
				"exits_clear":          "否",
				"exits_clear#problem":  "后门上锁，堆了杂物",
				"exits_clear#grade":    "tap:重大",
				"exits_clear#photos":   "jpeg:1|jpeg:2|完成",
				"exits_clear#fixed":    "否",
				"exits_clear#deadline": "3天",
				"overall_photos":       "jpeg:3|jpeg:4|完成",
				"remarks":              "厨房下周改造",
			}, form.PhaseReview)
			boss.say("提交").has(t, "确认以负责人身份签字提交")
			done := boss.say("确认").has(t, "已签字提交")
			_ = done

			sub := scLatest(t, b, r.Enterprise)
			if !sub.Signed() || sub.Signer != r.Principal || sub.FormVersion != "nine-small@2+closing@1" {
				t.Fatalf("submission %+v", sub)
			}
			photos, err := b.Store.SubmissionPhotos(context.Background(), sub.ID)
			if err != nil || len(photos) != 4 {
				t.Fatalf("photos %+v %v", photos, err)
			}
			for i, p := range photos {
				data := scPhoto(map[int]int{0: 1, 1: 2, 2: 3, 3: 4}[i])
				sum := sha256.Sum256(data)
				if p.SHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("photo %d is %s, want the SHA-256 of what was sent", i, p.SHA256)
				}
				if got, err := os.ReadFile(filepath.Join(b.Config.DataDir, "photos", p.SHA256[:2], p.SHA256)); err != nil || string(got) != string(data) {
					t.Errorf("photo %d not stored under the data dir: %v", i, err)
				}
			}
			hs, _ := b.Store.ListHazards(context.Background(), store.HazardFilter{SubmissionID: sub.ID})
			if len(hs) != 1 || hs[0].Grade != safetybot.GradeMajor || hs[0].Status != safetybot.HazardRectifying {
				t.Fatalf("hazards %+v", hs)
			}
			// The township official got the 重大 hazard at once, with a signed link.
			official := scAs(t, b, r.Official)
			got := official.settle()
			if len(got) != 1 || !strings.Contains(got[0].Text, "重大隐患") || !strings.Contains(got[0].Text, "后门上锁") {
				t.Fatalf("township official got %+v", got)
			}
			resp, err := http.Get(got[0].Link)
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "小饭店") || !strings.Contains(string(page), "后门上锁") {
				t.Fatalf("report link: %d", resp.StatusCode)
			}
			// Double 提交.
			boss.say("提交").has(t, "不用重复提交")
			if vs, _ := b.Store.SubmissionVersions(context.Background(), r.Enterprise.ID, sub.Period); len(vs) != 1 {
				t.Fatalf("%d submissions after a double 提交", len(vs))
			}
		})

		t.Run("interruption by another command, then 继续", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小旅馆", safetybot.CategoryNineSmall, "小旅馆", false)
			boss := scAs(t, b, r.Principal)
			boss.say("自查")
			boss.say("3")
			boss.say("否").has(t, "第 3/20 项")
			if mine := boss.say("我的情况"); strings.Contains(mine.Text, "第 3/20 项") {
				t.Fatalf("我的情况 was taken as an answer: %q", mine.Text)
			}
			if boss.step() != "exits_clear" {
				t.Fatalf("the interruption moved the form to %q", boss.step())
			}
			boss.say("继续").has(t, "第 3/20 项", "安全出口")
			boss.say("帮助").has(t, "上一步", "第 3/20 项")
			boss.say("是").has(t, "第 4/20 项")
			boss.say("取消").has(t, "确认取消", "会删除")
			boss.say("继续").has(t, "第 4/20 项")
			boss.say("取消")
			boss.say("确认").has(t, "已取消", "草稿已删除")
			boss.say("继续").has(t, "没有未完成的自查草稿")
		})

		t.Run("上一步 across a condition", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小餐馆", safetybot.CategoryNineSmall, "小餐饮", false)
			boss := scAs(t, b, r.Principal)
			boss.say("自查")
			boss.say("1")
			boss.fillUntil(nil, "gas_alarm")
			boss.say("上一步").has(t, "第 10/24 项", "钢瓶")
			boss.say("修改 1")
			boss.say("3").has(t, "第 10/21 项", "泡沫夹芯板")
			boss.say("上一步").has(t, "第 9/21 项", "电动自行车")
		})

		t.Run("invalid answers of every type", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小商店", safetybot.CategoryNineSmall, "小商店", false)
			u := scAs(t, b, r.Officer)
			u.say("自查")
			bad := func(input, want, marker string) {
				t.Helper()
				before := u.step()
				u.say(input).has(t, want, marker)
				if u.step() != before {
					t.Fatalf("%q moved the form from %s to %s", input, before, u.step())
				}
			}
			bad("7", "请回复 1–3", "第 1/")
			u.say("2")
			bad("可能吧", "请回复 1–3", "第 2/")
			u.say("否")
			bad("不适用", "请回复 1–2", "第 3/")
			u.say("否")
			u.say("货架挡住后门")
			bad("特别严重", "请回复 1–2", "登记隐患")
			u.say("一般")
			bad("拍好了", "请发送照片", "登记隐患")
			// Not a photo: refused with a reason, the question again.
			res, err := b.Sim.As(u.id).SendImage(context.Background(), []byte("GIF89a not a photo"), "image/gif")
			u.checkSent(res, err, "gif")
			u.one("gif").has(t, "只支持 JPG、PNG 或 WebP", "登记隐患")
			u.photo(scPhoto(9))
			u.say("完成")
			u.say("否")
			bad("下个月吧", "日期看不懂", "登记隐患")
			bad("2020-01-01", "不能早于今天", "登记隐患")
			u.say("7天")
			u.fillUntil(nil, "inspector")
			bad(" ", "没有收到内容", "检查")
			u.say("孙安全")
			bad("明年三月", "日期看不懂", "检查日期")
			bad("2099-01-01", "不能晚于今天", "检查日期")

			// Numbers: a general enterprise's staff count.
			g := scSeed(t, b.Store, "机械厂", safetybot.CategoryGeneral, "", false)
			gm := scAs(t, b, g.Principal)
			gm.say("自查").has(t, "从业人员")
			for _, in := range []string{"很多", "0"} {
				gm.say(in).has(t, "第 1/")
				if gm.step() != "staff_count" {
					t.Fatalf("%q accepted as a staff count", in)
				}
			}
			gm.say("35人").has(t, "第 2/")
		})

		t.Run("a photo before its question", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小网吧", safetybot.CategoryNineSmall, "小网吧", false)
			boss := scAs(t, b, r.Principal)
			boss.say("自查")
			ask := boss.photo(scPhoto(20)).has(t, "属于哪一项")
			boss.tap(ask, "现场照片").has(t, "已放到", "第 1/")
			boss.fillUntil(nil, "overall_photos")
			boss.say("继续").has(t, "已收到 1 张")
			boss.fillUntil(map[string]string{"overall_photos": "完成"}, form.PhaseReview)
			boss.say("提交")
			boss.say("确认")
			photos, _ := b.Store.SubmissionPhotos(context.Background(), scLatest(t, b, r.Enterprise).ID)
			sum := sha256.Sum256(scPhoto(20))
			if len(photos) != 1 || photos[0].ItemKey != "overall_photos" || photos[0].SHA256 != hex.EncodeToString(sum[:]) {
				t.Fatalf("photos %+v", photos)
			}
		})

		t.Run("a safety officer fills, the principal signs", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "美容院", safetybot.CategoryNineSmall, "小美容洗浴", false)
			officer, boss := scAs(t, b, r.Officer), scAs(t, b, r.Principal)
			officer.say("自查")
			officer.fillUntil(nil, form.PhaseReview)
			officer.say("提交").has(t, "已提交", "负责人签字")
			officer.say("提交").has(t, "不用重复提交")
			if s := scLatest(t, b, r.Enterprise); s.State != safetybot.SubmissionAwaitingSignature {
				t.Fatalf("before signing: %s", s.State)
			}
			cards := boss.settle()
			if len(cards) != 1 || len(cards[0].Buttons) != 2 {
				t.Fatalf("principal got %+v, want the signature card", cards)
			}
			boss.tap(cards[0], "签字确认").has(t, "已签字确认")
			if ups := b.Sim.Updates(r.Principal); len(ups) != 1 || !strings.HasPrefix(ups[0].ReplaceName, "已签字") {
				t.Fatalf("card updates %+v", ups)
			}
			if s := scLatest(t, b, r.Enterprise); !s.Signed() || s.Signer != r.Principal || s.Filler != r.Officer {
				t.Fatalf("after signing: %+v", s)
			}
			officer.one("the signature").has(t, "签字确认")
		})

		t.Run("send-back by the department and resubmission", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "重点歌舞厅", safetybot.CategoryNineSmall, "小歌舞娱乐", true)
			boss, dept := scAs(t, b, r.Principal), scAs(t, b, r.Department)
			boss.say("自查")
			boss.fillUntil(map[string]string{"ku_written_report": "否"}, form.PhaseReview)
			boss.say("提交")
			boss.say("确认").has(t, "已签字提交")
			v1 := scLatest(t, b, r.Enterprise)
			report := dept.settle()
			if len(report) != 1 || !strings.Contains(report[0].Text, "书面报告") {
				t.Fatalf("department got %+v", report)
			}
			dept.tap(report[0], "退回补正").has(t, "项目编号")
			dept.say("5 灭火器要拍照说明").has(t, "已退回", "第 5 项")
			boss.one("the send-back").has(t, "退回补正", "灭火器要拍照说明")

			boss.say("自查").has(t, "灭火器要拍照说明", "第 5/")
			boss.say("修改 2").has(t, "只需修改")
			boss.say("是")
			if boss.step() != form.PhaseReview {
				t.Fatalf("after the flagged item: %s", boss.step())
			}
			boss.say("提交")
			boss.say("确认").has(t, "已签字提交")
			v2 := scLatest(t, b, r.Enterprise)
			if v2.Version != 2 || !v2.Signed() || v2.ID == v1.ID {
				t.Fatalf("resubmission %+v", v2)
			}
			news := dept.settle()
			if len(news) != 2 {
				t.Fatalf("department got %d messages after the resubmission, want the report and the news", len(news))
			}
			if old, _ := b.Store.FindSubmission(context.Background(), v1.ID); old.State != safetybot.SubmissionReturned || old.Comment != "灭火器要拍照说明" {
				t.Fatalf("version 1 %+v", old)
			}
		})
	})
}

// TestSelfCheckRestart stops serve in the middle of a form and starts a new
// one on the same database: 继续 goes on exactly where the member was.
func TestSelfCheckRestart(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		dbURL, redisURL, dataDir := v.db(t), v.redis(t), t.TempDir()
		opt := e2e.Options{DatabaseURL: dbURL, RedisURL: redisURL, DataDir: dataDir,
			App: app.Options{Logger: logger(), SenderBackoff: shortBackoff}}
		b1, err := e2e.Start(opt)
		if err != nil {
			t.Fatal(err)
		}
		r := scSeed(t, b1.Store, "小诊所", safetybot.CategoryNineSmall, "小医院", false)
		boss := scAs(t, b1, r.Principal)
		boss.say("自查")
		boss.say("3")
		boss.say("否")
		boss.say("否")
		boss.say("锁了")
		boss.say("1").has(t, "照片")
		boss.photo(scPhoto(30)).has(t, "收到第 1 张")
		scNoDrops(t, b1)
		if err := b1.Stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}

		b2, err := e2e.Start(opt)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b2.Stop() })
		// The new simulator's MsgIds follow the old one's: the inbox, which
		// drops a MsgId it has seen as a redelivery, takes them.
		boss = scAs(t, b2, r.Principal)
		boss.say("继续").has(t, "登记隐患", "已收到 1 张")
		boss.say("完成").has(t, "当场整改")
		boss.say("是").has(t, "整改后的照片")
		boss.photo(scPhoto(31)).has(t, "收到第 1 张")
		boss.say("完成")
		boss.fillUntil(nil, form.PhaseReview)
		boss.say("提交")
		boss.say("确认").has(t, "已签字提交")
		sub := scLatest(t, b2, r.Enterprise)
		hs, _ := b2.Store.ListHazards(context.Background(), store.HazardFilter{SubmissionID: sub.ID})
		if len(hs) != 1 || hs[0].Status != safetybot.HazardFixed {
			t.Fatalf("hazards after the restart %+v", hs)
		}
		scNoDrops(t, b2)
	})
}
