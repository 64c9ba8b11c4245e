package localpg

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tempDir returns a directory the postgres system user can reach when the
// test runs as root (t.TempDir's parent is private to its owner).
func tempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func execSQL(t *testing.T, url, q string, args ...any) {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestStartStopRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	t.Parallel()
	if bin, _ := installedBinaries(); bin == "" {
		t.Skip("no installed PostgreSQL binaries (apt-get install postgresql)")
	}
	ctx := context.Background()
	dir := tempDir(t)
	cfg := Config{Dir: filepath.Join(dir, "pg"), Database: "shop", Ephemeral: true}

	srv, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if srv.Reused || srv.Installed == "" || !strings.Contains(srv.URL, "/shop?") {
		t.Errorf("first start: %+v", srv)
	}
	execSQL(t, srv.URL, `CREATE TABLE kept (v text)`)
	execSQL(t, srv.URL, `INSERT INTO kept VALUES ('survives')`)

	// Already running: reused as is.
	again, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.URL != srv.URL {
		t.Errorf("second start while running: %+v", again)
	}

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(ctx, srv.URL) {
		t.Fatal("still answering after Stop")
	}

	// Restarted: same port, same data.
	third, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = third.Stop() })
	if third.Reused || third.URL != srv.URL {
		t.Errorf("restart: %+v (first URL %s)", third, srv.URL)
	}
	db, err := sql.Open("postgres", third.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow(`SELECT v FROM kept`).Scan(&v); err != nil || v != "survives" {
		t.Fatalf("data after restart: %q, %v", v, err)
	}
	if os.Geteuid() == 0 {
		// Run as root, Postgres runs as the postgres user through wrappers.
		fi, err := os.Stat(filepath.Join(cfg.Dir, "pgdata"))
		if err != nil {
			t.Fatal(err)
		}
		if statUID(fi) == 0 {
			t.Error("the data directory belongs to root")
		}
		if _, err := os.Stat(filepath.Join(cfg.Dir, "bin", "bin", "pg_ctl")); err != nil {
			t.Errorf("no root wrapper: %v", err)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "pg_ctl")); err != nil {
		t.Errorf("no pg_ctl helper script: %v", err)
	}
}

func TestRememberedPort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p1, err := rememberedPort(dir)
	if err != nil || p1 <= 0 {
		t.Fatalf("rememberedPort = %d, %v", p1, err)
	}
	p2, _ := rememberedPort(dir)
	if p1 != p2 {
		t.Errorf("port changed: %d then %d", p1, p2)
	}
	if err := os.WriteFile(filepath.Join(dir, "port"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p3, err := rememberedPort(dir); err != nil || p3 <= 0 {
		t.Errorf("after a corrupt port file: %d, %v", p3, err)
	}
}

func TestRootNeedsReachableDir(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root runs Postgres through the postgres user")
	}
	bin, _ := installedBinaries()
	if bin == "" {
		t.Skip("no installed PostgreSQL binaries")
	}
	private := t.TempDir() // its parent is 0700: the postgres user cannot get in
	if err := os.Chmod(filepath.Dir(private), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Config{Dir: filepath.Join(private, "pg")})
	if err == nil || !strings.Contains(err.Error(), "OPSBOT_DATA_DIR") {
		t.Errorf("Start in a private dir as root = %v, want advice about OPSBOT_DATA_DIR", err)
	}
}
