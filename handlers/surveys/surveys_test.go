package surveys_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/complaints"
	"github.com/opsbot/opsbot/handlers/surveys"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = time.FixedZone("CST", 8*3600)

const (
	agent   = "UAGENT1"
	manager = "UMGR1"
	admin   = "UADMIN1"
	chanC   = "CCOMPLAINTS"
	chanM   = "CMANAGERS"
)

// env is a router with the complaint desk and surveys on a fresh
// database, and a clock the test moves.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	r      *bot.Router
	s      *surveys.Surveys
	desk   *complaints.Complaints
	events handlers.Events

	mu  sync.Mutex
	now time.Time
}

func newEnv(t *testing.T, template bool) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, ctx: context.Background(), db: storetest.New(t), now: time.Date(2026, 11, 12, 10, 0, 0, 0, shanghai)}
	log := slog.New(slog.DiscardHandler)
	clock := handlers.Clock{Loc: shanghai, Now: e.time}
	ch := handlers.Channels{Complaints: chanC, Managers: chanM}
	e.r = bot.NewRouter(e.db, log)
	e.r.Questions(e.db)
	e.desk = complaints.New(e.db, clock, ch, log, &e.events)
	e.events.HandleOpenCase(e.desk.OpenCase)
	e.s = surveys.New(e.db, clock, ch, log, &e.events, template)
	for _, f := range []bot.Feature{e.desk.Feature(), e.s.Feature()} {
		if err := e.r.Use(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := handlers.UseBasics(e.r); err != nil {
		t.Fatal(err)
	}
	for id, role := range map[string]domain.Role{agent: domain.RoleAgent, manager: domain.RoleManager, admin: domain.RoleAdmin} {
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

// wrote records that a customer wrote now (their window opens).
func (e *env) wrote(openID string) {
	e.t.Helper()
	if err := e.db.WeChatTouch(e.ctx, openID, e.time(), 5); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) customer(openID, text string) string {
	e.t.Helper()
	e.wrote(openID)
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformWeChat, UserID: openID, Text: text, Time: e.time()})
	return bot.PlainText(rep.Content)
}

func (e *env) staff(user, text string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: user, ChannelID: "DM1", Text: text})
	return bot.PlainText(rep.Content)
}

