// Package campaigns is campaign preparation: checklists counted back from a
// campaign's start on the business calendar, owners reminded by DM and
// escalated when late, a morning summary per campaign, the T-1 customer
// notice to opted-in WeChat followers, the pace against target while it
// runs and the review (复盘) with the shop's numbers after.
//
// Everything timed is done by one job, campaign-remind, from the database:
// each item carries its next check time, the job reads the partial index
// on it (cost follows what is due), and each reminder, escalation,
// summary and notice is recorded in the transaction that enqueues it, so
// it goes out once across replicas and restarts.
package campaigns

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Action IDs of the campaign buttons and forms.
const (
	ActionDone    = "campaign.done"    // a reminder's Done button; value: item ID
	ActionApprove = "campaign.approve" // the notice's Approve button; value: campaign ID
	ActionNew     = "campaign.new"     // the new-campaign form
)

// NoticeKind is the outgoing notice kind of campaign notices, for the
// WeChat sender's subscription-notice fallback outside the 48-hour window.
const NoticeKind = "campaign"

// Campaigns is the campaign-prep feature.
type Campaigns struct {
	Store    *store.DB
	Clock    handlers.Clock
	Channels handlers.Channels
	Log      *slog.Logger
	// WeeksAhead is how many weeks ahead weekly routines are created.
	WeeksAhead int
}

// New returns the campaign feature.
func New(st *store.DB, clock handlers.Clock, ch handlers.Channels, log *slog.Logger) *Campaigns {
	return &Campaigns{Store: st, Clock: clock, Channels: ch, Log: log, WeeksAhead: 2}
}

// Feature is campaign prep as the router and the scheduler see it.
func (h *Campaigns) Feature() bot.Feature {
	return bot.Feature{
		Name:     "campaigns",
		Commands: h.Commands(),
		Actions: []bot.ActionHandler{
			{ID: ActionDone, Role: domain.RoleAgent, Run: h.doneButton},
			{ID: ActionApprove, Role: domain.RoleAgent, Run: h.approveButton},
			{ID: ActionNew, Role: domain.RoleAgent, Run: h.newForm},
		},
		Intents: []bot.CustomerIntent{
			{Name: "campaign opt-out", Keywords: []string{"退订活动", "取消订阅", "退订"}, Run: h.optOut},
			{Name: "campaign opt-in", Keywords: []string{"订阅活动", "活动订阅", "活动提醒"}, Run: h.optIn},
		},
		Menu: []bot.MenuItem{
			{Line: "活动提醒：回复「订阅活动」，大促开始前一天通知您；回复「退订」取消", Button: "活动提醒", Key: "订阅活动"},
		},
		Jobs: []bot.Job{{
			Name: "campaign-remind", Schedule: "*/5 * * * *",
			Description: "Campaign prep: remind item owners, escalate late items, post morning summaries, send T-1 notices and reviews, create weekly routines.",
			Run:         h.Remind,
		}},
	}
}

// Customer texts, in natural Simplified Chinese.
const (
	optInText = "订阅成功！🎉\n以后有大促和周常活动（如双11、双12、周一秒杀）时，我们会在活动开始前一天通过公众号提醒您活动时间和优惠内容。\n" +
		"每次活动最多提醒一次，不会打扰您。不想再收到时，回复「退订」即可。"
	optInAgainText = "您已经订阅了活动提醒，有新活动时我们会在开始前一天通知您。不想再收到时，回复「退订」即可。"
	optOutText     = "已为您退订活动提醒，今后不会再收到活动通知。\n如果想重新订阅，随时回复「订阅活动」即可。"
	optOutNoneText = "您目前没有订阅活动提醒，不会收到活动通知。如果想订阅，回复「订阅活动」即可。"
	noticeFooter   = "\n（回复「退订」不再接收活动通知）"
)

func (h *Campaigns) optIn(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	already, err := h.Store.CampaignOptIn(ctx, req.UserID, h.Clock.Time())
	if err != nil {
		return bot.Reply{}, err
	}
	if already {
		return bot.Text(optInAgainText), nil
	}
	return bot.Text(optInText), nil
}

func (h *Campaigns) optOut(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	was, err := h.Store.CampaignOptOut(ctx, req.UserID, h.Clock.Time())
	if err != nil {
		return bot.Reply{}, err
	}
	if !was {
		return bot.Text(optOutNoneText), nil
	}
	return bot.Text(optOutText), nil
}

