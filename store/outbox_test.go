package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

func post(to, text string) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, To: to, Content: domain.Content{Text: text}}
}

func TestEnqueueValidatesAndDedupes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)

	if err := db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("Enqueue without recipient = %v, want ErrInvalid", err)
	}
	// A bad message rolls back the whole batch.
	if err := db.Enqueue(ctx, post("C1", "kept?"), domain.Outgoing{To: "C1"}); err == nil {
		t.Error("Enqueue of a batch with a bad message succeeded")
	}
	w := post("C1", "SLA warning")
	w.DedupeKey = "sla:1:warn"
	for range 3 {
		if err := db.Enqueue(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	pending, failed, err := db.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pending != 1 || failed != 0 {
		t.Fatalf("OutboxStats = %d pending, %d failed; want 1, 0", pending, failed)
	}
	items, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Content.Text != "SLA warning" || items[0].Kind != domain.OutPost ||
		items[0].DedupeKey != "sla:1:warn" || items[0].Attempts != 1 {
		t.Fatalf("claimed %+v", items)
	}
}

func TestClaimOutboxRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	in := domain.Outgoing{
		Platform: domain.PlatformSlack, Kind: domain.OutUpload, To: "C9", Ref: "report:1", Template: "digest",
		Content: domain.Content{Title: "T", Text: "x", Fields: []domain.Field{{Label: "a", Value: "b"}},
			List: []string{"1", "2"}, Note: "n", Buttons: []domain.Button{{Label: "Go", ActionID: "go", Value: "7", Style: "primary"}}},
		Attachment: &domain.Attachment{Name: "r.csv", Title: "Report", Data: []byte("a,b\n1,2\n")},
	}
	if err := db.Enqueue(ctx, in); err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("claim = %v, %v", items, err)
	}
	got := items[0]
	if got.Platform != in.Platform || got.Kind != in.Kind || got.To != in.To || got.Ref != in.Ref ||
		got.Template != in.Template || fmt.Sprint(got.Content) != fmt.Sprint(in.Content) ||
		got.Attachment == nil || string(got.Attachment.Data) != string(in.Attachment.Data) || got.Attachment.Name != "r.csv" {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got.Outgoing, in)
	}
	if got.State != domain.OutboxPending || got.CreatedAt.IsZero() {
		t.Errorf("state %q created %v", got.State, got.CreatedAt)
	}
}

