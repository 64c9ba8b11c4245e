package complaints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// ComplaintStore is what the complaint handlers need from the database.
type ComplaintStore interface {
	CreateComplaint(ctx context.Context, c domain.Complaint, fn func(domain.Complaint) domain.ComplaintChange) (domain.Complaint, error)
	Complaint(ctx context.Context, number string) (domain.Complaint, error)
	UpdateComplaint(ctx context.Context, number string, fn func(c *domain.Complaint) (domain.ComplaintChange, error)) (domain.Complaint, error)
	ComplaintEvents(ctx context.Context, complaintID int64) ([]domain.ComplaintEvent, error)
	ListComplaints(ctx context.Context, f domain.ComplaintFilter, user string, at time.Time, limit int) ([]domain.Complaint, error)
	CustomerComplaints(ctx context.Context, openID string, limit int) ([]domain.Complaint, error)
	LatestOpenComplaint(ctx context.Context, openID string) (domain.Complaint, error)
	SweepSLA(ctx context.Context, at time.Time, batch int, announce func(c domain.Complaint, due []domain.SLAEvent) []domain.Outgoing) (int, error)
	Policies(ctx context.Context) ([]domain.SLAPolicy, error)
	SetPolicy(ctx context.Context, p domain.SLAPolicy) error
	ComplaintStats(ctx context.Context, from, to, at time.Time) (domain.ComplaintStats, error)
	SetPending(ctx context.Context, q domain.PendingQuestion) error
	Pending(ctx context.Context, platform domain.Platform, userID string, at time.Time) (domain.PendingQuestion, error)
	ClearPending(ctx context.Context, platform domain.Platform, userID, topic string) error
	RefAt(ctx context.Context, platform domain.Platform, channel, ts string) (string, error)
	Enqueue(ctx context.Context, msgs ...domain.Outgoing) error
}

// Complaints is the complaint desk: customers complain and check progress
// on WeChat, agents work complaints from Slack (or the terminal), the SLA
// job warns and escalates, and managers get a monthly review.
type Complaints struct {
	Store    ComplaintStore
	Clock    handlers.Clock
	Channels handlers.Channels
	Log      *slog.Logger
	// AskFor is how long a question to a customer (their complaint's
	// details) waits for the answer; default 30 minutes.
	AskFor time.Duration
	// PassThrough lists customer keywords other features answer: while a
	// complaint is open, text starting with one of them is not attached
	// to it. The complaint desk's own keywords are always included.
	PassThrough []string
}

// New returns the complaint desk.
func New(st ComplaintStore, clock handlers.Clock, ch handlers.Channels, log *slog.Logger) *Complaints {
	return &Complaints{Store: st, Clock: clock, Channels: ch, Log: log, AskFor: 30 * time.Minute,
		PassThrough: []string{"帮助", "菜单", "help", "Help", "HELP", "?", "？"}}
}

// Register adds the complaint desk's commands, buttons, customer intents
// and hooks to a router.
func (h *Complaints) Register(r *bot.Router) {
	r.Register(h.Commands()...)
	r.HandleAction(h.Actions()...)
	r.HookCustomer(h.CustomerHook)
	r.HandleCustomer(h.CustomerIntents()...)
	r.HookStaff(h.StaffHook)
}

// Customer keywords. Progress comes first: 投诉进度 starts with 投诉.
var (
	progressKeywords  = []string{"投诉进度", "我的投诉", "查进度", "查询进度", "进度", "查询"}
	complaintKeywords = []string{"我要投诉", "投诉"}
	cancelKeywords    = []string{"取消", "算了", "不用了"}
	scoreLike         = regexp.MustCompile(`^[1-5]\s*分?$`)
)

const topicDetails = "complaint.details"

