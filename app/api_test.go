package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"safetybot"
	"safetybot/config"
	"safetybot/e2e"
	"safetybot/store"
	"safetybot/store/storetest"
)

const adminToken = "test-admin-token-123"

// stacks are the two ways the bot runs: the embedded default and production.
var stacks = []struct{ name, db string }{
	{"sqlite+in-process", "sqlite"},
	{"postgres+redis", "postgres"},
}

func startBot(t *testing.T, db, token string) *e2e.Bot {
	t.Helper()
	opt := e2e.Options{DatabaseURL: storetest.URL(t, db), Configure: func(c *config.Config) { c.AdminToken = token }}
	if db == "postgres" {
		opt.RedisURL = storetest.RedisURL(t)
	}
	b, err := e2e.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Stop() })
	return b
}

// seedPrincipals registers n enterprises in 青石镇 and 白沙镇 (alternating),
// each with its own principal u1…un.
func seedPrincipals(t *testing.T, s *store.Store, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		first := fmt.Sprintf("91320581MA%07d", i)
		tw := "青石镇"
		if i%2 == 0 {
			tw = "白沙镇"
		}
		e := safetybot.Enterprise{CreditCode: first + string(safetybot.CreditCodeCheckChar(first)), Name: fmt.Sprintf("企业%d", i),
			Township: tw, Category: safetybot.CategoryGeneral}
		if _, err := s.UpsertEnterprise(ctx, &e); err != nil {
			t.Fatal(err)
		}
		p := safetybot.Person{UserID: fmt.Sprintf("u%d", i), Name: fmt.Sprintf("负责人%d", i), Role: safetybot.RolePrincipal, Township: tw}
		if _, err := s.UpsertPerson(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := s.SetContact(ctx, e.ID, p.ID, safetybot.ContactPrincipal); err != nil {
			t.Fatal(err)
		}
	}
}

type apiAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t *testing.T, url, auth, body string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := apiAnswer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, raw)
	}
	return a
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAPILetters(t *testing.T) {
	for _, st := range stacks {
		t.Run(st.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b := startBot(t, st.db, adminToken)
			seedPrincipals(t, b.Store, 5)
			url := b.URL() + "/api/letters"
			bearer := "Bearer " + adminToken
			deadline := time.Now().AddDate(0, 0, 7).Format("2006-01-02")

			refused := []struct {
				name, auth, body string
				status           int
				reason           string
			}{
				{"no token", "", `{"title":"T","body":"B"}`, 401, "missing or wrong admin token"},
				{"wrong token", "Bearer nope", `{"title":"T","body":"B"}`, 401, "missing or wrong admin token"},
				{"token without Bearer", adminToken + "x", `{"title":"T","body":"B"}`, 401, "missing or wrong admin token"},
				{"bad JSON", bearer, `{"title":`, 400, "invalid JSON"},
				{"unknown field", bearer, `{"title":"T","body":"B","to":"all"}`, 400, "invalid JSON"},
				{"empty body", bearer, ``, 400, "empty request body"},
				{"unknown township", bearer, `{"title":"T","body":"B","townships":["临海镇"]}`, 400, "没有名为“临海镇”的镇街"},
				{"unknown category", bearer, `{"title":"T","body":"B","categories":["大企业"]}`, 400, "类别“大企业”不正确"},
				{"bad deadline", bearer, `{"title":"T","body":"B","deadline":"next week"}`, 400, "deadline"},
				{"past deadline", bearer, `{"title":"T","body":"B","deadline":"2020-01-01"}`, 400, "已经过去"},
				{"no title", bearer, `{"title":" ","body":"B"}`, 400, "标题不能为空"},
				{"no body", bearer, `{"title":"T","body":""}`, 400, "正文不能为空"},
			}
			for _, tc := range refused {
				t.Run(tc.name, func(t *testing.T) {
					a := post(t, url, tc.auth, tc.body)
					reason, _ := a.body["error"].(string)
					if a.status != tc.status || !strings.Contains(reason, tc.reason) {
						t.Errorf("status %d, error %q; want %d with %q", a.status, reason, tc.status, tc.reason)
					}
					if tc.status == 401 && a.header.Get("WWW-Authenticate") == "" {
						t.Error("401 without WWW-Authenticate")
					}
				})
			}
			if ls, _ := b.Store.ListLetters(ctx); len(ls) != 0 {
				t.Fatalf("refused requests stored %d letters", len(ls))
			}

			body := "# 公开信\n\n请落实**主体责任**。<script>alert(1)</script>"
			req, _ := json.Marshal(map[string]any{"title": "致青石镇企业的一封信", "body": body, "deadline": deadline, "townships": []string{"青石镇"}})
			a := post(t, url, bearer, string(req))
			if a.status != http.StatusCreated {
				t.Fatalf("send: %d %s", a.status, a.raw)
			}
			id := int64(a.body["id"].(float64))
			sha := safetybot.BodyHash(body)
			if a.body["sha256"] != sha || a.body["principals"] != float64(3) || a.body["enterprises"] != float64(3) || a.body["api_calls"] != float64(1) {
				t.Errorf("answer = %s", a.raw)
			}
			pageURL, _ := a.body["url"].(string)
			if pageURL != fmt.Sprintf("%s/letters/%d", b.Config.PublicURL, id) {
				t.Errorf("url = %q", pageURL)
			}
			l, err := b.Store.FindLetter(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if l.Title != "致青石镇企业的一封信" || l.Body != body || l.SHA256 != sha || l.Deadline == nil || l.Deadline.Format("2006-01-02") != deadline ||
				l.Sender == "" || !strings.Contains(l.Scope, "青石镇") {
				t.Errorf("stored letter = %+v", l)
			}

			// The principals in scope get the card; the others nothing.
			for _, u := range []string{"u1", "u3", "u5"} {
				msgs, err := b.Sim.WaitMessages(ctx, u, 1)
				if err != nil {
					t.Fatalf("%s got no card: %v", u, err)
				}
				if !strings.Contains(string(msgs[0].Body), fmt.Sprintf("/letters/%d", id)) {
					t.Errorf("%s card has no link to the letter: %s", u, msgs[0].Body)
				}
			}
			if err := e2e.WaitIdle(ctx, b.Store); err != nil {
				t.Fatal(err)
			}
			if n := len(b.Sim.Messages("u2")) + len(b.Sim.Messages("u4")); n != 0 {
				t.Errorf("principals out of scope got %d messages", n)
			}

			// The letter page: title, rendered Markdown, escaped HTML, the SHA-256.
			status, page := get(t, pageURL)
			if status != 200 {
				t.Fatalf("letter page: %d", status)
			}
			for _, want := range []string{"致青石镇企业的一封信", "<strong>主体责任</strong>", sha, "&lt;script&gt;", "viewport"} {
				if !strings.Contains(page, want) {
					t.Errorf("letter page lacks %q", want)
				}
			}
			if strings.Contains(page, "<script>") {
				t.Error("letter page lets raw HTML from the body through")
			}
			for _, p := range []string{"/letters/99999", "/letters/abc"} {
				if status, _ := get(t, b.URL()+p); status != 404 {
					t.Errorf("GET %s = %d, want 404", p, status)
				}
			}
		})
	}
}

func TestAPIDisabledWithoutToken(t *testing.T) {
	b := startBot(t, "sqlite", "")
	seedPrincipals(t, b.Store, 1)
	for _, auth := range []string{"", "Bearer ", "Bearer anything"} {
		a := post(t, b.URL()+"/api/letters", auth, `{"title":"T","body":"B"}`)
		reason, _ := a.body["error"].(string)
		if a.status != 401 || !strings.Contains(reason, "SAFETYBOT_ADMIN_TOKEN is not set") {
			t.Errorf("auth %q: %d %q, want 401 naming SAFETYBOT_ADMIN_TOKEN", auth, a.status, reason)
		}
	}
	if ls, _ := b.Store.ListLetters(context.Background()); len(ls) != 0 {
		t.Errorf("stored %d letters", len(ls))
	}
}
