// Package shop is the shop's data as opsbot's features see it: orders,
// refunds and traffic pushed by the shop's systems, the metrics computed
// from them, and the business calendar (working days, holidays, 调休).
package shop

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

// Shop is the shop-data feature.
type Shop struct {
	Store    *store.DB
	Clock    handlers.Clock
	Channels handlers.Channels
	Log      *slog.Logger
}

// New returns the shop-data feature.
func New(st *store.DB, clock handlers.Clock, ch handlers.Channels, log *slog.Logger) *Shop {
	return &Shop{Store: st, Clock: clock, Channels: ch, Log: log}
}

// Feature is the shop-data feature as the router sees it.
func (s *Shop) Feature() bot.Feature {
	return bot.Feature{Name: "shop", Commands: s.Commands(), Jobs: s.Jobs()}
}

// Calendar returns the business calendar with the admins' corrections.
func (s *Shop) Calendar(ctx context.Context) (*domain.Calendar, error) {
	return LoadCalendar(ctx, s.Store, s.Clock.Loc)
}

// LoadCalendar returns the business calendar in loc: the embedded State
// Council data with the admins' corrections from the database.
func LoadCalendar(ctx context.Context, st *store.DB, loc *time.Location) (*domain.Calendar, error) {
	over, err := st.CalendarOverrides(ctx, loc)
	if err != nil {
		return nil, err
	}
	return domain.NewCalendar(loc, over)
}

// Commands returns metrics and calendar.
func (s *Shop) Commands() []*bot.Command {
	return []*bot.Command{
		{
			Name: "metrics", Usage: "metrics [today|yesterday|DATE|week|last-week|month|last-month|YYYY-MM|FROM..TO]", Role: domain.RoleAgent,
			Description: "The shop's and the service's figures for a period, with the period before.",
			Examples:    []string{"metrics", "metrics yesterday", "metrics 2026-11-11", "metrics week", "metrics 2026-11"},
			Run:         s.metrics,
		},
		{
			Name: "metrics define", Usage: "metrics define [name]", Role: domain.RoleAgent,
			Description: "How a metric is computed (all of them without a name).",
			Examples:    []string{"metrics define conversion", "metrics define aov"},
			Run:         s.define,
		},
		{
			Name: "calendar show", Usage: "calendar show [YYYY-MM|DATE]", Role: domain.RoleAgent,
			Description: "Holidays and make-up working days (调休) of a month, or whether one date is a working day.",
			Examples:    []string{"calendar show", "calendar show 2026-10", "calendar show 2026-02-14"},
			Run:         s.calendarShow,
		},
		{
			Name: "calendar set", Usage: "calendar set <DATE> <off|work> [name]", Role: domain.RoleAdmin,
			Description: "Correct the calendar or add next year's days: a holiday (off) or a make-up working day (work).",
			Examples:    []string{"calendar set 2027-01-01 off 元旦", "calendar set 2027-02-07 work 春节调休"},
			Run:         s.calendarSet,
		},
		{
			Name: "calendar unset", Usage: "calendar unset <DATE>", Role: domain.RoleAdmin,
			Description: "Remove a correction: the date follows the shipped data (or the weekend rule) again.",
			Examples:    []string{"calendar unset 2027-01-01"},
			Run:         s.calendarUnset,
		},
	}
}

// Jobs returns the December reminder to enter next year's calendar.
func (s *Shop) Jobs() []bot.Job {
	return []bot.Job{{
		Name: "calendar-check", Schedule: "0 9 * * *",
		Description: "From 1 December, remind admins every morning until next year's holidays are entered.",
		Run:         s.calendarCheck,
	}}
}

func (s *Shop) metrics(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) > 1 {
		return bot.Reply{}, bot.Usagef("One period at most.")
	}
	now := s.Clock.Time()
	p, err := domain.ParsePeriod(req.Arg(0), now, s.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", err)
	}
	t, err := s.Store.ShopTotalsEach(ctx, []domain.Period{p, p.Previous()}, now)
	if err != nil {
		return bot.Reply{}, err
	}
	cur, prev := t[0], t[1]
	return bot.Reply{Content: FiguresContent("Metrics for "+p.Label, cur.Figures(), prev.Figures(), "vs "+p.Previous().Label)}, nil
}

// FiguresContent shows figures with the change against a baseline.
func FiguresContent(title string, cur, base domain.Figures, against string) domain.Content {
	c := domain.Content{Title: title, Note: "Changes are " + against + ". `metrics define <name>` says how each is computed."}
	for _, m := range domain.Metrics {
		v := cur[m.Name]
		if m.Name == "survey_responses" && !v.OK {
			continue
		}
		c.Fields = append(c.Fields, domain.Field{Label: m.Label, Value: m.Format(v) + Change(m, v, base[m.Name])})
	}
	return c
}

// Change is " (+12.5%)" for counts and money, " (+0.4 pt)" for ratios, or
// "" when either side has no data.
func Change(m domain.Metric, v, base domain.Value) string {
	if !v.OK || !base.OK {
		return ""
	}
	switch m.Unit {
	case domain.UnitRatio:
		return fmt.Sprintf(" (%+.1f pt)", (v.V-base.V)*100)
	case domain.UnitScore:
		return fmt.Sprintf(" (%+.2f)", v.V-base.V)
	}
	if base.V == 0 {
		return ""
	}
	return fmt.Sprintf(" (%+.1f%%)", (v.V/base.V-1)*100)
}

