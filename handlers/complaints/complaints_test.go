package complaints_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/complaints"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = time.FixedZone("CST", 8*3600)

const (
	agent   = "UAGENT1"
	agent2  = "UAGENT2"
	manager = "UMGR1"
	admin   = "UADMIN1"
	chanC   = "CCOMPLAINTS"
	chanM   = "CMANAGERS"
)

// env is a router with the complaint desk on a fresh database, a clock the
// test moves, and a fake delivery that records where Slack posts landed.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	r      *bot.Router
	h      *complaints.Complaints
	events handlers.Events

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, ctx: context.Background(), db: storetest.New(t), now: time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)}
	log := slog.New(slog.DiscardHandler)
	clock := handlers.Clock{Loc: shanghai, Now: e.time}
	e.r = bot.NewRouter(e.db, log)
	e.r.Questions(e.db)
	e.h = complaints.New(e.db, clock, handlers.Channels{Complaints: chanC, Managers: chanM}, log, &e.events)
	if err := e.r.Use(e.h.Feature()); err != nil {
		t.Fatal(err)
	}
	if err := handlers.UseBasics(e.r); err != nil {
		t.Fatal(err)
	}
	for id, role := range map[string]domain.Role{agent: domain.RoleAgent, agent2: domain.RoleAgent, manager: domain.RoleManager, admin: domain.RoleAdmin} {
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

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.now = e.now.Add(d)
}

// customer says text on WeChat and returns the answer.
func (e *env) customer(openID, text string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformWeChat, UserID: openID, Text: text, Time: e.time()})
	return bot.PlainText(rep.Content)
}

// staff types a command line in Slack.
func (e *env) staff(user, text string) bot.Reply {
	e.t.Helper()
	return e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: user, ChannelID: "DM1", Text: text})
}

func (e *env) staffText(user, text string) string {
	return bot.PlainText(e.staff(user, text).Content)
}

// press clicks a button (form nil) or submits a form.
func (e *env) press(user, id, value string, form map[string]string) bot.Reply {
	e.t.Helper()
	return e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: user,
		Action: &bot.Action{ID: id, Value: value, Form: form, Channel: chanC, TS: "1.0"}})
}

// sent delivers the outbox as a fake platform would and returns what was
// sent; posts land at ts "<id>.0001" in their channel.
func (e *env) sent() []domain.OutboxItem {
	e.t.Helper()
	items, err := e.db.ClaimOutbox(e.ctx, 1000, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, it := range items {
		if err := e.db.MarkSent(e.ctx, it, domain.Delivery{Channel: it.To, TS: fmt.Sprintf("%d.0001", it.ID)}); err != nil {
			e.t.Fatal(err)
		}
	}
	return items
}

func (e *env) complaint(number string) domain.Complaint {
	e.t.Helper()
	c, err := e.db.Complaint(e.ctx, number)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) timeline(number string) string {
	e.t.Helper()
	evs, err := e.db.ComplaintEvents(e.ctx, e.complaint(number).ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var kinds []string
	for _, ev := range evs {
		kinds = append(kinds, string(ev.Kind))
	}
	return strings.Join(kinds, " ")
}

func only(t *testing.T, items []domain.OutboxItem, what string) domain.OutboxItem {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("%s: %d messages, want 1: %+v", what, len(items), items)
	}
	return items[0]
}

func byPlatform(items []domain.OutboxItem, p domain.Platform) []domain.OutboxItem {
	var out []domain.OutboxItem
	for _, it := range items {
		if it.Platform == p {
			out = append(out, it)
		}
	}
	return out
}

func must(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%q does not contain %q", s, sub)
	}
}

