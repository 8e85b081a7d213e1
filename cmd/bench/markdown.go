package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// writeMarkdown writes the table to path (creating its folder) with a line
// saying where and how it was measured.
func writeMarkdown(path string, rows []row, runRe string, quick bool) error {
	var b strings.Builder
	b.WriteString("# Benchmark results\n\n")
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s: %s/%s, %d CPUs (GOMAXPROCS %d), %s. `make bench` (`go run ./cmd/bench`)",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
	if runRe != "" {
		fmt.Fprintf(&b, " with `-run %s`", runRe)
	}
	if quick {
		b.WriteString(" with `-quick` (sizes shrunk: not comparable)")
	}
	b.WriteString("; Postgres and Redis on the same machine, the load generator in the same process.\n\n")
	b.WriteString("| scenario | figure | goal | met? |\n|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.scenario), cell(r.figure), cell(r.goal), cell(r.met))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
