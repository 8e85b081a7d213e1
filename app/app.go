// Package app wires configuration, store, cache, the WeCom edge, handlers and
// scheduler into one running bot. `safetybot serve` and the end-to-end tests
// both start the bot through it.
package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"safetybot"
	"safetybot/bot"
	"safetybot/bot/wecom"
	"safetybot/config"
	"safetybot/handlers"
	"safetybot/messages"
	"safetybot/scheduler"
	"safetybot/store"
	"safetybot/store/cache"
	"safetybot/wecomsim"
)

// Version is set at build time (-ldflags "-X safetybot/app.Version=…").
var Version = "dev"

// App is one running replica.
type App struct {
	Config  config.Config
	Store   *store.Store
	Cache   cache.Cache
	Client  *wecom.Client
	Sim     *wecomsim.Server // the built-in simulator when no WeCom settings are given
	Intake  *bot.Intake
	Proc    *bot.Processor
	Sender  *bot.Sender
	Photos  *bot.Photos
	Router  *handlers.Router
	Sched   *scheduler.Scheduler
	Metrics *bot.Metrics
	Log     *slog.Logger
	Clock   safetybot.Clock
	Owner   string

	registry    *prometheus.Registry
	intakeStore *store.Store // the intake's own connections (Postgres); nil: it shares Store
	mux         *http.ServeMux
	listener    net.Listener
	server      *http.Server
	stopping    atomic.Bool
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

// Options adjust New for tests and benchmarks.
type Options struct {
	Logger *slog.Logger
	Clock  safetybot.Clock
	// Listener, when set, is used instead of listening on Config.Listen.
	Listener net.Listener
	// Workers and SenderWorkers size the pools (defaults 16 and 8).
	Workers, SenderWorkers int
	// SimConfig adjusts the built-in simulator (sandbox mode only).
	SimConfig func(*wecomsim.Config)
	// NoScheduler keeps the scheduled jobs from starting (tests that drive them by hand).
	NoScheduler bool
	// SenderBackoff replaces the sender's wait before retrying a retryable
	// WeCom failure (tests shorten the seconds-to-minutes production waits).
	SenderBackoff func(attempt int, retryAfter time.Duration) time.Duration
}

// intakeCommitters is how many group-commit loops store callbacks, and how
// many connections the intake has of its own on Postgres.
const intakeCommitters = 4

// Sandbox credentials of the built-in simulator. They are not secrets: the
// simulator only ever runs on this machine.
const (
	sandboxCorpID = "wwsandbox"
	sandboxSecret = "sandbox-secret"
	sandboxToken  = "sandboxtoken"
	sandboxAgent  = "1000002"
)

// New opens the store (migrating it), connects the cache and builds every part.
// Nothing runs until Start.
func New(ctx context.Context, cfg config.Config, opt Options) (*App, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Clock == nil {
		opt.Clock = safetybot.SystemClock{}
	}
	a := &App{Config: cfg, Log: opt.Logger, Clock: opt.Clock, registry: prometheus.NewRegistry()}
	host, _ := os.Hostname()
	a.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randHex(3))

	ln := opt.Listener
	if ln == nil {
		var err error
		ln, err = net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
		}
	}
	a.listener = ln

	st, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Clock: opt.Clock, Logger: opt.Logger})
	if err != nil {
		ln.Close()
		return nil, err
	}
	a.Store = st
	n, err := st.Migrate(ctx)
	if err != nil {
		a.Close()
		return nil, err
	}
	if n > 0 {
		a.Log.Info("migrations applied", "count", n)
	}

	if cfg.RedisURL != "" {
		r, err := cache.NewRedis(cfg.RedisURL)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.Cache = r
	} else {
		a.Cache = cache.NewMemory()
	}

	if !cfg.WeComConfigured() {
		a.startSandbox(&cfg, opt)
		a.Config = cfg
	}
	agentID, _ := strconv.ParseInt(cfg.AgentID, 10, 64)
	crypto, err := wecom.NewCrypto(cfg.Token, cfg.AESKey, cfg.CorpID)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("WECOM_ENCODING_AES_KEY: %w", err)
	}
	a.Client = wecom.NewClient(wecom.ClientConfig{BaseURL: cfg.APIBase, CorpID: cfg.CorpID, Secret: cfg.Secret,
		AgentID: agentID, Cache: a.Cache, Locker: a.Cache, Logger: a.Log})

	a.Metrics = bot.NewMetrics(a.registry)
	a.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.Photos = &bot.Photos{Client: a.Client, Store: st, Dir: filepath.Join(cfg.DataDir, "photos")}
	a.Router = handlers.New(handlers.Deps{Store: st, PublicURL: cfg.PublicURL, Location: cfg.Location})
	a.Sender = bot.NewSender(bot.SenderConfig{Store: st, Client: a.Client, Cache: a.Cache, Owner: a.Owner, Logger: a.Log, Metrics: a.Metrics,
		Backoff: opt.SenderBackoff})
	a.Proc = bot.NewProcessor(bot.ProcessorConfig{Store: st, Handler: a.Router, Photos: a.Photos, Logger: a.Log,
		Metrics: a.Metrics, WakeSender: a.Sender.Wake})
	intakeStore := st
	if st.Dialect() == "postgres" {
		// The intake answers WeCom only once its insert has committed, so it
		// gets connections of its own: in a sign-off storm the processor and
		// sender workers (more of them than the main pool has connections)
		// held every connection, and callbacks waited past the intake's 5 s
		// and were answered 503.
		is, err := store.Open(ctx, cfg.DatabaseURL, store.Options{Clock: opt.Clock, Logger: opt.Logger, MaxOpenConns: intakeCommitters})
		if err != nil {
			a.Close()
			return nil, err
		}
		a.intakeStore, intakeStore = is, is
	}
	a.Intake = bot.NewIntake(bot.IntakeConfig{Crypto: crypto, Store: intakeStore, Clock: opt.Clock, Logger: a.Log,
		MaxSkew: cfg.MaxSkew, Metrics: a.Metrics, Notify: a.Proc.Notify})
	cal, err := scheduler.LoadCalendar(cfg.CalendarFile)
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("SAFETYBOT_CALENDAR_FILE: %w", err)
	}
	if w := cal.CoverageWarning(opt.Clock.Now()); w != "" {
		a.Log.Warn(w)
	}
	a.Sched, err = scheduler.New(scheduler.Config{Store: st, Location: cfg.Location, Quiet: cfg.Quiet, Calendar: cal,
		Clock: opt.Clock, Owner: a.Owner, Logger: a.Log})
	if err != nil {
		a.Close()
		return nil, err
	}
	if err := registerJobs(a); err != nil {
		a.Close()
		return nil, err
	}
	a.routes()
	return a, nil
}

