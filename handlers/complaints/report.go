package complaints

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// Jobs returns the complaint desk's scheduled jobs: the SLA sweep every
// minute and the monthly review on the 1st.
func (h *Complaints) Jobs() []bot.Job {
	return []bot.Job{
		{
			Name: "sla-sweep", Schedule: "* * * * *",
			Description: "Warn agents before complaint SLAs run out and alert managers at breaches, each once.",
			Run:         h.SweepSLA,
		},
		{
			Name: "complaint-report", Schedule: "0 9 1 * *",
			Description: "Post last month's complaint review to the managers channel.",
			Run:         h.PostReport,
		},
	}
}

// SweepSLA announces the SLA warnings and breaches due at time at: a
// warning to the assignee by DM (or to the complaints channel when nobody
// has claimed it), a breach alert to the managers channel. Each is recorded
// and sent once, however many replicas or manual runs sweep.
func (h *Complaints) SweepSLA(ctx context.Context, at time.Time) error {
	n, err := h.Store.SweepSLA(ctx, at, 200, func(c domain.Complaint, due []domain.SLAEvent) []domain.Outgoing {
		return h.announce(c, due, at)
	})
	if n > 0 {
		h.Log.Info("SLA sweep announced warnings or breaches", "complaints", n)
	}
	return err
}

func clockName(c domain.SLAClock) string {
	if c == domain.ClockReply {
		return "first reply"
	}
	return "resolution"
}

// announce writes the messages for the SLA events of one complaint.
func (h *Complaints) announce(c domain.Complaint, due []domain.SLAEvent, at time.Time) []domain.Outgoing {
	var out []domain.Outgoing
	for _, e := range due {
		m := domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost, DedupeKey: e.DedupeKey(c.Number)}
		summary := fmt.Sprintf("%s · %s — %s", c.Category.Label(), customerLine(c, true), handlers.Excerpt(c.Text, 80))
		switch {
		case e.Stage == domain.StageBreach:
			m.To = h.Channels.Managers
			m.Content = domain.Content{
				Title: fmt.Sprintf("SLA breached: %s", c.Number),
				Text: fmt.Sprintf("The %s of %s was due %s and has not happened. Assignee: %s.",
					clockName(e.Clock), c.Number, h.Clock.Format(e.Due), handlers.StaffMention(c.Assignee)),
				Note: summary,
			}
		case c.Assignee != "":
			m.Kind, m.To = domain.OutDM, c.Assignee
			m.Content = domain.Content{
				Title: fmt.Sprintf("SLA warning: %s", c.Number),
				Text: fmt.Sprintf("The %s of %s is due %s (in %s).", clockName(e.Clock), c.Number,
					h.Clock.Format(e.Due), handlers.Duration(e.Due.Sub(at))),
				Note:    summary,
				Buttons: []domain.Button{{Label: "Reply", ActionID: ActionReply, Value: c.Number}, {Label: "Resolve", ActionID: ActionResolve, Value: c.Number}},
			}
		default:
			m.To = h.Channels.Complaints
			m.Content = domain.Content{
				Title: fmt.Sprintf("SLA warning: %s is unclaimed", c.Number),
				Text: fmt.Sprintf("The %s of %s is due %s (in %s) and nobody has claimed it.", clockName(e.Clock), c.Number,
					h.Clock.Format(e.Due), handlers.Duration(e.Due.Sub(at))),
				Note:    summary,
				Buttons: []domain.Button{{Label: "Claim", ActionID: ActionClaim, Value: c.Number, Style: "primary"}},
			}
		}
		out = append(out, m)
	}
	return out
}

// PostReport posts the review of the month before at to the managers.
func (h *Complaints) PostReport(ctx context.Context, at time.Time) error {
	at = at.In(h.Clock.Loc)
	month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, h.Clock.Loc).AddDate(0, -1, 0)
	ct, err := h.Report(ctx, month, at)
	if err != nil {
		return err
	}
	return h.Store.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost,
		To: h.Channels.Managers, Content: ct})
}

