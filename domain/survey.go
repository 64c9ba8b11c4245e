package domain

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// SurveyTrigger is what a satisfaction survey asks about.
type SurveyTrigger string

// Survey triggers.
const (
	TriggerOrder     SurveyTrigger = "order"
	TriggerComplaint SurveyTrigger = "complaint"
)

// SurveyState is where a survey is in its life: scheduled → sent →
// answered or expired; or scheduled → skipped.
type SurveyState string

// Survey states.
const (
	SurveyScheduled SurveyState = "scheduled"
	SurveySent      SurveyState = "sent"
	SurveyAnswered  SurveyState = "answered"
	SurveyExpired   SurveyState = "expired"
	SurveySkipped   SurveyState = "skipped"
)

// SkipReason says why a survey was not sent.
type SkipReason string

// Why surveys are skipped. Each is counted in `survey report`.
const (
	SkipCooldown      SkipReason = "cooldown"       // asked recently
	SkipOpenComplaint SkipReason = "open_complaint" // its own survey comes after the resolution
	SkipUnfollowed    SkipReason = "unfollowed"
	// SkipUnreachable: outside the 48-hour window (or its allowance used
	// up) and no survey template configured, or the delivery failed so.
	SkipUnreachable SkipReason = "unreachable"
)

// SkipReasons lists the reasons in report order.
var SkipReasons = []SkipReason{SkipCooldown, SkipOpenComplaint, SkipUnfollowed, SkipUnreachable}

// Label explains a skip reason to staff.
func (r SkipReason) Label() string {
	switch r {
	case SkipCooldown:
		return "asked recently (cooldown)"
	case SkipOpenComplaint:
		return "open complaint"
	case SkipUnfollowed:
		return "unfollowed"
	case SkipUnreachable:
		return "unreachable (outside the 48 h window, no template)"
	}
	return string(r)
}

// LowScore is the score below which a follow-up case is opened.
const LowScore = 4

// TargetSatisfaction is the manual's target average.
const TargetSatisfaction = 4.8

// Survey is one satisfaction question to one customer about one order or
// one resolved complaint.
type Survey struct {
	ID         int64
	Trigger    SurveyTrigger
	Subject    string // the order ID or the complaint number
	OpenID     string
	CustomerID string // the shop's, for orders
	State      SurveyState
	SkipReason SkipReason
	SendAt     time.Time // when it falls due to be sent
	SentAt     time.Time
	Via        string // "kf" (客服消息) or "template"
	RemindedAt time.Time
	ExpiresAt  time.Time
	AnsweredAt time.Time
	Score      int
	Comment    string
	// FollowUp is the number of the case opened for a low score.
	FollowUp  string
	CreatedAt time.Time
	// Next is when the survey job next has work for it; zero when none.
	Next time.Time
}

// Low reports whether the answer asks for a follow-up case.
func (s Survey) Low() bool { return s.Score > 0 && s.Score < LowScore }

// SurveyFacts are what the survey job knows about a survey's customer when
// it falls due.
type SurveyFacts struct {
	Known         bool // a follower record exists
	Subscribed    bool
	LastInbound   time.Time
	Allowance     int
	OpenComplaint bool
	// LastSent is when this customer was last sent another survey.
	LastSent time.Time
	// Template is whether a template or subscription notice is
	// configured for surveys, to reach customers outside the window.
	Template bool
}

// reachableNow reports whether a 客服消息 may reach the customer at at.
func (f SurveyFacts) reachableNow(at time.Time) bool {
	return f.Known && f.Subscribed && f.Allowance > 0 && !f.LastInbound.IsZero() &&
		at.Sub(f.LastInbound) < ConversationWindow
}

// SurveyStep is what the survey job does for one due survey.
type SurveyStep string

