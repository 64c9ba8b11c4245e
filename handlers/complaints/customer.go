package complaints

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// The customer's side of the conversation after filing: follow-ups reach
// the complaint they are about, open or resolved within
// domain.FollowUpWindow; a customer can ask for a person or withdraw.

var (
	withdrawKeywords = []string{"撤销投诉", "撤回投诉", "取消投诉", "撤诉"}
	humanKeywords    = []string{"人工客服", "转人工", "人工服务", "找人工", "真人客服", "人工"}
	yesWords         = []string{"1", "是", "是的", "对", "好", "好的", "确认", "确定", "重新打开", "重开", "要", "需要", "嗯", "ok", "yes"}
	noWords          = []string{"2", "不", "否", "不是", "不用", "不用了", "不需要", "算了", "没事", "没事了", "取消", "no"}
)

// Topics of the questions the complaint desk asks customers.
const (
	topicReopen   = "complaint.reopen"   // Data: the resolved complaint's number
	topicWithdraw = "complaint.withdraw" // Data: the complaint to withdraw
	topicWhich    = "complaint.which"    // Data: the message, waiting for its complaint
	dataHuman     = "human"              // topicDetails' Data: the customer asked for a person
)

func isWord(text string, words []string) bool {
	t := strings.ToLower(strings.Trim(domain.FoldKeywords(text), " !~.,?。，、～？！…呀啊哦吧"))
	for _, w := range words {
		if t == w {
			return true
		}
	}
	return false
}

func (h *Complaints) dailyLimit() int {
	if h.DailyLimit <= 0 {
		return DefaultDailyLimit
	}
	return h.DailyLimit
}

// overDailyLimit answers politely when the customer has filed the day's
// allowance of complaints already.
func (h *Complaints) overDailyLimit(ctx context.Context, openID string) (bot.Reply, bool, error) {
	now := h.Clock.Time()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, h.Clock.Loc)
	n, err := h.Store.ComplaintsSince(ctx, openID, day)
	if err != nil || n < h.dailyLimit() {
		return bot.Reply{}, false, err
	}
	if err := h.Store.ClearPending(ctx, domain.PlatformWeChat, openID, topicDetails); err != nil {
		return bot.Reply{}, false, err
	}
	h.Log.Info("Complaint refused: daily limit", "limit", h.dailyLimit())
	return bot.Text(fmt.Sprintf("您今天已经提交了 %d 条投诉，我们正在逐条处理，请您耐心等待。\n"+
		"如需补充情况，直接回复即可，客服都能看到；回复「进度」可查看处理情况。明天起可以继续提交新的投诉。", n)), true, nil
}

// customerComplaints splits a customer's recent complaints into the open
// ones (newest first) and the newest resolved within the follow-up window
// (not withdrawn).
func (h *Complaints) customerComplaints(ctx context.Context, openID string) (open []domain.Complaint, recent *domain.Complaint, err error) {
	list, err := h.Store.CustomerComplaints(ctx, openID, 30)
	if err != nil {
		return nil, nil, err
	}
	now := h.Clock.Time()
	for i, c := range list {
		switch {
		case !c.Resolved():
			open = append(open, c)
		case recent == nil && !c.Withdrawn() && now.Sub(c.ResolvedAt) <= domain.FollowUpWindow:
			recent = &list[i]
		}
	}
	return open, recent, nil
}

// mentioned returns the complaint among cs that text names by complaint
// number or order number, if exactly one.
func mentioned(cs []domain.Complaint, text string) (domain.Complaint, bool) {
	t := strings.ToUpper(domain.FoldWidth(text))
	var hit []domain.Complaint
	for _, c := range cs {
		short := strings.TrimPrefix(c.Number, "TS-")
		if strings.Contains(t, short) || (c.Order != "" && strings.Contains(t, strings.ToUpper(c.Order))) {
			hit = append(hit, c)
		}
	}
	if len(hit) == 1 {
		return hit[0], true
	}
	return domain.Complaint{}, false
}

