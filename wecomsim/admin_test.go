package wecomsim_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"safetybot/wecomsim"
)

func (e *env) simMessages(user string, after int64, wait string) wecomsim.SimMessages {
	e.t.Helper()
	res, raw := e.doRaw(http.MethodGet, "/sim/messages?user="+user+"&after="+strconv.FormatInt(after, 10)+"&wait="+wait, nil)
	if res.StatusCode != 200 {
		e.t.Fatalf("HTTP %d %s", res.StatusCode, raw)
	}
	var out wecomsim.SimMessages
	if err := json.Unmarshal(raw, &out); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) simSend(body string) (int, wecomsim.SimSendResult) {
	e.t.Helper()
	res, raw := e.doRaw(http.MethodPost, "/sim/send", body)
	var out wecomsim.SimSendResult
	if res.StatusCode == 200 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return res.StatusCode, out
}

func TestAdminMessages(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	if got := e.simMessages("alice", 0, "0"); len(got.Messages) != 0 || got.LastSeq != 0 {
		t.Fatalf("empty poll %+v", got)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		e.send(cardBody("alice", buttonCard("admin-1")))
	}()
	start := time.Now()
	got := e.simMessages("alice", 0, "5")
	if len(got.Messages) != 1 || time.Since(start) > 4*time.Second {
		t.Fatalf("long poll %+v", got)
	}
	m := got.Messages[0]
	if m.MsgType != "template_card" || !strings.Contains(m.Rendered, "[1] 签收") || m.ResponseCode == "" {
		t.Fatalf("message %+v", m)
	}
	code := m.ResponseCode
	wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/update_template_card",
		updateBody([]string{"alice"}, code, map[string]any{"button": map[string]string{"replace_name": "已签收"}})), 0)
	next := e.simMessages("alice", got.LastSeq, "1")
	if len(next.Messages) != 0 || len(next.Updates) != 1 || next.Updates[0].Rendered != "[已签收]" {
		t.Fatalf("after %d: %+v", got.LastSeq, next)
	}
}

func TestAdminSend(t *testing.T) {
	e, bot := newBotEnv(t, wecomsim.Config{})

	status, res := e.simSend(`{"user":"alice","text":"你好"}`)
	if status != 200 || res.Status != 200 || res.Attempts != 1 {
		t.Fatalf("HTTP %d %+v", status, res)
	}
	if in := parseInbound(t, bot.received()[0].plain); in.Content != "你好" || in.FromUserName != "alice" {
		t.Fatalf("inbound %+v", in)
	}

	_, res = e.simSend(`{"user":"alice","image_base64":"` + base64.StdEncoding.EncodeToString(pngBytes) + `"}`)
	if res.Status != 200 {
		t.Fatalf("image %+v", res)
	}
	path := filepath.Join(t.TempDir(), "p.png")
	if err := os.WriteFile(path, pngBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	_, res = e.simSend(`{"user":"alice","image_path":"` + path + `"}`)
	if res.Status != 200 {
		t.Fatalf("image_path %+v", res)
	}
	if status, _ := e.simSend(`{"user":"alice","image_path":"/etc/hostname"}`); status != http.StatusBadRequest {
		t.Fatalf("non-image path: HTTP %d", status)
	}
	_, res = e.simSend(`{"user":"alice","location":{"lat":23.1,"lng":113.3,"label":"东门"}}`)
	if in := parseInbound(t, bot.received()[3].plain); in.MsgType != "location" || in.Label != "东门" {
		t.Fatalf("location %+v %+v", res, in)
	}
	e.simSend(`{"user":"alice","click":"MENU_HELP"}`)
	if in := parseInbound(t, bot.received()[4].plain); in.EventKey != "MENU_HELP" {
		t.Fatalf("click %+v", in)
	}

	wantErrCode(t, e.send(cardBody("alice", voteCard("admin-vote"))), 0)
	code := e.sim.Messages("alice")[0].ResponseCode
	_, res = e.simSend(`{"user":"alice","card_click":{"response_code":"` + code + `","key":"submit","selected":{"items":["gas"]}}}`)
	in := parseInbound(t, bot.received()[5].plain)
	if res.Status != 200 || in.TaskID != "admin-vote" || in.ResponseCode != code || in.Selected[0].OptionIDs[0] != "gas" {
		t.Fatalf("card click %+v %+v", res, in)
	}
	_, res = e.simSend(`{"user":"alice","card_click":{"task_id":"admin-vote","key":"submit"}}`)
	if res.Status != 200 {
		t.Fatalf("card click by task %+v", res)
	}
	if status, _ := e.simSend(`{"user":"alice","card_click":{"task_id":"admin-vote","key":"nope"}}`); status != http.StatusBadRequest {
		t.Fatalf("bad key: HTTP %d", status)
	}
	if status, _ := e.simSend(`{"user":"alice"}`); status != http.StatusBadRequest {
		t.Fatalf("nothing to send: HTTP %d", status)
	}

	bot.set(func(b *testBot) { b.status = http.StatusInternalServerError })
	_, res = e.simSend(`{"user":"alice","text":"x"}`)
	if res.Status != 500 || res.Attempts != 4 || res.Error == "" {
		t.Fatalf("failing bot %+v", res)
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	sim := wecomsim.New(wecomsim.Config{})
	mux := http.NewServeMux()
	mux.Handle("/wecom/", http.StripPrefix("/wecom", sim))
	mux.Handle("/raw/", sim)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	cfg := sim.Config()
	for _, prefix := range []string{"/wecom", "/raw"} {
		res, err := http.Get(hs.URL + prefix + "/cgi-bin/gettoken?corpid=" + cfg.CorpID + "&corpsecret=" + cfg.Secret)
		if err != nil {
			t.Fatal(err)
		}
		var r apiResp
		_ = json.NewDecoder(res.Body).Decode(&r)
		res.Body.Close()
		if r.ErrCode != 0 || r.AccessToken == "" {
			t.Fatalf("%s: %+v", prefix, r)
		}
	}
	if got := sim.Config().BaseURL; got != hs.URL+"/wecom" {
		t.Fatalf("learned BaseURL %q, want the mount prefix kept", got)
	}
	if sim.TokenFetches() != 2 {
		t.Fatalf("TokenFetches %d", sim.TokenFetches())
	}
}