// Steps.
const (
	StepNone   SurveyStep = ""
	StepSend   SurveyStep = "send"
	StepRemind SurveyStep = "remind"
	StepExpire SurveyStep = "expire"
	StepSkip   SurveyStep = "skip"
	// StepFollowUp opens the follow-up case of a low score whose
	// customer did not say what went wrong in time.
	StepFollowUp SurveyStep = "follow_up"
)

// Advance applies the rules to a survey that fell due at time at, changing
// it, and returns the step taken so the job can send what it says.
func (s *Survey) Advance(at time.Time, f SurveyFacts, set SurveySettings) SurveyStep {
	switch s.State {
	case SurveyScheduled:
		skip := SkipReason("")
		switch {
		case f.Known && !f.Subscribed:
			skip = SkipUnfollowed
		case f.OpenComplaint:
			skip = SkipOpenComplaint
		case !f.LastSent.IsZero() && at.Sub(f.LastSent) < set.Cooldown:
			skip = SkipCooldown
		case !f.reachableNow(at) && !f.Template:
			skip = SkipUnreachable
		}
		if skip != "" {
			s.State, s.SkipReason, s.Next = SurveySkipped, skip, time.Time{}
			return StepSkip
		}
		s.State, s.SentAt = SurveySent, at
		s.Via = "kf"
		if !f.reachableNow(at) {
			s.Via = "template"
		}
		s.ExpiresAt = at.Add(set.Expiry)
		s.Next = s.ExpiresAt
		if set.Reminder > 0 && set.Reminder < set.Expiry {
			s.Next = at.Add(set.Reminder)
		}
		return StepSend
	case SurveySent:
		if !at.Before(s.ExpiresAt) {
			s.State, s.Next = SurveyExpired, time.Time{}
			return StepExpire
		}
		s.Next = s.ExpiresAt
		// One reminder, and only inside the window: outside it a reminder
		// would need a template, which is not for nagging.
		if s.RemindedAt.IsZero() && f.reachableNow(at) {
			s.RemindedAt = at
			return StepRemind
		}
		return StepNone
	case SurveyAnswered:
		s.Next = time.Time{}
		if s.Low() && s.FollowUp == "" {
			return StepFollowUp
		}
	}
	s.Next = time.Time{}
	return StepNone
}

// Answer records a score given at time at. A score below LowScore keeps
// the survey due after the comment wait, when its follow-up case opens
// if the customer has not explained by then.
func (s *Survey) Answer(score int, at time.Time, set SurveySettings) error {
	if s.State != SurveySent || !at.Before(s.ExpiresAt) {
		return Conflictf("survey %d is not waiting for an answer", s.ID)
	}
	if score < 1 || score > 5 {
		return Invalidf("a score is 1 to 5")
	}
	s.State, s.Score, s.AnsweredAt, s.Next = SurveyAnswered, score, at, time.Time{}
	if s.Low() {
		s.Next = at.Add(set.CommentWait)
	}
	return nil
}

// SurveySettings are the survey rules admins can change.
type SurveySettings struct {
	OrderDelay, ComplaintDelay time.Duration
	Cooldown, Expiry, Reminder time.Duration
	// CommentWait is how long a low score waits for the customer's
	// explanation before its follow-up case opens without one.
	CommentWait       time.Duration
	OrderQuestion     string
	ComplaintQuestion string
}

// DefaultSurveySettings are the defaults: ask 2 hours after an order is
// completed and 10 minutes after a complaint is resolved, at most once
// every 14 days, remind once after 24 hours, expire after 72.
func DefaultSurveySettings() SurveySettings {
	return SurveySettings{
		OrderDelay: 2 * time.Hour, ComplaintDelay: 10 * time.Minute,
		Cooldown: 14 * 24 * time.Hour, Expiry: 72 * time.Hour, Reminder: 24 * time.Hour,
		CommentWait:       30 * time.Minute,
		OrderQuestion:     "您的订单{order}已完成，感谢您的支持！您对本次购物体验满意吗？请回复1-5分（5分为非常满意）。",
		ComplaintQuestion: "您的投诉{complaint}已处理完毕。您对这次的处理满意吗？请回复1-5分（5分为非常满意）。",
	}
}

