package handlers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestOutboxFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.EnsureAdmins(ctx, []string{"UADMIN"}); err != nil {
		t.Fatal(err)
	}
	if err := db.PutStaff(ctx, domain.Staff{UserID: "UMG", Role: domain.RoleManager}); err != nil {
		t.Fatal(err)
	}
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.Register(handlers.OutboxCommands(db, handlers.NewClock(time.UTC))...)

	if out := say(r, domain.PlatformSlack, "UADMIN", "outbox failed"); !strings.Contains(out, "Every message was delivered.") {
		t.Errorf("empty outbox:\n%s", out)
	}

	// Deliver through the dispatcher with a platform that rejects one channel.
	if err := db.Enqueue(ctx,
		domain.Outgoing{Platform: domain.PlatformSlack, To: "CGONE", Content: domain.Content{Text: "a"}},
		domain.Outgoing{Platform: domain.PlatformSlack, To: "C1", Content: domain.Content{Text: "b"}},
		domain.Outgoing{Platform: domain.PlatformSlack, To: "C2", Content: domain.Content{Text: "c"}},
	); err != nil {
		t.Fatal(err)
	}
	d := &bot.Dispatcher{Store: db, Senders: map[domain.Platform]bot.Sender{
		domain.PlatformSlack: bot.SenderFunc(func(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
			switch it.To {
			case "CGONE":
				return domain.Delivery{}, domain.Permanent("channel_not_found", nil)
			case "C2":
				return domain.Delivery{}, &domain.SendError{RetryAfter: time.Hour, Reason: "ratelimited"}
			}
			return domain.Delivery{Channel: it.To, TS: "1"}, nil
		}),
	}}
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}

	out := say(r, domain.PlatformSlack, "UADMIN", "outbox failed")
	for _, want := range []string{"Undeliverable messages", "Failed: 1", "Waiting to send: 1", "#1 slack → CGONE", "channel_not_found"} {
		if !strings.Contains(out, want) {
			t.Errorf("outbox failed lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "→ C1") || strings.Contains(out, "→ C2") {
		t.Errorf("outbox failed lists a message that did not fail:\n%s", out)
	}
	if out := say(r, domain.PlatformSlack, "UADMIN", "outbox failed 0"); !strings.Contains(out, "Usage: `outbox failed [N]`") {
		t.Errorf("bad N:\n%s", out)
	}
	if out := say(r, domain.PlatformSlack, "UMG", "outbox failed"); !strings.Contains(out, "needs the admin role") {
		t.Errorf("manager:\n%s", out)
	}
}