func TestComplaintLifecycle(t *testing.T) {
	e := newEnv(t)
	const cust = "oCustomerAAAA1234"
	const num = "TS-20261122-0001"

	ans := e.customer(cust, "投诉 订单 20261111001 收到的杯子碎了")
	for _, want := range []string{num, "24 小时内回复", "48 小时内处理完毕", "20261111001"} {
		must(t, ans, want)
	}
	post := only(t, e.sent(), "new complaint")
	if post.Platform != domain.PlatformSlack || post.Kind != domain.OutPost || post.To != chanC || post.Ref != "complaint:"+num {
		t.Fatalf("post %+v", post.Outgoing)
	}
	body := bot.PlainText(post.Content)
	for _, want := range []string{num, "商品质量", "20261111001", "收到的杯子碎了", "2026-11-23 10:00", "2026-11-24 10:00", "oCus…1234"} {
		must(t, body, want)
	}
	if strings.Contains(body, cust) {
		t.Error("the Slack post shows the full OpenID")
	}
	var ids []string
	for _, b := range post.Content.Buttons {
		ids = append(ids, b.ActionID+"="+b.Value)
	}
	if got := strings.Join(ids, " "); got != "complaint.claim="+num+" complaint.reply="+num+" complaint.resolve="+num+" complaint.category="+num {
		t.Errorf("buttons %s", got)
	}

	// Claim: the post is updated.
	e.advance(time.Hour)
	must(t, bot.PlainText(e.press(agent, complaints.ActionClaim, num, nil).Content), "You claimed "+num)
	upd := only(t, e.sent(), "claim")
	if upd.Kind != domain.OutUpdate || upd.Ref != "complaint:"+num || upd.RefTS != fmt.Sprintf("%d.0001", post.ID) {
		t.Errorf("claim update %+v", upd)
	}
	must(t, bot.PlainText(upd.Content), "Claimed by @"+agent)
	if c := e.complaint(num); c.Assignee != agent || c.State != domain.ComplaintClaimed {
		t.Errorf("after claim %+v", c)
	}

	// The customer adds something: attached, posted into the thread.
	must(t, e.customer(cust, "杯盖也裂了 😭"), num)
	th := only(t, e.sent(), "customer follow-up")
	if th.ThreadRef != "complaint:"+num || th.ThreadTS != fmt.Sprintf("%d.0001", post.ID) {
		t.Errorf("follow-up not in the thread: %+v", th)
	}
	must(t, bot.PlainText(th.Content), "杯盖也裂了 😭")

	// Reply button opens a form; submitting it reaches the customer.
	rep := e.press(agent, complaints.ActionReply, num, nil)
	if rep.Modal == nil || rep.Modal.CallbackID != complaints.ActionReply || rep.Modal.Value != num || rep.Modal.Inputs[0].ID != "text" {
		t.Fatalf("reply button = %+v", rep)
	}
	if sent := e.sent(); len(sent) != 0 {
		t.Errorf("opening the form sent %d messages", len(sent))
	}
	e.advance(time.Hour)
	must(t, bot.PlainText(e.press(agent, complaints.ActionReply, num, map[string]string{"text": "您好，非常抱歉，新杯子今天为您补发。"}).Content), "Sent to the customer")
	sent := e.sent()
	wc := only(t, byPlatform(sent, domain.PlatformWeChat), "reply")
	if wc.To != cust || wc.Template != complaints.WeChatTemplate {
		t.Errorf("wechat reply %+v", wc.Outgoing)
	}
	must(t, bot.PlainText(wc.Content), "新杯子今天为您补发")
	if c := e.complaint(num); !c.FirstReplyAt.Equal(e.time()) {
		t.Errorf("first reply %v, want %v", c.FirstReplyAt, e.time())
	}

	// A message in the thread is a reply; "note:" keeps it internal.
	thread := func(text string) bot.Reply {
		return e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: agent2, ChannelID: chanC,
			ThreadID: fmt.Sprintf("%d.0001", post.ID), Ambient: true, Text: text})
	}
	first := e.complaint(num).FirstReplyAt
	e.advance(time.Minute)
	must(t, bot.PlainText(thread("note: courier says it was dropped").Content), "Note added")
	if sent := e.sent(); len(sent) != 0 {
		t.Errorf("a note sent %d messages", len(sent))
	}
	must(t, bot.PlainText(thread("顺丰单号 SF123456789，请注意查收").Content), "Sent to the customer")
	wc = only(t, e.sent(), "thread reply")
	if wc.Platform != domain.PlatformWeChat || wc.To != cust {
		t.Errorf("thread reply went to %s %s", wc.Platform, wc.To)
	}
	if !e.complaint(num).FirstReplyAt.Equal(first) {
		t.Error("a later reply moved the first-reply time")
	}
	// Ambient chatter elsewhere is ignored.
	if rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: agent2, ChannelID: chanC,
		ThreadID: "999.0001", Ambient: true, Text: "lunch?"}); !rep.IsZero() {
		t.Errorf("chatter answered: %+v", rep)
	}

	// Resolve: a form, then the customer hears the outcome.
	rep = e.press(agent, complaints.ActionResolve, num, nil)
	if rep.Modal == nil || rep.Modal.CallbackID != complaints.ActionResolve {
		t.Fatalf("resolve button = %+v", rep)
	}
	e.press(agent, complaints.ActionResolve, num, map[string]string{"outcome": "已补发新杯子，并赠送 5 元无门槛优惠券。"})
	sent = e.sent()
	wc = only(t, byPlatform(sent, domain.PlatformWeChat), "resolve")
	must(t, bot.PlainText(wc.Content), "已处理完毕")
	must(t, bot.PlainText(wc.Content), "5 元无门槛优惠券")
	c := e.complaint(num)
	if !c.Resolved() || c.ResolvedBy != agent || c.Outcome == "" {
		t.Errorf("after resolve %+v", c)
	}
	must(t, e.customer(cust, "进度"), "已解决")

	// After the resolution the customer's words still reach the complaint:
	// thanks get a warm answer, a problem an offer to reopen.
	must(t, e.customer(cust, "谢谢"), "不客气")
	must(t, e.customer(cust, "快递还是没到"), "回复「1」重新打开")
	e.sent()

	e.staff(agent, "complaint reopen "+num+" broken again")
	e.sent()
	e.staff(agent, "complaint category "+num+" logistics")
	if got, want := e.timeline(num), "created claimed customer_message replied noted replied resolved customer_message customer_message reopened recategorised"; got != want {
		t.Errorf("timeline %q\nwant     %q", got, want)
	}
	show := e.staffText(agent, "complaint show "+strings.ToLower(num))
	for _, want := range []string{"created by customer", "claimed by @" + agent, "noted by @" + agent2, "resolved by", "reopened by", "物流"} {
		must(t, show, want)
	}
}

