package complaints

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Commands returns the staff commands of the complaint desk.
func (h *Complaints) Commands() []*bot.Command {
	return []*bot.Command{
		{
			Name: "complaint list", Usage: domain.ListUsage, Role: domain.RoleAgent,
			Description: "List complaints, filters combined: open ones (default), yours, overdue, at risk (due within " +
				handlers.Duration(domain.AtRiskWindow) + " or past the warning point) or all; unresolved ones soonest due first, " + strconv.Itoa(perPage) + " a page.",
			Examples: []string{"complaint list", "complaint list at-risk", "complaint list mine category=refund",
				"complaint list all from=2026-11-01 to=2026-11-30 page=2", "complaint list assignee=none"},
			Run: h.list,
		},
		{
			Name: "complaint find", Usage: "complaint find <order no|phone|OpenID|complaint no|words…> [page=N]", Role: domain.RoleAgent,
			Description: "Find complaints, newest first: every word must match the order number, phone, OpenID, complaint number, or appear in the text.",
			Examples:    []string{"complaint find 20261111001", "complaint find 13800138000", "complaint find 杯子 碎了"},
			Run:         h.find,
		},
		{
			Name: "complaint show", Usage: "complaint show <ID or order no>", Role: domain.RoleAgent,
			Description: "Show a complaint with its timeline; an order number shows its complaint (or lists them when there are several).",
			Examples:    []string{"complaint show TS-20261122-0001", "complaint show 20261111001"},
			Run:         h.show,
		},
		{
			Name: "complaint stats", Usage: "complaint stats [today|yesterday|week|month|YYYY-MM|DATE|DATE..DATE]", Role: domain.RoleAgent,
			Description: "SLA on demand: received, open, at risk, breached, hit rates and median times, by category and by agent (default today).",
			Examples:    []string{"complaint stats", "complaint stats week", "complaint stats 2026-11-01..2026-11-15"},
			Run:         h.stats,
		},
		{
			Name: "complaint categories", Usage: "complaint categories", Role: domain.RoleAgent,
			Description: "How often agents corrected each category the keyword rules chose, and to what.",
			Examples:    []string{"complaint categories"},
			Run:         h.categories,
		},
		{
			Name: "complaint new", Usage: "complaint new phone=<number> [order=<no>] [category=<category>] <description>",
			Role:        domain.RoleAgent,
			Description: "Log a phone complaint. In Slack, without arguments, opens a form.",
			Examples: []string{
				"complaint new phone=13800138000 order=20261111001 快递延迟3天未送达",
				"complaint new phone=13800138000 category=quality 杯子收到时碎了",
			},
			Run: h.newPhone,
		},
		{
			Name: "complaint claim", Usage: "complaint claim <ID>", Role: domain.RoleAgent,
			Description: "Take a complaint on (the Claim button does the same).",
			Examples:    []string{"complaint claim TS-20261122-0001"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, err := h.numberArg(req)
				if err != nil {
					return bot.Reply{}, err
				}
				return h.claim(ctx, req, n)
			},
		},
		{
			Name: "complaint reply", Usage: "complaint reply <ID> <text>", Role: domain.RoleAgent,
			Description: "Answer the customer on WeChat; the first answer stops the reply clock.",
			Examples:    []string{"complaint reply TS-20261122-0001 您好，新杯子今天已为您补发，单号 SF123456789。"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, text, err := h.numberAndText(req, "Say what to tell the customer.")
				if err != nil {
					return bot.Reply{}, err
				}
				return h.reply(ctx, req, n, text, true)
			},
		},
		{
			Name: "complaint note", Usage: "complaint note <ID> <text>", Role: domain.RoleAgent,
			Description: "Add an internal note; it is not sent and does not count as a reply.",
			Examples:    []string{"complaint note TS-20261122-0001 called the courier, parcel is in Hangzhou"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, text, err := h.numberAndText(req, "Write the note.")
				if err != nil {
					return bot.Reply{}, err
				}
				return h.note(ctx, req, n, text, true)
			},
		},
		{
			Name: "complaint resolve", Usage: "complaint resolve <ID> <outcome>", Role: domain.RoleAgent,
			Description: "Close a complaint; the outcome is sent to the customer (write it in Chinese).",
			Examples:    []string{"complaint resolve TS-20261122-0001 已为您补发新杯子，并赠送 5 元无门槛优惠券。"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, text, err := h.numberAndText(req, "Say what was done (the customer is told).")
				if err != nil {
					return bot.Reply{}, err
				}
				return h.resolve(ctx, req, n, text)
			},
		},
		{
			Name: "complaint reopen", Usage: "complaint reopen <ID> [reason]", Role: domain.RoleAgent,
			Description: "Open a resolved complaint again.",
			Examples:    []string{"complaint reopen TS-20261122-0001 the replacement is broken too"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, err := h.numberArg(req)
				if err != nil {
					return bot.Reply{}, err
				}
				return h.reopen(ctx, req, n, req.Tail(1))
			},
		},
		{
			Name: "complaint category", Usage: "complaint category <ID> <category>", Role: domain.RoleAgent,
			Description: "Change a complaint's category (商品质量 quality, 物流 logistics, 客服态度 attitude, 退款售后 refund, 订单异常 order, 其他 other).",
			Examples:    []string{"complaint category TS-20261122-0001 logistics", "complaint category TS-20261122-0001 退款售后"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				n, text, err := h.numberAndText(req, "Say which category.")
				if err != nil {
					return bot.Reply{}, err
				}
				cat, err := parseCategoryLabel(text)
				if err != nil {
					return bot.Reply{}, bot.Usagef("%s", err)
				}
				return h.recategorise(ctx, req, n, cat)
			},
		},
		{
			Name: "complaint report", Usage: "complaint report [YYYY-MM]", Role: domain.RoleManager,
			Description: "The monthly complaint review against the month before (default: last month).",
			Examples:    []string{"complaint report", "complaint report 2026-11"},
			Run:         h.reportCmd,
		},
		{
			Name: "complaint policy list", Usage: "complaint policy list", Role: domain.RoleAgent,
			Description: "Show the SLA policy of each category.",
			Examples:    []string{"complaint policy list"},
			Run:         h.policyList,
		},
		{
			Name: "complaint policy set", Usage: "complaint policy set <category> reply=<dur> resolve=<dur> [warn=<percent>]",
			Role:        domain.RoleAdmin,
			Description: "Change a category's SLA for complaints logged from now on.",
			Examples:    []string{"complaint policy set logistics reply=12h resolve=2d", "complaint policy set 退款售后 reply=10m warn=50"},
			Run:         h.policySet,
		},
	}
}

