package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Campaign preparation: templates of checklist items counted back from a
// campaign's start (T-14) or on from its last day (T+2), the due dates
// those give on the business calendar, reminders before an item falls due
// and one escalation once it is overdue.

// Offset is where an item falls relative to its campaign: Days before the
// start (negative or zero) or after the campaign's last day (positive), in
// calendar days or, when Working, in working days. "T-14", "T+2", "T-3wd".
type Offset struct {
	Days    int
	Working bool
}

// ParseOffset reads an offset as staff type it: T-14, T+2, T-3wd, T-1,
// T (the start day itself), also without the T (-14) and in full-width
// characters (Ｔ－１４). Offsets beyond a year are refused.
func ParseOffset(s string) (Offset, error) {
	orig := s
	s = strings.ToLower(strings.TrimSpace(FoldWidth(s)))
	s = strings.NewReplacer("−", "-", "–", "-", " ", "").Replace(s)
	s = strings.TrimPrefix(s, "t")
	var o Offset
	for _, suf := range []string{"wd", "w"} {
		if strings.HasSuffix(s, suf) {
			o.Working, s = true, strings.TrimSuffix(s, suf)
			break
		}
	}
	if s == "" || s == "0" || s == "-0" || s == "+0" {
		return Offset{}, nil // the day itself, in any count
	}
	if s[0] != '-' && s[0] != '+' {
		return Offset{}, Invalidf("%q is not an offset such as T-14, T+2 or T-3wd (working days)", cut(orig))
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n < 0 || n > 366 || strings.ContainsAny(s[1:], "+-") {
		return Offset{}, Invalidf("%q is not an offset such as T-14, T+2 or T-3wd (working days)", cut(orig))
	}
	if s[0] == '-' {
		n = -n
	}
	if n == 0 {
		return Offset{}, nil
	}
	o.Days = n
	return o, nil
}

// String shows the offset as ParseOffset reads it.
func (o Offset) String() string {
	s := "T"
	switch {
	case o.Days > 0:
		s += "+" + strconv.Itoa(o.Days)
	case o.Days < 0:
		s += strconv.Itoa(o.Days)
	}
	if o.Working {
		if o.Days == 0 {
			return "T"
		}
		s += "wd"
	}
	return s
}

// ItemDueHour is the hour of the due day by which an item should be done:
// the end of the working day. Reminders go out at RemindHour.
const (
	ItemDueHour = 18
	RemindHour  = 9
	// RemindWorkingDaysBefore is the early reminder: two working days
	// before the due day.
	RemindWorkingDaysBefore = 2
)

// DueDate is the day an item at offset o falls due for a campaign running
// from start to end (end exclusive; the last day is the day of end minus
// a moment). Negative offsets count back from the start day, positive ones
// on from the last day. A day that is not a working day moves to the
// working day before, unless keep (automatic actions, which opsbot does on
// any day: the customer notice goes out the day before a Saturday sale).
// known is false when an unknown calendar year was involved.
func (o Offset) DueDate(start, end time.Time, cal *Calendar, keep bool) (time.Time, bool) {
	loc := cal.loc
	base := Midnight(start, loc)
	if o.Days > 0 {
		base = LastDay(start, end, loc)
	}
	var d time.Time
	known := true
	if o.Working {
		d, known = cal.AddWorkingDays(base, o.Days)
	} else {
		d = base.AddDate(0, 0, o.Days)
	}
	if keep {
		_, k := cal.IsWorkingDay(d)
		return d, known && k
	}
	d, k := cal.PrevWorkingDay(d)
	return d, known && k
}

// LastDay is the midnight of a campaign's last day.
func LastDay(start, end time.Time, loc *time.Location) time.Time {
	if !end.After(start) {
		return Midnight(start, loc)
	}
	return Midnight(end.Add(-time.Nanosecond), loc)
}

// CampaignAction is what opsbot does itself for an item.
type CampaignAction string

// Automatic actions.
const (
	ActionNone CampaignAction = ""
	// ActionNotice sends the approved customer notice at the item's time
	// (T-1 at the hour the campaign starts: "明天10点…").
	ActionNotice CampaignAction = "notice"
	// ActionReview posts the review draft with the shop's numbers on the
	// morning of the item's day; its owner completes it.
	ActionReview CampaignAction = "review"
)

// ParseCampaignAction reads an action name.
func ParseCampaignAction(s string) (CampaignAction, error) {
	switch a := CampaignAction(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionNone, ActionNotice, ActionReview:
		return a, nil
	}
	return "", Invalidf("%q is not an action (notice or review)", cut(s))
}

// OwnerCampaign as an item's default owner means the campaign's owner.
const OwnerCampaign = "owner"

// TemplateItem is one line of a campaign template.
type TemplateItem struct {
	ID       int64
	Template string
	Position int
	Title    string
	Offset   Offset
	// Owner is a role name ("design", "cs-lead"), a person's user ID, or
	// OwnerCampaign (the default).
	Owner  string
	Action CampaignAction
}

// CampaignTemplate is a named checklist. A template with a Weekday and
// Time repeats: opsbot creates the next weeks' campaigns from it.
type CampaignTemplate struct {
	Name        string
	Description string
	Items       []TemplateItem
	Repeat      *Repeat
}

// Repeat is a weekly routine: every Weekday at Clock (HH:MM), a campaign
// named Name owned by Owner, Hours long, with an optional target.
type Repeat struct {
	Weekday time.Weekday
	Clock   string
	Owner   string
	Name    string
	Hours   int
	Target  int64 // fen
}

// ParseWeekday reads a weekday in English or Chinese (mon, monday, 周一, 星期一).
func ParseWeekday(s string) (time.Weekday, error) {
	s = strings.ToLower(strings.TrimSpace(FoldWidth(s)))
	zh := []string{"日", "一", "二", "三", "四", "五", "六"}
	for d := time.Sunday; d <= time.Saturday; d++ {
		en := strings.ToLower(d.String())
		if s == en || s == en[:3] || s == "周"+zh[d] || s == "星期"+zh[d] || (d == time.Sunday && (s == "周天" || s == "星期天")) {
			return d, nil
		}
	}
	return 0, Invalidf("%q is not a weekday (mon…sun or 周一…周日)", cut(s))
}

// ParseClock reads HH:MM.
func ParseClock(s string) (hour, min int, err error) {
	t, err := time.Parse("15:04", strings.TrimSpace(FoldWidth(s)))
	if err != nil {
		return 0, 0, Invalidf("%q is not a time of day such as 10:00", cut(s))
	}
	return t.Hour(), t.Minute(), nil
}

// ParseStart reads a campaign's start or end as staff type it: a date and
// a time ("2026-12-12 10:00", "2026-12-12T10:00") or a date alone
// (midnight), in loc.
func ParseStart(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(FoldWidth(s))
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			if t.Year() < 2000 || t.Year() > 2100 {
				break
			}
			return t, nil
		}
	}
	return time.Time{}, Invalidf("%q is not a date and time such as 2026-12-12 10:00", cut(s))
}

