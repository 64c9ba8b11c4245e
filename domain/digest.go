package domain

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"
)

// DigestKind is which digest: the 日报, 周报 or 月报.
type DigestKind string

// Digest kinds.
const (
	DigestDaily   DigestKind = "daily"
	DigestWeekly  DigestKind = "weekly"
	DigestMonthly DigestKind = "monthly"
)

// ParseDigestKind reads daily/weekly/monthly (also day, week, month,
// 日报, 周报, 月报).
func ParseDigestKind(s string) (DigestKind, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "daily", "day", "日报":
		return DigestDaily, true
	case "weekly", "week", "周报":
		return DigestWeekly, true
	case "monthly", "month", "月报":
		return DigestMonthly, true
	}
	return "", false
}

// Label is the digest's name as managers know it.
func (k DigestKind) Label() string {
	switch k {
	case DigestWeekly:
		return "Weekly digest 周报"
	case DigestMonthly:
		return "Monthly digest 月报"
	}
	return "Daily digest 日报"
}

// DigestWindow is what a digest reports: a day, week or month, counted up
// to Cutoff. A period still running (Partial) is compared like for like:
// the same stretch of time from the start of each period it is compared
// with (the day so far until 18:00 against yesterday until 18:00).
type DigestWindow struct {
	Kind    DigestKind
	Period  Period // the whole day, week or month
	Cutoff  time.Time
	Partial bool
}

// NewDigestWindow returns the window of a digest of kind for the period
// holding ref, as known at now. A period that has not begun is an error.
func NewDigestWindow(kind DigestKind, ref, now time.Time, loc *time.Location) (DigestWindow, error) {
	var p Period
	switch kind {
	case DigestDaily:
		p = Day(ref, loc)
	case DigestWeekly:
		p = Week(ref, loc)
	case DigestMonthly:
		p = Month(ref, loc)
	default:
		return DigestWindow{}, Invalidf("no digest kind %q (daily, weekly or monthly)", kind)
	}
	if !now.After(p.From) {
		return DigestWindow{}, Invalidf("%s has not begun yet", p.Label)
	}
	w := DigestWindow{Kind: kind, Period: p, Cutoff: p.To}
	if now.Before(p.To) {
		w.Cutoff, w.Partial = now.In(loc), true
	}
	return w, nil
}

// Key names the digest in its history: daily:2026-12-04,
// weekly:2026-11-30, monthly:2026-11. One digest is posted per key.
func (w DigestWindow) Key() string {
	if w.Kind == DigestMonthly {
		return string(w.Kind) + ":" + w.Period.From.Format("2006-01")
	}
	return string(w.Kind) + ":" + w.Period.From.Format(dateLayout)
}

// Title is the header line: "Daily digest 日报 — Fri 2026-12-04, until 18:00".
func (w DigestWindow) Title() string {
	var s string
	switch w.Kind {
	case DigestDaily:
		s = w.Period.From.Format("Mon 2006-01-02")
	case DigestWeekly:
		s = "week of " + w.Period.From.Format("Mon 2006-01-02") + " – " + w.Period.To.AddDate(0, 0, -1).Format("Sun 01-02")
	default:
		s = w.Period.From.Format("January 2006")
	}
	if w.Partial {
		s += ", until " + w.Cutoff.Format("15:04")
		if w.Kind != DigestDaily {
			s += " " + w.Cutoff.Format("Mon")
		}
	}
	return w.Kind.Label() + " — " + s
}

// elapsed is how far into its period the window reaches.
func (w DigestWindow) elapsed() time.Duration { return w.Cutoff.Sub(w.Period.From) }

// Current is the stretch reported: [start, cutoff).
func (w DigestWindow) Current() Period { return w.cut(w.Period) }

// cut ends p like for like with the window: the same time after its start
// when the window is partial, else the whole of p.
func (w DigestWindow) cut(p Period) Period {
	if w.Partial {
		p.To = p.From.Add(w.elapsed())
	}
	return p
}