func TestComplaintAsksForDetails(t *testing.T) {
	e := newEnv(t)
	ans := e.customer("oA", "投诉")
	must(t, ans, "请直接回复您遇到的问题")
	if len(e.sent()) != 0 {
		t.Fatal("a complaint without details was filed")
	}
	// Menu keywords still work while we wait, and keep the question open.
	must(t, e.customer("oA", "帮助"), "客服小助手")
	e.advance(10 * time.Minute)
	must(t, e.customer("oA", "快递延迟3天未送达"), "TS-20261122-0001")
	post := only(t, e.sent(), "details answer")
	must(t, bot.PlainText(post.Content), "物流")
	// The question is answered: more text is attached to the complaint.
	must(t, e.customer("oA", "今天还是没到"), "补充信息")

	// Cancel.
	e.customer("oB", "我要投诉")
	must(t, e.customer("oB", "取消"), "已取消")
	must(t, e.customer("oB", "杯子碎了"), "抱歉，我没有理解")

	// Expiry: after 30 minutes the answer is just text.
	e.customer("oC", "投诉：")
	e.advance(31 * time.Minute)
	must(t, e.customer("oC", "杯子碎了"), "抱歉，我没有理解")
	if n := len(e.sent()); n != 1 { // only oA's thread post
		t.Errorf("%d messages, want 1", n)
	}
}

