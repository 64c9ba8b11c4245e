package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestFirstDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := db.FirstDelivery(ctx, domain.PlatformSlack, "Ev1")
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
			}
		}()
	}
	wg.Wait()
	if firsts.Load() != 1 {
		t.Fatalf("%d callers saw the first delivery, want 1", firsts.Load())
	}
	// Keys are per platform.
	if first, _ := db.FirstDelivery(ctx, domain.PlatformWeChat, "Ev1"); !first {
		t.Error("the same key on another platform was not new")
	}

	if _, ok, err := db.Response(ctx, domain.PlatformSlack, "Ev1"); err != nil || ok {
		t.Errorf("Response before SaveResponse = %v, %v", ok, err)
	}
	if err := db.SaveResponse(ctx, domain.PlatformSlack, "Ev1", "hello"); err != nil {
		t.Fatal(err)
	}
	if r, ok, err := db.Response(ctx, domain.PlatformSlack, "Ev1"); err != nil || !ok || r != "hello" {
		t.Errorf("Response = %q, %v, %v", r, ok, err)
	}
	if _, _, err := db.Response(ctx, domain.PlatformSlack, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Response(unknown) = %v", err)
	}

	if n, err := db.PruneDeliveries(ctx, time.Hour); err != nil || n != 0 {
		t.Errorf("PruneDeliveries(1h) = %d, %v; want nothing pruned", n, err)
	}
	time.Sleep(10 * time.Millisecond)
	if n, err := db.PruneDeliveries(ctx, time.Millisecond); err != nil || n != 2 {
		t.Errorf("PruneDeliveries(1ms) = %d, %v; want 2", n, err)
	}
	if first, _ := db.FirstDelivery(ctx, domain.PlatformSlack, "Ev1"); !first {
		t.Error("a pruned key was not new again")
	}
}
