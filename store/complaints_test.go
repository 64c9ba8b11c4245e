package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = time.FixedZone("CST", 8*3600)

func newComplaint(openID, text string, at time.Time) domain.Complaint {
	return domain.Complaint{Source: domain.SourceWeChat, OpenID: openID, CreatedBy: openID, CreatedAt: at,
		Text: text, Category: domain.Classify(text), Order: domain.ExtractOrder(text)}
}

func mustCreate(t testing.TB, db *store.DB, c domain.Complaint) domain.Complaint {
	t.Helper()
	c, err := db.CreateComplaint(context.Background(), c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestComplaintNumbersConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	day := time.Date(2026, 11, 22, 23, 30, 0, 0, shanghai) // 15:30 UTC: the date is Shanghai's
	const n = 20
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		nums []string
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := db.CreateComplaint(ctx, newComplaint(fmt.Sprintf("o%d", i), "杯子碎了", day), nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			nums = append(nums, c.Number)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Strings(nums)
	for i, got := range nums {
		if want := fmt.Sprintf("TS-20261122-%04d", i+1); got != want {
			t.Fatalf("numbers %v: #%d = %s, want %s", nums, i, got, want)
		}
	}
	next := mustCreate(t, db, newComplaint("o1", "杯子碎了", day.Add(time.Hour)))
	if next.Number != "TS-20261123-0001" {
		t.Errorf("next day's first number = %s", next.Number)
	}
}

func TestComplaintCreateUsesPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)

	order := mustCreate(t, db, newComplaint("o1", "重复下单了", t0))
	if order.Category != domain.CategoryOrder || !order.ReplyDue.Equal(t0.Add(10*time.Minute)) || !order.ResolveDue.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("order anomaly: %s %v %v", order.Category, order.ReplyDue, order.ResolveDue)
	}
	if err := db.SetPolicy(ctx, domain.SLAPolicy{Category: domain.CategoryLogistics, Reply: 2 * time.Hour, Resolve: 4 * time.Hour, WarnPct: 50, UpdatedBy: "UADMIN"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetPolicy(ctx, domain.SLAPolicy{Category: domain.CategoryLogistics, Reply: 5 * time.Hour, Resolve: time.Hour, WarnPct: 50}); !errors.Is(err, domain.ErrInvalid) {
		t.Errorf("invalid policy saved: %v", err)
	}
	lg := mustCreate(t, db, newComplaint("o1", "快递延迟3天未送达", t0))
	if !lg.ReplyWarnAt.Equal(t0.Add(time.Hour)) || !lg.ResolveDue.Equal(t0.Add(4*time.Hour)) {
		t.Errorf("logistics with new policy: warn %v resolve %v", lg.ReplyWarnAt, lg.ResolveDue)
	}
	got, err := db.Complaint(ctx, lg.Number)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != lg.Text || got.Order != "" || !got.ReplyDue.Equal(lg.ReplyDue) || got.State != domain.ComplaintOpen {
		t.Errorf("read back %+v", got)
	}
	ps, err := db.Policies(ctx)
	if err != nil || len(ps) != len(domain.Categories) {
		t.Fatalf("Policies = %v, %v", ps, err)
	}
	if ps[1].Category != domain.CategoryLogistics || ps[1].Reply != 2*time.Hour || ps[1].UpdatedBy != "UADMIN" {
		t.Errorf("logistics policy %+v", ps[1])
	}
	if _, err := db.Complaint(ctx, "TS-20000101-0001"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("unknown complaint = %v", err)
	}
}

func TestUpdateComplaintIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)
	c := mustCreate(t, db, newComplaint("o1", "杯子碎了", t0))

	// A failing change leaves nothing behind: not the claim, not its event, not its message.
	_, err := db.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		e, _ := c.Claim("U1", t0)
		return domain.ComplaintChange{Events: []domain.ComplaintEvent{e},
			Messages: []domain.Outgoing{{Platform: domain.PlatformSlack}}}, nil // no recipient: invalid
	})
	if !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("bad message = %v", err)
	}
	got, _ := db.Complaint(ctx, c.Number)
	events, _ := db.ComplaintEvents(ctx, c.ID)
	if got.Assignee != "" || len(events) != 1 {
		t.Fatalf("rolled back change left assignee %q, %d events", got.Assignee, len(events))
	}

	got, err = db.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		e := c.Reply("U1", "您好", t0.Add(time.Hour))
		return domain.ComplaintChange{Events: []domain.ComplaintEvent{e},
			Messages: []domain.Outgoing{{Platform: domain.PlatformWeChat, To: c.OpenID, Content: domain.Content{Text: "您好"}}}}, nil
	})
	if err != nil || !got.FirstReplyAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("reply: %v %v", err, got.FirstReplyAt)
	}
	events, _ = db.ComplaintEvents(ctx, c.ID)
	if len(events) != 2 || events[0].Kind != domain.EventCreated || events[1].Kind != domain.EventReplied || events[1].Actor != "U1" {
		t.Errorf("timeline %+v", events)
	}
	if _, err := db.UpdateComplaint(ctx, "TS-20000101-0001", nil); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("update unknown = %v", err)
	}
}

func TestSweepSLAExactlyOnceConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)
	const n = 120
	for i := range n {
		mustCreate(t, db, newComplaint(fmt.Sprintf("o%d", i), "杯子碎了", t0.Add(time.Duration(i)*time.Second)))
	}
	announce := func(c domain.Complaint, due []domain.SLAEvent) []domain.Outgoing {
		var out []domain.Outgoing
		for _, e := range due {
			out = append(out, domain.Outgoing{Platform: domain.PlatformSlack, To: "#c", DedupeKey: e.DedupeKey(c.Number),
				Content: domain.Content{Text: e.DedupeKey(c.Number)}})
		}
		return out
	}
	sweepTwice := func(at time.Time) int {
		var wg sync.WaitGroup
		counts := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if counts[i], err = db.SweepSLA(ctx, at, 7, announce); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return counts[0] + counts[1]
	}
	if got := sweepTwice(t0.Add(17 * time.Hour)); got != 0 {
		t.Errorf("before the warning point: %d complaints swept", got)
	}
	if got := sweepTwice(t0.Add(19 * time.Hour)); got != n {
		t.Errorf("at 19h: %d complaints swept, want %d", got, n)
	}
	if got := sweepTwice(t0.Add(19 * time.Hour)); got != 0 {
		t.Errorf("again at 19h: %d swept", got)
	}
	if got := sweepTwice(t0.Add(25 * time.Hour)); got != n {
		t.Errorf("at 25h: %d swept, want %d", got, n)
	}
	pending, _, err := db.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pending != 2*n {
		t.Errorf("%d messages, want %d (one warning and one breach each)", pending, 2*n)
	}
	c, _ := db.Complaint(ctx, "TS-20261122-0001")
	events, _ := db.ComplaintEvents(ctx, c.ID)
	kinds := ""
	for _, e := range events {
		kinds += string(e.Kind) + " "
	}
	if kinds != "created warned breached " || !c.ReplyWarned.Equal(t0.Add(19*time.Hour)) || c.ReplyBreached.IsZero() {
		t.Errorf("timeline %q, warned %v", kinds, c.ReplyWarned)
	}
}

func TestCustomerComplaintsIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)
	a1 := mustCreate(t, db, newComplaint("oA", "杯子碎了", t0))
	a2 := mustCreate(t, db, newComplaint("oA", "快递没收到", t0.Add(time.Minute)))
	mustCreate(t, db, newComplaint("oB", "态度差", t0))
	phone := newComplaint("", "电话投诉", t0)
	phone.Source, phone.Contact = domain.SourcePhone, "13800138000"
	mustCreate(t, db, phone)

	list, err := db.CustomerComplaints(ctx, "oA", 10)
	if err != nil || len(list) != 2 || list[0].Number != a2.Number || list[1].Number != a1.Number {
		t.Fatalf("oA's complaints = %v, %v", list, err)
	}
	if list, _ := db.CustomerComplaints(ctx, "", 10); len(list) != 0 {
		t.Errorf("empty OpenID sees %d complaints (phone ones?)", len(list))
	}
	if _, err := db.LatestOpenComplaint(ctx, ""); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("LatestOpenComplaint('') = %v", err)
	}
	open, err := db.LatestOpenComplaint(ctx, "oA")
	if err != nil || open.Number != a2.Number {
		t.Errorf("latest open = %v, %v", open.Number, err)
	}
	all, total, err := db.ListComplaints(ctx, domain.ComplaintQuery{Filter: domain.FilterAll}, "", t0, 10)
	if err != nil || len(all) != 4 || total != 4 {
		t.Errorf("all = %d of %d, %v", len(all), total, err)
	}
	overdue, _, _ := db.ListComplaints(ctx, domain.ComplaintQuery{Filter: domain.FilterOverdue}, "", t0.Add(25*time.Hour), 10)
	if len(overdue) != 4 {
		t.Errorf("overdue at 25h = %d", len(overdue))
	}
	mine, _, _ := db.ListComplaints(ctx, domain.ComplaintQuery{Filter: domain.FilterMine}, "U1", t0, 10)
	if len(mine) != 0 {
		t.Errorf("mine = %d", len(mine))
	}
}

