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

// DB is opsbot's database handle: the pool, or a transaction when it came
// from InTx. Every method works on either, so store methods compose in one
// transaction: db.InTx(ctx, func(tx *store.DB) error { ... }).
type DB struct {
	x     execer   // what queries run on: the pool or tx
	pool  *sqlx.DB // the pool, for Begin, Close and migrations
	tx    *sqlx.Tx // non-nil when this handle is bound to a transaction
	owner string

	mig *migrator // shared by a pool and the transactions it hands out
}

// execer is what sqlx.DB and sqlx.Tx have in common that the store uses.
type execer interface {
	sqlx.ExtContext
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	PreparexContext(ctx context.Context, query string) (*sqlx.Stmt, error)
	QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row
}

type migrator struct {
	once sync.Once
	prov *goose.Provider
	err  error
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
	return &DB{x: x, pool: x, owner: opt.Owner, mig: &migrator{}}, nil
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
func (db *DB) Close() error { return db.pool.Close() }

// SQL returns the underlying *sql.DB, for migrations and health checks.
func (db *DB) SQL() *sql.DB { return db.pool.DB }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.PingContext(ctx) }

// InTx runs fn with a handle bound to one transaction, committing when fn
// returns nil and rolling back otherwise (a panic rolls back too). Any
// store methods called on tx take part in it, which is how a change and
// its effects in other features commit together. Called on a handle that
// is already in a transaction, fn joins it: the outer InTx commits.
//
// When ctx carries an attempt at an inbound delivery
// (domain.WithDelivery), the transaction also records that attempt as the
// one that had the delivery's effect, and commits only if no other
// attempt did: otherwise it rolls back with domain.ErrDelivered. That is
// what gives a WeChat message or a Slack event one effect however many
// retries, replicas and sweeps handle it (see dedupe.go).
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error {
	if db.tx != nil {
		return fn(db)
	}
	return db.runTx(ctx, fn, true)
}

// Rollback runs fn in a transaction that is always rolled back: whatever fn
// writes is visible to fn and gone afterwards. It is how a dry run sees
// what a job would do without doing it.
func (db *DB) Rollback(ctx context.Context, fn func(tx *DB) error) error {
	if db.tx != nil {
		return fmt.Errorf("store: rollback: already in a transaction")
	}
	return db.runTx(ctx, fn, false)
}

// InTransaction reports whether db is bound to a transaction.
func (db *DB) InTransaction() bool { return db.tx != nil }

func (db *DB) runTx(ctx context.Context, fn func(tx *DB) error, commit bool) (err error) {
	tx, err := db.pool.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", mapErr(err))
	}
	defer func() {
		if p := recover(); p != nil {
			rollback(tx)
			panic(p)
		}
		if err != nil || !commit {
			rollback(tx)
		}
	}()
	bound := &DB{x: tx, pool: db.pool, tx: tx, owner: db.owner, mig: db.mig}
	if err = fn(bound); err != nil || !commit {
		return err
	}
	if c := domain.DeliveryFrom(ctx); c != nil {
		if err = claimEffect(ctx, tx, c); err != nil {
			return err
		}
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
