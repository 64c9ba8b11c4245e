package campaigns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// MaxNotice is the longest customer notice, in characters (a 客服消息 may
// hold more, but a notice people read is short).
const MaxNotice = 300

// Commands returns the staff commands of campaign prep.
func (h *Campaigns) Commands() []*bot.Command {
	return []*bot.Command{
		{Name: "campaign new", Role: domain.RoleAgent,
			Usage:       "campaign new <name> <YYYY-MM-DD HH:MM> [end <YYYY-MM-DD HH:MM>] [template=<t>] [target=<GMV yuan>] [owner=<user>]",
			Description: "Create a campaign with its checklist counted back from the start on the business calendar. In Slack, without arguments, opens a form.",
			Examples:    []string{"campaign new 双12 2026-12-12 10:00 template=major target=10000000", "campaign new 周五满减 2026-12-18 10:00 end 2026-12-18 22:00 template=weekly owner=@alice"},
			Run:         h.newCmd},
		{Name: "campaign list", Usage: "campaign list [all]", Role: domain.RoleAgent,
			Description: "List current campaigns (all: every campaign, cancelled ones too).",
			Examples:    []string{"campaign list", "campaign list all"}, Run: h.list},
		{Name: "campaign show", Usage: "campaign show <id>", Role: domain.RoleAgent,
			Description: "Show a campaign (by number or name) with its items, owners and due dates.",
			Examples:    []string{"campaign show 双12", "campaign show 3"}, Run: h.show},
		{Name: "campaign assign", Usage: "campaign assign <item> <user>", Role: domain.RoleAgent,
			Description: "Give a checklist item (its number, or campaign:place such as 双12:3) to someone; they are told by DM.",
			Examples:    []string{"campaign assign 12 @alice"}, Run: h.assign},
		{Name: "campaign done", Usage: "campaign done <item>", Role: domain.RoleAgent,
			Description: "Mark a checklist item finished (the Done button on reminders does the same); its pending reminders are cancelled.",
			Examples:    []string{"campaign done 12", "campaign done 双12:3"}, Run: h.doneCmd},
		{Name: "campaign cancel", Usage: "campaign cancel <id>", Role: domain.RoleAgent,
			Description: "Cancel a campaign: no more reminders, summaries or notice.",
			Examples:    []string{"campaign cancel 双12"}, Run: h.cancel},
		{Name: "campaign move", Usage: "campaign move <id> <YYYY-MM-DD HH:MM>", Role: domain.RoleAgent,
			Description: "Move a campaign to a new start: open items move with it and their owners are told; finished items stay.",
			Examples:    []string{"campaign move 双12 2026-12-13 10:00"}, Run: h.move},
		{Name: "campaign notice", Usage: "campaign notice <id> [text | approve]", Role: domain.RoleAgent,
			Description: "Show or set the T-1 customer notice; its owner approves it (`approve`, or the button) before it can go.",
			Examples:    []string{"campaign notice 双12", "campaign notice 双12 明天10点，双12活动正式开始，全场满300减50！", "campaign notice 双12 approve"},
			Run:         h.notice},
		{Name: "campaign pace", Usage: "campaign pace <id>", Role: domain.RoleAgent,
			Description: "GMV so far against the target, and the pace needed for the rest of the campaign.",
			Examples:    []string{"campaign pace 双12"}, Run: h.pace},
		{Name: "campaign review", Usage: "campaign review <id> [conclusions]", Role: domain.RoleAgent,
			Description: "Show the review (复盘) draft with the shop's numbers, or complete it with your conclusions (problems, actions, lessons).",
			Examples:    []string{"campaign review 双12", "campaign review 双12 流量达标但转化偏低：主会场加载慢。下次提前压测。"},
			Run:         h.review},
		{Name: "campaign template list", Usage: "campaign template list", Role: domain.RoleAgent,
			Description: "List the checklist templates.", Examples: []string{"campaign template list"}, Run: h.templateList},
		{Name: "campaign template show", Usage: "campaign template show <t>", Role: domain.RoleAgent,
			Description: "Show a template's items.", Examples: []string{"campaign template show major"}, Run: h.templateShow},
		{Name: "campaign template add", Role: domain.RoleAdmin,
			Usage:       "campaign template add <t> <offset> <title> [owner=<role|user>] [action=notice|review]",
			Description: "Add an item to a template (a new name makes a new template). Offsets: T-14, T-3wd (working days), T+2 (after the last day).",
			Examples:    []string{"campaign template add major T-7 直播彩排 Live-stream rehearsal owner=live", "campaign template add flash T-3wd 商品选品 owner=merchandising"},
			Run:         h.templateAdd},
		{Name: "campaign template remove", Usage: "campaign template remove <t> <item>", Role: domain.RoleAdmin,
			Description: "Remove the item at that number from a template (campaigns already created keep theirs).",
			Examples:    []string{"campaign template remove major 8"}, Run: h.templateRemove},
		{Name: "campaign template repeat", Role: domain.RoleAdmin,
			Usage:       "campaign template repeat <t> <weekday> <HH:MM> owner=<user> [name=<name>] [hours=<n>] [target=<GMV>] | campaign template repeat <t> off",
			Description: "Make a template a weekly routine: the next weeks' campaigns are created ahead automatically.",
			Examples:    []string{"campaign template repeat weekly mon 10:00 owner=@alice name=周一秒杀 hours=12", "campaign template repeat weekly off"},
			Run:         h.templateRepeat},
		{Name: "campaign role list", Usage: "campaign role list", Role: domain.RoleAgent,
			Description: "Show who fills the roles templates give items to (design, cs, merchandising…).",
			Examples:    []string{"campaign role list"}, Run: h.roleList},
		{Name: "campaign role set", Usage: "campaign role set <role> <user|none>", Role: domain.RoleAdmin,
			Description: "Say who fills a role for campaigns created from now on; a role nobody fills goes to the campaign's owner.",
			Examples:    []string{"campaign role set design @bob", "campaign role set cs none"}, Run: h.roleSet},
	}
}

