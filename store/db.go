// Package store keeps opsbot's state in PostgreSQL through sqlx and lib/pq.
// It has one file per aggregate; every method takes a context first and
// returns domain types, mapping driver errors onto domain errors.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/opsbot/opsbot/domain"
)

// DB is opsbot's database handle.
type DB struct {
	x     *sqlx.DB
	owner string

	provOnce sync.Once
	prov     *goose.Provider
	provErr  error
}

// Options tune the connection pool.
type Options struct {
	MaxOpenConns     int           // default 10
	StatementTimeout time.Duration // default 10s; 0 keeps the default
	// Owner names this process on the outbox claims it takes
	// (host/pid/start), so a successor can tell a dead holder's claims.
	Owner string
}

// Open connects to the database at dsn (a postgres:// URL) and checks that
// it answers. Every connection gets a statement timeout so a runaway query
// cannot hold a connection for ever.
func Open(ctx context.Context, dsn string, opt Options) (*DB, error) {
	if opt.MaxOpenConns <= 0 {
		opt.MaxOpenConns = 10
	}
	if opt.StatementTimeout <= 0 {
		opt.StatementTimeout = 10 * time.Second
	}
	dsn, err := withParam(dsn, "statement_timeout", fmt.Sprint(opt.StatementTimeout.Milliseconds()))
	if err != nil {
		return nil, err
	}
	x, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	x.SetMaxOpenConns(opt.MaxOpenConns)
	x.SetMaxIdleConns(opt.MaxOpenConns)
	x.SetConnMaxIdleTime(5 * time.Minute)
	x.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := x.PingContext(pctx); err != nil {
		x.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	return &DB{x: x, owner: opt.Owner}, nil
}

// withParam adds a run-time parameter to a postgres URL unless it is set.
func withParam(dsn, key, value string) (string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", fmt.Errorf("store: database URL must start with postgres://")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("store: database URL: %w", err)
	}
	q := u.Query()
	if q.Get(key) == "" {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Close closes the pool.
func (db *DB) Close() error { return db.x.Close() }

// SQL returns the underlying *sql.DB, for migrations and health checks.
func (db *DB) SQL() *sql.DB { return db.x.DB }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.x.PingContext(ctx) }

// InTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise. The rollback runs on a fresh context so that a cancelled
// request still releases its locks at once.
func (db *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.x.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			rollback(tx)
			panic(p)
		}
		if err != nil {
			rollback(tx)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	return nil
}

func rollback(tx *sqlx.Tx) {
	// Rollback does not take a context; database/sql already aborts a
	// transaction whose context was cancelled, so this only has to be
	// called, never skipped.
	_ = tx.Rollback()
}

// mapErr turns driver errors into domain errors, keeping the original.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return domain.ErrNotFound
	}
	var pe *pq.Error
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s", domain.ErrConflict, pe.Constraint)
	}
	return err
}

// wrap prefixes err and maps it; nil stays nil.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	m := mapErr(err)
	if m == err {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	return fmt.Errorf("store: %s: %w (%v)", op, m, err)
}

// nullString converts a string to a nullable column value ("" is NULL).
func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
