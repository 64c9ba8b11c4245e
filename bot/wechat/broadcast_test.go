package wechat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

// A campaign notice to 10,000 followers, 50 of whom have not written in
// 48 hours: those 50 are counted as unreachable and nothing reaches Slack.
func TestBroadcastCountsTheUnreachable(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("10,000 deliveries")
	}
	sfx := uniq()
	db := storetest.New(t)
	ctx := context.Background()
	acc := plainAccount(t)
	const n, closed = 10000, 50
	// Followers in bulk: every 200th wrote 49 hours ago, the rest just now.
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO wechat_followers (openid, subscribed, last_inbound_at, allowance)
		SELECT 'oB' || i || $1, true, CASE WHEN i % 200 = 0 THEN now() - interval '49 hours' ELSE now() END, $2
		FROM generate_series(1, $3) AS i`, sfx, allowancePerMessage, n)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]domain.Outgoing, n)
	for i := range msgs {
		msgs[i] = domain.Outgoing{Platform: domain.PlatformWeChat, To: fmt.Sprintf("oB%d%s", i+1, sfx),
			Template: "campaign", Purpose: domain.PurposeCampaign, Batch: "campaign:test" + sfx,
			Content: domain.Content{Text: "明天10点，双12活动正式开始，全场满300减50！"}}
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	s := newSender(db, acc, SenderOptions{Agents: "C0AGENTS"})
	d, rec := newDispatcher(db, s)
	d.Workers = 32
	dctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := d.DeliverAll(dctx); err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 0 {
		t.Fatalf("%d messages went to Slack (first: %+v)", len(rec.got), rec.got[0])
	}
	tally, err := db.BatchTally(ctx, "campaign:test"+sfx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (domain.Tally{Sent: n - closed, Unreachable: closed}); tally != want {
		t.Fatalf("tally %+v, want %+v", tally, want)
	}
	if got, err := db.UnreachableCount(ctx, domain.PurposeCampaign, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)); err != nil || got != closed {
		t.Fatalf("unreachable count %d, %v", got, err)
	}
	if c := fake.sentTo(fmt.Sprintf("oB%d%s", 200, sfx)); len(c) != 0 {
		t.Fatalf("a customer outside the window got %+v", c)
	}
}
