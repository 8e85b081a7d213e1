package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/config"
	"safetybot/e2e"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/messages/form"
	"safetybot/store"
	"safetybot/store/storetest"
)

const scToken = "selfcheck-admin-token"

// scBot starts a bot with an admin token and a shop whose officer (scOfficer)
// and principal (scBoss) are registered.
func scBot(t *testing.T, dialect string) (*e2e.Bot, safetybot.Enterprise) {
	t.Helper()
	opt := e2e.Options{DatabaseURL: storetest.URL(t, dialect), Configure: func(c *config.Config) { c.AdminToken = scToken }}
	if dialect == "postgres" {
		opt.RedisURL = storetest.RedisURL(t)
	}
	b, err := e2e.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	ctx := context.Background()
	first := "91320581MA1PG0001"
	e := safetybot.Enterprise{CreditCode: first + string(safetybot.CreditCodeCheckChar(first)), Name: "报告页小饭店",
		Township: "青石镇", Category: safetybot.CategoryNineSmall, SmallType: "小餐饮", KeyUnit: true, Department: "消防救援大队"}
	if err := b.Store.CreateEnterprise(ctx, &e); err != nil {
		t.Fatal(err)
	}
	for _, p := range []safetybot.Person{
		{UserID: "scboss", Name: "钱老板", Role: safetybot.RolePrincipal},
		{UserID: "scofficer", Name: "孙安全", Role: safetybot.RoleSafetyOfficer},
	} {
		if err := b.Store.CreatePerson(ctx, &p); err != nil {
			t.Fatal(err)
		}
		role := safetybot.ContactPrincipal
		if p.Role == safetybot.RoleSafetyOfficer {
			role = safetybot.ContactSafetyOfficer
		}
		if err := b.Store.SetContact(ctx, e.ID, p.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	return b, e
}

// scHandle runs one inbound message through the bot's router as its processor does.
func scHandle(t *testing.T, b *e2e.Bot, in messages.Inbound) messages.Reply {
	t.Helper()
	var reply messages.Reply
	err := b.Store.InTx(context.Background(), func(ctx context.Context) error {
		var err error
		reply, err = b.Router.Handle(ctx, in)
		if err != nil {
			return err
		}
		for _, o := range reply {
			body, _ := json.Marshal(o.Body)
			to := o.To
			if len(to) == 0 {
				to = []string{in.From}
			}
			kind := "send"
			if o.Update {
				kind = "update"
			}
			if _, err := b.Store.Enqueue(ctx, store.OutboxMessage{Recipients: to, Kind: kind, Payload: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", in.Text, err)
	}
	return reply
}

func jpegOf(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for x := 0; x < 8; x++ {
		for y := 0; y < 8; y++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

// scSubmit fills and submits the shop's form as the officer: one 重大 hazard
// on 安全出口 with a stored photo. It returns the submission and the photo's SHA-256.
func scSubmit(t *testing.T, b *e2e.Bot, e safetybot.Enterprise) (store.Submission, string) {
	t.Helper()
	ctx := context.Background()
	sha, err := b.Photos.Save(ctx, jpegOf(color.RGBA{200, 30, 30, 255}), "scofficer")
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := form.Shipped()
	say := func(text string) {
		scHandle(t, b, messages.Inbound{From: "scofficer", Kind: messages.KindText, Text: text})
	}
	say("自查")
	script := map[string]string{"exits_clear": "否", "exits_clear#problem": "后门上锁", "exits_clear#grade": "重大",
		"exits_clear#fixed": "否", "exits_clear#deadline": "7天"}
	for i := 0; i < 80; i++ {
		d, err := b.Store.FindDraft(ctx, "scofficer")
		if err != nil {
			t.Fatal(err)
		}
		var data struct{ State form.State }
		json.Unmarshal([]byte(d.Data), &data)
		st := data.State
		if st.Phase == form.PhaseReview {
			break
		}
		step := st.Cursor
		if st.Repeat != nil {
			step += "#" + st.Repeat.Step
		}
		if step == "exits_clear#photos" {
			scHandle(t, b, messages.Inbound{From: "scofficer", Kind: messages.KindImage, MediaID: "m", PhotoSHA256: sha})
			say("完成")
			continue
		}
		ans, ok := script[step]
		if !ok {
			f, _ := reg.ForState(st)
			q := f.Question(st.Cursor)
			switch {
			case q.Type == form.TypeYesNo && q.FailOn == form.Yes:
				ans = "否"
			case q.Type == form.TypeYesNo, q.Type == form.TypeSingle:
				ans = "1"
			case q.Type == form.TypeDate:
				ans = "今天"
			case q.Type == form.TypePhoto:
				ans = "跳过"
			default:
				ans = "孙安全"
			}
		}
		say(ans)
	}
	say("提交")
	sub, err := b.Store.LatestSubmission(ctx, e.ID, time.Now().In(b.Config.Location).Format("2006-01"))
	if err != nil {
		t.Fatalf("no submission: %v", err)
	}
	return sub, sha
}

func scGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func scPost(t *testing.T, url, auth, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSubmissionPageAndReturnAPI(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			b, e := scBot(t, dialect)
			sub, sha := scSubmit(t, b, e)
			if sub.EnterpriseID != e.ID || sub.State != safetybot.SubmissionAwaitingSignature {
				t.Fatalf("submission %+v", sub)
			}
			ctx := context.Background()
			key, err := handlers.SubmissionLinkKey(ctx, b.Store)
			if err != nil {
				t.Fatal(err)
			}
			page := fmt.Sprintf("%s/submissions/%d", b.URL(), sub.ID)

			t.Run("the page needs the token or a signed link", func(t *testing.T) {
				if code, _ := scGet(t, page, ""); code != http.StatusForbidden {
					t.Fatalf("no credentials: %d", code)
				}
				if code, _ := scGet(t, page+"?sig=0123456789abcdef0123456789abcdef", ""); code != http.StatusForbidden {
					t.Fatalf("forged signature: %d", code)
				}
				other := handlers.SubmissionURL(b.URL(), key, sub.ID+1)
				if code, _ := scGet(t, strings.Replace(other, fmt.Sprintf("/%d?", sub.ID+1), fmt.Sprintf("/%d?", sub.ID), 1), ""); code != http.StatusForbidden {
					t.Fatalf("another submission's signature: %d", code)
				}
				if code, _ := scGet(t, page, "wrong-token"); code != http.StatusForbidden {
					t.Fatalf("wrong token: %d", code)
				}
			})

			t.Run("the signed link shows the written report with photos", func(t *testing.T) {
				code, body := scGet(t, handlers.SubmissionURL(b.URL(), key, sub.ID), "")
				if code != http.StatusOK {
					t.Fatalf("signed link: %d %s", code, body)
				}
				for _, want := range []string{"报告页小饭店", e.CreditCode, "重点监管单位", "待签字", "后门上锁", "重大", "孙安全（安全管理员）", sub.SHA256, "/photos/" + sha} {
					if !strings.Contains(body, want) {
						t.Errorf("page lacks %q", want)
					}
				}
				code, admin := scGet(t, page, scToken)
				if code != http.StatusOK || !strings.Contains(admin, "报告页小饭店") {
					t.Fatalf("admin token: %d", code)
				}
				sig := handlers.SubmissionSig(key, sub.ID)
				code, img := scGet(t, fmt.Sprintf("%s/photos/%s?sig=%s", page, sha, sig), "")
				if code != http.StatusOK || !bytes.HasPrefix([]byte(img), []byte{0xFF, 0xD8}) {
					t.Fatalf("photo: %d, %d bytes", code, len(img))
				}
				other := strings.Repeat("ab", 32)
				if code, _ := scGet(t, fmt.Sprintf("%s/photos/%s?sig=%s", page, other, sig), ""); code != http.StatusNotFound {
					t.Fatalf("a photo not in the submission: %d", code)
				}
			})

			t.Run("POST return sends it back with flagged items", func(t *testing.T) {
				api := fmt.Sprintf("%s/api/submissions/%d/return", b.URL(), sub.ID)
				if code, _ := scPost(t, api, "", `{"comment":"x"}`); code != http.StatusUnauthorized {
					t.Fatalf("without token: %d", code)
				}
				if code, _ := scPost(t, api, scToken, `{"items":[3]}`); code != http.StatusBadRequest {
					t.Fatalf("without comment: %d", code)
				}
				if code, out := scPost(t, api, scToken, `{"comment":"看不清","items":[99]}`); code != http.StatusBadRequest || !strings.Contains(fmt.Sprint(out["error"]), "99") {
					t.Fatalf("bad item: %d %v", code, out)
				}
				code, out := scPost(t, api, scToken, `{"comment":"后门照片看不清，请重拍","items":[3],"by":"office1"}`)
				if code != http.StatusOK || out["state"] != safetybot.SubmissionReturned || fmt.Sprint(out["flagged"]) != "[exits_clear]" {
					t.Fatalf("return: %d %v", code, out)
				}
				if code, _ := scPost(t, api, scToken, `{"comment":"again"}`); code != http.StatusConflict {
					t.Fatalf("second return: %d", code)
				}
				if code, _ := scPost(t, b.URL()+"/api/submissions/99999/return", scToken, `{"comment":"x"}`); code != http.StatusNotFound {
					t.Fatalf("unknown submission: %d", code)
				}
				for _, u := range []string{"scboss", "scofficer"} {
					rows, _ := b.Store.ListOutbox(ctx, u)
					found := false
					for _, r := range rows {
						found = found || strings.Contains(r.Payload, "后门照片看不清")
					}
					if !found {
						t.Errorf("%s was not told about the send-back", u)
					}
				}
				trail, _ := b.Store.AuditTrail(ctx, fmt.Sprintf("submission:%d", sub.ID))
				if n := len(trail); n == 0 || trail[n-1].Action != "submission.return" || trail[n-1].Actor != "office1" {
					t.Fatalf("audit %+v", trail)
				}
				code, body := scGet(t, page, scToken)
				if code != http.StatusOK || !strings.Contains(body, "已退回") || !strings.Contains(body, "后门照片看不清") {
					t.Fatalf("page after return: %d", code)
				}
			})
		})
	}
}