// ruleMessage is a domain rule error's message as a sentence.
func ruleMessage(err error) string {
	s := err.Error()
	var re *domain.RuleError
	if errors.As(err, &re) {
		s = re.Msg
	}
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// campaignArg loads the campaign argument i names.
func (h *Campaigns) campaignArg(ctx context.Context, req *bot.Request) (domain.Campaign, error) {
	if req.Arg(0) == "" {
		return domain.Campaign{}, bot.Usagef("Say which campaign (its number or name; `campaign list` shows them).")
	}
	c, err := h.Store.Campaign(ctx, req.Arg(0))
	return c, h.notFound(req.Arg(0), err)
}

func (h *Campaigns) notFound(key string, err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Errorf("There is no campaign %s. `campaign list` shows them.", key)
	}
	return err
}

// update changes a campaign and turns errors into answers.
func (h *Campaigns) update(ctx context.Context, key string, fn func(c *domain.Campaign) ([]domain.Outgoing, error)) (domain.Campaign, error) {
	c, err := h.Store.UpdateCampaign(ctx, key, fn)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return c, bot.Errorf("There is no campaign %s. `campaign list` shows them.", key)
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrConflict):
		return c, bot.Errorf("%s", ruleMessage(err))
	}
	return c, err
}

func (h *Campaigns) newCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) == 0 {
		if req.Platform == domain.PlatformSlack {
			return bot.Reply{Modal: newModal()}, nil
		}
		return bot.Reply{}, bot.Usagef("Give the campaign a name and a start.")
	}
	in, err := domain.ParseCampaignNew(req.Args, h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	in.Owner = handlers.UserID(in.Owner)
	return h.createReply(ctx, req, in)
}

func (h *Campaigns) createReply(ctx context.Context, req *bot.Request, in domain.CampaignCommand) (bot.Reply, error) {
	c, unknown, err := h.create(ctx, in, req.UserID, false)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return bot.Reply{}, bot.Errorf("There is no template %q. `campaign template list` shows them.", in.Template)
	case errors.Is(err, domain.ErrConflict):
		return bot.Reply{}, bot.Errorf("A campaign named %s is already on; name this one differently or cancel that one.", in.Name)
	case err != nil:
		return bot.Reply{}, err
	}
	now := h.Clock.Time()
	rep := bot.Reply{Content: h.card(c, now)}
	rep.Title = "Created " + rep.Title
	var notes []string
	if unknown {
		notes = append(notes, "Some due dates fall in a year whose holidays are not known yet (`calendar show`): they skip weekends only.")
	}
	late := 0
	for _, it := range c.Items {
		if it.Overdue(now) {
			late++
		}
	}
	if late > 0 {
		notes = append(notes, fmt.Sprintf("%d item(s) were already past due when created; mark the finished ones with `campaign done <item>`.", late))
	}
	notes = append(notes, fmt.Sprintf("The customer notice is a draft: `campaign notice %d` to read, change and approve it.", c.ID))
	rep.Note = strings.Join(notes, " ")
	return rep, nil
}