// Actions returns the handlers of the complaint buttons and forms.
func (h *Complaints) Actions() []bot.ActionHandler {
	return []bot.ActionHandler{
		{ID: ActionClaim, Role: domain.RoleAgent, Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			n, err := h.actionNumber(req)
			if err != nil {
				return bot.Reply{}, err
			}
			return h.claim(ctx, req, n)
		}},
		{ID: ActionReply, Role: domain.RoleAgent, Run: h.replyAction},
		{ID: ActionResolve, Role: domain.RoleAgent, Run: h.resolveAction},
		{ID: ActionCategory, Role: domain.RoleAgent, Run: h.categoryAction},
		{ID: ActionReopen, Role: domain.RoleAgent, Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			n, err := h.actionNumber(req)
			if err != nil {
				return bot.Reply{}, err
			}
			return h.reopen(ctx, req, n, "")
		}},
		{ID: ActionNew, Role: domain.RoleAgent, Run: h.newPhoneForm},
		{ID: ActionMore, Role: domain.RoleAgent, Run: h.moreAction},
		{ID: ActionFindMore, Role: domain.RoleAgent, Run: h.findMoreAction},
	}
}

// numberArg parses the complaint number in argument 0.
func (h *Complaints) numberArg(req *bot.Request) (string, error) {
	if req.Arg(0) == "" {
		return "", bot.Usagef("Say which complaint (its number, like TS-20261122-0001).")
	}
	n, err := domain.ParseComplaintNumber(req.Arg(0))
	if err != nil {
		return "", bot.Usagef("`%s` is not a complaint number; they look like TS-20261122-0001.", req.Arg(0))
	}
	return n, nil
}

