package domain

import (
	"errors"
	"fmt"
	"time"
)

// Content is a platform-neutral message body: text plus structured parts
// that an adapter renders as well as its platform allows (Block Kit in Slack,
// plain lines on WeChat and in the terminal).
type Content struct {
	Title   string   `json:"title,omitempty"`
	Text    string   `json:"text,omitempty"`
	Fields  []Field  `json:"fields,omitempty"`
	List    []string `json:"list,omitempty"`
	Note    string   `json:"note,omitempty"` // small print: context, hints
	Buttons []Button `json:"buttons,omitempty"`
	// Choices are answers a customer can tap instead of typing (a WeChat
	// 客服消息 msgmenu); a tap arrives as the choice's text. Where taps
	// are not supported they are shown as a line of text.
	Choices []string `json:"choices,omitempty"`
}

// Field is a labelled value, shown side by side where the platform can.
type Field struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Button is a clickable action. ActionID routes the click back to a handler;
// Value carries its argument (a complaint number, say).
type Button struct {
	Label    string `json:"label"`
	ActionID string `json:"action_id"`
	Value    string `json:"value,omitempty"`
	Style    string `json:"style,omitempty"` // "primary" or "danger"
}

// IsZero reports whether c has nothing to show.
func (c Content) IsZero() bool {
	return c.Title == "" && c.Text == "" && len(c.Fields) == 0 && len(c.List) == 0 &&
		c.Note == "" && len(c.Buttons) == 0 && len(c.Choices) == 0
}

// OutKind says what an outgoing message does on its platform.
type OutKind string

// Outgoing message kinds.
const (
	// OutPost posts to a channel (Slack) or sends to a customer (WeChat).
	OutPost OutKind = "post"
	// OutDM sends a direct message to a user.
	OutDM OutKind = "dm"
	// OutUpdate replaces a message posted earlier under Ref.
	OutUpdate OutKind = "update"
	// OutUpload uploads a file (Attachment) to a channel.
	OutUpload OutKind = "upload"
)

// Outgoing is a message opsbot has decided to send. It is written to the
// outbox in the same transaction as the change that caused it and delivered
// later by the dispatcher, so a crash loses nothing.
type Outgoing struct {
	ID       int64
	Platform Platform
	Kind     OutKind
	// To is the destination: a Slack channel or user ID, or a WeChat OpenID.
	// Adapters may also accept logical names such as "#complaints".
	To string
	// Ref names this message so later messages can thread under it or
	// update it ("complaint:TS-20261122-0001").
	Ref string
	// ThreadRef, when set, posts this message in the thread of the message
	// posted earlier under that Ref.
	ThreadRef string
	// Template names the kind of notice, for platforms that need an
	// approved template outside a conversation window (WeChat).
	Template string
	Content  Content
	// Attachment is a file for OutUpload.
	Attachment *Attachment
	// DedupeKey, when set, makes enqueueing idempotent: a second message
	// with the same key is dropped. SLA warnings use it to be sent once.
	DedupeKey string
	// Purpose is what the message is for; it decides what happens when
	// the customer cannot be reached.
	Purpose Purpose
	// Batch names the broadcast the message belongs to ("campaign:12"),
	// so its sender can ask how it went (store.BatchTally).
	Batch string
}

// Purpose is what an outgoing message is for.
type Purpose string

// Purposes. The zero value is a service message (a complaint reply, a
// staff notice).
const (
	PurposeService  Purpose = ""
	PurposeSurvey   Purpose = "survey"
	PurposeCampaign Purpose = "campaign"
)

// TellAgents reports whether staff must hear of a customer who could not
// be reached with this message, so that someone phones them: yes for
// service messages (a complaint reply), no for surveys and campaign
// notices, which are only counted — never a Slack card per customer.
func (p Purpose) TellAgents() bool { return p != PurposeSurvey && p != PurposeCampaign }

// Label names the purpose in metrics and reports.
func (p Purpose) Label() string {
	if p == PurposeService {
		return "service"
	}
	return string(p)
}

// Tally is how a broadcast went.
type Tally struct {
	Sent, Unreachable, Failed, Pending int
}

// Done reports whether every message of the broadcast has an outcome.
func (t Tally) Done() bool { return t.Pending == 0 }

// Attachment is a file to upload.
type Attachment struct {
	Name  string `json:"name"`
	Title string `json:"title,omitempty"`
	Data  []byte `json:"data"`
}

// OutboxState is where an outgoing message is in its delivery.
type OutboxState string

// Outbox states.
const (
	OutboxPending OutboxState = "pending"
	OutboxSent    OutboxState = "sent"
	OutboxFailed  OutboxState = "failed" // permanent failure, with a reason
)

// OutboxItem is an outgoing message as the outbox holds it.
type OutboxItem struct {
	Outgoing
	State       OutboxState
	Attempts    int
	NextAttempt time.Time
	LastError   string
	CreatedAt   time.Time
	SentAt      time.Time
	// Resolved fields, filled in by the dispatcher from earlier deliveries.
	ThreadChannel, ThreadTS string // the thread parent, when ThreadRef is set
	RefChannel, RefTS       string // the message to update, for OutUpdate
}

// Delivery is what a platform said about a message it accepted.
type Delivery struct {
	Channel string // where it landed (a DM channel for OutDM)
	TS      string // the platform's message ID
}

// SendError classifies a failed delivery so the dispatcher knows whether to
// try again.
type SendError struct {
	Permanent bool
	// Unreachable marks a permanent failure that is the customer being out
	// of reach (the 48-hour window closed, no template, unfollowed) rather
	// than an error.
	Unreachable bool
	RetryAfter  time.Duration // rate limits: wait at least this long
	Reason      string        // short machine-readable reason: channel_not_found, 45015...
	Err         error
}

func (e *SendError) Error() string {
	kind := "transient"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s send error %s: %v", kind, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s send error %s", kind, e.Reason)
}

func (e *SendError) Unwrap() error { return e.Err }

// Permanent returns a SendError that must not be retried.
func Permanent(reason string, err error) error {
	return &SendError{Permanent: true, Reason: reason, Err: err}
}

// Unreachable returns a permanent SendError saying the customer cannot be
// reached this way.
func Unreachable(reason string, err error) error {
	return &SendError{Permanent: true, Unreachable: true, Reason: reason, Err: err}
}

// IsUnreachable reports whether err says the recipient is out of reach.
func IsUnreachable(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Unreachable
}

// IsPermanent reports whether err says not to try again.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// RetryAfter returns the wait a rate-limited err asks for, or zero.
func RetryAfter(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}
