package complaints_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers/complaints"
)

var numberInList = regexp.MustCompile(`\*(TS-\d{8}-\d{4})\*`)

// numbers returns the complaint numbers a list shows, in order.
func numbers(s string) []string {
	var out []string
	for _, m := range numberInList.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// file creates a complaint directly in the store, at created.
func (e *env) file(c domain.Complaint) domain.Complaint {
	e.t.Helper()
	if c.Source == "" {
		c.Source = domain.SourceWeChat
	}
	if c.Category == "" {
		c.Category = domain.Classify(c.Text)
	}
	c.CreatedBy = c.OpenID
	got, err := e.db.CreateComplaint(e.ctx, c, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func nextDue(c domain.Complaint) time.Time {
	if c.FirstReplyAt.IsZero() && c.ReplyDue.Before(c.ResolveDue) {
		return c.ReplyDue
	}
	return c.ResolveDue
}

// TestListAtRiskSoonestFirstAndPaging is the done-when: with 200
// complaints, `complaint list at-risk` shows the soonest due first and
// page=2 continues where page 1 stopped.
func TestListAtRiskSoonestFirstAndPaging(t *testing.T) {
	e := newEnv(t)
	now := e.time()
	cats := []string{"杯子碎了", "快递三天没动", "申请退款没人处理", "发错了颜色", "客服态度很差", "活动规则看不懂"}
	byNumber := map[string]domain.Complaint{}
	for i := 0; i < 200; i++ {
		// Every 4 minutes from 24 hours ago: the older 24-hour ones are
		// past their warning point, the 10-minute ones long overdue.
		created := now.Add(-24*time.Hour + time.Duration(i)*4*time.Minute + time.Minute)
		c := e.file(domain.Complaint{OpenID: fmt.Sprintf("oBulk%03d", i), Text: cats[i%len(cats)], CreatedAt: created})
		if i%5 == 0 {
			if _, err := e.db.UpdateComplaint(e.ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
				c.Reply(agent, "在处理", created.Add(5*time.Minute))
				return domain.ComplaintChange{}, nil
			}); err != nil {
				t.Fatal(err)
			}
			c = e.complaint(c.Number)
		}
		byNumber[c.Number] = c
	}
	// What is at risk, computed here from the complaints themselves.
	var want []domain.Complaint
	for _, c := range byNumber {
		due := nextDue(c)
		warn := c.ResolveWarnAt
		if c.FirstReplyAt.IsZero() && c.ReplyWarnAt.Before(warn) {
			warn = c.ReplyWarnAt
		}
		if !c.Overdue(now) && (!due.After(now.Add(domain.AtRiskWindow)) || !warn.After(now)) {
			want = append(want, c)
		}
	}
	if len(want) <= 25 {
		t.Fatalf("only %d at risk: the test needs more than a page", len(want))
	}

	var got []string
	seen := map[string]bool{}
	out := e.staffText(agent, "complaint list at-risk")
	must(t, out, fmt.Sprintf("1–25 of %d, soonest due first", len(want)))
	for page := 1; ; page++ {
		if page > 1 {
			out = e.staffText(agent, fmt.Sprintf("complaint list at-risk page=%d", page))
		}
		ns := numbers(out)
		if len(ns) == 0 {
			t.Fatalf("page %d is empty:\n%s", page, out)
		}
		for _, n := range ns {
			if seen[n] {
				t.Fatalf("page %d repeats %s", page, n)
			}
			seen[n] = true
		}
		got = append(got, ns...)
		if len(got) >= len(want) {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("pages show %d, want %d", len(got), len(want))
	}
	for i := 1; i < len(got); i++ {
		if nextDue(byNumber[got[i]]).Before(nextDue(byNumber[got[i-1]])) {
			t.Fatalf("%s (due %v) listed after %s (due %v)", got[i], nextDue(byNumber[got[i]]), got[i-1], nextDue(byNumber[got[i-1]]))
		}
	}
	// The first is the soonest due of all.
	for _, c := range want {
		if nextDue(c).Before(nextDue(byNumber[got[0]])) {
			t.Errorf("%s is due before the first listed %s", c.Number, got[0])
		}
	}

	// The Slack More button carries the filter and the next page.
	rep := e.staff(agent, "complaint list at-risk category=refund")
	var more *domain.Button
	for i, b := range rep.Buttons {
		if b.ActionID == complaints.ActionMore {
			more = &rep.Buttons[i]
		}
	}
	refundAtRisk := 0
	for _, c := range want {
		if c.Category == domain.CategoryRefund {
			refundAtRisk++
		}
	}
	if refundAtRisk > 25 {
		if more == nil || more.Value != "at-risk category=refund page=2" {
			t.Fatalf("More button = %+v", more)
		}
		page2 := bot.PlainText(e.press(agent, complaints.ActionMore, more.Value, nil).Content)
		must(t, page2, "26–")
		for _, n := range numbers(page2) {
			if byNumber[n].Category != domain.CategoryRefund {
				t.Errorf("More lost the category filter: %s is %s", n, byNumber[n].Category)
			}
		}
	} else if more != nil {
		t.Errorf("a single page has a More button")
	}

	// Open lists: a 10-minute after-sales complaint is never buried under
	// newer 24-hour ones.
	open := numbers(e.staffText(agent, "complaint list"))
	if len(open) != 25 {
		t.Fatalf("open list shows %d", len(open))
	}
	for i := 1; i < len(open); i++ {
		if nextDue(byNumber[open[i]]).Before(nextDue(byNumber[open[i-1]])) {
			t.Fatalf("open list out of due order at %d", i)
		}
	}

	// Filters combine; unknown words are refused with the usage.
	list := e.staffText(agent, "complaint list all category=order from=2026-11-21 to=2026-11-21")
	for _, n := range numbers(list) {
		c := byNumber[n]
		if c.Category != domain.CategoryOrder || c.CreatedAt.In(shanghai).Format("2006-01-02") != "2026-11-21" {
			t.Errorf("%s (%s, %v) in a list of yesterday's order anomalies", n, c.Category, c.CreatedAt)
		}
	}
	if len(numbers(list)) == 0 {
		t.Error("no order anomalies yesterday")
	}
	bad := e.staffText(agent, "complaint list at-risk sideways")
	must(t, bad, `Unknown word "sideways"`)
	must(t, bad, "Usage: `complaint list [open|mine|overdue|at-risk|all]")
	must(t, e.staffText(agent, "complaint list page=99"), "past the end")
	e.staff(agent2, "complaint claim "+got[0])
	mine := e.staffText(agent, "complaint list open assignee=<@"+agent2+">")
	if ns := numbers(mine); len(ns) != 1 || ns[0] != got[0] {
		t.Errorf("assignee filter: %v", ns)
	}
	if ns := numbers(e.staffText(agent2, "complaint list mine")); len(ns) != 1 {
		t.Errorf("mine: %v", ns)
	}
}

func TestFindAndShowByOrder(t *testing.T) {
	e := newEnv(t)
	a := e.file(domain.Complaint{OpenID: "oFindAAAA1111", Text: "订单 20261111001 收到的保温杯盖子裂开了", Order: "20261111001", CreatedAt: e.time()})
	b := e.file(domain.Complaint{Source: domain.SourcePhone, Contact: "138-0013-8000", Text: "快递三天没有更新物流", CreatedAt: e.time()})
	c := e.file(domain.Complaint{OpenID: "oFindBBBB2222", Text: "The parcel never arrived", Order: "20261111009", CreatedAt: e.time()})
	d := e.file(domain.Complaint{OpenID: "oFindBBBB2222", Text: "杯子又碎了 100%_真的", Order: "20261111009", CreatedAt: e.time()})

	for q, want := range map[string][]string{
		"保温杯":              {a.Number}, // a Chinese word inside a sentence
		"20261111001":      {a.Number}, // order number
		"13800138000":      {b.Number}, // phone typed without dashes
		"0013-8000":        {b.Number}, // part of it
		"oFindBBBB2222":    {d.Number, c.Number},
		c.Number:           {c.Number}, // complaint number
		"parcel arrived":   {c.Number}, // every word must match
		"杯 裂":              {a.Number},
		"100%_":            {d.Number}, // LIKE wildcards are literal
		"ts-20261122-0002": {b.Number},
		"不存在的东西":           nil,
	} {
		out := e.staffText(agent, "complaint find "+q)
		if got := numbers(out); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("find %q = %v, want %v\n%s", q, got, want, out)
		}
	}
	must(t, e.staffText(agent, "complaint find"), "Usage")

	// Many results page, with a More button carrying the search.
	for i := 0; i < 30; i++ {
		e.file(domain.Complaint{OpenID: fmt.Sprintf("oPage%02d", i), Text: fmt.Sprintf("第%d个保温杯漏水", i), CreatedAt: e.time()})
	}
	rep := e.staff(agent, "complaint find 保温杯")
	if got := numbers(bot.PlainText(rep.Content)); len(got) != 25 || len(rep.Buttons) != 1 || rep.Buttons[0].Value != "保温杯 page=2" {
		t.Fatalf("first page: %d, buttons %+v", len(got), rep.Buttons)
	}
	page2 := bot.PlainText(e.press(agent, rep.Buttons[0].ActionID, rep.Buttons[0].Value, nil).Content)
	if got := numbers(page2); len(got) != 6 || !strings.Contains(page2, "26–31 of 31") {
		t.Errorf("second page:\n%s", page2)
	}

	// show takes an order number matching one complaint…
	must(t, e.staffText(agent, "complaint show 20261111001"), "Complaint "+a.Number)
	// …lists them when several match…
	several := e.staffText(agent, "complaint show 20261111009")
	if got := numbers(several); len(got) != 2 {
		t.Errorf("show of an order with two complaints:\n%s", several)
	}
	// …and says what it is not otherwise.
	must(t, e.staffText(agent, "complaint show 99999"), "not a complaint number")
}

func TestStatsOnDemand(t *testing.T) {
	e := newEnv(t)
	const c1, c2 = "TS-20261122-0001", "TS-20261122-0002"
	e.customer("oS1", "投诉 杯子碎了")
	e.customer("oS2", "投诉 申请退款没人管")
	e.customer("oS3", "投诉 快递三天没动")
	e.advance(5 * time.Minute)
	e.staff(agent, "complaint reply "+c1+" 您好，马上为您补发")
	e.staff(agent2, "complaint reply "+c2+" 您好，退款已提交")
	e.advance(time.Hour)
	e.staff(agent, "complaint resolve "+c1+" 已补发")
	e.advance(30 * time.Minute)
	e.sent()

	out := e.staffText(manager, "complaint stats")
	for _, want := range []string{"Complaint SLAs, today", "Received: 3", "Still open: 2 (0 overdue)",
		"First reply within SLA: 100% (2 of 2)", "Median first reply: 5 min", "Median resolution: 1 h 5 min",
		"商品质量 (quality) 1 (33%)", "@" + agent + ": 1, 1 resolved", "@" + agent2 + ": 1, 0 resolved", "unclaimed: 1, 0 resolved"} {
		must(t, out, want)
	}
	if strings.Contains(out, "m0s") {
		t.Errorf("Go durations in stats:\n%s", out)
	}
	// The after-sales complaint's 10-minute reply was met; the logistics
	// one is at risk once its warning point passes, breached after.
	e.advance(18 * time.Hour)
	must(t, e.staffText(manager, "complaint stats 2026-11-22"), "At risk now: 1")
	e.advance(6 * time.Hour)
	out = e.staffText(manager, "complaint stats 2026-11-22")
	must(t, out, "Breached: 1")
	must(t, out, "First reply within SLA: 67% (2 of 3)")

	for _, p := range []string{"week", "month", "2026-11-20..2026-11-23", "2026-11", "yesterday"} {
		if out := e.staffText(manager, "complaint stats "+p); !strings.Contains(out, "Complaint SLAs") {
			t.Errorf("stats %s:\n%s", p, out)
		}
	}
	must(t, e.staffText(manager, "complaint stats 2026-11-01..2026-11-21"), "Received: 0")
	must(t, e.staffText(manager, "complaint stats 2027-01"), "has not happened yet")
	must(t, e.staffText(manager, "complaint stats 2026-11-30..2026-11-01"), "ends before it starts")
	must(t, e.staffText(manager, "complaint stats fortnight"), "Usage")
}

func TestReportRoundingAndFutureMonth(t *testing.T) {
	e := newEnv(t)
	e.customer("oR1", "投诉 杯子碎了")
	e.customer("oR2", "投诉 快递三天没动")
	e.customer("oR3", "投诉 客服态度很差")
	e.advance(10 * 24 * time.Hour) // December
	out := e.staffText(manager, "complaint report 2026-11")
	must(t, out, "(33%)")
	must(t, out, "rounded to whole percents, so they add up to 99%")
	must(t, e.staffText(manager, "complaint report 2027-01"), "has not happened yet")
	must(t, e.staffText(manager, "complaint report 2026-12"), "not over yet")
}

// TestFollowUpAfterResolution is the done-when: a resolved complaint's
// customer writing 还是没收到 lands in its thread and the agent reopens it
// with one click.
func TestFollowUpAfterResolution(t *testing.T) {
	e := newEnv(t)
	const cust, num = "oFollow1234", "TS-20261122-0001"
	e.customer(cust, "投诉 快递三天没动")
	post := only(t, e.sent(), "new complaint")
	e.staff(agent, "complaint claim "+num)
	e.staff(agent, "complaint resolve "+num+" 已催快递，明天送达")
	e.sent()
	e.advance(2 * 24 * time.Hour)

	ans := e.customer(cust, "还是没收到")
	must(t, ans, num)
	must(t, ans, "回复「1」重新打开")
	if strings.Contains(ans, "没有理解") {
		t.Fatalf("fallback: %s", ans)
	}
	th := only(t, e.sent(), "follow-up in the thread")
	if th.ThreadRef != "complaint:"+num || th.ThreadTS != fmt.Sprintf("%d.0001", post.ID) {
		t.Fatalf("not in the thread: %+v", th.Outgoing)
	}
	must(t, bot.PlainText(th.Content), "还是没收到")
	if len(th.Content.Buttons) != 1 || th.Content.Buttons[0].ActionID != complaints.ActionReopen || th.Content.Buttons[0].Value != num {
		t.Fatalf("thread post buttons %+v", th.Content.Buttons)
	}
	// One click.
	must(t, bot.PlainText(e.press(agent, th.Content.Buttons[0].ActionID, th.Content.Buttons[0].Value, nil).Content), num+" is open again")
	if c := e.complaint(num); c.Resolved() {
		t.Fatal("still resolved")
	}
	must(t, bot.PlainText(only(t, byPlatform(e.sent(), domain.PlatformWeChat), "customer told").Content), "已重新打开")
	// The offer lapses harmlessly: "1" now is just more detail.
	must(t, e.customer(cust, "1"), "已收到")
	e.sent()

	// Resolved again; this time the customer reopens it.
	e.staff(agent, "complaint resolve "+num+" 已重新派送")
	e.sent()
	e.advance(time.Hour)
	must(t, e.customer(cust, "还是没有送到"), "回复「1」")
	e.sent()
	must(t, e.customer(cust, "1"), "已重新打开")
	if c := e.complaint(num); c.Resolved() {
		t.Fatal("the customer's 1 did not reopen it")
	}
	var said []string
	for _, m := range e.sent() {
		said = append(said, bot.PlainText(m.Content))
	}
	must(t, strings.Join(said, "\n"), "The customer reopened this complaint")
}

func TestThanksAndLateFollowUps(t *testing.T) {
	e := newEnv(t)
	const cust, num = "oThanks1234", "TS-20261122-0001"
	e.customer(cust, "投诉 杯子碎了")
	e.staff(agent, "complaint resolve "+num+" 已补发")
	e.sent()
	ans := e.customer(cust, "謝謝！")
	must(t, ans, "不客气")
	th := only(t, e.sent(), "thanks in the thread")
	must(t, bot.PlainText(th.Content), "謝謝")
	must(t, e.customer(cust, "好的，谢谢"), "不客气")
	only(t, e.sent(), "thanks again in the thread")
	// "No" to the reopen offer.
	e.customer(cust, "还是有点问题")
	e.sent()
	must(t, e.customer(cust, "不用了"), "保持已处理")
	if e.complaint(num).Resolved() == false {
		t.Error("reopened on no")
	}
	// After 7 days the complaint no longer takes the customer's words.
	e.advance(8 * 24 * time.Hour)
	must(t, e.customer(cust, "还是没收到"), "抱歉，我没有理解")
	must(t, e.customer(cust, "谢谢"), "不客气")
	if sent := e.sent(); len(sent) != 0 {
		t.Errorf("an old complaint got %d messages", len(sent))
	}
}

func TestHumanWithdrawWhichAndLimit(t *testing.T) {
	e := newEnv(t)
	// 人工客服 without a complaint: asks, then opens a conversation (a
	// complaint with a thread) with what the customer says.
	must(t, e.customer("oHuman", "人工客服"), "转接人工客服")
	must(t, e.customer("oHuman", "我的会员积分不见了"), "已为您转接人工客服，编号：TS-20261122-0001")
	sent := e.sent()
	if len(sent) != 2 || !strings.Contains(bot.PlainText(sent[1].Content), "talk to a person") || sent[1].ThreadRef == "" {
		t.Fatalf("human conversation posts %+v", sent)
	}
	// With an open complaint: its agent is told.
	e.staff(agent, "complaint claim TS-20261122-0001")
	e.sent()
	must(t, e.customer("oHuman", "转人工"), "已通知负责您投诉 TS-20261122-0001 的人工客服")
	sent = e.sent()
	if len(sent) != 2 || sent[1].Kind != domain.OutDM || sent[1].To != agent {
		t.Errorf("human request with an open complaint: %+v", sent)
	}

	// Withdraw: confirmed, not on a whim.
	must(t, e.customer("oHuman", "撤销投诉"), "确认撤销投诉 TS-20261122-0001")
	must(t, e.customer("oHuman", "确认"), "已撤销")
	c := e.complaint("TS-20261122-0001")
	if !c.Withdrawn() {
		t.Fatalf("not withdrawn: %+v", c)
	}
	sent = e.sent()
	var dm bool
	for _, m := range sent {
		dm = dm || (m.Kind == domain.OutDM && m.To == agent)
		if strings.Contains(bot.PlainText(m.Content), "oHuman") {
			t.Errorf("the OpenID leaked: %s", bot.PlainText(m.Content))
		}
	}
	if !dm {
		t.Error("the assignee was not told of the withdrawal")
	}
	must(t, e.staffText(agent, "complaint show TS-20261122-0001"), "withdrawn by customer")
	must(t, e.customer("oHuman", "撤销投诉"), "没有处理中的投诉")
	// A withdrawn complaint takes no follow-ups.
	must(t, e.customer("oHuman", "算了吧我再想想"), "抱歉，我没有理解")

	// Several open complaints: which one?
	e.customer("oMany", "投诉 杯子碎了")
	e.customer("oMany", "投诉 快递三天没动")
	e.sent()
	ask := e.customer("oMany", "今天能处理吗")
	must(t, ask, "哪一条")
	must(t, ask, "1. TS-20261122-0003")
	must(t, e.customer("oMany", "2"), "TS-20261122-0002")
	th := only(t, e.sent(), "the kept message")
	if th.ThreadRef != "complaint:TS-20261122-0002" || !strings.Contains(bot.PlainText(th.Content), "今天能处理吗") {
		t.Errorf("went to %s: %s", th.ThreadRef, bot.PlainText(th.Content))
	}
	// Naming a complaint needs no question.
	must(t, e.customer("oMany", "20261122-0003 杯子的事怎么样了"), "TS-20261122-0003")
	e.sent()
	// Withdrawing with several asks which, and takes a number.
	must(t, e.customer("oMany", "撤销投诉"), "撤销投诉 TS-20261122-0003")
	must(t, e.customer("oMany", "撤销投诉 TS-20261122-0002"), "确认撤销投诉 TS-20261122-0002")
	must(t, e.customer("oMany", "不用"), "继续处理")

	// The daily limit answers politely.
	for i := 0; i < 5; i++ {
		must(t, e.customer("oLimit", fmt.Sprintf("投诉 第%d个杯子碎了", i+1)), "已受理")
	}
	out := e.customer("oLimit", "投诉 第6个杯子碎了")
	must(t, out, "今天已经提交了 5 条投诉")
	e.advance(24 * time.Hour)
	must(t, e.customer("oLimit", "投诉 又一个杯子碎了"), "已受理")
	e.h.DailyLimit = 1
	e.customer("oLimit2", "投诉 杯子碎了")
	must(t, e.customer("oLimit2", "投诉 还有一个碎了"), "今天已经提交了 1 条投诉")
}

func TestTraditionalAndVariants(t *testing.T) {
	e := newEnv(t)
	must(t, e.customer("oTrad", "投訴 羽絨服質量太差了"), "已受理")
	if c := e.complaint("TS-20261122-0001"); c.Category != domain.CategoryQuality {
		t.Errorf("category %s", c.Category)
	}
	for _, s := range []string{"進度", "查看进度", "查詢進度", "我的投訴"} {
		must(t, e.customer("oTrad", s), "您的投诉处理情况")
	}
	for _, s := range []string{"ＨＥＬＰ", "幫助", "Help"} {
		must(t, e.customer("oTrad", s), "回复「帮助」可随时查看本菜单")
	}
}

func TestAgentWorkflow(t *testing.T) {
	e := newEnv(t)
	const num = "TS-20261122-0001"
	e.customer("oAgent", "投诉 羽绒服质量太差了，拉链也坏了，联系了好几次都没人理")
	if c := e.complaint(num); c.Category != domain.CategoryQuality {
		t.Errorf("classified %s", c.Category)
	}
	e.sent()
	// Replying claims an unclaimed complaint.
	must(t, e.staffText(agent, "complaint reply "+num+" 您好，我们马上处理"), "yours now")
	if c := e.complaint(num); c.Assignee != agent {
		t.Errorf("assignee %q", c.Assignee)
	}
	e.sent()
	// Claiming what someone else holds says so and tells them.
	must(t, e.staffText(agent2, "complaint claim "+num), "was claimed by @"+agent)
	var told bool
	for _, m := range e.sent() {
		told = told || (m.Kind == domain.OutDM && m.To == agent && strings.Contains(bot.PlainText(m.Content), "took over"))
	}
	if !told {
		t.Error("the previous assignee was not told")
	}
	// Replying to a resolved complaint asks to reopen first, with a button.
	e.staff(agent2, "complaint resolve "+num+" 已换新")
	e.sent()
	rep := e.staff(agent2, "complaint reply "+num+" 还有问题吗")
	must(t, bot.PlainText(rep.Content), "Reopen it first")
	if len(rep.Buttons) != 1 || rep.Buttons[0].ActionID != complaints.ActionReopen {
		t.Errorf("buttons %+v", rep.Buttons)
	}
	if wc := byPlatform(e.sent(), domain.PlatformWeChat); len(wc) != 0 {
		t.Error("a reply to a resolved complaint was sent")
	}
	// Corrections are counted.
	e.customer("oAgent2", "投诉 快递三天没动")
	e.customer("oAgent3", "投诉 快递丢了")
	e.staff(agent, "complaint category TS-20261122-0002 refund")
	out := e.staffText(agent, "complaint categories")
	must(t, out, "物流 (logistics): 2, corrected 1 (50%) → 退款售后 1")
	must(t, out, "商品质量 (quality): 1, corrected 0 (0%)")
	// The timeline speaks people's words.
	e.customer("oAgent2", "补充一下")
	show := e.staffText(agent, "complaint show TS-20261122-0002")
	must(t, show, "message from the customer: 补充一下")
	must(t, show, "category changed by")
	if strings.Contains(show, "customer_message") || strings.Contains(show, "recategorised") {
		t.Errorf("internal names in the timeline:\n%s", show)
	}
	// "You are an agent".
	must(t, e.staffText(agent, "complaint policy set refund reply=5m"), "you are an agent")
	// reply=0m is explained, durations read as people write them.
	must(t, e.staffText(admin, "complaint policy set refund reply=0m"), "at least 1 min")
	must(t, e.staffText(admin, "complaint policy set refund reply=30m resolve=20m"), "(20 min) cannot be shorter than the reply window (30 min)")
}
