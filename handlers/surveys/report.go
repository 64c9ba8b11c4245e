package surveys

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// report is `survey report [period]`.
func (h *Surveys) report(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) > 1 {
		return bot.Reply{}, bot.Usagef("Say one period.")
	}
	p, err := domain.ParsePeriod(req.Arg(0), h.Clock.Time(), h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", err.Error())
	}
	cur, err := h.Store.SurveyStats(ctx, p)
	if err != nil {
		return bot.Reply{}, err
	}
	prev, err := h.Store.SurveyStats(ctx, p.Previous())
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Content: ReportContent(cur, prev)}, nil
}

// ReportContent shows a period's survey figures against the target and
// the period before.
func ReportContent(cur, prev domain.SurveyStats) domain.Content {
	avg, ok := cur.Average()
	avgLine := "no answers"
	if ok {
		avgLine = fmt.Sprintf("%.2f / 5", avg)
		if avg >= domain.TargetSatisfaction {
			avgLine += fmt.Sprintf(" ✓ meets the %.1f target", domain.TargetSatisfaction)
		} else {
			avgLine += fmt.Sprintf(" ✗ below the %.1f target", domain.TargetSatisfaction)
		}
	}
	if pa, pok := prev.Average(); pok {
		if ok {
			avgLine += fmt.Sprintf(" (before: %.2f, %+.2f)", pa, avg-pa)
		} else {
			avgLine += fmt.Sprintf(" (before: %.2f)", pa)
		}
	}
	pct := func(v float64, ok bool) string {
		if !ok {
			return "no data"
		}
		return fmt.Sprintf("%.1f%%", v*100)
	}
	csat, cok := cur.CSAT()
	csatLine := pct(csat, cok)
	if pc, pok := prev.CSAT(); pok {
		csatLine += " (before: " + pct(pc, true) + ")"
	}
	rr, rok := cur.ResponseRate()
	rate := pct(rr, rok)
	if pr, pok := prev.ResponseRate(); pok {
		rate += " (before: " + pct(pr, true) + ")"
	}
	ct := domain.Content{
		Title: "Satisfaction surveys · " + cur.Period.Label,
		Fields: []domain.Field{
			{Label: "Sent", Value: fmt.Sprintf("%d (before: %d)", cur.Sent, prev.Sent)},
			{Label: "Answered", Value: fmt.Sprintf("%d (before: %d)", cur.Answered, prev.Answered)},
			{Label: "Response rate", Value: rate},
			{Label: "Average", Value: avgLine},
			{Label: "CSAT (4 and 5)", Value: csatLine},
			{Label: "Reminders sent", Value: fmt.Sprint(cur.Reminders)},
			{Label: "Expired unanswered", Value: fmt.Sprint(cur.Expired)},
			{Label: "Follow-up cases", Value: followUpLine(cur)},
		},
	}
	dist := make([]string, 0, 5)
	for s := 5; s >= 1; s-- {
		share := ""
		if cur.Answered > 0 {
			share = fmt.Sprintf(" (%.0f%%)", float64(cur.Distribution[s])*100/float64(cur.Answered))
		}
		dist = append(dist, fmt.Sprintf("%d: %d%s", s, cur.Distribution[s], share))
	}
	ct.List = append(ct.List, "Distribution — "+strings.Join(dist, ", "))
	for _, tr := range []domain.SurveyTrigger{domain.TriggerOrder, domain.TriggerComplaint} {
		t := cur.ByTrigger[tr]
		line := fmt.Sprintf("After %s: sent %d, answered %d", triggerName(tr), t.Sent, t.Answered)
		if t.Answered > 0 {
			line += fmt.Sprintf(", average %.2f", float64(t.ScoreSum)/float64(t.Answered))
		}
		ct.List = append(ct.List, line)
	}
	var skipped []string
	for _, r := range domain.SkipReasons {
		if n := cur.Skipped[r]; n > 0 {
			skipped = append(skipped, fmt.Sprintf("%s %d", r.Label(), n))
		}
	}
	for r, n := range cur.Skipped {
		known := false
		for _, k := range domain.SkipReasons {
			known = known || k == r
		}
		if !known && n > 0 {
			skipped = append(skipped, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(skipped) == 0 {
		skipped = []string{"none"}
	}
	ct.List = append(ct.List, fmt.Sprintf("Skipped (%d): %s", cur.SkippedTotal(), strings.Join(skipped, ", ")))
	ct.Note = "Response rate = answers / questions sent in the period; CSAT = share of 4 and 5 among answers. " +
		"Unreachable customers are counted, never posted one by one."
	return ct
}

func followUpLine(s domain.SurveyStats) string {
	if s.FollowUps == 0 {
		return "none opened"
	}
	return fmt.Sprintf("%d opened, %d closed within their SLA, %d still open", s.FollowUps, s.FollowUpsMet, s.FollowUpsOpen)
}

func triggerName(t domain.SurveyTrigger) string {
	if t == domain.TriggerComplaint {
		return "resolved complaints"
	}
	return "completed orders"
}

// vip is `survey vip [YYYY-MM]`.
func (h *Surveys) vip(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	month := domain.Month(h.Clock.Time(), h.Clock.Loc)
	if a := req.Arg(0); a != "" {
		t, err := time.ParseInLocation("2006-01", domain.FoldWidth(a), h.Clock.Loc)
		if err != nil || len(req.Args) > 1 {
			return bot.Reply{}, bot.Usagef("Say a month such as 2026-11.")
		}
		month = domain.Month(t, h.Clock.Loc)
	}
	ct, err := h.vipContent(ctx, month)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Content: ct}, nil
}

// vipContent is the benefit list of a month, with the button that marks
// the benefit given.
func (h *Surveys) vipContent(ctx context.Context, month domain.Period) (domain.Content, error) {
	vs, err := h.Store.SurveyVIPs(ctx, month)
	if err != nil {
		return domain.Content{}, err
	}
	ct := domain.Content{
		Title: "Satisfaction benefit · " + month.Label,
		Text: fmt.Sprintf("Customers who answered in %s and average ≥ %.1f over their last %d answers (at least %d). "+
			"opsbot does not issue coupons: give the benefit in the shop's system, then mark it given.",
			month.Label, domain.TargetSatisfaction, domain.VIPWindow, domain.VIPMinAnswers),
	}
	pending := 0
	for _, v := range vs {
		who := "WeChat " + domain.MaskContact(v.OpenID)
		if v.CustomerID != "" {
			who = "customer " + v.CustomerID + " (" + who + ")"
		}
		mark := ""
		if v.Given {
			mark = " — given ✓"
		} else {
			pending++
		}
		ct.List = append(ct.List, fmt.Sprintf("%s: %.2f over %d answers%s", who, v.Average, v.Answers, mark))
	}
	switch {
	case len(vs) == 0:
		ct.Note = "Nobody qualifies yet."
	case pending > 0:
		ct.Buttons = []domain.Button{{Label: fmt.Sprintf("Mark benefit given (%d)", pending), ActionID: ActionBenefit,
			Value: month.From.Format("2006-01"), Style: "primary"}}
	default:
		ct.Note = "The benefit is marked given for everyone listed."
	}
	return ct, nil
}

// runVIP is the survey-vip job: on the 1st, last month's list goes to the
// managers' channel, once per month however often it runs.
func (h *Surveys) runVIP(ctx context.Context, at time.Time) error {
	month := domain.Month(at.In(h.Clock.Loc), h.Clock.Loc).Previous()
	ct, err := h.vipContent(ctx, month)
	if err != nil {
		return err
	}
	return h.Store.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost,
		To: h.Channels.Managers, Ref: "survey-vip:" + month.Label, Content: ct,
		DedupeKey: "survey-vip:" + month.Label})
}

// benefitGiven is the button: it marks the benefit given to everyone on
// the month's list and updates the message.
func (h *Surveys) benefitGiven(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	t, err := time.ParseInLocation("2006-01", req.Action.Value, h.Clock.Loc)
	if err != nil {
		return bot.Text("Sorry, this button is broken: no month."), nil
	}
	month := domain.Month(t, h.Clock.Loc)
	vs, err := h.Store.SurveyVIPs(ctx, month)
	if err != nil {
		return bot.Reply{}, err
	}
	ids := make([]string, 0, len(vs))
	for _, v := range vs {
		if !v.Given {
			ids = append(ids, v.OpenID)
		}
	}
	n, err := h.Store.MarkBenefitsGiven(ctx, month.Label, ids, req.UserID)
	if err != nil {
		return bot.Reply{}, err
	}
	ct, err := h.vipContent(ctx, month)
	if err != nil {
		return bot.Reply{}, err
	}
	ct.Note = strings.TrimSpace(ct.Note + fmt.Sprintf(" %s marked the benefit given to %d customers.", handlers.StaffMention(req.UserID), n))
	return bot.Reply{Content: ct, Update: true}, nil
}
