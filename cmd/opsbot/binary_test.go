package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the opsbot binary built once for the tests that run it as a
// separate process (the kill test, the restart benchmarks).
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// opsbotBinary builds ./cmd/opsbot once per test process.
func opsbotBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "opsbot-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "opsbot")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if binErr != nil {
		tb.Fatal(binErr)
	}
	return binPath
}

// process is a running opsbot binary.
type process struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
	err  error
}

// startOpsbot runs the binary with exactly env (plus PATH and HOME).
func startOpsbot(tb testing.TB, env map[string]string, args ...string) *process {
	tb.Helper()
	cmd := exec.Command(opsbotBinary(tb), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	tb.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *process) stop(tb testing.TB) {
	tb.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			tb.Errorf("opsbot exited with %v after SIGTERM\n%s", p.err, p.logs.String())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		tb.Errorf("opsbot did not stop within 30s of SIGTERM\n%s", p.logs.String())
	}
}

// exited reports whether the process is gone.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// freeAddr returns a local address nothing listens on.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitReady polls /readyz until it answers 200, and returns when it did.
func waitReady(tb testing.TB, p *process, addr string, limit time.Duration) time.Time {
	tb.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Now()
			}
		}
		if p.exited() {
			tb.Fatalf("opsbot exited before it was ready: %v\n%s", p.err, p.logs.String())
		}
		if time.Now().After(deadline) {
			tb.Fatalf("opsbot not ready after %v\n%s", limit, p.logs.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}
