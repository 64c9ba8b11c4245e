package campaigns

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

func repeatText(r *domain.Repeat) string {
	if r == nil {
		return ""
	}
	s := fmt.Sprintf("every %s %s as %s, owner %s", r.Weekday, r.Clock, r.Name, handlers.StaffMention(r.Owner))
	if r.Hours > 0 {
		s += fmt.Sprintf(", %dh", r.Hours)
	}
	if r.Target > 0 {
		s += ", target " + domain.Yuan(r.Target)
	}
	return s
}

func (h *Campaigns) templateList(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	ts, err := h.Store.CampaignTemplates(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Campaign templates",
		Note: "`campaign template show <t>` lists a template's items."}}
	for _, t := range ts {
		line := fmt.Sprintf("%s — %d items", t.Name, len(t.Items))
		if t.Description != "" {
			line += " — " + t.Description
		}
		if t.Repeat != nil {
			line += " — repeats " + repeatText(t.Repeat)
		}
		rep.List = append(rep.List, line)
	}
	if len(ts) == 0 {
		rep.Text = "None."
	}
	return rep, nil
}

func (h *Campaigns) template(ctx context.Context, name string) (domain.CampaignTemplate, error) {
	t, err := h.Store.CampaignTemplate(ctx, strings.ToLower(name))
	if errors.Is(err, domain.ErrNotFound) {
		return t, bot.Errorf("There is no template %q. `campaign template list` shows them.", name)
	}
	return t, err
}

func templateItemLine(it domain.TemplateItem) string {
	own := it.Owner
	if own == domain.OwnerCampaign || own == "" {
		own = "campaign owner"
	} else if isUserID(own) {
		own = handlers.StaffMention(own)
	}
	return fmt.Sprintf("%d. %s %s — %s%s", it.Position, it.Offset, it.Title, own, actionNote(it.Action))
}

func (h *Campaigns) templateShow(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if req.Arg(0) == "" {
		return bot.Reply{}, bot.Usagef("Say which template.")
	}
	t, err := h.template(ctx, req.Arg(0))
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Template " + t.Name, Text: t.Description,
		Note: "T-n counts back from the start day, T+n on from the last day; wd means working days. " +
			"A due date on a non-working day moves to the working day before."}}
	if t.Repeat != nil {
		rep.Fields = []domain.Field{{Label: "Repeats", Value: repeatText(t.Repeat)}}
	}
	for _, it := range t.Items {
		rep.List = append(rep.List, templateItemLine(it))
	}
	return rep, nil
}

func (h *Campaigns) templateAdd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 3 {
		return bot.Reply{}, bot.Usagef("Say the template, the offset (T-14, T-3wd, T+2) and the item's title.")
	}
	name := strings.ToLower(req.Arg(0))
	if err := domain.ValidCampaignName(name); err != nil || strings.ContainsAny(name, "/:") {
		return bot.Reply{}, bot.Usagef("%q is not a template name: one word, such as major.", req.Arg(0))
	}
	off, err := domain.ParseOffset(req.Arg(1))
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	it := domain.TemplateItem{Template: name, Offset: off, Owner: domain.OwnerCampaign}
	var title []string
	for _, w := range req.Args[2:] {
		k, v, ok := strings.Cut(w, "=")
		switch {
		case ok && strings.EqualFold(k, "owner"):
			it.Owner = strings.ToLower(strings.TrimSpace(v))
			if u := handlers.UserID(v); isUserID(u) {
				it.Owner = u
			}
		case ok && strings.EqualFold(k, "action"):
			if it.Action, err = domain.ParseCampaignAction(v); err != nil {
				return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
			}
		default:
			title = append(title, w)
		}
	}
	it.Title, _ = domain.CleanText(strings.Join(title, " "), 120)
	if it.Title == "" {
		return bot.Reply{}, bot.Usagef("Give the item a title.")
	}
	it, err = h.Store.AddTemplateItem(ctx, it, req.UserID)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Added to %s: %s. Campaigns created from now on get it.", name, templateItemLine(it))), nil
}

