// Package localpg runs a PostgreSQL server on this machine for opsbot: the
// embedded default when DATABASE_URL is not set, and the throwaway cluster
// the tests use. It wraps fergusstrange/embedded-postgres, preferring the
// Postgres binaries already installed (pg_config --bindir,
// /usr/lib/postgresql/*/bin) and downloading them only when there are none.
//
// Postgres refuses to run as root. Started as root, localpg runs the server
// as the "postgres" system user through small wrapper scripts, and keeps its
// files where that user can reach them.
package localpg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
	_ "github.com/lib/pq" // the postgres driver
)

// Config says where the server keeps its files and how it behaves.
type Config struct {
	// Dir holds everything: the data directory, the remembered port, the
	// runtime files. It is kept across restarts.
	Dir string
	// Database is created on first start. Default "opsbot".
	Database string
	// Ephemeral trades durability for speed (fsync off): for tests only.
	Ephemeral bool
	// Log receives the server's own output. Default: discarded.
	Log io.Writer
}

// Server is a running local PostgreSQL.
type Server struct {
	// URL connects to the server's database.
	URL string
	// Reused is true when a server left running (by a crash, or another
	// process) was found and used as it was.
	Reused bool
	// Installed is the directory of the Postgres binaries in use; empty
	// when they were downloaded.
	Installed string

	dir   string
	pgctl string
}

const (
	user_     = "postgres"
	password_ = "postgres"
)

// Start starts the server in cfg.Dir, or reuses one already running there.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Database == "" {
		cfg.Database = "opsbot"
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("localpg: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("localpg: create %s: %w", dir, err)
	}
	port, err := rememberedPort(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL: fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", user_, password_, port, cfg.Database),
		dir: dir,
	}
	dataDir := filepath.Join(dir, "pgdata")

	bin, version := installedBinaries()
	s.Installed = bin
	binaries := ""
	if bin != "" {
		binaries = filepath.Dir(bin) // embedded-postgres wants the parent of bin/
	}
	if os.Geteuid() == 0 {
		if bin == "" {
			return nil, errors.New("localpg: running as root needs installed PostgreSQL binaries " +
				"(apt-get install postgresql), or set DATABASE_URL to a PostgreSQL server")
		}
		if binaries, err = rootWrappers(dir, bin); err != nil {
			return nil, err
		}
	}
	s.pgctl = filepath.Join(binaries, "bin", "pg_ctl")
	if binaries != "" {
		// A handy way to stop the server by hand, whoever started it.
		_ = os.WriteFile(filepath.Join(dir, "pg_ctl"), []byte(fmt.Sprintf(
			"#!/bin/sh\nexec %q \"$@\" -D %q\n", s.pgctl, dataDir)), 0o755)
	}

	if alive(ctx, s.URL) {
		s.Reused = true
		return s, nil
	}

	params := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": "",
		"max_connections":         "200",
	}
	if cfg.Ephemeral {
		params["fsync"] = "off"
		params["synchronous_commit"] = "off"
		params["full_page_writes"] = "off"
	}
	ec := embeddedpostgres.DefaultConfig().
		Port(uint32(port)).
		Username(user_).Password(password_).Database(cfg.Database).
		DataPath(dataDir).
		RuntimePath(filepath.Join(dir, "run")).
		CachePath(filepath.Join(dir, "cache")).
		Locale("C.UTF-8").Encoding("UTF8").
		StartParameters(params).
		StartTimeout(60 * time.Second).
		Logger(cfg.Log)
	if binaries != "" {
		ec = ec.BinariesPath(binaries).Version(embeddedpostgres.PostgresVersion(version))
	}
	ep := embeddedpostgres.NewDatabase(ec)
	if err := ep.Start(); err != nil {
		return nil, fmt.Errorf("localpg: start postgres in %s: %w", dir, err)
	}
	return s, nil
}

// Stop shuts the server down, waiting for it to finish.
func (s *Server) Stop() error {
	if s.pgctl == "" {
		return nil
	}
	cmd := exec.Command(s.pgctl, "stop", "-w", "-s", "-m", "fast", "-D", filepath.Join(s.dir, "pgdata"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("localpg: stop: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// alive reports whether a server answers at url.
func alive(ctx context.Context, url string) bool {
	db, err := sql.Open("postgres", url+"&connect_timeout=1")
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

// rememberedPort returns the port saved in dir, choosing a free one the
// first time, so the URL stays the same across restarts.
func rememberedPort(dir string) (int, error) {
	path := filepath.Join(dir, "port")
	if b, err := os.ReadFile(path); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 {
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port: %w", err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	if err := os.WriteFile(path, []byte(strconv.Itoa(p)+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("localpg: remember port: %w", err)
	}
	return p, nil
}

// installedBinaries finds a local Postgres installation: its bin directory
// and major version, or "" when there is none.
func installedBinaries() (bin, version string) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	globbed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(globbed)))
	candidates = append(candidates, globbed...)
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "initdb")); err != nil {
			continue
		}
		out, err := exec.Command(filepath.Join(c, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
		f := strings.Fields(string(out))
		if len(f) < 3 {
			continue
		}
		return c, strings.SplitN(f[2], ".", 2)[0]
	}
	return "", ""
}

// rootWrappers writes scripts that run initdb and pg_ctl as the postgres
// user, and hands dir to that user. It returns the directory to use as
// embedded-postgres's binaries path.
func rootWrappers(dir, bin string) (string, error) {
	u, err := user.Lookup(user_)
	if err != nil {
		return "", errors.New(`localpg: opsbot runs as root and PostgreSQL refuses to; ` +
			`create its user with "useradd --system postgres" (or install the postgresql package), ` +
			`run opsbot as another user, or set DATABASE_URL`)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for d := dir; ; d = filepath.Dir(d) {
		if err := reachable(d, uid); err != nil {
			return "", fmt.Errorf("localpg: PostgreSQL runs as the postgres user, who cannot reach %s (%v): "+
				"set OPSBOT_DATA_DIR to a directory it can reach, such as /var/lib/opsbot", dir, err)
		}
		if d == "/" || d == "." {
			break
		}
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		return "", fmt.Errorf("localpg: chown %s: %w", dir, err)
	}
	wrapDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(filepath.Join(wrapDir, "bin"), 0o755); err != nil {
		return "", fmt.Errorf("localpg: %w", err)
	}
	for _, name := range []string{"initdb", "pg_ctl"} {
		script := fmt.Sprintf(`#!/bin/sh
# Written by opsbot: PostgreSQL refuses to run as root, so run it as %[1]s.
chown -R %[1]s: %[2]q 2>/dev/null
cd /
exec setpriv --reuid=%[3]d --regid=%[4]d --init-groups %[5]q "$@"
`, user_, filepath.Join(dir, "run"), uid, gid, filepath.Join(bin, name))
		if err := os.WriteFile(filepath.Join(wrapDir, "bin", name), []byte(script), 0o755); err != nil {
			return "", fmt.Errorf("localpg: write wrapper: %w", err)
		}
	}
	return wrapDir, nil
}

// reachable checks that uid can traverse directory d.
func reachable(d string, uid int) error {
	fi, err := os.Stat(d)
	if err != nil {
		return err
	}
	mode := fi.Mode().Perm()
	switch {
	case mode&0o001 != 0:
		return nil
	case statUID(fi) == uint32(uid) && mode&0o100 != 0:
		return nil
	case mode&0o010 != 0:
		return nil // the group may traverse: good enough to try
	}
	return fmt.Errorf("mode %v", mode)
}
