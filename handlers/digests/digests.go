// Package digests is the 日报, 周报 and 月报: the shop's and the service's
// numbers for a day, a week or a month, against the period before, the
// same weekday last week and the targets, with what is unusual flagged
// first and a chart of GMV and orders — posted once per period to the
// managers' channel, or shown to whoever asks.
package digests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// SpecialDaysFunc returns the campaign days in [from, to), by date
// (2006-01-02) with the campaign's name. Campaign days are compared only
// with other campaign days.
type SpecialDaysFunc func(ctx context.Context, from, to time.Time) (map[string]string, error)

// Options are the digest feature's optional parts.
type Options struct {
	// ChartDir is where charts of digests asked for in the terminal are
	// written; empty for the system's temporary directory.
	ChartDir string
	// SpecialDays tells campaign days; nil for none.
	SpecialDays SpecialDaysFunc
	// FullTotalsMaxOrders is the size (orders in the period before) above
	// which weekly and monthly digests leave out the figures only the full
	// totals give (repeat buyers, satisfaction); 0 for
	// DefaultFullTotalsMaxOrders, negative for no limit.
	FullTotalsMaxOrders int64
}

// DefaultFullTotalsMaxOrders keeps every digest within about a second:
// repeat buyers of 100,000 orders take about that long to count.
const DefaultFullTotalsMaxOrders = 100_000

// Digests is the digest feature.
type Digests struct {
	Store       *store.DB
	Clock       handlers.Clock
	Channels    handlers.Channels
	Log         *slog.Logger
	ChartDir    string
	SpecialDays SpecialDaysFunc
	// FullTotalsMaxOrders: see Options.
	FullTotalsMaxOrders int64
}

// New returns the digest feature.
func New(st *store.DB, clock handlers.Clock, ch handlers.Channels, log *slog.Logger, opt Options) *Digests {
	return &Digests{Store: st, Clock: clock, Channels: ch, Log: log, ChartDir: opt.ChartDir, SpecialDays: opt.SpecialDays,
		FullTotalsMaxOrders: opt.FullTotalsMaxOrders}
}

// Feature is the digest feature as the router sees it.
func (h *Digests) Feature() bot.Feature {
	return bot.Feature{Name: "digests", Commands: h.Commands(), Jobs: h.Jobs()}
}

// Jobs are the three digests.
func (h *Digests) Jobs() []bot.Job {
	return []bot.Job{
		{
			Name: "digest-daily", Schedule: "0 18 * * *",
			Description: "Post the day so far to the managers (working days of the business calendar only).",
			Run: func(ctx context.Context, at time.Time) error {
				overrides, err := h.Store.CalendarOverrides(ctx, h.Clock.Loc)
				if err != nil {
					return err
				}
				cal, err := domain.NewCalendar(h.Clock.Loc, overrides)
				if err != nil {
					return err
				}
				if working, _ := cal.IsWorkingDay(at); !working {
					h.Log.Info("No daily digest on a day off", "day", at.In(h.Clock.Loc).Format("2006-01-02"))
					return nil
				}
				return h.scheduled(ctx, domain.DigestDaily, at, at)
			},
		},
		{
			Name: "digest-weekly", Schedule: "30 9 * * 1",
			Description: "Post last week (Monday to Sunday) against the week before to the managers.",
			Run: func(ctx context.Context, at time.Time) error {
				return h.scheduled(ctx, domain.DigestWeekly, at.AddDate(0, 0, -7), at)
			},
		},
		{
			Name: "digest-monthly", Schedule: "0 10 1 * *",
			Description: "Post last month against the month before and the target to the managers.",
			Run: func(ctx context.Context, at time.Time) error {
				return h.scheduled(ctx, domain.DigestMonthly, domain.Month(at, h.Clock.Loc).From.AddDate(0, -1, 0), at)
			},
		},
	}
}

func (h *Digests) scheduled(ctx context.Context, kind domain.DigestKind, ref, at time.Time) error {
	posted, d, err := h.Post(ctx, kind, ref, at, "job:digest-"+string(kind))
	if err != nil {
		return err
	}
	if posted {
		h.Log.Info("Posted digest", "key", d.Window.Key(), "flags", len(d.Flags()))
	} else {
		h.Log.Info("Digest already posted", "key", d.Window.Key())
	}
	return nil
}

// ref names a digest's message, for the chart's thread.
func ref(w domain.DigestWindow) string { return "digest:" + w.Key() }