func TestComplaintBadInput(t *testing.T) {
	e := newEnv(t)
	long := "投诉 " + strings.Repeat("杯子碎了！", 2100) // about 10 KB... in runes ×3 bytes
	if len(long) < 10*1024 {
		t.Fatalf("test text is %d bytes", len(long))
	}
	ans := e.customer("oLong", long)
	must(t, ans, "TS-20261122-0001")
	must(t, ans, "4000 字")
	c := e.complaint("TS-20261122-0001")
	if n := utf8.RuneCountInString(c.Text); n != domain.MaxComplaintText+1 {
		t.Errorf("stored %d characters", n)
	}
	sql := "投诉 '); DROP TABLE complaints; -- 订单号: 1' OR '1'='1"
	must(t, e.customer("oSQL", sql), "TS-20261122-0002")
	if got := e.complaint("TS-20261122-0002").Text; got != strings.TrimPrefix(sql, "投诉 ") {
		t.Errorf("SQL-looking text stored as %q", got)
	}
	must(t, e.customer("oEmoji", "投诉 🙃🙃 杯子 💔 坏了\x00"), "TS-20261122-0003")
	if got := e.complaint("TS-20261122-0003"); got.Text != "🙃🙃 杯子 💔 坏了" || got.Category != domain.CategoryQuality {
		t.Errorf("emoji complaint %q %s", got.Text, got.Category)
	}
	e.sent()

	// Staff: unknown and malformed numbers, missing text.
	must(t, e.staffText(agent, "complaint show TS-20990101-0001"), "There is no complaint TS-20990101-0001")
	must(t, e.staffText(agent, "complaint reply TS-20990101-0001 hello"), "There is no complaint")
	must(t, e.staffText(agent, "complaint show 42"), "not a complaint number")
	must(t, e.staffText(agent, "complaint reply TS-20261122-0001"), "Say what to tell the customer")
	must(t, e.staffText(agent, "complaint list sideways"), "Unknown word")
	must(t, bot.PlainText(e.press(agent, complaints.ActionClaim, "TS-20990101-0001", nil).Content), "There is no complaint")
	must(t, bot.PlainText(e.press(agent, complaints.ActionClaim, "garbage", nil).Content), "does not name a complaint")

	rep := e.press(agent, complaints.ActionReply, "TS-20261122-0001", map[string]string{"text": "  "})
	if rep.Errors["text"] == "" || !strings.Contains(bot.PlainText(rep.Content), "empty; nothing was sent") {
		t.Errorf("empty reply form = %+v", rep)
	}
	must(t, bot.PlainText(e.press(agent, complaints.ActionResolve, "TS-20261122-0001", map[string]string{"outcome": ""}).Content), "still open")

	// Someone not on the staff list presses a button: refused, nothing changes.
	must(t, bot.PlainText(e.press("UOUTSIDER", complaints.ActionClaim, "TS-20261122-0001", nil).Content), "only the shop's staff")
	must(t, bot.PlainText(e.press("UOUTSIDER", complaints.ActionReply, "TS-20261122-0001", map[string]string{"text": "hi"}).Content), "only the shop's staff")
	if c := e.complaint("TS-20261122-0001"); c.Assignee != "" || !c.FirstReplyAt.IsZero() {
		t.Errorf("outsider changed the complaint: %+v", c)
	}
	must(t, e.staffText("UOUTSIDER", "complaint list"), "not on the staff list")
	// A customer typing staff commands gets nothing from them.
	ans = e.customer("oNobody", "complaint list all")
	if strings.Contains(ans, "TS-") {
		t.Errorf("a customer listed complaints: %q", ans)
	}
	if n := len(e.sent()); n != 0 {
		t.Errorf("bad input sent %d messages", n)
	}
}

func TestComplaintCustomersIsolated(t *testing.T) {
	e := newEnv(t)
	must(t, e.customer("oA", "投诉 杯子碎了"), "TS-20261122-0001")
	must(t, e.customer("oB", "投诉 快递没收到"), "TS-20261122-0002")
	e.sent()
	a := e.customer("oA", "进度")
	if !strings.Contains(a, "TS-20261122-0001") || strings.Contains(a, "TS-20261122-0002") {
		t.Errorf("oA sees %q", a)
	}
	must(t, e.customer("oC", "查询"), "没有投诉记录")
	must(t, e.customer("oB", "还没到"), "TS-20261122-0002")
	th := only(t, e.sent(), "oB follow-up")
	if th.ThreadRef != "complaint:TS-20261122-0002" {
		t.Errorf("oB's words went to %s", th.ThreadRef)
	}
	if tl := e.timeline("TS-20261122-0001"); tl != "created" {
		t.Errorf("oA's complaint got %q", tl)
	}
}

