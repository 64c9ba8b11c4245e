// Package bot is opsbot's platform-neutral core: the message a person sends
// and the reply they get, the command registry with its generated help, role
// checks and panic recovery, the outbox dispatcher that delivers what
// handlers decide to send, and the scheduler that runs jobs once across
// replicas. Adapters (bot/slack, bot/wechat, bot/terminal) translate between
// their platform and these types.
package bot

import (
	"context"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// Handler answers a message; *Router is the one opsbot uses, and every
// adapter (Slack, WeChat, terminal) takes one.
type Handler interface {
	Handle(ctx context.Context, msg Message) Reply
}

// Message is something a person said or did, as every platform looks to
// the handlers.
type Message struct {
	Platform domain.Platform
	// UserID is the Slack user ID, the WeChat OpenID or the terminal name.
	UserID   string
	UserName string
	// Role is filled in by the router from the staff list; adapters for
	// customer platforms set RoleCustomer themselves.
	Role domain.Role
	// ChannelID is where the message was said; ThreadID the thread it was
	// said in, if any.
	ChannelID string
	ThreadID  string
	// Text is what was typed: a command line for staff, free text for
	// customers.
	Text string
	// Action is set when a button was pressed or a form submitted.
	Action *Action
	// Ambient marks something said near opsbot rather than to it: a reply
	// in a thread opsbot started, say. Only staff hooks see it; when none
	// takes it, opsbot stays silent.
	Ambient bool
	// ID is the platform's delivery ID, for logs.
	ID   string
	Time time.Time
}

// Action is a button press or a form submission.
type Action struct {
	// ID is the button's action ID or the form's callback ID.
	ID string
	// Value is the button's value or the form's private value.
	Value string
	// Form holds a submitted form's inputs by input ID.
	Form map[string]string
	// Channel and TS locate the message holding the button, so the
	// handler can have it updated.
	Channel string
	TS      string
}

// Reply is the answer to a message: content shown to the sender, and how.
type Reply struct {
	domain.Content
	// InChannel shows the reply to everyone in the channel instead of only
	// to the sender (Slack's ephemeral default).
	InChannel bool
	// Modal asks the platform to open a form; platforms without forms show
	// the content instead.
	Modal *Modal
	// Update replaces the message holding the pressed button.
	Update bool
	// Errors rejects a submitted form: messages by input ID. Slack shows
	// them beside the inputs and keeps the form open; adapters without
	// forms should show them as text.
	Errors map[string]string
}

// Modal is a form to fill in.
type Modal struct {
	CallbackID string // routes the submission, like a button's action ID
	Title      string
	Submit     string
	Value      string // private value returned with the submission
	Inputs     []Input
}

// Input is one field of a form.
type Input struct {
	ID          string
	Label       string
	Placeholder string
	Initial     string
	Multiline   bool
	Optional    bool
	Options     []string // a choice among these, when set
}

// Text returns a reply with just text.
func Text(s string) Reply { return Reply{Content: domain.Content{Text: s}} }