// Previous is the period before, cut like for like.
func (w DigestWindow) Previous() Period { return w.cut(w.shift(-1)) }

// WeekAgo is, for the daily digest, the same weekday last week.
func (w DigestWindow) WeekAgo() Period {
	d := Day(w.Period.From.AddDate(0, 0, -7), w.Period.From.Location())
	return w.cut(d)
}

// shift returns the period n periods away of the same kind.
func (w DigestWindow) shift(n int) Period {
	loc := w.Period.From.Location()
	switch w.Kind {
	case DigestDaily:
		return Day(w.Period.From.AddDate(0, 0, n), loc)
	case DigestWeekly:
		return Week(w.Period.From.AddDate(0, 0, 7*n), loc)
	}
	return Month(w.Period.From.AddDate(0, n, 0), loc)
}

// ComparedWith names the previous period for people: "yesterday",
// "the week before", "October".
func (w DigestWindow) ComparedWith() string {
	switch w.Kind {
	case DigestDaily:
		return "the day before"
	case DigestWeekly:
		return "the week before"
	}
	return w.shift(-1).From.Format("January")
}

// MonthToDate is the month holding the end of the window, from its first
// day up to the cutoff.
func (w DigestWindow) MonthToDate() Period {
	end := w.Cutoff.Add(-time.Nanosecond)
	m := Month(end, w.Period.From.Location())
	m.To = w.Cutoff
	return m
}

// ChartBuckets are the points of the digest's chart: the last 30 days
// (daily), 12 weeks or 12 months, ending with the window's period, the
// last one cut at the cutoff.
func (w DigestWindow) ChartBuckets() []Period {
	n := 12
	if w.Kind == DigestDaily {
		n = 30
	}
	out := make([]Period, n)
	for i := range n {
		out[i] = w.shift(i - n + 1)
	}
	out[n-1].To = w.Cutoff
	return out
}

// Day kinds, for comparing like with like.
const (
	DayNormal   = ""
	DayHoliday  = "holiday"
	DayMakeup   = "makeup"   // 调休上班: a weekend made a working day
	DayCampaign = "campaign" // a campaign day (the campaigns feature says which)
)

// DayKindOf says what kind of day t is: a campaign day (special names it),
// a public holiday, a make-up working day, or a normal day; with the name.
func DayKindOf(cal *Calendar, special map[string]string, t time.Time) (kind, name string) {
	if n, ok := special[t.Format(dateLayout)]; ok {
		return DayCampaign, n
	}
	if cal == nil {
		return DayNormal, ""
	}
	working, n, _ := cal.Day(t)
	wd := t.Weekday()
	weekend := wd == time.Saturday || wd == time.Sunday
	switch {
	case !working && (n != "" || !weekend):
		return DayHoliday, n
	case working && weekend:
		return DayMakeup, n
	}
	return DayNormal, ""
}

// PeriodKind is the kind of a whole period: a campaign if any of its days
// is one, a holiday if at least a tenth of its days (one in a week, three
// in a month: the golden weeks, not a lone 清明 Monday) are holidays on
// weekdays, else normal. Make-up days alone do not change a week or month.
func PeriodKind(cal *Calendar, special map[string]string, p Period) (kind, name string) {
	holidays := 0
	for d := p.From; d.Before(p.To); d = d.AddDate(0, 0, 1) {
		k, n := DayKindOf(cal, special, d)
		switch {
		case k == DayCampaign:
			return k, n
		case k == DayHoliday && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday:
			holidays++
			if name == "" {
				name = n
			}
		}
	}
	if holidays > 0 && holidays >= max(1, p.Days()/10) {
		return DayHoliday, name
	}
	return DayNormal, ""
}

