package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// OutboxStore is what the dispatcher needs from the database.
type OutboxStore interface {
	ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]domain.OutboxItem, error)
	MarkSent(ctx context.Context, it domain.OutboxItem, d domain.Delivery) error
	RetryOutbox(ctx context.Context, id int64, at time.Time, reason string) error
	DeferRecipient(ctx context.Context, platform domain.Platform, to string, until time.Time) error
	FailOutbox(ctx context.Context, id int64, reason string) error
	MarkUnreachable(ctx context.Context, id int64, reason string) error
}

// Sender delivers outgoing messages to one platform. It returns a
// *domain.SendError to say whether a failure is worth retrying; any other
// error counts as transient.
type Sender interface {
	Send(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error)
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error)

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	return f(ctx, it)
}

// Dispatcher delivers the outbox. See doc.go for why it is safe to run
// several at once and to kill one at any moment.
type Dispatcher struct {
	Store   OutboxStore
	Senders map[domain.Platform]Sender
	// Fallback delivers for platforms with no Sender (no credentials):
	// the log, or the terminal.
	Fallback Sender
	Log      *slog.Logger
	Metrics  *Metrics

	// Workers is how many recipients are sent to at once; each recipient's
	// messages go out one after another, in order. Default 16.
	Workers     int
	Batch       int           // messages claimed at once; default 16 per worker
	Lease       time.Duration // how long a claim lasts; default 30s
	Poll        time.Duration // idle wait between polls; default 1s
	MaxAttempts int           // transient failures before giving up; default 10
	SendTimeout time.Duration // one delivery attempt; default 15s

	once sync.Once
	wake chan struct{}
}

// DefaultWorkers is how many recipients a dispatcher sends to at once
// unless told otherwise (OPSBOT_DISPATCH_WORKERS).
const DefaultWorkers = 32