// ParseTarget reads a GMV target in yuan: 10000000, 1000万, 1.5亿, ¥50,000.
func ParseTarget(s string) (int64, error) {
	s = strings.TrimSpace(FoldWidth(s))
	s = strings.NewReplacer(",", "", "¥", "", "￥", "", "元", "").Replace(s)
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "万"):
		mult, s = 10000, strings.TrimSuffix(s, "万")
	case strings.HasSuffix(s, "亿"):
		mult, s = 100000000, strings.TrimSuffix(s, "亿")
	}
	fen, err := ParseYuan(s)
	if err != nil || fen <= 0 || fen > 1<<53/mult {
		return 0, Invalidf("%q is not a GMV target in yuan such as 10000000 or 1000万", cut(s))
	}
	return fen * mult, nil
}

// CampaignState is where a campaign is.
type CampaignState string

// Campaign states.
const (
	CampaignActive    CampaignState = "active"
	CampaignCancelled CampaignState = "cancelled"
)

// Campaign is a dated promotion with its checklist.
type Campaign struct {
	ID       int64
	Name     string
	Template string
	Start    time.Time
	End      time.Time // exclusive
	Target   int64     // GMV target, fen; 0 for none
	Owner    string
	State    CampaignState
	// Notice is the customer notice text; NoticeApprovedBy is set once
	// its owner approved this text (changing it withdraws approval).
	Notice           string
	NoticeApprovedBy string
	NoticeApprovedAt time.Time
	NoticeSentAt     time.Time
	NoticeQueued     int
	TallyPostedAt    time.Time
	// NextSummary is the next morning summary; zero when there is none.
	NextSummary time.Time
	Review      string
	ReviewedAt  time.Time
	CreatedBy   string
	CreatedAt   time.Time
	Items       []CampaignItem
}

