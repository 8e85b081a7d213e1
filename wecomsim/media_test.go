package wecomsim_test

import (
	"bytes"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"safetybot/wecomsim"
)

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x42}, 64)...)

func (e *env) upload(kind, filename string, data []byte) apiResp {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("media", filename)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	u := e.hs.URL + "/cgi-bin/media/upload?" + url.Values{"access_token": {e.token()}, "type": {kind}}.Encode()
	res, err := e.hs.Client().Post(u, mw.FormDataContentType(), &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var r apiResp
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		e.t.Fatal(err)
	}
	return r
}

func TestMedia(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	r := e.upload("image", "/tmp/dir/photo.png", pngBytes)
	wantErrCode(t, r, 0)
	var created string
	if err := json.Unmarshal(r.CreatedAt, &created); err != nil || created != strconv.FormatInt(e.clock.Now().Unix(), 10) {
		t.Fatalf("created_at %s must be a string of unix seconds", r.CreatedAt)
	}
	if r.Type != "image" || r.MediaID == "" {
		t.Fatalf("answer %+v", r)
	}

	t.Run("get returns bytes and headers", func(t *testing.T) {
		res, body := e.doRaw(http.MethodGet, "/cgi-bin/media/get?access_token="+e.token()+"&media_id="+r.MediaID, nil)
		if res.StatusCode != 200 || !bytes.Equal(body, pngBytes) {
			t.Fatalf("HTTP %d, %d bytes", res.StatusCode, len(body))
		}
		if ct := res.Header.Get("Content-Type"); ct != "image/png" {
			t.Fatalf("Content-Type %q", ct)
		}
		_, params, err := mime.ParseMediaType(res.Header.Get("Content-Disposition"))
		if err != nil || params["filename"] != "photo.png" {
			t.Fatalf("Content-Disposition %q", res.Header.Get("Content-Disposition"))
		}
	})
	t.Run("range", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, e.hs.URL+"/cgi-bin/media/get?access_token="+e.token()+"&media_id="+r.MediaID, nil)
		req.Header.Set("Range", "bytes=0-7")
		res, err := e.hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusPartialContent {
			t.Fatalf("HTTP %d", res.StatusCode)
		}
	})
	t.Run("upload checks", func(t *testing.T) {
		wantErrCode(t, e.upload("image", "a.png", []byte("\x89PNG")), 40006)
		wantErrCode(t, e.upload("image", "a.png", nil), 44001)
		wantErrCode(t, e.upload("sticker", "a.png", pngBytes), 40005)
		wantErrCode(t, e.upload("image", "a.gif", []byte("GIF89a-not-allowed")), 40004)
		wantErrCode(t, e.upload("voice", "a.amr", []byte("#!AMR\n0000")), 0)
		wantErrCode(t, e.upload("file", "report.xlsx", []byte("PK\x03\x04 some zip")), 0)
		wantErrCode(t, e.upload("voice", "big.amr", append([]byte("#!AMR\n"), make([]byte, 2<<20)...)), 45001)
	})
	t.Run("unknown and expired ids answer 40007 with HTTP 200", func(t *testing.T) {
		res, body := e.doRaw(http.MethodGet, "/cgi-bin/media/get?access_token="+e.token()+"&media_id=nope", nil)
		if res.StatusCode != 200 || !bytes.Contains(body, []byte(`"errcode":40007`)) {
			t.Fatalf("HTTP %d %s", res.StatusCode, body)
		}
		id := e.sim.PutMedia([]byte("hello world"), "text/plain")
		e.clock.Advance(72*time.Hour - time.Second)
		wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/message/send", `{"touser":"alice","msgtype":"file","agentid":1000002,"file":{"media_id":"`+id+`"}}`), 0)
		e.clock.Advance(time.Second)
		_, body = e.doRaw(http.MethodGet, "/cgi-bin/media/get?access_token="+e.token()+"&media_id="+id, nil)
		if !bytes.Contains(body, []byte(`"errcode":40007`)) {
			t.Fatalf("expired media served: %q", body)
		}
	})
}

func TestMenu(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	menu := `{"button":[{"type":"click","name":"签收","key":"MENU_SIGN"},{"name":"更多","sub_button":[{"type":"view","name":"看板","url":"https://example.invalid/dash"},{"type":"click","name":"帮助","key":"MENU_HELP"}]}]}`
	wantErrCode(t, e.api(http.MethodPost, "/cgi-bin/menu/create?agentid=1000002", menu), 0)
	if string(e.sim.Menu()) != menu {
		t.Fatalf("Menu() = %s", e.sim.Menu())
	}
	cases := []struct {
		name, path, body string
		code             int
	}{
		{"wrong agent", "/cgi-bin/menu/create?agentid=7", menu, 40056},
		{"no agent", "/cgi-bin/menu/create", menu, 41011},
		{"no buttons", "/cgi-bin/menu/create?agentid=1000002", `{"button":[]}`, 40016},
		{"four buttons", "/cgi-bin/menu/create?agentid=1000002", `{"button":[{"type":"click","name":"a","key":"a"},{"type":"click","name":"b","key":"b"},{"type":"click","name":"c","key":"c"},{"type":"click","name":"d","key":"d"}]}`, 40016},
		{"six sub buttons", "/cgi-bin/menu/create?agentid=1000002", `{"button":[{"name":"m","sub_button":[{"type":"click","name":"1","key":"1"},{"type":"click","name":"2","key":"2"},{"type":"click","name":"3","key":"3"},{"type":"click","name":"4","key":"4"},{"type":"click","name":"5","key":"5"},{"type":"click","name":"6","key":"6"}]}]}`, 40023},
		{"name too long", "/cgi-bin/menu/create?agentid=1000002", `{"button":[{"type":"click","name":"一二三四五六","key":"a"}]}`, 40018},
		{"click without key", "/cgi-bin/menu/create?agentid=1000002", `{"button":[{"type":"click","name":"a"}]}`, 40019},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantErrCode(t, e.api(http.MethodPost, c.path, c.body), c.code)
		})
	}
	if string(e.sim.Menu()) != menu {
		t.Fatal("a rejected menu replaced the stored one")
	}
}
