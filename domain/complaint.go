package domain

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Category is what a complaint is about, as the monthly review groups them.
type Category string

// The complaint categories of the monthly review (投诉复盘).
const (
	CategoryQuality   Category = "商品质量"
	CategoryLogistics Category = "物流"
	CategoryAttitude  Category = "客服态度"
	CategoryRefund    Category = "退款售后"
	CategoryOrder     Category = "订单异常"
	CategoryOther     Category = "其他"
	// CategoryFollowUp is a follow-up case opened for a low survey score
	// (满意度回访), with its own policy.
	CategoryFollowUp Category = "满意度回访"
)

// Categories lists every category in the order reports show them.
var Categories = []Category{
	CategoryQuality, CategoryLogistics, CategoryAttitude, CategoryRefund, CategoryOrder, CategoryOther,
	CategoryFollowUp,
}

var categoryEnglish = map[Category]string{
	CategoryQuality: "quality", CategoryLogistics: "logistics", CategoryAttitude: "attitude",
	CategoryRefund: "refund", CategoryOrder: "order", CategoryOther: "other",
	CategoryFollowUp: "follow-up",
}

// English returns the category's one-word English name, for Slack.
func (c Category) English() string { return categoryEnglish[c] }

// Label shows the category to staff: "商品质量 (quality)".
func (c Category) Label() string { return string(c) + " (" + c.English() + ")" }

// categoryAliases are the other names staff type for a category.
var categoryAliases = map[string]Category{
	"质量": CategoryQuality, "商品": CategoryQuality, "quality": CategoryQuality, "product": CategoryQuality,
	"快递": CategoryLogistics, "物流/快递": CategoryLogistics, "logistics": CategoryLogistics,
	"courier": CategoryLogistics, "delivery": CategoryLogistics, "shipping": CategoryLogistics,
	"态度": CategoryAttitude, "attitude": CategoryAttitude, "service": CategoryAttitude,
	"退款": CategoryRefund, "售后": CategoryRefund, "退款/售后": CategoryRefund, "refund": CategoryRefund,
	"after-sales": CategoryRefund, "aftersales": CategoryRefund, "return": CategoryRefund,
	"订单": CategoryOrder, "order": CategoryOrder, "anomaly": CategoryOrder,
	"other": CategoryOther,
	"回访":    CategoryFollowUp, "满意度": CategoryFollowUp, "follow-up": CategoryFollowUp, "followup": CategoryFollowUp,
}

// ParseCategory accepts a category's Chinese name, its English name or a
// common alias ("快递", "refund").
func ParseCategory(s string) (Category, error) {
	s = strings.TrimSpace(s)
	for _, c := range Categories {
		if s == string(c) {
			return c, nil
		}
	}
	if c, ok := categoryAliases[strings.ToLower(s)]; ok {
		return c, nil
	}
	names := make([]string, len(Categories))
	for i, c := range Categories {
		names[i] = c.English()
	}
	return "", Invalidf("unknown category %q (want one of %s, or the Chinese name)", s, strings.Join(names, ", "))
}

// categoryRules classify a complaint by keywords. Every category scores
// the keywords its text contains, and the highest score wins; on a tie the
// more specific category, earlier here, wins: 发错了 is an order anomaly
// even if the text also says 快递. English keywords match whole words.
var categoryRules = []struct {
	cat   Category
	words []string
}{
	{CategoryOrder, []string{"重复下单", "重复扣款", "重复付款", "下了两次", "发错", "错发", "少发", "漏发", "多发", "订单异常", "订单错误", "订单有误", "地址错",
		"wrong item", "wrong size", "wrong colour", "wrong color", "wrong product", "charged twice", "double charged", "duplicate order",
		"missing item", "items missing", "wrong address", "order error"}},
	{CategoryRefund, []string{"退款", "退货", "售后", "换货", "退钱", "退换", "保修", "维修",
		"refund", "refunded", "return", "returns", "money back", "exchange", "warranty", "repair"}},
	{CategoryAttitude, []string{"态度", "不理人", "骂人", "不耐烦", "敷衍", "没人回复", "没人理",
		"rude", "attitude", "impolite", "unhelpful", "ignored", "no one replied", "nobody replied", "nobody answered", "no reply", "no response"}},
	{CategoryQuality, []string{"破损", "质量", "坏了", "坏掉", "碎了", "破了", "裂", "瑕疵", "假货", "过敏", "异味", "变质", "过期", "掉色", "不能用", "用不了", "次品",
		"broken", "broke", "damaged", "defective", "faulty", "quality", "cracked", "fake", "counterfeit", "not working", "doesn't work",
		"does not work", "stopped working", "torn", "expired", "allergic", "smells"}},
	{CategoryLogistics, []string{"快递", "物流", "没收到", "未收到", "收不到", "延迟", "未送达", "没送到", "送货", "配送", "发货慢", "还没发货", "没发货", "丢件", "丢了", "签收",
		"delivery", "delivered", "shipping", "shipped", "courier", "parcel", "package", "tracking", "never arrived", "not arrived",
		"hasn't arrived", "has not arrived", "not received", "haven't received", "have not received", "lost", "late"}},
}

