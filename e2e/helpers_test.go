package e2e_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"
	"time"

	"safetybot"
	"safetybot/app"
	"safetybot/bot/wecom"
	"safetybot/e2e"
	"safetybot/messages"
	"safetybot/store"
	"safetybot/store/storetest"
	"safetybot/wecomsim"
)

// deadline bounds every wait of a test so that a bug fails it instead of hanging.
const deadline = 60 * time.Second

// shortBackoff keeps the sender's retries of injected faults quick; the
// production waits are seconds to minutes.
func shortBackoff(int, time.Duration) time.Duration { return 20 * time.Millisecond }

// variant is one deployment shape the end-to-end suite runs on.
type variant struct {
	name  string
	db    func(t *testing.T) string
	redis func(t *testing.T) string
}

var variants = []variant{
	{name: "sqlite", db: func(t *testing.T) string { return storetest.URL(t, "sqlite") },
		redis: func(*testing.T) string { return "" }},
	{name: "postgres+redis", db: func(t *testing.T) string { return storetest.URL(t, "postgres") },
		redis: func(t *testing.T) string { return storetest.RedisURL(t) }},
}

// eachVariant runs fn as a parallel subtest on SQLite with in-process state
// and on Postgres with Redis.
func eachVariant(t *testing.T, fn func(t *testing.T, v variant)) {
	t.Helper()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			fn(t, v)
		})
	}
}

// logger discards unless SAFETYBOT_E2E_LOG=debug|info|warn is set.
func logger() *slog.Logger {
	var level slog.Level
	switch os.Getenv("SAFETYBOT_E2E_LOG") {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn":
		level = slog.LevelWarn
	default:
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// startOn starts a bot on the given database and Redis URLs, stopped at the end of the test.
func startOn(t *testing.T, dbURL, redisURL string, mods ...func(*e2e.Options)) *e2e.Bot {
	t.Helper()
	opt := e2e.Options{DatabaseURL: dbURL, RedisURL: redisURL, DataDir: t.TempDir(),
		App: app.Options{Logger: logger(), SenderBackoff: shortBackoff}}
	for _, m := range mods {
		m(&opt)
	}
	b, err := e2e.Start(opt)
	if err != nil {
		t.Fatalf("start bot: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Stop(); err != nil {
			t.Errorf("stop bot: %v", err)
		}
	})
	return b
}

// start starts a bot on a fresh database of the variant.
func start(t *testing.T, v variant, mods ...func(*e2e.Options)) *e2e.Bot {
	t.Helper()
	return startOn(t, v.db(t), v.redis(t), mods...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	t.Cleanup(cancel)
	return ctx
}

func register(t *testing.T, b *e2e.Bot, users ...string) {
	t.Helper()
	if err := e2e.Register(context.Background(), b.Store, users...); err != nil {
		t.Fatal(err)
	}
}

func waitIdle(t *testing.T, b *e2e.Bot) {
	t.Helper()
	if err := e2e.WaitIdle(ctxT(t), b.Store); err != nil {
		t.Fatalf("bot did not become idle: %v", err)
	}
}

// texts returns the text content of each delivered message ("" for others).
func texts(ds []wecomsim.Delivered) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		var p struct {
			Content string `json:"content"`
		}
		if d.MsgType == "text" {
			json.Unmarshal(d.Body, &p)
		}
		out[i] = p.Content
	}
	return out
}

// waitTexts waits until user received n messages and returns their texts.
func waitTexts(t *testing.T, b *e2e.Bot, user string, n int) []string {
	t.Helper()
	ds, err := b.Sim.WaitMessages(ctxT(t), user, n)
	if err != nil {
		t.Fatalf("%s received %d of %d messages: %q", user, len(ds), n, texts(ds))
	}
	return texts(ds)
}

// inboxRows counts the stored callbacks of a user.
func inboxRows(t *testing.T, st *store.Store, user string) (total, processed int) {
	t.Helper()
	var r struct {
		Total     int `db:"total"`
		Processed int `db:"processed"`
	}
	q := st.DB().Rebind(`SELECT COUNT(*) AS total, COUNT(processed_at) AS processed FROM inbox WHERE from_user = ?`)
	if err := st.DB().Get(&r, q, user); err != nil {
		t.Fatal(err)
	}
	return r.Total, r.Processed
}

// outboxOf returns the outbox rows of one recipient.
func outboxOf(t *testing.T, st *store.Store, user string) []store.OutboxRow {
	t.Helper()
	rows, err := st.ListOutbox(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// echo is the router's answer to text it does not understand from a principal.
func echo(text string) string { return messages.UnknownInput(text, safetybot.RolePrincipal) }

// dedupeKey is the inbox key of a callback's plaintext.
func dedupeKey(t *testing.T, plaintext []byte) string {
	t.Helper()
	in, err := wecom.ParseMessage(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return in.DedupeKey()
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