// CustomerHook carries a customer's conversation on: free text nothing
// else took reaches the complaint it is about — the open one, the one it
// names when several are open (or a question which), or one resolved in
// the last 7 days — and is posted into its Slack thread. Keywords of every
// feature were tried before (bot/doc.go).
func (h *Complaints) CustomerHook(ctx context.Context, req *bot.Request) (bot.Reply, bool, error) {
	orig := strings.TrimSpace(req.Text)
	if orig == "" {
		return bot.Reply{}, false, nil
	}
	open, recent, err := h.customerComplaints(ctx, req.UserID)
	if err != nil {
		return bot.Reply{}, false, err
	}
	text, cut := domain.CleanText(orig, domain.MaxComplaintText)
	all := open
	if recent != nil {
		all = append(append([]domain.Complaint(nil), open...), *recent)
	}
	if c, ok := mentioned(all, text); ok {
		if c.Resolved() {
			rep, err := h.followUpResolved(ctx, req.UserID, c, text)
			return rep, true, err
		}
		rep, err := h.attach(ctx, c, text, cut)
		return rep, true, err
	}
	switch {
	case len(open) == 1:
		rep, err := h.attach(ctx, open[0], text, cut)
		return rep, true, err
	case len(open) > 1:
		rep, err := h.askWhich(ctx, req.UserID, open, text)
		return rep, true, err
	case recent != nil:
		rep, err := h.followUpResolved(ctx, req.UserID, *recent, text)
		return rep, true, err
	}
	return bot.Reply{}, false, nil
}

// attach adds the customer's words to an open complaint and its thread.
func (h *Complaints) attach(ctx context.Context, c domain.Complaint, text string, cut bool) (bot.Reply, error) {
	now := h.Clock.Time()
	_, err := h.Store.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		return domain.ComplaintChange{
			Events:   []domain.ComplaintEvent{c.CustomerMessage(text, now)},
			Messages: []domain.Outgoing{h.threadPost(*c, "The customer wrote:\n"+handlers.Quote(text))},
		}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	msg := fmt.Sprintf("已收到，您的补充信息已转给处理投诉 %s 的客服，我们会尽快回复您。", c.Number)
	if cut {
		msg += fmt.Sprintf("（内容较长，已保存前 %d 字。）", domain.MaxComplaintText)
	}
	return bot.Text(msg), nil
}

// followUpResolved takes a message about a recently resolved complaint:
// it goes into the complaint's thread with a Reopen button for the agent,
// and the customer is offered to reopen it.
func (h *Complaints) followUpResolved(ctx context.Context, openID string, c domain.Complaint, text string) (bot.Reply, error) {
	now := h.Clock.Time()
	err := h.Store.InTx(ctx, func(tx *store.DB) error {
		_, err := tx.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			when := handlers.Duration(now.Sub(c.ResolvedAt)) + " after it was resolved"
			if now.Sub(c.ResolvedAt) < time.Minute {
				when = "just after it was resolved"
			}
			post := h.threadPost(*c, fmt.Sprintf("The customer wrote again, %s:\n%s", when, handlers.Quote(text)))
			post.Content.Buttons = []domain.Button{{Label: "Reopen", ActionID: ActionReopen, Value: c.Number, Style: "primary"}}
			return domain.ComplaintChange{Events: []domain.ComplaintEvent{c.CustomerMessage(text, now)},
				Messages: []domain.Outgoing{post}}, nil
		})
		if err != nil {
			return err
		}
		return tx.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: openID,
			Topic: topicReopen, Data: c.Number, ExpiresAt: now.Add(h.askFor())})
	})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("您的消息已转给处理投诉 %s 的客服。这条投诉已于 %s 处理完毕；如果问题还没有解决，"+
		"回复「1」重新打开投诉，我们会继续跟进；回复「2」则不用。", c.Number, h.Clock.Format(c.ResolvedAt))), nil
}

// answerReopen takes the answer to "reopen it?".
func (h *Complaints) answerReopen(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	if c, err := h.Store.Complaint(ctx, q.Data); errors.Is(err, domain.ErrNotFound) || (err == nil && !c.Resolved()) {
		// Gone, or an agent reopened it meanwhile: the question is moot.
		if err := h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic); err != nil {
			return bot.Reply{}, false, err
		}
		return bot.Reply{}, false, nil
	} else if err != nil {
		return bot.Reply{}, false, err
	}
	switch {
	case isWord(req.Text, yesWords):
	case isWord(req.Text, noWords):
		err := h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
		return bot.Text("好的，投诉保持已处理状态。如有需要，随时回复我们。"), true, err
	default:
		// Something else: not an answer. It goes on (to the complaint's
		// thread, which asks again).
		return bot.Reply{}, false, h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
	}
	now := h.Clock.Time()
	var c domain.Complaint
	err := h.Store.InTx(ctx, func(tx *store.DB) error {
		var err error
		c, err = tx.UpdateComplaint(ctx, q.Data, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			if !c.Resolved() {
				return domain.ComplaintChange{}, nil // an agent reopened it meanwhile
			}
			e, err := c.Reopen(c.OpenID, "the problem is not solved", now)
			if err != nil {
				return domain.ComplaintChange{}, err
			}
			return domain.ComplaintChange{Events: []domain.ComplaintEvent{e}, Messages: []domain.Outgoing{
				h.cardUpdate(*c), h.threadPost(*c, "The customer reopened this complaint: the problem is not solved."),
			}}, nil
		})
		if err != nil {
			return err
		}
		return tx.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
	})
	if err != nil {
		return bot.Reply{}, true, err
	}
	return bot.Text(fmt.Sprintf("好的，投诉 %s 已重新打开，客服会尽快跟进并联系您。", c.Number)), true, nil
}

