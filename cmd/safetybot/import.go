package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"safetybot/roster"
)

func init() {
	extraCommands = append(extraCommands, command{name: "import", summary: "import a roster: import enterprises|officials FILE [--skip-invalid] [--dry-run] [--deactivate-missing]", run: cmdImport})
}

func cmdImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || (args[0] != "enterprises" && args[0] != "officials") {
		return usageError{"usage: safetybot import enterprises|officials FILE [--skip-invalid] [--dry-run] [--deactivate-missing]"}
	}
	kind := args[0]
	fs := flags("import "+kind+" FILE", "Validate a roster (CSV in UTF-8 or GBK, or XLSX) and import it; with any bad row nothing is imported.", e)
	skip := fs.Bool("skip-invalid", false, "import the good rows and list the bad ones")
	dry := fs.Bool("dry-run", false, "only validate and report what would change")
	deactivate := fs.Bool("deactivate-missing", false, "mark enterprises missing from the file inactive (history is kept)")
	// Flags may come before or after FILE.
	var file string
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		file, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if file == "" && fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		return usageError{"missing FILE"}
	}
	c, err := e.config()
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("cannot open %s: %w", file, err)
	}
	defer f.Close()
	rd := &roster.Reader{Location: c.Location}
	s, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		return err
	}
	progress := progressPrinter(e)
	opt := roster.ApplyOptions{SkipInvalid: *skip, DryRun: *dry, DeactivateMissing: *deactivate, Progress: progress}
	var rep *roster.Report
	switch kind {
	case "enterprises":
		res, err := rd.ReadEnterprises(f, filepath.Base(file))
		if err != nil {
			return err
		}
		rep, err = roster.ApplyEnterprises(ctx, s, res, opt)
		if rep == nil {
			return err
		}
		printImport(e, rep)
		if err != nil {
			return err
		}
	case "officials":
		res, err := rd.ReadOfficials(f, filepath.Base(file))
		if err != nil {
			return err
		}
		rep, err = roster.ApplyOfficials(ctx, s, res, opt)
		if rep == nil {
			return err
		}
		printImport(e, rep)
		if err != nil {
			return err
		}
	}
	return nil
}

func printImport(e *env, rep *roster.Report) {
	for _, w := range rep.Warnings {
		fmt.Fprintln(e.stderr, "提示: "+w)
	}
	for _, er := range rep.Errors {
		fmt.Fprintln(e.stderr, er.String())
	}
	prefix := ""
	if rep.DryRun {
		prefix = "（试运行，未写入）"
	}
	if rep.Applied || rep.DryRun {
		fmt.Fprintf(e.stdout, "%s共 %d 行：%s\n", prefix, rep.Total, rep.Summary())
	}
}

// progressPrinter draws a progress bar on a terminal for large files.
func progressPrinter(e *env) func(done, total int) {
	f, ok := e.stderr.(*os.File)
	if !ok || !isTerminal(f) {
		return nil
	}
	return func(done, total int) {
		if total < 2000 {
			return
		}
		const width = 30
		n := done * width / total
		fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if done == total {
			fmt.Fprintln(e.stderr)
		}
	}
}
