package domain_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
)

func sh() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}

func TestRobustIgnoresOneOddDay(t *testing.T) {
	med, sigma := domain.Robust([]float64{100, 102, 98, 101, 99, 400, 100, 103})
	if med != 100.5 || sigma > 4 {
		t.Errorf("median %v, sigma %v", med, sigma)
	}
	if m, s := domain.Robust(nil); m != 0 || s != 0 {
		t.Errorf("empty: %v %v", m, s)
	}
}

func TestDetectAnomaly(t *testing.T) {
	gmv, _ := domain.MetricByName("gmv")
	refund, _ := domain.MetricByName("refund_rate")
	rule := domain.AnomalyRule{Metric: "gmv", Pct: 0.3, MinVolume: 50, Volume: "orders"}
	vals := func(xs ...float64) []domain.Value {
		out := make([]domain.Value, len(xs))
		for i, x := range xs {
			out[i] = domain.Value{V: x, OK: true}
		}
		return out
	}
	steady := vals(1000, 1020, 980, 1010, 990, 1005, 995, 1000)
	vols := []float64{100, 100, 100, 100, 100, 100, 100, 100}
	for _, c := range []struct {
		name  string
		m     domain.Metric
		rule  domain.AnomalyRule
		cur   float64
		vol   float64
		base  []domain.Value
		vols  []float64
		flag  bool
		wants string
	}{
		{"spike", gmv, rule, 2000, 200, steady, vols, true, "GMV ▲ +100.0% against the usual Friday (median ¥10.00 of 8): ¥20.00"},
		{"drop", gmv, rule, 400, 40, steady, vols, true, "▼ −60.0%"}, // a collapse counts: the usual volume is enough
		{"small move", gmv, rule, 1200, 120, steady, vols, false, ""},
		{"too little history", gmv, rule, 2000, 200, steady[:3], vols[:3], false, ""},
		{"low volume", gmv, rule, 2000, 20, steady, []float64{10, 10, 10, 10, 10, 10, 10, 10}, false, ""},
		{"noisy baseline", gmv, rule, 1800, 180, vals(500, 1500, 700, 1300, 600, 1400, 1000, 1600), vols, false, ""},
		{"ratio on 3 orders", refund, domain.AnomalyRule{Metric: "refund_rate", Pct: 0.5, MinVolume: 100, Volume: "orders"},
			0.66, 3, vals(0.05, 0.04, 0.05, 0.06, 0.05, 0.05, 0.04, 0.05), vols, false, ""},
		{"ratio with volume", refund, domain.AnomalyRule{Metric: "refund_rate", Pct: 0.5, MinVolume: 100, Volume: "orders"},
			0.15, 300, vals(0.05, 0.04, 0.05, 0.06, 0.05, 0.05, 0.04, 0.05), vols, true, "Refund rate ▲ +200.0%"},
	} {
		a, ok := domain.DetectAnomaly(c.m, c.rule, domain.Value{V: c.cur, OK: true}, c.vol, c.base, c.vols, "Friday", 4)
		if ok != c.flag || !strings.Contains(a.Line, c.wants) {
			t.Errorf("%s: flagged %v %q", c.name, ok, a.Line)
		}
	}
	if _, ok := domain.DetectAnomaly(gmv, rule, domain.Value{}, 1000, steady, vols, "Friday", 4); ok {
		t.Error("no data flagged")
	}
}

func TestDigestWindows(t *testing.T) {
	loc := sh()
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, loc) // a Friday
	w, err := domain.NewDigestWindow(domain.DigestDaily, now, now, loc)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Partial || w.Key() != "daily:2026-12-04" || w.Title() != "Daily digest 日报 — Fri 2026-12-04, until 18:00" {
		t.Errorf("%+v %s %s", w, w.Key(), w.Title())
	}
	if p := w.Previous(); p.From != time.Date(2026, 12, 3, 0, 0, 0, 0, loc) || p.To != time.Date(2026, 12, 3, 18, 0, 0, 0, loc) {
		t.Errorf("previous %v", p)
	}
	if p := w.WeekAgo(); p.From != time.Date(2026, 11, 27, 0, 0, 0, 0, loc) || p.To != time.Date(2026, 11, 27, 18, 0, 0, 0, loc) {
		t.Errorf("week ago %v", p)
	}
	base := w.BaselineCandidates(domain.DayNormal)
	if len(base) != 8 || base[7].From != time.Date(2026, 10, 9, 0, 0, 0, 0, loc) || base[0].To.Hour() != 18 {
		t.Errorf("baseline %v", base)
	}
	if b := w.ChartBuckets(); len(b) != 30 || b[29].To != now || b[0].From != time.Date(2026, 11, 5, 0, 0, 0, 0, loc) {
		t.Errorf("chart buckets %v..%v", b[0], b[len(b)-1])
	}
	// A past day is whole.
	w, _ = domain.NewDigestWindow(domain.DigestDaily, now.AddDate(0, 0, -1), now, loc)
	if w.Partial || w.Current().To != time.Date(2026, 12, 4, 0, 0, 0, 0, loc) {
		t.Errorf("past day %+v", w)
	}
	// Last week: Monday to Sunday, against the week before.
	w, _ = domain.NewDigestWindow(domain.DigestWeekly, now.AddDate(0, 0, -7), now, loc)
	if w.Key() != "weekly:2026-11-23" || w.Previous().From != time.Date(2026, 11, 16, 0, 0, 0, 0, loc) || w.Partial {
		t.Errorf("weekly %+v", w)
	}
	w, _ = domain.NewDigestWindow(domain.DigestMonthly, time.Date(2026, 11, 1, 0, 0, 0, 0, loc), now, loc)
	if w.Key() != "monthly:2026-11" || w.ComparedWith() != "October" || w.MonthToDate().To != time.Date(2026, 12, 1, 0, 0, 0, 0, loc) {
		t.Errorf("monthly %+v", w)
	}
	if _, err := domain.NewDigestWindow(domain.DigestDaily, now.AddDate(0, 0, 1), now, loc); err == nil {
		t.Error("tomorrow's digest built")
	}
}

