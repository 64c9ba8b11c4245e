package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// Attempts at one delivery racing to commit their effects: exactly one
// commits, as often as it likes; the others roll back with ErrDelivered
// and know they lost.
func TestDeliveryClaimOneEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if _, err := db.RecordDelivery(ctx, domain.PlatformWeChat, "msg:1", `{"Content":"投诉"}`); err != nil {
		t.Fatal(err)
	}
	effect := func(c *domain.DeliveryClaim, n int) error {
		return db.InTx(domain.WithDelivery(ctx, c), func(tx *store.DB) error {
			return tx.SetPolicy(ctx, domain.SLAPolicy{Category: domain.CategoryOther, Reply: time.Duration(n+1) * time.Hour,
				Resolve: 48 * time.Hour, WarnPct: 75, UpdatedBy: c.Attempt})
		})
	}
	claims := make([]*domain.DeliveryClaim, 8)
	errs := make([]error, len(claims))
	var wg sync.WaitGroup
	for i := range claims {
		claims[i] = domain.NewDeliveryClaim(domain.PlatformWeChat, "msg:1")
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = effect(claims[i], i) }()
	}
	wg.Wait()
	var winner *domain.DeliveryClaim
	for i, err := range errs {
		switch {
		case err == nil && winner == nil && !claims[i].Lost():
			winner = claims[i]
		case errors.Is(err, domain.ErrDelivered) && claims[i].Lost():
		default:
			t.Fatalf("attempt %d: %v (lost %v)", i, err, claims[i].Lost())
		}
	}
	if winner == nil {
		t.Fatal("no attempt had the effect")
	}
	ps, err := db.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Category == domain.CategoryOther && p.UpdatedBy != winner.Attempt {
			t.Fatalf("the effect on record is %q's, not the winner's", p.UpdatedBy)
		}
	}
	// The winner may commit again; a fresh attempt may not; work without
	// a claim is not affected.
	if err := effect(winner, 9); err != nil {
		t.Fatalf("the winner's second transaction: %v", err)
	}
	if err := effect(domain.NewDeliveryClaim(domain.PlatformWeChat, "msg:1"), 9); !errors.Is(err, domain.ErrDelivered) {
		t.Fatalf("a later attempt: %v", err)
	}
	if err := db.InTx(ctx, func(*store.DB) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