// Ref names the campaign's Slack posts.
func (c Campaign) Ref() string { return "campaign:" + strconv.FormatInt(c.ID, 10) }

// Batch names the campaign's customer notice broadcast.
func (c Campaign) Batch() string { return "campaign:" + strconv.FormatInt(c.ID, 10) + ":notice" }

// Running reports whether the campaign is on at t.
func (c Campaign) Running(t time.Time) bool {
	return c.State == CampaignActive && !t.Before(c.Start) && t.Before(c.End)
}

// SummaryUntil is the last moment morning summaries are posted: the end of
// the review day, two days after the campaign's last day.
func (c Campaign) SummaryUntil(loc *time.Location) time.Time {
	return LastDay(c.Start, c.End, loc).AddDate(0, 0, 3)
}

// NextSummaryAfter returns the next morning after t on which the campaign
// gets a summary — working days, and every day the campaign runs (a
// Saturday sale gets one) — or zero once its review day has passed.
func (c Campaign) NextSummaryAfter(t time.Time, cal *Calendar) time.Time {
	if c.State != CampaignActive {
		return time.Time{}
	}
	loc := cal.loc
	d := Midnight(t, loc)
	next := time.Date(d.Year(), d.Month(), d.Day(), RemindHour, 0, 0, 0, loc)
	for i := 0; i < 400 && !next.After(t); i++ {
		next = next.AddDate(0, 0, 1)
	}
	first, last := Midnight(c.Start, loc), LastDay(c.Start, c.End, loc)
	for i := 0; i < 30; i++ {
		running := !next.Before(first) && !next.After(last.Add(24*time.Hour-time.Nanosecond))
		if w, _ := cal.IsWorkingDay(next); w || running {
			break
		}
		next = next.AddDate(0, 0, 1)
	}
	if !next.Before(c.SummaryUntil(loc)) {
		return time.Time{}
	}
	return next
}

// CampaignItem is one checklist item of a campaign.
type CampaignItem struct {
	ID         int64
	CampaignID int64
	Position   int
	Title      string
	Offset     Offset
	Owner      string
	Action     CampaignAction
	Due        time.Time // ItemDueHour on the due day; the action's time for automatic items
	// RemindEarly and RemindDay are when the owner is reminded; zero for
	// automatic items.
	RemindEarly, RemindDay time.Time
	// When each reminder went out, the escalation, the action.
	EarlySent, DaySent, Escalated, Acted time.Time
	DoneAt                               time.Time
	DoneBy                               string
}

// Done reports whether the item is finished.
func (it CampaignItem) Done() bool { return !it.DoneAt.IsZero() }

// Overdue reports whether the item is open past its due time.
func (it CampaignItem) Overdue(at time.Time) bool { return !it.Done() && at.After(it.Due) }

// Late reports whether the item was finished after its due time.
func (it CampaignItem) Late() bool { return it.Done() && it.DoneAt.After(it.Due) }

// Schedule sets the item's due time and reminders for a campaign running
// from start to end, on cal, and clears the record of reminders already
// sent for an earlier date. Automatic items fall due at the campaign's
// hour (the notice goes out 24 hours before a 10:00 start) on any day;
// the others at ItemDueHour on a working day, reminded RemindWorkingDaysBefore
// working days before and on the morning of the day. known is false
// when an unknown calendar year was involved.
func (it *CampaignItem) Schedule(start, end time.Time, cal *Calendar) bool {
	loc := cal.loc
	auto := it.Action == ActionNotice
	d, known := it.Offset.DueDate(start, end, cal, auto)
	at := func(day time.Time, h, m int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
	}
	old := it.Due
	st := start.In(loc)
	if auto {
		// The owner is asked to approve the notice two working days ahead
		// (if it is not approved by then); it goes out at the campaign's hour.
		it.Due = at(d, st.Hour(), st.Minute())
		early, _ := cal.AddWorkingDays(d, -RemindWorkingDaysBefore)
		it.RemindEarly, it.RemindDay = at(early, RemindHour, 0), time.Time{}
	} else {
		it.Due = at(d, ItemDueHour, 0)
		early, _ := cal.AddWorkingDays(d, -RemindWorkingDaysBefore)
		it.RemindEarly = at(early, RemindHour, 0)
		it.RemindDay = at(d, RemindHour, 0)
	}
	if !old.IsZero() && !old.Equal(it.Due) {
		it.EarlySent, it.DaySent, it.Escalated, it.Acted = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	}
	return known
}