func TestClaimOutboxLeases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	for i := range 5 {
		if err := db.Enqueue(ctx, post("C1", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	first, err := db.ClaimOutbox(ctx, 3, time.Minute)
	if err != nil || len(first) != 3 {
		t.Fatalf("first claim = %d, %v", len(first), err)
	}
	for i, it := range first {
		if it.Content.Text != fmt.Sprint(i) {
			t.Errorf("claim order: item %d is %q", i, it.Content.Text)
		}
	}
	second, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(second) != 2 || second[0].Content.Text != "3" {
		t.Fatalf("second claim = %+v, %v; want the two unleased", second, err)
	}
	if more, _ := db.ClaimOutbox(ctx, 10, time.Minute); len(more) != 0 {
		t.Fatalf("leased rows claimed again: %d", len(more))
	}

	// A lease that ran out makes the rows claimable again (the dispatcher
	// died); attempts count each claim.
	short := storetest.New(t)
	if err := short.Enqueue(ctx, post("C1", "x")); err != nil {
		t.Fatal(err)
	}
	if got, _ := short.ClaimOutbox(ctx, 1, time.Millisecond); len(got) != 1 {
		t.Fatal("no claim")
	}
	var again []domain.OutboxItem
	for range 100 {
		if again, err = short.ClaimOutbox(ctx, 1, time.Minute); err != nil || len(again) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(again) != 1 || again[0].Attempts != 2 {
		t.Fatalf("after the lease ran out: %+v, %v", again, err)
	}
}

func TestClaimOutboxConcurrentClaimsAreDisjoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	const n = 200
	msgs := make([]domain.Outgoing, n)
	for i := range msgs {
		msgs[i] = post("C1", fmt.Sprint(i))
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				items, err := db.ClaimOutbox(ctx, 7, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(items) == 0 {
					return
				}
				mu.Lock()
				for _, it := range items {
					seen[it.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("claimed %d distinct messages, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("message %d claimed %d times", id, c)
		}
	}
}

func TestOutboxStateChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	parent := post("C1", "complaint")
	parent.Ref = "complaint:1"
	if err := db.Enqueue(ctx, parent, post("C1", "b"), post("C1", "c"), post("C2", "d")); err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 4 {
		t.Fatalf("claim = %d, %v", len(items), err)
	}
	p, b, c, d := items[0], items[1], items[2], items[3]

	// Sent: state, and the ref is remembered both ways.
	if err := db.MarkSent(ctx, p, domain.Delivery{Channel: "C1", TS: "111.1"}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Outbox(ctx, p.ID)
	if err != nil || got.State != domain.OutboxSent || got.SentAt.IsZero() {
		t.Fatalf("after MarkSent: %+v, %v", got, err)
	}
	if del, err := db.MessageRef(ctx, "complaint:1"); err != nil || del != (domain.Delivery{Channel: "C1", TS: "111.1"}) {
		t.Errorf("MessageRef = %+v, %v", del, err)
	}
	if ref, err := db.RefAt(ctx, domain.PlatformSlack, "C1", "111.1"); err != nil || ref != "complaint:1" {
		t.Errorf("RefAt = %q, %v", ref, err)
	}
	if _, err := db.MessageRef(ctx, "nope"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("MessageRef(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := db.RefAt(ctx, domain.PlatformSlack, "C1", "999"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RefAt(unknown) = %v, want ErrNotFound", err)
	}

	// Retry: a later attempt with the reason.
	at := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	if err := db.RetryOutbox(ctx, b.ID, at, "timeout"); err != nil {
		t.Fatal(err)
	}
	got, _ = db.Outbox(ctx, b.ID)
	if got.State != domain.OutboxPending || !got.NextAttempt.Equal(at) || got.LastError != "timeout" || got.Attempts != 1 {
		t.Errorf("after RetryOutbox: state %s next %v (want %v) err %q attempts %d", got.State, got.NextAttempt, at, got.LastError, got.Attempts)
	}

	// Defer a recipient: every pending message to C1 waits, C2's do not.
	if err := db.RetryOutbox(ctx, c.ID, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	if err := db.RetryOutbox(ctx, d.ID, time.Now(), ""); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(30 * time.Second).Truncate(time.Microsecond)
	if err := db.DeferRecipient(ctx, domain.PlatformSlack, "C1", until); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Outbox(ctx, c.ID); !got.NextAttempt.Equal(until) {
		t.Errorf("deferred message next attempt %v, want %v", got.NextAttempt, until)
	}
	if got, _ := db.Outbox(ctx, b.ID); !got.NextAttempt.Equal(at) {
		t.Errorf("a message due later than the deferral moved to %v", got.NextAttempt)
	}
	if got, _ := db.Outbox(ctx, d.ID); !got.NextAttempt.Before(until) {
		t.Errorf("another recipient's message was deferred to %v", got.NextAttempt)
	}
	if due, _ := db.ClaimOutbox(ctx, 10, time.Minute); len(due) != 1 || due[0].ID != d.ID {
		t.Errorf("due after deferral: %+v; want only %d", due, d.ID)
	}

	// Fail: recorded with its reason, listed newest first, counted.
	if err := db.FailOutbox(ctx, d.ID, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	if err := db.FailOutbox(ctx, c.ID, "not_in_channel"); err != nil {
		t.Fatal(err)
	}
	failed, err := db.FailedOutbox(ctx, 10)
	if err != nil || len(failed) != 2 || failed[0].ID != d.ID || failed[0].LastError != "channel_not_found" ||
		failed[0].State != domain.OutboxFailed {
		t.Fatalf("FailedOutbox = %+v, %v", failed, err)
	}
	if pending, nfailed, err := db.OutboxStats(ctx); err != nil || pending != 1 || nfailed != 2 {
		t.Errorf("OutboxStats = %d, %d, %v; want 1 pending, 2 failed", pending, nfailed, err)
	}
	if _, err := db.Outbox(ctx, 9999); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("Outbox(unknown) = %v", err)
	}
}

func TestClaimOutboxResolvesRefs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	parent := post("C1", "complaint")
	parent.Ref = "complaint:7"
	reply := post("C1", "reply")
	reply.ThreadRef = "complaint:7"
	upd := post("C1", "updated")
	upd.Kind, upd.Ref = domain.OutUpdate, "complaint:7"
	if err := db.Enqueue(ctx, parent); err != nil {
		t.Fatal(err)
	}
	items, _ := db.ClaimOutbox(ctx, 10, time.Minute)
	if err := db.MarkSent(ctx, items[0], domain.Delivery{Channel: "C1", TS: "42.0"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Enqueue(ctx, reply, upd); err != nil {
		t.Fatal(err)
	}
	items, err := db.ClaimOutbox(ctx, 10, time.Minute)
	if err != nil || len(items) != 2 {
		t.Fatalf("claim = %+v, %v", items, err)
	}
	if items[0].ThreadChannel != "C1" || items[0].ThreadTS != "42.0" {
		t.Errorf("thread reply resolved to %q/%q", items[0].ThreadChannel, items[0].ThreadTS)
	}
	if items[1].RefChannel != "C1" || items[1].RefTS != "42.0" {
		t.Errorf("update resolved to %q/%q", items[1].RefChannel, items[1].RefTS)
	}
	// Sending an update does not move the ref.
	if err := db.MarkSent(ctx, items[1], domain.Delivery{Channel: "C1", TS: "43.0"}); err != nil {
		t.Fatal(err)
	}
	if del, _ := db.MessageRef(ctx, "complaint:7"); del.TS != "42.0" {
		t.Errorf("update moved the ref to %q", del.TS)
	}
}