func (d *Dispatcher) init() {
	d.once.Do(func() {
		d.wake = make(chan struct{}, 1)
		if d.Workers <= 0 {
			d.Workers = DefaultWorkers
		}
		if d.Batch <= 0 {
			d.Batch = max(20, 16*d.Workers)
		}
		if d.Lease <= 0 {
			// Messages claimed by a dispatcher that died wait this long.
			d.Lease = 30 * time.Second
		}
		if d.Poll <= 0 {
			d.Poll = time.Second
		}
		if d.MaxAttempts <= 0 {
			d.MaxAttempts = 10
		}
		if d.SendTimeout <= 0 {
			d.SendTimeout = 15 * time.Second
		}
		if d.Metrics == nil {
			d.Metrics = NewMetrics(nil)
		}
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Wake makes a sleeping dispatcher poll now: call it after enqueueing.
func (d *Dispatcher) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx is cancelled. On cancellation it finishes the
// message it is sending, hands the rest of its batch back and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.init()
	for ctx.Err() == nil {
		n, err := d.DeliverBatch(ctx)
		if err != nil && ctx.Err() == nil {
			d.Log.Error("Outbox delivery failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-time.After(d.Poll):
		}
	}
}

// DeliverBatch claims one batch of due messages and delivers them: the
// messages of different recipients concurrently (Workers at a time), those
// of one recipient one after another in the order they were enqueued. It
// returns how many it claimed.
func (d *Dispatcher) DeliverBatch(ctx context.Context) (int, error) {
	d.init()
	claimed := time.Now()
	items, err := d.Store.ClaimOutbox(ctx, d.Batch, d.Lease)
	if err != nil {
		return 0, err
	}
	b := &batch{
		d: d, ctx: ctx,
		// Stop starting sends while the last one can still finish within
		// the lease; after it, another dispatcher may claim the rest.
		deadline: claimed.Add(d.Lease - min(d.SendTimeout, d.Lease/2)),
		// Store updates must land even while shutting down.
		bg:     context.WithoutCancel(ctx),
		landed: map[string]domain.Delivery{},
	}
	queues := byRecipient(items)
	work := make(chan []domain.OutboxItem)
	var wg sync.WaitGroup
	for range min(d.Workers, len(queues)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range work {
				b.deliverQueue(q)
			}
		}()
	}
	for _, q := range queues {
		work <- q
	}
	close(work)
	wg.Wait()
	return len(items), nil
}

// byRecipient splits claimed messages (oldest first) into one queue per
// recipient, keeping their order; queues come in the order of their oldest
// message.
func byRecipient(items []domain.OutboxItem) [][]domain.OutboxItem {
	idx := map[string]int{}
	var queues [][]domain.OutboxItem
	for _, it := range items {
		key := string(it.Platform) + "\x00" + it.To
		i, ok := idx[key]
		if !ok {
			i = len(queues)
			idx[key] = i
			queues = append(queues, nil)
		}
		queues[i] = append(queues[i], it)
	}
	return queues
}

// batch is one claimed batch being delivered by several workers.
type batch struct {
	d        *Dispatcher
	ctx, bg  context.Context
	deadline time.Time
	started  atomic.Bool
	// What this batch delivered under a Ref, so that a reply in its
	// thread (or an update) claimed in the same batch goes out now, not
	// after a retry.
	mu     sync.Mutex
	landed map[string]domain.Delivery
}

// deliverQueue sends one recipient's messages in order. A recipient that
// rate-limits us gets no further calls in this batch.
func (b *batch) deliverQueue(q []domain.OutboxItem) {
	var limitedUntil time.Time
	for i, it := range q {
		// The first send of a batch always starts; later ones only while
		// they can finish within the lease.
		first := b.started.CompareAndSwap(false, true)
		if b.ctx.Err() != nil || (!first && time.Now().After(b.deadline)) {
			reason := "handed back at shutdown"
			if b.ctx.Err() == nil {
				reason = "handed back before the lease ran out"
			}
			for _, rest := range q[i:] {
				_ = b.d.Store.RetryOutbox(b.bg, rest.ID, time.Now(), reason)
			}
			return
		}
		if !limitedUntil.IsZero() {
			_ = b.d.Store.RetryOutbox(b.bg, it.ID, limitedUntil, "waiting out a rate limit")
			continue
		}
		b.mu.Lock()
		if it.ThreadRef != "" && it.ThreadTS == "" {
			if del, ok := b.landed[it.ThreadRef]; ok {
				it.ThreadChannel, it.ThreadTS = del.Channel, del.TS
			}
		}
		if it.Kind == domain.OutUpdate && it.RefTS == "" {
			if del, ok := b.landed[it.Ref]; ok {
				it.RefChannel, it.RefTS = del.Channel, del.TS
			}
		}
		b.mu.Unlock()
		res := b.d.deliver(b.bg, it)
		if res.sent && it.Ref != "" && it.Kind != domain.OutUpdate && res.delivery.TS != "" {
			b.mu.Lock()
			b.landed[it.Ref] = res.delivery
			b.mu.Unlock()
		}
		limitedUntil = res.limitedUntil
	}
}

// outcome is what became of one delivery attempt.
type outcome struct {
	sent         bool
	delivery     domain.Delivery
	limitedUntil time.Time // set when the recipient rate-limited us
}

// DeliverAll delivers until nothing is due; for the terminal and tests.
func (d *Dispatcher) DeliverAll(ctx context.Context) error {
	for {
		n, err := d.DeliverBatch(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

func (d *Dispatcher) deliver(ctx context.Context, it domain.OutboxItem) outcome {
	log := d.Log.With("outbox_id", it.ID, "platform", it.Platform, "kind", it.Kind)
	// A reply in a thread, or an update, waits a little for the message it
	// refers to; if that never lands, the reply goes out on its own.
	if (it.ThreadRef != "" && it.ThreadTS == "") || (it.Kind == domain.OutUpdate && it.RefTS == "") {
		if it.Attempts < 5 {
			_ = d.Store.RetryOutbox(ctx, it.ID, time.Now().Add(time.Duration(it.Attempts)*2*time.Second),
				"waiting for the message it refers to")
			return outcome{}
		}
		if it.Kind == domain.OutUpdate {
			d.fail(ctx, log, it, "update target was never delivered")
			return outcome{}
		}
	}
	sender := d.Senders[it.Platform]
	if sender == nil {
		sender = d.Fallback
	}
	if sender == nil {
		d.fail(ctx, log, it, fmt.Sprintf("no sender for platform %q", it.Platform))
		return outcome{}
	}
	sctx, cancel := context.WithTimeout(ctx, d.SendTimeout)
	del, err := safeSend(sctx, sender, it)
	cancel()
	if err == nil {
		if err := d.Store.MarkSent(ctx, it, del); err != nil {
			// The message went out but is not marked: it will be sent
			// again after the lease. At least once, never lost.
			log.Error("Could not mark message sent", "err", err)
		}
		d.Metrics.Sent.WithLabelValues(string(it.Platform)).Inc()
		return outcome{sent: true, delivery: del}
	}
	if domain.IsUnreachable(err) {
		d.Metrics.Unreachable.WithLabelValues(string(it.Platform), it.Purpose.Label()).Inc()
		log.Info("Recipient unreachable", "purpose", it.Purpose.Label(), "reason", err.Error())
		if err := d.Store.MarkUnreachable(ctx, it.ID, err.Error()); err != nil {
			log.Error("Could not record unreachable recipient", "err", err)
		}
		return outcome{}
	}
	if domain.IsPermanent(err) {
		d.fail(ctx, log, it, err.Error())
		return outcome{}
	}
	if wait := domain.RetryAfter(err); wait > 0 {
		d.Metrics.SendFailures.WithLabelValues(string(it.Platform), "rate_limited").Inc()
		until := time.Now().Add(wait)
		log.Warn("Rate limited; waiting", "retry_after", wait)
		_ = d.Store.DeferRecipient(ctx, it.Platform, it.To, until)
		_ = d.Store.RetryOutbox(ctx, it.ID, until, err.Error())
		return outcome{limitedUntil: until}
	}
	d.Metrics.SendFailures.WithLabelValues(string(it.Platform), "transient").Inc()
	if it.Attempts >= d.MaxAttempts {
		d.fail(ctx, log, it, fmt.Sprintf("gave up after %d attempts: %v", it.Attempts, err))
		return outcome{}
	}
	next := time.Now().Add(Backoff(it.Attempts))
	log.Warn("Delivery failed; will retry", "attempt", it.Attempts, "next_attempt", next, "err", err)
	_ = d.Store.RetryOutbox(ctx, it.ID, next, err.Error())
	return outcome{}
}

func (d *Dispatcher) fail(ctx context.Context, log *slog.Logger, it domain.OutboxItem, reason string) {
	d.Metrics.SendFailures.WithLabelValues(string(it.Platform), "permanent").Inc()
	log.Error("Delivery failed for good", "reason", reason)
	if err := d.Store.FailOutbox(ctx, it.ID, reason); err != nil {
		log.Error("Could not record failure", "err", err)
	}
}

func safeSend(ctx context.Context, s Sender, it domain.OutboxItem) (del domain.Delivery, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = domain.Permanent("panic", errors.New(fmt.Sprint(p)))
		}
	}()
	return s.Send(ctx, it)
}

// Backoff is the wait before retry number attempt: exponential from two
// seconds, capped at fifteen minutes, with jitter so that replicas spread.
func Backoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	d := 2 * time.Second << min(attempt-1, 10)
	d = min(d, 15*time.Minute)
	jitter := time.Duration(rand.Int64N(int64(d) / 5))
	return d - d/10 + jitter
}