func TestPendingQuestions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)
	q := domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: "oA", Topic: "complaint.details", ExpiresAt: t0.Add(30 * time.Minute)}
	if err := db.SetPending(ctx, q); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Pending(ctx, domain.PlatformWeChat, "oA", "complaint.details", t0.Add(29*time.Minute)); err != nil || got.Topic != q.Topic {
		t.Errorf("Pending = %+v, %v", got, err)
	}
	if _, err := db.Pending(ctx, domain.PlatformWeChat, "oB", "complaint.details", t0); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("someone else's pending = %v", err)
	}
	if _, err := db.Pending(ctx, domain.PlatformWeChat, "oA", "complaint.details", t0.Add(31*time.Minute)); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("expired pending = %v", err)
	}
	if err := db.ClearPending(ctx, domain.PlatformWeChat, "oA", "other.topic"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pending(ctx, domain.PlatformWeChat, "oA", "complaint.details", t0); err != nil {
		t.Errorf("cleared by another topic: %v", err)
	}
	if err := db.ClearPending(ctx, domain.PlatformWeChat, "oA", "complaint.details"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pending(ctx, domain.PlatformWeChat, "oA", "complaint.details", t0); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("cleared pending = %v", err)
	}
	// Two topics at once: both wait, the newest first.
	if err := db.SetPending(ctx, q); err != nil {
		t.Fatal(err)
	}
	survey := domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: "oA", Topic: "survey.score", ExpiresAt: t0.Add(40 * time.Minute)}
	if err := db.SetPending(ctx, survey); err != nil {
		t.Fatal(err)
	}
	qs, err := db.PendingQuestions(ctx, domain.PlatformWeChat, "oA", t0)
	if err != nil || len(qs) != 2 || qs[0].Topic != "survey.score" || qs[1].Topic != "complaint.details" {
		t.Errorf("PendingQuestions = %+v, %v", qs, err)
	}
	if qs, _ := db.PendingQuestions(ctx, domain.PlatformWeChat, "oA", t0.Add(35*time.Minute)); len(qs) != 1 || qs[0].Topic != "survey.score" {
		t.Errorf("PendingQuestions after one expired = %+v", qs)
	}
	if n, err := db.PruneConversations(ctx, t0.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("prune = %d, %v", n, err)
	}
}

func TestComplaintStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)
	dec := nov.AddDate(0, 1, 0)
	mk := func(text string, at time.Time, reply, resolve time.Duration) {
		c := mustCreate(t, db, newComplaint("oA", text, at))
		_, err := db.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			if reply > 0 {
				c.Reply("U1", "x", at.Add(reply))
			}
			if resolve > 0 {
				if _, err := c.Resolve("U1", "done", at.Add(resolve)); err != nil {
					return domain.ComplaintChange{}, err
				}
			}
			return domain.ComplaintChange{}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("杯子碎了", nov.Add(24*time.Hour), 2*time.Hour, 10*time.Hour) // both met
	mk("质量差", nov.Add(48*time.Hour), 30*time.Hour, 50*time.Hour) // both missed
	mk("快递没收到", nov.Add(72*time.Hour), 4*time.Hour, 0)           // replied, unresolved, overdue at the end of Nov
	mk("快递没收到", dec.Add(-time.Hour), 0, 0)                       // open, nothing due yet
	mk("态度差", nov.AddDate(0, -1, 5), time.Hour, 2*time.Hour)     // October
	mk("杯子碎了", dec.Add(time.Hour), time.Hour, 2*time.Hour)       // December

	st, err := db.ComplaintStats(ctx, nov, dec, dec)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 4 || st.ByCategory[domain.CategoryQuality] != 2 || st.ByCategory[domain.CategoryLogistics] != 2 {
		t.Errorf("counts %+v", st)
	}
	if st.ReplyMet != 2 || st.ReplyDecided != 3 || st.ResolveMet != 1 || st.ResolveDecided != 3 {
		t.Errorf("hit rates: reply %d/%d resolve %d/%d", st.ReplyMet, st.ReplyDecided, st.ResolveMet, st.ResolveDecided)
	}
	if st.ReplyMedian != 4*time.Hour || st.ReplyMean != 12*time.Hour || st.ResolveMedian != 30*time.Hour || st.ResolveMean != 30*time.Hour {
		t.Errorf("times: reply %v/%v resolve %v/%v", st.ReplyMedian, st.ReplyMean, st.ResolveMedian, st.ResolveMean)
	}
	if st.Open != 2 || st.Overdue != 1 {
		t.Errorf("open %d overdue %d", st.Open, st.Overdue)
	}
}
