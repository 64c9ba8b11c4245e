package store

import (
	"context"
	"database/sql"
	"time"
)

// ClaimSlot claims a scheduled run of job at slot for owner. Exactly one
// caller gets true for each (job, slot), however many replicas ask; the
// others get false and skip the run. It returns the run's ID.
func (db *DB) ClaimSlot(ctx context.Context, job string, slot time.Time, owner string) (int64, bool, error) {
	const q = `INSERT INTO job_runs (job, slot, owner) VALUES ($1, $2, $3)
		ON CONFLICT (job, slot) WHERE NOT manual DO NOTHING RETURNING id`
	var id int64
	err := db.x.GetContext(ctx, &id, q, job, slot.UTC(), owner)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, wrap("claim slot", err)
	}
	return id, true, nil
}

// StartManualRun records a run asked for by hand; it never conflicts.
func (db *DB) StartManualRun(ctx context.Context, job string, at time.Time, owner string) (int64, error) {
	const q = `INSERT INTO job_runs (job, slot, manual, owner) VALUES ($1, $2, true, $3) RETURNING id`
	var id int64
	if err := db.x.GetContext(ctx, &id, q, job, at.UTC(), owner); err != nil {
		return 0, wrap("start manual run", err)
	}
	return id, nil
}

// FinishRun records how a run ended.
func (db *DB) FinishRun(ctx context.Context, id int64, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	const q = `UPDATE job_runs SET finished_at = now(), error = $2 WHERE id = $1`
	_, err := db.x.ExecContext(ctx, q, id, msg)
	return wrap("finish run", err)
}

// JobRun is the latest run of a job.
type JobRun struct {
	Job        string
	Slot       time.Time
	Manual     bool
	StartedAt  time.Time
	FinishedAt time.Time
	Error      string
}

// LastRuns returns each job's most recent run.
func (db *DB) LastRuns(ctx context.Context) (map[string]JobRun, error) {
	const q = `SELECT DISTINCT ON (job) job, slot, manual, started_at, finished_at, error
		FROM job_runs ORDER BY job, started_at DESC`
	var rows []struct {
		Job        string       `db:"job"`
		Slot       time.Time    `db:"slot"`
		Manual     bool         `db:"manual"`
		StartedAt  time.Time    `db:"started_at"`
		FinishedAt sql.NullTime `db:"finished_at"`
		Error      string       `db:"error"`
	}
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("last runs", err)
	}
	out := make(map[string]JobRun, len(rows))
	for _, r := range rows {
		out[r.Job] = JobRun{Job: r.Job, Slot: r.Slot, Manual: r.Manual, StartedAt: r.StartedAt,
			FinishedAt: r.FinishedAt.Time, Error: r.Error}
	}
	return out, nil
}
