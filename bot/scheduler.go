package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is a named piece of scheduled work. Run gets the time it runs for:
// the cron slot, or the --at of a manual run, so that a job behaves as it
// would at that time.
type Job struct {
	Name        string
	Schedule    string // cron spec, five fields, in the scheduler's time zone; "off" for manual runs only
	Description string
	Run         func(ctx context.Context, at time.Time) error
}

// ScheduleOff as a job's schedule registers it for manual runs only.
const ScheduleOff = "off"

// JobStore records job runs; ClaimSlot is what makes a slot run once.
type JobStore interface {
	ClaimSlot(ctx context.Context, job string, slot time.Time, owner string) (int64, bool, error)
	StartManualRun(ctx context.Context, job string, at time.Time, owner string) (int64, error)
	FinishRun(ctx context.Context, id int64, runErr error) error
}

// Scheduler runs jobs on their schedules, once per slot across replicas.
type Scheduler struct {
	store   JobStore
	loc     *time.Location
	owner   string
	log     *slog.Logger
	metrics *Metrics

	cron *cron.Cron
	mu   sync.Mutex
	jobs map[string]*scheduled
	ctx  context.Context
	stop context.CancelFunc
}

type scheduled struct {
	Job
	sched cron.Schedule
	entry cron.EntryID
}

// JobInfo describes a registered job.
type JobInfo struct {
	Name, Schedule, Description string
	Next                        time.Time
}

// NewScheduler returns a scheduler whose schedules are read in loc. owner
// names this process in job_runs (host and pid).
func NewScheduler(store JobStore, loc *time.Location, owner string, log *slog.Logger, m *Metrics) *Scheduler {
	if m == nil {
		m = NewMetrics(nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		store: store, loc: loc, owner: owner, log: log, metrics: m,
		cron: cron.New(cron.WithLocation(loc)),
		jobs: map[string]*scheduled{}, ctx: ctx, stop: cancel,
	}
}

// Add registers a job. Its schedule is checked at once.
func (s *Scheduler) Add(j Job) error {
	var sched cron.Schedule
	if j.Schedule != ScheduleOff {
		var err error
		if sched, err = cron.ParseStandard(j.Schedule); err != nil {
			return fmt.Errorf("bot: job %s: schedule %q: %w", j.Name, j.Schedule, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.jobs[j.Name]; dup {
		return fmt.Errorf("bot: job %s registered twice", j.Name)
	}
	sj := &scheduled{Job: j, sched: sched}
	if sched != nil {
		sj.entry = s.cron.Schedule(sched, cron.FuncJob(func() { s.tick(sj) }))
	}
	s.jobs[j.Name] = sj
	// Export the job's series at zero from the start, so /metrics lists
	// every job and rate() works from the first run.
	s.metrics.JobRuns.WithLabelValues(j.Name)
	s.metrics.JobFailures.WithLabelValues(j.Name)
	return nil
}

// Jobs lists the registered jobs with their next run.
func (s *Scheduler) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now().In(s.loc)
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		info := JobInfo{Name: j.Name, Schedule: j.Schedule, Description: j.Description}
		if j.sched != nil {
			info.Next = j.sched.Next(now)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// Start starts ticking.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops ticking and waits for running jobs, or for ctx.
func (s *Scheduler) Stop(ctx context.Context) {
	done := s.cron.Stop().Done()
	select {
	case <-done:
	case <-ctx.Done():
		s.stop() // tell running jobs to give up
	}
	s.stop()
}

func (s *Scheduler) tick(j *scheduled) {
	// The slot is the minute the tick is for: every replica computes the
	// same one even if its clock fires a little late.
	slot := time.Now().In(s.loc).Truncate(time.Minute)
	if _, err := s.RunSlot(s.ctx, j.Name, slot); err != nil {
		s.log.Error("Scheduled job failed", "job", j.Name, "slot", slot, "err", err)
	}
}

// RunSlot claims the slot of a job and, if this caller won it, runs the
// job. It reports whether it ran. The cron tick calls it.
func (s *Scheduler) RunSlot(ctx context.Context, name string, slot time.Time) (bool, error) {
	j, err := s.job(name)
	if err != nil {
		return false, err
	}
	id, won, err := s.store.ClaimSlot(ctx, name, slot, s.owner)
	if err != nil || !won {
		return false, err
	}
	return true, s.run(ctx, j, id, slot)
}

// RunManual runs a job now, as if the time were at, through the same code
// as the cron tick, and records the run.
func (s *Scheduler) RunManual(ctx context.Context, name string, at time.Time) error {
	j, err := s.job(name)
	if err != nil {
		return err
	}
	id, err := s.store.StartManualRun(ctx, name, at, s.owner)
	if err != nil {
		return err
	}
	return s.run(ctx, j, id, at)
}

func (s *Scheduler) job(name string) (*scheduled, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[name]
	if !ok {
		names := make([]string, 0, len(s.jobs))
		for n := range s.jobs {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("no job named %q (jobs: %v)", name, names)
	}
	return j, nil
}

func (s *Scheduler) run(ctx context.Context, j *scheduled, id int64, at time.Time) (err error) {
	start := time.Now()
	s.metrics.JobRuns.WithLabelValues(j.Name).Inc()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v", j.Name, p)
			s.log.Error("Job panicked", "job", j.Name, "stack", string(debug.Stack()))
		}
		s.metrics.JobDuration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
		if err != nil {
			s.metrics.JobFailures.WithLabelValues(j.Name).Inc()
		}
		if ferr := s.store.FinishRun(context.WithoutCancel(ctx), id, err); ferr != nil {
			s.log.Error("Could not record job run", "job", j.Name, "err", ferr)
		}
		s.log.Info("Job ran", "job", j.Name, "at", at.In(s.loc).Format(time.RFC3339),
			"duration_ms", time.Since(start).Milliseconds(), "ok", err == nil)
	}()
	return j.Run(ctx, at.In(s.loc))
}
