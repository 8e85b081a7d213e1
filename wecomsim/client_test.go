package wecomsim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"safetybot/wecomsim"
)

// newBotEnv wires a simulator to a test bot.
func newBotEnv(t *testing.T, cfg wecomsim.Config) (*env, *testBot) {
	t.Helper()
	e := newEnv(t, cfg)
	bot, bhs := newTestBot(t, e.cfg)
	// An admin-provided query parameter must survive next to ours.
	e.sim.SetCallbackURL(bhs.URL + "/wecom/callback?tenant=a+b")
	return e, bot
}

func TestVerifyURL(t *testing.T) {
	e, _ := newBotEnv(t, wecomsim.Config{})
	got, err := e.sim.VerifyURL(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 19 || strings.Trim(got, "0123456789") != "" {
		t.Fatalf("echostr plaintext %q, want 19 digits", got)
	}

	t.Run("a trailing newline fails", func(t *testing.T) {
		sloppy := newEnv(t, wecomsim.Config{})
		sloppy.sim.SetCallbackURL(newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
			_, plain, _ := util.DecryptMsg(sloppy.cfg.CorpID, r.URL.Query().Get("echostr"), sloppy.cfg.EncodingAESKey)
			_, _ = w.Write(append(plain, '\n'))
		}))
		if _, err := sloppy.sim.VerifyURL(context.Background()); !errors.Is(err, wecomsim.ErrVerifyFailed) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestCallbacks(t *testing.T) {
	ctx := context.Background()
	e, bot := newBotEnv(t, wecomsim.Config{Users: []string{"Alice", "bob"}})
	alice := e.sim.As("alice")

	t.Run("text is encrypted, signed and well formed", func(t *testing.T) {
		res, err := alice.SendText(ctx, "deploy status? ]]> <b>&")
		if err != nil || res.Status != 200 || res.Attempts != 1 {
			t.Fatalf("res %+v err %v", res, err)
		}
		got := bot.received()[0]
		if got.query.Get("tenant") != "a b" {
			t.Fatalf("admin query lost: %v", got.query)
		}
		in := parseInbound(t, got.plain)
		if in.ToUserName != e.cfg.CorpID || in.FromUserName != "Alice" || in.MsgType != "text" ||
			in.Content != "deploy status? ]]> <b>&" || in.AgentID != 1000002 || in.CreateTime != e.clock.Now().Unix() {
			t.Fatalf("inbound %+v from %s", in, got.plain)
		}
		if !bytes.HasPrefix(got.plain, []byte("<xml><ToUserName><![CDATA[")) {
			t.Fatalf("plaintext shape %s", got.plain)
		}
	})
	t.Run("MsgIds increase", func(t *testing.T) {
		_, _ = alice.SendText(ctx, "one")
		_, _ = alice.SendText(ctx, "two")
		r := bot.received()
		a, b := parseInbound(t, r[len(r)-2].plain), parseInbound(t, r[len(r)-1].plain)
		if a.MsgID <= 0 || b.MsgID != a.MsgID+1 {
			t.Fatalf("MsgIds %d, %d", a.MsgID, b.MsgID)
		}
	})
	t.Run("a new simulator never reuses the MsgIds of an earlier one", func(t *testing.T) {
		// The bot dedupes callbacks by MsgId, also across its restarts on one
		// database, where the simulator is created anew (same fake clock too).
		r := bot.received()
		last := parseInbound(t, r[len(r)-1].plain).MsgID
		for range 3 {
			next, nextBot := newBotEnv(t, wecomsim.Config{Users: []string{"Alice"}})
			_, _ = next.sim.As("alice").SendText(ctx, "again")
			_, _ = next.sim.As("alice").SendLocation(ctx, 30.5, 114.3, "厂区")
			got := nextBot.received()
			a, b := parseInbound(t, got[0].plain).MsgID, parseInbound(t, got[1].plain).MsgID
			if a <= last || b <= a {
				t.Fatalf("MsgIds %d, %d after an earlier simulator's %d", a, b, last)
			}
			last = b
		}
	})
	t.Run("image can be fetched with media/get and PicUrl", func(t *testing.T) {
		if _, err := alice.SendImage(ctx, pngBytes, "image/png"); err != nil {
			t.Fatal(err)
		}
		r := bot.received()
		in := parseInbound(t, r[len(r)-1].plain)
		if in.MsgType != "image" || in.MediaID == "" || !strings.HasPrefix(in.PicURL, e.hs.URL) {
			t.Fatalf("inbound %+v", in)
		}
		_, body := e.doRaw(http.MethodGet, "/cgi-bin/media/get?access_token="+e.token()+"&media_id="+in.MediaID, nil)
		if !bytes.Equal(body, pngBytes) {
			t.Fatal("media/get returned other bytes")
		}
		res, err := http.Get(in.PicURL)
		if err != nil {
			t.Fatal(err)
		}
		pic, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !bytes.Equal(pic, pngBytes) {
			t.Fatal("PicUrl returned other bytes")
		}
	})
	t.Run("location, menu click, enter_agent", func(t *testing.T) {
		_, _ = alice.SendLocation(ctx, 23.134521, 113.358803, "园区东门")
		_, _ = alice.ClickMenu(ctx, "MENU_STATUS")
		_, _ = alice.EnterAgent(ctx)
		r := bot.received()
		loc, click, enter := parseInbound(t, r[len(r)-3].plain), parseInbound(t, r[len(r)-2].plain), parseInbound(t, r[len(r)-1].plain)
		if loc.MsgType != "location" || loc.LocationX != "23.134521" || loc.LocationY != "113.358803" || loc.Label != "园区东门" || loc.MsgID == 0 {
			t.Fatalf("location %+v", loc)
		}
		if click.Event != "click" || click.EventKey != "MENU_STATUS" || click.MsgID != 0 {
			t.Fatalf("click %+v", click)
		}
		if enter.Event != "enter_agent" {
			t.Fatalf("enter %+v", enter)
		}
	})
	t.Run("passive text reply is validated and delivered", func(t *testing.T) {
		bot.set(func(b *testBot) {
			b.reply = func(plain []byte) []byte {
				in := parseInbound(t, plain)
				return fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[收到：%s]]></Content></xml>",
					in.FromUserName, in.ToUserName, time.Now().Unix(), in.Content)
			}
		})
		defer bot.set(func(b *testBot) { b.reply = nil })
		res, err := e.sim.As("bob").SendText(ctx, "hello")
		if err != nil || res.Reply == nil || res.Reply.MsgType != "text" {
			t.Fatalf("res %+v err %v", res, err)
		}
		msgs := e.sim.Messages("bob")
		if len(msgs) != 1 || !msgs[0].Passive || e.sim.Render(msgs[0]) != "收到：hello" {
			t.Fatalf("bob sees %+v", msgs)
		}
	})
	t.Run("invalid passive replies are rejected", func(t *testing.T) {
		okReply := func(plain []byte) []byte {
			return []byte("<xml><ToUserName><![CDATA[bob]]></ToUserName><FromUserName><![CDATA[" + e.cfg.CorpID + "]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[x]]></Content></xml>")
		}
		cases := []struct {
			name string
			set  func(b *testBot)
		}{
			{"Timestamp instead of TimeStamp", func(b *testBot) {
				b.wrap = func(enc, ts, nonce string) string {
					return "<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><MsgSignature><![CDATA[" + util.Signature(b.token, ts, nonce, enc) + "]]></MsgSignature><Timestamp>" + ts + "</Timestamp><Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
				}
			}},
			{"wrong signature", func(b *testBot) {
				b.wrap = func(enc, ts, nonce string) string {
					return "<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt><MsgSignature><![CDATA[0000]]></MsgSignature><TimeStamp>" + ts + "</TimeStamp><Nonce><![CDATA[" + nonce + "]]></Nonce></xml>"
				}
			}},
			{"wrong receive id", func(b *testBot) { b.replyCorpID = "wwsomeoneelse" }},
			{"reply to someone else", func(b *testBot) {
				b.reply = func([]byte) []byte { return []byte(strings.Replace(string(okReply(nil)), "[bob]", "[carol]", 1)) }
			}},
			{"empty body is accepted", func(b *testBot) {
				b.reply = nil
				b.wrap = nil
			}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				bot.set(func(b *testBot) {
					b.reply = okReply
					c.set(b)
				})
				defer bot.set(func(b *testBot) { b.reply, b.wrap, b.replyCorpID = nil, nil, "" })
				res, err := e.sim.As("bob").SendText(ctx, "hello")
				if c.name == "empty body is accepted" {
					if err != nil || res.Reply != nil {
						t.Fatalf("an empty answer must be accepted: %+v %v", res, err)
					}
					return
				}
				if !errors.Is(err, wecomsim.ErrBadReply) || res.Attempts != 1 || res.Status != 200 {
					t.Fatalf("res %+v err %v", res, err)
				}
			})
		}
	})
}