// Classify guesses a complaint's category from its text by scoring the
// keywords of every category (so 质量 and 坏了 outweigh 没人理 in
// 「羽绒服质量太差了，拉链也坏了，联系了好几次都没人理」); agents can change
// it, and `complaint categories` counts how often they did.
func Classify(text string) Category {
	t := strings.ToLower(FoldKeywords(text))
	best, bestScore := CategoryOther, 0
	var matched []string
	for _, r := range categoryRules {
		score := 0
		for _, w := range r.words {
			if containsKeyword(t, w) && !insideMatched(w, matched) {
				matched = append(matched, w)
				score++
			}
		}
		if score > bestScore {
			best, bestScore = r.cat, score
		}
	}
	return best
}

// insideMatched reports whether w is part of a keyword already counted
// (没发货 inside 还没发货), so one phrase scores once.
func insideMatched(w string, matched []string) bool {
	for _, m := range matched {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// containsKeyword reports whether t contains w; an English w must be a
// whole word ("late" is not in "chocolate").
func containsKeyword(t, w string) bool {
	if !isASCII(w) {
		return strings.Contains(t, w)
	}
	for i := 0; ; {
		j := strings.Index(t[i:], w)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(w)
		before, after := rune(' '), rune(' ')
		if start > 0 {
			before = rune(t[start-1])
		}
		if end < len(t) {
			after = rune(t[end])
		}
		if !isWordChar(before) && !isWordChar(after) {
			return true
		}
		i = start + 1
	}
}

// ComplaintState is where a complaint is in its life.
type ComplaintState string

// Complaint states: open → claimed → resolved, and back by reopening.
const (
	ComplaintOpen     ComplaintState = "open"
	ComplaintClaimed  ComplaintState = "claimed"
	ComplaintResolved ComplaintState = "resolved"
)

// ComplaintSource is how a complaint reached the shop.
type ComplaintSource string

// Complaint sources.
const (
	SourceWeChat ComplaintSource = "wechat"
	SourcePhone  ComplaintSource = "phone"
	// SourceSurvey is a follow-up case opened for a low survey score. Its
	// resolution is not surveyed again.
	SourceSurvey ComplaintSource = "survey"
)

var numberRE = regexp.MustCompile(`^(?:TS-?)?([0-9]{8})-?([0-9]{4,6})$`)

// ComplaintNumber formats the number of the seq-th complaint of day:
// TS-20261122-0001. day must be in the shop's time zone.
func ComplaintNumber(day time.Time, seq int) string {
	return fmt.Sprintf("TS-%s-%04d", day.Format("20060102"), seq)
}

// ParseComplaintNumber normalises a complaint number as people type it
// (ts-20261122-0001, TS-20261122-1, 20261122-0001) or fails with ErrInvalid.
func ParseComplaintNumber(s string) (string, error) {
	t := strings.ToUpper(strings.TrimSpace(FoldWidth(s)))
	if m := numberRE.FindStringSubmatch(t); m != nil {
		seq, _ := strconv.Atoi(m[2])
		return fmt.Sprintf("TS-%s-%04d", m[1], seq), nil
	}
	// Short sequence numbers: TS-20261122-1.
	if parts := strings.Split(strings.TrimPrefix(t, "TS-"), "-"); len(parts) == 2 && len(parts[0]) == 8 && decimal(parts[0]) {
		if _, err := strconv.Atoi(parts[0]); err == nil {
			if seq, err := strconv.Atoi(parts[1]); err == nil && decimal(parts[1]) && seq > 0 && seq < 1000000 {
				return fmt.Sprintf("TS-%s-%04d", parts[0], seq), nil
			}
		}
	}
	return "", Invalidf("%q is not a complaint number (they look like TS-20261122-0001)", s)
}

// decimal reports whether s is a non-empty run of ASCII digits (no sign,
// which strconv.Atoi would take).
func decimal(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// ComplaintRef names a complaint's Slack post, for threads and updates.
func ComplaintRef(number string) string { return "complaint:" + number }

// NumberFromRef returns the complaint number a message ref names, if any.
func NumberFromRef(ref string) (string, bool) {
	n, ok := strings.CutPrefix(ref, "complaint:")
	return n, ok && n != ""
}

// SLAPolicy is how fast complaints of one category must be answered and
// resolved, and when agents are warned: at WarnPct percent of each window.
type SLAPolicy struct {
	Category Category
	Reply    time.Duration
	Resolve  time.Duration
	// ResolveWorkDays, when set, counts the resolve window in working
	// days of the business calendar (3wd) instead of Resolve.
	ResolveWorkDays int
	WarnPct         int
	UpdatedBy       string
	UpdatedAt       time.Time
}

// DefaultWarnPct is when agents are warned, as a share of the window.
const DefaultWarnPct = 75

// DefaultPolicies are the SLAs from the operating manual: reply within 24
// hours and resolve within 48, except after-sales requests (respond within
// 10 minutes) and order anomalies (respond within 10 minutes, resolve
// within 24 hours).
func DefaultPolicies() []SLAPolicy {
	out := make([]SLAPolicy, 0, len(Categories))
	for _, c := range Categories {
		p := SLAPolicy{Category: c, Reply: 24 * time.Hour, Resolve: 48 * time.Hour, WarnPct: DefaultWarnPct}
		switch c {
		case CategoryRefund:
			p.Reply = 10 * time.Minute
		case CategoryOrder:
			p.Reply, p.Resolve = 10*time.Minute, 24*time.Hour
		case CategoryFollowUp:
			// Feedback gets an answer within 3 working days.
			p.Resolve, p.ResolveWorkDays = 72*time.Hour, 3
		}
		out = append(out, p)
	}
	return out
}

// Validate checks that a policy makes sense.
func (p SLAPolicy) Validate() error {
	switch {
	case p.Reply < time.Minute:
		return Invalidf("the reply window must be at least 1 minute")
	case p.Resolve < p.Reply:
		return Invalidf("the resolve window (%s) cannot be shorter than the reply window (%s)", HumanDuration(p.Resolve), HumanDuration(p.Reply))
	case p.Resolve > 90*24*time.Hour:
		return Invalidf("the resolve window cannot be longer than 90 days")
	case p.WarnPct < 1 || p.WarnPct > 99:
		return Invalidf("the warning point must be between 1%% and 99%% of the window")
	}
	return nil
}

// ParseWorkDays parses a window in working days: 3wd, 3工作日.
func ParseWorkDays(s string) (int, bool) {
	t := strings.ToLower(strings.TrimSpace(FoldWidth(s)))
	for _, suf := range []string{"wd", "工作日", "个工作日"} {
		if n, ok := strings.CutSuffix(t, suf); ok {
			if d, err := strconv.Atoi(strings.TrimSpace(n)); err == nil && d > 0 && d <= 60 {
				return d, true
			}
		}
	}
	return 0, false
}

// ResolveLabel shows the resolve window: 48h, or 3 working days.
func (p SLAPolicy) ResolveLabel(format func(time.Duration) string) string {
	if p.ResolveWorkDays > 0 {
		return fmt.Sprintf("%d working days", p.ResolveWorkDays)
	}
	return format(p.Resolve)
}

// ParseSLADuration parses a window as admins type it: 24h, 10m, 2d, 1h30m,
// 90min.
func ParseSLADuration(s string) (time.Duration, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.ReplaceAll(t, "min", "m")
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n <= 90 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err == nil && d == 0 {
		return 0, Invalidf("%q is no time at all: a window must be at least 1 min (examples: 10m, 24h, 2d, 1h30m)", s)
	}
	if err != nil || d < 0 {
		return 0, Invalidf("%q is not a duration (examples: 10m, 24h, 2d, 1h30m)", s)
	}
	return d, nil
}

// Complaint is one customer complaint with its SLA clock.
type Complaint struct {
	ID       int64
	Number   string // TS-20261122-0001
	Source   ComplaintSource
	OpenID   string // the WeChat customer; "" for phone complaints
	Contact  string // phone or other contact, for phone complaints
	Order    string
	Category Category
	Text     string
	State    ComplaintState
	Assignee string // staff user ID, "" when unclaimed
	// CreatedBy is the agent who logged a phone complaint, or the OpenID.
	CreatedBy string
	CreatedAt time.Time

	// Fixed at creation from the category's policy.
	ReplyWarnAt, ReplyDue     time.Time
	ResolveWarnAt, ResolveDue time.Time

	FirstReplyAt time.Time
	ResolvedAt   time.Time
	ResolvedBy   string
	Outcome      string

	// When each warning and breach was recorded; zero until then.
	ReplyWarned, ReplyBreached     time.Time
	ResolveWarned, ResolveBreached time.Time
}

// ApplyPolicy fixes the due times from CreatedAt and the policy.
func (c *Complaint) ApplyPolicy(p SLAPolicy) {
	pct := p.WarnPct
	if pct <= 0 || pct >= 100 {
		pct = DefaultWarnPct
	}
	c.ReplyDue = c.CreatedAt.Add(p.Reply)
	c.ResolveDue = c.CreatedAt.Add(p.Resolve)
	c.ReplyWarnAt = c.CreatedAt.Add(p.Reply * time.Duration(pct) / 100)
	c.ResolveWarnAt = c.CreatedAt.Add(p.Resolve * time.Duration(pct) / 100)
}

// ApplyWorkDays moves the resolve deadline (and its warning) to the
// policy's working days on cal when it counts in working days: from a
// Friday afternoon before a holiday, 3wd ends after the holiday. known is
// false when the calendar did not know a year on the way.
func (c *Complaint) ApplyWorkDays(p SLAPolicy, cal *Calendar) (known bool) {
	if p.ResolveWorkDays <= 0 || cal == nil {
		return true
	}
	pct := p.WarnPct
	if pct <= 0 || pct >= 100 {
		pct = DefaultWarnPct
	}
	due, known := cal.AddWorkingDays(c.CreatedAt, p.ResolveWorkDays)
	c.ResolveDue = due
	c.ResolveWarnAt = c.CreatedAt.Add(due.Sub(c.CreatedAt) * time.Duration(pct) / 100)
	if c.ResolveDue.Before(c.ReplyDue) {
		c.ReplyDue = c.ResolveDue
	}
	return known
}

// Ref names the complaint's Slack post.
func (c Complaint) Ref() string { return ComplaintRef(c.Number) }

// Resolved reports whether the complaint is closed.
func (c Complaint) Resolved() bool { return c.State == ComplaintResolved }

// SLAClock names one of a complaint's two deadlines.
type SLAClock string

// The two deadlines.
const (
	ClockReply   SLAClock = "reply"
	ClockResolve SLAClock = "resolve"
)

// SLAStage is a warning before a deadline or the breach of it.
type SLAStage string

// SLA stages.
const (
	StageWarn   SLAStage = "warn"
	StageBreach SLAStage = "breach"
)

// SLAEvent is a warning or breach that has fallen due.
type SLAEvent struct {
	Clock SLAClock
	Stage SLAStage
	Due   time.Time // the deadline concerned
}

// DedupeKey makes the message announcing e for complaint number unique.
func (e SLAEvent) DedupeKey(number string) string {
	return "sla:" + number + ":" + string(e.Clock) + ":" + string(e.Stage)
}

type slaLeg struct {
	clock          SLAClock
	active         bool
	warnAt, due    time.Time
	warned, breach *time.Time
}

func (c *Complaint) legs() [2]slaLeg {
	return [2]slaLeg{
		{ClockReply, c.FirstReplyAt.IsZero() && !c.Resolved(), c.ReplyWarnAt, c.ReplyDue, &c.ReplyWarned, &c.ReplyBreached},
		{ClockResolve, !c.Resolved(), c.ResolveWarnAt, c.ResolveDue, &c.ResolveWarned, &c.ResolveBreached},
	}
}

// NextSLA returns when the complaint next needs the SLA job: its earliest
// warning or deadline not yet announced and still relevant. It is zero when
// nothing is left (resolved, or every deadline already breached).
func (c Complaint) NextSLA() time.Time {
	var next time.Time
	for _, l := range c.legs() {
		if !l.active || !l.breach.IsZero() {
			continue
		}
		t := l.due
		if l.warned.IsZero() && l.warnAt.Before(l.due) {
			t = l.warnAt
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

// DueAt records the warnings and breaches that have fallen due at time at
// and returns them, to be announced. A deadline found already passed is
// announced as a breach only: a warning then would be late news.
func (c *Complaint) DueAt(at time.Time) []SLAEvent {
	var out []SLAEvent
	for _, l := range c.legs() {
		if !l.active || !l.breach.IsZero() {
			continue
		}
		switch {
		case !at.Before(l.due):
			*l.breach = at
			if l.warned.IsZero() {
				*l.warned = at
			}
			out = append(out, SLAEvent{Clock: l.clock, Stage: StageBreach, Due: l.due})
		case l.warned.IsZero() && !at.Before(l.warnAt):
			*l.warned = at
			out = append(out, SLAEvent{Clock: l.clock, Stage: StageWarn, Due: l.due})
		}
	}
	return out
}

// Overdue reports whether a deadline has passed unmet at time at.
func (c Complaint) Overdue(at time.Time) bool {
	if c.Resolved() {
		return false
	}
	return at.After(c.ResolveDue) || (c.FirstReplyAt.IsZero() && at.After(c.ReplyDue))
}

// ReplyMet reports whether the first reply came in time; ok is false while
// it is still undecided (no reply yet and not yet due at time at).
func (c Complaint) ReplyMet(at time.Time) (met, ok bool) {
	if !c.FirstReplyAt.IsZero() {
		return !c.FirstReplyAt.After(c.ReplyDue), true
	}
	if at.After(c.ReplyDue) {
		return false, true
	}
	return false, false
}

// EventKind names an entry in a complaint's timeline.
type EventKind string

// Timeline entries.
const (
	EventCreated         EventKind = "created"
	EventClaimed         EventKind = "claimed"
	EventReplied         EventKind = "replied"
	EventNoted           EventKind = "noted"
	EventCustomerMessage EventKind = "customer_message"
	EventRecategorised   EventKind = "recategorised"
	EventWarned          EventKind = "warned"
	EventBreached        EventKind = "breached"
	EventResolved        EventKind = "resolved"
	EventReopened        EventKind = "reopened"
)

// ComplaintEvent is one entry in a complaint's timeline: who did what when.
type ComplaintEvent struct {
	ID          int64
	ComplaintID int64
	Kind        EventKind
	Actor       string // staff user ID, the customer's OpenID, or "opsbot"
	Detail      string
	At          time.Time
}

// ActorBot is the actor of what opsbot does by itself (SLA warnings).
const ActorBot = "opsbot"

func (c *Complaint) event(kind EventKind, by, detail string, at time.Time) ComplaintEvent {
	return ComplaintEvent{ComplaintID: c.ID, Kind: kind, Actor: by, Detail: detail, At: at}
}

// Claim makes by the complaint's assignee.
func (c *Complaint) Claim(by string, at time.Time) (ComplaintEvent, error) {
	if c.Resolved() {
		return ComplaintEvent{}, Invalidf("%s is resolved; reopen it first", c.Number)
	}
	if c.Assignee == by {
		return ComplaintEvent{}, Conflictf("%s is already claimed by you", c.Number)
	}
	detail := ""
	if c.Assignee != "" {
		detail = "taken over from " + c.Assignee
	}
	c.Assignee, c.State = by, ComplaintClaimed
	return c.event(EventClaimed, by, detail, at), nil
}

// Reply records an answer to the customer; the first one stops the reply
// clock.
func (c *Complaint) Reply(by, text string, at time.Time) ComplaintEvent {
	if c.FirstReplyAt.IsZero() {
		c.FirstReplyAt = at
	}
	return c.event(EventReplied, by, text, at)
}

// Note records an internal note; it does not count as a reply.
func (c *Complaint) Note(by, text string, at time.Time) ComplaintEvent {
	return c.event(EventNoted, by, text, at)
}

// CustomerMessage records more words from the customer.
func (c *Complaint) CustomerMessage(text string, at time.Time) ComplaintEvent {
	return c.event(EventCustomerMessage, c.OpenID, text, at)
}

// Recategorise changes the category. Due times stay as fixed at creation.
func (c *Complaint) Recategorise(cat Category, by string, at time.Time) (ComplaintEvent, error) {
	if cat == c.Category {
		return ComplaintEvent{}, Conflictf("%s is already %s", c.Number, cat.Label())
	}
	old := c.Category
	c.Category = cat
	return c.event(EventRecategorised, by, string(old)+" → "+string(cat), at), nil
}

// Resolve closes the complaint with its outcome. Telling the customer the
// outcome is a reply, so it stops the reply clock too.
func (c *Complaint) Resolve(by, outcome string, at time.Time) (ComplaintEvent, error) {
	if c.Resolved() {
		return ComplaintEvent{}, Conflictf("%s is already resolved", c.Number)
	}
	if strings.TrimSpace(outcome) == "" {
		return ComplaintEvent{}, Invalidf("say what was done (the outcome)")
	}
	if c.FirstReplyAt.IsZero() {
		c.FirstReplyAt = at
	}
	c.State, c.ResolvedAt, c.ResolvedBy, c.Outcome = ComplaintResolved, at, by, outcome
	return c.event(EventResolved, by, outcome, at), nil
}

// Reopen opens a resolved complaint again. Its due times do not move: a
// complaint reopened after its resolve deadline is overdue at once.
func (c *Complaint) Reopen(by, reason string, at time.Time) (ComplaintEvent, error) {
	if !c.Resolved() {
		return ComplaintEvent{}, Conflictf("%s is not resolved", c.Number)
	}
	c.State = ComplaintOpen
	if c.Assignee != "" {
		c.State = ComplaintClaimed
	}
	c.ResolvedAt, c.ResolvedBy, c.Outcome = time.Time{}, "", ""
	return c.event(EventReopened, by, reason, at), nil
}

// SLAEventRecord is the timeline entry for an SLA warning or breach.
func (c *Complaint) SLAEventRecord(e SLAEvent, at time.Time) ComplaintEvent {
	kind := EventWarned
	if e.Stage == StageBreach {
		kind = EventBreached
	}
	return c.event(kind, ActorBot, string(e.Clock)+" due "+e.Due.UTC().Format(time.RFC3339), at)
}

// ComplaintFilter selects complaints for a list.
type ComplaintFilter string

// List filters.
const (
	FilterOpen    ComplaintFilter = "open"
	FilterMine    ComplaintFilter = "mine"
	FilterOverdue ComplaintFilter = "overdue"
	FilterAll     ComplaintFilter = "all"
)

// ComplaintStats summarises the complaints created in one period.
type ComplaintStats struct {
	From, To   time.Time
	Total      int
	ByCategory map[Category]int
	// First replies: met in time, out of those decided (replied, or
	// unanswered past the deadline).
	ReplyMet, ReplyDecided     int
	ResolveMet, ResolveDecided int
	ReplyMedian, ReplyMean     time.Duration
	ResolveMedian, ResolveMean time.Duration
	// Open: still unresolved now; Overdue: of those, past a deadline.
	Open, Overdue int
}

// Rate returns met/decided as a fraction, and false when nothing is decided.
func Rate(met, decided int) (float64, bool) {
	if decided == 0 {
		return 0, false
	}
	return float64(met) / float64(decided), true
}

// MaskContact hides most of an OpenID or phone number for display:
// 138****5678, oAbC…wXyZ.
func MaskContact(s string) string {
	r := []rune(strings.TrimSpace(s))
	switch {
	case len(r) == 0:
		return ""
	case len(r) <= 4:
		return strings.Repeat("*", len(r))
	case len(r) <= 8:
		return string(r[:2]) + strings.Repeat("*", len(r)-4) + string(r[len(r)-2:])
	case allDigits(r):
		return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
	}
	return string(r[:4]) + "…" + string(r[len(r)-4:])
}

func allDigits(r []rune) bool {
	for _, c := range r {
		if c < '0' || c > '9' {
			if c != '+' && c != '-' && c != ' ' {
				return false
			}
		}
	}
	return true
}

// ComplaintChange is what a change to a complaint causes besides the change
// itself: timeline entries and messages, written in the same transaction.
type ComplaintChange struct {
	Events   []ComplaintEvent
	Messages []Outgoing
}
