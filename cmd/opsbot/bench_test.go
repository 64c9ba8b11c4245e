package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store/storetest"
)

// BenchmarkRestartToReady measures a restart: from exec of the opsbot
// binary to the first 200 from /readyz. Targets: ≤ 3 s with an existing
// embedded data directory, ≤ 1 s with DATABASE_URL.
//
//	go test -run '^$' -bench RestartToReady -benchtime 5x ./cmd/opsbot
func BenchmarkRestartToReady(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		// The postgres system user must reach the data directory when
		// this runs as root.
		dir := b.TempDir()
		if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
			b.Fatal(err)
		}
		env := map[string]string{"OPSBOT_DATA_DIR": dir, "OPSBOT_ADDR": freeAddr(b)}
		// First start: initdb, migrations. Not measured.
		p := startOpsbot(b, env, "serve")
		waitReady(b, p, env["OPSBOT_ADDR"], 2*time.Minute)
		p.stop(b)
		benchRestarts(b, env, 3*time.Second)
	})
	b.Run("database_url", func(b *testing.B) {
		env := map[string]string{"DATABASE_URL": storetest.URL(b), "OPSBOT_DATA_DIR": b.TempDir(), "OPSBOT_ADDR": freeAddr(b)}
		benchRestarts(b, env, time.Second)
	})
}

func benchRestarts(b *testing.B, env map[string]string, target time.Duration) {
	b.Helper()
	var worst time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		p := startOpsbot(b, env, "serve")
		d := waitReady(b, p, env["OPSBOT_ADDR"], time.Minute).Sub(start)
		worst = max(worst, d)
		b.StopTimer()
		p.stop(b)
		b.StartTimer()
	}
	b.ReportMetric(worst.Seconds(), "worst-s")
	if worst > target {
		b.Logf("slowest restart to ready %v exceeds the %v target", worst, target)
	}
}

// BenchmarkIdleRSS measures the resident memory of `opsbot serve` after a
// few seconds idle. Target: ≤ 40 MB.
//
//	go test -run '^$' -bench IdleRSS -benchtime 1x ./cmd/opsbot
func BenchmarkIdleRSS(b *testing.B) {
	env := map[string]string{"DATABASE_URL": storetest.URL(b), "OPSBOT_DATA_DIR": b.TempDir(), "OPSBOT_ADDR": freeAddr(b)}
	var worst float64
	for range b.N {
		p := startOpsbot(b, env, "serve")
		waitReady(b, p, env["OPSBOT_ADDR"], time.Minute)
		time.Sleep(5 * time.Second)
		mb := vmRSS(b, p.cmd.Process.Pid)
		worst = max(worst, mb)
		p.stop(b)
	}
	b.ReportMetric(worst, "MB-rss")
	if worst > 40 {
		b.Logf("idle RSS %.1f MB exceeds the 40 MB target", worst)
	}
}

// vmRSS reads a process's resident set size in MB from /proc.
func vmRSS(tb testing.TB, pid int) float64 {
	tb.Helper()
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmRSS in /proc status")
	return 0
}
