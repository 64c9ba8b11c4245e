package complaints

import (
	"fmt"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// Action IDs of the complaint buttons and forms. A button's Value is the
// complaint number; so is a form's private value.
const (
	ActionClaim    = "complaint.claim"
	ActionReply    = "complaint.reply"    // button, and the reply form's callback
	ActionResolve  = "complaint.resolve"  // button, and the outcome form's callback
	ActionCategory = "complaint.category" // button, and the category form's callback
	ActionReopen   = "complaint.reopen"
	ActionNew      = "complaint.new"       // the phone-complaint form's callback
	ActionMore     = "complaint.more"      // the next page of a list; Value is the list's words
	ActionFindMore = "complaint.find-more" // the next page of a search; Value is its words
)

// WeChatTemplate names the kind of notice complaint messages to customers
// are, for the WeChat adapter's template fallback outside the 48 h window.
const WeChatTemplate = "complaint"

// slackCard is a complaint as its Slack post shows it, buttons included.
func (h *Complaints) slackCard(c domain.Complaint) domain.Content {
	ct := domain.Content{
		Title: fmt.Sprintf("Complaint %s · %s", c.Number, c.Category.Label()),
		Text:  handlers.Quote(handlers.Excerpt(c.Text, 2500)),
		Fields: []domain.Field{
			{Label: "Status", Value: statusLine(c)},
			{Label: "Customer", Value: customerLine(c, true)},
			{Label: "Order", Value: handlers.OrDash(c.Order)},
			{Label: "Category", Value: c.Category.Label()},
			{Label: "First reply due", Value: h.dueLine(c.ReplyDue, c.FirstReplyAt, "replied")},
			{Label: "Resolve due", Value: h.dueLine(c.ResolveDue, c.ResolvedAt, "resolved")},
		},
	}
	if c.Resolved() {
		ct.Buttons = []domain.Button{{Label: "Reopen", ActionID: ActionReopen, Value: c.Number}}
		ct.Note = "Resolved. Reopen it if the customer comes back about it."
		return ct
	}
	claim := domain.Button{Label: "Claim", ActionID: ActionClaim, Value: c.Number, Style: "primary"}
	if c.Assignee != "" {
		claim.Label, claim.Style = "Take over", ""
	}
	ct.Buttons = []domain.Button{
		claim,
		{Label: "Reply", ActionID: ActionReply, Value: c.Number},
		{Label: "Resolve", ActionID: ActionResolve, Value: c.Number},
		{Label: "Category", ActionID: ActionCategory, Value: c.Number},
	}
	if c.Source == domain.SourcePhone {
		ct.Note = "Phone complaint: nothing reaches the customer on WeChat; call them and record what you said with Reply."
	} else {
		ct.Note = "Reply in this thread to answer the customer on WeChat; start a message with `note:` to keep it internal."
	}
	return ct
}

func statusLine(c domain.Complaint) string {
	switch {
	case c.Withdrawn():
		return "Withdrawn by the customer"
	case c.Resolved():
		s := "Resolved by " + handlers.StaffMention(c.ResolvedBy)
		if c.Outcome != "" {
			s += ": " + handlers.Excerpt(c.Outcome, 200)
		}
		return s
	case c.Assignee != "":
		return "Claimed by " + handlers.StaffMention(c.Assignee)
	}
	return "Open — unclaimed"
}

func customerLine(c domain.Complaint, mask bool) string {
	if c.Source == domain.SourcePhone {
		if mask {
			return "Phone " + domain.MaskContact(c.Contact)
		}
		return "Phone " + c.Contact
	}
	return "WeChat " + domain.MaskContact(c.OpenID)
}

func (h *Complaints) dueLine(due, done time.Time, verb string) string {
	s := h.Clock.Format(due)
	if !done.IsZero() {
		mark := "✓"
		if done.After(due) {
			mark = "late"
		}
		s += fmt.Sprintf(" (%s %s, %s)", verb, h.Clock.Format(done), mark)
	}
	return s
}

// newPost is the Slack post announcing a new complaint; later messages
// thread under it and updates replace it through its Ref.
func (h *Complaints) newPost(c domain.Complaint) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: h.Channels.Complaints,
		Ref: c.Ref(), Content: h.slackCard(c)}
}

// cardUpdate replaces the complaint's Slack post with its current state.
func (h *Complaints) cardUpdate(c domain.Complaint) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutUpdate, To: h.Channels.Complaints,
		Ref: c.Ref(), Content: h.slackCard(c)}
}

// threadPost says something in the complaint's Slack thread.
func (h *Complaints) threadPost(c domain.Complaint, text string) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: h.Channels.Complaints,
		ThreadRef: c.Ref(), Content: domain.Content{Text: text}}
}

// toCustomer is a message to the complaint's customer on WeChat; ok is
// false for phone complaints, which have nobody to send it to.
func toCustomer(c domain.Complaint, text string) (domain.Outgoing, bool) {
	if c.OpenID == "" {
		return domain.Outgoing{}, false
	}
	return domain.Outgoing{Platform: domain.PlatformWeChat, Kind: domain.OutPost, To: c.OpenID,
		Template: WeChatTemplate, Content: domain.Content{Text: text}}, true
}

// actorName shows who did something in a timeline.
func actorName(c domain.Complaint, actor string) string {
	switch {
	case actor == domain.ActorBot:
		return "opsbot"
	case actor != "" && actor == c.OpenID:
		return "customer"
	}
	return handlers.StaffMention(actor)
}
