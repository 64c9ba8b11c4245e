package surveys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Surveys is the satisfaction-survey feature.
type Surveys struct {
	Store    *store.DB
	Clock    handlers.Clock
	Channels handlers.Channels
	Log      *slog.Logger
	Events   *handlers.Events
	// Template reports whether the WeChat account has a template or
	// subscription notice configured for surveys (survey=<id> in
	// WECHAT_TEMPLATES or WECHAT_SUBSCRIBE_TEMPLATES), to reach customers
	// outside the 48-hour window.
	Template bool
	// Batch is how many due surveys the job takes per transaction.
	Batch int
}

// Topics of the questions surveys ask customers.
const (
	topicScore   = "survey.score"
	topicComment = "survey.comment"
)

// WeChatTemplate names the kind of notice a survey is, for the WeChat
// sender's template fallback outside the 48-hour window.
const WeChatTemplate = "survey"

// Action IDs.
const (
	ActionBenefit = "survey.benefit" // value: YYYY-MM
)

// New returns the survey feature and subscribes it to the events that
// schedule surveys.
func New(st *store.DB, clock handlers.Clock, ch handlers.Channels, log *slog.Logger, ev *handlers.Events, template bool) *Surveys {
	h := &Surveys{Store: st, Clock: clock, Channels: ch, Log: log, Events: ev, Template: template, Batch: 2000}
	if ev != nil {
		ev.OnOrder(h.onOrder)
		ev.OnComplaintResolved(h.onComplaintResolved)
	}
	return h
}

// Feature is the survey feature as the router and the scheduler see it.
func (h *Surveys) Feature() bot.Feature {
	return bot.Feature{
		Name:     "surveys",
		Commands: h.Commands(),
		Actions:  []bot.ActionHandler{{ID: ActionBenefit, Role: domain.RoleManager, Run: h.benefitGiven}},
		Answerers: []bot.Answerer{
			{Topic: topicScore, Answer: h.answerScore},
			{Topic: topicComment, Answer: h.answerComment},
		},
		Jobs: []bot.Job{
			{Name: "survey-send", Schedule: "* * * * *",
				Description: "Send the satisfaction surveys and reminders that are due, expire unanswered ones and open follow-up cases for low scores left unexplained.",
				Run:         h.runSend},
			{Name: "survey-vip", Schedule: "0 10 1 * *",
				Description: "Post last month's benefit list (average ≥ 4.8 over at least 3 answers) to the managers' channel.",
				Run:         h.runVIP},
		},
	}
}

// onOrder schedules a survey for a completed order of a customer with an
// OpenID. An event so old that the survey would already have expired (a
// bulk import of history) schedules nothing.
func (h *Surveys) onOrder(ctx context.Context, tx *store.DB, e domain.OrderEvent) error {
	if e.Type != domain.OrderCompleted || e.WeChatOpenID == "" {
		return nil
	}
	set, err := tx.SurveySettings(ctx)
	if err != nil {
		return err
	}
	sendAt := e.OccurredAt.Add(set.OrderDelay)
	if sendAt.Add(set.Expiry).Before(h.Clock.Time()) {
		return nil
	}
	_, err = tx.ScheduleSurvey(ctx, domain.Survey{Trigger: domain.TriggerOrder, Subject: e.OrderID,
		OpenID: e.WeChatOpenID, CustomerID: e.CustomerID, SendAt: sendAt})
	return err
}

// onComplaintResolved schedules the survey of a resolved WeChat complaint
// (once, however often it is reopened and resolved). A follow-up case is
// not surveyed: that would ask about the answer to a survey.
func (h *Surveys) onComplaintResolved(ctx context.Context, tx *store.DB, c domain.Complaint) error {
	if c.OpenID == "" || c.Source == domain.SourceSurvey || c.Category == domain.CategoryFollowUp {
		return nil
	}
	set, err := tx.SurveySettings(ctx)
	if err != nil {
		return err
	}
	at := c.ResolvedAt
	if at.IsZero() {
		at = h.Clock.Time()
	}
	_, err = tx.ScheduleSurvey(ctx, domain.Survey{Trigger: domain.TriggerComplaint, Subject: c.Number,
		OpenID: c.OpenID, SendAt: at.Add(set.ComplaintDelay)})
	return err
}

