package campaigns

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// ReviewMetrics are the metrics a review compares, by name in the
// metrics registry (domain.Metrics); names the registry does not have are
// skipped, so a metric added there shows up once named here.
var ReviewMetrics = []string{"gmv", "orders", "paying_customers", "aov", "uv", "conversion", "refund_rate",
	"complaints", "complaint_rate", "satisfaction", "survey_responses"}

// BaselineWeeks is how many weeks before the campaign its figures are
// compared with (the same hours of each of those weeks, averaged).
const BaselineWeeks = 4

// totalsStore is what reviews read: the shop's totals of a period.
type totalsStore interface {
	ShopTotals(ctx context.Context, p domain.Period, at time.Time) (domain.ShopTotals, error)
}

// sumTotals adds up every count of several periods' totals, whatever
// fields ShopTotals has (a feature that adds one is summed too).
func sumTotals(ts []domain.ShopTotals) domain.ShopTotals {
	var sum domain.ShopTotals
	sv := reflect.ValueOf(&sum).Elem()
	for _, t := range ts {
		tv := reflect.ValueOf(t)
		for i := 0; i < sv.NumField(); i++ {
			f := sv.Field(i)
			switch f.Kind() {
			case reflect.Int, reflect.Int64, reflect.Int32:
				f.SetInt(f.Int() + tv.Field(i).Int())
			case reflect.Float64:
				f.SetFloat(f.Float() + tv.Field(i).Float())
			}
		}
	}
	return sum
}

// Comparison is a campaign's figures against the weeks before.
type Comparison struct {
	During, Before domain.Figures
}

// compare computes the campaign's figures over [start, min(end, at)) and
// the average of the same hours in the BaselineWeeks weeks before.
func compare(ctx context.Context, st totalsStore, c domain.Campaign, at time.Time) (Comparison, error) {
	end := c.End
	if at.Before(end) {
		end = at
	}
	if end.Before(c.Start) {
		end = c.Start
	}
	p := domain.Period{From: c.Start, To: end, Kind: "range", Label: "campaign"}
	during, err := st.ShopTotals(ctx, p, at)
	if err != nil {
		return Comparison{}, err
	}
	var weeks []domain.ShopTotals
	for k := 1; k <= BaselineWeeks; k++ {
		q := domain.Period{From: p.From.AddDate(0, 0, -7*k), To: p.To.AddDate(0, 0, -7*k), Kind: "range"}
		t, err := st.ShopTotals(ctx, q, at)
		if err != nil {
			return Comparison{}, err
		}
		weeks = append(weeks, t)
	}
	before := sumTotals(weeks).Figures()
	for _, m := range domain.Metrics {
		if v, ok := before[m.Name]; ok && v.OK && (m.Unit == domain.UnitCount || m.Unit == domain.UnitMoney) {
			v.V /= BaselineWeeks
			before[m.Name] = v
		}
	}
	return Comparison{During: during.Figures(), Before: before}, nil
}

func format(name string, f domain.Figures) string {
	m, ok := domain.MetricByName(name)
	if !ok {
		return "—"
	}
	return m.Format(f[name])
}

func change(now, before domain.Value) string {
	if !now.OK || !before.OK || before.V == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.0f%%)", (now.V-before.V)*100/before.V)
}

// figureLines shows the comparison one metric a line.
func figureLines(cmp Comparison) []string {
	var out []string
	for _, name := range ReviewMetrics {
		m, ok := domain.MetricByName(name)
		if !ok {
			continue
		}
		now, before := cmp.During[m.Name], cmp.Before[m.Name]
		out = append(out, fmt.Sprintf("%s: %s vs %s in the weeks before%s", m.Label, m.Format(now), m.Format(before), change(now, before)))
	}
	return out
}