func TestDayKinds(t *testing.T) {
	loc := sh()
	cal, err := domain.NewCalendar(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	special := map[string]string{"2026-11-11": "双11"}
	for date, want := range map[string]string{
		"2026-10-01": domain.DayHoliday, "2026-10-03": domain.DayHoliday, "2026-10-10": domain.DayMakeup, "2026-09-20": domain.DayMakeup,
		"2026-11-11": domain.DayCampaign, "2026-11-12": domain.DayNormal, "2026-11-14": domain.DayNormal,
	} {
		d, _ := time.ParseInLocation("2006-01-02", date, loc)
		if k, _ := domain.DayKindOf(cal, special, d); k != want {
			t.Errorf("%s: %q, want %q", date, k, want)
		}
	}
	w := domain.Week(time.Date(2026, 10, 1, 0, 0, 0, 0, loc), loc)
	if k, n := domain.PeriodKind(cal, nil, w); k != domain.DayHoliday || n == "" {
		t.Errorf("national-day week: %q %q", k, n)
	}
}

func TestPace(t *testing.T) {
	loc := sh()
	month := domain.Month(time.Date(2026, 12, 1, 0, 0, 0, 0, loc), loc)
	cutoff := time.Date(2026, 12, 10, 0, 0, 0, 0, loc) // 9 days gone, 22 left
	p := domain.NewPace(31_000_00, 9_000_00, domain.Period{From: month.From, To: cutoff}, cutoff, "set")
	if p.DaysLeft != 22 || p.DaysInMonth != 31 || math.Abs(p.Needed()-1_000_00) > 0.01 || p.Behind() {
		t.Errorf("%+v needed %v behind %v", p, p.Needed(), p.Behind())
	}
	if !strings.Contains(p.Line(), "¥1,000.00 a day needed for the 22 days left") {
		t.Error(p.Line())
	}
	p = domain.NewPace(31_000_00, 5_000_00, domain.Period{From: month.From, To: cutoff}, cutoff, "set")
	if !p.Behind() {
		t.Errorf("behind not seen: %+v", p)
	}
}

func TestDigestMetricsFollowTheRegistry(t *testing.T) {
	ms := domain.DigestMetrics()
	if len(ms) != len(domain.Metrics)+len(domain.DigestExtraMetrics) {
		t.Fatalf("%d metrics", len(ms))
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	if s := strings.Join(names, ","); !strings.Contains(s, "complaints,complaints_open,sla_breaches") {
		t.Errorf("order: %s", s)
	}
	dep := domain.TrafficDependent(domain.ShopTotals{})
	for _, n := range []string{"conversion", "uv", "pv", "new_users"} {
		if !dep[n] {
			t.Errorf("%s not traffic-dependent", n)
		}
	}
	if dep["gmv"] || dep["orders"] {
		t.Errorf("trade figures traffic-dependent: %v", dep)
	}
}

func TestMonthsWithALoneHolidayAreNormal(t *testing.T) {
	loc := sh()
	cal, err := domain.NewCalendar(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	for month, want := range map[string]string{"2026-04": domain.DayNormal, "2026-10": domain.DayHoliday, "2026-02": domain.DayHoliday, "2026-11": domain.DayNormal} {
		m, _ := time.ParseInLocation("2006-01", month, loc)
		if k, _ := domain.PeriodKind(cal, nil, domain.Month(m, loc)); k != want {
			t.Errorf("%s: %q, want %q", month, k, want)
		}
	}
	m, _ := time.ParseInLocation("2006-01", "2026-11", loc)
	if k, n := domain.PeriodKind(cal, map[string]string{"2026-11-11": "双11"}, domain.Month(m, loc)); k != domain.DayCampaign || n != "双11" {
		t.Errorf("双11 month: %q %q", k, n)
	}
}

func TestBeyondCheapTotals(t *testing.T) {
	got := domain.BeyondCheapTotals()
	if got["repurchase_rate"] || got["satisfaction"] || got["survey_responses"] || got["gmv"] || got["conversion"] || got["reply_sla"] {
		t.Errorf("%v", got)
	}
}