func newModal() *bot.Modal {
	return &bot.Modal{CallbackID: ActionNew, Title: "New campaign", Submit: "Create",
		Inputs: []bot.Input{
			{ID: "name", Label: "Name (one word)", Placeholder: "双12"},
			{ID: "start", Label: "Start (YYYY-MM-DD HH:MM)", Placeholder: "2026-12-12 10:00"},
			{ID: "end", Label: "End (YYYY-MM-DD HH:MM; default: the end of the start day)", Optional: true},
			{ID: "template", Label: "Template", Initial: "major", Placeholder: "major"},
			{ID: "target", Label: "GMV target in yuan", Optional: true, Placeholder: "10000000 or 1000万"},
			{ID: "owner", Label: "Owner (Slack user ID; default: you)", Optional: true},
		}}
}

func formError(id, msg string) bot.Reply {
	rep := bot.Text(msg)
	rep.Errors = map[string]string{id: msg}
	return rep
}

func (h *Campaigns) newForm(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	f := req.Action.Form
	words := []string{strings.TrimSpace(f["name"])}
	for _, k := range []string{"template", "target", "owner"} {
		if v := strings.TrimSpace(f[k]); v != "" {
			words = append(words, k+"="+strings.ReplaceAll(v, " ", ""))
		}
	}
	start, err := domain.ParseStart(f["start"], h.Clock.Loc)
	if err != nil {
		return formError("start", ruleMessage(err)), nil
	}
	if v := strings.TrimSpace(f["end"]); v != "" {
		if _, err := domain.ParseStart(v, h.Clock.Loc); err != nil {
			return formError("end", ruleMessage(err)), nil
		}
		words = append(words, "end="+strings.Replace(v, " ", "T", 1))
	}
	words = append(words, "start="+start.Format("2006-01-02T15:04"))
	in, err := domain.ParseCampaignNew(words, h.Clock.Loc)
	if err != nil {
		return formError("name", ruleMessage(err)), nil
	}
	in.Owner = handlers.UserID(in.Owner)
	return h.createReply(ctx, req, in)
}

func (h *Campaigns) list(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	all := strings.EqualFold(req.Arg(0), "all")
	now := h.Clock.Time()
	list, err := h.Store.ListCampaigns(ctx, all, now, 50)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Campaigns"}}
	if len(list) == 0 {
		rep.Text = "None. `campaign new <name> <YYYY-MM-DD HH:MM> template=major` creates one."
		return rep, nil
	}
	for _, c := range list {
		line := fmt.Sprintf("%d · %s · %s · %s · owner %s · target %s", c.ID, c.Name, c.Template, h.countdown(c, now),
			handlers.StaffMention(c.Owner), targetText(c.Target))
		if c.State == domain.CampaignCancelled {
			line += " · cancelled"
		}
		rep.List = append(rep.List, line)
	}
	rep.Note = "`campaign show <id>` shows one with its checklist."
	return rep, nil
}

