package complaints

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Complaints is the complaint desk: customers complain and check progress
// on WeChat, agents work complaints from Slack (or the terminal), the SLA
// job warns and escalates, and managers get a monthly review.
type Complaints struct {
	Store    *store.DB
	Clock    handlers.Clock
	Channels handlers.Channels
	Log      *slog.Logger
	// Events tells other features what happened (a complaint resolved),
	// inside the transaction that recorded it. Nil tells nobody.
	Events *handlers.Events
	// AskFor is how long a question to a customer (their complaint's
	// details) waits for the answer; default 30 minutes.
	AskFor time.Duration
	// DailyLimit is how many complaints one customer may file a day
	// (OPSBOT_COMPLAINTS_PER_DAY); 0 means DefaultDailyLimit.
	DailyLimit int
}

// DefaultDailyLimit is how many complaints a customer may file a day
// unless configured otherwise.
const DefaultDailyLimit = 5

// New returns the complaint desk.
func New(st *store.DB, clock handlers.Clock, ch handlers.Channels, log *slog.Logger, ev *handlers.Events) *Complaints {
	return &Complaints{Store: st, Clock: clock, Channels: ch, Log: log, Events: ev, AskFor: 30 * time.Minute}
}

// Feature is the complaint desk as the router and the scheduler see it.
func (h *Complaints) Feature() bot.Feature {
	return bot.Feature{
		Name:     "complaints",
		Commands: h.Commands(),
		Actions:  h.Actions(),
		Intents:  h.CustomerIntents(),
		Answerers: []bot.Answerer{{Topic: topicDetails, Answer: h.answerDetails}, {Topic: topicReopen, Answer: h.answerReopen},
			{Topic: topicWithdraw, Answer: h.answerWithdraw}, {Topic: topicWhich, Answer: h.answerWhich}},
		Hooks:      []bot.CustomerHook{h.CustomerHook},
		StaffHooks: []bot.StaffHook{h.StaffHook},
		Menu: []bot.MenuItem{
			{Line: "投诉：回复「投诉」加上问题描述，如「投诉 订单20261111001 收到的杯子碎了」", Button: "我要投诉", Key: "投诉"},
			{Line: "查进度：回复「进度」查看您的投诉处理情况", Button: "投诉进度", Key: "进度"},
		},
		Jobs: h.Jobs(),
	}
}

// Customer keywords. Progress comes first: 投诉进度 starts with 投诉.
var (
	progressKeywords  = []string{"投诉进度", "我的投诉", "查进度", "查询进度", "查看进度", "查看投诉", "投诉查询", "进度", "查询"}
	complaintKeywords = []string{"我要投诉", "投诉"}
	cancelKeywords    = []string{"取消", "算了", "不用了"}
)

const topicDetails = "complaint.details"

// CustomerIntents returns 投诉 (file a complaint) and 进度 / 查询 (see
// one's own complaints).
func (h *Complaints) CustomerIntents() []bot.CustomerIntent {
	return []bot.CustomerIntent{
		{Name: "complaint progress", Keywords: progressKeywords, Run: h.customerProgress},
		{Name: "complaint withdraw", Keywords: withdrawKeywords, Run: h.customerWithdraw},
		{Name: "complaint", Keywords: complaintKeywords, Run: h.customerComplain},
		{Name: "talk to a person", Keywords: humanKeywords, Run: h.customerHuman},
		{Name: "complaint thanks", Exact: bot.ThanksWords(), Run: h.customerThanks},
	}
}

func (h *Complaints) customerComplain(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	details := strings.TrimLeft(req.Tail(0), ":：,，.。、!！ \t\n")
	text, cut := domain.CleanText(details, domain.MaxComplaintText)
	if text == "" {
		err := h.Store.SetPending(ctx, domain.PendingQuestion{
			Platform: domain.PlatformWeChat, UserID: req.UserID, Topic: topicDetails,
			ExpiresAt: h.Clock.Time().Add(h.askFor()),
		})
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Text(fmt.Sprintf("好的，请直接回复您遇到的问题，例如订单号和具体情况（如「订单 20261111001 收到的杯子碎了」），我们收到后马上登记。\n"+
			"%s内回复有效，回复「取消」可以取消。", handlers.ZhDuration(h.askFor()))), nil
	}
	return h.createFromCustomer(ctx, req.UserID, text, cut)
}

func (h *Complaints) askFor() time.Duration {
	if h.AskFor <= 0 {
		return 30 * time.Minute
	}
	return h.AskFor
}

// createFromCustomer files a WeChat complaint and answers with its number
// and the promises of its category's policy.
func (h *Complaints) createFromCustomer(ctx context.Context, openID, text string, cut bool) (bot.Reply, error) {
	return h.fileFromCustomer(ctx, openID, text, cut, false)
}