// runSend is the survey-send job.
func (h *Surveys) runSend(ctx context.Context, at time.Time) error {
	n, err := h.Send(ctx, at)
	if n > 0 {
		h.Log.Info("Surveys advanced", "due", n)
	}
	return err
}

// Send does what is due at time at: sends due surveys (or records why
// not), sends reminders, expires unanswered surveys and opens the
// follow-up cases of low scores left unexplained. It returns how many
// surveys were due.
func (h *Surveys) Send(ctx context.Context, at time.Time) (int, error) {
	at = at.In(h.Clock.Loc)
	set, err := h.Store.SurveySettings(ctx)
	if err != nil {
		return 0, err
	}
	return h.Store.SweepSurveys(ctx, at, h.Batch, func(tx *store.DB, due []domain.Survey, facts []domain.SurveyFacts) ([]domain.Outgoing, []domain.PendingQuestion, error) {
		var (
			msgs []domain.Outgoing
			qs   []domain.PendingQuestion
		)
		asked := map[string]bool{} // customers asked in this batch: the cooldown holds within it too
		for i := range due {
			s, f := &due[i], facts[i]
			f.Template = h.Template
			if asked[s.OpenID] {
				f.LastSent = at
			}
			switch s.Advance(at, f, set) {
			case domain.StepSend:
				asked[s.OpenID] = true
				msgs = append(msgs, h.question(*s, set, false))
				qs = append(qs, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: s.OpenID,
					Topic: topicScore, Data: strconv.FormatInt(s.ID, 10), ExpiresAt: s.ExpiresAt})
			case domain.StepRemind:
				msgs = append(msgs, h.question(*s, set, true))
			case domain.StepFollowUp:
				if err := h.openCase(ctx, tx, s, at); err != nil {
					return nil, nil, err
				}
			case domain.StepSkip:
				h.Log.Debug("Survey skipped", "survey", s.ID, "reason", s.SkipReason)
			}
		}
		return msgs, qs, nil
	})
}

// question is the survey's question (or its one reminder) to the
// customer, with the scores as tappable choices.
func (h *Surveys) question(s domain.Survey, set domain.SurveySettings, reminder bool) domain.Outgoing {
	text, key := set.Question(s), "survey:"+strconv.FormatInt(s.ID, 10)+":ask"
	if reminder {
		text = "温馨提醒：" + text + "\n您的评价对我们很重要，回复数字即可。"
		key = "survey:" + strconv.FormatInt(s.ID, 10) + ":remind"
	}
	ct := domain.Content{Text: text, Choices: domain.SurveyChoices}
	if s.Via == "template" {
		// Outside the window: a template or subscription notice shows a
		// short line (at most 20 characters); the customer answers in
		// the chat, which opens the window again.
		ct.Title = "邀请您为本次服务打分（回复1-5分）"
	}
	return domain.Outgoing{Platform: domain.PlatformWeChat, Kind: domain.OutPost, To: s.OpenID,
		Template: WeChatTemplate, Purpose: domain.PurposeSurvey, DedupeKey: key, Content: ct}
}

// openCase opens the survey's follow-up case on the complaint desk, in tx.
func (h *Surveys) openCase(ctx context.Context, tx *store.DB, s *domain.Survey, at time.Time) error {
	c := domain.Complaint{Source: domain.SourceSurvey, OpenID: s.OpenID, CreatedBy: domain.ActorBot,
		CreatedAt: at.In(h.Clock.Loc), Text: domain.FollowUpText(*s), Category: domain.CategoryFollowUp}
	if s.Trigger == domain.TriggerOrder {
		c.Order = s.Subject
	}
	c, err := h.Events.OpenCase(ctx, tx, c)
	if err != nil {
		return fmt.Errorf("surveys: open follow-up of survey %d: %w", s.ID, err)
	}
	s.FollowUp, s.Next = c.Number, time.Time{}
	h.Log.Info("Follow-up case opened for a low score", "survey", s.ID, "complaint", c.Number, "score", s.Score)
	return nil
}

