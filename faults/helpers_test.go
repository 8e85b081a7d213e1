package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"safetybot"
	"safetybot/bot/wecom"
	"safetybot/internal/cluster"
	"safetybot/store"
	"safetybot/store/storetest"
	"safetybot/wecomsim"
)

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.RemoveBinary()
	os.Exit(code)
}

// Townships of the generated rosters.
var townships = []string{"青石镇", "白沙镇", "临江镇", "桃源镇"}

// principal is one generated enterprise head.
type principal struct {
	UserID     string
	Enterprise string
	Township   string
}

// tag returns a short random tag: userids must be unique per run because the
// per-member rate windows live in the shared Redis.
func tag() string { return strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)) }

// creditCode returns a valid unified social credit code for index i.
func creditCode(i int) string {
	first := fmt.Sprintf("91320581%09d", i)
	return first + string(safetybot.CreditCodeCheckChar(first))
}

// writeRoster writes an enterprise roster CSV of n enterprises, each with its
// own principal, spread over the townships, and returns the file and the principals.
func writeRoster(t testing.TB, n int, prefix string) (string, []principal) {
	t.Helper()
	tg := tag()
	var b strings.Builder
	b.WriteString("credit_code,name,township,sector,category,small_place_type,key_unit,principal_name,principal_userid,safety_officer_userid,phone,address,last_inspected\n")
	ps := make([]principal, n)
	for i := range n {
		tw := townships[i%len(townships)]
		p := principal{UserID: fmt.Sprintf("%s%s%05d", prefix, tg, i), Enterprise: fmt.Sprintf("%s测试企业%05d", tw, i), Township: tw}
		ps[i] = p
		fmt.Fprintf(&b, "%s,%s,%s,工贸,一般企业,,否,负责人%05d,%s,,1390000%04d,%s建设路%d号,\n",
			creditCode(i), p.Enterprise, tw, i, p.UserID, i%10000, tw, i+1)
	}
	path := filepath.Join(t.TempDir(), "enterprises.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ps
}

// importRoster imports n generated enterprises through `safetybot import`.
func importRoster(t testing.TB, ctx context.Context, c *cluster.Cluster, n int, prefix string) []principal {
	t.Helper()
	path, ps := writeRoster(t, n, prefix)
	if _, _, err := c.CLI(ctx, "import", "enterprises", path); err != nil {
		t.Fatalf("import: %v", err)
	}
	return ps
}

// sendLetter sends an open letter to every principal through `safetybot letter send`.
func sendLetter(t testing.TB, ctx context.Context, c *cluster.Cluster, title string) {
	t.Helper()
	body := filepath.Join(t.TempDir(), "letter.md")
	if err := os.WriteFile(body, []byte("# "+title+"\n\n请各企业主要负责人认真阅读并签收。\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CLI(ctx, "letter", "send", "--title", title, "--file", body); err != nil {
		t.Fatalf("letter send: %v", err)
	}
}

// dbServices returns the shared Postgres database URL (fresh) and the Redis URL.
func dbServices(t testing.TB) (pg, redis string) {
	t.Helper()
	return storetest.URL(t, "postgres"), storetest.RedisURL(t)
}

// ctxFor returns a context that ends after d or at the end of the test.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// waitIdle waits until every stored callback is processed and no outgoing
// message is pending or in flight.
func waitIdle(t testing.TB, ctx context.Context, st *store.Store) {
	t.Helper()
	for {
		total, processed, err := st.InboxCounts(ctx)
		if err == nil && processed == total {
			stats, err2 := st.OutboxStats(ctx)
			if err2 == nil && stats["pending"] == 0 && stats["sending"] == 0 {
				return
			}
			err = err2
		}
		select {
		case <-ctx.Done():
			stats, _ := st.OutboxStats(context.Background())
			t.Fatalf("not idle: inbox %d/%d processed, outbox %v (last error %v)", processed, total, stats, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// exchange is one callback the simulator delivered for a user.
type exchange struct {
	User   string
	Text   string
	Key    string // inbox dedupe key
	Acked  bool   // some delivery was answered 200
	Status []int
	Err    error
	Plain  []byte // the callback's plaintext, for redelivery
}

// chat sends text as user through the simulator (with WeCom's redeliveries)
// and records the outcome.
func chat(ctx context.Context, sim *wecomsim.Server, user, text string) exchange {
	res, err := sim.As(user).SendText(ctx, text)
	ex := exchange{User: user, Text: text, Status: res.Statuses, Err: err, Plain: res.Plaintext}
	for _, s := range res.Statuses {
		if s == http.StatusOK {
			ex.Acked = true
		}
	}
	ex.Key = keyOf(res.Plaintext)
	return ex
}

// keyOf returns the inbox dedupe key of a callback plaintext.
func keyOf(plain []byte) string {
	if in, err := wecom.ParseMessage(plain); err == nil {
		return in.DedupeKey()
	}
	return ""
}

// ledger collects exchanges from concurrent users.
type ledger struct {
	mu  sync.Mutex
	all []exchange
}

func (l *ledger) add(ex exchange) {
	l.mu.Lock()
	l.all = append(l.all, ex)
	l.mu.Unlock()
}

func (l *ledger) list() []exchange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]exchange(nil), l.all...)
}

// textOf returns a delivered text message's content ("" for other kinds).
func textOf(d wecomsim.Delivered) string {
	if d.MsgType != "text" {
		return ""
	}
	var p struct {
		Content string `json:"content"`
	}
	json.Unmarshal(d.Body, &p)
	return p.Content
}

// checkExchanges verifies that no acknowledged callback was lost and that
// every processed text message or card click got exactly one answer: each
// acknowledged callback is in the inbox and processed, and per user the
// simulator delivered as many text answers as the inbox holds processed text
// messages and card clicks.
// It returns counts for the report.
func checkExchanges(t testing.TB, ctx context.Context, c *cluster.Cluster, exs []exchange) (acked, refused, lost, answers, missing, extra int) {
	t.Helper()
	users := map[string]bool{}
	for _, ex := range exs {
		users[ex.User] = true
		if !ex.Acked {
			refused++
			continue
		}
		acked++
		row, err := c.Store.FindInbox(ctx, ex.Key)
		if err != nil {
			lost++
			t.Errorf("LOST: %s's %q was acknowledged (statuses %v) but is not in the inbox: %v", ex.User, ex.Text, ex.Status, err)
			continue
		}
		if row.ProcessedAt == nil {
			lost++
			t.Errorf("LOST: %s's %q was acknowledged but never processed (attempts %d, %s)", ex.User, ex.Text, row.Attempts, row.LastError)
		}
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		var processed int
		err := c.Store.DB().GetContext(ctx, &processed, c.Store.DB().Rebind(
			`SELECT COUNT(*) FROM inbox WHERE from_user = ? AND processed_at IS NOT NULL
			   AND (kind = 'text' OR raw LIKE '%template_card_event%')`), u)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, d := range c.Sim.Messages(u) {
			if d.MsgType == "text" {
				got++
				if strings.Contains(textOf(d), "系统暂时出了点问题") {
					t.Errorf("%s got the internal-error apology instead of an answer: %q", u, textOf(d))
				}
			}
		}
		answers += got
		switch {
		case got < processed:
			missing += processed - got
			t.Errorf("LOST: %s sent %d processed text messages but received %d answers", u, processed, got)
		case got > processed:
			extra += got - processed
			t.Errorf("DUPLICATE: %s sent %d processed text messages but received %d answers", u, processed, got)
		}
	}
	return
}

// outboxByState counts outbox rows per state.
func outboxByState(t testing.TB, ctx context.Context, st *store.Store) map[string]int {
	t.Helper()
	m, err := st.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// claimOwners counts outbox rows per replica index that last claimed them.
func claimOwners(t testing.TB, ctx context.Context, c *cluster.Cluster) map[int]int {
	t.Helper()
	var rows []struct {
		Owner string `db:"claimed_by"`
		N     int    `db:"n"`
	}
	if err := c.Store.DB().SelectContext(ctx, &rows, `SELECT COALESCE(claimed_by, '') AS claimed_by, COUNT(*) AS n FROM outbox GROUP BY claimed_by`); err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, r := range rows {
		out[c.ReplicaOfPid(cluster.OwnerPid(r.Owner))] += r.N
	}
	return out
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t testing.TB, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