// BaselineCandidates are the earlier periods the window's anomaly baseline
// may come from: for a daily digest the days of the last 8 weeks (the
// same weekday for a normal day; any day for a holiday, make-up or
// campaign day, which are compared only with their own kind), the last 8
// weeks, or the last 6 months; each cut like for like.
func (w DigestWindow) BaselineCandidates(kind string) []Period {
	var out []Period
	switch {
	case w.Kind == DigestDaily && kind == DayNormal:
		for i := 1; i <= 8; i++ {
			out = append(out, w.cut(Day(w.Period.From.AddDate(0, 0, -7*i), w.Period.From.Location())))
		}
	case w.Kind == DigestDaily:
		for i := 1; i <= 56; i++ {
			out = append(out, w.cut(Day(w.Period.From.AddDate(0, 0, -i), w.Period.From.Location())))
		}
	case w.Kind == DigestWeekly:
		for i := 1; i <= 8; i++ {
			out = append(out, w.cut(w.shift(-i)))
		}
	default:
		for i := 1; i <= 6; i++ {
			out = append(out, w.cut(w.shift(-i)))
		}
	}
	return out
}

// MinBaseline is how many comparable periods a baseline needs before a
// move against it is flagged.
func (w DigestWindow) MinBaseline() int {
	if w.Kind == DigestMonthly {
		return 3
	}
	return 4
}

// AnomalyRule says when a metric's move is worth a flag: it is at least
// Pct away from the baseline's median (0.3 = 30 %), robustly unusual
// (beyond 3 scaled MADs), and the volume behind it is at least MinVolume.
type AnomalyRule struct {
	Metric    string  `json:"metric"`
	Pct       float64 `json:"pct"`
	MinVolume int64   `json:"min_volume"`
	// Volume names the count that measures how much the figure rests on:
	// orders, uv, complaints or survey_responses.
	Volume string `json:"volume"`
	SetBy  string `json:"set_by,omitempty"`
}

// DefaultAnomalyRules are the thresholds opsbot starts with; `digest
// threshold set` changes them per metric. Metrics without a rule are
// shown but never flagged.
var DefaultAnomalyRules = []AnomalyRule{
	{Metric: "gmv", Pct: 0.30, MinVolume: 50, Volume: "orders"},
	{Metric: "orders", Pct: 0.30, MinVolume: 50, Volume: "orders"},
	{Metric: "paying_customers", Pct: 0.30, MinVolume: 50, Volume: "orders"},
	{Metric: "aov", Pct: 0.20, MinVolume: 50, Volume: "orders"},
	{Metric: "conversion", Pct: 0.25, MinVolume: 1000, Volume: "uv"},
	{Metric: "refund_rate", Pct: 0.50, MinVolume: 100, Volume: "orders"},
	{Metric: "uv", Pct: 0.30, MinVolume: 1000, Volume: "uv"},
	{Metric: "new_users", Pct: 0.40, MinVolume: 1000, Volume: "uv"},
	{Metric: "complaints", Pct: 1.00, MinVolume: 5, Volume: "complaints"},
	{Metric: "satisfaction", Pct: 0.10, MinVolume: 20, Volume: "survey_responses"},
}

// VolumeOf returns the count named by volume in f.
func VolumeOf(f Figures, volume string) float64 {
	if v := f[volume]; v.OK {
		return v.V
	}
	return 0
}

// Robust summarises a baseline: its median and its scaled median absolute
// deviation (1.4826 × MAD, which estimates a standard deviation without
// being moved by one odd day).
func Robust(xs []float64) (median, sigma float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	median = medianOf(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - median)
	}
	return median, 1.4826 * medianOf(dev)
}

func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Anomaly is one flagged move.
type Anomaly struct {
	Metric   string  `json:"metric"`
	Value    float64 `json:"value"`
	Median   float64 `json:"median"`
	Change   float64 `json:"change"` // relative to the median: 0.42 = +42 %
	Z        float64 `json:"z"`
	Baseline int     `json:"baseline"` // how many periods the median is of
	Line     string  `json:"line"`
}