func (h *Complaints) numberAndText(req *bot.Request, missing string) (string, string, error) {
	n, err := h.numberArg(req)
	if err != nil {
		return "", "", err
	}
	text, _ := domain.CleanText(req.Tail(1), domain.MaxComplaintText)
	if text == "" {
		return "", "", bot.Usagef("%s", missing)
	}
	return n, text, nil
}

func (h *Complaints) actionNumber(req *bot.Request) (string, error) {
	n, err := domain.ParseComplaintNumber(req.Action.Value)
	if err != nil {
		return "", bot.Errorf("That button does not name a complaint any more.")
	}
	return n, nil
}

// update changes a complaint and turns "no such complaint" and rule
// violations into answers staff can act on.
func (h *Complaints) update(ctx context.Context, number string, fn func(c *domain.Complaint) (domain.ComplaintChange, error)) (domain.Complaint, error) {
	return h.updateIn(ctx, h.Store, number, fn)
}

// updateIn is update in the transaction (or not) that st is bound to.
func (h *Complaints) updateIn(ctx context.Context, st *store.DB, number string, fn func(c *domain.Complaint) (domain.ComplaintChange, error)) (domain.Complaint, error) {
	c, err := st.UpdateComplaint(ctx, number, fn)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return c, bot.Errorf("There is no complaint %s. `complaint list all` shows the latest.", number)
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrInvalid):
		return c, bot.Errorf("%s", ruleMessage(err))
	}
	return c, err
}

// ruleMessage is a domain rule error's message, capitalised for a sentence.
func ruleMessage(err error) string {
	s := err.Error()
	var re *domain.RuleError
	if errors.As(err, &re) {
		s = re.Msg
	}
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func (h *Complaints) claim(ctx context.Context, req *bot.Request, number string) (bot.Reply, error) {
	now := h.Clock.Time()
	prev := ""
	c, err := h.update(ctx, number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		prev = c.Assignee
		e, err := c.Claim(req.UserID, now)
		if err != nil {
			return domain.ComplaintChange{}, err
		}
		ch := domain.ComplaintChange{Events: []domain.ComplaintEvent{e}, Messages: []domain.Outgoing{h.cardUpdate(*c)}}
		if prev != "" {
			// The previous assignee hears it from opsbot, not by surprise.
			ch.Messages = append(ch.Messages, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: prev,
				Content: domain.Content{Text: fmt.Sprintf("%s took over complaint %s from you; it is theirs now.",
					handlers.StaffMention(req.UserID), c.Number)}},
				h.threadPost(*c, fmt.Sprintf("%s took over from %s.", handlers.StaffMention(req.UserID), handlers.StaffMention(prev))))
		}
		return ch, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if prev != "" {
		return bot.Text(fmt.Sprintf("%s was claimed by %s; you have taken it over and they have been told. First reply due %s, resolve by %s.",
			c.Number, handlers.StaffMention(prev), h.Clock.Format(c.ReplyDue), h.Clock.Format(c.ResolveDue))), nil
	}
	return bot.Text(fmt.Sprintf("You claimed %s. First reply due %s, resolve by %s.", c.Number,
		h.Clock.Format(c.ReplyDue), h.Clock.Format(c.ResolveDue))), nil
}

// reply sends text to the customer and records it; inThread also copies it
// into the complaint's Slack thread (not needed when it was said there).
func (h *Complaints) reply(ctx context.Context, req *bot.Request, number, text string, inThread bool) (bot.Reply, error) {
	now := h.Clock.Time()
	first, claimed := false, false
	c, err := h.update(ctx, number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		if c.Resolved() {
			return domain.ComplaintChange{}, errResolvedReply
		}
		first = c.FirstReplyAt.IsZero()
		ch := domain.ComplaintChange{}
		if c.Assignee == "" { // whoever answers an unclaimed complaint owns it
			e, err := c.Claim(req.UserID, now)
			if err != nil {
				return domain.ComplaintChange{}, err
			}
			claimed = true
			ch.Events = append(ch.Events, e)
		}
		ch.Events = append(ch.Events, c.Reply(req.UserID, text, now))
		if m, ok := toCustomer(*c, fmt.Sprintf("【客服回复】关于您的投诉 %s：\n%s", c.Number, text)); ok {
			ch.Messages = append(ch.Messages, m)
		}
		if inThread {
			ch.Messages = append(ch.Messages, h.threadPost(*c, fmt.Sprintf("%s replied to the customer:\n%s", handlers.StaffMention(req.UserID), handlers.Quote(text))))
		}
		if first || claimed {
			ch.Messages = append(ch.Messages, h.cardUpdate(*c))
		}
		return ch, nil
	})
	if errors.Is(err, errResolvedReply) {
		return bot.Reply{Content: domain.Content{
			Text:    fmt.Sprintf("%s is resolved, so nothing was sent. Reopen it first (`complaint reopen %s`), then reply.", number, number),
			Buttons: []domain.Button{{Label: "Reopen", ActionID: ActionReopen, Value: number}},
		}}, nil
	}
	if err != nil {
		return bot.Reply{}, err
	}
	var msg string
	if c.OpenID == "" {
		msg = fmt.Sprintf("%s is a phone complaint: nothing was sent on WeChat. Your reply is recorded", c.Number)
		if first {
			msg += " and counts as the first reply"
		}
		msg += fmt.Sprintf(" — make sure the customer hears it (%s).", c.Contact)
	} else {
		msg = fmt.Sprintf("Sent to the customer of %s on WeChat.", c.Number)
		if first {
			msg += " First reply recorded."
		}
	}
	if claimed {
		msg += " It was unclaimed, so it is yours now."
	}
	return bot.Text(msg), nil
}