func (h *Campaigns) show(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	c, err := h.campaignArg(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Reply{Content: h.card(c, h.Clock.Time())}, nil
}

// itemCampaign finds the item named by s — its number (12, #12) or its
// place in a campaign's checklist (双12:3) — and its campaign.
func (h *Campaigns) itemCampaign(ctx context.Context, s string) (int64, string, error) {
	if key, pos, ok := strings.Cut(domain.FoldWidth(s), ":"); ok {
		n, err := strconv.Atoi(pos)
		if err != nil {
			return 0, "", bot.Usagef("%q is not an item: write its number (12) or campaign:place (双12:3).", s)
		}
		c, err := h.Store.Campaign(ctx, key)
		if err != nil {
			return 0, "", h.notFound(key, err)
		}
		for _, it := range c.Items {
			if it.Position == n {
				return it.ID, strconv.FormatInt(c.ID, 10), nil
			}
		}
		return 0, "", bot.Errorf("Campaign %s has no item %d; `campaign show %d` lists them.", c.Name, n, c.ID)
	}
	id, err := domain.ParseItemRef(s)
	if err != nil {
		return 0, "", bot.Usagef("%s", ruleMessage(err))
	}
	cid, err := h.Store.CampaignOfItem(ctx, id)
	if errors.Is(err, domain.ErrNotFound) {
		return 0, "", bot.Errorf("There is no item #%d. `campaign show <id>` lists a campaign's items.", id)
	}
	return id, strconv.FormatInt(cid, 10), err
}

func findItem(c *domain.Campaign, id int64) *domain.CampaignItem {
	for i := range c.Items {
		if c.Items[i].ID == id {
			return &c.Items[i]
		}
	}
	return nil
}

func (h *Campaigns) assign(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say which item and who takes it.")
	}
	id, key, err := h.itemCampaign(ctx, req.Arg(0))
	if err != nil {
		return bot.Reply{}, err
	}
	user := handlers.UserID(req.Arg(1))
	var it domain.CampaignItem
	c, err := h.update(ctx, key, func(c *domain.Campaign) ([]domain.Outgoing, error) {
		p := findItem(c, id)
		p.Owner = user
		it = *p
		if user == req.UserID || it.Done() {
			return nil, nil
		}
		return []domain.Outgoing{dm(user, domain.Content{
			Title: fmt.Sprintf("Campaign %s: %s is yours", c.Name, it.Title),
			Text: fmt.Sprintf("%s gave you item #%d (%s) of campaign %s, due %s.", handlers.StaffMention(req.UserID),
				it.ID, it.Offset, c.Name, h.dueText(it)),
			Buttons: []domain.Button{doneButton(it)},
		}, "")}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	msg := fmt.Sprintf("Item #%d (%s) of %s is now %s's; due %s.", it.ID, it.Title, c.Name,
		handlers.StaffMention(user), h.dueText(it))
	return bot.Text(msg + h.notStaff(ctx, user)), nil
}

// notStaff warns when someone given campaign work cannot use opsbot's
// buttons and commands: they are not on the staff list.
func (h *Campaigns) notStaff(ctx context.Context, user string) string {
	role, err := h.Store.StaffRole(ctx, user)
	if err != nil || role.IsStaff() {
		return ""
	}
	return fmt.Sprintf(" Note: %s is not on the staff list, so their Done button will not work until an admin runs `staff add %s agent`.",
		handlers.StaffMention(user), user)
}

func (h *Campaigns) doneCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if req.Arg(0) == "" {
		return bot.Reply{}, bot.Usagef("Say which item (its number, like 12).")
	}
	return h.done(ctx, req, req.Arg(0), false)
}

func (h *Campaigns) doneButton(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	return h.done(ctx, req, req.Action.Value, true)
}

// done marks an item finished; its pending reminders are cancelled by the
// same update (its next check time goes).
func (h *Campaigns) done(ctx context.Context, req *bot.Request, ref string, button bool) (bot.Reply, error) {
	id, key, err := h.itemCampaign(ctx, ref)
	if err != nil {
		return bot.Reply{}, err
	}
	now := h.Clock.Time()
	var it domain.CampaignItem
	was := false
	c, err := h.update(ctx, key, func(c *domain.Campaign) ([]domain.Outgoing, error) {
		p := findItem(c, id)
		if p.Done() {
			was = true
		} else {
			p.DoneAt, p.DoneBy = now, req.UserID
		}
		it = *p
		return nil, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	msg := fmt.Sprintf("Done: #%d %s (campaign %s), marked by %s.", it.ID, it.Title, c.Name, handlers.StaffMention(it.DoneBy))
	if was {
		msg = fmt.Sprintf("#%d %s (campaign %s) was already done (%s by %s).", it.ID, it.Title, c.Name,
			h.Clock.Format(it.DoneAt), handlers.StaffMention(it.DoneBy))
	} else if it.Late() {
		msg += " It was due " + h.dueText(it) + "."
	}
	rep := bot.Text(msg)
	rep.Update = button
	return rep, nil
}

func (h *Campaigns) cancel(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if req.Arg(0) == "" {
		return bot.Reply{}, bot.Usagef("Say which campaign.")
	}
	c, err := h.update(ctx, req.Arg(0), func(c *domain.Campaign) ([]domain.Outgoing, error) {
		if c.State == domain.CampaignCancelled {
			return nil, domain.Conflictf("%s is already cancelled", c.Name)
		}
		if !c.NoticeSentAt.IsZero() {
			return nil, domain.Conflictf("the customer notice of %s has gone out already; tell customers yourself before cancelling it", c.Name)
		}
		c.State, c.NextSummary = domain.CampaignCancelled, time.Time{}
		return []domain.Outgoing{h.post(domain.Content{
			Title: fmt.Sprintf("Campaign %s cancelled", c.Name),
			Text:  fmt.Sprintf("Cancelled by %s: no more reminders, summaries or customer notice.", handlers.StaffMention(req.UserID)),
		}, "")}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text(fmt.Sprintf("Campaign %s is cancelled; its reminders, summaries and notice are off.", c.Name)), nil
}

func (h *Campaigns) move(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say which campaign and its new start, such as 2026-12-13 10:00.")
	}
	start, err := domain.ParseStart(strings.Join(req.Args[1:], " "), h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	cal, err := h.calendar(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	now := h.Clock.Time()
	moved, kept := 0, 0
	var old time.Time
	c, err := h.update(ctx, req.Arg(0), func(c *domain.Campaign) ([]domain.Outgoing, error) {
		if c.State != domain.CampaignActive {
			return nil, domain.Conflictf("%s is cancelled", c.Name)
		}
		if start.Equal(c.Start) {
			return nil, domain.Invalidf("%s already starts %s", c.Name, h.Clock.Format(start))
		}
		old = c.Start
		delta := start.Sub(c.Start)
		c.Start, c.End = start, c.End.Add(delta)
		changes := map[string][]string{}
		var owners []string
		for i := range c.Items {
			it := &c.Items[i]
			if it.Done() || (it.Action == domain.ActionNotice && !c.NoticeSentAt.IsZero()) {
				kept++
				continue
			}
			before := it.Due
			it.Schedule(c.Start, c.End, cal)
			if it.Due.Equal(before) {
				continue
			}
			moved++
			if _, seen := changes[it.Owner]; !seen {
				owners = append(owners, it.Owner)
			}
			changes[it.Owner] = append(changes[it.Owner], fmt.Sprintf("#%d %s: %s → %s", it.ID, it.Title,
				h.dueFor(*it, before), h.dueText(*it)))
		}
		c.NextSummary = c.NextSummaryAfter(now, cal)
		var msgs []domain.Outgoing
		for _, o := range owners {
			msgs = append(msgs, dm(o, domain.Content{
				Title: fmt.Sprintf("Campaign %s moved to %s", c.Name, h.Clock.Format(c.Start)),
				Text:  fmt.Sprintf("%s moved campaign %s. Your items' new due dates:", handlers.StaffMention(req.UserID), c.Name),
				List:  changes[o],
			}, ""))
		}
		msgs = append(msgs, h.post(domain.Content{
			Title: fmt.Sprintf("Campaign %s moved: %s → %s", c.Name, h.Clock.Format(old), h.Clock.Format(c.Start)),
			Text:  fmt.Sprintf("Moved by %s; %d open item(s) moved with it, their owners were told.", handlers.StaffMention(req.UserID), moved),
		}, ""))
		return msgs, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: h.card(c, now)}
	rep.Title = fmt.Sprintf("Moved %s from %s to %s", c.Name, h.Clock.Format(old), h.Clock.Format(c.Start))
	rep.Text = fmt.Sprintf("%d open item(s) moved and their owners were told; %d finished item(s) stay as they were.", moved, kept)
	return rep, nil
}

// dueFor shows an item's earlier due time the way dueText shows due times.
func (h *Campaigns) dueFor(it domain.CampaignItem, due time.Time) string {
	it.Due = due
	return h.dueText(it)
}

func (h *Campaigns) notice(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	c, err := h.campaignArg(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	arg := strings.TrimSpace(req.Tail(1))
	switch {
	case arg == "":
		return h.showNotice(ctx, c)
	case strings.EqualFold(arg, "approve"):
		return h.approve(ctx, req, strconv.FormatInt(c.ID, 10), false)
	}
	text, cut := domain.CleanText(arg, MaxNotice)
	if cut {
		return bot.Reply{}, bot.Errorf("The notice is longer than %d characters; customers read short notices.", MaxNotice)
	}
	c, err = h.update(ctx, strconv.FormatInt(c.ID, 10), func(c *domain.Campaign) ([]domain.Outgoing, error) {
		if !c.NoticeSentAt.IsZero() {
			return nil, domain.Conflictf("the notice of %s has gone out already", c.Name)
		}
		c.Notice, c.NoticeApprovedBy, c.NoticeApprovedAt = text, "", time.Time{}
		if c.Owner == req.UserID {
			return nil, nil
		}
		return []domain.Outgoing{dm(c.Owner, h.approvalRequest(*c, req.UserID), "")}, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	if c.Owner == req.UserID {
		rep := bot.Reply{Content: h.approvalRequest(c, req.UserID)}
		rep.Title = "Notice saved: approve it to let it go"
		return rep, nil
	}
	return bot.Text(fmt.Sprintf("Notice of %s saved; %s (the owner) was asked to approve it.", c.Name, handlers.StaffMention(c.Owner))), nil
}

func (h *Campaigns) approvalRequest(c domain.Campaign, by string) domain.Content {
	return domain.Content{
		Title: fmt.Sprintf("Approve the customer notice of %s?", c.Name),
		Text:  handlers.Quote(c.Notice + noticeFooter),
		Fields: []domain.Field{
			{Label: "Goes out", Value: h.noticeTime(c)},
			{Label: "Written by", Value: handlers.StaffMention(by)},
		},
		Buttons: []domain.Button{{Label: "Approve", ActionID: ActionApprove, Value: strconv.FormatInt(c.ID, 10), Style: "primary"}},
		Note:    fmt.Sprintf("Only customers who opted in (订阅活动) get it. Or type `campaign notice %d approve`.", c.ID),
	}
}

func (h *Campaigns) noticeTime(c domain.Campaign) string {
	for _, it := range c.Items {
		if it.Action == domain.ActionNotice {
			return h.Clock.Format(it.Due)
		}
	}
	return "never (the template has no notice item)"
}

func (h *Campaigns) showNotice(ctx context.Context, c domain.Campaign) (bot.Reply, error) {
	n, err := h.Store.CampaignOptIns(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	ct := domain.Content{
		Title: fmt.Sprintf("Customer notice of %s", c.Name),
		Text:  handlers.Quote(c.Notice + noticeFooter),
		Fields: []domain.Field{
			{Label: "State", Value: noticeState(c)},
			{Label: "Goes out", Value: h.noticeTime(c)},
			{Label: "Opted-in followers now", Value: strconv.Itoa(n)},
		},
		Note: fmt.Sprintf("`campaign notice %d <text>` changes it (approval is needed again); `campaign notice %d approve` approves it (owner only).", c.ID, c.ID),
	}
	if c.NoticeApprovedBy == "" && c.NoticeSentAt.IsZero() {
		ct.Buttons = []domain.Button{{Label: "Approve", ActionID: ActionApprove, Value: strconv.FormatInt(c.ID, 10), Style: "primary"}}
	}
	return bot.Reply{Content: ct}, nil
}

func (h *Campaigns) approveButton(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	return h.approve(ctx, req, req.Action.Value, true)
}

// approve records the owner's approval of the notice text. An approval
// after the notice's time (before the start) lets the job send it at its
// next run.
func (h *Campaigns) approve(ctx context.Context, req *bot.Request, key string, button bool) (bot.Reply, error) {
	now := h.Clock.Time()
	c, err := h.update(ctx, key, func(c *domain.Campaign) ([]domain.Outgoing, error) {
		if c.Owner != req.UserID && req.Role < domain.RoleAdmin {
			return nil, domain.Conflictf("only the campaign's owner (%s) or an admin can approve its notice", handlers.StaffMention(c.Owner))
		}
		if !c.NoticeSentAt.IsZero() {
			return nil, domain.Conflictf("the notice of %s has gone out already", c.Name)
		}
		if strings.TrimSpace(c.Notice) == "" {
			return nil, domain.Invalidf("the notice of %s is empty; write it first", c.Name)
		}
		c.NoticeApprovedBy, c.NoticeApprovedAt = req.UserID, now
		for i := range c.Items {
			it := &c.Items[i]
			if it.Action == domain.ActionNotice && !it.Done() && !it.Acted.IsZero() && now.Before(c.Start) {
				it.Acted = time.Time{} // it was due and not approved: send at the next run
			}
		}
		return nil, nil
	})
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Text(fmt.Sprintf("Notice of %s approved by %s; it goes out %s to the customers who opted in.", c.Name,
		handlers.StaffMention(req.UserID), h.noticeTime(c)))
	rep.Update = button
	return rep, nil
}
