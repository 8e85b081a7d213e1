package wecomsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"safetybot/wecomsim"
)

func buttonCard(taskID string) string {
	return `{"card_type":"button_interaction","main_title":{"title":"安全承诺书","desc":"请签收"},` +
		`"horizontal_content_list":[{"keyname":"截止","value":"6月1日"}],"task_id":"` + taskID + `",` +
		`"button_list":[{"text":"签收","style":1,"key":"sign"},{"text":"稍后","style":2,"key":"later"},{"type":1,"text":"原文","url":"https://example.invalid/letter"}]}`
}

func voteCard(taskID string) string {
	return `{"card_type":"vote_interaction","main_title":{"title":"检查项"},"task_id":"` + taskID + `",` +
		`"checkbox":{"question_key":"items","mode":1,"option_list":[{"id":"fire","text":"消防通道","is_checked":true},{"id":"gas","text":"燃气"},{"id":"wire","text":"电线"}]},` +
		`"submit_button":{"text":"提交","key":"submit"}}`
}

func cardBody(to, card string) string {
	return `{"touser":"` + to + `","msgtype":"template_card","agentid":1000002,"template_card":` + card + `}`
}

func TestTemplateCardSend(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	r := e.send(cardBody("alice|bob", buttonCard("letter-1")))
	wantErrCode(t, r, 0)
	a, b := e.sim.Messages("alice")[0], e.sim.Messages("bob")[0]
	if a.ResponseCode == "" || b.ResponseCode == "" || a.ResponseCode == b.ResponseCode {
		t.Fatalf("per-recipient codes %q %q", a.ResponseCode, b.ResponseCode)
	}
	if r.ResponseCode != a.ResponseCode {
		t.Fatalf("response_code %q is not one of the call's codes", r.ResponseCode)
	}
	if a.TaskID != "letter-1" || a.MsgType != "template_card" {
		t.Fatalf("delivered %+v", a)
	}

	cases := []struct {
		name string
		card string
		code int
	}{
		{"task_id reused later", buttonCard("letter-1"), 40058},
		{"task_id missing", `{"card_type":"button_interaction","main_title":{"title":"x"},"button_list":[{"text":"a","key":"a"}]}`, 40058},
		{"task_id bad charset", buttonCard("letter 2"), 40058},
		{"task_id too long", buttonCard(longID(129)), 40058},
		{"task_id at the limit", buttonCard(longID(128)), 0},
		{"unknown card type", `{"card_type":"poster","task_id":"p1"}`, 40058},
		{"buttons without key", `{"card_type":"button_interaction","main_title":{"title":"x"},"task_id":"t-nokey","button_list":[{"text":"a"}]}`, 40058},
		{"seven buttons", `{"card_type":"button_interaction","main_title":{"title":"x"},"task_id":"t7","button_list":[{"text":"1","key":"1"},{"text":"2","key":"2"},{"text":"3","key":"3"},{"text":"4","key":"4"},{"text":"5","key":"5"},{"text":"6","key":"6"},{"text":"7","key":"7"}]}`, 40058},
		{"vote", voteCard("vote-1"), 0},
		{"vote without submit", `{"card_type":"vote_interaction","main_title":{"title":"x"},"task_id":"v2","checkbox":{"question_key":"q","option_list":[{"id":"a","text":"A"}]}}`, 40058},
		{"text_notice without card_action", `{"card_type":"text_notice","main_title":{"title":"x"}}`, 40058},
		{"text_notice", `{"card_type":"text_notice","main_title":{"title":"x"},"card_action":{"type":1,"url":"https://example.invalid"}}`, 0},
		{"text_notice with action_menu needs task_id", `{"card_type":"text_notice","main_title":{"title":"x"},"card_action":{"type":1,"url":"https://example.invalid"},"action_menu":{"desc":"m","action_list":[{"text":"不再提醒","key":"mute"}]}}`, 40058},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErrCode(t, e.send(cardBody("alice", c.card)), c.code)
		})
	}
	t.Run("text_notice has no response_code", func(t *testing.T) {
		r := e.send(cardBody("carol", `{"card_type":"text_notice","main_title":{"title":"x"},"card_action":{"type":1,"url":"https://example.invalid"}}`))
		if r.ResponseCode != "" || e.sim.Messages("carol")[0].ResponseCode != "" {
			t.Fatal("text_notice got a response_code")
		}
	})
}

