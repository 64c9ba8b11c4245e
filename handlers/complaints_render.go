package handlers

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

// Action IDs of the complaint buttons and forms. A button's Value is the
// complaint number; so is a form's private value.
const (
	ActionClaim    = "complaint.claim"
	ActionReply    = "complaint.reply"    // button, and the reply form's callback
	ActionResolve  = "complaint.resolve"  // button, and the outcome form's callback
	ActionCategory = "complaint.category" // button, and the category form's callback
	ActionReopen   = "complaint.reopen"
	ActionNew      = "complaint.new" // the phone-complaint form's callback
)

// WeChatTemplate names the kind of notice complaint messages to customers
// are, for the WeChat adapter's template fallback outside the 48 h window.
const WeChatTemplate = "complaint"

// slackCard is a complaint as its Slack post shows it, buttons included.
func (h *Complaints) slackCard(c domain.Complaint) domain.Content {
	ct := domain.Content{
		Title: fmt.Sprintf("Complaint %s · %s", c.Number, c.Category.Label()),
		Text:  quote(excerpt(c.Text, 2500)),
		Fields: []domain.Field{
			{Label: "Status", Value: statusLine(c)},
			{Label: "Customer", Value: customerLine(c, true)},
			{Label: "Order", Value: orDash(c.Order)},
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
	case c.Resolved():
		s := "Resolved by " + staffMention(c.ResolvedBy)
		if c.Outcome != "" {
			s += ": " + excerpt(c.Outcome, 200)
		}
		return s
	case c.Assignee != "":
		return "Claimed by " + staffMention(c.Assignee)
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

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// staffMention links a Slack user; other IDs (terminal names) show as is.
func staffMention(id string) string {
	switch {
	case id == "":
		return "nobody"
	case slackUserID.MatchString(id):
		return "<@" + id + ">"
	}
	return id
}

// actorName shows who did something in a timeline.
func actorName(c domain.Complaint, actor string) string {
	switch {
	case actor == domain.ActorBot:
		return "opsbot"
	case actor != "" && actor == c.OpenID:
		return "customer"
	}
	return staffMention(actor)
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return "> " + strings.ReplaceAll(s, "\n", "\n> ")
}

// excerpt cuts s to n characters on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// shortDuration shows a duration to staff: 48h, 10m, 1h30m, 3d2h.
func shortDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if d < 72*time.Hour { // 24h and 48h read better than 1d and 2d
		days, hours = 0, int(d/time.Hour)
	}
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%dh", hours)
	}
	if mins > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%dm", mins)
	}
	return b.String()
}

// zhDuration shows a duration to customers: 24 小时, 10 分钟, 1 小时 30 分钟.
func zhDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	hours, mins := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d 小时 %d 分钟", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d 小时", hours)
	}
	return fmt.Sprintf("%d 分钟", mins)
}
