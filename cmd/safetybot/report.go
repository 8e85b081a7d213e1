package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"safetybot/config"
	"safetybot/report"
	"safetybot/store"
)

// reportKind is one `safetybot report KIND`.
type reportKind struct {
	summary string
	// flags registers the kind's own flags and returns the function that builds
	// the report: the JSON value and the tables of the other formats.
	flags func(fs *flagSet) func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error)
}

// flagSet is the subset of *flag.FlagSet report kinds use.
type flagSet = flagSetT

var reportKinds = map[string]reportKind{
	"letters":     {summary: "open-letter sign-off per township and the unsigned enterprises", flags: lettersReport},
	"inspections": {summary: "monthly self-inspection per township: enterprises, submitted, signed, rate, and who has not (--month YYYY-MM, --township T)", flags: inspectionsReport},
}

func init() {
	extraCommands = append(extraCommands, command{name: "report", summary: "statistics: report KIND --format table|csv|json|xlsx [--out F] (KIND: " + strings.Join(reportNames(), ", ") + ")", run: cmdReport})
}

func reportNames() []string {
	var names []string
	for k := range reportKinds {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func cmdReport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"usage: safetybot report KIND [flags] — KIND is one of " + strings.Join(reportNames(), ", ")}
	}
	kind, ok := reportKinds[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("unknown report %q (want one of %s)", args[0], strings.Join(reportNames(), ", "))}
	}
	fs := flags("report "+args[0], kind.summary, e)
	format := fs.String("format", "table", "table, csv, json or xlsx")
	out := fs.String("out", "", "write to this file instead of standard output (required for xlsx on a terminal)")
	build := kind.flags(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if !slices.Contains(report.Formats, *format) {
		return usageError{fmt.Sprintf("--format %q is not one of %s", *format, strings.Join(report.Formats, ", "))}
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
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	v, tables, err := build(ctx, s, c)
	if err != nil {
		return err
	}
	var w io.Writer = e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	} else if *format == "xlsx" {
		if f, ok := e.stdout.(*os.File); ok && isTerminal(f) {
			return usageError{"xlsx needs --out FILE"}
		}
	}
	if err := report.Write(w, *format, v, tables); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "written to %s\n", *out)
	}
	return nil
}

func lettersReport(fs *flagSet) func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
	id := fs.Int64("letter", 0, "letter id (default: the newest letter)")
	var townships listFlag
	fs.Var(&townships, "township", "limit to a township (repeatable)")
	return func(ctx context.Context, s *store.Store, c config.Config) (any, []report.Table, error) {
		letterID := *id
		if letterID == 0 {
			ls, err := s.ListLetters(ctx)
			if err != nil {
				return nil, nil, err
			}
			if len(ls) == 0 {
				return nil, nil, fmt.Errorf("no letter has been sent yet")
			}
			letterID = ls[0].ID
		}
		r, err := report.Letters(ctx, s, letterID, townships...)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Tables(), nil
	}
}