// Post builds the digest of kind for the period holding ref as known at
// now, and posts it with its chart to the managers' channel — unless the
// digest of that period was posted before (by a replica, a re-run or a
// manager): then it posts nothing and returns false with the window only.
func (h *Digests) Post(ctx context.Context, kind domain.DigestKind, refTime, now time.Time, by string) (bool, *Digest, error) {
	w, err := domain.NewDigestWindow(kind, refTime, now, h.Clock.Loc)
	if err != nil {
		return false, nil, err
	}
	if done, err := h.Store.DigestPosted(ctx, w.Key()); err != nil || done {
		return false, &Digest{Window: w}, err
	}
	d, err := h.Build(ctx, kind, refTime, now)
	if err != nil {
		return false, nil, err
	}
	to := h.Channels.Managers
	msgs := []domain.Outgoing{{
		Platform: domain.PlatformSlack, Kind: domain.OutPost, To: to, Ref: ref(w),
		Content: d.Content, DedupeKey: ref(w),
	}}
	if len(d.Chart.PNG) > 0 {
		msgs = append(msgs, domain.Outgoing{
			Platform: domain.PlatformSlack, Kind: domain.OutUpload, To: to, ThreadRef: ref(w),
			Content:    domain.Content{Text: d.Chart.Title},
			Attachment: &domain.Attachment{Name: chartName(w), Title: d.Chart.Title, Data: d.Chart.PNG},
			DedupeKey:  ref(w) + ":chart",
		})
	}
	rec := store.DigestRecord{Key: w.Key(), Kind: kind, From: w.Period.From, To: w.Period.To, Cutoff: w.Cutoff,
		Figures: d.Figures, Flags: d.Flags(), Content: d.Content, Channel: to, PostedBy: by}
	saved, err := h.Store.SaveDigest(ctx, rec, msgs...)
	return saved, d, err
}

func chartName(w domain.DigestWindow) string {
	return "digest-" + strings.ReplaceAll(w.Key(), ":", "-") + ".png"
}

// Commands are digest, digest post, digest show, the thresholds and the
// targets.
func (h *Digests) Commands() []*bot.Command {
	return []*bot.Command{
		{
			Name: "digest", Usage: "digest [daily|weekly|monthly] [DATE|YYYY-MM]", Role: domain.RoleManager,
			Description: "The daily (the day so far), weekly (last week) or monthly (last month) digest, shown to you.",
			Examples:    []string{"digest", "digest weekly", "digest daily 2026-11-11", "digest monthly 2026-11"},
			Run:         h.digestCmd,
		},
		{
			Name: "digest post", Usage: "digest post [daily|weekly|monthly] [DATE|YYYY-MM]", Role: domain.RoleManager,
			Description: "Post a digest with its chart to the managers' channel (once per period).",
			Examples:    []string{"digest post", "digest post weekly"},
			Run:         h.postCmd,
		},
		{
			Name: "digest show", Usage: "digest show [daily|weekly|monthly] [DATE|YYYY-MM]", Role: domain.RoleManager,
			Description: "What was posted for a period; without a period, the latest digests posted.",
			Examples:    []string{"digest show", "digest show daily 2026-12-04", "digest show monthly 2026-11"},
			Run:         h.showCmd,
		},
		{
			Name: "digest threshold list", Usage: "digest threshold list", Role: domain.RoleAgent,
			Description: "When a metric's move is flagged: the % away from its usual level and the volume it needs.",
			Examples:    []string{"digest threshold list"},
			Run:         h.thresholdList,
		},
		{
			Name: "digest threshold set", Usage: "digest threshold set <metric> <PCT%> [min N]", Role: domain.RoleManager,
			Description: "Flag a metric when it is PCT% away from its usual level and its volume (orders, UV…) is at least N.",
			Examples:    []string{"digest threshold set gmv 25%", "digest threshold set refund_rate 50% min 200"},
			Run:         h.thresholdSet,
		},
		{
			Name: "target list", Usage: "target list", Role: domain.RoleAgent,
			Description: "The targets digests measure against (the manual's defaults and those managers set).",
			Examples:    []string{"target list"},
			Run:         h.targetList,
		},
		{
			Name: "target set", Usage: "target set <metric> [month|growth] [min|max] <value>", Role: domain.RoleManager,
			Description: "Set a target: an amount a month (GMV in yuan), a month-on-month growth, or a level (3%, 4.8).",
			Examples:    []string{"target set gmv month 5000000", "target set conversion 3%", "target set gmv growth 20%", "target set refund_rate max 5%"},
			Run:         h.targetSet,
		},
		{
			Name: "target unset", Usage: "target unset <metric> [month|growth]", Role: domain.RoleManager,
			Description: "Remove a target you set (the manual's default applies again, if it has one).",
			Examples:    []string{"target unset gmv month"},
			Run:         h.targetUnset,
		},
	}
}

