package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store/storetest"
)

// TestSubcommandsPrintAShortStartLine: the whole configuration is logged
// by serve only.
func TestSubcommandsPrintAShortStartLine(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, map[string]string{"OPSBOT_COMPLAINTS_PER_DAY": "3"})
	var out, logs bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "status"}, getenv, strings.NewReader(""), &out, &logs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="opsbot migrate"`) || strings.Contains(logs.String(), "config.") {
		t.Errorf("migrate logged:\n%s", logs.String())
	}
	if cfg, err := loadConfig(getenv); err != nil || cfg.ComplaintsPerDay != 3 {
		t.Errorf("OPSBOT_COMPLAINTS_PER_DAY: %d, %v", cfg.ComplaintsPerDay, err)
	}
}

// TestChatStopsOnSignalWhileWaiting: `opsbot chat` waiting for a line
// stops on SIGTERM and on Ctrl-C (SIGINT).
func TestChatStopsOnSignalWhileWaiting(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		cmd := exec.Command(opsbotBinary(t), "chat")
		cmd.Env = []string{"DATABASE_URL=" + storetest.URL(t), "OPSBOT_DATA_DIR=" + t.TempDir(), "HOME=" + t.TempDir()}
		stdin, err := cmd.StdinPipe() // open, and never written to
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var out lockedBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		time.Sleep(1500 * time.Millisecond) // migrated and waiting for input
		_ = cmd.Process.Signal(sig)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%v: exited with %v\n%s", sig, err, out.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%v: opsbot chat kept waiting for input\n%s", sig, out.String())
		}
	}
}

// TestChatEndsWhenItsOutputCloses: `opsbot chat | head -1` must not leave
// opsbot (and the database it started) behind, nor die without cleaning
// up: it ends with an error once nobody reads its output.
func TestChatEndsWhenItsOutputCloses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Parallel()
	cmd := exec.Command(opsbotBinary(t), "chat")
	cmd.Env = []string{"DATABASE_URL=" + storetest.URL(t), "OPSBOT_DATA_DIR=" + t.TempDir(), "HOME=" + t.TempDir()}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stdout.Close() // the reader is gone
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	go func() {
		for i := 0; i < 50; i++ {
			if _, err := io.WriteString(stdin, "help\n"); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	select {
	case err := <-done:
		// It ends by itself, through its own error path (exit status 1),
		// not killed by SIGPIPE.
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 1 || !strings.Contains(logs.String(), "output closed") {
			t.Errorf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("opsbot chat kept running with its output closed\n%s", logs.String())
	}
}