func longID(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}

func updateBody(users []string, code string, extra map[string]any) map[string]any {
	m := map[string]any{"userids": users, "agentid": "1000002", "response_code": code}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestUpdateTemplateCard(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	wantErrCode(t, e.send(cardBody("alice|bob", buttonCard("task-u1"))), 0)
	alice := e.sim.Messages("alice")[0]
	button := map[string]any{"button": map[string]string{"replace_name": "已签收"}}

	t.Run("exactly one of button and template_card", func(t *testing.T) {
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"alice"}, alice.ResponseCode, nil)), 40058)
		both := map[string]any{"button": map[string]string{"replace_name": "x"}, "template_card": json.RawMessage(buttonCard("zz"))}
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"alice"}, alice.ResponseCode, both)), 40058)
	})
	t.Run("single use, invaliduser is an array", func(t *testing.T) {
		res, raw := e.doRaw(http.MethodPost, "/cgi-bin/message/update_template_card?access_token="+e.token(),
			updateBody([]string{"alice", "Mallory"}, alice.ResponseCode, button))
		if res.StatusCode != 200 {
			t.Fatal(res.Status)
		}
		var r struct {
			ErrCode     int      `json:"errcode"`
			InvalidUser []string `json:"invaliduser"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if r.ErrCode != 0 || !slices.Equal(r.InvalidUser, []string{"mallory"}) {
			t.Fatalf("answer %s", raw)
		}
		ups := e.sim.Updates("alice")
		if len(ups) != 1 || ups[0].ReplaceName != "已签收" || ups[0].TaskID != "task-u1" {
			t.Fatalf("updates %+v", ups)
		}
		if len(e.sim.Updates("bob")) != 0 {
			t.Fatal("bob updated too")
		}
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"alice"}, alice.ResponseCode, button)), 40058)
	})
	t.Run("empty answer array on full success", func(t *testing.T) {
		_, raw := e.doRaw(http.MethodPost, "/cgi-bin/message/update_template_card?access_token="+e.token(),
			updateBody([]string{"bob"}, e.sim.Messages("bob")[0].ResponseCode, map[string]any{
				"template_card": json.RawMessage(`{"card_type":"button_interaction","main_title":{"title":"安全承诺书"},"button_list":[{"text":"签收","key":"sign"}],"replace_text":"已处理"}`),
			}))
		if string(raw) != `{"errcode":0,"errmsg":"ok","invaliduser":[]}` {
			t.Fatalf("answer %s", raw)
		}
		if u := e.sim.Updates("bob"); len(u) != 1 || u[0].ReplaceText != "已处理" || u[0].Card == nil {
			t.Fatalf("updates %+v", u)
		}
	})
	t.Run("expires after 72 hours", func(t *testing.T) {
		wantErrCode(t, e.send(cardBody("carol", buttonCard("task-u2"))), 0)
		code := e.sim.Messages("carol")[0].ResponseCode
		e.clock.Advance(72 * time.Hour)
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"carol"}, code, button)), 40058)
	})
	t.Run("unknown code and user not on the card", func(t *testing.T) {
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"alice"}, "nope", button)), 40058)
		wantErrCode(t, e.send(cardBody("dave", buttonCard("task-u3"))), 0)
		code := e.sim.Messages("dave")[0].ResponseCode
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"erin"}, code, button)), 81013)
		// The failed call did not consume the code.
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"dave"}, code, button)), 0)
	})
	t.Run("atall updates every recipient", func(t *testing.T) {
		wantErrCode(t, e.send(cardBody("f1|f2", buttonCard("task-u4"))), 0)
		code := e.sim.Messages("f1")[0].ResponseCode
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", map[string]any{"atall": 1, "agentid": 1000002, "response_code": code, "button": map[string]string{"replace_name": "已结束"}}), 0)
		if len(e.sim.Updates("f1")) != 1 || len(e.sim.Updates("f2")) != 1 {
			t.Fatal("atall missed a recipient")
		}
	})
}

func TestClickCard(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	bot, bhs := newTestBot(t, e.cfg)
	e.sim.SetCallbackURL(bhs.URL + "/wecom/callback")
	ctx := context.Background()
	wantErrCode(t, e.send(cardBody("alice", buttonCard("click-1"))), 0)
	d := e.sim.Messages("alice")[0]
	alice := e.sim.As("alice")

	t.Run("template_card_event carries the recipient's code", func(t *testing.T) {
		if _, err := alice.ClickCard(ctx, d, "sign", nil); err != nil {
			t.Fatal(err)
		}
		in := parseInbound(t, bot.received()[0].plain)
		if in.MsgType != "event" || in.Event != "template_card_event" || in.EventKey != "sign" ||
			in.TaskID != "click-1" || in.CardType != "button_interaction" || in.ResponseCode != d.ResponseCode {
			t.Fatalf("event %+v", in)
		}
	})
	t.Run("a second click carries a fresh code", func(t *testing.T) {
		if _, err := alice.ClickCard(ctx, d, "later", nil); err != nil {
			t.Fatal(err)
		}
		in := parseInbound(t, bot.received()[1].plain)
		if in.ResponseCode == "" || in.ResponseCode == d.ResponseCode {
			t.Fatalf("second click code %q", in.ResponseCode)
		}
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card", updateBody([]string{"alice"}, in.ResponseCode, map[string]any{"button": map[string]string{"replace_name": "已签收"}})), 0)
	})
	t.Run("no click after the buttons were replaced", func(t *testing.T) {
		if _, err := alice.ClickCard(ctx, d, "sign", nil); !errors.Is(err, wecomsim.ErrCardDisabled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown key, url button, someone else's card", func(t *testing.T) {
		wantErrCode(t, e.send(cardBody("bob", buttonCard("click-2"))), 0)
		bd := e.sim.Messages("bob")[0]
		bob := e.sim.As("bob")
		if _, err := bob.ClickCard(ctx, bd, "nope", nil); !errors.Is(err, wecomsim.ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
		if _, err := bob.ClickCard(ctx, bd, "", nil); !errors.Is(err, wecomsim.ErrUnknownKey) {
			t.Fatalf("url button: err = %v", err)
		}
		if _, err := alice.ClickCard(ctx, bd, "sign", nil); !errors.Is(err, wecomsim.ErrNotACard) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("vote with selections uses OptionIds/OptionId", func(t *testing.T) {
		wantErrCode(t, e.send(cardBody("carol", voteCard("vote-9"))), 0)
		vd := e.sim.Messages("carol")[0]
		n := len(bot.received())
		if _, err := e.sim.As("carol").ClickCard(ctx, vd, "submit", map[string][]string{"items": {"gas", "wire"}}); err != nil {
			t.Fatal(err)
		}
		got := bot.received()[n]
		in := parseInbound(t, got.plain)
		if len(in.Selected) != 1 || in.Selected[0].QuestionKey != "items" || !slices.Equal(in.Selected[0].OptionIDs, []string{"gas", "wire"}) {
			t.Fatalf("selected %+v in %s", in.Selected, got.plain)
		}
		// Defaults (is_checked) when the member changes nothing.
		if _, err := e.sim.As("carol").ClickCard(ctx, vd, "submit", nil); err != nil {
			t.Fatal(err)
		}
		in = parseInbound(t, bot.received()[n+1].plain)
		if len(in.Selected) != 1 || !slices.Equal(in.Selected[0].OptionIDs, []string{"fire"}) {
			t.Fatalf("default selection %+v", in.Selected)
		}
		if _, err := e.sim.As("carol").ClickCard(ctx, vd, "submit", map[string][]string{"items": {"coal"}}); !errors.Is(err, wecomsim.ErrUnknownKey) {
			t.Fatalf("unknown option: err = %v", err)
		}
	})
}
