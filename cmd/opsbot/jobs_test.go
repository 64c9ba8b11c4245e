package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store"
)

func TestJobsRunAtTheFutureNeedsDryRun(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, nil)
	runOK(t, getenv, "投诉 订单20261111001 杯子碎了\n", "chat", "--as", "customer:oFuture")
	db, err := store.Open(context.Background(), getenv("DATABASE_URL"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counts := func() string {
		var out struct{ Outbox, Runs, Events int }
		q := `SELECT (SELECT count(*) FROM outbox) AS outbox, (SELECT count(*) FROM job_runs) AS runs,
			(SELECT count(*) FROM complaint_events) AS events`
		if err := db.SQL().QueryRow(q).Scan(&out.Outbox, &out.Runs, &out.Events); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d/%d/%d", out.Outbox, out.Runs, out.Events)
	}
	before := counts()
	future := time.Now().Add(72 * time.Hour).Format(time.RFC3339)

	err = runErr(t, getenv, "jobs", "run", "sla-sweep", "--at", future)
	if err == nil || !strings.Contains(err.Error(), "in the future") || !strings.Contains(err.Error(), "--dry-run") {
		t.Errorf("future --at without --dry-run: %v", err)
	}
	if got := counts(); got != before {
		t.Errorf("a refused run changed outbox/runs/events: %s → %s", before, got)
	}

	out := runOK(t, getenv, "", "jobs", "run", "sla-sweep", "--at", future, "--dry-run")
	for _, want := range []string{"dry run of sla-sweep", "nothing was written", "→ slack", "breach"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if got := counts(); got != before {
		t.Errorf("a dry run changed outbox/runs/events: %s → %s", before, got)
	}
	// A real run now still finds the warnings unused.
	if out := runOK(t, getenv, "", "jobs", "run", "sla-sweep", "--dry-run"); !strings.Contains(out, "0 message(s)") {
		t.Errorf("dry run now (nothing due yet):\n%s", out)
	}
}

func TestJobSchedulesFromTheEnvironment(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, map[string]string{"OPSBOT_SCHEDULE_SLA_SWEEP": "*/5 * * * *", "OPSBOT_SCHEDULE_COMPLAINT_REPORT": "off"})
	out := runOK(t, getenv, "", "jobs", "list")
	for _, want := range []string{"sla-sweep            */5 * * * *", "complaint-report     off"} {
		if !strings.Contains(out, want) {
			t.Errorf("jobs list lacks %q:\n%s", want, out)
		}
	}
	bad := testEnv(t, map[string]string{"OPSBOT_SCHEDULE_SLA_SWEEP": "every minute"})
	if err := runErr(t, bad, "jobs", "list"); !strings.Contains(err.Error(), "OPSBOT_SCHEDULE_SLA_SWEEP") {
		t.Errorf("bad schedule: %v", err)
	}
}
