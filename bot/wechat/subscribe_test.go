package wechat

import (
	"context"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

// A campaign notice outside the 48-hour window goes as a subscription
// notice (订阅通知) where one is configured, never as a template message
// (marketing through templates gets the account restricted); without a
// subscription notice the customer is counted unreachable.
func TestCampaignNoticeOutsideTheWindow(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	db := storetest.New(t)
	ctx := context.Background()
	acc := plainAccount(t)
	now := time.Now()
	in, out, out2 := "oSubIn"+sfx, "oSubOut"+sfx, "oSubOut2"+sfx
	if err := db.WeChatTouch(ctx, in, now, allowancePerMessage); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{out, out2} {
		if err := db.WeChatTouch(ctx, id, now.Add(-49*time.Hour), allowancePerMessage); err != nil {
			t.Fatal(err)
		}
	}
	notice := func(to, batch string) domain.Outgoing {
		return domain.Outgoing{Platform: domain.PlatformWeChat, To: to, Template: "campaign", Purpose: domain.PurposeCampaign,
			Batch: batch, Content: domain.Content{Text: "明天10点，双12活动正式开始，全场满300减50！"}}
	}
	if err := db.Enqueue(ctx, notice(in, "b1"+sfx), notice(out, "b1"+sfx)); err != nil {
		t.Fatal(err)
	}
	s := newSender(db, acc, SenderOptions{Agents: "C0AGENTS",
		Templates: map[string]string{"campaign": "TPL-MARKETING"}, Subscriptions: map[string]string{"campaign": "SUB-1/thing2"}})
	d, rec := newDispatcher(db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fake.sentTo(in); len(got) != 1 || got[0].API != "custom" {
		t.Fatalf("inside the window: %+v", got)
	}
	got := fake.sentTo(out)
	if len(got) != 1 || got[0].API != "subscribe" || got[0].TemplateID != "SUB-1" || got[0].Data["thing2"] == "" {
		t.Fatalf("outside the window: %+v", got)
	}
	// Without a subscription notice: counted, not sent as a template.
	if err := db.Enqueue(ctx, notice(out2, "b2"+sfx)); err != nil {
		t.Fatal(err)
	}
	s2 := newSender(db, acc, SenderOptions{Agents: "C0AGENTS", Templates: map[string]string{"campaign": "TPL-MARKETING"}})
	d2, rec2 := newDispatcher(db, s2)
	if err := d2.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fake.sentTo(out2); len(got) != 0 {
		t.Fatalf("marketing went as a template message: %+v", got)
	}
	tally, err := db.BatchTally(ctx, "b2"+sfx)
	if err != nil || tally != (domain.Tally{Unreachable: 1}) {
		t.Fatalf("tally %+v, %v", tally, err)
	}
	if len(rec.got)+len(rec2.got) != 0 {
		t.Fatalf("agents were told about campaign notices: %+v %+v", rec.got, rec2.got)
	}
}
