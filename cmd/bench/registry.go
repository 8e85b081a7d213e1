package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"safetybot/store"
	"strings"
	"time"

	_ "github.com/lib/pq"
)

// scenario is one benchmark: it runs against env and returns the rows it adds
// to the table. Each scenario file registers its scenarios in an init func:
//
//	func init() { register(scenario{name: "letter-100k", run: benchLetter100k}) }
type scenario struct {
	name string
	run  func(ctx context.Context, env *benchEnv) ([]row, error)
}

// row is one line of the printed table: scenario | figure | goal | met?
type row struct {
	scenario string
	figure   string // what was measured, e.g. "API calls 100"
	goal     string // e.g. "= 100"; empty for figures without a goal
	met      string // "yes", "NO" or "" (no goal)
}

// metRow returns a row whose met column says whether ok.
func metRow(scenario, figure, goal string, ok bool) row {
	m := "NO"
	if ok {
		m = "yes"
	}
	return row{scenario: scenario, figure: figure, goal: goal, met: m}
}

// infoRow returns a row without a goal.
func infoRow(scenario, figure string) row {
	return row{scenario: scenario, figure: figure}
}

var scenarios []scenario

// register adds a scenario; the table lists them in registration order.
func register(s scenario) { scenarios = append(scenarios, s) }

// benchEnv is what every scenario gets: where the real services are, and a
// log for progress lines (the table goes to stdout).
type benchEnv struct {
	// PostgresAdmin is an admin URL (SAFETYBOT_TEST_POSTGRES): scenarios make
	// their own databases with FreshPostgres. Empty: Postgres scenarios skip.
	PostgresAdmin string
	// RedisURL is SAFETYBOT_TEST_REDIS; empty: in-process state.
	RedisURL string
	// TempDir holds SQLite files and data folders; removed at the end.
	TempDir string
	// Log receives progress lines.
	Log io.Writer
	// Quick asks scenarios to shrink their sizes (smoke runs, not figures).
	Quick bool
}

// Logf writes a progress line.
func (e *benchEnv) Logf(format string, args ...any) {
	fmt.Fprintf(e.Log, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// SQLiteURL returns a fresh SQLite database URL under TempDir.
func (e *benchEnv) SQLiteURL(name string) (string, error) {
	dir, err := os.MkdirTemp(e.TempDir, name+"-")
	if err != nil {
		return "", err
	}
	return "sqlite://" + dir + "/bench.db", nil
}

// FreshPostgres creates an empty database on the Postgres server and returns
// its URL and a function that drops it.
func (e *benchEnv) FreshPostgres(ctx context.Context, name string) (string, func(), error) {
	if e.PostgresAdmin == "" {
		return "", nil, errSkip("SAFETYBOT_TEST_POSTGRES is not set")
	}
	db, err := sql.Open("postgres", e.PostgresAdmin)
	if err != nil {
		return "", nil, err
	}
	defer db.Close()
	dbName := fmt.Sprintf("sbbench_%s_%d", strings.NewReplacer("-", "_", ".", "_").Replace(name), time.Now().UnixNano()%1e9)
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+dbName); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(e.PostgresAdmin)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + dbName
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	drop := func() {
		d, err := sql.Open("postgres", e.PostgresAdmin)
		if err == nil {
			d.Exec(`DROP DATABASE IF EXISTS ` + dbName + ` WITH (FORCE)`)
			d.Close()
		}
	}
	return u.String(), drop, nil
}

// errSkip marks a scenario that cannot run here (a service is missing); the
// table shows it as skipped instead of failed.
type errSkip string

func (e errSkip) Error() string { return "skipped: " + string(e) }

// FreshStore opens a migrated store on a fresh Postgres database; close
// closes the store and drops the database.
func (e *benchEnv) FreshStore(ctx context.Context, name string, opt store.Options) (s *store.Store, close func(), err error) {
	dbURL, drop, err := e.FreshPostgres(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	s, err = store.Open(ctx, dbURL, opt)
	if err != nil {
		drop()
		return nil, nil, err
	}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		drop()
		return nil, nil, err
	}
	return s, func() { s.Close(); drop() }, nil
}
