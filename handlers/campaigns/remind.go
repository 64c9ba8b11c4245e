package campaigns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Remind is the campaign-remind job: everything timed in campaign prep,
// as of time at. It creates the weekly routines' campaigns ahead, sends
// the reminders, escalations, T-1 notices and review drafts that are due,
// posts the morning summaries and tells owners how their notice went once
// its delivery has ended. Each step reads only what is due (partial
// indexes) and records what it sent in the transaction that enqueues it.
func (h *Campaigns) Remind(ctx context.Context, at time.Time) error {
	at = at.In(h.Clock.Loc)
	var errs []error
	summaries, tallies, routines, err := h.Store.CampaignWork(ctx, at)
	if err != nil {
		return err
	}
	if routines {
		if err := h.routines(ctx, at); err != nil {
			errs = append(errs, fmt.Errorf("weekly routines: %w", err))
		}
	}
	n, err := h.Store.SweepCampaignItems(ctx, at, 500, func(tx *store.DB, c domain.Campaign, due []*store.DueItem) ([]domain.Outgoing, error) {
		return h.announce(ctx, tx, c, due, at)
	})
	if err != nil {
		errs = append(errs, err)
	}
	if !summaries {
		if n > 0 {
			h.Log.Info("Campaign reminders sent", "items", n)
		}
	} else if err := h.summaries(ctx, at, n); err != nil {
		errs = append(errs, err)
	}
	if tallies {
		if err := h.tallies(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// summaries posts the morning summaries due at at.
func (h *Campaigns) summaries(ctx context.Context, at time.Time, items int) error {
	var cal *domain.Calendar
	s, err := h.Store.SweepCampaignSummaries(ctx, at, func(c domain.Campaign) (time.Time, []domain.Outgoing) {
		if cal == nil {
			cal, _ = h.calendar(ctx)
		}
		next := at.Add(24 * time.Hour) // without a calendar: tomorrow, same time
		if cal != nil {
			next = c.NextSummaryAfter(at, cal)
		}
		key := "campaign:" + strconv.FormatInt(c.ID, 10) + ":summary:" + at.Format("2006-01-02")
		return next, []domain.Outgoing{h.post(h.weekSummary(c, at), key)}
	})
	if items+s > 0 {
		h.Log.Info("Campaign reminders sent", "items", items, "summaries", s)
	}
	return err
}

// announce turns what is due for a campaign's items into messages: a DM
// per reminder, one escalation (owner DM and channel post) for the items
// newly overdue, the customer notice, the review draft.
func (h *Campaigns) announce(ctx context.Context, tx *store.DB, c domain.Campaign, due []*store.DueItem, at time.Time) ([]domain.Outgoing, error) {
	var msgs []domain.Outgoing
	var late []domain.CampaignItem
	for _, d := range due {
		for _, ev := range d.Events {
			switch ev {
			case domain.EventRemindEarly, domain.EventRemindDay:
				if d.Item.Action != domain.ActionNotice {
					msgs = append(msgs, h.reminder(c, d.Item, ev))
				} else if c.NoticeApprovedBy == "" {
					// The notice needs the owner's approval before it can go.
					ct := h.approvalRequest(c, c.Owner)
					ct.Fields[1] = domain.Field{Label: "Campaign starts", Value: h.Clock.Format(c.Start)}
					msgs = append(msgs, dm(c.Owner, ct, itemKey(d.Item, ev)))
				}
			case domain.EventEscalate:
				late = append(late, d.Item)
			case domain.EventAct:
				m, err := h.act(ctx, tx, c, &d.Item, at)
				if err != nil {
					return nil, err
				}
				msgs = append(msgs, m...)
			}
		}
	}
	if len(late) > 0 {
		msgs = append(msgs, h.escalation(c, late, at)...)
	}
	return msgs, nil
}

// escalation tells the campaign's owner and the campaigns channel, once,
// which items are overdue.
func (h *Campaigns) escalation(c domain.Campaign, late []domain.CampaignItem, at time.Time) []domain.Outgoing {
	ct := domain.Content{
		Title: fmt.Sprintf("Overdue for campaign %s (%s)", c.Name, h.countdown(c, at)),
	}
	var ids []string
	for _, it := range late {
		ct.List = append(ct.List, h.itemLine(it, at))
		ids = append(ids, itemKey(it, domain.EventEscalate))
	}
	if len(late) == 1 {
		ct.Buttons = []domain.Button{doneButton(late[0])}
	}
	ct.Note = "Owners: `campaign done <item>` when finished, or `campaign assign <item> <user>` to hand it on."
	key := strings.Join(ids, ",")
	owner := ct
	owner.Text = "You own this campaign; these items are past due:"
	return []domain.Outgoing{dm(c.Owner, owner, "dm:"+key), h.post(ct, "post:"+key)}
}

// act does an item's automatic action.
func (h *Campaigns) act(ctx context.Context, tx *store.DB, c domain.Campaign, it *domain.CampaignItem, at time.Time) ([]domain.Outgoing, error) {
	switch it.Action {
	case domain.ActionNotice:
		return h.sendNotice(ctx, tx, c, it, at)
	case domain.ActionReview:
		ct, err := h.reviewDraft(ctx, tx, c, at)
		if err != nil {
			return nil, err
		}
		key := "campaign:" + strconv.FormatInt(c.ID, 10) + ":review-draft:" + strconv.FormatInt(it.ID, 10)
		post := h.post(ct, "post:"+key)
		post.Ref = c.Ref() + ":review"
		owner := ct
		owner.Title = "Your review draft: " + ct.Title
		owner.Note = fmt.Sprintf("Complete it with `campaign review %d <problems, actions, lessons>`; it is posted to the campaigns channel.", c.ID)
		return []domain.Outgoing{post, dm(it.Owner, owner, "dm:"+key)}, nil
	}
	return nil, nil
}

// sendNotice enqueues the approved customer notice to every opted-in
// follower, or tells the owner why it did not go.
func (h *Campaigns) sendNotice(ctx context.Context, tx *store.DB, c domain.Campaign, it *domain.CampaignItem, at time.Time) ([]domain.Outgoing, error) {
	key := "campaign:" + strconv.FormatInt(c.ID, 10) + ":notice:" + strconv.FormatInt(it.Due.Unix(), 10)
	if !at.Before(c.Start) {
		ct := domain.Content{Title: fmt.Sprintf("The customer notice of %s was not sent", c.Name),
			Text: "The campaign had already started when the notice fell due; a 「明天…」 notice would be wrong now."}
		return []domain.Outgoing{dm(c.Owner, ct, "dm:late:"+key), h.post(ct, "post:late:"+key)}, nil
	}
	if c.NoticeApprovedBy == "" || strings.TrimSpace(c.Notice) == "" {
		ct := domain.Content{
			Title: fmt.Sprintf("The customer notice of %s is waiting for approval", c.Name),
			Text: fmt.Sprintf("It was due %s but %s has not approved it; it goes out as soon as it is approved, until the campaign starts (%s).",
				h.Clock.Format(it.Due), handlers.StaffMention(c.Owner), h.Clock.Format(c.Start)),
			Buttons: []domain.Button{{Label: "Approve", ActionID: ActionApprove, Value: strconv.FormatInt(c.ID, 10), Style: "primary"}},
			Note:    fmt.Sprintf("`campaign notice %d` shows the text.", c.ID),
		}
		post := ct
		post.Buttons = nil
		return []domain.Outgoing{dm(c.Owner, ct, "dm:unapproved:"+key), h.post(post, "post:unapproved:"+key)}, nil
	}
	n, err := tx.EnqueueCampaignNotice(ctx, c, domain.Content{Text: c.Notice + noticeFooter}, NoticeKind, at)
	if err != nil {
		return nil, err
	}
	it.DoneAt, it.DoneBy = at, domain.ActorBot
	h.Log.Info("Campaign notice queued", "campaign", c.ID, "customers", n)
	return []domain.Outgoing{h.post(domain.Content{
		Title: fmt.Sprintf("Customer notice of %s is going out", c.Name),
		Text:  fmt.Sprintf("Queued for %d opted-in followers. %s gets the tally when delivery ends.", n, handlers.StaffMention(c.Owner)),
	}, "post:"+key)}, nil
}

// tallies tells each owner how their notice went, once its delivery has
// ended (no message of its batch pending).
func (h *Campaigns) tallies(ctx context.Context) error {
	list, err := h.Store.NoticeTallies(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		t, err := h.Store.BatchTally(ctx, c.Batch())
		if err != nil {
			return err
		}
		if !t.Done() {
			continue
		}
		ct := domain.Content{
			Title: fmt.Sprintf("Customer notice of %s: delivery finished", c.Name),
			Fields: []domain.Field{
				{Label: "Sent", Value: strconv.Itoa(t.Sent)},
				{Label: "Unreachable", Value: strconv.Itoa(t.Unreachable)},
				{Label: "Failed", Value: strconv.Itoa(t.Failed)},
			},
			Note: "Unreachable: opted-in followers outside WeChat's 48-hour window with no subscription notice to fall back on. " +
				"`outbox failed` shows failures.",
		}
		key := "campaign:" + strconv.FormatInt(c.ID, 10) + ":tally"
		if _, err := h.Store.PostNoticeTally(ctx, c.ID, []domain.Outgoing{dm(c.Owner, ct, key)}); err != nil {
			return err
		}
	}
	return nil
}

// routines creates the campaigns of weekly routines for the next weeks,
// once each (a unique index on template and start backs the check).
func (h *Campaigns) routines(ctx context.Context, at time.Time) error {
	ts, err := h.Store.RepeatingTemplates(ctx)
	if err != nil {
		return err
	}
	horizon := at.AddDate(0, 0, 7*h.weeksAhead())
	for _, t := range ts {
		r := t.Repeat
		if r == nil || r.Owner == "" {
			continue
		}
		hh, mm, err := domain.ParseClock(r.Clock)
		if err != nil {
			continue
		}
		day := domain.Midnight(at, h.Clock.Loc)
		for i := 0; i <= 7*h.weeksAhead(); i++ {
			d := day.AddDate(0, 0, i)
			if d.Weekday() != r.Weekday {
				continue
			}
			start := time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, h.Clock.Loc)
			if !start.After(at) || start.After(horizon) {
				continue
			}
			exists, err := h.Store.RoutineCampaignExists(ctx, t.Name, start)
			if err != nil {
				return err
			}
			if exists {
				continue
			}
			end := domain.Midnight(start, h.Clock.Loc).AddDate(0, 0, 1)
			if r.Hours > 0 {
				end = start.Add(time.Duration(r.Hours) * time.Hour)
			}
			in := domain.CampaignCommand{Name: r.Name + "-" + start.Format("0102"), Start: start, End: end,
				Template: t.Name, Target: r.Target, Owner: r.Owner}
			if _, _, err := h.create(ctx, in, domain.ActorBot, true); err != nil && !errors.Is(err, domain.ErrConflict) {
				return err
			}
		}
	}
	return nil
}
