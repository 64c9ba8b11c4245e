package digests

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// Digest is one digest, built: its figures, what they are compared with,
// the flags, the message and the chart.
type Digest struct {
	Window   domain.DigestWindow
	Figures  domain.Figures
	Previous domain.Figures
	WeekAgo  domain.Figures // daily only
	// Anomalies are the flagged moves; Misses the targets missed.
	Anomalies []domain.Anomaly
	Misses    []string
	// Notes explain what was not flagged and why (a holiday, too little
	// history).
	Notes []string
	// checked is whether there was a baseline to flag anything against.
	checked bool
	Pace    *domain.MonthPace
	Content domain.Content
	Chart   Chart
}

// Flags are the anomalies and misses, one line each, most important first.
func (d *Digest) Flags() []string {
	out := make([]string, 0, len(d.Anomalies)+len(d.Misses))
	for _, a := range d.Anomalies {
		out = append(out, a.Line)
	}
	return append(out, d.Misses...)
}

// inputs is everything a digest is built from, read from the store.
type inputs struct {
	cal                   *domain.Calendar
	special               map[string]string
	cur, prev, weekAgo    domain.ShopTotals
	curX, prevX, weekAgoX domain.ComplaintExtras
	baseline              []domain.ShopTotals
	mtd, monthBefore      int64
	series                []domain.DayFigure
	targets               []domain.Target
	rules                 []domain.AnomalyRule
	kind, kindName        string
	// partialTotals is set when the full totals of a period could not be
	// had (a statement timeout on a very large month) and the cheap ones
	// stood in.
	partialTotals                atomic.Bool
	tooBig                       int64 // the order limit a period went over
	basePeriods                  []domain.Period
	monthToDate, monthBeforeSpan domain.Period
}

// Build builds the digest of kind for the period holding ref, as known at
// now (the cutoff of a period still running).
func (h *Digests) Build(ctx context.Context, kind domain.DigestKind, ref, now time.Time) (*Digest, error) {
	loc := h.Clock.Loc
	w, err := domain.NewDigestWindow(kind, ref, now, loc)
	if err != nil {
		return nil, err
	}
	in, err := h.read(ctx, w)
	if err != nil {
		return nil, err
	}
	d := &Digest{Window: w}
	d.Figures = domain.DigestFigures(in.cur, in.curX)
	d.Previous = domain.DigestFigures(in.prev, in.prevX)
	if kind == domain.DigestDaily {
		d.WeekAgo = domain.DigestFigures(in.weekAgo, in.weekAgoX)
	}
	traffic := domain.TrafficDependent(in.cur)
	if kind == domain.DigestDaily || in.partialTotals.Load() {
		// A day comes from the cheap totals: what they cannot give
		// (repurchase rate, satisfaction) is left to the weekly digest.
		for name := range domain.BeyondCheapTotals() {
			delete(d.Figures, name)
			delete(d.Previous, name)
			delete(d.WeekAgo, name)
		}
	}
	if w.Partial {
		// Traffic is pushed per day: a day in progress cannot be compared
		// on it like for like.
		for name := range traffic {
			delete(d.Previous, name)
			delete(d.WeekAgo, name)
		}
	}
	d.detect(w, in, traffic)
	d.checkTargets(w, in)
	d.Content = d.content(in)
	chart, err := RenderChart(kind, in.series)
	if err != nil {
		return nil, err
	}
	d.Chart = chart
	return d, nil
}