// DetectAnomaly checks one metric's value against its baseline values
// under rule: all three of the move, the robust spread and the volume must
// agree. against names the baseline for the flag's line ("Fridays").
func DetectAnomaly(m Metric, rule AnomalyRule, cur Value, curVolume float64, base []Value, baseVolumes []float64, against string, minBase int) (Anomaly, bool) {
	if !cur.OK || rule.Pct <= 0 {
		return Anomaly{}, false
	}
	var xs []float64
	for _, b := range base {
		if b.OK {
			xs = append(xs, b.V)
		}
	}
	if len(xs) < minBase {
		return Anomaly{}, false
	}
	median, sigma := Robust(xs)
	if median == 0 {
		return Anomaly{}, false
	}
	// Volume: a ratio needs its own denominator to be large enough; a count
	// that collapsed is still news if it usually rests on enough.
	vol := curVolume
	if m.Unit != UnitRatio && m.Unit != UnitScore && len(baseVolumes) > 0 {
		bm, _ := Robust(baseVolumes)
		vol = math.Max(vol, bm)
	}
	if vol < float64(rule.MinVolume) {
		return Anomaly{}, false
	}
	change := (cur.V - median) / math.Abs(median)
	if math.Abs(change) < rule.Pct {
		return Anomaly{}, false
	}
	// A spread of zero (identical days) would make any move infinite.
	sigma = math.Max(sigma, 0.02*math.Abs(median))
	z := (cur.V - median) / sigma
	if math.Abs(z) < 3 {
		return Anomaly{}, false
	}
	a := Anomaly{Metric: m.Name, Value: cur.V, Median: median, Change: change, Z: z, Baseline: len(xs)}
	a.Line = fmt.Sprintf("%s %s %s against the usual %s (median %s of %d): %s",
		m.Label, Arrow(change), Pct(change), against, m.Format(Value{V: median, OK: true}), len(xs), m.Format(cur))
	return a, true
}

// Arrow is ▲ for up, ▼ for down, → for no change.
func Arrow(change float64) string {
	switch {
	case change > 0.0005:
		return "▲"
	case change < -0.0005:
		return "▼"
	}
	return "→"
}

// Pct shows a relative change: +12.3%, −4.0%.
func Pct(change float64) string {
	s := fmt.Sprintf("%+.1f%%", change*100)
	return strings.Replace(s, "-", "−", 1)
}

// CompareLine shows a value against a baseline: "▲ +12.3% vs ¥1,000.00"
// for counts and money, "▼ −0.4 pt vs 3.2%" for ratios, or "" when either
// side has no data.
func CompareLine(m Metric, v, base Value) string {
	if !v.OK || !base.OK {
		return ""
	}
	switch m.Unit {
	case UnitRatio:
		d := v.V - base.V
		return fmt.Sprintf("%s %s pt vs %s", Arrow(d), strings.Replace(fmt.Sprintf("%+.1f", d*100), "-", "−", 1), m.Format(base))
	case UnitScore:
		d := v.V - base.V
		return fmt.Sprintf("%s %s vs %s", Arrow(d), strings.Replace(fmt.Sprintf("%+.2f", d), "-", "−", 1), m.Format(base))
	}
	if base.V == 0 {
		return "vs " + m.Format(base)
	}
	c := v.V/base.V - 1
	return fmt.Sprintf("%s %s vs %s", Arrow(c), Pct(c), m.Format(base))
}

// Target is what a metric should reach: at least Value (or at most, for
// metrics where lower is better). Period is "month" for amounts per month
// (GMV), "growth" for month-on-month growth, "" for levels (conversion).
type Target struct {
	Metric string  `json:"metric"`
	Period string  `json:"period"`
	Value  float64 `json:"value"` // fen for money, a fraction for ratios and growth
	Max    bool    `json:"max"`   // at most Value: lower is better
	SetBy  string  `json:"set_by"`
}

// DefaultTargets are the manual's short-term targets.
var DefaultTargets = []Target{
	{Metric: "conversion", Value: 0.03, SetBy: "manual"},
	{Metric: "satisfaction", Value: 4.8, SetBy: "manual"},
	{Metric: "resolve_sla", Value: 0.95, SetBy: "manual"},
	{Metric: "gmv", Period: "growth", Value: 0.20, SetBy: "manual"},
}

