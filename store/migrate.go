package store

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/opsbot/opsbot/migrations"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// provider returns the goose provider, built once per DB: /readyz asks it
// on every probe.
func (db *DB) provider() (*goose.Provider, error) {
	db.mig.once.Do(func() { db.mig.prov, db.mig.err = db.newProvider() })
	return db.mig.prov, db.mig.err
}

func (db *DB) newProvider() (*goose.Provider, error) {
	// Poll the lock every second (goose's default is every five), so a
	// replica that starts while another migrates waits one second, not five.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("store: migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.pool.DB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration under goose's Postgres advisory
// lock, so replicas starting together migrate once. It returns how many
// migrations it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.provider()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("store: migrate: %w", err)
	}
	return len(res), nil
}

// MigrationStatus lists every known migration.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.provider()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migration status: %w", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		out = append(out, MigrationStatus{
			Version: s.Source.Version,
			Name:    s.Source.Path,
			Applied: s.State == goose.StateApplied,
		})
	}
	return out, nil
}

// MigrationsPending reports whether some migration is not applied yet;
// /readyz uses it. It takes no lock, so it never waits on a migrating peer.
func (db *DB) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := db.provider()
	if err != nil {
		return false, err
	}
	has, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("store: pending migrations: %w", err)
	}
	return has, nil
}
