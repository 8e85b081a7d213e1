package wecom_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"safetybot/bot/wecom"
	"safetybot/messages"
)

const corp = "ww7f00c0ffee000001"

func readInbound(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "inbound", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func at(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

func TestParseMessage(t *testing.T) {
	base := func(from string, ts int64, kind string) messages.Inbound {
		return messages.Inbound{CorpID: corp, From: from, AgentID: 1000002, CreateTime: at(ts), Kind: kind}
	}
	with := func(in messages.Inbound, f func(*messages.Inbound)) messages.Inbound { f(&in); return in }

	tests := []struct {
		file string
		want messages.Inbound
	}{
		{"text.xml", with(base("alice", 1717000000, "text"), func(in *messages.Inbound) {
			in.MsgID, in.Text = "7373000000000000001", "deploy status?"
		})},
		{"text_bare.xml", with(base("alice", 1717000001, "text"), func(in *messages.Inbound) {
			in.MsgID, in.Text = "18446744073709551615", "我的情况 & 进度"
		})},
		{"image.xml", with(base("alice", 1717000060, "image"), func(in *messages.Inbound) {
			in.MsgID, in.PicURL, in.MediaID = "7373000000000000002", "https://wework.example.invalid/pic/abc", "3xYzMediaIdForTheImage"
		})},
		{"voice.xml", with(base("alice", 1717000070, "voice"), func(in *messages.Inbound) {
			in.MsgID, in.MediaID, in.Format = "7373000000000000003", "voiceMediaId", "amr"
		})},
		{"video.xml", with(base("alice", 1717000080, "video"), func(in *messages.Inbound) {
			in.MsgID, in.MediaID, in.ThumbMediaID = "7373000000000000004", "videoMediaId", "thumbMediaId"
		})},
		{"location.xml", with(base("alice", 1717000090, "location"), func(in *messages.Inbound) {
			in.MsgID = "7373000000000000005"
			in.Location = &messages.Location{Lat: 23.134521, Lng: 113.358803, Scale: 20, Label: "广州市天河区"}
		})},
		{"link.xml", with(base("alice", 1717000100, "link"), func(in *messages.Inbound) {
			in.MsgID, in.PicURL = "7373000000000000006", "https://example.invalid/notice/1.png"
			in.Link = &messages.Link{Title: "安全生产通知", Description: "请各企业按时自查", URL: "https://example.invalid/notice/1"}
		})},
		{"event_subscribe.xml", with(base("carol", 1717000110, "event"), func(in *messages.Inbound) {
			in.Event = messages.EventSubscribe
		})},
		{"event_unsubscribe.xml", with(base("carol", 1717000111, "event"), func(in *messages.Inbound) {
			in.Event = messages.EventUnsubscribe
		})},
		{"event_enter_agent.xml", with(base("carol", 1717000112, "event"), func(in *messages.Inbound) {
			in.Event = messages.EventEnterAgent
		})},
		{"event_location.xml", with(base("carol", 1717000113, "event"), func(in *messages.Inbound) {
			in.Event = messages.EventLocation
			in.Location = &messages.Location{Lat: 23.104105, Lng: 113.320107, Precision: 65}
		})},
		{"event_click.xml", with(base("bob", 1717000120, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventClick, "MENU_STATUS"
		})},
		{"event_view.xml", with(base("bob", 1717000130, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventView, "https://example.invalid/dash"
		})},
		{"event_template_card.xml", with(base("bob", 1717000180, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventTemplateCard, "submit_poll"
			in.TaskID, in.CardType, in.ResponseCode = "poll-20240529-01", "vote_interaction", "rc_Zk3xQ"
			in.Selected = []messages.SelectedItem{{QuestionKey: "lunch", OptionIDs: []string{"noodles", "rice"}}}
		})},
		{"event_template_card_opiton.xml", with(base("bob", 1717000190, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventTemplateCard, "submit_form"
			in.TaskID, in.CardType, in.ResponseCode = "form-7", "multiple_interaction", "rc_opiton"
			in.Selected = []messages.SelectedItem{
				{QuestionKey: "fire", OptionIDs: []string{"ok"}},
				{QuestionKey: "exits", OptionIDs: []string{"blocked", "unlit"}},
			}
		})},
		{"event_template_card_button.xml", with(base("dave", 1717000200, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventTemplateCard, "sign_letter:42"
			in.TaskID, in.CardType, in.ResponseCode = "letter-42-dave", "button_interaction", "rc_btn"
		})},
		{"event_template_card_menu.xml", with(base("dave", 1717000210, "event"), func(in *messages.Inbound) {
			in.Event, in.EventKey = messages.EventTemplateCardMenu, "mute_reminders"
			in.TaskID, in.CardType, in.ResponseCode = "notice-9", "text_notice", "rc_menu"
		})},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".xml"), func(t *testing.T) {
			got, err := wecom.ParseMessage(readInbound(t, tt.file))
			if err != nil {
				t.Fatalf("ParseMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Fatalf("got  %s\nwant %s", g, w)
			}
		})
	}
}

func TestParseMessageVectorPlaintext(t *testing.T) {
	// The official sample's plaintext has newlines between elements.
	v := loadVectors(t)[1]
	in, err := wecom.ParseMessage([]byte(v.ExpectedPlaintext))
	if err != nil {
		t.Fatal(err)
	}
	want := messages.Inbound{CorpID: "wx5823bf96d3bd56c7", From: "mycreate", AgentID: 218, CreateTime: at(1409659813),
		Kind: "text", MsgID: "4561255354251345929", Text: "hello"}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("got %+v", in)
	}
	if in.DedupeKey() != "m:4561255354251345929" {
		t.Fatalf("DedupeKey = %s", in.DedupeKey())
	}
}

