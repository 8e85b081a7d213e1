// Package storetest gives tests a fresh, migrated store on every dialect: a new
// SQLite file, and a new database on the real Postgres server named by
// SAFETYBOT_TEST_POSTGRES. With SAFETYBOT_TEST_REQUIRE_SERVICES=1 (set by make
// test and CI) a missing Postgres or Redis fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"safetybot"
	"safetybot/store"
)

// Env names.
const (
	EnvPostgres = "SAFETYBOT_TEST_POSTGRES" // admin URL, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
	EnvRedis    = "SAFETYBOT_TEST_REDIS"    // e.g. redis://127.0.0.1:6379/0
	EnvRequire  = "SAFETYBOT_TEST_REQUIRE_SERVICES"
)

// Dialects lists the store dialects every suite runs on.
var Dialects = []string{"sqlite", "postgres"}

// Each runs fn as a subtest per dialect, each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, New(t, d))
		})
	}
}

// Options for New.
type Options struct {
	Clock safetybot.Clock
}

// New returns a fresh, migrated store of the dialect, closed at the end of the test.
func New(t testing.TB, dialect string, opts ...Options) *store.Store {
	t.Helper()
	u := URL(t, dialect)
	var o store.Options
	if len(opts) > 0 {
		o.Clock = opts[0].Clock
	}
	s, err := store.Open(context.Background(), u, o)
	if err != nil {
		t.Fatalf("open %s store: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return s
}

// URL returns a SAFETYBOT_DATABASE_URL for a fresh, empty (but migrated when
// Postgres) database of the dialect, removed at the end of the test.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case "sqlite":
		return "sqlite://" + filepath.Join(t.TempDir(), "test.db")
	case "postgres":
		return freshPostgres(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// Require reports whether missing services must fail tests.
func Require() bool { return os.Getenv(EnvRequire) == "1" }

// RedisURL returns the test Redis URL or skips (fails under Require).
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvRedis)
	if u == "" {
		if Require() {
			t.Fatalf("%s is not set but %s=1: Redis tests must run", EnvRedis, EnvRequire)
		}
		t.Skipf("Redis test skipped: set %s (make test does)", EnvRedis)
	}
	return u
}

var (
	pgMu       sync.Mutex
	pgTemplate string
	pgSeq      atomic.Int64
)

func freshPostgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgres)
	if admin == "" {
		if Require() {
			t.Fatalf("%s is not set but %s=1: Postgres tests must run", EnvPostgres, EnvRequire)
		}
		t.Skipf("Postgres test skipped: set %s (make test does)", EnvPostgres)
	}
	db, err := sql.Open("postgres", admin)
	if err != nil {
		t.Fatalf("postgres admin: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("Postgres at %s is not reachable: %v", admin, err)
	}
	tmpl, err := template(ctx, db, admin)
	if err != nil {
		t.Fatalf("postgres template: %v", err)
	}
	name := fmt.Sprintf("sbt_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, pgSeq.Add(1))
	var lastErr error
	for i := 0; i < 20; i++ {
		pgMu.Lock()
		_, lastErr = db.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl)
		pgMu.Unlock()
		if lastErr == nil {
			break
		}
		time.Sleep(time.Duration(50*(i+1)) * time.Millisecond) // another process copying the template
	}
	if lastErr != nil {
		t.Fatalf("create database: %v", lastErr)
	}
	t.Cleanup(func() {
		d, err := sql.Open("postgres", admin)
		if err == nil {
			d.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
			d.Close()
		}
	})
	return withDB(admin, name)
}

func withDB(admin, name string) string {
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// template returns a database with every migration applied, named by a hash of the
// migrations so it is reused across runs and rebuilt when they change.
func template(ctx context.Context, db *sql.DB, admin string) (string, error) {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pgTemplate != "" {
		return pgTemplate, nil
	}
	name := "sbtmpl_" + migrationsHash()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	// Serialise template creation across test processes.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(727274)`); err != nil {
		return "", err
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(727274)`)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		build := name + "_build"
		conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+build+` WITH (FORCE)`)
		if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+build); err != nil {
			return "", err
		}
		s, err := store.Open(ctx, withDB(admin, build), store.Options{})
		if err != nil {
			return "", err
		}
		_, err = s.Migrate(ctx)
		s.Close()
		if err != nil {
			return "", err
		}
		if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+build+` RENAME TO `+name); err != nil {
			return "", err
		}
	}
	pgTemplate = name
	return name, nil
}

func migrationsHash() string {
	h := sha256.New()
	fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(store.Migrations(), path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}
