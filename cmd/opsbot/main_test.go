package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// runOK runs opsbot with args and stdin, and returns its output.
func runOK(t *testing.T, getenv func(string) string, stdin string, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	if err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errs); err != nil {
		t.Fatalf("opsbot %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errs.String())
	}
	return out.String()
}

func runErr(t *testing.T, getenv func(string) string, args ...string) error {
	t.Helper()
	err := run(context.Background(), args, getenv, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil {
		t.Fatalf("opsbot %s succeeded", strings.Join(args, " "))
	}
	return err
}

func TestChat(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, nil)

	out := runOK(t, getenv, "help\n", "chat")
	for _, want := range []string{"What I can do", "`help [command or group]`", "`staff list`", "`staff add <user> <agent|manager|admin>`", "`outbox failed [N]`"} {
		if !strings.Contains(out, want) {
			t.Errorf("chat help lacks %q:\n%s", want, out)
		}
	}

	out = runOK(t, getenv, "帮助\n快递到哪了\n", "chat", "--as", "customer:oABC")
	if !strings.Contains(out, "回复「帮助」可随时查看本菜单") || !strings.Contains(out, "抱歉，我没有理解您的意思。") {
		t.Errorf("customer chat:\n%s", out)
	}

	out = runOK(t, getenv, "help\nstaff list\nstaff add bob admin\n", "chat", "--as", "agent:alice")
	if !strings.Contains(out, "`staff list`") || strings.Contains(out, "`staff add <user>") {
		t.Errorf("agent help:\n%s", out)
	}
	if !strings.Contains(out, "alice — agent") || !strings.Contains(out, "local — admin") {
		t.Errorf("agent staff list (alice and the earlier local admin):\n%s", out)
	}
	if !strings.Contains(out, "needs the admin role") {
		t.Errorf("agent staff add:\n%s", out)
	}

	// /as switches identity mid-conversation.
	out = runOK(t, getenv, "/as manager:mia\nstaff list\n", "chat")
	if !strings.Contains(out, "You are now manager:mia.") || !strings.Contains(out, "mia — manager") {
		t.Errorf("/as:\n%s", out)
	}

	for _, as := range []string{"boss:x", "alice", "customer:"} {
		if err := runErr(t, getenv, "chat", "--as", as); !strings.Contains(err.Error(), "--as") {
			t.Errorf("--as %s: %v", as, err)
		}
	}
}

func TestJobsCommand(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, nil)
	out := runOK(t, getenv, "", "jobs", "list")
	if !strings.Contains(out, "NAME") || !strings.Contains(out, "prune-deliveries") || !strings.Contains(out, "17 4 * * *") ||
		!strings.Contains(out, "never") {
		t.Errorf("jobs list:\n%s", out)
	}
	// The next run is shown in OPSBOT_TIMEZONE: 04:17.
	if !strings.Contains(out, " 04:17 ") {
		t.Errorf("jobs list next run not at 04:17 Asia/Shanghai:\n%s", out)
	}

	out = runOK(t, getenv, "", "jobs", "run", "prune-deliveries", "--at", "2026-11-22T09:00:00+08:00")
	if strings.TrimSpace(out) != "ran prune-deliveries at 2026-11-22T09:00:00+08:00" {
		t.Errorf("jobs run: %q", out)
	}
	// --at is shown in OPSBOT_TIMEZONE whatever zone it was given in.
	out = runOK(t, getenv, "", "jobs", "run", "prune-deliveries", "--at", "2026-11-22T01:00:00Z")
	if strings.TrimSpace(out) != "ran prune-deliveries at 2026-11-22T09:00:00+08:00" {
		t.Errorf("jobs run --at UTC: %q", out)
	}
	if out := runOK(t, getenv, "", "jobs", "run", "prune-deliveries"); !strings.HasPrefix(out, "ran prune-deliveries at ") {
		t.Errorf("jobs run now: %q", out)
	}
	if out := runOK(t, getenv, "", "jobs", "list"); strings.Contains(out, "never") && strings.Count(out, "\n") == 2 {
		t.Errorf("jobs list after a run still says never:\n%s", out)
	}

	if err := runErr(t, getenv, "jobs", "run", "nope"); !strings.Contains(err.Error(), `no job named "nope"`) ||
		!strings.Contains(err.Error(), "prune-deliveries") {
		t.Errorf("unknown job: %v", err)
	}
	if err := runErr(t, getenv, "jobs", "run", "prune-deliveries", "--at", "tomorrow"); !strings.Contains(err.Error(), "RFC3339") {
		t.Errorf("bad --at: %v", err)
	}
	for _, args := range [][]string{{"jobs"}, {"jobs", "explode"}, {"jobs", "run"}} {
		if err := runErr(t, getenv, args...); !strings.Contains(err.Error(), "usage: opsbot jobs") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, nil)
	if out := runOK(t, getenv, "", "migrate"); !strings.Contains(out, "applied 0 migration(s); the database is up to date") {
		t.Errorf("migrate: %q", out)
	}
	out := runOK(t, getenv, "", "migrate", "status")
	if !strings.Contains(out, "00001  applied  00001_core.sql") || strings.Contains(out, "pending") {
		t.Errorf("migrate status:\n%s", out)
	}
	if err := runErr(t, getenv, "migrate", "down"); !strings.Contains(err.Error(), "usage: opsbot migrate") {
		t.Errorf("migrate down: %v", err)
	}
}

func TestVersionHelpAndErrors(t *testing.T) {
	t.Parallel()
	noenv := func(string) string { return "" }
	if out := runOK(t, noenv, "", "version"); !strings.HasPrefix(out, "opsbot ") {
		t.Errorf("version: %q", out)
	}
	if out := runOK(t, noenv, "", "help"); !strings.Contains(out, "usage: opsbot") || !strings.Contains(out, "jobs run NAME") {
		t.Errorf("help: %q", out)
	}
	if err := runErr(t, noenv, "frobnicate"); !strings.Contains(err.Error(), `unknown command "frobnicate"`) ||
		!strings.Contains(err.Error(), "usage: opsbot") {
		t.Errorf("unknown command: %v", err)
	}
	// A wrong value stops every subcommand, naming the variable.
	bad := func(k string) string {
		if k == "OPSBOT_TIMEZONE" {
			return "Atlantis/Capital"
		}
		return ""
	}
	for _, cmd := range []string{"serve", "migrate", "chat", "jobs", "wechat"} {
		if err := runErr(t, bad, cmd); !strings.Contains(err.Error(), "OPSBOT_TIMEZONE") {
			t.Errorf("%s with a bad zone: %v", cmd, err)
		}
	}
}