// startSandbox mounts the built-in WeCom simulator under /_sim/ on our own
// server and points the WeCom settings at it.
func (a *App) startSandbox(cfg *config.Config, opt Options) {
	base := "http://" + loopbackAddr(a.listener.Addr())
	key := make([]byte, 32)
	rand.Read(key)
	// Each simulator issues its own access tokens, and the token cache key is
	// made of CorpID and AgentID: a CorpID per instance keeps sandboxes that
	// share one Redis from overwriting each other's token.
	cfg.CorpID = sandboxCorpID + randHex(4)
	cfg.Secret, cfg.Token, cfg.AgentID = sandboxSecret, sandboxToken, sandboxAgent
	cfg.AESKey = base64.StdEncoding.EncodeToString(key)[:43]
	// base64 of 32 bytes is 43 characters plus one "=": exactly an EncodingAESKey.
	cfg.APIBase = base + "/_sim"
	agent, _ := strconv.ParseInt(sandboxAgent, 10, 64)
	sc := wecomsim.Config{CorpID: cfg.CorpID, Secret: cfg.Secret, AgentID: agent, Token: cfg.Token,
		EncodingAESKey: cfg.AESKey, CallbackURL: base + "/wecom/callback", BaseURL: base + "/_sim"}
	if opt.SimConfig != nil {
		opt.SimConfig(&sc)
	}
	a.Sim = wecomsim.New(sc)
}

func loopbackAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok || tcp.IP.IsUnspecified() {
		if ok {
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp.Port))
		}
		return addr.String()
	}
	return tcp.String()
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return loopbackAddr(a.listener.Addr()) }

// URL is the base URL of this replica on loopback.
func (a *App) URL() string { return "http://" + a.Addr() }

// Start runs the HTTP server and every background worker until ctx ends.
func (a *App) Start(ctx context.Context, opt Options) {
	ctx, a.cancel = context.WithCancel(ctx)
	workers, senders := opt.Workers, opt.SenderWorkers
	if workers == 0 {
		workers = 16
	}
	if senders == 0 {
		senders = 8
	}
	a.Intake.Start(ctx, intakeCommitters)
	if !opt.NoScheduler {
		if err := a.Sched.Start(ctx); err != nil {
			a.Log.Error("scheduler did not start", "err", err)
		}
	}
	a.wg.Add(3)
	go func() { defer a.wg.Done(); a.createMenu(ctx) }()
	go func() { defer a.wg.Done(); a.Proc.Run(ctx, workers, 2*time.Second) }()
	go func() { defer a.wg.Done(); a.Sender.Run(ctx, senders) }()
	a.server = &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("http server stopped", "err", err)
		}
	}()
}

// Shutdown stops accepting requests (readiness turns 503 first), drains the
// workers and closes the store, within the context's deadline.
func (a *App) Shutdown(ctx context.Context) error {
	a.stopping.Store(true)
	var err error
	if a.server != nil {
		err = a.server.Shutdown(ctx)
	}
	if a.cancel != nil {
		a.cancel() // stop the workers; they finish the message in hand
	}
	if a.Sched != nil {
		a.Sched.Shutdown()
	}
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, errors.New("workers did not stop in time"))
	}
	a.Close()
	return err
}

// Close releases the store and cache.
func (a *App) Close() {
	if a.Store != nil {
		a.Store.Close()
	}
	if a.intakeStore != nil {
		a.intakeStore.Close()
	}
	if a.Cache != nil {
		a.Cache.Close()
	}
	if a.listener != nil && a.server == nil {
		a.listener.Close()
	}
}

// createMenu installs the app menu, retrying with backoff while WeCom is
// unreachable; a permanent refusal (permissions) is logged once.
func (a *App) createMenu(ctx context.Context) {
	for wait := time.Second; ; wait = min(wait*2, 5*time.Minute) {
		err := a.Client.CreateMenu(ctx, messages.AppMenu())
		if err == nil {
			a.Log.Debug("app menu installed")
			return
		}
		if !wecom.IsRetryable(err) {
			a.Log.Warn("app menu not installed", "errcode", wecom.ErrCode(err), "err", err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
