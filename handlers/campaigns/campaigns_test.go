package campaigns_test

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/campaigns"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = mustLoc("Asia/Shanghai")

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

const (
	owner = "UOWNER1"
	agent = "UAGENT1"
	admin = "UADMIN1"
	chanC = "CCAMPAIGNS"
)

type env struct {
	t   *testing.T
	ctx context.Context
	db  *store.DB
	r   *bot.Router
	h   *campaigns.Campaigns

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, ctx: context.Background(), db: storetest.New(t), now: time.Date(2026, 11, 2, 10, 0, 0, 0, shanghai)}
	log := slog.New(slog.DiscardHandler)
	e.r = bot.NewRouter(e.db, log)
	e.h = campaigns.New(e.db, handlers.Clock{Loc: shanghai, Now: e.time}, handlers.Channels{Campaigns: chanC}, log)
	if err := e.r.Use(e.h.Feature()); err != nil {
		t.Fatal(err)
	}
	if err := handlers.UseBasics(e.r); err != nil {
		t.Fatal(err)
	}
	for id, role := range map[string]domain.Role{owner: domain.RoleAgent, agent: domain.RoleAgent, admin: domain.RoleAdmin} {
		if err := e.db.PutStaff(e.ctx, domain.Staff{UserID: id, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) time() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) set(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		e.t.Fatal(err)
	}
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
	return t
}

func (e *env) staff(user, text string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: user, Text: text, Time: e.time()})
	return bot.PlainText(rep.Content)
}

func (e *env) customer(openID, text string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformWeChat, UserID: openID, Text: text, Time: e.time()})
	return bot.PlainText(rep.Content)
}

// remind runs the job at s and returns what it enqueued since the last
// call, as "kind to: text" lines.
func (e *env) remind(s string) []domain.OutboxItem {
	e.t.Helper()
	at := e.set(s)
	var before int64
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT coalesce(max(id), 0) FROM outbox`).Scan(&before); err != nil {
		e.t.Fatal(err)
	}
	if err := e.h.Remind(e.ctx, at); err != nil {
		e.t.Fatal(err)
	}
	return e.since(before)
}

func (e *env) since(id int64) []domain.OutboxItem {
	e.t.Helper()
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT id FROM outbox WHERE id > $1 ORDER BY id`, id)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []domain.OutboxItem
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		it, err := e.db.Outbox(e.ctx, n)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, it)
	}
	return out
}

func TestOptInAndOut(t *testing.T) {
	e := newEnv(t)
	if err := e.db.WeChatTouch(e.ctx, "oA", e.time(), 5); err != nil {
		t.Fatal(err)
	}
	if got := e.customer("oA", "退订"); !strings.Contains(got, "没有订阅") {
		t.Errorf("opt-out before opting in: %s", got)
	}
	if got := e.customer("oA", "订阅活动"); !strings.Contains(got, "订阅成功") || !strings.Contains(got, "开始前一天") || !strings.Contains(got, "退订") {
		t.Errorf("opt-in: %s", got)
	}
	if got := e.customer("oA", "订阅活动"); !strings.Contains(got, "已经订阅") {
		t.Errorf("opt-in again: %s", got)
	}
	if n, _ := e.db.CampaignOptIns(e.ctx); n != 1 {
		t.Errorf("%d opted in, want 1", n)
	}
	// Unfollowing takes a customer out of the notice's audience.
	if err := e.db.WeChatUnsubscribe(e.ctx, "oA", e.time()); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.db.CampaignOptIns(e.ctx); n != 0 {
		t.Errorf("an unfollowed customer still counts: %d", n)
	}
	if got := e.customer("oA", "退订"); !strings.Contains(got, "已为您退订") {
		t.Errorf("opt-out: %s", got)
	}
	if got := e.customer("oA", "帮助"); !strings.Contains(got, "订阅活动") {
		t.Errorf("the menu does not offer campaign notices: %s", got)
	}
}