func (h *Campaigns) templateRemove(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the template and the item's number (`campaign template show <t>`).")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(req.Arg(1), "#"))
	if err != nil {
		return bot.Reply{}, bot.Usagef("%q is not an item number; `campaign template show %s` numbers them.", req.Arg(1), req.Arg(0))
	}
	it, err := h.Store.RemoveTemplateItem(ctx, strings.ToLower(req.Arg(0)), n)
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Reply{}, bot.Errorf("Template %s has no item %d.", req.Arg(0), n)
	}
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Removed from %s: %s. Campaigns already created keep it.", it.Template, templateItemLine(it))), nil
}

func (h *Campaigns) templateRepeat(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the template and a weekday and time, or off.")
	}
	t, err := h.template(ctx, req.Arg(0))
	if err != nil {
		return bot.Reply{}, err
	}
	if strings.EqualFold(req.Arg(1), "off") {
		if err := h.Store.SetTemplateRepeat(ctx, t.Name, nil, req.UserID); err != nil {
			return bot.Reply{}, err
		}
		return bot.Text(fmt.Sprintf("%s no longer repeats; campaigns already created stay.", t.Name)), nil
	}
	if len(req.Args) < 3 {
		return bot.Reply{}, bot.Usagef("Say the weekday and the time, such as mon 10:00.")
	}
	wd, err := domain.ParseWeekday(req.Arg(1))
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	hh, mm, err := domain.ParseClock(req.Arg(2))
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	r := &domain.Repeat{Weekday: wd, Clock: fmt.Sprintf("%02d:%02d", hh, mm), Name: t.Name}
	for _, w := range req.Args[3:] {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			return bot.Reply{}, bot.Usagef("`%s` should be key=value (owner=, name=, hours=, target=).", w)
		}
		switch strings.ToLower(k) {
		case "owner":
			r.Owner = handlers.UserID(v)
		case "name":
			if err := domain.ValidCampaignName(v); err != nil {
				return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
			}
			r.Name = v
		case "hours":
			if r.Hours, err = strconv.Atoi(v); err != nil || r.Hours < 1 || r.Hours > 24*7 {
				return bot.Reply{}, bot.Usagef("hours= takes a number of hours from 1 to 168.")
			}
		case "target":
			if r.Target, err = domain.ParseTarget(v); err != nil {
				return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
			}
		default:
			return bot.Reply{}, bot.Usagef("Unknown setting `%s`: use owner=, name=, hours= and target=.", k)
		}
	}
	if r.Owner == "" {
		return bot.Reply{}, bot.Usagef("Say who owns the routine's campaigns: owner=@someone.")
	}
	if err := h.Store.SetTemplateRepeat(ctx, t.Name, r, req.UserID); err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("%s now repeats %s; the next %d weeks' campaigns are created at the next run of campaign-remind.",
		t.Name, repeatText(r), h.weeksAhead())), nil
}

func (h *Campaigns) weeksAhead() int {
	if h.WeeksAhead <= 0 {
		return 2
	}
	return h.WeeksAhead
}

func (h *Campaigns) roleList(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	roles, err := h.Store.CampaignRoles(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Campaign roles",
		Note: "Template items name a role (or a person); a role nobody fills goes to the campaign's owner. `campaign role set <role> <user>`."}}
	names := make([]string, 0, len(roles))
	for r := range roles {
		names = append(names, r)
	}
	sort.Strings(names)
	for _, r := range names {
		rep.List = append(rep.List, r+" — "+handlers.StaffMention(roles[r]))
	}
	if len(names) == 0 {
		rep.Text = "Nobody set yet: every item goes to its campaign's owner."
	}
	return rep, nil
}

func (h *Campaigns) roleSet(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the role and the person (or none).")
	}
	role := strings.ToLower(req.Arg(0))
	user := handlers.UserID(req.Arg(1))
	if strings.EqualFold(user, "none") {
		user = ""
	}
	if err := h.Store.SetCampaignRole(ctx, role, user, req.UserID); err != nil {
		return bot.Reply{}, err
	}
	if user == "" {
		return bot.Text(fmt.Sprintf("Nobody fills %s now: its items go to the campaign's owner.", role)), nil
	}
	return bot.Text(fmt.Sprintf("%s fills %s for campaigns created from now on.", handlers.StaffMention(user), role) +
		h.notStaff(ctx, user)), nil
}