// ItemEvent is something the reminder job does for an item.
type ItemEvent string

// Item events.
const (
	EventRemindEarly ItemEvent = "remind-early"
	EventRemindDay   ItemEvent = "remind-day"
	EventEscalate    ItemEvent = "escalate"
	EventAct         ItemEvent = "act"
)

// DueAt returns what is due for the item at time at, and records it on
// the item (the caller saves the item in the same transaction as the
// messages, which is what makes each go out once). Reminders whose time
// passed unnoticed are not sent late once a later one is due: an overdue
// item is escalated, not reminded. Done items have nothing due.
func (it *CampaignItem) DueAt(at time.Time) []ItemEvent {
	if it.Done() {
		return nil
	}
	if it.Action == ActionNotice {
		switch {
		case it.Acted.IsZero() && !at.Before(it.Due):
			it.Acted = at
			if it.EarlySent.IsZero() {
				it.EarlySent = at
			}
			return []ItemEvent{EventAct}
		case it.EarlySent.IsZero() && !it.RemindEarly.IsZero() && !at.Before(it.RemindEarly):
			it.EarlySent = at
			return []ItemEvent{EventRemindEarly}
		}
		return nil
	}
	var evs []ItemEvent
	if it.Action == ActionReview && it.Acted.IsZero() && !at.Before(it.RemindDay) {
		it.Acted = at
		evs = append(evs, EventAct)
	}
	skip := func(t *time.Time) {
		if t.IsZero() {
			*t = at
		}
	}
	switch {
	case at.After(it.Due):
		if it.Escalated.IsZero() {
			it.Escalated = at
			evs = append(evs, EventEscalate)
		}
		skip(&it.EarlySent)
		skip(&it.DaySent)
	case !at.Before(it.RemindDay):
		if it.DaySent.IsZero() {
			it.DaySent = at
			evs = append(evs, EventRemindDay)
		}
		skip(&it.EarlySent)
	case !at.Before(it.RemindEarly):
		if it.EarlySent.IsZero() {
			it.EarlySent = at
			evs = append(evs, EventRemindEarly)
		}
	}
	return evs
}

// NextCheck is when the reminder job next has something to do for the
// item; zero when nothing is left (done, or escalated and acted).
func (it CampaignItem) NextCheck() time.Time {
	if it.Done() {
		return time.Time{}
	}
	if it.Action == ActionNotice {
		if !it.Acted.IsZero() {
			return time.Time{}
		}
		if it.EarlySent.IsZero() && !it.RemindEarly.IsZero() && it.RemindEarly.Before(it.Due) {
			return it.RemindEarly
		}
		return it.Due
	}
	var next time.Time
	consider := func(sent, when time.Time) {
		if sent.IsZero() && !when.IsZero() && (next.IsZero() || when.Before(next)) {
			next = when
		}
	}
	consider(it.EarlySent, it.RemindEarly)
	consider(it.DaySent, it.RemindDay)
	if it.Action == ActionReview {
		consider(it.Acted, it.RemindDay)
	}
	if it.Escalated.IsZero() {
		// Escalation is due just after the due time.
		consider(time.Time{}, it.Due.Add(time.Second))
	}
	return next
}

// ParseItemRef reads an item's number as staff type it: 123 or #123.
func ParseItemRef(s string) (int64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(FoldWidth(s)), "#")
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, Invalidf("%q is not an item number (they look like #123; `campaign show` lists them)", cut(s))
	}
	return n, nil
}

// CampaignCommand is one parsed `campaign new` line.
type CampaignCommand struct {
	Name     string
	Start    time.Time
	End      time.Time
	Template string
	Target   int64
	Owner    string
}