func TestTemplatesAndRoles(t *testing.T) {
	e := newEnv(t)
	if got := e.staff(admin, "campaign template list"); !strings.Contains(got, "major — 10 items") || !strings.Contains(got, "weekly — 4 items") {
		t.Fatalf("template list: %s", got)
	}
	if got := e.staff(agent, "campaign template add major T-7 直播彩排"); !strings.Contains(got, "admin") {
		t.Errorf("an agent edited a template: %s", got)
	}
	if got := e.staff(admin, "campaign template add flash T-3wd 商品选品 owner=merchandising"); !strings.Contains(got, "1. T-3wd 商品选品 — merchandising") {
		t.Errorf("template add: %s", got)
	}
	if got := e.staff(admin, "campaign template add flash T-1 活动通知 action=notice"); !strings.Contains(got, "automatic") {
		t.Errorf("template add notice: %s", got)
	}
	if got := e.staff(admin, "campaign template add flash X 随便"); !strings.Contains(got, "offset") {
		t.Errorf("a bad offset: %s", got)
	}
	if got := e.staff(admin, "campaign template show flash"); !strings.Contains(got, "2. T-1 活动通知") {
		t.Errorf("template show: %s", got)
	}
	if got := e.staff(admin, "campaign template remove flash 2"); !strings.Contains(got, "Removed") {
		t.Errorf("template remove: %s", got)
	}
	if got := e.staff(admin, "campaign role set merchandising "+agent); !strings.Contains(got, agent) {
		t.Errorf("role set: %s", got)
	}
	e.staff(owner, "campaign new 闪购 2026-11-16 10:00 template=flash")
	c, err := e.db.Campaign(e.ctx, "闪购")
	if err != nil {
		t.Fatal(err)
	}
	// 3 working days before Monday 11-16: Wednesday 11-11, owned by the
	// merchandising role.
	if len(c.Items) != 1 || c.Items[0].Owner != agent || c.Items[0].Due.Format("2006-01-02") != "2026-11-11" {
		t.Errorf("flash items: %+v", c.Items)
	}
}

func TestRemindersOnceAndCancel(t *testing.T) {
	e := newEnv(t)
	out := e.staff(owner, "campaign new 双12 2026-12-12 10:00 template=major target=1000万")
	if !strings.Contains(out, "2026-11-27") || !strings.Contains(out, "¥10,000,000.00") {
		t.Fatalf("campaign new: %s", out)
	}
	if got := e.staff(owner, "campaign new 双12 2026-12-13 10:00"); !strings.Contains(got, "already on") {
		t.Errorf("a second 双12: %s", got)
	}
	if got := e.staff(owner, "campaign list"); !strings.Contains(got, "双12") {
		t.Errorf("list: %s", got)
	}
	if got := e.staff(owner, "campaign assign 双12:4 "+agent); !strings.Contains(got, "页面设计") || !strings.Contains(got, agent) {
		t.Errorf("assign by place: %s", got)
	}
	if got := e.staff(owner, "campaign assign 双12:4 "+owner); !strings.Contains(got, owner) {
		t.Errorf("assign back: %s", got)
	}
	// T-30 (11-12): early reminder two working days before, on 11-10;
	// the campaigns channel gets its morning summary.
	msgs := dms(e.remind("2026-11-10 09:00"))
	if len(msgs) != 1 || msgs[0].To != owner || !strings.Contains(msgs[0].Content.Title, "活动策划启动") {
		t.Fatalf("reminders on 11-10: %+v", msgs)
	}
	if again := e.remind("2026-11-10 09:05"); len(again) != 0 {
		t.Fatalf("a second run sent again: %+v", again)
	}
	// Done cancels the day reminder and the escalation.
	c, _ := e.db.Campaign(e.ctx, "双12")
	first := c.Items[0]
	if got := e.staff(owner, "campaign done "+itoa(first.ID)); !strings.Contains(got, "Done") {
		t.Fatalf("done: %s", got)
	}
	if msgs := dms(e.remind("2026-11-13 09:00")); len(msgs) != 0 {
		t.Fatalf("after done: %+v", msgs)
	}
	// The morning summary: one per day in the campaigns channel.
	msgs = e.remind("2026-11-16 09:00")
	summaries := 0
	for _, m := range msgs {
		if m.To == chanC && strings.Contains(m.Content.Title, "双12") {
			summaries++
		}
	}
	if summaries != 1 {
		t.Errorf("%d summaries on 11-16: %+v", summaries, msgs)
	}
	if again := e.remind("2026-11-16 09:30"); len(again) != 0 {
		t.Errorf("second run on 11-16: %+v", again)
	}
	if got := e.staff(owner, "campaign cancel 双12"); !strings.Contains(got, "cancelled") {
		t.Fatalf("cancel: %s", got)
	}
	if msgs := e.remind("2026-11-27 19:00"); len(msgs) != 0 {
		t.Errorf("a cancelled campaign still reminds: %+v", msgs)
	}
}

