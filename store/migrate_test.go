package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

func openEmpty(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), storetest.EmptyURL(t), store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateEmptyDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openEmpty(t)

	pending, err := db.MigrationsPending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !pending {
		t.Fatal("MigrationsPending on an empty database = false, want true")
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("Migrate applied nothing on an empty database")
	}
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != n {
		t.Errorf("MigrationStatus lists %d migrations, Migrate applied %d", len(st), n)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d %s not applied", s.Version, s.Name)
		}
		if s.Version <= 0 || s.Name == "" {
			t.Errorf("migration status %+v lacks a version or name", s)
		}
	}
	if pending, err := db.MigrationsPending(ctx); err != nil || pending {
		t.Fatalf("MigrationsPending after Migrate = %v, %v; want false", pending, err)
	}
	// The core tables exist and work.
	if _, err := db.ListStaff(ctx); err != nil {
		t.Fatalf("staff table after migrating: %v", err)
	}

	// Twice is a no-op.
	n, err = db.Migrate(ctx)
	if err != nil || n != 0 {
		t.Fatalf("second Migrate = %d, %v; want 0, nil", n, err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.EmptyURL(t)
	const replicas = 3
	var (
		wg      sync.WaitGroup
		applied [replicas]int
		errs    [replicas]error
	)
	for i := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 4})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
		}
		total += applied[i]
	}
	db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(st) {
		t.Errorf("replicas applied %d migrations in all (%v), want each of the %d once", total, applied, len(st))
	}
	if pending, err := db.MigrationsPending(ctx); err != nil || pending {
		t.Fatalf("MigrationsPending = %v, %v; want false", pending, err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"mysql://x@y/z", "host=localhost dbname=x", ""} {
		if _, err := store.Open(context.Background(), u, store.Options{}); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}
