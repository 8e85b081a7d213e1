package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"safetybot/handlers"
)

func init() {
	extraCommands = append(extraCommands, command{name: "letter send", summary: "send an open letter to the principals in scope (--title T --file F [--deadline YYYY-MM-DD] [--township NAME]… [--category NAME]…)", run: cmdLetter})
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func cmdLetter(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "send" {
		return usageError{"usage: safetybot letter send --title T --file F [--deadline YYYY-MM-DD] [--township NAME]… [--category NAME]…"}
	}
	fs := flags("letter send", "Store an open letter and queue one 签收 card per principal in scope; serve sends them.", e)
	title := fs.String("title", "", "letter title (required)")
	file := fs.String("file", "", "letter body, a Markdown file (required)")
	deadline := fs.String("deadline", "", "sign-off deadline, YYYY-MM-DD")
	sender := fs.String("sender", "市安委办", "sender shown in the audit log")
	var townships, categories listFlag
	fs.Var(&townships, "township", "limit to a township (repeatable)")
	fs.Var(&categories, "category", "limit to a category: 九小场所, 五小企业, 一般企业 (repeatable)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *title == "" || *file == "" {
		return usageError{"--title and --file are required"}
	}
	body, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("cannot read letter body: %w", err)
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	in := handlers.LetterInput{Title: *title, Body: string(body), Townships: townships, Categories: categories, Sender: *sender}
	if *deadline != "" {
		d, err := time.Parse("2006-01-02", *deadline)
		if err != nil {
			return usageError{fmt.Sprintf("--deadline %q is not a date like 2026-07-31", *deadline)}
		}
		in.Deadline = &d
	}
	s, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	res, err := handlers.SendLetter(ctx, s, c.PublicURL, c.Location, in, func(done, total int) {
		fmt.Fprintf(e.stderr, "\rqueued %d/%d principals", done, total)
	})
	fmt.Fprintln(e.stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "letter %d: %d enterprises, %d principals, %d API calls queued; serve sends them\n",
		res.Letter.ID, res.Enterprises, res.Principals, res.Batches)
	fmt.Fprintf(e.stdout, "sha256 %s\n", res.Letter.SHA256)
	return nil
}