func TestComplaintSLASweep(t *testing.T) {
	e := newEnv(t)
	t0 := e.time()
	e.customer("oA", "投诉 杯子碎了")  // 0001: unclaimed
	e.customer("oB", "投诉 质量有问题") // 0002: claimed by agent
	e.customer("oC", "投诉 杯子坏了")  // 0003: replied in time
	e.staff(agent, "complaint claim TS-20261122-0002")
	e.staff(agent, "complaint reply TS-20261122-0003 您好")
	e.sent()

	sweep := func(at time.Duration) []domain.OutboxItem {
		t.Helper()
		if err := e.h.SweepSLA(e.ctx, t0.Add(at)); err != nil {
			t.Fatal(err)
		}
		return e.sent()
	}
	if got := sweep(17 * time.Hour); len(got) != 0 {
		t.Errorf("at 17h: %d messages", len(got))
	}
	warn := sweep(19 * time.Hour)
	if len(warn) != 2 {
		t.Fatalf("at 19h: %d messages, want 2: %+v", len(warn), warn)
	}
	for _, m := range warn {
		switch {
		case m.Kind == domain.OutPost && m.To == chanC:
			must(t, bot.PlainText(m.Content), "TS-20261122-0001 is unclaimed")
			if m.DedupeKey != "sla:TS-20261122-0001:reply:warn" || m.Content.Buttons[0].ActionID != complaints.ActionClaim {
				t.Errorf("unclaimed warning %+v", m.Outgoing)
			}
		case m.Kind == domain.OutDM && m.To == agent:
			must(t, bot.PlainText(m.Content), "TS-20261122-0002")
			must(t, bot.PlainText(m.Content), "in 5 h")
		default:
			t.Errorf("unexpected warning %+v", m.Outgoing)
		}
	}
	if got := sweep(19 * time.Hour); len(got) != 0 {
		t.Errorf("second run at 19h: %d messages", len(got))
	}
	alerts := sweep(25 * time.Hour)
	if len(alerts) != 2 {
		t.Fatalf("at 25h: %d messages, want 2", len(alerts))
	}
	for _, m := range alerts {
		if m.To != chanM || !strings.HasSuffix(m.DedupeKey, ":reply:breach") {
			t.Errorf("breach alert %+v", m.Outgoing)
		}
		must(t, bot.PlainText(m.Content), "SLA breached")
	}
	if got := sweep(25 * time.Hour); len(got) != 0 {
		t.Errorf("second run at 25h: %d messages", len(got))
	}
	if tl := e.timeline("TS-20261122-0001"); tl != "created warned breached" {
		t.Errorf("timeline %q", tl)
	}
	e.advance(25 * time.Hour)
	must(t, e.staffText(agent, "complaint list overdue"), "TS-20261122-0001")
	must(t, e.staffText(agent, "complaint list mine"), "TS-20261122-0002")

	// Two sweeps at once at 37h: every resolve warning goes out once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.h.SweepSLA(e.ctx, t0.Add(37*time.Hour)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := e.sent(); len(got) != 3 {
		t.Errorf("concurrent sweeps at 37h: %d messages, want 3 resolve warnings", len(got))
	}
}

func TestComplaintPhone(t *testing.T) {
	e := newEnv(t)
	ans := e.staffText(agent, "complaint new phone=13800138000 order=20261111002 category=物流 快递延迟3天未送达")
	must(t, ans, "Logged TS-20261122-0001")
	post := only(t, e.sent(), "phone complaint")
	body := bot.PlainText(post.Content)
	must(t, body, "Phone 138****8000")
	must(t, body, "20261111002")
	if strings.Contains(body, "13800138000") {
		t.Error("the post shows the full phone number")
	}
	must(t, e.staffText(agent, "complaint reply TS-20261122-0001 called, parcel arrives tomorrow"), "nothing was sent on WeChat")
	if wc := byPlatform(e.sent(), domain.PlatformWeChat); len(wc) != 0 {
		t.Errorf("phone reply sent to WeChat: %+v", wc)
	}
	if e.complaint("TS-20261122-0001").FirstReplyAt.IsZero() {
		t.Error("the recorded phone reply did not count")
	}
	must(t, e.staffText(agent, "complaint show TS-20261122-0001"), "13800138000") // staff can call back

	must(t, e.staffText(agent, "complaint new order=1 something"), "phone")
	must(t, e.staffText(agent, "complaint new phone=13800138000"), "Describe the complaint")
	must(t, e.staffText(agent, "complaint new phone=13800138000 category=weather x"), "Unknown category")
	must(t, e.staffText(agent, "complaint new phone=138 杯子碎了"), "like 13800138000")

	// Slack without arguments: the form, then its submission.
	rep := e.staff(agent, "complaint new")
	if rep.Modal == nil || rep.Modal.CallbackID != complaints.ActionNew || len(rep.Modal.Inputs) != 4 {
		t.Fatalf("complaint new in Slack = %+v", rep)
	}
	rep = e.press(agent, complaints.ActionNew, "", map[string]string{"contact": "13900139000", "order": "", "category": "", "text": "客服态度很差"})
	must(t, bot.PlainText(rep.Content), "TS-20261122-0002")
	if c := e.complaint("TS-20261122-0002"); c.Category != domain.CategoryAttitude || c.Source != domain.SourcePhone || c.CreatedBy != agent {
		t.Errorf("form complaint %+v", c)
	}
	rep = e.press(agent, complaints.ActionNew, "", map[string]string{"contact": "", "text": "x"})
	if rep.Errors["contact"] == "" {
		t.Errorf("form without contact = %+v", rep)
	}
	// In the terminal, no arguments means the usage.
	rep = e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformTerminal, UserID: agent, Text: "complaint new"})
	if rep.Modal != nil || !strings.Contains(bot.PlainText(rep.Content), "Usage") {
		t.Errorf("terminal complaint new = %+v", rep)
	}
}