// answerScore takes a score for the survey waiting for it. Anything that
// is not a score goes on to the other features: a customer with a survey
// waiting can still complain or ask about progress.
func (h *Surveys) answerScore(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	score, ok := domain.ParseScore(req.Text)
	if !ok {
		return bot.Reply{}, false, nil
	}
	id, err := strconv.ParseInt(q.Data, 10, 64)
	if err != nil {
		return bot.Reply{}, false, h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicScore)
	}
	if lost, err := h.Store.SurveyUndelivered(ctx, id); err != nil || lost {
		// The question never reached them: whatever they typed is
		// about something else.
		if err == nil {
			err = h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicScore)
		}
		return bot.Reply{}, false, err
	}
	set, err := h.Store.SurveySettings(ctx)
	if err != nil {
		return bot.Reply{}, false, err
	}
	at := h.Clock.Time()
	var s domain.Survey
	err = h.Store.InTx(ctx, func(tx *store.DB) error {
		var err error
		s, err = tx.UpdateSurvey(ctx, id, at, func(s *domain.Survey) error {
			if s.OpenID != req.UserID {
				return domain.ErrNotFound
			}
			return s.Answer(score, at, set)
		})
		if err != nil {
			return err
		}
		if err := tx.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicScore); err != nil {
			return err
		}
		if !s.Low() {
			return nil
		}
		return tx.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: req.UserID,
			Topic: topicComment, Data: q.Data, ExpiresAt: at.Add(set.CommentWait)})
	})
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		// Expired or answered meanwhile: not a score any more.
		return bot.Reply{}, false, h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicScore)
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	h.Log.Info("Survey answered", "survey", s.ID, "trigger", s.Trigger, "score", s.Score)
	return bot.Text(thanks(s.Score)), true, nil
}

// thanks answers a score in natural Chinese.
func thanks(score int) string {
	switch {
	case score == 5:
		return "收到您的5分好评，太开心了！感谢您的支持，我们会继续努力，期待再次为您服务。"
	case score == 4:
		return "感谢您的评价！我们会继续努力，争取下次让您更满意。"
	}
	return fmt.Sprintf("收到您的%d分评价，非常抱歉这次没能让您满意。\n能告诉我们哪里做得不好吗？直接回复这条消息就可以，客服会尽快联系您。", score)
}

// answerComment takes what went wrong after a low score and opens the
// follow-up case with it. Once the case is open, further messages reach
// it through the complaint desk.
func (h *Surveys) answerComment(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
	comment, _ := domain.CleanText(req.Text, 1000)
	if comment == "" {
		return bot.Reply{}, false, nil
	}
	id, err := strconv.ParseInt(q.Data, 10, 64)
	if err != nil {
		return bot.Reply{}, false, h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicComment)
	}
	at := h.Clock.Time()
	var s domain.Survey
	err = h.Store.InTx(ctx, func(tx *store.DB) error {
		var err error
		s, err = tx.UpdateSurvey(ctx, id, at, func(s *domain.Survey) error {
			if s.OpenID != req.UserID || !s.Low() || s.FollowUp != "" {
				return domain.ErrConflict
			}
			s.Comment = comment
			return h.openCase(ctx, tx, s, at)
		})
		if err != nil {
			return err
		}
		return tx.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicComment)
	})
	if errors.Is(err, domain.ErrConflict) || errors.Is(err, domain.ErrNotFound) {
		return bot.Reply{}, false, h.Store.ClearPending(ctx, domain.PlatformWeChat, req.UserID, topicComment)
	}
	if err != nil {
		return bot.Reply{}, false, err
	}
	c, err := h.Store.Complaint(ctx, s.FollowUp)
	if err != nil {
		return bot.Reply{}, false, err
	}
	return bot.Text(fmt.Sprintf("谢谢您告诉我们。已为您登记回访（编号：%s），客服会在 %s内联系您，并在 %s 前处理完毕。\n如需补充，直接回复即可。",
		c.Number, handlers.ZhDuration(c.ReplyDue.Sub(c.CreatedAt)), h.Clock.Format(c.ResolveDue))), true, nil
}

