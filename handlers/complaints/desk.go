package complaints

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// perPage is how many complaints a list or find page shows.
const perPage = 25

func (h *Complaints) list(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	q, err := domain.ParseComplaintQuery(req.Args, h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", ruleMessage(err))
	}
	return h.listPage(ctx, req, q)
}

// moreAction is the More button under a list: its value is the list's
// words with the next page.
func (h *Complaints) moreAction(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	q, err := domain.ParseComplaintQuery(strings.Fields(req.Action.Value), h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Errorf("That button is out of date: %s", ruleMessage(err))
	}
	return h.listPage(ctx, req, q)
}

var listTitles = map[domain.ComplaintFilter]string{
	domain.FilterOpen: "Open complaints", domain.FilterMine: "Your open complaints",
	domain.FilterOverdue: "Overdue complaints", domain.FilterAtRisk: "Complaints at risk",
	domain.FilterAll: "All complaints",
}

func (h *Complaints) listPage(ctx context.Context, req *bot.Request, q domain.ComplaintQuery) (bot.Reply, error) {
	now := h.Clock.Time()
	list, total, err := h.Store.ListComplaints(ctx, q, req.UserID, now, perPage)
	if err != nil {
		return bot.Reply{}, err
	}
	title := listTitles[q.Filter]
	var narrow []string
	if q.Category != "" {
		narrow = append(narrow, q.Category.Label())
	}
	switch q.Assignee {
	case "":
	case "none":
		narrow = append(narrow, "unclaimed")
	case "me":
		narrow = append(narrow, "claimed by you")
	default:
		narrow = append(narrow, "claimed by "+handlers.StaffMention(q.Assignee))
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		from, to := "…", "…"
		if !q.From.IsZero() {
			from = q.From.In(h.Clock.Loc).Format("2006-01-02")
		}
		if !q.To.IsZero() {
			to = q.To.In(h.Clock.Loc).AddDate(0, 0, -1).Format("2006-01-02")
		}
		narrow = append(narrow, "created "+from+" to "+to)
	}
	if len(narrow) > 0 {
		title += " · " + strings.Join(narrow, " · ")
	}
	rep := bot.Reply{Content: domain.Content{Title: title}}
	pages := (total + perPage - 1) / perPage
	switch {
	case total == 0:
		rep.Text = "None."
		return rep, nil
	case len(list) == 0:
		rep.Text = fmt.Sprintf("Page %d is past the end: there are %d, on %d page(s).", q.Page, total, pages)
		return rep, nil
	}
	for _, c := range list {
		rep.List = append(rep.List, h.listLine(c, now))
	}
	first := (q.Page-1)*perPage + 1
	order := "soonest due first"
	if q.Filter == domain.FilterAll {
		order = "newest first"
	}
	rep.Note = fmt.Sprintf("%d–%d of %d, %s (page %d of %d).", first, first+len(list)-1, total, order, q.Page, pages)
	if q.Page < pages {
		next := q
		next.Page++
		words := strings.Join(next.Args(h.Clock.Loc), " ")
		rep.Note += fmt.Sprintf(" More: `complaint list %s`.", words)
		rep.Buttons = []domain.Button{{Label: fmt.Sprintf("More (page %d)", next.Page), ActionID: ActionMore, Value: words}}
	} else {
		rep.Note += " `complaint show <ID>` shows one in full."
	}
	return rep, nil
}

// findMoreAction is the More button under search results: its value is
// the search's words with the next page.
func (h *Complaints) findMoreAction(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	return h.search(ctx, strings.Fields(req.Action.Value))
}

func (h *Complaints) find(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	return h.search(ctx, req.Args)
}

func (h *Complaints) search(ctx context.Context, args []string) (bot.Reply, error) {
	page := 1
	var words []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(strings.ToLower(a), "page="); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bot.Reply{}, bot.Usagef("`%s` is not a page (page=2).", a)
			}
			page = n
			continue
		}
		words = append(words, a)
	}
	if len(words) == 0 {
		return bot.Reply{}, bot.Usagef("Say what to look for: an order number, a phone, an OpenID, a complaint number or words of the complaint.")
	}
	list, total, err := h.Store.FindComplaints(ctx, words, page, perPage)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Complaints matching " + strings.Join(words, " ")}}
	if total == 0 {
		rep.Text = "None found. Words match inside the text (杯子 finds 收到的杯子碎了); numbers match order numbers, phones and complaint numbers."
		return rep, nil
	}
	now := h.Clock.Time()
	for _, c := range list {
		rep.List = append(rep.List, h.listLine(c, now))
	}
	if len(list) == 0 {
		rep.Text = fmt.Sprintf("Page %d is past the end: %d found.", page, total)
		return rep, nil
	}
	first := (page-1)*perPage + 1
	rep.Note = fmt.Sprintf("%d–%d of %d, newest first.", first, first+len(list)-1, total)
	if first+len(list)-1 < total {
		more := strings.Join(words, " ") + fmt.Sprintf(" page=%d", page+1)
		rep.Note += fmt.Sprintf(" More: `complaint find %s`.", more)
		rep.Buttons = []domain.Button{{Label: fmt.Sprintf("More (page %d)", page+1), ActionID: ActionFindMore, Value: more}}
	}
	return rep, nil
}