// calendar returns the business calendar with the admins' corrections.
func (h *Campaigns) calendar(ctx context.Context) (*domain.Calendar, error) {
	over, err := h.Store.CalendarOverrides(ctx, h.Clock.Loc)
	if err != nil {
		return nil, err
	}
	return domain.NewCalendar(h.Clock.Loc, over)
}

// owner resolves a template item's owner: the campaign's owner, a person,
// or whoever fills the role (the campaign's owner when nobody does).
func owner(spec, campaignOwner string, roles map[string]string) string {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "" || spec == domain.OwnerCampaign:
		return campaignOwner
	case strings.HasPrefix(spec, "<@") || strings.HasPrefix(spec, "@"):
		return handlers.UserID(spec)
	}
	if u := roles[spec]; u != "" {
		return u
	}
	if isUserID(spec) {
		return spec
	}
	return campaignOwner
}

// isUserID reports whether s looks like a Slack user ID (U024BE7LH).
func isUserID(s string) bool {
	if len(s) < 3 || (s[0] != 'U' && s[0] != 'W') {
		return false
	}
	for _, r := range s[1:] {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// build makes a campaign's checklist from a template: items with owners
// and due dates on the calendar. unknown lists the years the calendar
// does not know (due dates there count weekends only).
func (h *Campaigns) build(ctx context.Context, c *domain.Campaign, t domain.CampaignTemplate) (unknown bool, err error) {
	cal, err := h.calendar(ctx)
	if err != nil {
		return false, err
	}
	roles, err := h.Store.CampaignRoles(ctx)
	if err != nil {
		return false, err
	}
	c.Items = nil
	for _, ti := range t.Items {
		it := domain.CampaignItem{Position: ti.Position, Title: ti.Title, Offset: ti.Offset,
			Owner: owner(ti.Owner, c.Owner, roles), Action: ti.Action}
		if !it.Schedule(c.Start, c.End, cal) {
			unknown = true
		}
		c.Items = append(c.Items, it)
	}
	c.NextSummary = c.NextSummaryAfter(h.Clock.Time(), cal)
	if c.Notice == "" {
		c.Notice = DraftNotice(c.Name, c.Start.In(h.Clock.Loc))
	}
	return unknown, nil
}

// DraftNotice is the notice text a campaign starts with, for its owner to
// edit and approve: 「明天10点，双12活动正式开始，敬请关注！」.
func DraftNotice(name string, start time.Time) string {
	at := fmt.Sprintf("%d点", start.Hour())
	if start.Minute() != 0 {
		at += fmt.Sprintf("%d分", start.Minute())
	}
	return fmt.Sprintf("明天%s，%s活动正式开始，精彩优惠不要错过，敬请关注！", at, name)
}

// create stores a new campaign built from its template and announces it
// in the campaigns channel.
func (h *Campaigns) create(ctx context.Context, in domain.CampaignCommand, by string, routine bool) (domain.Campaign, bool, error) {
	if in.Template == "" {
		in.Template = "major"
	}
	t, err := h.Store.CampaignTemplate(ctx, in.Template)
	if err != nil {
		return domain.Campaign{}, false, err
	}
	c := domain.Campaign{Name: in.Name, Template: t.Name, Start: in.Start, End: in.End, Target: in.Target,
		Owner: in.Owner, State: domain.CampaignActive, CreatedBy: by, CreatedAt: h.Clock.Time()}
	if c.Owner == "" {
		c.Owner = by
	}
	if routine {
		c.CreatedBy = domain.ActorBot
	}
	unknown, err := h.build(ctx, &c, t)
	if err != nil {
		return c, false, err
	}
	c, err = h.Store.CreateCampaign(ctx, c, func(c domain.Campaign) []domain.Outgoing {
		ct := h.card(c, h.Clock.Time())
		ct.Title = "New campaign: " + ct.Title
		return []domain.Outgoing{{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: h.Channels.Campaigns,
			Ref: c.Ref(), Content: ct}}
	})
	if err != nil {
		return c, false, err
	}
	h.Log.Info("Campaign created", "campaign", c.ID, "template", c.Template, "items", len(c.Items), "routine", routine)
	return c, unknown, nil
}