// which reads [daily|weekly|monthly] [DATE|YYYY-MM|today|yesterday|...]:
// the kind (from the date's form when not given) and a time in the period.
// Without a date: today so far, last week, last month.
func (h *Digests) which(args []string, now time.Time) (domain.DigestKind, time.Time, error) {
	if len(args) > 2 {
		return "", time.Time{}, bot.Usagef("At most a kind and a date.")
	}
	kind, explicit := domain.DigestDaily, false
	if len(args) > 0 {
		if k, ok := domain.ParseDigestKind(args[0]); ok {
			kind, explicit, args = k, true, args[1:]
		}
	}
	if len(args) == 0 {
		switch kind {
		case domain.DigestWeekly:
			return kind, now.AddDate(0, 0, -7), nil
		case domain.DigestMonthly:
			return kind, domain.Month(now, h.Clock.Loc).From.AddDate(0, -1, 0), nil
		}
		return kind, now, nil
	}
	p, err := domain.ParsePeriod(args[0], now, h.Clock.Loc)
	if err != nil || p.Kind == "range" {
		return "", time.Time{}, bot.Usagef("%q is not a date (2026-12-04), a month (2026-11), today, yesterday, last-week or last-month.", args[0])
	}
	if !explicit {
		kind = map[string]domain.DigestKind{"day": domain.DigestDaily, "week": domain.DigestWeekly, "month": domain.DigestMonthly}[p.Kind]
	}
	return kind, p.From, nil
}

func (h *Digests) digestCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	now := h.Clock.Time()
	kind, refTime, err := h.which(req.Args, now)
	if err != nil {
		return bot.Reply{}, err
	}
	d, err := h.Build(ctx, kind, refTime, now)
	if err != nil {
		return bot.Reply{}, asUsage(err)
	}
	rep := bot.Reply{Content: d.Content}
	if req.Platform == domain.PlatformSlack {
		rep.Note += " The chart comes with `digest post`."
		return rep, nil
	}
	path, err := h.writeChart(d)
	if err != nil {
		return bot.Reply{}, err
	}
	rep.List = append(rep.List, d.Chart.Title+": chart written to "+path)
	return rep, nil
}

// writeChart writes the digest's chart for the terminal and returns its path.
func (h *Digests) writeChart(d *Digest) (string, error) {
	dir := h.ChartDir
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "opsbot-charts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("digests: chart dir: %w", err)
	}
	path := filepath.Join(dir, chartName(d.Window))
	if err := os.WriteFile(path, d.Chart.PNG, 0o644); err != nil {
		return "", fmt.Errorf("digests: write chart: %w", err)
	}
	return path, nil
}

func asUsage(err error) error {
	if errors.Is(err, domain.ErrInvalid) {
		return bot.Usagef("%s", err)
	}
	return err
}

func (h *Digests) postCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	now := h.Clock.Time()
	kind, refTime, err := h.which(req.Args, now)
	if err != nil {
		return bot.Reply{}, err
	}
	posted, d, err := h.Post(ctx, kind, refTime, now, req.UserID)
	if err != nil {
		return bot.Reply{}, asUsage(err)
	}
	if !posted {
		rec, err := h.Store.Digest(ctx, d.Window.Key())
		if err != nil {
			return bot.Reply{}, err
		}
		return bot.Text(fmt.Sprintf("%s was already posted %s by %s; it goes out once per period. `digest show %s %s` shows it.",
			rec.Content.Title, h.Clock.Format(rec.PostedAt), handlers.StaffMention(rec.PostedBy), kind, showArg(d.Window))), nil
	}
	return bot.Text(fmt.Sprintf("Posted %s to %s with its chart (%d flag(s)).", d.Content.Title, h.Channels.Managers, len(d.Flags()))), nil
}

func showArg(w domain.DigestWindow) string {
	if w.Kind == domain.DigestMonthly {
		return w.Period.From.Format("2006-01")
	}
	return w.Period.From.Format("2006-01-02")
}

func (h *Digests) showCmd(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	now := h.Clock.Time()
	if len(req.Args) == 0 {
		recs, err := h.Store.RecentDigests(ctx, 15)
		if err != nil {
			return bot.Reply{}, err
		}
		rep := bot.Reply{Content: domain.Content{Title: "Digests posted"}}
		for _, r := range recs {
			rep.List = append(rep.List, fmt.Sprintf("%s — posted %s by %s, %d flag(s)", r.Content.Title,
				h.Clock.Format(r.PostedAt), handlers.StaffMention(r.PostedBy), len(r.Flags)))
		}
		if len(recs) == 0 {
			rep.Text = "No digest has been posted yet."
		}
		return rep, nil
	}
	kind, refTime, err := h.which(req.Args, now)
	if err != nil {
		return bot.Reply{}, err
	}
	w, err := domain.NewDigestWindow(kind, refTime, now, h.Clock.Loc)
	if err != nil {
		return bot.Reply{}, asUsage(err)
	}
	rec, err := h.Store.Digest(ctx, w.Key())
	if errors.Is(err, domain.ErrNotFound) {
		return bot.Text(fmt.Sprintf("No %s digest was posted for %s.", kind, w.Period.Label)), nil
	}
	if err != nil {
		return bot.Reply{}, err
	}
	c := rec.Content
	c.Note = strings.TrimSpace(fmt.Sprintf("Posted %s to %s by %s. %s", h.Clock.Format(rec.PostedAt), rec.Channel,
		handlers.StaffMention(rec.PostedBy), c.Note))
	return bot.Reply{Content: c}, nil
}
