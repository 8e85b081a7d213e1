// Package store keeps everything the bot knows in Postgres (production) or a
// SQLite file (the embedded default) through one sqlx-based type. Dialect
// differences sit in dialect.go; migrations are embedded per dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"safetybot"
	"safetybot/config"
)

//go:embed migrations
var migrations embed.FS

func init() {
	sqlx.BindDriver("sqlite", sqlx.QUESTION)
}

// Store is the one store over *sqlx.DB.
type Store struct {
	db      *sqlx.DB
	dialect string // "postgres" or "sqlite"
	clock   safetybot.Clock
	log     *slog.Logger
}

// Options tune Open.
type Options struct {
	Clock  safetybot.Clock
	Logger *slog.Logger
	// MaxOpenConns for Postgres (SQLite always uses one writer connection).
	MaxOpenConns int
}

// Open connects to the database named by a SAFETYBOT_DATABASE_URL value. It does
// not migrate; call Migrate.
func Open(ctx context.Context, databaseURL string, opt Options) (*Store, error) {
	dialect, dsn, err := config.ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	if opt.Clock == nil {
		opt.Clock = safetybot.SystemClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{dialect: dialect, clock: opt.Clock, log: opt.Logger}
	switch dialect {
	case "postgres":
		s.db, err = sqlx.Open("postgres", withBinaryParameters(dsn))
		if err != nil {
			return nil, err
		}
		n := opt.MaxOpenConns
		if n == 0 {
			n = 20
		}
		s.db.SetMaxOpenConns(n)
		s.db.SetMaxIdleConns(n)
		s.db.SetConnMaxIdleTime(5 * time.Minute)
	case "sqlite":
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("create database folder: %w", err)
			}
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Set("_txlock", "immediate")
		q.Set("_time_format", "sqlite")
		s.db, err = sqlx.Open("sqlite", "file:"+dsn+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		// One writer: SQLite serialises writes anyway; one connection avoids SQLITE_BUSY.
		s.db.SetMaxOpenConns(1)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("connect to %s: %w", dialect, err)
	}
	return s, nil
}

// withBinaryParameters turns on lib/pq's binary_parameters unless the URL
// sets it: a query with arguments then costs one round trip to the server
// (Parse, Bind and Execute together) instead of two (an unnamed prepare,
// then the execution). Every statement of a chat message pays this, so it
// halves the round trips of message handling.
func withBinaryParameters(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn
	}
	q := u.Query()
	if q.Has("binary_parameters") {
		return dsn
	}
	q.Set("binary_parameters", "yes")
	u.RawQuery = q.Encode()
	return u.String()
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Dialect returns "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect }

// DB exposes the handle for tests and benchmarks that need raw SQL.
func (s *Store) DB() *sqlx.DB { return s.db }

// Now returns the store's clock reading in UTC.
func (s *Store) Now() time.Time { return s.clock.Now().UTC() }

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return nil, err
	}
	var opts []goose.ProviderOption
	gd := goose.DialectSQLite3
	if s.dialect == "postgres" {
		gd = goose.DialectPostgres
		l, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(l))
	}
	return goose.NewProvider(gd, s.db.DB, sub, opts...)
}

// Migrate applies every pending migration and returns how many ran.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Ready checks the database answers and every migration is applied.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database unreachable: %w", err)
	}
	p, err := s.provider()
	if err != nil {
		return err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return fmt.Errorf("migration status: %w", err)
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

type txKey struct{}

// ext is what queries run on: the transaction carried by ctx, or the database.
type ext interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

func (s *Store) q(ctx context.Context) ext {
	if tx, ok := ctx.Value(txKey{}).(*sqlx.Tx); ok {
		return tx
	}
	return s.db
}

// InTx runs fn in one transaction. Store calls made with the ctx passed to fn use
// that transaction. Nested calls join the outer transaction. Never call WeCom or
// Redis inside fn.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*sqlx.Tx); ok {
		return fn(ctx)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return mapErr(fmt.Errorf("begin: %w", err))
	}
	defer tx.Rollback()
	if err := fn(context.WithValue(ctx, txKey{}, tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := s.q(ctx).ExecContext(ctx, s.db.Rebind(query), args...)
	return r, mapErr(err)
}

func (s *Store) get(ctx context.Context, dest any, query string, args ...any) error {
	return mapErr(s.q(ctx).GetContext(ctx, dest, s.db.Rebind(query), args...))
}

func (s *Store) sel(ctx context.Context, dest any, query string, args ...any) error {
	return mapErr(s.q(ctx).SelectContext(ctx, dest, s.db.Rebind(query), args...))
}

// in expands "IN (?)" with a slice argument and rebinds.
func (s *Store) in(query string, args ...any) (string, []any, error) {
	q, a, err := sqlx.In(query, args...)
	if err != nil {
		return "", nil, err
	}
	return s.db.Rebind(q), a, nil
}

// ErrConflict is wrapped by errors from unique-constraint violations.
var ErrConflict = errors.New("unique constraint violated")

// mapErr turns driver errors into domain errors: unique violations become
// ECONFLICT, sql.ErrNoRows becomes ENOTFOUND.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &safetybot.Error{Code: safetybot.ENOTFOUND, Message: "未找到相关记录", Err: err}
	}
	var pqe *pq.Error
	if errors.As(err, &pqe) && pqe.Code == "23505" {
		return &safetybot.Error{Code: safetybot.ECONFLICT, Message: "记录已存在", Err: fmt.Errorf("%w: %s", ErrConflict, pqe.Constraint)}
	}
	var se *sqlite.Error
	if errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return &safetybot.Error{Code: safetybot.ECONFLICT, Message: "记录已存在", Err: fmt.Errorf("%w: %s", ErrConflict, se.Error())}
	}
	return err
}

// IsNotFound reports whether err means "no such row".
func IsNotFound(err error) bool { return safetybot.ErrorCode(err) == safetybot.ENOTFOUND }

// IsConflict reports whether err is a unique-constraint violation.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// Redacted returns a database URL safe to log.
func Redacted(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// dateString formats a civil date: the date of t in t's own location (a date
// read from a roster is midnight in the campaign time zone; one parsed here is
// midnight UTC — both print as the same date).
func dateString(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format("2006-01-02")
	return &s
}

func parseDate(s *string) *time.Time {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	t, err := time.Parse("2006-01-02", *s)
	if err != nil {
		return nil
	}
	return &t
}

// Migrations exposes the embedded migration files (for test templates).
func Migrations() fs.FS { return migrations }
