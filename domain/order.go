package domain

import (
	"regexp"
	"strings"
	"time"
)

var (
	orderLabelled = regexp.MustCompile(`(?i)(?:订单号|订单编号|订单|order(?:\s*(?:no\.?|number|#))?)\s*[:#=]?\s*([A-Za-z0-9][A-Za-z0-9-]{5,39})`)
	digitRun      = regexp.MustCompile(`[0-9]{10,32}`)
	mobile        = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// ExtractOrder finds an order number in a customer's text: one labelled
// as such (订单 20261111001, 订单号：ABC123456), else the first run of 10 or
// more digits that is not a mobile number. It returns "" when there is none.
func ExtractOrder(text string) string {
	t := FoldWidth(text)
	if m := orderLabelled.FindStringSubmatch(t); m != nil && strings.ContainsAny(m[1], "0123456789") {
		return m[1]
	}
	for _, run := range digitRun.FindAllString(t, -1) {
		if !mobile.MatchString(run) {
			return run
		}
	}
	return ""
}

// OrderEventType is what happened to an order, as the shop's systems report it.
type OrderEventType string

// Order event types accepted by POST /ingest/orders.
const (
	OrderCreated   OrderEventType = "order.created"
	OrderPaid      OrderEventType = "order.paid"
	OrderCompleted OrderEventType = "order.completed"
	OrderCancelled OrderEventType = "order.cancelled"
	OrderRefunded  OrderEventType = "order.refunded"
)

// OrderEvent is one event from the shop's order system. Total is in fen
// (1/100 yuan): for order.refunded it is the amount refunded.
type OrderEvent struct {
	ID           string
	Type         OrderEventType
	OrderID      string
	CustomerID   string
	WeChatOpenID string
	Total        int64
	Channel      string
	OccurredAt   time.Time
}
