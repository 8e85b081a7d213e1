// Package e2e starts whole bots the way `safetybot serve` does — app.New and
// Start on a loopback listener, with the built-in WeCom simulator as WeCom — for
// the end-to-end tests in this folder and for cmd/bench. It also builds
// pre-encrypted callbacks and drives them at the callback endpoint (load.go).
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"safetybot"
	"safetybot/app"
	"safetybot/config"
	"safetybot/store"
)

// Options describe one bot to start.
type Options struct {
	// DatabaseURL is SAFETYBOT_DATABASE_URL (required).
	DatabaseURL string
	// RedisURL is SAFETYBOT_REDIS_URL; empty keeps state in process.
	RedisURL string
	// DataDir is SAFETYBOT_DATA_DIR; empty makes a temporary folder that Stop removes.
	DataDir string
	// Configure adjusts the configuration after the fields above are set and
	// before it is validated.
	Configure func(*config.Config)
	// App is passed to app.New and Start (its Listener is set here).
	App app.Options
}

// Bot is one replica in sandbox mode: Sim is its simulator.
type Bot struct {
	*app.App
	opt     app.Options
	ln      net.Listener
	ctx     context.Context
	cancel  context.CancelFunc
	tempDir string
	partial *http.Server // ServeIntake's server
}

// Start builds the configuration from config.Defaults, validates it, and
// starts a bot on 127.0.0.1 on a free port: New, then Run.
func Start(opt Options) (*Bot, error) {
	b, err := New(opt)
	if err != nil {
		return nil, err
	}
	b.Run()
	return b, nil
}

// New builds the bot (migrating its database) without running anything.
func New(opt Options) (*Bot, error) {
	cfg := config.Defaults()
	cfg.DatabaseURL = opt.DatabaseURL
	cfg.RedisURL = opt.RedisURL
	cfg.Listen = "127.0.0.1:0"
	b := &Bot{}
	cfg.DataDir = opt.DataDir
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "safetybot-e2e-")
		if err != nil {
			return nil, err
		}
		b.tempDir, cfg.DataDir = dir, dir
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.removeTemp()
		return nil, err
	}
	cfg.PublicURL = "http://" + ln.Addr().String()
	if opt.Configure != nil {
		opt.Configure(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		ln.Close()
		b.removeTemp()
		return nil, fmt.Errorf("config: %w", err)
	}
	b.opt = opt.App
	b.opt.Listener = ln
	b.ln = ln
	b.ctx, b.cancel = context.WithCancel(context.Background())
	a, err := app.New(b.ctx, cfg, b.opt)
	if err != nil {
		b.cancel()
		b.removeTemp()
		return nil, err
	}
	b.App = a
	if a.Sim == nil {
		b.Kill()
		return nil, errors.New("e2e: the bot is not in sandbox mode (WECOM_* settings given)")
	}
	return b, nil
}

// Run starts everything, as serve does.
func (b *Bot) Run() { b.App.Start(b.ctx, b.opt) }

// ServeIntake serves only the callback endpoint (the app's own Intake, with
// its group-commit loops) and the simulator on the bot's address; no processor
// and no sender run, so callbacks pile up in the inbox. stop ends it; Run must
// not be called on the same bot.
func (b *Bot) ServeIntake() (stop func()) {
	ctx, cancel := context.WithCancel(b.ctx)
	b.Intake.Start(ctx, 0)
	mux := http.NewServeMux()
	mux.Handle("/wecom/callback", b.Intake)
	mux.Handle("/_sim/", b.Sim)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	b.partial = srv
	go srv.Serve(b.ln)
	return func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		cancel()
	}
}

// CallbackURL is the bot's WeCom callback endpoint.
func (b *Bot) CallbackURL() string { return b.URL() + "/wecom/callback" }

// Stop shuts the bot down the way serve does on SIGTERM: the workers' context
// ends, then Shutdown drains them and closes the store.
func (b *Bot) Stop() error {
	b.cancel()
	if b.partial != nil {
		b.partial.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := b.Shutdown(ctx)
	b.removeTemp()
	return err
}

// Kill stops the bot abruptly: the listener and connections close at once,
// nothing is drained, and the store and cache are closed under the workers'
// feet, as when the process dies.
func (b *Bot) Kill() {
	b.cancel()
	if b.partial != nil {
		b.partial.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = b.Shutdown(ctx) // with an ended context: close everything, wait for nothing
	b.removeTemp()
}

func (b *Bot) removeTemp() {
	if b.tempDir != "" {
		os.RemoveAll(b.tempDir)
	}
}

// Register adds principals (enterprise heads) to the directory, so that the
// router knows them: unknown text is then echoed back with help.
func Register(ctx context.Context, st *store.Store, userids ...string) error {
	for _, u := range userids {
		p := &safetybot.Person{UserID: u, Name: "负责人" + u, Role: safetybot.RolePrincipal, Active: true}
		if err := st.CreatePerson(ctx, p); err != nil {
			return fmt.Errorf("register %s: %w", u, err)
		}
	}
	return nil
}

// Idle reports whether every stored callback is processed and no outgoing
// message is waiting or in flight.
func Idle(ctx context.Context, st *store.Store) (bool, error) {
	total, processed, err := st.InboxCounts(ctx)
	if err != nil {
		return false, err
	}
	if processed < total {
		return false, nil
	}
	stats, err := st.OutboxStats(ctx)
	if err != nil {
		return false, err
	}
	return stats["pending"] == 0 && stats["sending"] == 0, nil
}

// WaitIdle polls until Idle or ctx ends.
func WaitIdle(ctx context.Context, st *store.Store) error {
	for {
		ok, err := Idle(ctx, st)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Users returns n userids unique to this run (the per-member rate windows in a
// shared Redis are keyed by userid): prefix-<random>-<i>, lower case.
func Users(prefix string, n int) []string {
	tag := randTag()
	out := make([]string, n)
	for i := range out {
		out[i] = strings.ToLower(fmt.Sprintf("%s-%s-%d", prefix, tag, i+1))
	}
	return out
}
