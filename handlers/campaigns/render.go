package campaigns

import (
	"fmt"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// day shows a due date to staff: "Fri 2026-11-27".
func (h *Campaigns) day(t time.Time) string {
	return t.In(h.Clock.Loc).Format("Mon 2006-01-02")
}

// dueText shows when an item is due: the day, and the hour for automatic
// items, which happen at a time.
func (h *Campaigns) dueText(it domain.CampaignItem) string {
	if it.Action == domain.ActionNotice {
		return it.Due.In(h.Clock.Loc).Format("Mon 2006-01-02 15:04")
	}
	return h.day(it.Due)
}

func actionNote(a domain.CampaignAction) string {
	switch a {
	case domain.ActionNotice:
		return " [automatic: customer notice]"
	case domain.ActionReview:
		return " [review draft posted automatically]"
	}
	return ""
}

// itemLine is one checklist line: "#12 T-14 商品选品 — @owner — due Fri
// 2026-11-27 — done".
func (h *Campaigns) itemLine(it domain.CampaignItem, now time.Time) string {
	state := "open"
	switch {
	case it.Late():
		state = "done late " + h.Clock.Format(it.DoneAt)
	case it.Done():
		state = "done ✓"
	case it.Overdue(now):
		state = "OVERDUE"
	}
	return fmt.Sprintf("#%d %s %s%s — %s — due %s — %s", it.ID, it.Offset, it.Title, actionNote(it.Action),
		handlers.StaffMention(it.Owner), h.dueText(it), state)
}

func targetText(fen int64) string {
	if fen <= 0 {
		return "—"
	}
	return domain.Yuan(fen)
}

// card shows a campaign with its checklist.
func (h *Campaigns) card(c domain.Campaign, now time.Time) domain.Content {
	ct := domain.Content{
		Title: fmt.Sprintf("Campaign %d · %s", c.ID, c.Name),
		Fields: []domain.Field{
			{Label: "Starts", Value: h.Clock.Format(c.Start)},
			{Label: "Ends", Value: h.Clock.Format(c.End)},
			{Label: "GMV target", Value: targetText(c.Target)},
			{Label: "Owner", Value: handlers.StaffMention(c.Owner)},
			{Label: "Template", Value: c.Template},
			{Label: "Customer notice", Value: noticeState(c)},
		},
	}
	if c.State == domain.CampaignCancelled {
		ct.Fields = append(ct.Fields, domain.Field{Label: "State", Value: "cancelled"})
	}
	for _, it := range c.Items {
		ct.List = append(ct.List, h.itemLine(it, now))
	}
	ct.Note = fmt.Sprintf("`campaign done <item>` when an item is finished · `campaign assign <item> <user>` · `campaign notice %d` · `campaign move %d <new start>`", c.ID, c.ID)
	return ct
}

func noticeState(c domain.Campaign) string {
	switch {
	case !c.NoticeSentAt.IsZero():
		return fmt.Sprintf("sent to %d opted-in customers", c.NoticeQueued)
	case c.NoticeApprovedBy != "":
		return "approved by " + handlers.StaffMention(c.NoticeApprovedBy)
	}
	return "draft, waiting for the owner's approval"
}

// dm is a direct message to a member of staff.
func dm(to string, ct domain.Content, key string) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: to, Content: ct, DedupeKey: key}
}

// post is a message in the campaigns channel.
func (h *Campaigns) post(ct domain.Content, key string) domain.Outgoing {
	return domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutPost, To: h.Channels.Campaigns, Content: ct, DedupeKey: key}
}

func itemKey(it domain.CampaignItem, ev domain.ItemEvent) string {
	return "campaign-item:" + strconv.FormatInt(it.ID, 10) + ":" + string(ev) + ":" + strconv.FormatInt(it.Due.Unix(), 10)
}

func doneButton(it domain.CampaignItem) domain.Button {
	return domain.Button{Label: "Done", ActionID: ActionDone, Value: strconv.FormatInt(it.ID, 10), Style: "primary"}
}

// reminder is the DM an item's owner gets before it falls due.
func (h *Campaigns) reminder(c domain.Campaign, it domain.CampaignItem, ev domain.ItemEvent) domain.Outgoing {
	when := "is due " + h.day(it.Due)
	if ev == domain.EventRemindDay {
		when = "is due today, " + h.Clock.Format(it.Due)
	}
	ct := domain.Content{
		Title: fmt.Sprintf("Campaign %s: %s %s", c.Name, it.Title, when),
		Text: fmt.Sprintf("You own item #%d (%s) of campaign %s, which starts %s.", it.ID, it.Offset, c.Name,
			h.Clock.Format(c.Start)),
		Buttons: []domain.Button{doneButton(it)},
		Note:    fmt.Sprintf("Press Done or type `campaign done %d` when it is finished; `campaign show %d` shows the whole checklist.", it.ID, c.ID),
	}
	return dm(it.Owner, ct, itemKey(it, ev))
}

// weekSummary is the morning summary of a campaign: what is due this week
// (Monday to Sunday), what is late.
func (h *Campaigns) weekSummary(c domain.Campaign, now time.Time) domain.Content {
	week := domain.Week(now, h.Clock.Loc)
	ct := domain.Content{Title: fmt.Sprintf("Campaign %s · %s", c.Name, h.countdown(c, now))}
	var due, late []string
	done := 0
	for _, it := range c.Items {
		switch {
		case it.Done():
			done++
		case it.Overdue(now):
			late = append(late, h.itemLine(it, now))
		case it.Due.Before(week.To):
			due = append(due, h.itemLine(it, now))
		}
	}
	ct.Fields = []domain.Field{
		{Label: "Done", Value: fmt.Sprintf("%d of %d", done, len(c.Items))},
		{Label: "Late", Value: strconv.Itoa(len(late))},
		{Label: "Due this week", Value: strconv.Itoa(len(due))},
	}
	if len(late) > 0 {
		ct.List = append(ct.List, "Late:")
		ct.List = append(ct.List, late...)
	}
	if len(due) > 0 {
		ct.List = append(ct.List, "Due this week:")
		ct.List = append(ct.List, due...)
	}
	if len(late)+len(due) == 0 {
		ct.Text = "Nothing due this week and nothing late."
	}
	ct.Note = fmt.Sprintf("`campaign show %d` for the whole checklist.", c.ID)
	return ct
}

// countdown says where the campaign is in time: "starts 2026-12-12 10:00
// (in 8 days)", "running until …", "ended …".
func (h *Campaigns) countdown(c domain.Campaign, now time.Time) string {
	switch {
	case now.Before(c.Start):
		days := int(domain.Midnight(c.Start, h.Clock.Loc).Sub(domain.Midnight(now, h.Clock.Loc)).Hours()/24 + 0.5)
		return fmt.Sprintf("starts %s, T-%d", h.Clock.Format(c.Start), days)
	case now.Before(c.End):
		return "running until " + h.Clock.Format(c.End)
	}
	return "ended " + h.Clock.Format(c.End)
}