func TestParseMessageBothSpellingsInOneItem(t *testing.T) {
	x := `<xml><FromUserName>bob</FromUserName><MsgType>event</MsgType><Event>template_card_event</Event>` +
		`<SelectedItems><SelectedItem><QuestionKey>q</QuestionKey><OptionIds><OptionId>a</OptionId></OptionIds>` +
		`<OpitonIds><OpitonId>b</OpitonId></OpitonIds></SelectedItem></SelectedItems></xml>`
	in, err := wecom.ParseMessage([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	want := []messages.SelectedItem{{QuestionKey: "q", OptionIDs: []string{"a", "b"}}}
	if !reflect.DeepEqual(in.Selected, want) {
		t.Fatalf("Selected = %+v", in.Selected)
	}
	if !in.CreateTime.IsZero() || in.AgentID != 0 {
		t.Fatalf("absent CreateTime/AgentID should stay zero: %+v", in)
	}
}

func TestParseMessageUnknownKindKept(t *testing.T) {
	in, err := wecom.ParseMessage([]byte(`<xml><FromUserName>bob</FromUserName><MsgType>event</MsgType><Event>scancode_push</Event><EventKey>k</EventKey><CreateTime>1</CreateTime></xml>`))
	if err != nil || in.Event != "scancode_push" || in.EventKey != "k" {
		t.Fatalf("got %+v, %v", in, err)
	}
	in, err = wecom.ParseMessage([]byte(`<xml><FromUserName>bob</FromUserName><MsgType>file</MsgType><MsgId>9</MsgId></xml>`))
	if err != nil || in.Kind != "file" || in.MsgID != "9" {
		t.Fatalf("got %+v, %v", in, err)
	}
}

func TestParseMessageMalformed(t *testing.T) {
	cases := map[string]string{
		"empty":             ``,
		"not xml":           `hello`,
		"unclosed":          `<xml><FromUserName>bob</FromUserName><MsgType>text`,
		"no FromUserName":   `<xml><MsgType>text</MsgType><Content>x</Content></xml>`,
		"blank FromUser":    `<xml><FromUserName><![CDATA[ ]]></FromUserName><MsgType>text</MsgType></xml>`,
		"no MsgType":        `<xml><FromUserName>bob</FromUserName></xml>`,
		"bad CreateTime":    `<xml><FromUserName>bob</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>`,
		"huge CreateTime":   `<xml><FromUserName>bob</FromUserName><MsgType>text</MsgType><CreateTime>999999999999999</CreateTime></xml>`,
		"bad AgentID":       `<xml><FromUserName>bob</FromUserName><MsgType>text</MsgType><AgentID>x</AgentID></xml>`,
		"negative MsgId":    `<xml><FromUserName>bob</FromUserName><MsgType>text</MsgType><MsgId>-1</MsgId></xml>`,
		"bad latitude":      `<xml><FromUserName>bob</FromUserName><MsgType>location</MsgType><Location_X>north</Location_X></xml>`,
		"NaN latitude":      `<xml><FromUserName>bob</FromUserName><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>NaN</Latitude></xml>`,
		"undeclared entity": `<xml><FromUserName>&bob;</FromUserName><MsgType>text</MsgType></xml>`,
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := wecom.ParseMessage([]byte(x))
			if !errors.Is(err, wecom.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := map[string]struct {
		body string
		want wecom.Envelope
	}{
		"cdata, Encrypt first": {
			`<xml><Encrypt><![CDATA[abc=]]></Encrypt><ToUserName><![CDATA[ww1]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID></xml>`,
			wecom.Envelope{ToUserName: "ww1", AgentID: "1000002", Encrypt: "abc="},
		},
		"bare text with whitespace": {
			"<xml>\n <ToUserName>ww1</ToUserName>\n <AgentID>1000002</AgentID>\n <Encrypt>\n abc=\n </Encrypt>\n</xml>",
			wecom.Envelope{ToUserName: "ww1", AgentID: "1000002", Encrypt: "abc="},
		},
		"no AgentID": {
			`<xml><ToUserName>ww1</ToUserName><Encrypt>abc=</Encrypt></xml>`,
			wecom.Envelope{ToUserName: "ww1", Encrypt: "abc="},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := wecom.ParseEnvelope([]byte(tt.body))
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
	for name, body := range map[string]string{
		"empty":         ``,
		"no Encrypt":    `<xml><ToUserName>ww1</ToUserName></xml>`,
		"empty Encrypt": `<xml><Encrypt><![CDATA[]]></Encrypt></xml>`,
		"json":          `{"Encrypt":"abc"}`,
		"broken":        `<xml><Encrypt>abc</xml>`,
	} {
		t.Run("rejects "+name, func(t *testing.T) {
			if _, err := wecom.ParseEnvelope([]byte(body)); !errors.Is(err, wecom.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func BenchmarkParseMessage(b *testing.B) {
	for _, name := range []string{"text.xml", "event_template_card.xml"} {
		x := readInbound(b, name)
		b.Run(strings.TrimSuffix(name, ".xml"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := wecom.ParseMessage(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