// customerWithdraw starts withdrawing an open complaint: the one named,
// or the only one; with several it asks which.
func (h *Complaints) customerWithdraw(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	open, _, err := h.customerComplaints(ctx, req.UserID)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(open) == 0 {
		return bot.Text("您目前没有处理中的投诉，无需撤销。回复「进度」可查看以往的投诉。"), nil
	}
	c := open[0]
	if tail := req.Tail(0); tail != "" {
		var ok bool
		if c, ok = mentioned(open, tail); !ok {
			return bot.Text(fmt.Sprintf("没有找到您处理中的投诉「%s」。%s", handlers.Excerpt(tail, 30), withdrawChoices(open))), nil
		}
	} else if len(open) > 1 {
		return bot.Text(fmt.Sprintf("您有 %d 条处理中的投诉。%s", len(open), withdrawChoices(open))), nil
	}
	err = h.Store.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: req.UserID,
		Topic: topicWithdraw, Data: c.Number, ExpiresAt: h.Clock.Time().Add(h.askFor())})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("确认撤销投诉 %s（%s）吗？撤销后客服将不再跟进。\n回复「确认」撤销，回复「不用」保留。",
		c.Number, handlers.Excerpt(c.Text, 30))), nil
}

func withdrawChoices(open []domain.Complaint) string {
	var b strings.Builder
	b.WriteString("请回复「撤销投诉」加投诉编号，例如「撤销投诉 " + open[0].Number + "」：")
	for i, c := range open {
		if i == 5 {
			break
		}
		fmt.Fprintf(&b, "\n%s（%s）%s", c.Number, c.Category, handlers.Excerpt(c.Text, 30))
	}
	return b.String()
}

// answerWithdraw takes the confirmation of a withdrawal.
func (h *Complaints) answerWithdraw(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	switch {
	case isWord(req.Text, yesWords):
	case isWord(req.Text, noWords):
		err := h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
		return bot.Text(fmt.Sprintf("好的，投诉 %s 继续处理中。", q.Data)), true, err
	default:
		return bot.Reply{}, false, h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
	}
	now := h.Clock.Time()
	done := false
	err := h.Store.InTx(ctx, func(tx *store.DB) error {
		_, err := tx.UpdateComplaint(ctx, q.Data, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			if c.Resolved() || c.OpenID != q.UserID {
				return domain.ComplaintChange{}, nil
			}
			e, err := c.Withdraw(now)
			if err != nil {
				return domain.ComplaintChange{}, err
			}
			done = true
			msgs := []domain.Outgoing{h.cardUpdate(*c), h.threadPost(*c, "The customer withdrew this complaint; nothing more to do.")}
			if c.Assignee != "" {
				msgs = append(msgs, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: c.Assignee,
					Content: domain.Content{Text: fmt.Sprintf("The customer withdrew complaint %s, which you had claimed.", c.Number)}})
			}
			return domain.ComplaintChange{Events: []domain.ComplaintEvent{e}, Messages: msgs}, nil
		})
		if err != nil {
			return err
		}
		return tx.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
	})
	if err != nil {
		return bot.Reply{}, true, err
	}
	if !done {
		return bot.Text(fmt.Sprintf("投诉 %s 已经处理完毕，无需撤销。", q.Data)), true, nil
	}
	return bot.Text(fmt.Sprintf("投诉 %s 已撤销。感谢您的理解，如有其他问题随时联系我们。", q.Data)), true, nil
}

// askWhich asks which open complaint a message is about, keeping the
// message until the answer.
func (h *Complaints) askWhich(ctx context.Context, openID string, open []domain.Complaint, text string) (bot.Reply, error) {
	if len(open) > 9 {
		open = open[:9]
	}
	err := h.Store.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: openID,
		Topic: topicWhich, Data: text, ExpiresAt: h.Clock.Time().Add(h.askFor())})
	if err != nil {
		return bot.Reply{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "您有 %d 条处理中的投诉，这条消息是关于哪一条的？请回复序号：", len(open))
	for i, c := range open {
		fmt.Fprintf(&b, "\n%d. %s（%s）%s", i+1, c.Number, c.Category, handlers.Excerpt(c.Text, 30))
	}
	return bot.Text(b.String()), nil
}