// SurveySetting describes one setting.
type SurveySetting struct {
	Name        string
	Description string
	duration    func(*SurveySettings) *time.Duration
	text        func(*SurveySettings) *string
}

// SurveySettingList are the settings by name, as `survey set` takes them.
var SurveySettingList = []SurveySetting{
	{Name: "order-delay", Description: "wait after an order is completed before asking",
		duration: func(s *SurveySettings) *time.Duration { return &s.OrderDelay }},
	{Name: "complaint-delay", Description: "wait after a complaint is resolved before asking",
		duration: func(s *SurveySettings) *time.Duration { return &s.ComplaintDelay }},
	{Name: "cooldown", Description: "ask one customer at most once in this time",
		duration: func(s *SurveySettings) *time.Duration { return &s.Cooldown }},
	{Name: "expiry", Description: "how long an answer counts after the question",
		duration: func(s *SurveySettings) *time.Duration { return &s.Expiry }},
	{Name: "reminder", Description: "remind once after this long without an answer (0: never)",
		duration: func(s *SurveySettings) *time.Duration { return &s.Reminder }},
	{Name: "comment-wait", Description: "a low score waits this long for the customer's reason before its follow-up case opens",
		duration: func(s *SurveySettings) *time.Duration { return &s.CommentWait }},
	{Name: "order-question", Description: "the question after an order ({order} is the order ID)",
		text: func(s *SurveySettings) *string { return &s.OrderQuestion }},
	{Name: "complaint-question", Description: "the question after a complaint ({complaint} is its number)",
		text: func(s *SurveySettings) *string { return &s.ComplaintQuestion }},
}

// Get returns a setting's value as admins type it.
func (s SurveySettings) Get(name string) (string, bool) {
	for _, d := range SurveySettingList {
		if d.Name != name {
			continue
		}
		if d.duration != nil {
			return FormatSurveyDuration(*d.duration(&s)), true
		}
		return *d.text(&s), true
	}
	return "", false
}

// Set changes a setting from its typed value, checking it.
func (s *SurveySettings) Set(name, value string) error {
	value = strings.TrimSpace(value)
	for _, d := range SurveySettingList {
		if d.Name != name {
			continue
		}
		if d.text != nil {
			v, _ := CleanText(value, 300)
			if v == "" {
				return Invalidf("%s cannot be empty", name)
			}
			*d.text(s) = v
			return nil
		}
		v, err := ParseSurveyDuration(value)
		if err != nil {
			return err
		}
		*d.duration(s) = v
		return s.Validate()
	}
	names := make([]string, len(SurveySettingList))
	for i, d := range SurveySettingList {
		names[i] = d.Name
	}
	return Invalidf("unknown survey setting %q (one of %s)", name, strings.Join(names, ", "))
}

// Validate checks that the settings make sense together.
func (s SurveySettings) Validate() error {
	switch {
	case s.Expiry < time.Hour || s.Expiry > 30*24*time.Hour:
		return Invalidf("expiry must be between 1h and 30d")
	case s.Reminder != 0 && s.Reminder >= s.Expiry:
		return Invalidf("the reminder (%s) must come before the expiry (%s), or be 0", FormatSurveyDuration(s.Reminder), FormatSurveyDuration(s.Expiry))
	case s.OrderDelay > 30*24*time.Hour || s.ComplaintDelay > 30*24*time.Hour:
		return Invalidf("a delay can be at most 30d")
	case s.Cooldown > 365*24*time.Hour:
		return Invalidf("the cooldown can be at most 365d")
	case s.CommentWait < time.Minute || s.CommentWait > 7*24*time.Hour:
		return Invalidf("comment-wait must be between 1m and 7d")
	}
	return nil
}

