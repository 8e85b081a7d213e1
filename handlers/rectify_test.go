package handlers_test

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/handlers"
	"safetybot/messages"
)

// rcHazard inserts a hazard of the key unit (青石镇, 应急管理局) directly.
func (w *world) rcHazard(grade string, status safetybot.HazardStatus, deadline string) int64 {
	w.t.Helper()
	now := w.st.Now()
	var id int64
	q := w.st.DB().Rebind(`INSERT INTO hazards (enterprise_id, source, description, grade, status, deadline, found_at, found_by, photos, updated_at)
		VALUES (?, '检查', '储罐区报警器失效', ?, ?, ?, ?, 'township', '["before"]', ?) RETURNING id`)
	if err := w.st.DB().Get(&id, q, w.keyUnit.ID, grade, string(status), deadline, now, now); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.st.DB().Exec(w.st.DB().Rebind(`INSERT INTO hazard_events (hazard_id, at, actor, from_status, to_status, note, photos)
		VALUES (?, ?, 'township', '', ?, '', '[]')`), id, now, string(status)); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) rcDeadline(id int64) string {
	w.t.Helper()
	h, err := w.st.FindHazard(context.Background(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	if h.Deadline == nil {
		return ""
	}
	return h.Deadline.Format(time.DateOnly)
}

// rcPhotoLinks checks that a review card's photo links (one before, the rest
// after) name the photos shas, signed for the public /photos/ endpoint and
// open for ReviewPhotoLinkTTL.
func (w *world) rcPhotoLinks(card *messages.TemplateCard, shas ...string) {
	w.t.Helper()
	key, err := handlers.PhotoLinkKey(context.Background(), w.st)
	if err != nil {
		w.t.Fatal(err)
	}
	var links []string
	for _, it := range card.HorizontalContentList {
		if it.URL != "" {
			links = append(links, it.URL)
		}
	}
	if len(links) != len(shas) {
		w.t.Fatalf("card links %v, want photos %v", links, shas)
	}
	wantExp := w.clock.Now().Add(handlers.ReviewPhotoLinkTTL).Unix()
	for i, l := range links {
		u, err := url.Parse(l)
		if err != nil {
			w.t.Fatal(err)
		}
		exp, _ := strconv.ParseInt(u.Query().Get("exp"), 10, 64)
		if u.Scheme+"://"+u.Host+u.Path != "https://bot.example/photos/"+shas[i] || exp != wantExp ||
			!handlers.ValidPhotoSig(key, shas[i], exp, u.Query().Get("sig")) {
			w.t.Fatalf("link %d is %s, want a signed link to %s expiring at %d", i, l, shas[i], wantExp)
		}
	}
	if card.CardAction == nil || card.CardAction.URL != links[1] {
		w.t.Fatalf("the card opens %+v, want the first photo after", card.CardAction)
	}
}

// TestRectifyChat covers who may do what in the hazard loop's chat, and the
// ways people type a date.
func TestRectifyChat(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		id := w.rcHazard(safetybot.GradeMajor, safetybot.HazardRectifying, "2026-07-20")

		t.Run("officials outside the hazard's township and department are refused", func(t *testing.T) {
			for _, cmd := range []string{"通过 %d", "退回 %d 不行", "延期 %d 8月30日", "关闭取缔 %d", "五定 %d"} {
				mustContain(t, last(t, w.say(other, fmt.Sprintf(cmd, id))), "只有企业所属镇街")
			}
			mustContain(t, last(t, w.say(boss, "整改")), "没有需要整改的隐患")
		})

		t.Run("an official extends by typing a date", func(t *testing.T) {
			for _, c := range []struct{ typed, want string }{
				{"延期 %d 2026-08-01 材料未到", "2026-08-01"},
				{"延期 编号%d 8月3日", "2026-08-03"},
				{"延期 #%d 8/5", "2026-08-05"},
				{"延期 %d 2026年8月7日，设备检修", "2026-08-07"},
			} {
				reply := w.say(dept, fmt.Sprintf(c.typed, id))
				mustContain(t, last(t, reply), "已批准延期", shortDay(c.want))
				if got := w.rcDeadline(id); got != c.want {
					t.Fatalf("%q: deadline %s, want %s", c.typed, got, c.want)
				}
				if told := to(reply, solo, dept); len(told) != 1 || !strings.Contains(told[0].Text, "延期已批准") {
					t.Fatalf("%q: the principal was told %+v", c.typed, told)
				}
			}
			mustContain(t, last(t, w.say(dept, fmt.Sprintf("延期 %d 7月1日", id))), "今天之后")
			mustContain(t, last(t, w.say(dept, fmt.Sprintf("延期 %d 8月6日", id))), "晚于原期限")
			mustContain(t, last(t, w.say(dept, fmt.Sprintf("延期 %d 2月30日", id))), "请写上隐患编号")
			mustContain(t, last(t, w.say(dept, "延期 abc")), "请写上隐患编号")
		})

		t.Run("rectification, a stale review tap, and 退回 cancelled", func(t *testing.T) {
			reply := w.click(solo, fmt.Sprintf("rectify:%d", id))
			mustContain(t, last(t, reply), fmt.Sprintf("编号%d", id), "报警器")
			w.say(solo, "更换了报警器")
			_, after := w.photo(solo, "after-1")
			reply = w.say(solo, "提交")
			mustContain(t, last(t, reply), "已提交整改")
			cards := to(reply, township, solo)
			if len(cards) != 1 || cards[0].Card == nil {
				t.Fatalf("township official got %+v", cards)
			}
			w.rcPhotoLinks(cards[0].Card, "before", after)
			back, ok := keyFor(t, cards[0], "退回"), keyFor(t, cards[0], "通过")
			if len(to(reply, dept, solo)) != 0 {
				t.Fatal("the department official got the review card without being the tracker")
			}
			mustContain(t, last(t, w.click(other, ok)), "只有企业所属镇街")
			mustContain(t, last(t, w.click(township, back)), "退回原因")
			mustContain(t, last(t, w.say(township, "取消")), "已取消")
			if h, _ := w.st.FindHazard(context.Background(), id); h.Status != safetybot.HazardReview {
				t.Fatalf("a cancelled 退回 moved the hazard to %s", h.Status)
			}
			// 复查: the card again, with links that open for another 30 days,
			// a task_id of its own (WeCom takes each once) and the same buttons.
			mustContain(t, last(t, w.say(other, fmt.Sprintf("复查 %d", id))), "只有企业所属镇街")
			mustContain(t, last(t, w.say(township, "复查")), "请写上隐患编号")
			w.clock.Add(40 * 24 * time.Hour)
			again := last(t, w.say(township, fmt.Sprintf("复查 %d", id)))
			if again.Card == nil {
				t.Fatalf("复查 answered %q, want the review card", again.Text)
			}
			w.rcPhotoLinks(again.Card, "before", after)
			if again.Card.TaskID == "" || again.Card.TaskID == cards[0].Card.TaskID {
				t.Fatalf("the card sent again has task_id %q (first card %q)", again.Card.TaskID, cards[0].Card.TaskID)
			}
			if keyFor(t, again, "通过") != ok || keyFor(t, again, "退回") != back {
				t.Fatal("the card sent again has other buttons")
			}
			// Approved by typing: the card tapped afterwards is stale.
			mustContain(t, last(t, w.say(township, fmt.Sprintf("通过 %d", id))), "已销号")
			mustContain(t, last(t, w.click(township, ok)), "已过期", "已销号")
			mustContain(t, last(t, w.say(township, fmt.Sprintf("复查 %d", id))), "不用复查")
		})
	})
}

// shortDay turns a date into how replies show it ("8月1日").
func shortDay(day string) string {
	t, _ := time.Parse(time.DateOnly, day)
	return fmt.Sprintf("%d月%d日", t.Month(), t.Day())
}
