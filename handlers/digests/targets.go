package digests

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// parseAmount reads a number as staff type it: 5000000, 5,000,000,
// ¥5000000, 3%, 4.8. pct reports a trailing %.
func parseAmount(s string) (v float64, pct bool, err error) {
	s = strings.TrimSpace(domain.FoldWidth(s))
	s = strings.NewReplacer(",", "", "¥", "", "￥", "", "_", "").Replace(s)
	if strings.HasSuffix(s, "%") {
		pct, s = true, strings.TrimSuffix(s, "%")
	}
	v, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v < 0 {
		return 0, false, fmt.Errorf("%q is not a number", s)
	}
	return v, pct, nil
}

// fraction reads a ratio: 3% or 0.03; a bare number above 1 is a percentage.
func fraction(s string) (float64, error) {
	v, pct, err := parseAmount(s)
	if err != nil {
		return 0, err
	}
	if pct || v > 1 {
		v /= 100
	}
	return v, nil
}

func (h *Digests) targetList(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	ts, err := h.targets(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Targets",
		Note: "Digests mark a figure that misses its target. A GMV amount a month sets the pace; without one, the month before plus the growth target does."}}
	for _, t := range ts {
		m, ok := domain.DigestMetricByName(t.Metric)
		if !ok {
			continue
		}
		who := "the manual's default"
		if t.SetBy != "manual" {
			who = "set by " + handlers.StaffMention(t.SetBy)
		}
		rep.List = append(rep.List, fmt.Sprintf("%s (%s): %s — %s", m.Label, m.Name, t.Describe(m), who))
	}
	return rep, nil
}

func (h *Digests) targetSet(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	args := req.Args
	if len(args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the metric and the value.")
	}
	m, ok := domain.DigestMetricByName(args[0])
	if !ok {
		return bot.Reply{}, bot.Usagef("I know no metric %q. `metrics define` lists them.", args[0])
	}
	t := domain.Target{Metric: m.Name, Max: domain.LowerIsBetter[m.Name], SetBy: req.UserID}
	rest := args[1:]
	for len(rest) > 1 {
		switch strings.ToLower(rest[0]) {
		case "month", "monthly":
			t.Period = "month"
		case "growth":
			t.Period = "growth"
		case "min", "at-least", ">=", "≥":
			t.Max = false
		case "max", "at-most", "<=", "≤":
			t.Max = true
		default:
			return bot.Reply{}, bot.Usagef("`%s` is none of month, growth, min or max.", rest[0])
		}
		rest = rest[1:]
	}
	if len(rest) != 1 {
		return bot.Reply{}, bot.Usagef("Give one value.")
	}
	var err error
	switch {
	case t.Period == "growth":
		if m.Unit != domain.UnitCount && m.Unit != domain.UnitMoney {
			return bot.Reply{}, bot.Usagef("Growth targets are for counts and amounts (GMV, orders), not %s.", m.Label)
		}
		t.Value, err = fraction(rest[0])
		t.Max = false
	case m.Unit == domain.UnitCount || m.Unit == domain.UnitMoney:
		if t.Period == "" && !t.Max {
			t.Period = "month" // an amount is an amount a month
		}
		if t.Period == "" {
			return bot.Reply{}, bot.Usagef("A ceiling on %s needs a period: `target set %s month max N`.", m.Label, m.Name)
		}
		var v float64
		v, _, err = parseAmount(rest[0])
		if m.Unit == domain.UnitMoney {
			v *= 100 // yuan → fen
		}
		t.Value = v
	case m.Unit == domain.UnitRatio:
		if t.Period != "" {
			return bot.Reply{}, bot.Usagef("%s is a rate: its target is a level such as 3%%, not per month.", m.Label)
		}
		t.Value, err = fraction(rest[0])
	default:
		if t.Period != "" {
			return bot.Reply{}, bot.Usagef("%s is a score: its target is a level such as 4.8.", m.Label)
		}
		t.Value, _, err = parseAmount(rest[0])
	}
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", err)
	}
	if err := h.Store.SetTarget(ctx, t); err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Target saved: %s %s. Digests mark it from now on.", m.Label, t.Describe(m))), nil
}

func (h *Digests) targetUnset(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	m, ok := domain.DigestMetricByName(req.Arg(0))
	if !ok {
		return bot.Reply{}, bot.Usagef("Say which metric.")
	}
	period := strings.ToLower(req.Arg(1))
	if period != "" && period != "month" && period != "growth" {
		return bot.Reply{}, bot.Usagef("The period is month or growth, or nothing for a level.")
	}
	if period == "" && (m.Unit == domain.UnitCount || m.Unit == domain.UnitMoney) {
		period = "month"
	}
	err := h.Store.UnsetTarget(ctx, m.Name, period)
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Reply{}, bot.Errorf("No target was set for %s %s.", m.Label, period)
	}
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Removed the %s target of %s.", strings.TrimSpace(period+" "), m.Label)), nil
}

func (h *Digests) thresholdList(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	rules, err := h.rules(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Anomaly thresholds",
		Text: "A figure is flagged when all three hold: it is at least the % away from the median of comparable periods " +
			"(the same weekday of the last 8 weeks for the daily digest, the last 8 weeks or 6 months otherwise), " +
			"more than 3 robust deviations (1.4826 × MAD) from it, and its volume is at least the minimum. " +
			"Holidays, make-up working days and campaign days are compared only with their own kind, or not flagged.",
		Note: "`digest threshold set <metric> <PCT%> [min N]` changes one."}}
	for _, r := range rules {
		m, ok := domain.DigestMetricByName(r.Metric)
		if !ok {
			continue
		}
		who := ""
		if r.SetBy != "" {
			who = " (set by " + handlers.StaffMention(r.SetBy) + ")"
		}
		rep.List = append(rep.List, fmt.Sprintf("%s: ±%.0f%% with at least %d %s%s", m.Label, r.Pct*100, r.MinVolume,
			strings.ReplaceAll(r.Volume, "_", " "), who))
	}
	return rep, nil
}

func (h *Digests) thresholdSet(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	args := req.Args
	if len(args) != 2 && len(args) != 4 {
		return bot.Reply{}, bot.Usagef("Say the metric, the %% and optionally `min N`.")
	}
	m, ok := domain.DigestMetricByName(args[0])
	if !ok {
		return bot.Reply{}, bot.Usagef("I know no metric %q. `metrics define` lists them.", args[0])
	}
	rules, err := h.rules(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	r := domain.AnomalyRule{Metric: m.Name, Volume: "orders", MinVolume: 50}
	if m.Unit == domain.UnitCount && m.Name != "orders" {
		r.Volume = m.Name
	}
	for _, have := range rules {
		if have.Metric == m.Name {
			r = have
		}
	}
	r.SetBy = req.UserID
	v, _, err := parseAmount(args[1])
	if err != nil || v <= 0 {
		return bot.Reply{}, bot.Usagef("The threshold is a percentage such as 30%%.")
	}
	r.Pct = v / 100
	if len(args) == 4 {
		if strings.ToLower(args[2]) != "min" {
			return bot.Reply{}, bot.Usagef("Write the volume as `min N`.")
		}
		n, err := strconv.ParseInt(args[3], 10, 64)
		if err != nil || n < 0 {
			return bot.Reply{}, bot.Usagef("`min` wants a whole number.")
		}
		r.MinVolume = n
	}
	if err := h.Store.SetAnomalyRule(ctx, r); err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("%s is now flagged when it moves ±%.0f%% from its usual level with at least %d %s.",
		m.Label, r.Pct*100, r.MinVolume, strings.ReplaceAll(r.Volume, "_", " "))), nil
}
