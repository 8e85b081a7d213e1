package wecomsim_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/silenceper/wechat/v2/util"

	"safetybot/wecomsim"
)

// TestSilenceperUtil drives the simulator through the HTTP helpers of the SDK the
// bot builds on (its cache package cannot be built here, so the work/* clients are
// out of reach): the request shapes of work/message and work/material must pass.
func TestSilenceperUtil(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	const host = "https://qyapi.weixin.qq.com"
	util.SetURIModifier(func(uri string) string { return strings.Replace(uri, host, e.hs.URL, 1) })
	defer util.SetURIModifier(nil)

	raw, err := util.HTTPGet(host + "/cgi-bin/gettoken?corpid=" + e.cfg.CorpID + "&corpsecret=" + e.cfg.Secret)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(raw, &tok)

	// Field for field what work/message.SendTextRequest marshals to.
	req := struct {
		ToUser                 string `json:"touser"`
		ToParty                string `json:"toparty"`
		ToTag                  string `json:"totag"`
		MsgType                string `json:"msgtype"`
		AgentID                string `json:"agentid"`
		Safe                   int    `json:"safe"`
		EnableIDTrans          int    `json:"enable_id_trans"`
		EnableDuplicateCheck   int    `json:"enable_duplicate_check"`
		DuplicateCheckInterval int    `json:"duplicate_check_interval"`
		Text                   struct {
			Content string `json:"content"`
		} `json:"text"`
	}{ToUser: "alice", MsgType: "text", AgentID: "1000002"}
	req.Text.Content = "来自 SDK"
	raw, err = util.PostJSON(host+"/cgi-bin/message/send?access_token="+tok.AccessToken, req)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		util.CommonError
		MsgID string `json:"msgid"`
	}
	if err := util.DecodeWithError(raw, &resp, "MessageSend"); err != nil || resp.MsgID == "" {
		t.Fatalf("send: %s %v", raw, err)
	}

	raw, err = util.PostFileByStream("media", "photo.png", host+"/cgi-bin/media/upload?access_token="+tok.AccessToken+"&type=image", pngBytes)
	if err != nil {
		t.Fatal(err)
	}
	var up struct {
		util.CommonError
		MediaID   string `json:"media_id"`
		CreatedAt string `json:"created_at"`
	}
	if err := util.DecodeWithError(raw, &up, "UploadTempFile"); err != nil {
		t.Fatalf("upload: %s %v", raw, err)
	}
	raw, err = util.HTTPGet(host + "/cgi-bin/media/get?access_token=" + tok.AccessToken + "&media_id=" + up.MediaID)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := util.HandleFileResponse(raw, "GetTempFile"); err != nil || !bytes.Equal(got, pngBytes) {
		t.Fatalf("media/get: %v", err)
	}
	raw, _ = util.HTTPGet(host + "/cgi-bin/media/get?access_token=" + tok.AccessToken + "&media_id=nope")
	if _, err := util.HandleFileResponse(raw, "GetTempFile"); err == nil {
		t.Fatal("unknown media_id passed HandleFileResponse")
	}
}
