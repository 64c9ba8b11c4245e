package bot_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestTwoSchedulersRunASlotOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	var runs atomic.Int32
	job := bot.Job{Name: "digest", Schedule: "0 9 * * *", Run: func(context.Context, time.Time) error {
		runs.Add(1)
		return nil
	}}
	var scheds []*bot.Scheduler
	for i := range 2 {
		db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 8})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s := bot.NewScheduler(db, shanghai, fmt.Sprint("replica-", i), slog.New(slog.DiscardHandler), nil)
		if err := s.Add(job); err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	for day := range 5 {
		slot := time.Date(2026, 11, 20+day, 9, 0, 0, 0, shanghai)
		runs.Store(0)
		var (
			wg  sync.WaitGroup
			won atomic.Int32
		)
		for i := range 8 { // each replica ticks several times, as clocks drift
			wg.Add(1)
			go func() {
				defer wg.Done()
				ran, err := scheds[i%2].RunSlot(ctx, "digest", slot)
				if err != nil {
					t.Error(err)
				}
				if ran {
					won.Add(1)
				}
			}()
		}
		wg.Wait()
		if runs.Load() != 1 || won.Load() != 1 {
			t.Errorf("slot %v ran %d times (%d reported running), want once", slot, runs.Load(), won.Load())
		}
	}
}

func newScheduler(t *testing.T) (*bot.Scheduler, *store.DB, *bot.Metrics, *syncBuffer) {
	t.Helper()
	db := storetest.New(t)
	log := &syncBuffer{}
	m := bot.NewMetrics(prometheus.NewRegistry())
	return bot.NewScheduler(db, shanghai, "test", slog.New(slog.NewTextHandler(log, nil)), m), db, m, log
}

func TestManualRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db, m, _ := newScheduler(t)
	var got []time.Time
	if err := s.Add(bot.Job{Name: "digest", Schedule: "0 9 * * *", Run: func(_ context.Context, at time.Time) error {
		got = append(got, at)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	for range 2 {
		if err := s.RunManual(ctx, "digest", at); err != nil {
			t.Fatal(err)
		}
	}
	// A manual run does not take the scheduled slot.
	if ran, err := s.RunSlot(ctx, "digest", at); err != nil || !ran {
		t.Errorf("scheduled run after manual ones: ran=%v err=%v", ran, err)
	}
	if len(got) != 3 {
		t.Fatalf("ran %d times, want 3", len(got))
	}
	if !got[0].Equal(at) || got[0].Location() != shanghai || got[0].Hour() != 9 {
		t.Errorf("the job saw %v, want %v in Asia/Shanghai", got[0], at)
	}
	last, err := db.LastRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := last["digest"]; r.FinishedAt.IsZero() || r.Error != "" || !r.Slot.Equal(at) {
		t.Errorf("last run = %+v", r)
	}
	if n := counter(m.JobRuns.WithLabelValues("digest")); n != 3 {
		t.Errorf("job runs metric = %v", n)
	}
}

func TestFailingAndPanickingJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, db, m, log := newScheduler(t)
	for _, j := range []bot.Job{
		{Name: "fails", Schedule: "*/5 * * * *", Run: func(context.Context, time.Time) error { return errors.New("upstream down") }},
		{Name: "panics", Schedule: "*/5 * * * *", Run: func(context.Context, time.Time) error { panic("nil map") }},
	} {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	slot := time.Date(2026, 11, 22, 9, 5, 0, 0, shanghai)
	if ran, err := s.RunSlot(ctx, "fails", slot); !ran || err == nil || !strings.Contains(err.Error(), "upstream down") {
		t.Errorf("failing job: ran=%v err=%v", ran, err)
	}
	if ran, err := s.RunSlot(ctx, "panics", slot); !ran || err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panicking job: ran=%v err=%v", ran, err)
	}
	if err := s.RunManual(ctx, "panics", slot); err == nil {
		t.Error("a manual run of a panicking job reported no error")
	}
	for _, name := range []string{"fails", "panics"} {
		if runs, fails := counter(m.JobRuns.WithLabelValues(name)), counter(m.JobFailures.WithLabelValues(name)); runs == 0 || runs != fails {
			t.Errorf("%s: runs %v failures %v", name, runs, fails)
		}
	}
	if n := counter(m.JobFailures.WithLabelValues("panics")); n != 2 {
		t.Errorf("panics failures = %v", n)
	}
	last, _ := db.LastRuns(ctx)
	if !strings.Contains(last["fails"].Error, "upstream down") || !strings.Contains(last["panics"].Error, "nil map") {
		t.Errorf("recorded errors: %q, %q", last["fails"].Error, last["panics"].Error)
	}
	if logs := log.String(); !strings.Contains(logs, "Job panicked") || !strings.Contains(logs, "job=fails") {
		t.Errorf("logs:\n%s", logs)
	}
}

func TestSchedulerJobs(t *testing.T) {
	t.Parallel()
	s, _, _, _ := newScheduler(t)
	for _, j := range []bot.Job{
		{Name: "morning", Schedule: "0 9 * * *", Description: "Morning digest."},
		{Name: "hourly", Schedule: "0 * * * *"},
	} {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add(bot.Job{Name: "bad", Schedule: "every day"}); err == nil || !strings.Contains(err.Error(), "every day") {
		t.Errorf("bad schedule: %v", err)
	}
	if err := s.Add(bot.Job{Name: "hourly", Schedule: "0 * * * *"}); err == nil {
		t.Error("a job registered twice")
	}
	jobs := s.Jobs()
	if len(jobs) != 2 || jobs[0].Name != "hourly" || jobs[1].Name != "morning" || jobs[1].Description != "Morning digest." {
		t.Fatalf("Jobs = %+v", jobs)
	}
	next := jobs[1].Next
	if next.Location() != shanghai || next.Hour() != 9 || next.Minute() != 0 || next.UTC().Hour() != 1 {
		t.Errorf("next morning run %v, want 09:00 Asia/Shanghai (01:00 UTC)", next)
	}
	if !next.After(time.Now()) || next.After(time.Now().Add(24*time.Hour)) {
		t.Errorf("next morning run %v is not within a day", next)
	}
	if _, err := s.RunSlot(context.Background(), "nope", time.Now()); err == nil || !strings.Contains(err.Error(), "hourly") {
		t.Errorf("unknown job: %v", err)
	}
	if err := s.RunManual(context.Background(), "nope", time.Now()); err == nil {
		t.Error("manual run of an unknown job succeeded")
	}
}

func TestSchedulerExportsJobMetricsBeforeRuns(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := bot.NewScheduler(nil, shanghai, "test", slog.New(slog.DiscardHandler), bot.NewMetrics(reg))
	if err := s.Add(bot.Job{Name: "prune", Schedule: "17 4 * * *"}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "job" && l.GetValue() == "prune" {
					found[mf.GetName()] = true
				}
			}
		}
	}
	for _, name := range []string{"opsbot_job_runs_total", "opsbot_job_failures_total"} {
		if !found[name] {
			t.Errorf("%s{job=prune} not exported before the first run", name)
		}
	}
}

func TestSchedulerStartStop(t *testing.T) {
	t.Parallel()
	s, _, _, _ := newScheduler(t)
	if err := s.Add(bot.Job{Name: "x", Schedule: "* * * * *", Run: func(context.Context, time.Time) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Stop(ctx)
	if ctx.Err() != nil {
		t.Error("Stop waited for its deadline with no job running")
	}
}
