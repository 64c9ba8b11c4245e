package handlers

import (
	"context"
	"errors"
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
	openCase          func(ctx context.Context, tx *store.DB, c domain.Complaint) (domain.Complaint, error)
}

// HandleOpenCase makes fn the one that opens cases on the complaint desk
// for other features (a low survey score becomes a follow-up case): fn
// files c in tx and announces it as the desk announces its complaints.
func (ev *Events) HandleOpenCase(fn func(ctx context.Context, tx *store.DB, c domain.Complaint) (domain.Complaint, error)) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.openCase = fn
}

// OpenCase asks the complaint desk, in tx, to open c; it returns the
// case as filed (with its number and due times). It fails when no desk
// handles cases.
func (ev *Events) OpenCase(ctx context.Context, tx *store.DB, c domain.Complaint) (domain.Complaint, error) {
	if ev == nil {
		return c, errors.New("handlers: no complaint desk to open a case on")
	}
	ev.mu.RLock()
	fn := ev.openCase
	ev.mu.RUnlock()
	if fn == nil {
		return c, errors.New("handlers: no complaint desk to open a case on")
	}
	return fn(ctx, tx, c)
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