// CustomerIntents returns 投诉 (file a complaint) and 进度 / 查询 (see
// one's own complaints).
func (h *Complaints) CustomerIntents() []bot.CustomerIntent {
	return []bot.CustomerIntent{
		{Name: "complaint progress", Keywords: progressKeywords, Run: h.customerProgress},
		{Name: "complaint", Keywords: complaintKeywords, Run: h.customerComplain},
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
	c := domain.Complaint{
		Source: domain.SourceWeChat, OpenID: openID, CreatedBy: openID, CreatedAt: h.Clock.Time(),
		Text: text, Order: domain.ExtractOrder(text), Category: domain.Classify(text),
	}
	c, err := h.Store.CreateComplaint(ctx, c, func(c domain.Complaint) domain.ComplaintChange {
		return domain.ComplaintChange{Messages: []domain.Outgoing{h.newPost(c)}}
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if err := h.Store.ClearPending(ctx, domain.PlatformWeChat, openID, topicDetails); err != nil {
		h.Log.Warn("Could not clear a pending question", "user_id", openID, "err", err)
	}
	h.Log.Info("Complaint filed", "complaint", c.Number, "category", c.Category.English(), "source", c.Source)
	var b strings.Builder
	fmt.Fprintf(&b, "您的投诉已受理，编号：%s。\n", c.Number)
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

// CustomerHook carries a customer's conversation on: the answer to "what
// happened?" becomes a complaint, and while a complaint is open their
// further free text is attached to it and posted into its Slack thread.
// Text for other features (menu, progress, survey scores) passes through.
func (h *Complaints) CustomerHook(ctx context.Context, req *bot.Request) (bot.Reply, bool, error) {
	orig := strings.TrimSpace(req.Text)
	raw := domain.FoldWidth(orig)        // for matching keywords only; stored text keeps its punctuation
	if raw == "" || h.passThrough(raw) { // checked first: the menu costs no query
		return bot.Reply{}, false, nil
	}
	pending := true
	if _, err := h.Store.Pending(ctx, domain.PlatformWeChat, req.UserID, h.Clock.Time()); errors.Is(err, domain.ErrNotFound) {
		pending = false
	} else if err != nil {
		return bot.Reply{}, false, err
	}
	if pending {
		if hasPrefix(raw, cancelKeywords) {
			if err := h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicDetails); err != nil {
				return bot.Reply{}, false, err
			}
			return bot.Text("好的，已取消。如需投诉，随时回复「投诉」即可。"), true, nil
		}
		text, cut := domain.CleanText(orig, domain.MaxComplaintText)
		rep, err := h.createFromCustomer(ctx, req.UserID, text, cut)
		return rep, true, err
	}
	open, err := h.Store.LatestOpenComplaint(ctx, req.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Reply{}, false, nil
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	text, cut := domain.CleanText(orig, domain.MaxComplaintText)
	now := h.Clock.Time()
	_, err = h.Store.UpdateComplaint(ctx, open.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		return domain.ComplaintChange{
			Events:   []domain.ComplaintEvent{c.CustomerMessage(text, now)},
			Messages: []domain.Outgoing{h.threadPost(*c, "The customer wrote:\n"+handlers.Quote(text))},
		}, nil
	})
	if err != nil {
		return bot.Reply{}, false, err
	}
	msg := fmt.Sprintf("已收到，您的补充信息已转给处理投诉 %s 的客服，我们会尽快回复您。", open.Number)
	if cut {
		msg += fmt.Sprintf("（内容较长，已保存前 %d 字。）", domain.MaxComplaintText)
	}
	return bot.Text(msg), true, nil
}

// passThrough reports whether customer text is for an intent rather than
// words for an open complaint.
func (h *Complaints) passThrough(text string) bool {
	return scoreLike.MatchString(text) || hasPrefix(text, progressKeywords) ||
		hasPrefix(text, complaintKeywords) || hasPrefix(text, h.PassThrough)
}

func hasPrefix(s string, kws []string) bool {
	for _, k := range kws {
		if strings.HasPrefix(s, k) {
			return true
		}
	}
	return false
}