// LowerIsBetter are the metrics whose targets are ceilings.
var LowerIsBetter = map[string]bool{"refund_rate": true, "complaints": true, "complaint_rate": true, "sla_breaches": true, "complaints_open": true}

// Misses reports whether v misses the level target t.
func (t Target) Misses(v Value) bool {
	if !v.OK || t.Period != "" {
		return false
	}
	if t.Max {
		return v.V > t.Value+1e-12
	}
	return v.V < t.Value-1e-12
}

// Describe shows a target: "≥ 3.0%", "¥5,000,000.00 a month", "+20.0% on
// the month before".
func (t Target) Describe(m Metric) string {
	switch t.Period {
	case "growth":
		return "≥ " + Pct(t.Value) + " on the month before"
	case "month":
		if t.Max {
			return "≤ " + m.Format(Value{V: t.Value, OK: true}) + " a month"
		}
		return m.Format(Value{V: t.Value, OK: true}) + " a month"
	}
	op := "≥"
	if t.Max {
		op = "≤"
	}
	return op + " " + m.Format(Value{V: t.Value, OK: true})
}

// MonthPace is month-to-date progress against the month's GMV target.
type MonthPace struct {
	Target, MTD  float64 // fen
	DaysLeft     int     // whole days after the cutoff's day
	DaysGone     float64 // days of the month elapsed at the cutoff
	DaysInMonth  int
	TargetSource string // "set" or "growth"
}

// NewPace computes month-to-date progress of mtd (GMV in fen, month from
// its first day to cutoff) against target.
func NewPace(target, mtd float64, month Period, cutoff time.Time, source string) MonthPace {
	days := Month(month.From, month.From.Location()).Days()
	gone := cutoff.Sub(month.From).Hours() / 24
	left := int(math.Ceil(month.From.AddDate(0, 1, 0).Sub(cutoff).Hours()/24 - 1e-9))
	return MonthPace{Target: target, MTD: mtd, DaysLeft: max(left, 0), DaysGone: gone, DaysInMonth: days, TargetSource: source}
}

// Needed is the GMV per day still needed to reach the target.
func (p MonthPace) Needed() float64 {
	if p.DaysLeft == 0 {
		return 0
	}
	return math.Max(p.Target-p.MTD, 0) / float64(p.DaysLeft)
}

// Behind reports whether the month so far is short of an even pace to the
// target (or, with no days left, of the target).
func (p MonthPace) Behind() bool {
	if p.Target <= 0 {
		return false
	}
	expected := p.Target * math.Min(p.DaysGone/float64(p.DaysInMonth), 1)
	return p.MTD < expected-0.5
}

// Line says it in one line.
func (p MonthPace) Line() string {
	gmv, _ := MetricByName("gmv")
	f := func(x float64) string { return gmv.Format(Value{V: x, OK: true}) }
	src := ""
	if p.TargetSource == "growth" {
		src = " (the month before plus the growth target)"
	}
	share := 0.0
	if p.Target > 0 {
		share = p.MTD / p.Target
	}
	s := fmt.Sprintf("Month to date: GMV %s of the %s target%s, %.0f%% with %.0f%% of the month gone", f(p.MTD), f(p.Target), src,
		share*100, 100*math.Min(p.DaysGone/float64(p.DaysInMonth), 1))
	switch {
	case p.MTD >= p.Target:
		s += "; the target is reached"
	case p.DaysLeft == 0:
		s += fmt.Sprintf("; missed by %s", f(p.Target-p.MTD))
	default:
		days := "days"
		if p.DaysLeft == 1 {
			days = "day"
		}
		s += fmt.Sprintf("; %s a day needed for the %d %s left (so far %s a day)", f(p.Needed()), p.DaysLeft, days,
			f(p.MTD/math.Max(p.DaysGone, 1)))
	}
	return s + "."
}

// DigestExtraMetrics are figures only digests show, beside the registry's.
var DigestExtraMetrics = []Metric{
	{"complaints_open", "Open complaints", UnitCount, "Complaints not resolved at the end of the period, whenever they came in."},
	{"sla_breaches", "SLA breaches", UnitCount, "First-reply and resolution deadlines that fell in the period and were missed."},
}

