package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/signal"
	"syscall"
	"time"

	"safetybot/app"
	"safetybot/config"
	"safetybot/store"
)

func openStore(ctx context.Context, c config.Config) (*store.Store, error) {
	return store.Open(ctx, c.DatabaseURL, store.Options{})
}

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flags("serve", "Run the bot: WeCom callback endpoint, workers, sender, scheduler and admin page.", e)
	demo := fs.Bool("demo", false, "load a small fictional roster when the store is empty, send a sample letter, print userids to try")
	debug := fs.Bool("debug", false, "log at debug level")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := newLogger(e.stderr, level)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	a, err := app.New(ctx, c, app.Options{Logger: log})
	if err != nil {
		return err
	}
	state := "in-process state"
	if c.RedisURL != "" {
		state = "Redis at " + store.Redacted(c.RedisURL)
	}
	log.Info("safetybot starting", "version", app.Version, "listen", a.Addr(), "database", a.Store.Dialect(),
		"store", store.Redacted(c.DatabaseURL), "state", state)
	if a.Sim != nil {
		log.Info("no WECOM_* settings: running against the built-in WeCom simulator",
			"simulator", a.URL()+"/_sim/", "try", "safetybot chat --as USERID")
	}
	log.Info(fmt.Sprintf("running on %s with %s", a.Store.Dialect(), state))
	a.Start(ctx, app.Options{})
	if *demo {
		if err := runDemo(ctx, e, a); err != nil {
			log.Error("demo setup failed", "err", err)
		}
	}
	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}