func (h *Complaints) note(ctx context.Context, req *bot.Request, number, text string, inThread bool) (bot.Reply, error) {
	now := h.Clock.Time()
	_, err := h.update(ctx, number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		ch := domain.ComplaintChange{Events: []domain.ComplaintEvent{c.Note(req.UserID, text, now)}}
		if inThread {
			ch.Messages = append(ch.Messages, h.threadPost(*c, fmt.Sprintf("Note from %s:\n%s", handlers.StaffMention(req.UserID), handlers.Quote(text))))
		}
		return ch, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Note added to %s (not sent to the customer).", number)), nil
}

func (h *Complaints) resolve(ctx context.Context, req *bot.Request, number, outcome string) (bot.Reply, error) {
	now := h.Clock.Time()
	var c domain.Complaint
	err := h.Store.InTx(ctx, func(tx *store.DB) error {
		var err error
		c, err = h.updateIn(ctx, tx, number, h.resolveChange(req.UserID, outcome, now))
		if err != nil {
			return err
		}
		return h.Events.ComplaintResolved(ctx, tx, c)
	})
	if err != nil {
		return bot.Reply{}, err
	}
	msg := fmt.Sprintf("%s is resolved.", c.Number)
	if c.OpenID == "" {
		msg += " It is a phone complaint: nothing was sent on WeChat; tell the customer yourself (" + c.Contact + ")."
	} else {
		msg += " The customer was told the outcome on WeChat."
	}
	if c.ResolvedAt.After(c.ResolveDue) {
		msg += " (Past its resolve due time.)"
	}
	return bot.Text(msg), nil
}

// resolveChange resolves a complaint, tells the customer the outcome and
// updates the card and thread.
func (h *Complaints) resolveChange(agent, outcome string, now time.Time) func(c *domain.Complaint) (domain.ComplaintChange, error) {
	return func(c *domain.Complaint) (domain.ComplaintChange, error) {
		e, err := c.Resolve(agent, outcome, now)
		if err != nil {
			return domain.ComplaintChange{}, err
		}
		ch := domain.ComplaintChange{Events: []domain.ComplaintEvent{e}}
		if m, ok := toCustomer(*c, fmt.Sprintf("您的投诉 %s 已处理完毕。\n处理结果：%s\n感谢您的耐心与理解！如仍有问题，回复「投诉」即可再次联系我们。", c.Number, outcome)); ok {
			ch.Messages = append(ch.Messages, m)
		}
		ch.Messages = append(ch.Messages, h.cardUpdate(*c),
			h.threadPost(*c, fmt.Sprintf("Resolved by %s:\n%s", handlers.StaffMention(agent), handlers.Quote(outcome))))
		return ch, nil
	}
}

func (h *Complaints) reopen(ctx context.Context, req *bot.Request, number, reason string) (bot.Reply, error) {
	reason, _ = domain.CleanText(reason, domain.MaxComplaintText)
	now := h.Clock.Time()
	c, err := h.update(ctx, number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		e, err := c.Reopen(req.UserID, reason, now)
		if err != nil {
			return domain.ComplaintChange{}, err
		}
		ch := domain.ComplaintChange{Events: []domain.ComplaintEvent{e}}
		if m, ok := toCustomer(*c, fmt.Sprintf("您的投诉 %s 已重新打开，客服会继续跟进，请留意我们的回复。", c.Number)); ok {
			ch.Messages = append(ch.Messages, m)
		}
		text := fmt.Sprintf("Reopened by %s.", handlers.StaffMention(req.UserID))
		if reason != "" {
			text += "\n" + handlers.Quote(reason)
		}
		ch.Messages = append(ch.Messages, h.cardUpdate(*c), h.threadPost(*c, text))
		return ch, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	msg := fmt.Sprintf("%s is open again.", c.Number)
	if c.Overdue(now) {
		msg += " Its due times are as fixed at creation, so it is already overdue."
	}
	return bot.Text(msg), nil
}

func (h *Complaints) recategorise(ctx context.Context, req *bot.Request, number string, cat domain.Category) (bot.Reply, error) {
	now := h.Clock.Time()
	c, err := h.update(ctx, number, func(c *domain.Complaint) (domain.ComplaintChange, error) {
		e, err := c.Recategorise(cat, req.UserID, now)
		if err != nil {
			return domain.ComplaintChange{}, err
		}
		return domain.ComplaintChange{Events: []domain.ComplaintEvent{e},
			Messages: []domain.Outgoing{h.cardUpdate(*c)}}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("%s is now %s. Its due times stay as set when it was logged.", c.Number, c.Category.Label())), nil
}

// parseCategoryLabel accepts a category as typed or as the form's option
// label "商品质量 (quality)".
func parseCategoryLabel(s string) (domain.Category, error) {
	if i := strings.Index(s, " ("); i > 0 {
		s = s[:i]
	}
	return domain.ParseCategory(s)
}

func categoryOptions() []string {
	out := make([]string, len(domain.Categories))
	for i, c := range domain.Categories {
		out[i] = c.Label()
	}
	return out
}

func (h *Complaints) replyAction(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	n, err := h.actionNumber(req)
	if err != nil {
		return bot.Reply{}, err
	}
	if v, ok := req.Action.Form["text"]; ok { // the form's submission
		text, _ := domain.CleanText(v, domain.MaxComplaintText)
		if text == "" {
			return formError("text", "The reply was empty; nothing was sent."), nil
		}
		return h.reply(ctx, req, n, text, true)
	}
	c, err := h.Store.Complaint(ctx, n)
	if err != nil {
		return bot.Reply{}, h.notFound(n, err)
	}
	label := "Message to the customer (sent on WeChat, write it in Chinese)"
	if c.OpenID == "" {
		label = "What you told the customer by phone (nothing is sent)"
	}
	return bot.Reply{
		Content: domain.Content{Text: fmt.Sprintf("Reply to %s: `complaint reply %s <text>`", n, n)},
		Modal: &bot.Modal{CallbackID: ActionReply, Title: "Reply to customer", Submit: "Send", Value: n,
			Inputs: []bot.Input{{ID: "text", Label: label, Multiline: true,
				Placeholder: "您好，非常抱歉给您带来不便……"}}},
	}, nil
}

func (h *Complaints) resolveAction(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	n, err := h.actionNumber(req)
	if err != nil {
		return bot.Reply{}, err
	}
	if v, ok := req.Action.Form["outcome"]; ok { // the form's submission
		text, _ := domain.CleanText(v, domain.MaxComplaintText)
		if text == "" {
			return formError("outcome", "Say what was done; the complaint is still open."), nil
		}
		return h.resolve(ctx, req, n, text)
	}
	if _, err := h.Store.Complaint(ctx, n); err != nil {
		return bot.Reply{}, h.notFound(n, err)
	}
	return bot.Reply{
		Content: domain.Content{Text: fmt.Sprintf("Resolve %s: `complaint resolve %s <outcome>`", n, n)},
		Modal: &bot.Modal{CallbackID: ActionResolve, Title: "Resolve complaint", Submit: "Resolve", Value: n,
			Inputs: []bot.Input{{ID: "outcome", Label: "Outcome (sent to the customer, in Chinese)", Multiline: true,
				Placeholder: "已为您补发新品，并赠送 5 元无门槛优惠券。"}}},
	}, nil
}

func (h *Complaints) categoryAction(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	n, err := h.actionNumber(req)
	if err != nil {
		return bot.Reply{}, err
	}
	if v, ok := req.Action.Form["category"]; ok { // the form's submission
		cat, err := parseCategoryLabel(v)
		if err != nil {
			return formError("category", "Pick one of the categories."), nil
		}
		return h.recategorise(ctx, req, n, cat)
	}
	c, err := h.Store.Complaint(ctx, n)
	if err != nil {
		return bot.Reply{}, h.notFound(n, err)
	}
	return bot.Reply{
		Content: domain.Content{Text: fmt.Sprintf("Change the category of %s: `complaint category %s <category>`", n, n)},
		Modal: &bot.Modal{CallbackID: ActionCategory, Title: "Change category", Submit: "Save", Value: n,
			Inputs: []bot.Input{{ID: "category", Label: "Category", Initial: c.Category.Label(), Options: categoryOptions()}}},
	}, nil
}

func (h *Complaints) notFound(number string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Errorf("There is no complaint %s. `complaint list all` shows the latest.", number)
	}
	return err
}

// StaffHook turns a message in a complaint's Slack thread into a reply to
// the customer, or an internal note when it starts with "note:" or "//".
// Messages anywhere else pass through.
func (h *Complaints) StaffHook(ctx context.Context, req *bot.Request) (bot.Reply, bool, error) {
	if !req.Ambient || req.ThreadID == "" || req.Action != nil {
		return bot.Reply{}, false, nil
	}
	ref, err := h.Store.RefAt(ctx, req.Platform, req.ChannelID, req.ThreadID)
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Reply{}, false, nil
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	number, ok := domain.NumberFromRef(ref)
	if !ok {
		return bot.Reply{}, false, nil
	}
	text, _ := domain.CleanText(req.Text, domain.MaxComplaintText)
	if text == "" {
		return bot.Reply{}, true, nil
	}
	if note, ok := internalNote(text); ok {
		if note == "" {
			return bot.Reply{}, true, nil
		}
		rep, err := h.note(ctx, req, number, note, false)
		return rep, true, err
	}
	rep, err := h.reply(ctx, req, number, text, false)
	return rep, true, err
}

// internalNote reports whether a thread message is meant for colleagues
// only, and returns it without its marker.
func internalNote(text string) (string, bool) {
	lower := strings.ToLower(text)
	for _, p := range []string{"note:", "note：", "//", "#note", "内部:", "内部："} {
		if strings.HasPrefix(lower, p) {
			return strings.TrimSpace(text[len(p):]), true
		}
	}
	return "", false
}

func (h *Complaints) listLine(c domain.Complaint, now time.Time) string {
	parts := []string{"*" + c.Number + "*", string(c.Category)}
	switch {
	case c.Resolved():
		parts = append(parts, "resolved "+h.Clock.Format(c.ResolvedAt))
	case c.Assignee != "":
		parts = append(parts, "claimed by "+handlers.StaffMention(c.Assignee))
	default:
		parts = append(parts, "unclaimed")
	}
	if !c.Resolved() {
		if c.FirstReplyAt.IsZero() {
			parts = append(parts, "reply due "+h.Clock.Format(c.ReplyDue))
		} else {
			parts = append(parts, "resolve due "+h.Clock.Format(c.ResolveDue))
		}
		if c.Overdue(now) {
			parts = append(parts, "OVERDUE")
		}
	}
	return strings.Join(parts, " · ") + " — " + handlers.Excerpt(c.Text, 60)
}

// newPhone logs a phone complaint from arguments, or opens the form in
// Slack when there are none.
func (h *Complaints) newPhone(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) == 0 {
		if req.Platform == domain.PlatformSlack {
			return bot.Reply{Modal: h.newModal()}, nil
		}
		return bot.Reply{}, bot.Usagef("Give the customer's phone and what happened.")
	}
	in := phoneInput{}
	i := 0
	for ; i < len(req.Args); i++ {
		key, val, ok := strings.Cut(req.Args[i], "=")
		if !ok {
			break
		}
		switch strings.ToLower(key) {
		case "phone", "tel", "contact", "电话":
			in.contact = val
		case "order", "订单":
			in.order = val
		case "category", "cat", "分类":
			in.category = val
		default:
			return bot.Reply{}, bot.Usagef("Unknown field `%s`: use phone=, order= and category=.", key)
		}
	}
	in.text = req.Tail(i)
	return h.createPhone(ctx, req, in)
}

type phoneInput struct{ contact, order, category, text string }

func (h *Complaints) newModal() *bot.Modal {
	return &bot.Modal{CallbackID: ActionNew, Title: "Log phone complaint", Submit: "Log it",
		Inputs: []bot.Input{
			{ID: "contact", Label: "Customer phone (mobile, or landline with area code)", Placeholder: "13800138000"},
			{ID: "order", Label: "Order number", Optional: true, Placeholder: "20261111001"},
			{ID: "category", Label: "Category (guessed from the description when empty)", Optional: true, Options: categoryOptions()},
			{ID: "text", Label: "What the customer said", Multiline: true},
		}}
}

func (h *Complaints) newPhoneForm(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	f := req.Action.Form
	if s, _ := domain.CleanText(f["contact"], 100); s == "" {
		return formError("contact", "Give the customer's phone so someone can call back."), nil
	}
	if _, err := domain.ParsePhone(f["contact"]); err != nil {
		return formError("contact", ruleMessage(err)), nil
	}
	if s, _ := domain.CleanText(f["text"], 10); s == "" {
		return formError("text", "Describe the complaint."), nil
	}
	rep, err := h.createPhone(ctx, req, phoneInput{contact: f["contact"], order: f["order"], category: f["category"], text: f["text"]})
	if bot.IsUsage(err) { // forms have no usage line to show
		return bot.Reply{}, bot.Errorf("%s", err.Error())
	}
	return rep, err
}

// formError keeps a submitted form open with msg beside input id (Slack),
// and says msg where forms cannot do that.
func formError(id, msg string) bot.Reply {
	rep := bot.Text(msg)
	rep.Errors = map[string]string{id: msg}
	return rep
}

func (h *Complaints) createPhone(ctx context.Context, req *bot.Request, in phoneInput) (bot.Reply, error) {
	contact, _ := domain.CleanText(in.contact, 100)
	text, _ := domain.CleanText(in.text, domain.MaxComplaintText)
	order, _ := domain.CleanText(in.order, 64)
	if contact == "" {
		return bot.Reply{}, bot.Usagef("Give the customer's phone (phone=138…) so someone can call back.")
	}
	contact, err := domain.ParsePhone(contact)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	if text == "" {
		return bot.Reply{}, bot.Usagef("Describe the complaint after the fields.")
	}
	cat := domain.Classify(text)
	if strings.TrimSpace(in.category) != "" {
		var err error
		if cat, err = parseCategoryLabel(in.category); err != nil {
			return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
		}
	}
	if order == "" {
		order = domain.ExtractOrder(text)
	}
	c := domain.Complaint{Source: domain.SourcePhone, Contact: contact, Order: order, Category: cat, Text: text,
		CreatedBy: req.UserID, CreatedAt: h.Clock.Time()}
	c, err = h.Store.CreateComplaint(ctx, c, func(c domain.Complaint) domain.ComplaintChange {
		return domain.ComplaintChange{Messages: []domain.Outgoing{h.newPost(c)}}
	})
	if err != nil {
		return bot.Reply{}, err
	}
	h.Log.Info("Complaint filed", "complaint", c.Number, "category", c.Category.English(), "source", c.Source)
	return bot.Text(fmt.Sprintf("Logged %s (%s, phone). First reply due %s, resolve by %s; posted to the complaints channel.",
		c.Number, c.Category.Label(), h.Clock.Format(c.ReplyDue), h.Clock.Format(c.ResolveDue))), nil
}

func (h *Complaints) policyList(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	ps, err := h.Store.Policies(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Complaint SLA policies",
		Note: "Warnings go out at the warning point of each window; due times are fixed when a complaint is logged."}}
	for _, p := range ps {
		line := fmt.Sprintf("%s — reply within %s, resolve within %s, warn at %d%%", p.Category.Label(),
			handlers.Duration(p.Reply), handlers.Duration(p.Resolve), p.WarnPct)
		if p.UpdatedBy != "" {
			line += fmt.Sprintf(" (set by %s %s)", handlers.StaffMention(p.UpdatedBy), h.Clock.Format(p.UpdatedAt))
		}
		rep.List = append(rep.List, line)
	}
	return rep, nil
}

