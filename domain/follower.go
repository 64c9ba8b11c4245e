package domain

import "time"

// ConversationWindow is how long after a customer's last message the shop
// may write to them freely (WeChat's 客服消息 window).
const ConversationWindow = 48 * time.Hour

// Follower is a customer who follows the shop's account: whether they
// still do, and what the shop may send them now.
type Follower struct {
	OpenID         string
	Subscribed     bool
	SubscribedAt   time.Time
	UnsubscribedAt time.Time
	// LastInbound is when the customer last wrote or clicked; the
	// conversation window runs from it.
	LastInbound time.Time
	// Allowance is how many more messages may be sent in the window
	// before the customer writes again.
	Allowance int
}

// WindowOpen reports whether free-form messages may reach f at now.
func (f Follower) WindowOpen(now time.Time) bool {
	return f.Subscribed && !f.LastInbound.IsZero() && now.Sub(f.LastInbound) < ConversationWindow
}
