package domain

import (
	"fmt"
	"strings"
	"time"
)

// Period is a half-open range of time [From, To) in the shop's zone, with
// the name people use for it.
type Period struct {
	From, To time.Time
	Label    string // 2026-11-11, week of 2026-11-09, 2026-11, 2026-11-01..2026-11-15
	Kind     string // day, week, month, range
}

// Days is how many calendar days the period spans.
func (p Period) Days() int { return int(p.To.Sub(p.From).Round(24*time.Hour) / (24 * time.Hour)) }

// Day is the calendar day of t in loc.
func Day(t time.Time, loc *time.Location) Period {
	d := Midnight(t, loc)
	return Period{From: d, To: d.AddDate(0, 0, 1), Label: d.Format(dateLayout), Kind: "day"}
}

// Week is the week from Monday holding t.
func Week(t time.Time, loc *time.Location) Period {
	d := Midnight(t, loc)
	d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	return Period{From: d, To: d.AddDate(0, 0, 7), Label: "week of " + d.Format(dateLayout), Kind: "week"}
}

// Month is the calendar month holding t.
func Month(t time.Time, loc *time.Location) Period {
	t = t.In(loc)
	d := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	return Period{From: d, To: d.AddDate(0, 1, 0), Label: d.Format("2006-01"), Kind: "month"}
}

// Previous is the period of the same kind just before p.
func (p Period) Previous() Period {
	loc := p.From.Location()
	switch p.Kind {
	case "day":
		return Day(p.From.AddDate(0, 0, -1), loc)
	case "week":
		return Week(p.From.AddDate(0, 0, -7), loc)
	case "month":
		return Month(p.From.AddDate(0, -1, 0), loc)
	}
	n := p.To.Sub(p.From)
	return Range(p.From.Add(-n), p.From)
}

// Range is an arbitrary period.
func Range(from, to time.Time) Period {
	return Period{From: from, To: to, Kind: "range",
		Label: from.Format(dateLayout) + ".." + to.Add(-time.Nanosecond).Format(dateLayout)}
}

// ParsePeriod reads a period as staff type it, relative to now: "" or
// "today", "yesterday", a date (2026-11-11), "week" (this week so far),
// "last-week", "month", "last-month", a month (2026-11), or a range
// (2026-11-01..2026-11-15, both days included).
func ParsePeriod(s string, now time.Time, loc *time.Location) (Period, error) {
	s = strings.ToLower(strings.TrimSpace(FoldWidth(s)))
	switch s {
	case "", "today":
		return Day(now, loc), nil
	case "yesterday":
		return Day(now.AddDate(0, 0, -1), loc), nil
	case "week":
		return Week(now, loc), nil
	case "last-week", "lastweek":
		return Week(now.AddDate(0, 0, -7), loc), nil
	case "month":
		return Month(now, loc), nil
	case "last-month", "lastmonth":
		return Month(now.AddDate(0, -1, 0), loc), nil
	}
	if a, b, ok := strings.Cut(s, ".."); ok {
		from, err1 := ParseDate(a, loc)
		to, err2 := ParseDate(b, loc)
		if err1 != nil || err2 != nil || to.Before(from) || to.Sub(from) > 400*24*time.Hour {
			return Period{}, Invalidf("%q is not a range such as 2026-11-01..2026-11-15", s)
		}
		return Range(from, to.AddDate(0, 0, 1)), nil
	}
	if t, err := time.ParseInLocation("2006-01", s, loc); err == nil {
		return Month(t, loc), nil
	}
	if t, err := ParseDate(s, loc); err == nil {
		return Day(t, loc), nil
	}
	return Period{}, Invalidf("%q is not a period (today, yesterday, 2026-11-11, week, last-week, month, last-month, 2026-11, 2026-11-01..2026-11-15)", s)
}

// Unit is how a metric's value reads.
type Unit int

// Units.
const (
	UnitCount Unit = iota
	UnitMoney      // fen
	UnitRatio      // a fraction, shown as %
	UnitScore      // 1–5
)

// Metric is one figure opsbot reports, defined once: its name as staff
// type it, its label and how it is computed.
type Metric struct {
	Name       string
	Label      string
	Unit       Unit
	Definition string
}

