package slack

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

func TestSenderKinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	msgs := []domain.Outgoing{
		{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: "C0COMPLAINTS", Ref: "complaint:7",
			Content: domain.Content{Title: "Complaint 7", Text: "Cup arrived broken",
				Buttons: []domain.Button{{Label: "Claim", ActionID: "claim", Value: "7"}}}},
		{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: "C0COMPLAINTS", ThreadRef: "complaint:7",
			Content: domain.Content{Text: "Customer wrote again"}},
		{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: "C0OPS/1700000000.999999",
			Content: domain.Content{Text: "in a given thread"}},
		{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: agentID, Content: domain.Content{Text: "You have a complaint"}},
		{Platform: domain.PlatformSlack, Kind: domain.OutUpdate, To: "C0COMPLAINTS", Ref: "complaint:7",
			Content: domain.Content{Text: "Complaint 7 — claimed by " + domain.MarkUser(agentID, "")}},
		{Platform: domain.PlatformSlack, Kind: domain.OutUpload, To: "C0MANAGERS", Content: domain.Content{Title: "Weekly chart"},
			Attachment: &domain.Attachment{Name: "chart.png", Data: []byte("\x89PNG fake")}},
	}
	// One at a time, so the thread parent is delivered before its replies.
	for _, m := range msgs {
		if err := e.db.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		e.deliver()
	}
	if items, _ := e.db.FailedOutbox(ctx, 10); len(items) != 0 {
		t.Fatalf("failures: %+v", items)
	}
	posts := e.fake.got("chat.postMessage")
	if len(posts) != 4 {
		t.Fatalf("%d posts, want 4", len(posts))
	}
	parentTS := posts[0].Form.Get("_ts")
	if !strings.Contains(posts[0].Form.Get("blocks"), `"action_id":"claim"`) {
		t.Errorf("button missing: %s", posts[0].Form.Get("blocks"))
	}
	if posts[1].Form.Get("thread_ts") != parentTS || posts[1].Form.Get("channel") != "C0COMPLAINTS" {
		t.Errorf("thread reply went to %s/%s, want C0COMPLAINTS/%s", posts[1].Form.Get("channel"), posts[1].Form.Get("thread_ts"), parentTS)
	}
	if posts[2].Form.Get("channel") != "C0OPS" || posts[2].Form.Get("thread_ts") != "1700000000.999999" {
		t.Errorf("explicit thread target: %v", posts[2].Form)
	}
	if opens := e.fake.got("conversations.open"); len(opens) != 1 || opens[0].Form.Get("users") != agentID {
		t.Errorf("conversations.open: %+v", opens)
	}
	if posts[3].Form.Get("channel") != "D"+agentID {
		t.Errorf("DM posted to %s", posts[3].Form.Get("channel"))
	}
	ups := e.fake.got("chat.update")
	if len(ups) != 1 || ups[0].Form.Get("ts") != parentTS || !strings.Contains(ups[0].Form.Get("text"), "claimed by") {
		t.Errorf("update: %+v", ups)
	}
	if len(e.fake.got("files.getUploadURLExternal")) != 1 || len(e.fake.got("upload/F1")) != 1 {
		t.Fatal("upload did not use the v2 steps")
	}
	if g := e.fake.got("files.getUploadURLExternal")[0].Form; g.Get("length") != "9" || g.Get("filename") != "chart.png" {
		t.Errorf("getUploadURLExternal %v", g)
	}
	if !strings.Contains(string(e.fake.got("upload/F1")[0].Body), "\x89PNG fake") {
		t.Error("file bytes not uploaded")
	}
	if c := e.fake.got("files.completeUploadExternal"); len(c) != 1 || c[0].Form.Get("channel_id") != "C0MANAGERS" {
		t.Errorf("complete: %+v", c)
	}
}