func (s *Shop) define(_ context.Context, req *bot.Request) (bot.Reply, error) {
	if name := req.Tail(0); name != "" {
		m, ok := domain.MetricByName(name)
		if !ok {
			return bot.Reply{}, bot.Usagef("I know no metric %q. `metrics define` lists them all.", name)
		}
		return bot.Reply{Content: domain.Content{Title: m.Label + " (`" + m.Name + "`)", Text: m.Definition}}, nil
	}
	rep := bot.Reply{Content: domain.Content{Title: "Metric definitions",
		Note: "A day is a calendar day in the shop's time zone; a week starts on Monday. A ratio whose denominator is missing or zero is \"no data\"."}}
	for _, m := range domain.Metrics {
		rep.List = append(rep.List, fmt.Sprintf("*%s* (`%s`): %s", m.Label, m.Name, m.Definition))
	}
	return rep, nil
}

func (s *Shop) calendarShow(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	cal, err := s.Calendar(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	loc := s.Clock.Loc
	arg := req.Arg(0)
	if d, err := domain.ParseDate(arg, loc); err == nil && arg != "" {
		return bot.Text(DayLine(cal, d)), nil
	}
	month := s.Clock.Time()
	if arg != "" {
		t, err := time.ParseInLocation("2006-01", arg, loc)
		if err != nil {
			return bot.Reply{}, bot.Usagef("`%s` is neither a month (2026-10) nor a date (2026-10-01).", arg)
		}
		month = t
	}
	rep := bot.Reply{Content: domain.Content{Title: "Business calendar " + month.Format("2006-01")}}
	if !cal.KnownYear(month.Year()) {
		rep.Text = fmt.Sprintf("%d is unknown: the State Council's holidays for it have not been entered. "+
			"Until they are, only weekends count as days off. Add them with `calendar set DATE off|work NAME`.", month.Year())
	}
	for _, d := range cal.Month(month) {
		kind := "off"
		if d.Working {
			kind = "working (调休上班)"
		}
		line := fmt.Sprintf("%s %s — %s %s", d.Date.Format("2006-01-02"), d.Date.Weekday().String()[:3], kind, d.Name)
		if d.Source != "embedded" {
			line += " (set by " + handlers.StaffMention(d.Source) + ")"
		}
		rep.List = append(rep.List, line)
	}
	if len(rep.List) == 0 && rep.Text == "" {
		rep.Text = "No holidays or make-up days: Monday to Friday are working days."
	}
	return rep, nil
}

// DayLine says in one line whether a date is a working day.
func DayLine(cal *domain.Calendar, d time.Time) string {
	working, name, known := cal.Day(d)
	kind := "a working day"
	if !working {
		kind = "a day off"
	}
	line := fmt.Sprintf("%s (%s) is %s", d.Format("2006-01-02"), d.Weekday(), kind)
	if name != "" {
		if working {
			line += " — 调休上班 for " + name
		} else {
			line += " — " + name
		}
	}
	if !known {
		line += fmt.Sprintf(". %d is unknown (no holidays entered yet), so this is the weekend rule only", d.Year())
	}
	return line + "."
}

func (s *Shop) calendarSet(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	d, err := domain.ParseDate(req.Arg(0), s.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", err)
	}
	var working bool
	switch strings.ToLower(req.Arg(1)) {
	case "off", "holiday", "休":
	case "work", "working", "班":
		working = true
	default:
		return bot.Reply{}, bot.Usagef("Say `off` (a holiday) or `work` (a make-up working day).")
	}
	name, _ := domain.CleanText(req.Tail(2), 40)
	if err := s.Store.SetCalendarDay(ctx, domain.CalendarDay{Date: d, Working: working, Name: name, Source: req.UserID}); err != nil {
		return bot.Reply{}, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text("Saved. " + DayLine(cal, d)), nil
}

func (s *Shop) calendarUnset(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	d, err := domain.ParseDate(req.Arg(0), s.Clock.Loc)
	if err != nil {
		return bot.Reply{}, bot.Usagef("%s", err)
	}
	if err := s.Store.UnsetCalendarDay(ctx, d); err != nil {
		if err == domain.ErrNotFound {
			return bot.Reply{}, bot.Errorf("%s has no correction to remove.", d.Format("2006-01-02"))
		}
		return bot.Reply{}, err
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	return bot.Text("Removed. " + DayLine(cal, d)), nil
}

// calendarCheck reminds every admin by DM, once a day from 1 December,
// while next year has no days entered.
func (s *Shop) calendarCheck(ctx context.Context, at time.Time) error {
	at = at.In(s.Clock.Loc)
	if at.Month() != time.December {
		return nil
	}
	cal, err := s.Calendar(ctx)
	if err != nil {
		return err
	}
	next := at.Year() + 1
	if cal.KnownYear(next) {
		return nil
	}
	staff, err := s.Store.ListStaff(ctx)
	if err != nil {
		return err
	}
	var msgs []domain.Outgoing
	for _, st := range staff {
		if st.Role != domain.RoleAdmin {
			continue
		}
		msgs = append(msgs, domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: st.UserID,
			DedupeKey: fmt.Sprintf("calendar-check:%d:%s:%s", next, at.Format("2006-01-02"), st.UserID),
			Content: domain.Content{Title: fmt.Sprintf("%d's holidays are not in opsbot yet", next),
				Text: fmt.Sprintf("Working-day deadlines (survey follow-ups, campaign items, SLAs in working days) count only weekends for %d "+
					"until its public holidays and make-up working days (调休) are entered. When the State Council's notice is out, "+
					"add each day: `calendar set %d-01-01 off 元旦`, `calendar set %d-02-07 work 春节调休`. "+
					"I will remind you every morning until then.", next, next, next)}})
	}
	if len(msgs) == 0 {
		s.Log.Warn("Next year's calendar is missing and there is no admin to remind", "year", next)
		return nil
	}
	return s.Store.Enqueue(ctx, msgs...)
}
