package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/config"
	"safetybot/e2e"
	"safetybot/messages/form"
	"safetybot/scheduler"
	"safetybot/store"
)

const hzAdminToken = "e2e-hazard-admin-token"

// hzBot starts a bot whose scheduler does not run (the test runs the
// reminder jobs itself, at the days it needs) with an admin token. The test
// fails if the simulator had to drop a message over the per-member limit.
func hzBot(t *testing.T, v variant) *e2e.Bot {
	b := start(t, v, func(o *e2e.Options) {
		o.App.NoScheduler = true
		prev := o.Configure
		o.Configure = func(c *config.Config) {
			if prev != nil {
				prev(c)
			}
			c.AdminToken = hzAdminToken
		}
	})
	t.Cleanup(func() { scNoDrops(t, b) })
	return b
}

// hzRemind runs reminder kinds of the day of at, as the scheduled jobs do.
func hzRemind(t *testing.T, b *e2e.Bot, at time.Time, kinds ...string) scheduler.Result {
	t.Helper()
	r := scheduler.NewReminders(scheduler.ReminderDeps{Store: b.Store, Location: b.Config.Location, Clock: b.Clock,
		Calendar: b.Sched.Calendar(), PublicURL: b.Config.PublicURL, Wake: b.Sender.Wake})
	res, err := r.Run(context.Background(), at, kinds...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// hzCardLinks returns the URLs of a delivered card's key/value lines.
func hzCardLinks(t *testing.T, m scMsg) []string {
	t.Helper()
	var c struct {
		Items []struct {
			URL string `json:"url"`
		} `json:"horizontal_content_list"`
	}
	if err := json.Unmarshal(m.Body, &c); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range c.Items {
		if it.URL != "" {
			out = append(out, it.URL)
		}
	}
	return out
}

func hzSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// hzPath is a hazard's history as "from→to" steps.
func hzPath(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	evs, err := st.HazardEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var p []string
	for _, e := range evs {
		p = append(p, string(e.From)+"→"+string(e.To))
	}
	return strings.Join(p, " ")
}

func hzAudit(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	rows, err := st.AuditTrail(context.Background(), store.HazardSubject(id))
	if err != nil {
		t.Fatal(err)
	}
	var a []string
	for _, r := range rows {
		a = append(a, r.Action)
	}
	return strings.Join(a, " ")
}

// TestHazardLoop drives the hazard follow-up through the simulator on both
// deployment shapes: a hazard from a failed self-inspection item is reminded,
// rectified with photos, sent back, resubmitted and approved; a 重大 hazard
// gets its 五定 and tracker in chat and through the API, is escalated when
// overdue, extended on the enterprise's request and closed down.
func TestHazardLoop(t *testing.T) {
	eachVariant(t, func(t *testing.T, v variant) {
		b := hzBot(t, v)
		ctx := context.Background()
		loc := b.Config.Location

		t.Run("self-inspection hazard: reminder, 整改, 退回, resubmission, 通过", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "小吃店", safetybot.CategoryNineSmall, "小餐饮", false)
			boss, official := scAs(t, b, r.Principal), scAs(t, b, r.Official)
			boss.say("自查")
			boss.say("1")
			boss.fillUntil(map[string]string{
				"exits_clear":          "否",
				"exits_clear#problem":  "后门上锁，堆了杂物",
				"exits_clear#grade":    "一般",
				"exits_clear#photos":   "jpeg:1|完成",
				"exits_clear#fixed":    "否",
				"exits_clear#deadline": "3天",
			}, form.PhaseReview)
			boss.say("提交")
			boss.say("确认").has(t, "已签字提交")
			hs, err := b.Store.ListHazards(ctx, store.HazardFilter{EnterpriseID: r.Enterprise.ID})
			if err != nil || len(hs) != 1 || hs[0].Status != safetybot.HazardRectifying || hs[0].Deadline == nil {
				t.Fatalf("hazards after the self-inspection: %+v %v", hs, err)
			}
			h := hs[0]
			official.settle()

			// Three days before the deadline the principal gets a card whose
			// button opens the rectification.
			remindAt := time.Date(h.Deadline.Year(), h.Deadline.Month(), h.Deadline.Day()-3, 9, 33, 0, 0, loc)
			hzRemind(t, b, remindAt, scheduler.KindHazardDue)
			got := boss.settle()
			if len(got) != 1 || !strings.Contains(got[0].Text, "隐患整改快到期了") || len(got[0].Keys) != 1 || got[0].Keys[0] != fmt.Sprintf("rectify:%d", h.ID) {
				t.Fatalf("reminder %+v", got)
			}
			if res := hzRemind(t, b, remindAt, scheduler.KindHazardDue); res.Total() != 0 {
				t.Fatalf("the same day's reminder went again: %v", res)
			}
			boss.tap(got[0], "提交整改").has(t, fmt.Sprintf("提交整改：编号%d", h.ID), "后门上锁")
			boss.say("提交").has(t, "还没有整改后的照片")
			boss.photo(scPhoto(11)).has(t, "已收到第 1 张照片", "说明")
			boss.say("后门已打开，杂物清走了").has(t, "已记下整改说明", "照片 1 张")
			boss.photo(scPhoto(12)).has(t, "已收到第 2 张照片", "提交")
			boss.say("提交").has(t, "已提交整改", "照片 2 张")

			cards := official.settle()
			if len(cards) != 1 || !strings.Contains(cards[0].Text, "整改待复查") || !strings.Contains(cards[0].Text, "后门已打开") ||
				strings.Join(cards[0].Buttons, ",") != "通过,退回" {
				t.Fatalf("review card %+v", cards)
			}
			links := hzCardLinks(t, cards[0])
			if len(links) != 3 {
				t.Fatalf("review card links %v, want one before and two after", links)
			}
			for i, want := range [][]byte{scPhoto(1), scPhoto(11), scPhoto(12)} {
				if !strings.HasPrefix(links[i], b.URL()+"/photos/"+hzSHA(want)+"?exp=") || !strings.Contains(links[i], "&sig=") {
					t.Fatalf("link %d is %s, want a signed link to the photo %s", i, links[i], hzSHA(want))
				}
				// The file is the photo sent, and the official's phone opens
				// the link as it is: no admin login, no cookie.
				if got, err := os.ReadFile(filepath.Join(b.Config.DataDir, "photos", hzSHA(want)[:2], hzSHA(want))); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("photo %d is not stored: %v", i, err)
				}
				resp, err := http.Get(links[i])
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) || resp.Header.Get("Content-Type") != "image/jpeg" {
					t.Fatalf("link %d answers %d %q, %d bytes; want the photo", i, resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
				}
			}

			// 退回 asks for the reason in chat, then tells the principal.
			official.tap(cards[0], "退回").has(t, "退回原因")
			official.say("照片看不清，请拍后门全景").has(t, fmt.Sprintf("已退回（编号%d）", h.ID))
			if ups, err := b.Sim.WaitUpdates(ctxT(t), r.Official, 1); err != nil || !strings.Contains(ups[len(ups)-1].ReplaceName, "已退回") {
				t.Fatalf("the review card was not greyed out: %+v %v", ups, err)
			}
			back := boss.settle()
			if len(back) != 1 || !strings.Contains(back[0].Text, "整改被退回") || !strings.Contains(back[0].Text, "照片看不清") {
				t.Fatalf("principal got %+v", back)
			}
			boss.tap(back[0], "提交整改").has(t, "上次退回原因：照片看不清")
			boss.say("已拍后门全景")
			boss.photo(scPhoto(13))
			boss.say("提交").has(t, "已提交整改")
			again := official.settle()
			if len(again) != 1 || !strings.Contains(again[0].Text, "整改重新提交") {
				t.Fatalf("second review card %+v", again)
			}
			official.tap(again[0], "通过").has(t, fmt.Sprintf("隐患（编号%d）已销号", h.ID))
			done := boss.settle()
			if len(done) != 1 || !strings.Contains(done[0].Text, "已复查通过") {
				t.Fatalf("principal got %+v", done)
			}
			final, _ := b.Store.FindHazard(ctx, h.ID)
			if final.Status != safetybot.HazardClosed || final.ClosedAt == nil {
				t.Fatalf("hazard ended %+v", final)
			}
			if got, want := hzPath(t, b.Store, h.ID), "→整改中 整改中→待复查 待复查→整改中 整改中→待复查 待复查→已销号"; got != want {
				t.Fatalf("history %s, want %s", got, want)
			}
			if got, want := hzAudit(t, b.Store, h.ID), "hazard.submit hazard.return hazard.submit hazard.approve"; got != want {
				t.Fatalf("audit %s, want %s", got, want)
			}
			// Nothing is left to rectify; an illegal step is refused in words.
			boss.say("整改").has(t, "没有需要整改的隐患")
			official.say(fmt.Sprintf("退回 %d 再看看", h.ID)).has(t, "已销号", "不能退回")
		})

		t.Run("重大 hazard: 五定, tracker, escalation, extension, closure", func(t *testing.T) {
			t.Parallel()
			r := scSeed(t, b.Store, "化工厂", safetybot.CategoryFiveSmall, "小化工", true)
			tracker := e2e.Users("hztr", 1)[0]
			if err := b.Store.CreatePerson(ctx, &safetybot.Person{UserID: tracker, Name: "跟踪员" + tracker, Role: safetybot.RoleDepartment, Department: "安委会"}); err != nil {
				t.Fatal(err)
			}
			boss, official, dept, tr := scAs(t, b, r.Principal), scAs(t, b, r.Official), scAs(t, b, r.Department), scAs(t, b, tracker)
			today := b.Clock.Now().In(loc)
			yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
			var id int64
			q := b.Store.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, photos, updated_at)
				VALUES (?, '检查', '储罐区可燃气体报警器失效', '重大', '整改中', ?, ?, ?, '[]', ?) RETURNING id`)
			if err := b.Store.DB().Get(&id, q, r.Enterprise.ID, yesterday, b.Store.Now(), r.Official, b.Store.Now()); err != nil {
				t.Fatal(err)
			}

			// 五定 in chat, step by step; the tracker is told.
			official.say(fmt.Sprintf("通过 %d", id)).has(t, "整改中", "不能复查通过")
			official.say(fmt.Sprintf("五定 %d", id)).has(t, "1/6", "措施")
			official.say("更换报警器，增设联动切断阀").has(t, "2/6", "责任人")
			official.say("钱老板（总经理）").has(t, "3/6", "资金")
			official.say("5万元，企业自筹").has(t, "4/6", "时限")
			official.say("跳过").has(t, "5/6", "预案")
			official.say("停用储罐区，专人巡查").has(t, "6/6", "跟踪人")
			official.say("没有这个人").has(t, "没有找到干部")
			official.say(tracker).has(t, "已保存五定", "更换报警器", "5万元", tracker)
			h, _ := b.Store.FindHazard(ctx, id)
			if h.Tracker != tracker || h.Measures != "更换报警器，增设联动切断阀" || h.Plan != "停用储罐区，专人巡查" || h.Deadline.Format(time.DateOnly) != yesterday {
				t.Fatalf("五定 stored as %+v", h)
			}
			if got := tr.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "跟踪人") {
				t.Fatalf("tracker got %+v", got)
			}

			// The API sets the same fields; bad input is 400 with a reason.
			patch := func(token, body string) (int, string) {
				req, _ := http.NewRequest("PATCH", fmt.Sprintf("%s/api/hazards/%d", b.URL(), id), strings.NewReader(body))
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(out)
			}
			for _, c := range []struct {
				token, body string
				status      int
				says        string
			}{
				{"", `{"funds":"6万元"}`, 401, "admin"},
				{hzAdminToken, `{"funds":`, 400, "invalid JSON"},
				{hzAdminToken, `{"budget":"6万元"}`, 400, "budget"},
				{hzAdminToken, `{"deadline":"8月20日"}`, 400, "not a date"},
				{hzAdminToken, `{"deadline":"2020-01-01"}`, 400, "in the past"},
				{hzAdminToken, `{"tracker":"` + r.Principal + `"}`, 400, "不是在册的干部"},
				{hzAdminToken, `{}`, 400, "没有要修改"},
			} {
				if status, body := patch(c.token, c.body); status != c.status || !strings.Contains(body, c.says) {
					t.Fatalf("PATCH %s: %d %s, want %d saying %q", c.body, status, body, c.status, c.says)
				}
			}
			if status, body := patch(hzAdminToken, `{"funds":"6万元，企业自筹","owner":"钱老板"}`); status != 200 || !strings.Contains(body, `"funds":"6万元，企业自筹"`) || !strings.Contains(body, `"tracker":"`+tracker+`"`) {
				t.Fatalf("PATCH: %d %s", status, body)
			}
			if status, _ := patch(hzAdminToken, `{"funds":"x"}`); status != 200 {
				t.Fatal("second PATCH failed")
			}

			// Overdue: the principal, the township, the tracker and the
			// supervising department are all reminded.
			res := hzRemind(t, b, today, scheduler.KindHazardOverdue, scheduler.KindHazardOverdueTownship, scheduler.KindHazardMajorOverdue)
			if res[scheduler.KindHazardOverdue] < 1 || res[scheduler.KindHazardMajorOverdue] < 2 {
				t.Fatalf("reminders %v", res)
			}
			if got := boss.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "隐患整改已逾期") || got[0].Keys[0] != fmt.Sprintf("rectify:%d", id) {
				t.Fatalf("principal got %+v", got)
			}
			for _, m := range []*scMember{tr, dept} {
				if got := m.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "重大隐患逾期") || !strings.Contains(got[0].Text, fmt.Sprintf("编号%d", id)) {
					t.Fatalf("%s got %+v", m.id, got)
				}
			}
			if got := official.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "逾期隐患") || !strings.Contains(got[0].Text, "报警器") {
				t.Fatalf("township official got %+v", got)
			}
			rows := outboxOf(t, b.Store, tracker)
			if kind, _, _, ok := store.ParseReminderKey(rows[len(rows)-1].Batch); !ok || kind != scheduler.KindHazardMajorOverdue {
				t.Fatalf("the tracker's last outbox row is %q", rows[len(rows)-1].Batch)
			}

			// The enterprise asks for an extension; the township approves it.
			newDay := today.AddDate(0, 0, 20).Format(time.DateOnly)
			boss.say("申请延期").has(t, "新的整改期限", "报警器")
			boss.say(newDay+" 报警器还没到货").has(t, "已提交延期申请")
			ask := official.settle()
			if len(ask) != 1 || !strings.Contains(ask[0].Text, "申请延期") || strings.Join(ask[0].Buttons, ",") != "同意,不同意" {
				t.Fatalf("extension card %+v", ask)
			}
			official.tap(ask[0], "同意").has(t, "已批准延期")
			if got := boss.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "延期已批准") {
				t.Fatalf("principal got %+v", got)
			}
			h, _ = b.Store.FindHazard(ctx, id)
			if h.Deadline.Format(time.DateOnly) != newDay || h.Status != safetybot.HazardRectifying {
				t.Fatalf("after the extension %+v", h)
			}
			// No longer overdue: tomorrow's sweep leaves it alone.
			if res := hzRemind(t, b, today.AddDate(0, 0, 1), scheduler.KindHazardOverdue, scheduler.KindHazardMajorOverdue); res.Total() != 0 {
				t.Fatalf("an extended hazard was reminded as overdue: %v", res)
			}

			// It cannot be fixed: closed down.
			official.say(fmt.Sprintf("关闭取缔 %d 无法整改达标", id)).has(t, "关闭取缔")
			if got := boss.settle(); len(got) != 1 || !strings.Contains(got[0].Text, "【关闭取缔】") || !strings.Contains(got[0].Text, "无法整改达标") {
				t.Fatalf("principal got %+v", got)
			}
			h, _ = b.Store.FindHazard(ctx, id)
			if h.Status != safetybot.HazardShutDown || h.ClosedAt == nil {
				t.Fatalf("after closure %+v", h)
			}
			if got, want := hzAudit(t, b.Store, id), "hazard.plan hazard.plan hazard.plan hazard.extend_request hazard.extend hazard.shutdown"; got != want {
				t.Fatalf("audit %s, want %s", got, want)
			}
			boss.say("申请延期").has(t, "没有需要整改的隐患")
		})
	})
}
