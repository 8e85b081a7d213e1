package wecomsim_test

import (
	"strings"
	"testing"

	"safetybot/wecomsim"
)

func TestRender(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	e.send(textBody("alice", "第一行\n第二行"))
	e.send(`{"touser":"alice","msgtype":"markdown","agentid":1000002,"markdown":{"content":"**重要** <font color=\"warning\">逾期</font>"}}`)
	e.send(`{"touser":"alice","msgtype":"textcard","agentid":1000002,"textcard":{"title":"检查通知","description":"<div class=\"gray\">2024年5月29日</div><div class=\"normal\">请准备材料</div>","url":"https://example.invalid/n/1","btntxt":"查看详情页面"}}`)
	e.send(cardBody("alice", buttonCard("render-1")))
	e.send(cardBody("alice", voteCard("render-2")))
	msgs := e.sim.Messages("alice")
	if len(msgs) != 5 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := []string{
		"第一行\n第二行",
		"**重要** <font color=\"warning\">逾期</font>",
		"【检查通知】\n2024年5月29日\n请准备材料\n查看详情: https://example.invalid/n/1",
		"【安全承诺书】\n请签收\n截止: 6月1日\n[1] 签收  [2] 稍后",
		"【检查项】\nitems (multiple):\n  [x] 消防通道 (fire)\n  [ ] 燃气 (gas)\n  [ ] 电线 (wire)\n[1] 提交",
	}
	for i, w := range want {
		if got := e.sim.Render(msgs[i]); got != w {
			t.Errorf("Render(%s) =\n%s\nwant\n%s", msgs[i].MsgType, got, w)
		}
	}
	btns := wecomsim.Buttons(msgs[3])
	if len(btns) != 2 || btns[0].Key != "sign" || btns[1].Number != 2 || btns[1].Key != "later" {
		t.Fatalf("Buttons %+v", btns)
	}
	qs := wecomsim.Questions(msgs[4])
	if len(qs) != 1 || !qs[0].Multi || len(qs[0].Options) != 3 || !qs[0].Options[0].Default {
		t.Fatalf("Questions %+v", qs)
	}
	if got := wecomsim.RenderUpdate(wecomsim.Update{ReplaceName: "已签收"}); !strings.Contains(got, "已签收") {
		t.Fatalf("RenderUpdate %q", got)
	}
}