func TestComplaintPolicyCategoryReport(t *testing.T) {
	e := newEnv(t)
	must(t, e.staffText(agent, "complaint policy list"), "退款售后 (refund) — reply within 10 min, resolve within 48 h")
	must(t, e.staffText(agent, "complaint policy set logistics reply=1h"), "needs the admin role")
	must(t, e.staffText(admin, "complaint policy set logistics reply=2h resolve=1h"), "cannot be shorter")
	must(t, e.staffText(admin, "complaint policy set logistics reply=soon"), "not a duration")
	must(t, e.staffText(admin, "complaint policy set logistics reply=2h resolve=4h warn=50"), "reply within 2 h, resolve within 4 h, warn at 50%")
	e.customer("oA", "投诉 快递没收到")
	c := e.complaint("TS-20261122-0001")
	if !c.ReplyWarnAt.Equal(e.time().Add(time.Hour)) || !c.ResolveDue.Equal(e.time().Add(4*time.Hour)) {
		t.Errorf("new policy not applied: %v %v", c.ReplyWarnAt, c.ResolveDue)
	}
	e.sent()

	rep := e.press(agent, complaints.ActionCategory, c.Number, nil)
	if rep.Modal == nil || len(rep.Modal.Inputs[0].Options) != len(domain.Categories) {
		t.Fatalf("category button = %+v", rep)
	}
	e.press(agent, complaints.ActionCategory, c.Number, map[string]string{"category": "退款售后 (refund)"})
	c2 := e.complaint(c.Number)
	if c2.Category != domain.CategoryRefund || !c2.ReplyDue.Equal(c.ReplyDue) {
		t.Errorf("recategorised %s, due %v (was %v)", c2.Category, c2.ReplyDue, c.ReplyDue)
	}
	if upd := only(t, e.sent(), "recategorise"); upd.Kind != domain.OutUpdate {
		t.Errorf("recategorise sent %+v", upd.Outgoing)
	}
	must(t, e.staffText(agent, "complaint category "+c.Number+" refund"), "already")

	must(t, e.staffText(agent, "complaint report"), "needs the manager role")
	e.advance(time.Hour)
	e.staff(agent, "complaint reply "+c.Number+" 您好")
	rep = e.staff(manager, "complaint report 2026-11")
	body := bot.PlainText(rep.Content)
	for _, want := range []string{"Complaint review 2026-11 (vs 2026-10)", "Complaints: 1", "退款售后 (refund): 1 (100%)", "First reply within SLA: 100% (1 of 1)", "median 1 h"} {
		must(t, body, want)
	}
	must(t, e.staffText(manager, "complaint report November"), "YYYY-MM")

	// The job on the 1st posts last month's review to the managers.
	if err := e.h.PostReport(e.ctx, time.Date(2026, 12, 1, 9, 0, 0, 0, shanghai)); err != nil {
		t.Fatal(err)
	}
	var reports []domain.OutboxItem
	for _, m := range e.sent() {
		if m.To == chanM {
			reports = append(reports, m)
		}
	}
	rp := only(t, reports, "monthly report")
	must(t, bot.PlainText(rp.Content), "Complaint review 2026-11")
}