// reviewDraft is the review (复盘) with the shop's numbers, for the owner
// to complete.
func (h *Campaigns) reviewDraft(ctx context.Context, st *store.DB, c domain.Campaign, at time.Time) (domain.Content, error) {
	cmp, err := compare(ctx, st, c, at)
	if err != nil {
		return domain.Content{}, err
	}
	if len(c.Items) == 0 {
		if c.Items, err = h.items(ctx, st, c); err != nil {
			return domain.Content{}, err
		}
	}
	gmv := int64(cmp.During["gmv"].V + 0.5)
	ct := domain.Content{
		Title: fmt.Sprintf("Review (复盘) of %s: %s – %s", c.Name, h.Clock.Format(c.Start), h.Clock.Format(c.End)),
		Text: fmt.Sprintf("Draft for %s to complete: goal attainment, traffic, conversion, GMV and feedback are below; add the problems, the actions and the lessons.",
			handlers.StaffMention(c.Owner)),
		Fields: []domain.Field{
			{Label: "GMV against target", Value: fmt.Sprintf("%s of %s (%s)", domain.Yuan(gmv), targetText(c.Target), domain.Attainment(gmv, c.Target))},
			{Label: "Orders", Value: format("orders", cmp.During)},
		},
		List: figureLines(cmp),
	}
	var late []string
	for _, it := range c.Items {
		if it.Late() || it.Overdue(at) {
			late = append(late, h.itemLine(it, at))
		}
	}
	if len(late) > 0 {
		ct.List = append(ct.List, "Items finished late or still open:")
		ct.List = append(ct.List, late...)
	} else {
		ct.List = append(ct.List, "Every item was finished on time.")
	}
	ct.Note = fmt.Sprintf("Compared with the same hours of the %d weeks before (averaged). `campaign review %d <conclusions>` completes it.", BaselineWeeks, c.ID)
	if c.Review != "" {
		ct.Text = "Conclusions by " + handlers.StaffMention(c.Owner) + ":\n" + handlers.Quote(c.Review)
	}
	return ct, nil
}

func (h *Campaigns) items(ctx context.Context, st *store.DB, c domain.Campaign) ([]domain.CampaignItem, error) {
	full, err := st.Campaign(ctx, fmt.Sprint(c.ID))
	return full.Items, err
}

func (h *Campaigns) review(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	c, err := h.campaignArg(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	now := h.Clock.Time()
	text, _ := domain.CleanText(req.Tail(1), 4000)
	if text == "" {
		if now.Before(c.Start) {
			return bot.Reply{}, bot.Errorf("%s has not started yet (%s); `campaign pace %d` shows the numbers while it runs.",
				c.Name, h.Clock.Format(c.Start), c.ID)
		}
		ct, err := h.reviewDraft(ctx, h.Store, c, now)
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Reply{Content: ct}, nil
	}
	if c.Owner != req.UserID && req.Role < domain.RoleManager {
		return bot.Reply{}, bot.Errorf("The review of %s is %s's to complete (or a manager's).", c.Name, handlers.StaffMention(c.Owner))
	}
	var final domain.Content
	c, err = h.update(ctx, fmt.Sprint(c.ID), func(c *domain.Campaign) ([]domain.Outgoing, error) {
		c.Review, c.ReviewedAt = text, now
		for i := range c.Items {
			if it := &c.Items[i]; it.Action == domain.ActionReview && !it.Done() {
				it.DoneAt, it.DoneBy = now, req.UserID
			}
		}
		var err error
		if final, err = h.reviewDraft(ctx, h.Store, *c, now); err != nil {
			return nil, err
		}
		final.Title = strings.Replace(final.Title, "Review (复盘)", "Review (复盘) completed", 1)
		final.Note = ""
		return []domain.Outgoing{h.post(final, "")}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: final}
	rep.Note = "Posted to the campaigns channel."
	return rep, nil
}

func (h *Campaigns) pace(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	c, err := h.campaignArg(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	now := h.Clock.Time()
	if now.Before(c.Start) {
		return bot.Text(fmt.Sprintf("%s %s; its pace shows once it runs.", c.Name, h.countdown(c, now))), nil
	}
	cmp, err := compare(ctx, h.Store, c, now)
	if err != nil {
		return bot.Reply{}, err
	}
	gmv := int64(cmp.During["gmv"].V + 0.5)
	p := domain.PaceAt(c, gmv, now)
	ct := domain.Content{
		Title: fmt.Sprintf("Pace of %s · %s", c.Name, h.countdown(c, now)),
		Fields: []domain.Field{
			{Label: "GMV so far", Value: domain.Yuan(gmv)},
			{Label: "Target", Value: targetText(c.Target)},
			{Label: "Attained", Value: domain.Attainment(gmv, c.Target)},
			{Label: "Time gone", Value: fmt.Sprintf("%.0f%%", p.Elapsed*100)},
			{Label: "GMV per hour so far", Value: domain.Yuan(p.PerHour)},
			{Label: "At this pace, by the end", Value: domain.Yuan(p.Projected)},
		},
		List: figureLines(cmp),
	}
	switch {
	case c.Target <= 0:
		ct.Text = "No target set."
	case gmv >= c.Target:
		ct.Text = "Target reached."
	case now.Before(c.End):
		ct.Text = fmt.Sprintf("To reach the target: %s per hour for the remaining %s (so far: %s per hour).",
			domain.Yuan(p.NeededPerHour), handlers.Duration(c.End.Sub(now)), domain.Yuan(p.PerHour))
		if p.Projected < c.Target {
			ct.Text += " Below plan: consider adjusting (traffic, coupons, placement)."
		}
	default:
		ct.Text = "The campaign has ended below its target."
	}
	return bot.Reply{Content: ct}, nil
}