// DigestMetrics are the figures a digest shows, in order: every metric of
// the registry (so a metric added there appears in digests too), with the
// digest's own complaint figures after complaints.
func DigestMetrics() []Metric {
	out := make([]Metric, 0, len(Metrics)+len(DigestExtraMetrics))
	placed := false
	for _, m := range Metrics {
		out = append(out, m)
		if m.Name == "complaints" {
			out = append(out, DigestExtraMetrics...)
			placed = true
		}
	}
	if !placed {
		out = append(out, DigestExtraMetrics...)
	}
	return out
}

// DigestMetricByName finds a digest metric by name or label.
func DigestMetricByName(s string) (Metric, bool) {
	if m, ok := MetricByName(s); ok {
		return m, true
	}
	key := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	for _, m := range DigestExtraMetrics {
		if m.Name == key || strings.EqualFold(m.Label, s) {
			return m, true
		}
	}
	return Metric{}, false
}

// ComplaintExtras are the complaint figures of a period beyond ShopTotals.
type ComplaintExtras struct {
	Open, Breaches int64
}

// DigestFigures are a period's figures for a digest: the registry's
// metrics from t and the digest's own from x.
func DigestFigures(t ShopTotals, x ComplaintExtras) Figures {
	f := t.Figures()
	f["complaints_open"] = Value{V: float64(x.Open), OK: true}
	f["sla_breaches"] = Value{V: float64(x.Breaches), OK: true}
	return f
}

// TrafficDependent lists the metrics of t that need traffic figures: those
// that turn "no data" when the traffic is taken away. Traffic is pushed
// per day, so these cannot be compared like for like inside a day.
func TrafficDependent(t ShopTotals) map[string]bool {
	with := t
	with.TrafficDays, with.PeriodDays = 1, 1
	with.UV, with.ActiveUsers = max(with.UV, 1), max(with.ActiveUsers, 1)
	without := with
	without.TrafficDays = 0
	a, b := with.Figures(), without.Figures()
	out := map[string]bool{}
	for name, v := range a {
		if v.OK && !b[name].OK {
			out[name] = true
		}
	}
	return out
}

// CheapTotals keeps of t what store.BaselineTotals adds up for many
// windows at once: trade, refunds, repeat buyers, traffic, complaints and
// survey answers, but not what later features add.
func CheapTotals(t ShopTotals) ShopTotals {
	return ShopTotals{GMV: t.GMV, Orders: t.Orders, PayingCustomers: t.PayingCustomers, RefundedOrders: t.RefundedOrders,
		RepeatBuyers: t.RepeatBuyers, SurveyResponses: t.SurveyResponses, SurveyScoreSum: t.SurveyScoreSum,
		TrafficDays: t.TrafficDays, PeriodDays: t.PeriodDays, PV: t.PV, UV: t.UV, NewUsers: t.NewUsers, ActiveUsers: t.ActiveUsers,
		Complaints: t.Complaints, ComplainingCustomers: t.ComplainingCustomers, ReplyMet: t.ReplyMet, ReplyDecided: t.ReplyDecided,
		ResolveMet: t.ResolveMet, ResolveDecided: t.ResolveDecided}
}

// BeyondCheapTotals lists the metrics that CheapTotals cannot give:
// those whose value moves when a total it leaves out does. It probes
// every numeric total, so a total added later is covered too.
func BeyondCheapTotals() map[string]bool {
	var probe ShopTotals
	v := reflect.ValueOf(&probe).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.CanInt() {
			f.SetInt(int64(3 + 7*i))
		}
	}
	probe.TrafficDays, probe.PeriodDays = 1, 1
	all, cheap := probe.Figures(), CheapTotals(probe).Figures()
	out := map[string]bool{}
	for name, x := range all {
		if y := cheap[name]; x != y {
			out[name] = true
		}
	}
	return out
}