// fileFromCustomer files a WeChat complaint; human marks one that began
// with the customer asking for a person.
func (h *Complaints) fileFromCustomer(ctx context.Context, openID, text string, cut, human bool) (bot.Reply, error) {
	if rep, over, err := h.overDailyLimit(ctx, openID); err != nil || over {
		return rep, err
	}
	c := domain.Complaint{
		Source: domain.SourceWeChat, OpenID: openID, CreatedBy: openID, CreatedAt: h.Clock.Time(),
		Text: text, Order: domain.ExtractOrder(text), Category: domain.Classify(text),
	}
	err := h.Store.InTx(ctx, func(tx *store.DB) error {
		var err error
		c, err = tx.CreateComplaint(ctx, c, func(c domain.Complaint) domain.ComplaintChange {
			ch := domain.ComplaintChange{Messages: []domain.Outgoing{h.newPost(c)}}
			if human {
				ch.Messages = append(ch.Messages, h.threadPost(c, "The customer asked to talk to a person (人工客服): please answer in this thread."))
			}
			return ch
		})
		if err != nil {
			return err
		}
		return tx.ClearPending(ctx, domain.PlatformWeChat, openID, topicDetails)
	})
	if err != nil {
		return bot.Reply{}, err
	}
	h.Log.Info("Complaint filed", "complaint", c.Number, "category", c.Category.English(), "source", c.Source)
	var b strings.Builder
	if human {
		fmt.Fprintf(&b, "已为您转接人工客服，编号：%s。\n", c.Number)
	} else {
		fmt.Fprintf(&b, "您的投诉已受理，编号：%s。\n", c.Number)
	}
	if c.Order != "" {
		fmt.Fprintf(&b, "订单号：%s\n", c.Order)
	}
	fmt.Fprintf(&b, "我们会在 %s内回复您，并在 %s内处理完毕。\n",
		handlers.ZhDuration(c.ReplyDue.Sub(c.CreatedAt)), handlers.ZhDuration(c.ResolveDue.Sub(c.CreatedAt)))
	b.WriteString("如需补充情况，直接回复即可；回复「进度」可随时查看处理进度。")
	if cut {
		fmt.Fprintf(&b, "\n（您的描述较长，我们已保存前 %d 字。）", domain.MaxComplaintText)
	}
	return bot.Text(b.String()), nil
}

func (h *Complaints) customerProgress(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	list, err := h.Store.CustomerComplaints(ctx, req.UserID, 6)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(list) == 0 {
		return bot.Text("您目前没有投诉记录。如需投诉，请回复「投诉」加上问题描述，例如「投诉 订单 20261111001 收到的杯子碎了」。"), nil
	}
	var b strings.Builder
	b.WriteString("您的投诉处理情况：")
	for i, c := range list {
		if i == 5 {
			b.WriteString("\n（仅显示最近 5 条）")
			break
		}
		fmt.Fprintf(&b, "\n%d. %s（%s）%s", i+1, c.Number, string(c.Category), zhState(c))
		switch {
		case c.Resolved():
			fmt.Fprintf(&b, "，已于 %s 处理完毕", h.Clock.Format(c.ResolvedAt))
			if c.Outcome != "" {
				fmt.Fprintf(&b, "：%s", handlers.Excerpt(c.Outcome, 60))
			}
		case c.FirstReplyAt.IsZero():
			fmt.Fprintf(&b, "，最晚 %s 前回复您", h.Clock.Format(c.ReplyDue))
		default:
			fmt.Fprintf(&b, "，最晚 %s 前处理完毕", h.Clock.Format(c.ResolveDue))
		}
	}
	return bot.Text(b.String()), nil
}

func zhState(c domain.Complaint) string {
	switch {
	case c.Resolved():
		return "已解决"
	case c.Assignee != "" || !c.FirstReplyAt.IsZero():
		return "客服处理中"
	}
	return "已受理，等待客服处理"
}

// answerDetails takes the answer to "what happened?": it becomes a
// complaint, unless the customer changed their mind.
func (h *Complaints) answerDetails(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	orig := strings.TrimSpace(req.Text)
	if hasPrefix(domain.FoldKeywords(orig), cancelKeywords) {
		if err := h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicDetails); err != nil {
			return bot.Reply{}, false, err
		}
		return bot.Text("好的，已取消。如需投诉，随时回复「投诉」即可。"), true, nil
	}
	text, cut := domain.CleanText(orig, domain.MaxComplaintText)
	rep, err := h.fileFromCustomer(ctx, req.UserID, text, cut, q.Data == dataHuman)
	return rep, true, err
}

func hasPrefix(s string, kws []string) bool {
	for _, k := range kws {
		if strings.HasPrefix(s, k) {
			return true
		}
	}
	return false
}