// Metrics are every figure, in the order reports show them. The
// definitions follow domain.md §3; a ratio with a missing or zero
// denominator is "no data", never 0 %.
var Metrics = []Metric{
	{"gmv", "GMV", UnitMoney, "Sum of the totals of orders paid in the period (by the time they were paid). Cancelled unpaid orders are not GMV; refunds are not subtracted."},
	{"orders", "Orders", UnitCount, "Orders paid in the period."},
	{"paying_customers", "Paying customers", UnitCount, "Distinct customers (the shop's customer_id) with an order paid in the period."},
	{"aov", "AOV (客单价)", UnitMoney, "GMV / paying customers."},
	{"conversion", "Conversion", UnitRatio, "Paying customers / UV. No data when any day of the period has no traffic."},
	{"refund_rate", "Refund rate", UnitRatio, "Orders refunded in the period (by the time of the refund) among the orders paid in the same period / orders paid in the period."},
	{"pv", "PV", UnitCount, "Page views, the sum of the daily figures the shop pushes. No data when any day of the period is missing."},
	{"uv", "UV", UnitCount, "Unique visitors, the sum of the daily figures (a visitor on two days counts twice). No data when any day is missing."},
	{"new_users", "New users", UnitCount, "New users, the sum of the daily figures. No data when any day is missing."},
	{"active_users", "Active users", UnitCount, "Active users, the sum of the daily figures. No data when any day is missing."},
	{"repurchase_rate", "Repurchase rate", UnitRatio, "Paying customers in the period who had paid for an order before it / active users."},
	{"complaints", "Complaints", UnitCount, "Complaints received in the period (WeChat and phone; survey follow-up cases are not complaints)."},
	{"complaint_rate", "Complaint rate", UnitRatio, "Distinct customers who complained in the period / active users."},
	{"reply_sla", "First-reply SLA", UnitRatio, "Complaints received in the period answered within their first-reply window / those decided (answered, or unanswered past the deadline)."},
	{"resolve_sla", "Resolution SLA", UnitRatio, "Complaints received in the period resolved within their window / those decided (after-sales resolution rate)."},
	{"satisfaction", "Satisfaction", UnitScore, "Average survey score (1–5) of the answers given in the period."},
	{"survey_responses", "Survey responses", UnitCount, "Survey answers given in the period."},
}

// MetricByName finds a metric by its name or label, case and spacing
// ignored ("AOV", "refund-rate", "refund rate").
func MetricByName(s string) (Metric, bool) {
	key := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, m := range Metrics {
		if m.Name == key || strings.EqualFold(m.Label, s) {
			return m, true
		}
	}
	return Metric{}, false
}

// Value is a metric's value for a period; OK false is "no data".
type Value struct {
	V  float64 // fen for money, a fraction for ratios
	OK bool
}

// Format shows a value as people read it: ¥1,234.56, 3.2 %, 1,024, 4.8,
// or "no data".
func (m Metric) Format(v Value) string {
	if !v.OK {
		return "no data"
	}
	switch m.Unit {
	case UnitMoney:
		return Yuan(int64(v.V + 0.5))
	case UnitRatio:
		return fmt.Sprintf("%.1f%%", v.V*100)
	case UnitScore:
		return fmt.Sprintf("%.2f", v.V)
	}
	return groupDigits(int64(v.V))
}

func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 && r != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ShopTotals are the sums the metrics of a period are computed from.
type ShopTotals struct {
	GMV, Orders, PayingCustomers, RefundedOrders, RepeatBuyers int64
	// TrafficDays is how many days of the period have traffic; the
	// traffic figures count only when every day does.
	TrafficDays, PeriodDays          int
	PV, UV, NewUsers, ActiveUsers    int64
	Complaints, ComplainingCustomers int64
	ReplyMet, ReplyDecided           int64
	ResolveMet, ResolveDecided       int64
	SurveyResponses                  int64
	SurveyScoreSum                   int64
}

// Figures are a period's metrics by name.
type Figures map[string]Value

// Figures computes every metric from the totals.
func (t ShopTotals) Figures() Figures {
	traffic := t.PeriodDays > 0 && t.TrafficDays >= t.PeriodDays
	count := func(n int64) Value { return Value{V: float64(n), OK: true} }
	ratio := func(a, b int64, ok bool) Value {
		if !ok || b == 0 {
			return Value{}
		}
		return Value{V: float64(a) / float64(b), OK: true}
	}
	f := Figures{
		"gmv":              count(t.GMV),
		"orders":           count(t.Orders),
		"paying_customers": count(t.PayingCustomers),
		"aov":              ratio(t.GMV, t.PayingCustomers, true),
		"conversion":       ratio(t.PayingCustomers, t.UV, traffic),
		"refund_rate":      ratio(t.RefundedOrders, t.Orders, true),
		"repurchase_rate":  ratio(t.RepeatBuyers, t.ActiveUsers, traffic),
		"complaints":       count(t.Complaints),
		"complaint_rate":   ratio(t.ComplainingCustomers, t.ActiveUsers, traffic),
		"reply_sla":        ratio(t.ReplyMet, t.ReplyDecided, true),
		"resolve_sla":      ratio(t.ResolveMet, t.ResolveDecided, true),
		"survey_responses": count(t.SurveyResponses),
		"satisfaction":     ratio(t.SurveyScoreSum, t.SurveyResponses, true),
	}
	for name, v := range map[string]int64{"pv": t.PV, "uv": t.UV, "new_users": t.NewUsers, "active_users": t.ActiveUsers} {
		f[name] = Value{V: float64(v), OK: traffic}
	}
	return f
}

// DayFigure is one day of a chart's series.
type DayFigure struct {
	Day         time.Time
	GMV, Orders int64
}