func TestRedelivery(t *testing.T) {
	ctx := context.Background()
	t.Run("non-200 is delivered 4 times with the same plaintext", func(t *testing.T) {
		e, bot := newBotEnv(t, wecomsim.Config{})
		bot.set(func(b *testBot) { b.status = http.StatusInternalServerError })
		res, err := e.sim.As("alice").SendText(ctx, "retry me")
		if !errors.Is(err, wecomsim.ErrCallbackFailed) || res.Attempts != 4 || res.Status != 500 {
			t.Fatalf("res %+v err %v", res, err)
		}
		got := bot.received()
		if len(got) != 4 {
			t.Fatalf("bot saw %d deliveries", len(got))
		}
		nonces := map[string]bool{}
		for _, g := range got {
			if !bytes.Equal(g.plain, got[0].plain) {
				t.Fatal("redelivery changed the plaintext")
			}
			nonces[g.query.Get("nonce")] = true
		}
		if len(nonces) != 4 || got[0].encrypt == got[1].encrypt {
			t.Fatal("redeliveries were not re-signed and re-encrypted")
		}
	})
	t.Run("a slow bot is cut off and redelivered", func(t *testing.T) {
		e, bot := newBotEnv(t, wecomsim.Config{CallbackTimeout: 100 * time.Millisecond})
		bot.set(func(b *testBot) { b.sleep = time.Second })
		start := time.Now()
		res, err := e.sim.As("alice").SendText(ctx, "slow")
		if !errors.Is(err, wecomsim.ErrCallbackFailed) || res.Attempts != 4 || res.Status != 0 {
			t.Fatalf("res %+v err %v", res, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v; the timeout was not enforced", d)
		}
	})
	t.Run("success after failures stops retrying", func(t *testing.T) {
		e, bot := newBotEnv(t, wecomsim.Config{})
		var calls atomic.Int32
		bot.set(func(b *testBot) { b.status = http.StatusServiceUnavailable })
		hs := newHandlerServer(t, func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 3 {
				bot.set(func(b *testBot) { b.status = http.StatusOK })
			}
			bot.ServeHTTP(w, r)
		})
		e.sim.SetCallbackURL(hs)
		res, err := e.sim.As("alice").SendText(ctx, "flaky")
		if err != nil || res.Attempts != 3 || res.Status != 200 {
			t.Fatalf("res %+v err %v", res, err)
		}
	})
	t.Run("DeliverTimes forces duplicates", func(t *testing.T) {
		e, bot := newBotEnv(t, wecomsim.Config{})
		res, err := e.sim.As("alice").DeliverTimes(3).SendText(ctx, "dup")
		if err != nil || res.Attempts != 3 || len(bot.received()) != 3 {
			t.Fatalf("res %+v err %v", res, err)
		}
		r2, err := e.sim.Redeliver(ctx, res.Plaintext)
		if err != nil || r2.Attempts != 1 || !bytes.Equal(bot.received()[3].plain, res.Plaintext) {
			t.Fatalf("redeliver %+v err %v", r2, err)
		}
	})
	t.Run("no callback URL", func(t *testing.T) {
		e := newEnv(t, wecomsim.Config{})
		if _, err := e.sim.As("alice").SendText(ctx, "x"); !errors.Is(err, wecomsim.ErrNoCallbackURL) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPassiveCardUpdate(t *testing.T) {
	ctx := context.Background()
	e, bot := newBotEnv(t, wecomsim.Config{})
	wantErrCode(t, e.send(cardBody("alice", buttonCard("passive-1"))), 0)
	d := e.sim.Messages("alice")[0]
	bot.set(func(b *testBot) {
		b.reply = func(plain []byte) []byte {
			return []byte("<xml><ToUserName><![CDATA[alice]]></ToUserName><FromUserName><![CDATA[" + e.cfg.CorpID +
				"]]></FromUserName><CreateTime>" + strconv.FormatInt(time.Now().Unix(), 10) +
				"</CreateTime><MsgType><![CDATA[update_button]]></MsgType><Button><ReplaceName><![CDATA[已签收]]></ReplaceName></Button></xml>")
		}
	})
	if _, err := e.sim.As("alice").ClickCard(ctx, d, "sign", nil); err != nil {
		t.Fatal(err)
	}
	ups := e.sim.Updates("alice")
	if len(ups) != 1 || !ups[0].Passive || ups[0].ReplaceName != "已签收" {
		t.Fatalf("updates %+v", ups)
	}
	if _, err := e.sim.As("alice").ClickCard(ctx, d, "sign", nil); !errors.Is(err, wecomsim.ErrCardDisabled) {
		t.Fatalf("err = %v", err)
	}
	// update_button is only legal as the answer to a card event.
	if _, err := e.sim.As("alice").SendText(ctx, "hi"); !errors.Is(err, wecomsim.ErrBadReply) {
		t.Fatalf("err = %v", err)
	}
}

func TestWaitMessages(t *testing.T) {
	e := newEnv(t, wecomsim.Config{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		e.sim.PutMedia([]byte("unrelated"), "")
		wantErrCode(t, e.send(textBody("alice", "1")), 0)
		wantErrCode(t, e.send(textBody("alice", "2")), 0)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	msgs, err := e.sim.WaitMessages(ctx, "ALICE", 2)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages, err %v", len(msgs), err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := e.sim.WaitMessages(short, "alice", 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