func TestNoticeNeedsTheOwnersApproval(t *testing.T) {
	e := newEnv(t)
	e.staff(owner, "campaign new 双12 2026-12-12 10:00 template=major")
	if got := e.staff(agent, "campaign notice 双12 明天10点，双12活动正式开始，全场满300减50！"); !strings.Contains(got, "asked to approve") {
		t.Fatalf("notice by someone else: %s", got)
	}
	if got := e.staff(agent, "campaign notice 双12 approve"); !strings.Contains(got, "only the campaign's owner") && !strings.Contains(got, "Only the campaign's owner") {
		t.Errorf("approval by someone else: %s", got)
	}
	if got := e.staff(owner, "campaign notice 双12"); !strings.Contains(got, "满300减50") || !strings.Contains(got, "waiting") {
		t.Errorf("notice show: %s", got)
	}
	// Two working days before T-1 the owner is asked to approve it.
	var asked []string
	for _, m := range dms(e.remind("2026-12-09 09:00")) {
		if m.To == owner && strings.Contains(m.Content.Title, "Approve the customer notice") {
			asked = append(asked, m.Content.Buttons[0].ActionID)
		}
	}
	if len(asked) != 1 || asked[0] != campaigns.ActionApprove {
		t.Errorf("approval requests: %v", asked)
	}
	if got := e.staff(owner, "campaign notice 双12 approve"); !strings.Contains(got, "approved") {
		t.Errorf("approve: %s", got)
	}
}

func TestWeeklyRoutineCreatesCampaignsAheadOnce(t *testing.T) {
	e := newEnv(t)
	if got := e.staff(admin, "campaign template repeat weekly mon 10:00 owner="+owner+" name=周一秒杀 hours=12"); !strings.Contains(got, "repeats") {
		t.Fatalf("repeat: %s", got)
	}
	e.remind("2026-11-02 11:00") // a Monday after 10:00
	e.remind("2026-11-02 11:05")
	list, err := e.db.ListCampaigns(e.ctx, true, e.time(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range list {
		names = append(names, c.Name)
	}
	if len(list) != 2 || !strings.Contains(strings.Join(names, ","), "周一秒杀-1109") || !strings.Contains(strings.Join(names, ","), "周一秒杀-1116") {
		t.Fatalf("routine campaigns: %v", names)
	}
	c, _ := e.db.Campaign(e.ctx, "周一秒杀-1109")
	if c.End.Sub(c.Start) != 12*time.Hour || c.Owner != owner || len(c.Items) != 4 {
		t.Errorf("routine campaign: %+v", c)
	}
	days, err := e.db.CampaignDays(e.ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai), shanghai)
	if err != nil || len(days) != 2 || days["2026-11-09"] != "周一秒杀-1109" {
		t.Errorf("campaign days %v, %v", days, err)
	}
}

func TestMoveTellsOwners(t *testing.T) {
	e := newEnv(t)
	e.staff(admin, "campaign role set design "+agent)
	e.staff(owner, "campaign new 双12 2026-12-12 10:00 template=major")
	got := e.staff(owner, "campaign move 双12 2026-12-19 10:00")
	if !strings.Contains(got, "Moved") {
		t.Fatalf("move: %s", got)
	}
	msgs := e.since(0)
	told := map[string]bool{}
	for _, m := range msgs {
		if m.Kind == domain.OutDM && strings.Contains(m.Content.Title, "moved") {
			told[m.To] = true
		}
	}
	if !told[owner] || !told[agent] {
		t.Errorf("owners told: %v", told)
	}
	c, _ := e.db.Campaign(e.ctx, "双12")
	if !c.Start.Equal(time.Date(2026, 12, 19, 10, 0, 0, 0, shanghai)) {
		t.Errorf("start %v", c.Start)
	}
}

func dms(msgs []domain.OutboxItem) []domain.OutboxItem {
	var out []domain.OutboxItem
	for _, m := range msgs {
		if m.Kind == domain.OutDM {
			out = append(out, m)
		}
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestPaceAndReviewFromOrders(t *testing.T) {
	e := newEnv(t)
	e.staff(owner, "campaign new 双12 2026-12-12 10:00 template=major target=100000")
	var evs []domain.OrderEvent
	for i := 0; i < 4; i++ { // ¥10,000 each during the campaign
		evs = append(evs, domain.OrderEvent{ID: "e" + itoa(int64(i)), Type: domain.OrderPaid, OrderID: "o" + itoa(int64(i)),
			CustomerID: "c" + itoa(int64(i)), Total: 1000000, OccurredAt: time.Date(2026, 12, 12, 11+i, 0, 0, 0, shanghai)})
	}
	// A week before, the same hours: ¥4,000 in all, so ¥1,000 a week over 4 weeks.
	evs = append(evs, domain.OrderEvent{ID: "old", Type: domain.OrderPaid, OrderID: "old", CustomerID: "c9",
		Total: 400000, OccurredAt: time.Date(2026, 12, 5, 12, 0, 0, 0, shanghai)})
	if _, err := e.db.IngestOrderEvents(e.ctx, evs, false, nil); err != nil {
		t.Fatal(err)
	}
	e.set("2026-12-12 16:00")
	got := e.staff(owner, "campaign pace 双12")
	for _, want := range []string{"¥40,000.00", "40.0%", "Below plan"} {
		if !strings.Contains(got, want) {
			t.Errorf("pace lacks %q:\n%s", want, got)
		}
	}
	msgs := e.remind("2026-12-14 09:00")
	var review string
	for _, m := range msgs {
		if m.To == chanC && strings.Contains(m.Content.Title, "Review") {
			review = bot.PlainText(m.Content)
		}
	}
	for _, want := range []string{"¥40,000.00 of ¥100,000.00 (40.0%)", "GMV: ¥40,000.00 vs ¥1,000.00", "Satisfaction", "Items finished late or still open"} {
		if !strings.Contains(review, want) {
			t.Errorf("review lacks %q:\n%s", want, review)
		}
	}
	if again := e.remind("2026-12-14 09:05"); len(again) != 0 {
		t.Errorf("the review was posted again: %+v", again)
	}
	if got := e.staff(agent, "campaign review 双12 结论"); !strings.Contains(got, "owner") && !strings.Contains(got, "manager") {
		t.Errorf("someone else completed the review: %s", got)
	}
	if got := e.staff(owner, "campaign review 双12 流量不足，下次提前投放。"); !strings.Contains(got, "completed") || !strings.Contains(got, "流量不足") {
		t.Errorf("review: %s", got)
	}
}

func TestNewCampaignForm(t *testing.T) {
	e := newEnv(t)
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: owner, Text: "campaign new"})
	if rep.Modal == nil || rep.Modal.CallbackID != campaigns.ActionNew {
		t.Fatalf("no form: %+v", rep)
	}
	submit := func(form map[string]string) bot.Reply {
		return e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: owner,
			Action: &bot.Action{ID: campaigns.ActionNew, Form: form}})
	}
	if rep := submit(map[string]string{"name": "双12", "start": "12月12日", "template": "major"}); rep.Errors["start"] == "" {
		t.Errorf("a bad start was accepted: %+v", rep)
	}
	rep = submit(map[string]string{"name": "双12", "start": "2026-12-12 10:00", "template": "major", "target": "1000万"})
	if !strings.Contains(bot.PlainText(rep.Content), "2026-11-27") {
		t.Fatalf("form: %s", bot.PlainText(rep.Content))
	}
	c, err := e.db.Campaign(e.ctx, "双12")
	if err != nil || c.Target != 1000*10000*100 || c.Owner != owner {
		t.Fatalf("campaign from the form: %+v, %v", c, err)
	}
}