// completed sends an order.completed event through the events, as the
// intake does, in a transaction.
func (e *env) completed(orderID, openID string, at time.Time) {
	e.t.Helper()
	err := e.db.InTx(e.ctx, func(tx *store.DB) error {
		return e.events.Order(e.ctx, tx, domain.OrderEvent{ID: "ev-" + orderID, Type: domain.OrderCompleted,
			OrderID: orderID, CustomerID: "c-" + openID, WeChatOpenID: openID, OccurredAt: at})
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// send runs the survey job now, delivers the outbox and returns the survey
// questions and Slack posts in it, by recipient.
func (e *env) send() map[string][]domain.OutboxItem {
	e.t.Helper()
	if _, err := e.s.Send(e.ctx, e.time()); err != nil {
		e.t.Fatal(err)
	}
	items, err := e.db.ClaimOutbox(e.ctx, 1000, time.Minute)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]domain.OutboxItem{}
	for _, it := range items {
		if it.Platform != domain.PlatformWeChat || it.Purpose == domain.PurposeSurvey {
			out[it.To] = append(out[it.To], it)
		}
		if err := e.db.MarkSent(e.ctx, it, domain.Delivery{Channel: it.To, TS: "1.0"}); err != nil {
			e.t.Fatal(err)
		}
	}
	return out
}

func (e *env) survey(trigger domain.SurveyTrigger, subject string) domain.Survey {
	e.t.Helper()
	s, err := e.db.SurveyFor(e.ctx, trigger, subject)
	if err != nil {
		e.t.Fatalf("survey of %s: %v", subject, err)
	}
	return s
}

func TestWhenToAsk(t *testing.T) {
	e := newEnv(t, false)
	now := e.time()
	e.wrote("oIn")
	e.wrote("oCool")
	e.wrote("oComplained")
	e.wrote("oGone")
	if err := e.db.WeChatUnsubscribe(e.ctx, "oGone", now); err != nil {
		t.Fatal(err)
	}
	if got := e.customer("oComplained", "投诉 杯子碎了"); !strings.Contains(got, "已受理") {
		t.Fatal(got)
	}
	e.completed("A1", "oIn", now)
	e.completed("C1", "oCool", now)
	e.completed("C2", "oCool", now.Add(time.Minute)) // a second order the same day
	e.completed("P1", "oComplained", now)
	e.completed("G1", "oGone", now)
	e.completed("OLD", "oIn", now.Add(-10*24*time.Hour)) // history: too old to ask about
	e.completed("N1", "", now)                           // no OpenID: nobody to ask
	if _, err := e.db.SurveyFor(e.ctx, domain.TriggerOrder, "OLD"); err == nil {
		t.Error("a survey was scheduled for an order completed 10 days ago")
	}
	e.advance(time.Hour)
	if sent := e.send(); len(sent["oIn"]) != 0 {
		t.Fatal("sent before the delay")
	}
	e.advance(time.Hour + time.Minute)
	sent := e.send()
	if len(sent["oIn"]) != 1 || sent["oIn"][0].Purpose != domain.PurposeSurvey || len(sent["oIn"][0].Content.Choices) != 5 {
		t.Fatalf("oIn got %+v", sent["oIn"])
	}
	if len(sent["oCool"]) != 1 {
		t.Fatalf("oCool got %d questions for two orders, want 1", len(sent["oCool"]))
	}
	for subject, reason := range map[string]domain.SkipReason{"P1": domain.SkipOpenComplaint, "G1": domain.SkipUnfollowed} {
		if s := e.survey(domain.TriggerOrder, subject); s.State != domain.SurveySkipped || s.SkipReason != reason {
			t.Errorf("%s: %s %q, want skipped %q", subject, s.State, s.SkipReason, reason)
		}
	}
	a, b := e.survey(domain.TriggerOrder, "C1"), e.survey(domain.TriggerOrder, "C2")
	if a.State != domain.SurveySent || b.SkipReason != domain.SkipCooldown {
		t.Errorf("cooldown: C1 %s, C2 %s %q", a.State, b.State, b.SkipReason)
	}
	// A later order inside the cooldown is skipped; after it, asked.
	e.wrote("oIn")
	e.completed("A2", "oIn", e.time())
	e.advance(2*time.Hour + time.Minute)
	e.send()
	if s := e.survey(domain.TriggerOrder, "A2"); s.SkipReason != domain.SkipCooldown {
		t.Errorf("A2 inside the cooldown: %s %q", s.State, s.SkipReason)
	}
	e.advance(15 * 24 * time.Hour)
	e.wrote("oIn")
	e.completed("A3", "oIn", e.time())
	e.advance(2*time.Hour + time.Minute)
	if sent := e.send(); len(sent["oIn"]) != 1 {
		t.Fatalf("after the cooldown: %+v", sent["oIn"])
	}
}

func TestReminderAndExpiry(t *testing.T) {
	e := newEnv(t, false)
	e.wrote("oR")
	e.wrote("oQuiet")
	e.completed("R1", "oR", e.time())
	e.completed("Q1", "oQuiet", e.time())
	e.advance(2 * time.Hour)
	if sent := e.send(); len(sent["oR"]) != 1 || len(sent["oQuiet"]) != 1 {
		t.Fatalf("questions: %v", sent)
	}
	// oR writes again 20 h later (window open at the reminder); oQuiet
	// does not (window closed by then? no: 26 h < 48 h — so close it).
	e.advance(20 * time.Hour)
	e.customer("oR", "你好")
	if err := e.db.WeChatCloseWindow(e.ctx, "oQuiet"); err != nil {
		t.Fatal(err)
	}
	e.advance(4*time.Hour + time.Minute)
	sent := e.send()
	if len(sent["oR"]) != 1 || !strings.Contains(sent["oR"][0].Content.Text, "温馨提醒") {
		t.Fatalf("reminder: %+v", sent["oR"])
	}
	if len(sent["oQuiet"]) != 0 {
		t.Fatal("a reminder went to a customer without quota")
	}
	e.advance(time.Hour)
	if sent := e.send(); len(sent) != 0 {
		t.Fatalf("a second reminder: %v", sent)
	}
	// After 72 h the survey expires and a score is no score.
	e.advance(48 * time.Hour)
	e.send()
	if s := e.survey(domain.TriggerOrder, "R1"); s.State != domain.SurveyExpired {
		t.Fatalf("R1 after 75 h: %s", s.State)
	}
	if got := e.customer("oR", "5"); strings.Contains(got, "感谢") {
		t.Fatalf("an answer after the expiry was taken: %s", got)
	}
	if got := e.customer("oNobody", "4"); strings.Contains(got, "感谢") {
		t.Fatalf("an answer to no survey was taken: %s", got)
	}
}

func TestAnswersPassThrough(t *testing.T) {
	e := newEnv(t, false)
	e.wrote("oP")
	e.completed("P1", "oP", e.time())
	e.advance(2 * time.Hour)
	e.send()
	// While the survey waits, other features still answer.
	if got := e.customer("oP", "投诉 快递三天没到"); !strings.Contains(got, "已受理") {
		t.Fatalf("complaint while a survey waits: %s", got)
	}
	if got := e.customer("oP", "进度"); !strings.Contains(got, "投诉处理情况") {
		t.Fatalf("progress while a survey waits: %s", got)
	}
	if s := e.survey(domain.TriggerOrder, "P1"); s.State != domain.SurveySent {
		t.Fatalf("survey taken by other text: %s", s.State)
	}
	// A score still answers the survey (before the open complaint's hook).
	if got := e.customer("oP", "给4分吧"); !strings.Contains(got, "感谢") {
		t.Fatalf("score: %s", got)
	}
	if s := e.survey(domain.TriggerOrder, "P1"); s.Score != 4 || s.State != domain.SurveyAnswered {
		t.Fatalf("survey after 给4分吧: %+v", s)
	}
}

func TestLowScoreWithoutReason(t *testing.T) {
	e := newEnv(t, false)
	e.wrote("oL")
	e.completed("L1", "oL", e.time())
	e.advance(2 * time.Hour)
	e.send()
	if got := e.customer("oL", "一"); !strings.Contains(got, "哪里做得不好") {
		t.Fatalf("low score: %s", got)
	}
	e.advance(29 * time.Minute)
	e.send()
	if s := e.survey(domain.TriggerOrder, "L1"); s.FollowUp != "" {
		t.Fatal("case opened before the comment wait")
	}
	e.advance(2 * time.Minute)
	if sent := e.send(); len(sent[chanC]) != 1 || !strings.Contains(bot.PlainText(sent[chanC][0].Content), "1/5") {
		t.Fatalf("case post: %v", sent)
	}
	s := e.survey(domain.TriggerOrder, "L1")
	c, err := e.db.Complaint(e.ctx, s.FollowUp)
	if err != nil || c.Category != domain.CategoryFollowUp || !strings.Contains(c.Text, "未说明") {
		t.Fatalf("case %+v %v", c, err)
	}
	// A late explanation goes to the open case through the desk.
	if got := e.customer("oL", "衣服尺码不对"); !strings.Contains(got, s.FollowUp) {
		t.Fatalf("late explanation: %s", got)
	}
	// Resolving the case schedules no survey.
	if _, err := e.db.UpdateComplaint(e.ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		ev, err := c.Resolve(agent, "已换货", e.time())
		return domain.ComplaintChange{Events: []domain.ComplaintEvent{ev}}, err
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.InTx(e.ctx, func(tx *store.DB) error {
		c, _ := tx.Complaint(e.ctx, c.Number)
		return e.events.ComplaintResolved(e.ctx, tx, c)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.SurveyFor(e.ctx, domain.TriggerComplaint, c.Number); err == nil {
		t.Fatal("the follow-up case got a survey")
	}
}

func TestTemplateOutsideWindow(t *testing.T) {
	e := newEnv(t, true)
	e.completed("T1", "oFar", e.time()) // never wrote
	e.advance(2 * time.Hour)
	sent := e.send()
	if len(sent["oFar"]) != 1 || sent["oFar"][0].Template != surveys.WeChatTemplate ||
		len([]rune(sent["oFar"][0].Content.Title)) > 20 || sent["oFar"][0].Content.Title == "" {
		t.Fatalf("template notice: %+v", sent["oFar"])
	}
	if s := e.survey(domain.TriggerOrder, "T1"); s.Via != "template" {
		t.Fatalf("via %q", s.Via)
	}
}

func TestSettingsCommands(t *testing.T) {
	e := newEnv(t, false)
	if got := e.staff(agent, "survey settings"); !strings.Contains(got, "order-delay") || !strings.Contains(got, "2h") {
		t.Fatalf("settings: %s", got)
	}
	if got := e.staff(agent, "survey set order-delay 0"); !strings.Contains(got, "admin") {
		t.Fatalf("an agent changed a setting: %s", got)
	}
	if got := e.staff(admin, "survey set order-delay 0"); !strings.Contains(got, "is now 0") {
		t.Fatalf("set: %s", got)
	}
	if got := e.staff(admin, "survey set reminder 5d"); !strings.Contains(got, "before the expiry") {
		t.Fatalf("bad reminder: %s", got)
	}
	if got := e.staff(admin, "survey set order-question 亲，订单{order}还满意吗？回复1-5分"); !strings.Contains(got, "is now") {
		t.Fatalf("question: %s", got)
	}
	e.wrote("oS")
	e.completed("S1", "oS", e.time())
	sent := e.send()
	if len(sent["oS"]) != 1 || !strings.Contains(sent["oS"][0].Content.Text, "亲，订单 S1 还满意吗") {
		t.Fatalf("with order-delay 0: %+v", sent["oS"])
	}
}

func TestReportAndVIP(t *testing.T) {
	e := newEnv(t, false)
	if got := e.staff(admin, "survey set cooldown 0"); !strings.Contains(got, "is now 0") {
		t.Fatal(got)
	}
	// Three customers answer their orders in November.
	scores := map[string][]int{"oV1": {5, 5, 5}, "oV2": {5, 5, 4}, "oV3": {5, 5}}
	for openID, ss := range scores {
		for i, sc := range ss {
			e.wrote(openID)
			id := openID + "-" + string(rune('a'+i))
			e.completed(id, openID, e.time())
			e.advance(2 * time.Hour)
			e.send()
			if got := e.customer(openID, string(rune('0'+sc))); !strings.Contains(got, "感谢") {
				t.Fatalf("%s answer %d: %s", id, sc, got)
			}
			e.advance(time.Hour)
		}
	}
	rep := e.staff(agent, "survey report 2026-11")
	if !strings.Contains(rep, "Answered") {
		t.Fatalf("report: %s", rep)
	}
	all := e.staff(agent, "survey report 2026-11-01..2026-11-30")
	for _, want := range []string{"Sent: 8", "Answered: 8", "100.0%", "4.88 / 5", "meets the 4.8 target", "5: 7"} {
		if !strings.Contains(all, want) {
			t.Errorf("report lacks %q:\n%s", want, all)
		}
	}
	month := e.time().Format("2006-01")
	if got := e.staff(agent, "survey vip "+month); !strings.Contains(got, "manager") {
		t.Fatalf("an agent saw the benefit list: %s", got)
	}
	got := e.staff(manager, "survey vip "+month)
	if !strings.Contains(got, "c-oV1") || strings.Contains(got, "c-oV3") {
		t.Fatalf("vip %s: %s", month, got)
	}
	// The monthly job posts last month's list to the managers once.
	next := domain.Month(e.time(), shanghai).To
	if err := e.s.Feature().Jobs[1].Run(e.ctx, next.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Feature().Jobs[1].Run(e.ctx, next.Add(10*time.Hour)); err != nil {
		t.Fatal(err)
	}
	items, err := e.db.ClaimOutbox(e.ctx, 100, time.Minute)
	if err != nil || len(items) != 1 || items[0].To != chanM || len(items[0].Content.Buttons) != 1 {
		t.Fatalf("vip post: %+v %v", items, err)
	}
	btn := items[0].Content.Buttons[0]
	rep2 := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformSlack, UserID: manager,
		Action: &bot.Action{ID: btn.ActionID, Value: btn.Value, Channel: chanM, TS: "1.0"}})
	if !rep2.Update || !strings.Contains(bot.PlainText(rep2.Content), "given ✓") || len(rep2.Content.Buttons) != 0 {
		t.Fatalf("benefit button: %+v", rep2)
	}
}

func TestMetricsSatisfaction(t *testing.T) {
	e := newEnv(t, false)
	e.wrote("oM")
	e.completed("M1", "oM", e.time())
	e.advance(2 * time.Hour)
	e.send()
	e.customer("oM", "4分")
	tot, err := e.db.ShopTotals(e.ctx, domain.Day(e.time(), shanghai), e.time())
	if err != nil {
		t.Fatal(err)
	}
	f := tot.Figures()
	if f["survey_responses"].V != 1 || f["satisfaction"].V != 4 || !f["satisfaction"].OK {
		t.Fatalf("figures %+v", f)
	}
}

func TestUndeliveredQuestionTakesNoAnswer(t *testing.T) {
	e := newEnv(t, false)
	e.wrote("oU")
	e.completed("U1", "oU", e.time())
	e.advance(2 * time.Hour)
	if _, err := e.s.Send(e.ctx, e.time()); err != nil {
		t.Fatal(err)
	}
	items, err := e.db.ClaimOutbox(e.ctx, 10, time.Minute)
	if err != nil || len(items) != 1 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	// WeChat said the window was closed after all (45015).
	if err := e.db.MarkUnreachable(e.ctx, items[0].ID, "45015_window_closed"); err != nil {
		t.Fatal(err)
	}
	if got := e.customer("oU", "5"); strings.Contains(got, "感谢") {
		t.Fatalf("an answer to an undelivered question was taken: %s", got)
	}
	day := domain.Day(e.time(), shanghai)
	st, err := e.db.SurveyStats(e.ctx, day)
	if err != nil || st.Sent != 0 || st.Skipped[domain.SkipUnreachable] != 1 || st.Answered != 0 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

func TestComplaintSurvey(t *testing.T) {
	e := newEnv(t, false)
	num := complaintNo(e.customer("oC", "投诉 杯子碎了"))
	if num == "" {
		t.Fatal("no complaint")
	}
	if got := e.staff(agent, "complaint resolve "+num+" 已补发"); !strings.Contains(got, num) {
		t.Fatalf("resolve: %s", got)
	}
	// Reopened before its survey went out: skipped while open…
	e.advance(5 * time.Minute)
	e.staff(agent, "complaint reopen "+num+" 客户说还没收到")
	e.advance(6 * time.Minute)
	e.send()
	if s := e.survey(domain.TriggerComplaint, num); s.SkipReason != domain.SkipOpenComplaint {
		t.Fatalf("survey of a reopened complaint: %s %q", s.State, s.SkipReason)
	}
	// …and asked 10 minutes after the second resolution.
	e.staff(agent, "complaint resolve "+num+" 已补发，快递单号 SF123")
	e.customer("oC", "谢谢")
	e.advance(9 * time.Minute)
	if sent := e.send(); len(sent["oC"]) != 0 {
		t.Fatal("asked before the complaint delay")
	}
	e.advance(2 * time.Minute)
	sent := e.send()
	if len(sent["oC"]) != 1 || !strings.Contains(sent["oC"][0].Content.Text, num) {
		t.Fatalf("complaint survey: %+v", sent["oC"])
	}
	if got := e.customer("oC", "五分"); !strings.Contains(got, "感谢") {
		t.Fatalf("answer: %s", got)
	}
}

func complaintNo(s string) string {
	i := strings.Index(s, "TS-")
	if i < 0 || len(s) < i+16 {
		return ""
	}
	return s[i : i+16]
}
