// Command bench runs the performance scenarios against real Postgres and Redis
// and prints one table: scenario | figure | goal | met?
//
//	go run ./cmd/bench [-run REGEXP] [-quick]
//
// Postgres and Redis come from SAFETYBOT_TEST_POSTGRES and SAFETYBOT_TEST_REDIS
// (make bench sets them). Scenarios register themselves in registry.go's list
// from their own files.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"runtime/pprof"
	"strings"
	"text/tabwriter"
)

func main() {
	runRe := flag.String("run", "", "run only scenarios whose name matches this regular expression")
	quick := flag.Bool("quick", false, "shrink every scenario (a smoke run; figures are not comparable)")
	out := flag.String("out", "bench/results.md", "also write the table as markdown to this file (empty: don't)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	re, err := regexp.Compile(*runRe)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: -run:", err)
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "safetybot-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(tmp)
	env := &benchEnv{PostgresAdmin: os.Getenv("SAFETYBOT_TEST_POSTGRES"), RedisURL: os.Getenv("SAFETYBOT_TEST_REDIS"),
		TempDir: tmp, Log: os.Stderr, Quick: *quick}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var rows []row
	failed := false
	for _, s := range scenarios {
		if !re.MatchString(s.name) {
			continue
		}
		env.Logf("%s: start", s.name)
		got, err := s.run(ctx, env)
		rows = append(rows, got...)
		var skip errSkip
		switch {
		case errors.As(err, &skip):
			rows = append(rows, row{scenario: s.name, figure: skip.Error()})
		case err != nil:
			failed = true
			rows = append(rows, row{scenario: s.name, figure: "error: " + strings.ReplaceAll(err.Error(), "\n", "; "), met: "NO"})
		}
		env.Logf("%s: done", s.name)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tfigure\tgoal\tmet?")
	fmt.Fprintln(tw, "--------\t------\t----\t----")
	for _, r := range rows {
		if r.met == "NO" {
			failed = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.scenario, r.figure, r.goal, r.met)
	}
	tw.Flush()
	if *out != "" && len(rows) > 0 {
		if err := writeMarkdown(*out, rows, *runRe, *quick); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			failed = true
		}
	}
	if failed {
		pprof.StopCPUProfile() // os.Exit skips the deferred stop
		os.Exit(1)
	}
}
