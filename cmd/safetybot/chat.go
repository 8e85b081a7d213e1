package main

import (
	"context"
	"os"
	"time"

	"golang.org/x/term"

	"safetybot/e2e/chat"
)

func init() {
	extraCommands = append(extraCommands, command{name: "chat",
		summary: "talk to a running serve (simulator mode) as a WeCom member: --as USERID [--url URL]", run: cmdChat})
}

const chatSummary = `Talk to a running 'safetybot serve' (started without WECOM_* settings, so it runs
against the built-in WeCom simulator) as the WeCom member USERID. Every line you type
goes to the bot as that member's message; what the bot sends that member is printed,
cards with numbered buttons.

  1, 2, …       when a card is shown: press that button (the last card's buttons stay pressable)
  /text 1       send the literal text "1" (or any text starting with /)
  /help         show these keys
  /quit         leave (Ctrl-D too)

Example:
  safetybot serve &
  safetybot chat --as zhangsan`

// cmdChat runs the terminal chat against serve's simulator.
func cmdChat(ctx context.Context, e *env, args []string) error {
	fs := flags("chat --as USERID [--url URL]", chatSummary, e)
	as := fs.String("as", "", "the WeCom userid to play (required)")
	base := fs.String("url", "http://localhost:8080", "base URL of the running serve")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *as == "" {
		return usageError{"--as USERID is required"}
	}
	if fs.NArg() > 0 {
		return usageError{"unexpected argument " + fs.Arg(0)}
	}
	// Piped input ends before the bot has answered: wait for the replies.
	var linger time.Duration
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		linger = 2 * time.Second
	}
	return chat.Run(ctx, chat.Options{URL: *base, User: *as, In: os.Stdin, Out: e.stdout, Linger: linger})
}