// Commands returns the survey commands.
func (h *Surveys) Commands() []*bot.Command {
	return []*bot.Command{
		{
			Name: "survey report", Usage: "survey report [today|DATE|week|month|YYYY-MM|FROM..TO]", Role: domain.RoleAgent,
			Description: "Satisfaction for a period: sent, answered, response rate, average, CSAT, distribution, by trigger, skipped by reason, follow-ups; against the 4.8 target and the period before.",
			Examples:    []string{"survey report", "survey report week", "survey report 2026-11"},
			Run:         h.report,
		},
		{
			Name: "survey vip", Usage: "survey vip [YYYY-MM]", Role: domain.RoleManager,
			Description: "The customers who earn the benefit for a month (default this month): average ≥ 4.8 over their last 5 answers, at least 3 answers.",
			Examples:    []string{"survey vip", "survey vip 2026-11"},
			Run:         h.vip,
		},
		{
			Name: "survey settings", Usage: "survey settings", Role: domain.RoleAgent,
			Description: "Show the survey settings: delays, cooldown, expiry, reminder, questions.",
			Examples:    []string{"survey settings"},
			Run:         h.settings,
		},
		{
			Name: "survey set", Usage: "survey set <name> <value>", Role: domain.RoleAdmin,
			Description: "Change a survey setting (order-delay, complaint-delay, cooldown, expiry, reminder, comment-wait, order-question, complaint-question).",
			Examples:    []string{"survey set order-delay 0", "survey set cooldown 30d", "survey set reminder 0", "survey set order-question 您对订单{order}满意吗？请回复1-5分"},
			Run:         h.set,
		},
	}
}

func (h *Surveys) settings(ctx context.Context, _ *bot.Request) (bot.Reply, error) {
	set, err := h.Store.SurveySettings(ctx)
	if err != nil {
		return bot.Reply{}, err
	}
	rep := bot.Reply{Content: domain.Content{Title: "Survey settings",
		Note: "Change one with `survey set <name> <value>` (admins). Durations: 0, 10m, 2h, 14d."}}
	for _, d := range domain.SurveySettingList {
		v, _ := set.Get(d.Name)
		rep.List = append(rep.List, fmt.Sprintf("`%s` = %s — %s", d.Name, v, d.Description))
	}
	tmpl := "no: customers outside the 48-hour window are skipped as unreachable"
	if h.Template {
		tmpl = "yes: customers outside the 48-hour window get the template notice"
	}
	rep.Fields = []domain.Field{{Label: "Survey template configured", Value: tmpl}}
	return rep, nil
}

func (h *Surveys) set(ctx context.Context, req *bot.Request) (bot.Reply, error) {
	if len(req.Args) < 2 {
		return bot.Reply{}, bot.Usagef("Say the setting and its value.")
	}
	name := strings.ToLower(req.Arg(0))
	value := req.Tail(1)
	set, err := h.Store.SetSurveySetting(ctx, name, value, req.UserID)
	if err != nil {
		var re *domain.RuleError
		if errors.As(err, &re) {
			return bot.Reply{}, bot.Usagef("%s", re.Msg)
		}
		return bot.Reply{}, err
	}
	v, _ := set.Get(name)
	return bot.Text(fmt.Sprintf("Survey setting `%s` is now %s. It applies to surveys scheduled from now on.", name, v)), nil
}