func (h *Complaints) show(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if req.Arg(0) == "" {
		return bot.Reply{}, bot.Usagef("Say which complaint (its number, like TS-20261122-0001, or its order number).")
	}
	if len(req.Args) > 1 {
		return bot.Reply{}, bot.Usagef("Give one complaint or order number; `complaint find` searches by words.")
	}
	n, err := domain.ParseComplaintNumber(req.Arg(0))
	if err != nil {
		// Not a complaint number: maybe the order it is about.
		order := strings.TrimSpace(domain.FoldWidth(req.Arg(0)))
		list, ferr := h.Store.ComplaintsByOrder(ctx, order, perPage+1)
		if ferr != nil {
			return bot.Reply{}, ferr
		}
		switch len(list) {
		case 0:
			return bot.Reply{}, bot.Usagef("`%s` is not a complaint number (they look like TS-20261122-0001) nor the order number of any complaint. `complaint find %s` searches everything.", req.Arg(0), req.Arg(0))
		case 1:
			n = list[0].Number
		default:
			rep := bot.Reply{Content: domain.Content{Title: fmt.Sprintf("Complaints about order %s", order),
				Note: "Several complaints are about this order: `complaint show <ID>` shows one."}}
			now := h.Clock.Time()
			for i, c := range list {
				if i == perPage {
					break
				}
				rep.List = append(rep.List, h.listLine(c, now))
			}
			return rep, nil
		}
	}
	c, err := h.Store.Complaint(ctx, n)
	if err != nil {
		return bot.Reply{}, h.notFound(n, err)
	}
	events, err := h.Store.ComplaintEvents(ctx, c.ID)
	if err != nil {
		return bot.Reply{}, err
	}
	card := h.slackCard(c)
	card.Text = handlers.Quote(c.Text)
	card.Fields[1].Value = customerLine(c, false)
	card.Fields = append(card.Fields, domain.Field{Label: "Logged", Value: h.Clock.Format(c.CreatedAt) + " " + sourceLabel(string(c.Source))})
	card.Note = ""
	for _, e := range events {
		line := fmt.Sprintf("%s  %s by %s", h.Clock.Format(e.At), e.Kind.Label(), actorName(c, e.Actor))
		switch e.Kind {
		case domain.EventWarned, domain.EventBreached:
			clock, _, _ := strings.Cut(e.Detail, " ")
			line = fmt.Sprintf("%s  %s: %s deadline", h.Clock.Format(e.At), e.Kind.Label(), clockName(domain.SLAClock(clock)))
		case domain.EventCreated:
			line += " " + sourceLabel(e.Detail)
		case domain.EventCustomerMessage:
			line = fmt.Sprintf("%s  %s: %s", h.Clock.Format(e.At), e.Kind.Label(), handlers.Excerpt(e.Detail, 200))
		default:
			if e.Detail != "" {
				line += ": " + handlers.Excerpt(e.Detail, 200)
			}
		}
		card.List = append(card.List, line)
	}
	return bot.Reply{Content: card}, nil
}