func counter(t *testing.T, m *bot.Metrics, kind string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.SendFailures.WithLabelValues("slack", kind).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// A 429 is retried after Retry-After; the message and others to the same
// channel wait.
func TestSenderRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.fake.failWith("chat.postMessage", http.StatusTooManyRequests, "")
	_, err := e.ad.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{Kind: domain.OutPost, To: "C1", Content: domain.Content{Text: "hi"}}})
	var se *domain.SendError
	if !errors.As(err, &se) || se.RetryAfter != 7*time.Second || se.Permanent {
		t.Fatalf("error %v, want a SendError waiting 7s", err)
	}

	e.disp.Metrics = bot.NewMetrics(nil)
	if err := e.db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack, To: "C1", Content: domain.Content{Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	e.deliver()
	items, err := e.db.FailedOutbox(ctx, 10)
	if err != nil || len(items) != 0 {
		t.Fatalf("rate limit failed the message: %v %+v", err, items)
	}
	pending, _, _ := e.db.OutboxStats(ctx)
	if pending != 1 {
		t.Fatalf("%d pending, want 1", pending)
	}
	it, err := e.db.Outbox(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if it.NextAttempt.Before(before.Add(6*time.Second)) || !strings.Contains(it.LastError, "rate") {
		t.Errorf("next attempt %v (error %q), want at least 7s after the attempt", it.NextAttempt.Sub(before), it.LastError)
	}
	if n := counter(t, e.disp.Metrics, "rate_limited"); n != 1 {
		t.Errorf("rate_limited counter %v", n)
	}
}

func TestSenderPermanentFailureRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.disp.Metrics = bot.NewMetrics(nil)
	e.fake.failWith("chat.postMessage", 0, "channel_not_found")
	if err := e.db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack, To: "CGONE", Content: domain.Content{Text: "hi"}}); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	items, err := e.db.FailedOutbox(ctx, 10)
	if err != nil || len(items) != 1 {
		t.Fatalf("failed: %v %+v", err, items)
	}
	if !strings.Contains(items[0].LastError, "channel_not_found") {
		t.Errorf("reason %q", items[0].LastError)
	}
	if n := counter(t, e.disp.Metrics, "permanent"); n != 1 {
		t.Errorf("permanent counter %v", n)
	}
	// Admins see it with `outbox failed`-style listing: the reason is kept.
	if items[0].To != "CGONE" {
		t.Errorf("failed item %+v", items[0])
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		status    int
		code      string
		permanent bool
		reason    string
	}{
		{0, "not_in_channel", true, "not_in_channel"},
		{0, "invalid_auth", true, "invalid_auth"},
		{0, "msg_too_long", true, "msg_too_long"},
		{0, "internal_error", false, "internal_error"},
		{http.StatusServiceUnavailable, "", false, "http_503"},
		{http.StatusBadGateway, "", false, "http_502"},
		{http.StatusNotFound, "", true, "http_404"},
	}
	for _, c := range cases {
		e.fake.failWith("chat.postMessage", c.status, c.code)
		_, err := e.ad.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{Kind: domain.OutPost, To: "C1", Content: domain.Content{Text: "x"}}})
		var se *domain.SendError
		if !errors.As(err, &se) || se.Permanent != c.permanent || se.Reason != c.reason {
			t.Errorf("%d %s: got %v, want permanent=%v reason=%s", c.status, c.code, err, c.permanent, c.reason)
		}
	}
	// A network failure is transient.
	e.fake.srv.Stop()
	_, err := e.ad.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{Kind: domain.OutPost, To: "C1", Content: domain.Content{Text: "x"}}})
	if err == nil || domain.IsPermanent(err) {
		t.Errorf("network error %v, want transient", err)
	}
	// An update whose target never landed cannot succeed.
	_, err = e.ad.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{Kind: domain.OutUpdate, To: "C1", Ref: "x"}})
	if !domain.IsPermanent(err) {
		t.Errorf("update without target: %v", err)
	}
}
