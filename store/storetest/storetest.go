// Package storetest gives each test its own migrated PostgreSQL database.
//
// It uses TEST_DATABASE_URL when set (any database the user may create
// databases from). Otherwise it starts a throwaway local cluster in
// $TMPDIR/opsbot-testpg (or OPSBOT_TESTPG), shared by every test process of
// a run and guarded by a file lock; `make test` stops it at the end. Each test's database is
// cloned from a template migrated once per schema version, which takes
// milliseconds, so tests can run in parallel without seeing each other.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/opsbot/opsbot/migrations"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/localpg"
)

var (
	once     sync.Once
	adminURL string
	template string
	setupErr error
)

// Dir is where the shared test cluster lives: OPSBOT_TESTPG when set
// (`make test` sets one per checkout, so two checkouts testing at once
// never stop each other's cluster), else $TMPDIR/opsbot-testpg.
func Dir() string {
	if d := os.Getenv("OPSBOT_TESTPG"); d != "" && filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(os.TempDir(), "opsbot-testpg")
}

// New returns a fresh migrated database for one test, dropped when the
// test ends.
func New(tb testing.TB) *store.DB {
	tb.Helper()
	u := URL(tb)
	db, err := store.Open(context.Background(), u, store.Options{MaxOpenConns: 20})
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// URL creates a fresh migrated database and returns its URL, for tests that
// hand the database to another process.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		tb.Fatalf("storetest: %v", setupErr)
	}
	return create(tb, template)
}

// EmptyURL creates a fresh database with no tables at all (no migrations
// applied) and returns its URL, for tests of the migrations themselves.
func EmptyURL(tb testing.TB) string {
	tb.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		tb.Fatalf("storetest: %v", setupErr)
	}
	return create(tb, "template0")
}

// create makes a database cloned from tmpl, dropped when the test ends.
func create(tb testing.TB, tmpl string) string {
	tb.Helper()
	name := "t_" + randomHex(8)
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		tb.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + pq.QuoteIdentifier(name) + ` TEMPLATE ` + pq.QuoteIdentifier(tmpl)); err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := sql.Open("postgres", adminURL)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS ` + pq.QuoteIdentifier(name) + ` WITH (FORCE)`)
	})
	return withDB(adminURL, name)
}

func setup() error {
	ctx := context.Background()
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		u, err := sharedCluster(ctx)
		if err != nil {
			return err
		}
		adminURL = u
	}
	template = "opsbot_tmpl_" + schemaHash()
	admin, err := sql.Open("postgres", adminURL)
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", redact(adminURL), err)
	}
	defer conn.Close()
	// Processes of one run race to build the template: one builds it under
	// an advisory lock, the others wait and find it there.
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(72823)`); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, `SELECT pg_advisory_unlock(72823)`)
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, template).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := template + "_build"
	_, _ = conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+pq.QuoteIdentifier(building)+` WITH (FORCE)`)
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+pq.QuoteIdentifier(building)); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	db, err := store.Open(ctx, withDB(adminURL, building), store.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	_, err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, `ALTER DATABASE `+pq.QuoteIdentifier(building)+` RENAME TO `+pq.QuoteIdentifier(template))
	return err
}

// sharedCluster starts (or finds) the run's local cluster.
func sharedCluster(ctx context.Context) (string, error) {
	dir := Dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	// On a loaded machine a running cluster may not answer the quick
	// liveness check in time, and Start then finds its port taken: try
	// again rather than fail every test of the process.
	var srv *localpg.Server
	for attempt := 1; ; attempt++ {
		srv, err = localpg.Start(ctx, localpg.Config{Dir: dir, Database: "postgres", Ephemeral: true})
		if err == nil || attempt == 5 || !strings.Contains(err.Error(), "already listening") {
			break
		}
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	if err != nil {
		return "", err
	}
	return srv.URL, nil
}

// schemaHash names the template after the migrations, so a changed schema
// gets a new template instead of a stale one.
func schemaHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func withDB(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + name
	return u.String()
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
