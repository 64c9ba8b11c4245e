package handlers

import (
	"context"
	"sync"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
)

// Events carries effects from one feature to another: a resolved complaint
// schedules a survey, an ingested order.completed event schedules one too.
// A feature emits inside the transaction that records the change (tx), and
// every listener writes through tx, so the change and its consequences
// commit or roll back together. Listeners must be quick: they run while the
// emitter's transaction is open.
type Events struct {
	mu                sync.RWMutex
	complaintResolved []func(ctx context.Context, tx *store.DB, c domain.Complaint) error
	order             []func(ctx context.Context, tx *store.DB, e domain.OrderEvent) error
}

// OnComplaintResolved subscribes fn to complaints being resolved.
func (ev *Events) OnComplaintResolved(fn func(ctx context.Context, tx *store.DB, c domain.Complaint) error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.complaintResolved = append(ev.complaintResolved, fn)
}

// ComplaintResolved tells every subscriber, in tx, that c was resolved.
func (ev *Events) ComplaintResolved(ctx context.Context, tx *store.DB, c domain.Complaint) error {
	if ev == nil {
		return nil
	}
	ev.mu.RLock()
	defer ev.mu.RUnlock()
	for _, fn := range ev.complaintResolved {
		if err := fn(ctx, tx, c); err != nil {
			return err
		}
	}
	return nil
}

// OnOrder subscribes fn to order events as they are accepted (not to
// duplicates).
func (ev *Events) OnOrder(fn func(ctx context.Context, tx *store.DB, e domain.OrderEvent) error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.order = append(ev.order, fn)
}

// Order tells every subscriber, in tx, that e was accepted.
func (ev *Events) Order(ctx context.Context, tx *store.DB, e domain.OrderEvent) error {
	if ev == nil {
		return nil
	}
	ev.mu.RLock()
	defer ev.mu.RUnlock()
	for _, fn := range ev.order {
		if err := fn(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}