// Replicas running the job at the same moment send each reminder once.
func TestRemindersOnceAcrossConcurrentRuns(t *testing.T) {
	e := newEnv(t)
	for _, name := range []string{"双11", "双12", "年货节"} {
		if got := e.staff(owner, "campaign new "+name+" 2026-12-12 10:00 template=major"); !strings.Contains(got, "Created") {
			t.Fatalf("campaign new %s: %s", name, got)
		}
	}
	at := e.set("2026-11-25 09:00")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- e.h.Remind(e.ctx, at)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var reminders int
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT count(*) FROM outbox WHERE kind = 'dm'
		AND content->>'title' LIKE '%is due%'`).Scan(&reminders); err != nil {
		t.Fatal(err)
	}
	// Seven T-14 items per campaign are reminded two working days ahead.
	if reminders != 3*7 {
		t.Fatalf("%d reminders after 4 concurrent runs, want %d", reminders, 3*7)
	}
}

// Done withdraws a reminder still waiting in the outbox.
func TestDoneWithdrawsQueuedReminders(t *testing.T) {
	e := newEnv(t)
	e.staff(owner, "campaign new 双12 2026-12-12 10:00 template=major")
	msgs := dms(e.remind("2026-11-10 09:00"))
	if len(msgs) != 1 {
		t.Fatalf("reminders: %+v", msgs)
	}
	c, _ := e.db.Campaign(e.ctx, "双12")
	e.staff(owner, "campaign done "+itoa(c.Items[0].ID))
	if _, err := e.db.Outbox(e.ctx, msgs[0].ID); err == nil {
		t.Fatal("the queued reminder of a finished item is still in the outbox")
	}
}