// ParseSurveyDuration reads 0, 10m, 2h, 14d, 1h30m.
func ParseSurveyDuration(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(FoldWidth(s)))
	if t == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(t, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 365 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(strings.ReplaceAll(t, "min", "m"))
	if err != nil || d < 0 {
		return 0, Invalidf("%q is not a duration (examples: 0, 10m, 2h, 14d)", s)
	}
	return d, nil
}

// FormatSurveyDuration shows a duration as ParseSurveyDuration reads it.
func FormatSurveyDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0 && d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	out := strings.TrimSuffix(d.String(), "0s")
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Question is the survey's question text for the customer.
func (s SurveySettings) Question(sv Survey) string {
	if sv.Trigger == TriggerComplaint {
		return strings.ReplaceAll(s.ComplaintQuestion, "{complaint}", " "+sv.Subject+" ")
	}
	return strings.ReplaceAll(s.OrderQuestion, "{order}", " "+sv.Subject+" ")
}

// SurveyChoices are the tappable answers (WeChat msgmenu), best first.
// Each parses back to its score.
var SurveyChoices = []string{"5分 非常满意", "4分 满意", "3分 一般", "2分 不满意", "1分 非常不满意"}

var zhDigits = map[rune]int{'一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5}

// starRunes are the star characters people send as a rating.
var starRunes = map[rune]bool{'⭐': true, '★': true, '🌟': true}

// maxScoreText is the longest message read as a score: a digit inside a
// longer text is about something else.
const maxScoreText = 24

// ParseScore reads a 1–5 satisfaction score from what a customer typed or
// tapped: 5, ５, 5分, 五分, 五, ⭐⭐⭐⭐, 「4分 满意」 (a menu tap), 给5分吧.
// It does not guess: a message with other numbers (an order ID, 3天没到),
// no number, or a number outside 1–5 is not a score.
func ParseScore(text string) (int, bool) {
	t := strings.TrimSpace(FoldWidth(text))
	if t == "" || utf8.RuneCountInString(t) > maxScoreText {
		return 0, false
	}
	t = strings.ReplaceAll(t, "\uFE0F", "") // emoji variation selector
	// Stars only.
	stars, other := 0, false
	for _, r := range t {
		switch {
		case starRunes[r]:
			stars++
		case r == '☆' || unicode.IsSpace(r) || unicode.IsPunct(r): // ★★★★☆ is 4
		default:
			other = true
		}
	}
	if stars > 0 && !other {
		if stars <= 5 {
			return stars, true
		}
		return 0, false
	}
	rs := []rune(t)
	// Digits: exactly one number in the text, and it is one digit.
	score, numbers := 0, 0
	for i := 0; i < len(rs); i++ {
		if rs[i] < '0' || rs[i] > '9' {
			continue
		}
		j := i
		for j < len(rs) && (rs[j] >= '0' && rs[j] <= '9' || rs[j] == '.') {
			j++
		}
		numbers++
		if j-i != 1 || !scoreUnitOK(rs, j) {
			return 0, false
		}
		score = int(rs[i] - '0')
		i = j - 1
	}
	if numbers > 1 {
		return 0, false
	}
	if numbers == 1 {
		if score < 1 || score > 5 {
			return 0, false
		}
		return score, true
	}
	// Chinese numerals: alone (五) or as a score (五分, 五星, 给四分).
	if n, ok := zhDigits[rs[0]]; ok && len(bareText(rs)) == 1 {
		return n, true
	}
	found := 0
	for i, r := range rs {
		n, ok := zhDigits[r]
		if !ok || i+1 >= len(rs) || (rs[i+1] != '分' && rs[i+1] != '星' && !(rs[i+1] == '颗' && i+2 < len(rs) && rs[i+2] == '星')) {
			continue
		}
		if found != 0 && found != n {
			return 0, false
		}
		found = n
	}
	if found > 0 {
		return found, true
	}
	return 0, false
}

// bareText is rs without spaces and punctuation.
func bareText(rs []rune) []rune {
	out := rs[:0:0]
	for _, r := range rs {
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r) {
			out = append(out, r)
		}
	}
	return out
}

