package wechat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

// TestSurveyMenu: a question with choices goes as a msgmenu; where the
// account answers 40200 (test accounts) it goes as plain text with the
// choices as a line; a survey to a customer outside the window with no
// template is counted unreachable and nobody is told.
func TestSurveyMenu(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	db := storetest.New(t)
	ctx := context.Background()
	acc := plainAccount(t)
	now := time.Now()
	menu, plain, far := "oMenu1"+sfx, "oMenu2"+sfx, "oMenu3"+sfx
	for _, id := range []string{menu, plain} {
		if err := db.WeChatTouch(ctx, id, now.Add(-time.Hour), allowancePerMessage); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.WeChatTouch(ctx, far, now.Add(-50*time.Hour), allowancePerMessage); err != nil {
		t.Fatal(err)
	}
	fake.failNext(plain, CodeNoMsgMenu)
	q := domain.Content{Text: "您对本次购物体验满意吗？请回复1-5分", Choices: []string{"5分 非常满意", "4分 满意", "3分 一般", "2分 不满意", "1分 非常不满意"}}
	var msgs []domain.Outgoing
	for _, id := range []string{menu, plain, far} {
		msgs = append(msgs, domain.Outgoing{Platform: domain.PlatformWeChat, To: id, Template: "survey",
			Purpose: domain.PurposeSurvey, Content: q})
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	d, rec := newDispatcher(db, newSender(db, acc, SenderOptions{Agents: "C0AGENTS"}))
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	got := fake.sentTo(menu)
	if len(got) != 1 || got[0].API != "msgmenu" || got[0].Text != q.Text || len(got[0].Menu) != 5 || got[0].Menu[1] != "2:4分 满意" {
		t.Fatalf("menu customer got %+v", got)
	}
	got = fake.sentTo(plain)
	if len(got) != 1 || got[0].API != "custom" || !strings.Contains(got[0].Text, q.Text) || !strings.Contains(got[0].Text, "2分 不满意") {
		t.Fatalf("customer without msgmenu got %+v", got)
	}
	if got := fake.sentTo(far); len(got) != 0 {
		t.Fatalf("customer outside the window got %+v", got)
	}
	if len(rec.got) != 0 {
		t.Fatalf("agents were told of a survey: %+v", rec.got)
	}
	n, err := db.UnreachableCount(ctx, domain.PurposeSurvey, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("unreachable %d, %v", n, err)
	}
}
