package domain

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// RawOrderEvent is an order event as the shop sends it, in JSON or as a
// CSV line: every field a string (total in yuan, "129.90").
type RawOrderEvent struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	OrderID      string `json:"order_id"`
	CustomerID   string `json:"customer_id"`
	WeChatOpenID string `json:"wechat_openid"`
	Total        string `json:"total"`
	Channel      string `json:"channel"`
	OccurredAt   string `json:"occurred_at"`
}

// OrderEventFields are the fields of an order event, in the CSV's order.
var OrderEventFields = []string{"id", "type", "order_id", "customer_id", "wechat_openid", "total", "channel", "occurred_at"}

// maxIDLen bounds the identifiers the shop sends.
const maxIDLen = 128

// Parse checks an event from the shop and converts it. The error says
// which field is wrong and what was expected.
func (r RawOrderEvent) Parse() (OrderEvent, error) {
	var e OrderEvent
	var err error
	if e.ID, err = ident("id", r.ID, true); err != nil {
		return e, err
	}
	e.Type = OrderEventType(strings.TrimSpace(r.Type))
	switch e.Type {
	case OrderCreated, OrderPaid, OrderCompleted, OrderCancelled, OrderRefunded:
	default:
		return e, Invalidf("type: %q is not one of order.created, order.paid, order.completed, order.cancelled, order.refunded", cut(r.Type))
	}
	if e.OrderID, err = ident("order_id", r.OrderID, true); err != nil {
		return e, err
	}
	if e.CustomerID, err = ident("customer_id", r.CustomerID, true); err != nil {
		return e, err
	}
	if e.WeChatOpenID, err = ident("wechat_openid", r.WeChatOpenID, false); err != nil {
		return e, err
	}
	if e.Channel, err = ident("channel", r.Channel, false); err != nil {
		return e, err
	}
	if e.Total, err = ParseYuan(r.Total); err != nil {
		return e, Invalidf("total: %v", err)
	}
	at := strings.TrimSpace(r.OccurredAt)
	if e.OccurredAt, err = time.Parse(time.RFC3339, at); err != nil {
		return e, Invalidf("occurred_at: %q is not an RFC 3339 time such as 2026-11-11T10:00:00+08:00", cut(at))
	}
	return e, nil
}

func ident(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", Invalidf("%s: missing", field)
	case len(s) > maxIDLen:
		return "", Invalidf("%s: longer than %d bytes", field, maxIDLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl):
		return "", Invalidf("%s: has control characters or invalid UTF-8", field)
	}
	return s, nil
}

func cut(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// ParseYuan parses an amount in yuan ("129.90", "5", "0.5") into fen,
// exactly: no floating point. Negative amounts and more than two decimals
// are refused.
func ParseYuan(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || len(whole) > 12 {
		return 0, Invalidf("%q is not an amount in yuan such as 129.90", cut(s))
	}
	for _, r := range whole + frac {
		if r < '0' || r > '9' {
			return 0, Invalidf("%q is not an amount in yuan such as 129.90", cut(s))
		}
	}
	for len(frac) < 2 {
		frac += "0"
	}
	y, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt(frac, 10, 64)
	return y*100 + f, nil
}

// Yuan formats fen as people read money: ¥1,234.56.
func Yuan(fen int64) string {
	neg := fen < 0
	if neg {
		fen = -fen
	}
	whole := strconv.FormatInt(fen/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	s := fmt.Sprintf("¥%s.%02d", b.String(), fen%100)
	if neg {
		s = "-" + s
	}
	return s
}

// TrafficDay is the shop's traffic for one date (and channel, "" for all).
type TrafficDay struct {
	Date                          time.Time
	Channel                       string
	PV, UV, NewUsers, ActiveUsers int64
}

// RawTrafficDay is a traffic row as sent: strings, from JSON or CSV.
type RawTrafficDay struct {
	Date        string `json:"date"`
	Channel     string `json:"channel"`
	PV          any    `json:"pv"`
	UV          any    `json:"uv"`
	NewUsers    any    `json:"new_users"`
	ActiveUsers any    `json:"active_users"`
}

// TrafficFields are the CSV columns of traffic.
var TrafficFields = []string{"date", "channel", "pv", "uv", "new_users", "active_users"}

// Parse checks a traffic row; dates are read in loc.
func (r RawTrafficDay) Parse(loc *time.Location) (TrafficDay, error) {
	var d TrafficDay
	t, err := ParseDate(r.Date, loc)
	if err != nil {
		return d, Invalidf("date: %q is not a date such as 2026-11-11", cut(r.Date))
	}
	d.Date = t
	if d.Channel, err = ident("channel", r.Channel, false); err != nil {
		return d, err
	}
	for _, f := range []struct {
		name string
		v    any
		dst  *int64
	}{{"pv", r.PV, &d.PV}, {"uv", r.UV, &d.UV}, {"new_users", r.NewUsers, &d.NewUsers}, {"active_users", r.ActiveUsers, &d.ActiveUsers}} {
		n, err := count(f.v)
		if err != nil {
			return d, Invalidf("%s: %v", f.name, err)
		}
		*f.dst = n
	}
	return d, nil
}

// count reads a non-negative whole number from JSON (a number or a
// string) or CSV (a string).
func count(v any) (int64, error) {
	var s string
	switch x := v.(type) {
	case nil:
		return 0, Invalidf("missing")
	case string:
		s = strings.TrimSpace(x)
	case float64:
		if x < 0 || x != float64(int64(x)) || x > 1e15 {
			return 0, Invalidf("%v is not a whole number ≥ 0", x)
		}
		return int64(x), nil
	case json.Number:
		s = x.String()
	default:
		return 0, Invalidf("not a number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, Invalidf("%q is not a whole number ≥ 0", cut(s))
	}
	return n, nil
}

// Order is an order as its events add up. Totals are fen.
type Order struct {
	ID, CustomerID, WeChatOpenID, Channel string
	Total, Refunded                       int64
	State                                 OrderEventType // the latest event's type
	StateAt                               time.Time
	CreatedAt, PaidAt, CompletedAt        time.Time
	CancelledAt, RefundedAt               time.Time
}