func (h *Complaints) policySet(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the category and at least one of reply=, resolve=, warn=.")
	}
	cat, err := parseCategoryLabel(req.Arg(0))
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	ps, err := h.Store.Policies(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	var p domain.SLAPolicy
	for _, q := range ps {
		if q.Category == cat {
			p = q
		}
	}
	for _, a := range req.Args[1:] {
		key, val, ok := strings.Cut(a, "=")
		if !ok {
			return bot.Reply{}, bot.Usagef("`%s` should be key=value (reply=24h, resolve=48h, warn=75).", a)
		}
		switch strings.ToLower(key) {
		case "reply":
			p.Reply, err = domain.ParseSLADuration(val)
		case "resolve":
			p.Resolve, err = domain.ParseSLADuration(val)
		case "warn":
			if p.WarnPct, err = strconv.Atoi(strings.TrimSuffix(val, "%")); err != nil {
				err = domain.Invalidf("%q is not a percentage (example: warn=75)", val)
			}
		default:
			return bot.Reply{}, bot.Usagef("Unknown setting `%s`: use reply=, resolve= and warn=.", key)
		}
		if err != nil {
			return bot.Reply{}, bot.Usagef("%s: %s", key, ruleMessage(err))
		}
	}
	p.UpdatedBy = req.UserID
	if err := p.Validate(); err != nil {
		return bot.Reply{}, bot.Errorf("%s", ruleMessage(err))
	}
	if err := h.Store.SetPolicy(ctx, p); err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("%s: reply within %s, resolve within %s, warn at %d%% — for complaints logged from now on.",
		p.Category.Label(), handlers.Duration(p.Reply), handlers.Duration(p.Resolve), p.WarnPct)), nil
}
