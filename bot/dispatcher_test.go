package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// fakeSender is a platform at the network edge: it records what it was
// asked to send and fails as told.
type fakeSender struct {
	mu    sync.Mutex
	got   []domain.OutboxItem
	fail  func(it domain.OutboxItem, n int) error // n: how many times this text was sent before
	tries map[string]int
	delay time.Duration
	after func(it domain.OutboxItem) // called after each send
}

func (s *fakeSender) Send(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	if s.delay > 0 {
		time.Sleep(s.delay)
	}
	s.mu.Lock()
	if s.tries == nil {
		s.tries = map[string]int{}
	}
	n := s.tries[it.Content.Text]
	s.tries[it.Content.Text]++
	fail := s.fail
	s.mu.Unlock()
	var err error
	if fail != nil {
		err = fail(it, n) // may panic
	}
	if err == nil {
		s.mu.Lock()
		s.got = append(s.got, it)
		s.mu.Unlock()
	}
	if s.after != nil {
		s.after(it)
	}
	if err != nil {
		return domain.Delivery{}, err
	}
	return domain.Delivery{Channel: it.To, TS: fmt.Sprintf("ts-%d", it.ID)}, nil
}

func (s *fakeSender) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.got))
	for i, it := range s.got {
		out[i] = it.Content.Text
	}
	return out
}

func (s *fakeSender) sent(text string) (domain.OutboxItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range s.got {
		if it.Content.Text == text {
			return it, true
		}
	}
	return domain.OutboxItem{}, false
}

func (s *fakeSender) triesOf(text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tries[text]
}

func msg(to, text string) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, To: to, Content: domain.Content{Text: text}}
}

func newDispatcher(db *store.DB, s bot.Sender) *bot.Dispatcher {
	return &bot.Dispatcher{
		Store:   db,
		Senders: map[domain.Platform]bot.Sender{domain.PlatformSlack: s},
		Metrics: bot.NewMetrics(nil),
		Lease:   time.Minute,
	}
}