// read loads the inputs, in parallel on the pool (one after another in a
// transaction, which has one connection).
func (h *Digests) read(ctx context.Context, w domain.DigestWindow) (*inputs, error) {
	in := &inputs{}
	overrides, err := h.Store.CalendarOverrides(ctx, h.Clock.Loc)
	if err != nil {
		return nil, err
	}
	if in.cal, err = domain.NewCalendar(h.Clock.Loc, overrides); err != nil {
		return nil, err
	}
	// The widest candidate list decides how far back special days matter.
	all := w.BaselineCandidates("any")
	if w.Kind == domain.DigestDaily {
		all = w.BaselineCandidates(domain.DayHoliday)
	}
	if h.SpecialDays != nil {
		if in.special, err = h.SpecialDays(ctx, all[len(all)-1].From, w.Period.To); err != nil {
			return nil, fmt.Errorf("digests: special days: %w", err)
		}
	}
	if w.Kind == domain.DigestDaily {
		in.kind, in.kindName = domain.DayKindOf(in.cal, in.special, w.Period.From)
	} else {
		in.kind, in.kindName = domain.PeriodKind(in.cal, in.special, w.Period)
	}
	for _, p := range w.BaselineCandidates(in.kind) {
		var k string
		if w.Kind == domain.DigestDaily {
			k, _ = domain.DayKindOf(in.cal, in.special, p.From)
		} else {
			whole := domain.Week(p.From, h.Clock.Loc)
			if w.Kind == domain.DigestMonthly {
				whole = domain.Month(p.From, h.Clock.Loc)
			}
			k, _ = domain.PeriodKind(in.cal, in.special, whole)
		}
		if k == in.kind {
			in.basePeriods = append(in.basePeriods, p)
		}
	}
	in.monthToDate = w.MonthToDate()
	in.monthBeforeSpan = domain.Month(in.monthToDate.From.AddDate(0, -1, 0), h.Clock.Loc)

	cutoff := w.Cutoff
	var tasks []func(context.Context) error
	add := func(f func(context.Context) error) { tasks = append(tasks, f) }
	if w.Kind == domain.DigestDaily {
		// A day is counted on the cheap totals (everything but repeat
		// buyers, which cost an index probe per customer, and what only
		// ShopTotals adds): the day, the day before and the same weekday
		// last week in one round trip. The weekly and monthly digests
		// have every metric.
		add(func(ctx context.Context) error {
			ts, err := h.Store.BaselineTotals(ctx, []domain.Period{w.Current(), w.Previous(), w.WeekAgo()}, cutoff)
			if err != nil {
				return err
			}
			in.cur, in.prev, in.weekAgo = ts[0], ts[1], ts[2]
			return nil
		})
		add(func(ctx context.Context) (err error) {
			in.weekAgoX, err = h.Store.ComplaintExtras(ctx, w.WeekAgo())
			return
		})
	} else {
		// Repeat buyers cost an index probe per customer: a period far
		// larger than FullTotalsMaxOrders (judged by the one before, whose
		// size is usually kept) is counted on the cheap totals instead.
		size, err := h.Store.SeriesTotals(ctx, []domain.Period{w.Previous()})
		if err != nil {
			return nil, err
		}
		limit := h.FullTotalsMaxOrders
		if limit == 0 {
			limit = DefaultFullTotalsMaxOrders
		}
		if limit > 0 && size[0].Orders > limit {
			in.partialTotals.Store(true)
			in.tooBig = limit
			add(func(ctx context.Context) error {
				ts, err := h.Store.BaselineTotals(ctx, []domain.Period{w.Current(), w.Previous()}, cutoff)
				if err != nil {
					return err
				}
				in.cur, in.prev = ts[0], ts[1]
				return nil
			})
		} else {
			add(func(ctx context.Context) (err error) {
				in.cur, err = h.fullTotals(ctx, w.Current(), cutoff, &in.partialTotals)
				return
			})
			add(func(ctx context.Context) (err error) {
				in.prev, err = h.fullTotals(ctx, w.Previous(), cutoff, &in.partialTotals)
				return
			})
		}
	}
	add(func(ctx context.Context) (err error) {
		in.curX, err = h.Store.ComplaintExtras(ctx, w.Current())
		return
	})
	add(func(ctx context.Context) (err error) {
		in.prevX, err = h.Store.ComplaintExtras(ctx, w.Previous())
		return
	})
	add(func(ctx context.Context) (err error) {
		in.baseline, err = h.Store.BaselineTotals(ctx, in.basePeriods, cutoff)
		return err
	})
	// What is counted anyway for the current and previous periods is not
	// counted again: the chart's last point is the current period, and a
	// monthly digest's month to date and month before are its periods.
	current, previous := w.Current(), w.Previous()
	buckets := w.ChartBuckets()
	var mtdDays []domain.Period
	mtdIsCurrent, monthBeforeIsPrevious, todayInMTD := in.monthToDate == current, in.monthBeforeSpan == previous, false
	if !mtdIsCurrent {
		for d := in.monthToDate.From; d.Before(in.monthToDate.To); d = d.AddDate(0, 0, 1) {
			end := d.AddDate(0, 0, 1)
			if end.After(in.monthToDate.To) {
				end = in.monthToDate.To
			}
			if p := (domain.Period{From: d, To: end}); p.From == current.From && p.To == current.To {
				todayInMTD = true
			} else {
				mtdDays = append(mtdDays, p)
			}
		}
	}
	add(func(ctx context.Context) error {
		// Only GMV is needed of these: the series query, day by day for
		// the month so far (settled days are kept), the month before whole.
		ps := mtdDays
		if !monthBeforeIsPrevious {
			ps = append([]domain.Period{in.monthBeforeSpan}, mtdDays...)
		}
		ts, err := h.Store.SeriesTotals(ctx, ps)
		if err != nil {
			return err
		}
		if !monthBeforeIsPrevious {
			in.monthBefore, ts = ts[0].GMV, ts[1:]
		}
		for _, t := range ts {
			in.mtd += t.GMV
		}
		return nil
	})
	add(func(ctx context.Context) (err error) {
		in.series, err = h.Store.SeriesTotals(ctx, buckets[:len(buckets)-1])
		return
	})
	add(func(ctx context.Context) (err error) { in.targets, err = h.targets(ctx); return })
	add(func(ctx context.Context) (err error) { in.rules, err = h.rules(ctx); return })
	finish := func() {
		in.series = append(in.series, domain.DayFigure{Day: buckets[len(buckets)-1].From, GMV: in.cur.GMV, Orders: in.cur.Orders})
		if mtdIsCurrent || todayInMTD {
			in.mtd += in.cur.GMV
		}
		if monthBeforeIsPrevious {
			in.monthBefore = in.prev.GMV
		}
	}
	if h.Store.InTransaction() {
		for _, t := range tasks {
			if err := t(ctx); err != nil {
				return nil, err
			}
		}
		finish()
		return in, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if errs[i] = t(ctx); errs[i] != nil {
				cancel()
			}
			h.Log.Debug("Digest input read", "task", i, "ms", time.Since(start).Milliseconds())
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	finish()
	return in, nil
}

// fullTotals are every metric's inputs for p; when the database cannot
// add them up (repeat buyers of a very large month can outlast the
// statement timeout) the cheap totals stand in, so that the digest still
// posts, and *partial says so.
func (h *Digests) fullTotals(ctx context.Context, p domain.Period, at time.Time, partial *atomic.Bool) (domain.ShopTotals, error) {
	t, err := h.Store.ShopTotals(ctx, p, at)
	if err == nil || ctx.Err() != nil {
		return t, err
	}
	h.Log.Warn("Full totals failed; the digest goes on with the cheap ones", "period", p.Label, "err", err)
	ts, err := h.Store.BaselineTotals(ctx, []domain.Period{p}, at)
	if err != nil {
		return domain.ShopTotals{}, err
	}
	partial.Store(true)
	return ts[0], nil
}

// targets are the manual's defaults with the managers' targets on top.
func (h *Digests) targets(ctx context.Context) ([]domain.Target, error) {
	set, err := h.Store.Targets(ctx)
	if err != nil {
		return nil, err
	}
	byKey := map[string]domain.Target{}
	var keys []string
	for _, t := range append(append([]domain.Target{}, domain.DefaultTargets...), set...) {
		k := t.Metric + "/" + t.Period
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = t
	}
	out := make([]domain.Target, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out, nil
}

// rules are the default thresholds with the managers' on top.
func (h *Digests) rules(ctx context.Context) ([]domain.AnomalyRule, error) {
	set, err := h.Store.AnomalyRules(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]domain.AnomalyRule{}
	var names []string
	for _, r := range append(append([]domain.AnomalyRule{}, domain.DefaultAnomalyRules...), set...) {
		if _, ok := by[r.Metric]; !ok {
			names = append(names, r.Metric)
		}
		by[r.Metric] = r
	}
	out := make([]domain.AnomalyRule, 0, len(names))
	for _, n := range names {
		out = append(out, by[n])
	}
	return out, nil
}

// against names the baseline in a flag: "Fridays", "holidays", "weeks".
func against(w domain.DigestWindow, kind string) string {
	switch {
	case w.Kind == domain.DigestDaily && kind == domain.DayNormal:
		return w.Period.From.Weekday().String()
	case w.Kind == domain.DigestDaily:
		return map[string]string{domain.DayHoliday: "holiday", domain.DayMakeup: "make-up working day",
			domain.DayCampaign: "campaign day"}[kind]
	case w.Kind == domain.DigestWeekly:
		return "week"
	}
	return "month"
}

// detect flags the metrics that moved beyond their rule against the
// baseline of comparable periods.
func (d *Digest) detect(w domain.DigestWindow, in *inputs, traffic map[string]bool) {
	minBase := w.MinBaseline()
	what := against(w, in.kind)
	if w.Partial && w.Kind == domain.DigestDaily {
		what += " until " + w.Cutoff.Format("15:04")
	}
	if in.kind != domain.DayNormal {
		name := in.kindName
		if name != "" {
			name = " (" + name + ")"
		}
		if len(in.basePeriods) < minBase {
			d.Notes = append(d.Notes, fmt.Sprintf("This is a %s%s: it is compared only with its own kind, and the last weeks have %d — too few to flag anything.",
				against(w, in.kind), name, len(in.basePeriods)))
			return
		}
		d.Notes = append(d.Notes, fmt.Sprintf("This is a %s%s: flags compare it only with the %d like it in the last weeks.", against(w, in.kind), name, len(in.basePeriods)))
	} else if len(in.basePeriods) < minBase {
		d.Notes = append(d.Notes, fmt.Sprintf("Too little history to flag anything: %d comparable earlier periods (%s), %d needed.", len(in.basePeriods), what, minBase))
		return
	}
	d.checked = true
	base := make([]domain.Figures, len(in.baseline))
	for i, t := range in.baseline {
		base[i] = domain.DigestFigures(t, domain.ComplaintExtras{})
	}
	beyond := domain.BeyondCheapTotals() // the baseline has only the cheap totals
	rules := map[string]domain.AnomalyRule{}
	for _, r := range in.rules {
		rules[r.Metric] = r
	}
	for _, m := range domain.DigestMetrics() {
		r, ok := rules[m.Name]
		if !ok || (w.Partial && traffic[m.Name]) || beyond[m.Name] {
			continue
		}
		vals := make([]domain.Value, len(base))
		vols := make([]float64, len(base))
		for i, f := range base {
			vals[i], vols[i] = f[m.Name], domain.VolumeOf(f, r.Volume)
		}
		if a, ok := domain.DetectAnomaly(m, r, d.Figures[m.Name], domain.VolumeOf(d.Figures, r.Volume), vals, vols, what, minBase); ok {
			d.Anomalies = append(d.Anomalies, a)
		}
	}
	// The biggest surprise first.
	sort.SliceStable(d.Anomalies, func(i, j int) bool { return abs(d.Anomalies[i].Z) > abs(d.Anomalies[j].Z) })
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// checkTargets marks level targets missed, the month-to-date pace of GMV,
// and (in the monthly digest) monthly amounts and growth.
func (d *Digest) checkTargets(w domain.DigestWindow, in *inputs) {
	for _, t := range in.targets {
		m, ok := domain.DigestMetricByName(t.Metric)
		if !ok {
			continue
		}
		v := d.Figures[m.Name]
		switch {
		case t.Period == "" && t.Misses(v):
			d.Misses = append(d.Misses, fmt.Sprintf("%s %s misses its target (%s)", m.Label, m.Format(v), t.Describe(m)))
		case t.Period == "month" && w.Kind == domain.DigestMonthly && v.OK && !w.Partial && (t.Max && v.V > t.Value || !t.Max && v.V < t.Value):
			d.Misses = append(d.Misses, fmt.Sprintf("%s %s misses the month's target (%s)", m.Label, m.Format(v), t.Describe(m)))
		case t.Period == "growth" && w.Kind == domain.DigestMonthly && !w.Partial:
			p := d.Previous[m.Name]
			if v.OK && p.OK && p.V > 0 && v.V/p.V-1 < t.Value {
				d.Misses = append(d.Misses, fmt.Sprintf("%s grew %s on %s, short of the %s growth target", m.Label,
					domain.Pct(v.V/p.V-1), w.ComparedWith(), domain.Pct(t.Value)))
			}
		}
	}
	// GMV against the month's target: a set amount, or the month before
	// plus the growth target.
	var target float64
	source := ""
	for _, t := range in.targets {
		if t.Metric != "gmv" {
			continue
		}
		switch {
		case t.Period == "month":
			target, source = t.Value, "set"
		case t.Period == "growth" && source == "" && in.monthBefore > 0:
			target, source = float64(in.monthBefore)*(1+t.Value), "growth"
		}
	}
	if source == "" {
		return
	}
	p := domain.NewPace(target, float64(in.mtd), in.monthToDate, w.Cutoff, source)
	d.Pace = &p
	if p.Behind() && p.DaysLeft > 0 {
		gmv, _ := domain.MetricByName("gmv")
		d.Misses = append(d.Misses, fmt.Sprintf("GMV is behind the month's target: %s so far of %s; %s a day needed from here",
			gmv.Format(domain.Value{V: p.MTD, OK: true}), gmv.Format(domain.Value{V: p.Target, OK: true}),
			gmv.Format(domain.Value{V: p.Needed(), OK: true})))
	}
}

// content is the digest as a message: flags on top, then the figures as
// fields, then the month's pace and the notes.
func (d *Digest) content(in *inputs) domain.Content {
	w := d.Window
	c := domain.Content{Title: w.Title()}
	flags := d.Flags()
	if len(flags) > 0 {
		lines := make([]string, len(flags))
		for i, f := range flags {
			lines[i] = "⚠ " + f
		}
		c.Text = strings.Join(lines, "\n")
	} else if d.checked {
		c.Text = "Nothing unusual: every figure is within its usual range and on target."
	} else {
		c.Text = "No flags: on target, and too little comparable history to judge what is unusual (see below)."
	}
	missed := map[string]string{}
	for _, t := range in.targets {
		if m, ok := domain.DigestMetricByName(t.Metric); ok && t.Period == "" && t.Misses(d.Figures[m.Name]) {
			missed[m.Name] = t.Describe(m)
		}
	}
	flagged := map[string]bool{}
	for _, a := range d.Anomalies {
		flagged[a.Metric] = true
	}
	prevName := w.ComparedWith()
	weekAgoName := "last " + w.Period.From.Format("Mon")
	for _, m := range domain.DigestMetrics() {
		v, counted := d.Figures[m.Name]
		p := d.Previous[m.Name]
		if !counted {
			continue // left out of this digest (see the note)
		}
		if !v.OK && !p.OK && !in.trafficNeeded(m.Name) {
			continue // an input opsbot does not have yet (surveys)
		}
		if m.Name == "survey_responses" && !d.Figures["satisfaction"].OK && !d.Previous["satisfaction"].OK {
			continue
		}
		lines := []string{m.Format(v)}
		if t, ok := missed[m.Name]; ok {
			lines[0] += " ✗ target " + t
		}
		if flagged[m.Name] {
			lines[0] += " ⚠"
		}
		if s := domain.CompareLine(m, v, p); s != "" {
			lines = append(lines, s+" ("+prevName+")")
		}
		if d.WeekAgo != nil {
			if s := domain.CompareLine(m, v, d.WeekAgo[m.Name]); s != "" {
				lines = append(lines, s+" ("+weekAgoName+")")
			}
		}
		c.Fields = append(c.Fields, domain.Field{Label: m.Label, Value: strings.Join(lines, "\n")})
	}
	if d.Pace != nil {
		c.List = append(c.List, d.Pace.Line())
	}
	c.List = append(c.List, d.Notes...)
	note := "Compared with " + prevName
	if w.Kind == domain.DigestDaily {
		note += " and with " + weekAgoName
	}
	if w.Partial {
		note += fmt.Sprintf(", each up to the same time (%s). Traffic is pushed per day, so UV and conversion are not compared inside a day", w.Cutoff.Format("15:04"))
	}
	if w.Kind == domain.DigestDaily || in.partialTotals.Load() {
		beyond := domain.BeyondCheapTotals()
		var names []string
		for _, m := range domain.DigestMetrics() {
			if beyond[m.Name] {
				names = append(names, m.Label)
			}
		}
		if len(names) > 0 {
			if in.tooBig > 0 {
				note += fmt.Sprintf(". %s: not counted for periods of more than %d orders", strings.Join(names, ", "), in.tooBig)
			} else if in.partialTotals.Load() {
				note += ". " + strings.Join(names, ", ") + ": could not be counted in time"
			} else {
				note += ". " + strings.Join(names, ", ") + ": in the weekly and monthly digests"
			}
		}
	}
	c.Note = note + ". \"no data\" means the input is missing (no traffic pushed). `metrics define <name>` says how each figure is computed."
	return c
}

// trafficNeeded reports whether metric name depends on traffic, which is
// shown as "no data" rather than hidden when it is missing.
func (in *inputs) trafficNeeded(name string) bool {
	return domain.TrafficDependent(in.cur)[name]
}
