// Command safetybot runs the work-safety campaign bot and its office tools.
//
//	safetybot serve                  run the bot (HTTP, workers, sender, scheduler)
//	safetybot migrate                apply database migrations
//	safetybot config                 print the effective configuration (secrets masked)
//	safetybot version                print the version
//
// Run `safetybot help` for every command.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"safetybot"
	"safetybot/app"
	"safetybot/config"
)

const usage = `safetybot — WeCom bot for the city's work-safety inspection campaign (安全生产大检查)

Usage:
  safetybot [--config FILE] COMMAND [flags]

Commands:
  serve                     run the bot: WeCom callback, workers, sender, scheduler, admin page.
                            Without WECOM_* settings it runs against the built-in WeCom simulator.
                            --demo loads a small fictional roster and sends a sample letter.
  migrate                   apply database migrations (serve does this at start too)
  config                    print the effective configuration, secrets masked
  version                   print the version
%s
Configuration comes from the environment (and --config FILE, a YAML file with the same
keys; the environment wins). The most used:
  SAFETYBOT_DATABASE_URL    postgres://… or sqlite:///path/file.db   (default sqlite://./safetybot.db)
  SAFETYBOT_REDIS_URL       redis://… to share state between replicas (default: in-process)
  SAFETYBOT_LISTEN          HTTP listen address (default :8080)
  SAFETYBOT_ADMIN_TOKEN     bearer token for /api/ and /admin/ (default: admin API refuses all)
Run 'safetybot config' to see every setting.
`

// extraCommands is filled by the files that add commands.
var extraCommands []command

type command struct {
	name, summary string
	run           func(ctx context.Context, env *env, args []string) error
}

// env is what every command gets.
type env struct {
	configPath string
	stdout     io.Writer
	stderr     io.Writer
	getenv     func(string) string
}

func (e *env) config() (config.Config, error) {
	return config.Load(e.configPath, e.getenv)
}

// usageError is a bad invocation: it is printed with a hint to --help.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(run(context.Background(), e, os.Args[1:]))
}

func run(ctx context.Context, e *env, args []string) int {
	global := flag.NewFlagSet("safetybot", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&e.configPath, "config", "", "YAML configuration file")
	help := global.Bool("help", false, "")
	global.BoolVar(help, "h", false, "")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(e.stderr, "safetybot: %v (see safetybot --help)\n", err)
		return 2
	}
	rest := global.Args()
	if *help || len(rest) == 0 || rest[0] == "help" {
		fmt.Fprintf(e.stdout, usage, extraUsage())
		if len(rest) == 0 && !*help {
			return 2
		}
		return 0
	}
	cmds := map[string]command{
		"serve":   {run: cmdServe},
		"migrate": {run: cmdMigrate},
		"config":  {run: cmdConfig},
		"version": {run: cmdVersion},
	}
	for _, c := range extraCommands {
		name, _, _ := strings.Cut(c.name, " ")
		if _, dup := cmds[name]; !dup {
			cmds[name] = c
		}
	}
	c, ok := cmds[rest[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "safetybot: unknown command %q (see safetybot --help)\n", rest[0])
		return 2
	}
	if err := c.run(ctx, e, rest[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(e.stderr, "safetybot "+rest[0]+": "+oneLine(err))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

func extraUsage() string {
	var b strings.Builder
	for _, c := range extraCommands {
		fmt.Fprintf(&b, "  %-25s %s\n", c.name, c.summary)
	}
	return b.String()
}

// oneLine renders an error on one line, with the user message when it has one.
func oneLine(err error) string {
	if msg := safetybot.ErrorMessage(err); msg != "" {
		return msg
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func flags(name, summary string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: safetybot %s\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

func cmdVersion(_ context.Context, e *env, args []string) error {
	fmt.Fprintln(e.stdout, "safetybot", app.Version)
	return nil
}

func cmdConfig(_ context.Context, e *env, args []string) error {
	fs := flags("config", "Print the effective configuration with every secret masked.", e)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, c.String())
	return nil
}

func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flags("migrate", "Apply every pending database migration.", e)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	s, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	n, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d migration(s) applied on %s\n", n, s.Dialect())
	return nil
}

type flagSetT = flag.FlagSet

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