// statsPeriod reads `complaint stats` periods: today (default),
// yesterday, week (the last 7 days), month (this month so far), YYYY-MM,
// a day, or DATE..DATE (both days included). A period that starts in the
// future is refused.
func (h *Complaints) statsPeriod(arg string, now time.Time) (from, to time.Time, name string, err error) {
	loc := h.Clock.Loc
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day := func(s string) (time.Time, error) {
		for _, layout := range []string{"2006-01-02", "2006/01/02", "20060102", "2006-1-2"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
		return time.Time{}, bot.Usagef("`%s` is not a date; write 2026-11-22.", s)
	}
	a := strings.ToLower(strings.TrimSpace(arg))
	switch {
	case a == "" || a == "today":
		from, to, name = today, today.AddDate(0, 0, 1), "today"
	case a == "yesterday":
		from, to, name = today.AddDate(0, 0, -1), today, "yesterday"
	case a == "week":
		from, to, name = today.AddDate(0, 0, -6), today.AddDate(0, 0, 1), "the last 7 days"
	case a == "month":
		from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		to, name = from.AddDate(0, 1, 0), "this month so far"
	case strings.Contains(a, ".."):
		f, t, _ := strings.Cut(a, "..")
		if from, err = day(strings.TrimSpace(f)); err != nil {
			return
		}
		var last time.Time
		if last, err = day(strings.TrimSpace(t)); err != nil {
			return
		}
		if last.Before(from) {
			return from, to, "", bot.Usagef("The period ends before it starts.")
		}
		to = last.AddDate(0, 0, 1)
		name = from.Format("2006-01-02") + " to " + last.Format("2006-01-02")
	default:
		if m, merr := time.ParseInLocation("2006-01", a, loc); merr == nil {
			from, to, name = m, m.AddDate(0, 1, 0), m.Format("2006-01")
			break
		}
		if from, err = day(a); err != nil {
			return from, to, "", bot.Usagef("Say which period: today, yesterday, week, month, a month (2026-11), a day (2026-11-22) or DATE..DATE.")
		}
		to, name = from.AddDate(0, 0, 1), from.Format("2006-01-02")
	}
	if from.After(now) {
		return from, to, "", bot.Errorf("%s has not happened yet; there is nothing to count.", name)
	}
	return from, to, name, nil
}

func (h *Complaints) stats(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) > 1 {
		return bot.Reply{}, bot.Usagef("Give one period (DATE..DATE without spaces).")
	}
	now := h.Clock.Time()
	from, to, name, err := h.statsPeriod(req.Arg(0), now)
	if err != nil {
		return bot.Reply{}, err
	}
	st, err := h.Store.DeskStats(ctx, from, to, now)
	if err != nil {
		return bot.Reply{}, err
	}
	ct := domain.Content{Title: fmt.Sprintf("Complaint SLAs, %s", name)}
	ct.Fields = []domain.Field{
		{Label: "Received", Value: strconv.Itoa(st.Total)},
		{Label: "Still open", Value: fmt.Sprintf("%d (%d overdue)", st.Open, st.Overdue)},
		{Label: "At risk now", Value: fmt.Sprintf("%d (due within %s or past the warning point)", st.AtRisk, handlers.Duration(domain.AtRiskWindow))},
		{Label: "Breached", Value: fmt.Sprintf("%d (a deadline missed)", st.Breached)},
		{Label: "First reply within SLA", Value: rateLine(st.ReplyMet, st.ReplyDecided)},
		{Label: "Resolved within SLA", Value: rateLine(st.ResolveMet, st.ResolveDecided)},
		{Label: "Median first reply", Value: medianLine(st.ReplyMedian, st.ReplyDecided)},
		{Label: "Median resolution", Value: medianLine(st.ResolveMedian, st.ResolveDecided)},
	}
	var cats []string
	for _, c := range domain.Categories {
		if n := st.ByCategory[c]; n > 0 {
			cats = append(cats, fmt.Sprintf("%s %d (%s)", c.Label(), n, share(n, st.Total)))
		}
	}
	if len(cats) > 0 {
		ct.Fields = append(ct.Fields, domain.Field{Label: "By category", Value: strings.Join(cats, " · ")})
	}
	for _, a := range st.ByAgent {
		who := handlers.StaffMention(a.Agent)
		if a.Agent == "" {
			who = "unclaimed"
		}
		line := fmt.Sprintf("%s: %d, %d resolved · first reply in time %s · resolved in time %s", who, a.Total, a.Resolved,
			rateLine(a.ReplyMet, a.ReplyDecided), rateLine(a.ResolveMet, a.ResolveDecided))
		if a.Resolved > 0 {
			line += " · median resolution " + handlers.Duration(a.ResolveMedian)
		}
		ct.List = append(ct.List, line)
	}
	if st.Total == 0 {
		ct.Text = "No complaints were logged in this period."
	}
	ct.Note = "Complaints logged in the period, as they stand now. Hit rates count what is decided (answered, resolved, or past the deadline)."
	return bot.Reply{Content: ct}, nil
}

// sourceLabel says how a complaint came in, in words.
func sourceLabel(source string) string {
	switch domain.ComplaintSource(source) {
	case domain.SourceWeChat:
		return "on WeChat"
	case domain.SourcePhone:
		return "by phone"
	}
	return "via " + strings.ReplaceAll(source, "_", " ")
}

func medianLine(d time.Duration, decided int) string {
	if d == 0 && decided == 0 {
		return "—"
	}
	return handlers.Duration(d)
}

func (h *Complaints) categories(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) > 0 {
		return bot.Reply{}, bot.Usagef("`complaint categories` takes no arguments.")
	}
	cs, err := h.Store.CategoryCorrections(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Category corrections",
		Note: "Per category the keyword rules chose: how many complaints got it and how many agents moved elsewhere. " +
			"A high share means the rules for it need a look."}}
	for _, c := range cs {
		line := fmt.Sprintf("%s: %d, corrected %d (%s)", c.Category.Label(), c.Total, c.Corrected, share(c.Corrected, c.Total))
		var to []string
		for _, t := range domain.Categories {
			if n := c.To[t]; n > 0 {
				to = append(to, fmt.Sprintf("%s %d", t, n))
			}
		}
		if len(to) > 0 {
			line += " → " + strings.Join(to, ", ")
		}
		rep.List = append(rep.List, line)
	}
	if len(cs) == 0 {
		rep.Text = "No complaints yet."
	}
	return rep, nil
}

// sharesNote explains shares that do not add up to 100 % after rounding.
func sharesNote(counts []int, total int) string {
	if total == 0 || len(counts) == 0 {
		return ""
	}
	sum := 0
	for _, n := range counts {
		sum += int(math.Round(100 * float64(n) / float64(total)))
	}
	if sum == 100 {
		return ""
	}
	return fmt.Sprintf(" Category shares are rounded to whole percents, so they add up to %d%%, not 100%%.", sum)
}

// errResolvedReply is a reply to a resolved complaint: it needs reopening.
var errResolvedReply = errors.New("complaint resolved")