// answerWhich takes the number of the complaint a kept message is about.
func (h *Complaints) answerWhich(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	open, _, err := h.customerComplaints(ctx, req.UserID)
	if err != nil {
		return bot.Reply{}, false, err
	}
	if len(open) > 9 {
		open = open[:9]
	}
	t := strings.TrimSpace(domain.FoldWidth(req.Text))
	var target domain.Complaint
	if n, err := strconv.Atoi(strings.Trim(t, ".。、 ")); err == nil && n >= 1 && n <= len(open) {
		target = open[n-1]
	} else if c, ok := mentioned(open, t); ok {
		target = c
	} else {
		// Not an answer: the question lapses and the text goes on.
		return bot.Reply{}, false, h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
	}
	if err := h.Store.ClearPending(ctx, q.Platform, q.UserID, q.Topic); err != nil {
		return bot.Reply{}, true, err
	}
	rep, err := h.attach(ctx, target, q.Data, false)
	return rep, true, err
}

// customerHuman puts the customer in touch with an agent: through the
// open complaint's thread, or a new conversation (a complaint, so it has a
// thread, an owner and an SLA) with what they say next.
func (h *Complaints) customerHuman(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	tail, cut := domain.CleanText(strings.TrimLeft(req.Tail(0), ":：,，.。、!！ \t\n"), domain.MaxComplaintText)
	open, _, err := h.customerComplaints(ctx, req.UserID)
	if err != nil {
		return bot.Reply{}, err
	}
	if len(open) > 0 {
		c := open[0]
		if m, ok := mentioned(open, tail); ok {
			c = m
		}
		text := "The customer asks to talk to a person (人工客服)."
		if tail != "" {
			text += "\n" + handlers.Quote(tail)
		}
		now := h.Clock.Time()
		_, err := h.Store.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
			ch := domain.ComplaintChange{Messages: []domain.Outgoing{h.threadPost(*c, text)}}
			if tail != "" {
				ch.Events = append(ch.Events, c.CustomerMessage(tail, now))
			}
			if c.Assignee != "" {
				ch.Messages = append(ch.Messages, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: c.Assignee,
					Content: domain.Content{Text: fmt.Sprintf("The customer of %s asks to talk to a person; answer in its thread.", c.Number)}})
			}
			return ch, nil
		})
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Text(fmt.Sprintf("好的，已通知负责您投诉 %s 的人工客服，客服会尽快在这里回复您。", c.Number)), nil
	}
	if tail != "" {
		return h.fileFromCustomer(ctx, req.UserID, tail, cut, true)
	}
	err = h.Store.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: req.UserID,
		Topic: topicDetails, Data: dataHuman, ExpiresAt: h.Clock.Time().Add(h.askFor())})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text("好的，正在为您转接人工客服。请直接回复您遇到的问题（如订单号和具体情况），客服会尽快在这里回复您。"), nil
}

// customerThanks answers thanks warmly; when a complaint is open or was
// resolved lately, the thanks also reach its thread, so the agent sees it.
func (h *Complaints) customerThanks(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	open, recent, err := h.customerComplaints(ctx, req.UserID)
	if err != nil {
		return bot.Reply{}, err
	}
	var c *domain.Complaint
	switch {
	case len(open) > 0:
		c = &open[0]
	case recent != nil:
		c = recent
	}
	if c == nil {
		rep, _ := bot.SmallTalk(req.Text)
		return rep, nil
	}
	text, _ := domain.CleanText(req.Text, 200)
	now := h.Clock.Time()
	_, err = h.Store.UpdateComplaint(ctx, c.Number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		return domain.ComplaintChange{Events: []domain.ComplaintEvent{c.CustomerMessage(text, now)},
			Messages: []domain.Outgoing{h.threadPost(*c, "The customer says thanks:\n"+handlers.Quote(text))}}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if c.Resolved() {
		return bot.Text("不客气，很高兴问题得到了解决！您的感谢我们已转达给客服，还有其他问题随时找我们。"), nil
	}
	return bot.Text(fmt.Sprintf("不客气！投诉 %s 客服还在跟进，有进展会第一时间告诉您。", c.Number)), nil
}