// scoreUnitOK reports whether what follows a digit at rs[j] lets it be a
// score: nothing, 分 or 星, a space or punctuation, or a word — but not a
// unit that makes it a count (3天, 2个, 5元, 1号).
func scoreUnitOK(rs []rune, j int) bool {
	if j >= len(rs) {
		return true
	}
	switch rs[j] {
	case '分', '星', '颗':
		return true
	case '天', '个', '件', '元', '块', '号', '次', '月', '日', '年', '周', '点', '小', '斤', '岁', '箱', '瓶', '单', '%', '折', '倍', '位', '台', '条', '包', '盒', '双', '套', '张', '本', '米', '公', '千', '万', '百', '十', 'h', 'd', 'm', 'k', 'x', '*', '/', '-', ':', ',', '.':
		return false
	}
	return true
}

// SurveyStats summarises the surveys of one period.
type SurveyStats struct {
	Period Period
	// Sent counts questions sent in the period; Answered the answers
	// given in it, ScoreSum their total.
	Sent, Answered, ScoreSum int
	// Distribution is the answers per score, index 1–5.
	Distribution [6]int
	// ByTrigger splits Sent, Answered and ScoreSum by trigger.
	ByTrigger map[SurveyTrigger]SurveyTriggerStats
	// Skipped counts the surveys skipped in the period by reason,
	// undeliverable questions included under SkipUnreachable.
	Skipped map[SkipReason]int
	// Follow-up cases opened in the period, and of those closed within
	// their SLA, and still open.
	FollowUps, FollowUpsMet, FollowUpsOpen int
	Reminders                              int
	Expired                                int
}

// SurveyTriggerStats is one trigger's share of a period.
type SurveyTriggerStats struct {
	Sent, Answered, ScoreSum int
}

// Average returns the mean score, false without answers.
func (s SurveyStats) Average() (float64, bool) {
	if s.Answered == 0 {
		return 0, false
	}
	return float64(s.ScoreSum) / float64(s.Answered), true
}

// CSAT returns the share of answers scoring 4 or 5.
func (s SurveyStats) CSAT() (float64, bool) {
	if s.Answered == 0 {
		return 0, false
	}
	return float64(s.Distribution[4]+s.Distribution[5]) / float64(s.Answered), true
}

// ResponseRate returns answers / questions sent in the period.
func (s SurveyStats) ResponseRate() (float64, bool) {
	return Rate(s.Answered, s.Sent)
}

// SkippedTotal adds up the skipped surveys.
func (s SurveyStats) SkippedTotal() int {
	n := 0
	for _, v := range s.Skipped {
		n += v
	}
	return n
}

// SurveyVIP is a customer whose recent answers earn the benefit.
type SurveyVIP struct {
	OpenID     string
	CustomerID string
	Answers    int
	Average    float64
	Given      bool // the benefit for the month is marked given
}

// VIP rules: the average of a customer's last VIPWindow answers must
// reach TargetSatisfaction with at least VIPMinAnswers of them.
const (
	VIPWindow     = 5
	VIPMinAnswers = 3
)

// SortVIPs orders the list best first, then by OpenID.
func SortVIPs(vs []SurveyVIP) {
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].Average != vs[j].Average {
			return vs[i].Average > vs[j].Average
		}
		if vs[i].Answers != vs[j].Answers {
			return vs[i].Answers > vs[j].Answers
		}
		return vs[i].OpenID < vs[j].OpenID
	})
}

// FollowUpText is the body of a follow-up case: what the customer scored,
// about what, and what they said.
func FollowUpText(s Survey) string {
	about := "订单 " + s.Subject
	if s.Trigger == TriggerComplaint {
		about = "投诉 " + s.Subject
	}
	comment := s.Comment
	if comment == "" {
		comment = "（客户未说明原因）"
	}
	return fmt.Sprintf("满意度回访：评分 %d/5（%s）\n客户反馈：%s", s.Score, about, comment)
}
