package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store/storetest"
)

func TestClaimSlotOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	slot := time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, won, err := db.ClaimSlot(ctx, "digest", slot, "replica")
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won the slot, want 1", wins)
	}
	// The same instant in another zone is the same slot.
	if _, won, _ := db.ClaimSlot(ctx, "digest", slot.UTC(), "other"); won {
		t.Error("the same slot in UTC was claimed again")
	}
	// Another job, or another slot, is free.
	if _, won, _ := db.ClaimSlot(ctx, "sla", slot, "r"); !won {
		t.Error("another job's slot was not claimable")
	}
	if _, won, _ := db.ClaimSlot(ctx, "digest", slot.Add(time.Minute), "r"); !won {
		t.Error("the next slot was not claimable")
	}
	// Manual runs never conflict, and never block the slot.
	for range 2 {
		if _, err := db.StartManualRun(ctx, "digest", slot.Add(2*time.Minute), "cli"); err != nil {
			t.Fatal(err)
		}
	}
	if _, won, _ := db.ClaimSlot(ctx, "digest", slot.Add(2*time.Minute), "r"); !won {
		t.Error("a manual run blocked its slot")
	}
}

func TestFinishRunAndLastRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	slot := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	id1, _, err := db.ClaimSlot(ctx, "a", slot, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, id1, nil); err != nil {
		t.Fatal(err)
	}
	id2, err := db.StartManualRun(ctx, "b", slot, "cli")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, id2, errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	last, err := db.LastRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, b := last["a"], last["b"]
	if a.Error != "" || a.Manual || a.FinishedAt.IsZero() || !a.Slot.Equal(slot) {
		t.Errorf("a = %+v", a)
	}
	if b.Error != "boom" || !b.Manual {
		t.Errorf("b = %+v", b)
	}
}