// ParseCampaignNew reads the words of `campaign new <name> <YYYY-MM-DD HH:MM>
// [end <YYYY-MM-DD HH:MM>] template=<t> target=<GMV> owner=<user>`. The end
// may also be given as end=YYYY-MM-DD[THH:MM]. Without an end the campaign
// lasts until the end of its start day.
func ParseCampaignNew(words []string, loc *time.Location) (CampaignCommand, error) {
	var c CampaignCommand
	var pos []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			pos = append(pos, w)
			continue
		}
		var err error
		switch strings.ToLower(k) {
		case "template", "t", "模板":
			c.Template = strings.ToLower(strings.TrimSpace(v))
		case "target", "目标":
			c.Target, err = ParseTarget(v)
		case "owner", "负责人":
			c.Owner = strings.TrimSpace(v)
		case "end", "结束":
			c.End, err = ParseStart(strings.Replace(v, "T", " ", 1), loc)
		case "start", "开始":
			pos = append(pos, v)
		default:
			return c, Invalidf("unknown field %q: use template=, target=, owner= and end=", cut(k))
		}
		if err != nil {
			return c, err
		}
	}
	if len(pos) == 0 {
		return c, Invalidf("give the campaign a name and a start such as 2026-12-12 10:00")
	}
	c.Name, pos = pos[0], pos[1:]
	if err := ValidCampaignName(c.Name); err != nil {
		return c, err
	}
	if len(pos) == 0 {
		return c, Invalidf("say when %s starts, such as 2026-12-12 10:00", cut(c.Name))
	}
	take := func() (time.Time, error) {
		if len(pos) >= 2 && !strings.EqualFold(pos[1], "end") && strings.Contains(pos[1], ":") {
			t, err := ParseStart(pos[0]+" "+pos[1], loc)
			pos = pos[2:]
			return t, err
		}
		t, err := ParseStart(pos[0], loc)
		pos = pos[1:]
		return t, err
	}
	var err error
	if c.Start, err = take(); err != nil {
		return c, err
	}
	if len(pos) > 0 && strings.EqualFold(pos[0], "end") {
		pos = pos[1:]
		if len(pos) == 0 {
			return c, Invalidf("say when the campaign ends after end")
		}
		if c.End, err = take(); err != nil {
			return c, err
		}
	}
	if len(pos) > 0 {
		return c, Invalidf("did not understand %q", cut(strings.Join(pos, " ")))
	}
	if c.End.IsZero() {
		c.End = Midnight(c.Start, loc).AddDate(0, 0, 1)
	}
	if !c.End.After(c.Start) {
		return c, Invalidf("the campaign must end after it starts")
	}
	if c.End.Sub(c.Start) > 62*24*time.Hour {
		return c, Invalidf("a campaign lasts at most two months")
	}
	return c, nil
}

// ValidCampaignName checks a name: one word (no spaces), not only digits
// (numbers are campaign IDs), at most 40 characters.
func ValidCampaignName(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\n=#") || len([]rune(s)) > 40 {
		return Invalidf("%q is not a campaign name: one word of at most 40 characters, such as 双12", cut(s))
	}
	if _, err := strconv.Atoi(s); err == nil {
		return Invalidf("a campaign name cannot be a number (numbers name campaigns by ID): %q", s)
	}
	if _, err := ParseStart(s, time.UTC); err == nil {
		return Invalidf("%q looks like a date: give the campaign a name first, such as 双12", s)
	}
	return nil
}

// Pace is how a running campaign stands against its target.
type Pace struct {
	GMV, Target int64
	// Elapsed is the share of the campaign's time gone (0–1).
	Elapsed float64
	// Projected is the GMV at the end if the pace so far holds.
	Projected int64
	// NeededPerHour is the GMV per hour the rest of the campaign needs to
	// reach the target; 0 when reached or over.
	NeededPerHour int64
	// PerHour is the GMV per hour so far.
	PerHour int64
}

// PaceAt computes the pace of a campaign at t with gmv so far.
func PaceAt(c Campaign, gmv int64, t time.Time) Pace {
	p := Pace{GMV: gmv, Target: c.Target}
	total := c.End.Sub(c.Start)
	gone := t.Sub(c.Start)
	if gone < 0 {
		gone = 0
	}
	if gone > total {
		gone = total
	}
	if total > 0 {
		p.Elapsed = float64(gone) / float64(total)
	}
	if h := gone.Hours(); h > 0 {
		p.PerHour = int64(float64(gmv) / h)
	}
	if p.Elapsed > 0 {
		p.Projected = int64(float64(gmv) / p.Elapsed)
	}
	if left := (total - gone).Hours(); left > 0 && c.Target > gmv {
		p.NeededPerHour = int64(float64(c.Target-gmv) / left)
	}
	return p
}

// Attainment is GMV as a share of the target, as text: "82.5%".
func Attainment(gmv, target int64) string {
	if target <= 0 {
		return "no target"
	}
	return fmt.Sprintf("%.1f%%", float64(gmv)*100/float64(target))
}