func (h *Complaints) reportCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	now := h.Clock.Time()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, h.Clock.Loc).AddDate(0, -1, 0)
	if a := req.Arg(0); a != "" {
		t, err := time.ParseInLocation("2006-01", a, h.Clock.Loc)
		if err != nil {
			return bot.Reply{}, bot.Usagef("Give the month as YYYY-MM, like 2026-11.")
		}
		month = t
	}
	if thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, h.Clock.Loc); month.After(thisMonth) {
		return bot.Reply{}, bot.Errorf("%s has not happened yet, so there is no review of it. `complaint stats month` shows this month so far.", month.Format("2006-01"))
	}
	ct, err := h.Report(ctx, month, now)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Content: ct}, nil
}

// Report is the monthly complaint review of month (its first day, in the
// shop's zone) against the month before, as known at time at.
func (h *Complaints) Report(ctx context.Context, month, at time.Time) (domain.Content, error) {
	next, prevM := month.AddDate(0, 1, 0), month.AddDate(0, -1, 0)
	cur, err := h.Store.ComplaintStats(ctx, month, next, at)
	if err != nil {
		return domain.Content{}, err
	}
	prev, err := h.Store.ComplaintStats(ctx, prevM, month, at)
	if err != nil {
		return domain.Content{}, err
	}
	pm := prevM.Format("2006-01")
	ct := domain.Content{
		Title: fmt.Sprintf("Complaint review %s (vs %s)", month.Format("2006-01"), pm),
		Note: "SLA hit rates count complaints answered or resolved, or past their deadline; " +
			"times run from logging to the first reply and to the resolution.",
	}
	ct.Fields = []domain.Field{
		{Label: "Complaints", Value: fmt.Sprintf("%d (%s: %d%s)", cur.Total, pm, prev.Total, change(cur.Total, prev.Total))},
		{Label: "First reply within SLA", Value: rateLine(cur.ReplyMet, cur.ReplyDecided) + " · " + pm + ": " + rateLine(prev.ReplyMet, prev.ReplyDecided)},
		{Label: "Resolved within SLA", Value: rateLine(cur.ResolveMet, cur.ResolveDecided) + " · " + pm + ": " + rateLine(prev.ResolveMet, prev.ResolveDecided)},
		{Label: "First reply time", Value: timesLine(cur.ReplyMedian, cur.ReplyMean) + " · " + pm + ": " + timesLine(prev.ReplyMedian, prev.ReplyMean)},
		{Label: "Resolution time", Value: timesLine(cur.ResolveMedian, cur.ResolveMean) + " · " + pm + ": " + timesLine(prev.ResolveMedian, prev.ResolveMean)},
		{Label: "Still open", Value: fmt.Sprintf("%d, %d overdue · %s: %d, %d overdue", cur.Open, cur.Overdue, pm, prev.Open, prev.Overdue)},
	}
	var curN, prevN []int
	for _, c := range domain.Categories {
		n, p := cur.ByCategory[c], prev.ByCategory[c]
		if n == 0 && p == 0 {
			continue
		}
		curN, prevN = append(curN, n), append(prevN, p)
		ct.List = append(ct.List, fmt.Sprintf("%s: %d (%s) · %s: %d (%s)", c.Label(), n, share(n, cur.Total), pm, p, share(p, prev.Total)))
	}
	if note := sharesNote(curN, cur.Total); note != "" {
		ct.Note += note
	} else if note := sharesNote(prevN, prev.Total); note != "" {
		ct.Note += strings.Replace(note, "Category shares", "Category shares of "+pm, 1)
	}
	if !at.Before(month) && at.Before(next) {
		ct.Note += " " + month.Format("2006-01") + " is not over yet: these are the numbers so far."
	}
	if cur.Total == 0 {
		ct.Text = "No complaints were logged this month."
	}
	return ct, nil
}

func share(n, total int) string {
	if total == 0 {
		return "—"
	}
	return fmt.Sprintf("%d%%", int(math.Round(100*float64(n)/float64(total))))
}

func change(cur, prev int) string {
	if prev == 0 {
		return ""
	}
	pct := math.Round(100 * float64(cur-prev) / float64(prev))
	return fmt.Sprintf(", %+.0f%%", pct)
}

func rateLine(met, decided int) string {
	r, ok := domain.Rate(met, decided)
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.0f%% (%d of %d)", 100*r, met, decided)
}

func timesLine(median, mean time.Duration) string {
	if median == 0 && mean == 0 {
		return "—"
	}
	return "median " + handlers.Duration(median) + ", mean " + handlers.Duration(mean)
}