// item finds a message by its text.
func item(t *testing.T, db *store.DB, text string) domain.OutboxItem {
	t.Helper()
	for id := int64(1); id < 1000; id++ {
		it, err := db.Outbox(context.Background(), id)
		if errors.Is(err, domain.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if it.Content.Text == text {
			return it
		}
	}
	t.Fatalf("no outbox message %q", text)
	return domain.OutboxItem{}
}

// makeDue pretends time passed: the message is due now.
func makeDue(t *testing.T, db *store.DB, text string) {
	t.Helper()
	it := item(t, db, text)
	if err := db.RetryOutbox(context.Background(), it.ID, time.Now(), it.LastError); err != nil {
		t.Fatal(err)
	}
}

func TestDispatcherDeliversInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	var want []string
	var msgs []domain.Outgoing
	for i := range 45 {
		text := fmt.Sprintf("m%02d", i)
		want = append(want, text)
		msgs = append(msgs, msg([]string{"C1", "C2", "U3"}[i%3], text))
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{}
	d := newDispatcher(db, s)
	d.Batch = 10
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	// Each recipient's messages arrive in the order they were enqueued.
	byTo := func(texts []string) map[string]string {
		m := map[string]string{}
		for _, text := range texts {
			var i int
			fmt.Sscanf(text, "m%d", &i)
			to := []string{"C1", "C2", "U3"}[i%3]
			m[to] += text + " "
		}
		return m
	}
	got, exp := byTo(s.texts()), byTo(want)
	for to := range exp {
		if got[to] != exp[to] {
			t.Fatalf("delivered to %s\n%s\nwant\n%s", to, got[to], exp[to])
		}
	}
	for _, text := range want {
		if it := item(t, db, text); it.State != domain.OutboxSent || it.Attempts != 1 {
			t.Fatalf("%s: state %s attempts %d", text, it.State, it.Attempts)
		}
	}
	if n := counter(d.Metrics.Sent.WithLabelValues("slack")); n != 45 {
		t.Errorf("sent metric = %v", n)
	}
	if pending, failed, _ := db.OutboxStats(ctx); pending != 0 || failed != 0 {
		t.Errorf("OutboxStats = %d, %d", pending, failed)
	}
}

func TestDispatcherRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.Enqueue(ctx, msg("C1", "flaky"), msg("C1", "fine")); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{fail: func(it domain.OutboxItem, n int) error {
		if it.Content.Text == "flaky" && n < 2 {
			return errors.New("connection reset")
		}
		return nil
	}}
	d := newDispatcher(db, s)

	before := time.Now()
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	it := item(t, db, "flaky")
	if it.State != domain.OutboxPending || it.Attempts != 1 || !strings.Contains(it.LastError, "connection reset") {
		t.Fatalf("after one failure: state %s attempts %d error %q", it.State, it.Attempts, it.LastError)
	}
	// First backoff: two seconds, ±10%.
	lo, hi := before.Add(1800*time.Millisecond), after.Add(2200*time.Millisecond)
	if it.NextAttempt.Before(lo) || it.NextAttempt.After(hi) {
		t.Errorf("next attempt %v not within [%v, %v]", it.NextAttempt, lo, hi)
	}
	if got := item(t, db, "fine"); got.State != domain.OutboxSent {
		t.Errorf("the other message: %s", got.State)
	}
	// Not due yet: nothing is tried.
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := s.triesOf("flaky"); n != 1 {
		t.Fatalf("retried before its time: %d tries", n)
	}

	// Second failure: the backoff doubles.
	makeDue(t, db, "flaky")
	before = time.Now()
	_ = d.DeliverAll(ctx)
	after = time.Now()
	it = item(t, db, "flaky")
	lo, hi = before.Add(3600*time.Millisecond), after.Add(4400*time.Millisecond)
	if it.Attempts != 2 || it.NextAttempt.Before(lo) || it.NextAttempt.After(hi) {
		t.Errorf("after two failures: attempts %d, next %v not within [%v, %v]", it.Attempts, it.NextAttempt, lo, hi)
	}

	makeDue(t, db, "flaky")
	_ = d.DeliverAll(ctx)
	if it := item(t, db, "flaky"); it.State != domain.OutboxSent || it.Attempts != 3 || it.LastError != "" {
		t.Errorf("third try: state %s attempts %d error %q", it.State, it.Attempts, it.LastError)
	}
	if n := counter(d.Metrics.SendFailures.WithLabelValues("slack", "transient")); n != 2 {
		t.Errorf("transient failure metric = %v", n)
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		attempt int
		base    time.Duration
	}{{0, 2 * time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second},
		{8, 256 * time.Second}, {10, 15 * time.Minute}, {50, 15 * time.Minute}} {
		for range 20 {
			b := bot.Backoff(c.attempt)
			if b < c.base*9/10 || b > c.base*11/10 {
				t.Errorf("Backoff(%d) = %v, want %v ±10%%", c.attempt, b, c.base)
			}
		}
	}
}

func TestDispatcherRateLimitDefersRecipient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	var msgs []domain.Outgoing
	for i := range 5 {
		msgs = append(msgs, msg("C1", fmt.Sprint("c1-", i)))
	}
	msgs = append(msgs, msg("C2", "c2"))
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{fail: func(it domain.OutboxItem, n int) error {
		if it.To == "C1" {
			return &domain.SendError{RetryAfter: 30 * time.Second, Reason: "ratelimited"}
		}
		return nil
	}}
	d := newDispatcher(db, s)
	before := time.Now()
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	// One call found the limit; the rest of the batch did not hammer C1.
	calls := 0
	for i := range 5 {
		calls += s.triesOf(fmt.Sprint("c1-", i))
	}
	if calls != 1 {
		t.Errorf("C1 was called %d times after it rate-limited us", calls)
	}
	for i := range 5 {
		it := item(t, db, fmt.Sprint("c1-", i))
		if it.State != domain.OutboxPending || it.NextAttempt.Before(before.Add(30*time.Second)) {
			t.Errorf("c1-%d: state %s next attempt %v, want pending until at least %v", i, it.State, it.NextAttempt, before.Add(30*time.Second))
		}
	}
	if it := item(t, db, "c2"); it.State != domain.OutboxSent {
		t.Errorf("another recipient was held back: %s", it.State)
	}
	if n := counter(d.Metrics.SendFailures.WithLabelValues("slack", "rate_limited")); n != 1 {
		t.Errorf("rate limit metric = %v", n)
	}
	// Messages to C1 enqueued later wait too: the deferral is in the DB.
	if err := db.DeferRecipient(ctx, domain.PlatformSlack, "C1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
}

func TestDispatcherPermanentFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.Enqueue(ctx, msg("CGONE", "lost"), msg("C1", "ok"), msg("C1", "panics")); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{fail: func(it domain.OutboxItem, n int) error {
		switch it.Content.Text {
		case "lost":
			return domain.Permanent("channel_not_found", errors.New("slack says so"))
		case "panics":
			panic("sender bug")
		}
		return nil
	}}
	d := newDispatcher(db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	it := item(t, db, "lost")
	if it.State != domain.OutboxFailed || !strings.Contains(it.LastError, "channel_not_found") || it.Attempts != 1 {
		t.Errorf("permanent failure: state %s attempts %d error %q", it.State, it.Attempts, it.LastError)
	}
	if it := item(t, db, "panics"); it.State != domain.OutboxFailed || !strings.Contains(it.LastError, "sender bug") {
		t.Errorf("panicking sender: state %s error %q", it.State, it.LastError)
	}
	failed, _ := db.FailedOutbox(ctx, 10)
	if len(failed) != 2 {
		t.Errorf("FailedOutbox = %d items", len(failed))
	}
	// Never retried.
	makeDue(t, db, "lost")
	_ = d.DeliverAll(ctx)
	if n := s.triesOf("lost"); n != 1 {
		t.Errorf("a permanent failure was retried: %d tries", n)
	}
	if n := counter(d.Metrics.SendFailures.WithLabelValues("slack", "permanent")); n != 2 {
		t.Errorf("permanent failure metric = %v", n)
	}
}

func TestDispatcherGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.Enqueue(ctx, msg("C1", "doomed")); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{fail: func(domain.OutboxItem, int) error { return errors.New("503 service unavailable") }}
	d := newDispatcher(db, s)
	d.MaxAttempts = 3
	for i := range 5 {
		_ = d.DeliverAll(ctx)
		if item(t, db, "doomed").State == domain.OutboxFailed {
			break
		}
		if i == 4 {
			t.Fatal("never gave up")
		}
		makeDue(t, db, "doomed")
	}
	it := item(t, db, "doomed")
	if it.Attempts != 3 || s.triesOf("doomed") != 3 || !strings.Contains(it.LastError, "gave up after 3 attempts") ||
		!strings.Contains(it.LastError, "503") {
		t.Errorf("attempts %d tries %d error %q", it.Attempts, s.triesOf("doomed"), it.LastError)
	}
}

func TestDispatcherThreadsAndUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)

	// Parent, reply and update written together, as a handler does:
	// the reply and update go out in the same pass, resolved.
	parent := msg("C1", "complaint")
	parent.Ref = "complaint:1"
	reply := msg("C1", "reply")
	reply.ThreadRef = "complaint:1"
	upd := msg("C1", "complaint (claimed)")
	upd.Kind, upd.Ref = domain.OutUpdate, "complaint:1"
	if err := db.Enqueue(ctx, parent, reply, upd); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{}
	d := newDispatcher(db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	p, _ := s.sent("complaint")
	r, ok := s.sent("reply")
	if !ok || r.ThreadTS != fmt.Sprintf("ts-%d", p.ID) || r.ThreadChannel != "C1" {
		t.Errorf("reply sent=%v with thread %q/%q, want C1/ts-%d", ok, r.ThreadChannel, r.ThreadTS, p.ID)
	}
	u, ok := s.sent("complaint (claimed)")
	if !ok || u.RefTS != fmt.Sprintf("ts-%d", p.ID) || u.RefChannel != "C1" {
		t.Errorf("update sent=%v with ref %q/%q", ok, u.RefChannel, u.RefTS)
	}

	// A reply whose parent is not delivered yet waits for it.
	parent2 := msg("C1", "complaint 2")
	parent2.Ref = "complaint:2"
	reply2 := msg("C1", "reply 2")
	reply2.ThreadRef = "complaint:2"
	upd2 := msg("C1", "complaint 2 (closed)")
	upd2.Kind, upd2.Ref = domain.OutUpdate, "complaint:2"
	s.fail = func(it domain.OutboxItem, n int) error {
		if it.Content.Text == "complaint 2" && n == 0 {
			return errors.New("timeout")
		}
		return nil
	}
	if err := db.Enqueue(ctx, parent2, reply2, upd2); err != nil {
		t.Fatal(err)
	}
	_ = d.DeliverAll(ctx)
	for _, text := range []string{"reply 2", "complaint 2 (closed)"} {
		if _, ok := s.sent(text); ok {
			t.Fatalf("%q went out before its parent", text)
		}
		if it := item(t, db, text); it.State != domain.OutboxPending || !strings.Contains(it.LastError, "waiting for the message") {
			t.Errorf("%q: state %s error %q", text, it.State, it.LastError)
		}
	}
	makeDue(t, db, "complaint 2")
	_ = d.DeliverAll(ctx)
	p2, ok := s.sent("complaint 2")
	if !ok {
		t.Fatal("parent not sent on retry")
	}
	makeDue(t, db, "reply 2")
	makeDue(t, db, "complaint 2 (closed)")
	_ = d.DeliverAll(ctx)
	if r, ok := s.sent("reply 2"); !ok || r.ThreadTS != fmt.Sprintf("ts-%d", p2.ID) {
		t.Errorf("reply 2 sent=%v thread %q", ok, r.ThreadTS)
	}
	if u, ok := s.sent("complaint 2 (closed)"); !ok || u.RefTS != fmt.Sprintf("ts-%d", p2.ID) {
		t.Errorf("update 2 sent=%v ref %q", ok, u.RefTS)
	}

	// A reply whose parent never lands goes out on its own in the end; an
	// update with nothing to update fails.
	orphan := msg("C1", "orphan")
	orphan.ThreadRef = "complaint:404"
	lost := msg("C1", "lost update")
	lost.Kind, lost.Ref = domain.OutUpdate, "complaint:404"
	if err := db.Enqueue(ctx, orphan, lost); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		_ = d.DeliverAll(ctx)
		makeDue(t, db, "orphan")
		makeDue(t, db, "lost update")
	}
	if it := item(t, db, "orphan"); it.State != domain.OutboxSent {
		t.Errorf("orphan reply: %s %q", it.State, it.LastError)
	}
	if it := item(t, db, "lost update"); it.State != domain.OutboxFailed || !strings.Contains(it.LastError, "never delivered") {
		t.Errorf("lost update: %s %q", it.State, it.LastError)
	}
}

func TestDispatcherDedupeKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	w := msg("C1", "SLA warning for complaint 3")
	w.DedupeKey = "sla-warn:3"
	for range 3 {
		if err := db.Enqueue(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	s := &fakeSender{}
	if err := newDispatcher(db, s).DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	// Even after it was sent, the key stays taken.
	if err := db.Enqueue(ctx, w); err != nil {
		t.Fatal(err)
	}
	_ = newDispatcher(db, s).DeliverAll(ctx)
	if got := s.texts(); len(got) != 1 {
		t.Errorf("sent %d times: %q", len(got), got)
	}
}

func TestDispatcherFallbackAndMissingSender(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformWeChat, To: "oABC", Content: domain.Content{Text: "您好"}}); err != nil {
		t.Fatal(err)
	}
	d := newDispatcher(db, &fakeSender{})
	_ = d.DeliverAll(ctx)
	if it := item(t, db, "您好"); it.State != domain.OutboxFailed || !strings.Contains(it.LastError, `no sender for platform "wechat"`) {
		t.Errorf("no sender: %s %q", it.State, it.LastError)
	}
	if err := db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformWeChat, To: "oABC", Content: domain.Content{Text: "再见"}}); err != nil {
		t.Fatal(err)
	}
	fb := &fakeSender{}
	d.Fallback = fb
	_ = d.DeliverAll(ctx)
	if got := fb.texts(); len(got) != 1 || got[0] != "再见" {
		t.Errorf("fallback got %q", got)
	}
}

func TestTwoDispatchersNeverDeliverTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	open := func() *store.DB {
		db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	db1, db2 := open(), open()
	const n = 300
	var msgs []domain.Outgoing
	for i := range n {
		msgs = append(msgs, msg(fmt.Sprint("C", i%7), fmt.Sprint("m", i)))
	}
	if err := db1.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	s := &fakeSender{}
	var wg sync.WaitGroup
	for _, db := range []*store.DB{db1, db2} {
		d := newDispatcher(db, s)
		d.Batch = 7
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.DeliverAll(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, text := range s.texts() {
		count[text]++
	}
	if len(count) != n {
		t.Errorf("%d distinct messages delivered, want %d", len(count), n)
	}
	for text, c := range count {
		if c != 1 {
			t.Errorf("%s delivered %d times", text, c)
		}
	}
}

func TestDispatcherCrashAfterClaim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	for i := range 10 {
		if err := db.Enqueue(ctx, msg("C1", fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	// A dispatcher claims four messages and dies before sending them.
	const lease = 3 * time.Second // long enough that the first pass cannot outlive it
	claimed, err := db.ClaimOutbox(ctx, 4, lease)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claim = %d, %v", len(claimed), err)
	}
	// Another one delivers what is free at once, and the rest once the
	// dead one's lease has run out.
	s := &fakeSender{}
	d := newDispatcher(db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(s.texts()); got != 6 {
		t.Fatalf("delivered %d while leases held, want 6", got)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(s.texts()) < 10 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if err := d.DeliverAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(s.texts()); got != 10 {
		t.Fatalf("delivered %d after the lease, want 10", got)
	}
	for _, it := range claimed {
		if got := item(t, db, it.Content.Text); got.State != domain.OutboxSent || got.Attempts != 2 {
			t.Errorf("%s: state %s attempts %d", it.Content.Text, got.State, got.Attempts)
		}
	}
}

func TestDispatcherHandsBackOnShutdown(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	for i := range 5 {
		if err := db.Enqueue(context.Background(), msg("C1", fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &fakeSender{after: func(domain.OutboxItem) { cancel() }} // shut down during the first send
	d := newDispatcher(db, s)
	if _, err := d.DeliverBatch(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.texts(); len(got) != 1 {
		t.Fatalf("sent %q during shutdown, want only the message in flight", got)
	}
	if it := item(t, db, "m0"); it.State != domain.OutboxSent {
		t.Errorf("the message in flight was not marked sent: %s", it.State)
	}
	// The rest are free at once for the next dispatcher, not leased.
	s2 := &fakeSender{}
	if err := newDispatcher(db, s2).DeliverAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s2.texts(), " "); got != "m1 m2 m3 m4" {
		t.Errorf("after restart: %q", got)
	}
}

func TestDispatcherHandsBackBeforeLeaseEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	for i := range 6 {
		if err := db.Enqueue(ctx, msg("C1", fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	s := &fakeSender{delay: 80 * time.Millisecond}
	d := newDispatcher(db, s)
	d.Lease = 200 * time.Millisecond // sends start only in the first half
	if _, err := d.DeliverBatch(ctx); err != nil {
		t.Fatal(err)
	}
	n := len(s.texts())
	if n == 0 || n >= 6 {
		t.Fatalf("sent %d of 6 in one slow batch, want some but not all", n)
	}
	// Those not started are free again, with no lease to wait out.
	rest, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(rest) != 6-n {
		t.Fatalf("claimable after the batch: %d, %v; want %d", len(rest), err, 6-n)
	}
}

func TestDispatcherRunWakes(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	got := make(chan string, 10)
	d := newDispatcher(db, bot.SenderFunc(func(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
		got <- it.Content.Text
		return domain.Delivery{}, nil
	}))
	d.Poll = time.Hour // only Wake can make it look
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	for _, text := range []string{"first", "second"} {
		if err := db.Enqueue(context.Background(), msg("C1", text)); err != nil {
			t.Fatal(err)
		}
		d.Wake()
		select {
		case g := <-got:
			if g != text {
				t.Errorf("got %q, want %q", g, text)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%q not delivered after Wake", text)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestDispatcherWorkersKeepEachRecipientsOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	const recipients, each = 40, 6
	var msgs []domain.Outgoing
	for i := range each {
		for r := range recipients {
			msgs = append(msgs, msg(fmt.Sprintf("U%02d", r), fmt.Sprintf("U%02d-%d", r, i)))
		}
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var inFlight, most atomic.Int32
	s := &fakeSender{delay: 5 * time.Millisecond}
	s.after = func(domain.OutboxItem) { inFlight.Add(-1) }
	d := newDispatcher(db, bot.SenderFunc(func(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		return s.Send(ctx, it)
	}))
	d.Workers, d.Batch = 8, 64
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	got := s.texts()
	if len(got) != recipients*each {
		t.Fatalf("sent %d, want %d", len(got), recipients*each)
	}
	next := map[string]int{}
	seen := map[string]bool{}
	for _, text := range got {
		if seen[text] {
			t.Fatalf("%s sent twice", text)
		}
		seen[text] = true
		var to string
		var i int
		if _, err := fmt.Sscanf(text, "%3s-%d", &to, &i); err != nil {
			t.Fatal(err)
		}
		if i != next[to] {
			t.Fatalf("%s sent out of order (expected %s-%d)", text, to, next[to])
		}
		next[to]++
	}
	if m := most.Load(); m < 2 || m > 8 {
		t.Errorf("at most %d sends at once, want between 2 and 8 workers", m)
	}
}
