package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The complaint desk as a team uses it: list queries, phone numbers,
// durations as people write them, and the customer's follow-ups.

// FilterAtRisk selects open complaints whose next deadline is near (within
// AtRiskWindow) or whose warning point has passed, but not yet missed.
const FilterAtRisk ComplaintFilter = "at-risk"

// AtRiskWindow is how near a deadline makes an open complaint at risk.
const AtRiskWindow = 4 * time.Hour

// FollowUpWindow is how long after its resolution a customer's message
// still reaches a complaint.
const FollowUpWindow = 7 * 24 * time.Hour

// ComplaintQuery is what `complaint list` asks for: one filter, narrowed by
// category, assignee and creation dates, one page at a time.
type ComplaintQuery struct {
	Filter   ComplaintFilter // open (default), mine, overdue, at-risk, all
	Category Category        // "" for any
	Assignee string          // staff user ID; "none" for unclaimed; "" for any
	From, To time.Time       // created in [From, To); zero for open-ended
	Page     int             // 1-based
}

// ListUsage is the usage line of `complaint list`.
const ListUsage = "complaint list [open|mine|overdue|at-risk|all] [category=<category>] [assignee=<@user>|me|none] [from=YYYY-MM-DD] [to=YYYY-MM-DD] [page=N]"

// ParseComplaintQuery parses the words after `complaint list`. Dates are
// days in loc; to= includes its day. Anything it does not know is an error
// saying which word, so a typo never silently lists something else. New
// filters are one more case in the switch.
func ParseComplaintQuery(args []string, loc *time.Location) (ComplaintQuery, error) {
	q := ComplaintQuery{Filter: FilterOpen, Page: 1}
	filterSet := false
	for _, a := range args {
		a = strings.TrimSpace(FoldWidth(a))
		if a == "" {
			continue
		}
		key, val, isKV := strings.Cut(a, "=")
		if !isKV {
			f := ComplaintFilter(strings.ToLower(a))
			if f == "atrisk" || f == "at_risk" || f == "risk" {
				f = FilterAtRisk
			}
			switch f {
			case FilterOpen, FilterMine, FilterOverdue, FilterAtRisk, FilterAll:
				if filterSet && f != q.Filter {
					return q, Invalidf("choose one of open, mine, overdue, at-risk or all, not both %s and %s", q.Filter, f)
				}
				q.Filter, filterSet = f, true
				continue
			}
			return q, Invalidf("unknown word %q: say open, mine, overdue, at-risk or all, and narrow with category=, assignee=, from=, to= or page=", a)
		}
		val = strings.TrimSpace(val)
		if val == "" {
			return q, Invalidf("%s= needs a value", key)
		}
		switch strings.ToLower(key) {
		case "category", "cat", "分类":
			c, err := ParseCategory(val)
			if err != nil {
				return q, err
			}
			q.Category = c
		case "assignee", "agent", "who":
			q.Assignee = StaffID(val)
			if q.Assignee == "" {
				return q, Invalidf("assignee=%s is not a user (use a mention, a user ID, me or none)", val)
			}
		case "from", "since":
			d, err := parseDay(val, loc)
			if err != nil {
				return q, err
			}
			q.From = d
		case "to", "until":
			d, err := parseDay(val, loc)
			if err != nil {
				return q, err
			}
			q.To = d.AddDate(0, 0, 1)
		case "page", "p":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 10000 {
				return q, Invalidf("page=%s is not a page number (1, 2, …)", val)
			}
			q.Page = n
		default:
			return q, Invalidf("unknown filter %q: use category=, assignee=, from=, to= or page=", key+"=")
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return q, Invalidf("from= is after to=")
	}
	return q, nil
}

// Args is the query as `complaint list` words, page included: what a More
// button carries.
func (q ComplaintQuery) Args(loc *time.Location) []string {
	f := q.Filter
	if f == "" {
		f = FilterOpen
	}
	out := []string{string(f)}
	if q.Category != "" {
		out = append(out, "category="+q.Category.English())
	}
	if q.Assignee != "" {
		out = append(out, "assignee="+q.Assignee)
	}
	if !q.From.IsZero() {
		out = append(out, "from="+q.From.In(loc).Format("2006-01-02"))
	}
	if !q.To.IsZero() {
		out = append(out, "to="+q.To.In(loc).AddDate(0, 0, -1).Format("2006-01-02"))
	}
	if q.Page > 1 {
		out = append(out, "page="+strconv.Itoa(q.Page))
	}
	return out
}

func parseDay(s string, loc *time.Location) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006/01/02", "20060102", "2006-1-2"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, Invalidf("%q is not a date (write it as 2026-11-22)", s)
}

// StaffID reads a staff member as people type them: a Slack mention
// <@U123|alice>, @U123, a plain ID, "me" or "none". It returns "" for
// nothing usable.
func StaffID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	s = strings.TrimPrefix(s, "@")
	if i := strings.IndexByte(s, '|'); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSpace(s)
	if l := strings.ToLower(s); l == "me" || l == "none" {
		return l
	}
	if s == "" || strings.ContainsAny(s, " \t<>@|") {
		return ""
	}
	return s
}

// HumanDuration shows a duration as people write it: "30 min", "1 h",
// "1 h 30 min", "3 d 2 h". It rounds to the minute; under a minute is
// "0 min".
func HumanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if d < 72*time.Hour { // 24 h and 48 h read better than 1 d and 2 d
		days, hours = 0, int(d/time.Hour)
	}
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%d d", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%d h", hours))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d min", mins))
	}
	return strings.Join(parts, " ")
}

// ParsePhone checks a customer's phone number as people write it and
// returns it normalised: a mainland mobile (13800138000, +86 138 0013
// 8000, 138-0013-8000) becomes 11 digits; a landline with its area code
// (010-12345678, (0571) 8765 4321, +86 10 1234 5678) becomes
// "010-12345678"; 400/800 service numbers become "400-123-4567".
func ParsePhone(s string) (string, error) {
	bad := Invalidf("%q is not a phone number; write a mobile like 13800138000 or +86 138 0013 8000, or a landline with its area code like 010-12345678", s)
	t := strings.TrimSpace(FoldWidth(s))
	if t == "" || len(t) > 40 {
		return "", bad
	}
	intl := false
	var digits []byte
	for i, r := range t {
		switch {
		case r >= '0' && r <= '9':
			digits = append(digits, byte(r))
		case r == '+' && i == 0:
			intl = true
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", bad
		}
	}
	d := string(digits)
	switch {
	case intl && strings.HasPrefix(d, "86"):
		d = d[2:]
	case intl:
		return "", Invalidf("%q is not a mainland China number (+86); write it as the customer gave it in the description instead", s)
	case strings.HasPrefix(d, "0086"):
		d = d[4:]
	case strings.HasPrefix(d, "86") && len(d) == 13 && d[2] == '1':
		d = d[2:]
	}
	if intl || strings.HasPrefix(string(digits), "0086") {
		if len(d) > 0 && d[0] != '0' && !(len(d) == 11 && d[0] == '1') {
			d = "0" + d // +86 10 12345678 is 010-12345678
		}
	}
	switch {
	case len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9':
		return d, nil
	case len(d) == 10 && (strings.HasPrefix(d, "400") || strings.HasPrefix(d, "800")):
		return d[:3] + "-" + d[3:6] + "-" + d[6:], nil
	case len(d) >= 10 && len(d) <= 12 && d[0] == '0' && d[1] != '0':
		// Area codes: 010 and 02X have 3 digits with 8-digit numbers;
		// the others have 4 with 7 or 8.
		area := 4
		if d[1] == '1' || d[1] == '2' {
			area = 3
		}
		local := d[area:]
		if len(local) < 7 || len(local) > 8 || local[0] == '0' {
			return "", bad
		}
		return d[:area] + "-" + local, nil
	}
	return "", bad
}

// traditional maps the Traditional characters of the words customers type
// to opsbot (投訴, 進度, 查詢, 幫助, 謝謝, 轉人工, 撤銷) and of the complaint
// categories' keywords to Simplified, rune for rune.
var traditional = map[rune]rune{
	'訴': '诉', '進': '进', '詢': '询', '幫': '帮', '謝': '谢', '轉': '转', '銷': '销', '確': '确', '認': '认', '處': '处', '還': '还', '沒': '没',
	'貨': '货', '質': '质', '壞': '坏', '態': '态', '換': '换', '訂': '订', '單': '单', '遞': '递', '發': '发', '錯': '错', '買': '买', '賣': '卖',
	'這': '这', '個': '个', '們': '们', '請': '请', '問': '问', '說': '说', '號': '号', '嗎': '吗', '麼': '么', '為': '为', '務': '务', '評': '评',
	'價': '价', '調': '调', '錢': '钱', '後': '后', '際': '际', '裡': '里', '紹': '绍', '複': '复', '購': '购', '運': '运', '費': '费', '損': '损',
	'過': '过', '異': '异', '變': '变', '遲': '迟', '達': '达', '簽': '签', '丟': '丢', '罵': '骂', '煩': '烦', '維': '维', '聯': '联', '繫': '系',
	'係': '系', '戶': '户', '談': '谈', '話': '话', '電': '电', '幣': '币', '歡': '欢', '會': '会', '員': '员', '優': '优', '見': '见', '從': '从',
	'對': '对', '錄': '录', '線': '线', '讓': '让', '麽': '么', '帳': '账', '賬': '账', '長': '长', '時': '时', '間': '间', '應': '应', '經': '经',
	'東': '东', '舊': '旧', '壓': '压', '爛': '烂', '開': '开', '關': '关', '門': '门', '點': '点', '結': '结', '體': '体', '驗': '验', '極': '极',
	'滿': '满', '無': '无', '卻': '却', '給': '给', '車': '车', '貼': '贴', '標': '标', '籤': '签',
}

// FoldTraditional turns the Traditional characters of opsbot's keywords
// into Simplified ones, rune for rune (so offsets into the text stay
// valid), for keyword matching and classification.
func FoldTraditional(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if s, ok := traditional[r]; ok {
			return s
		}
		return r
	}, s)
}

// FoldKeywords is how customer text is matched against keywords: full
// width folded to ASCII and Traditional characters to Simplified, rune for
// rune.
func FoldKeywords(s string) string { return FoldTraditional(FoldWidth(s)) }

// isWordChar is what an English keyword must not touch on either side.
func isWordChar(r rune) bool {
	return r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// DeskStats is a period's complaint statistics as the desk reads them.
type DeskStats struct {
	ComplaintStats
	// AtRisk: unresolved, not yet late, with a deadline within
	// AtRiskWindow or past its warning point. Breached: a deadline missed
	// (late or still not met).
	AtRisk, Breached int
	ByAgent          []AgentStats
}

// AgentStats is one agent's share of a period's complaints ("" is
// unclaimed).
type AgentStats struct {
	Agent                      string
	Total, Resolved            int
	ReplyMet, ReplyDecided     int
	ResolveMet, ResolveDecided int
	ResolveMedian              time.Duration
}

// CategoryCorrection is how often agents changed a category the rules
// chose: of Total complaints first given Category, Corrected were moved,
// To counts where.
type CategoryCorrection struct {
	Category         Category
	Total, Corrected int
	To               map[Category]int
}

// EventWithdrawn is the timeline entry of a complaint the customer
// withdrew.
const EventWithdrawn EventKind = "withdrawn"

// WithdrawnOutcome is the outcome of a withdrawn complaint.
const WithdrawnOutcome = "客户撤销投诉"

// Withdraw closes an open complaint at its customer's request. It counts
// as resolved (nothing is left to do) with the customer as resolver.
func (c *Complaint) Withdraw(at time.Time) (ComplaintEvent, error) {
	if c.Resolved() {
		return ComplaintEvent{}, Conflictf("%s is already closed", c.Number)
	}
	if c.OpenID == "" {
		return ComplaintEvent{}, Invalidf("%s is a phone complaint; only WeChat customers withdraw their own", c.Number)
	}
	c.State, c.ResolvedAt, c.ResolvedBy, c.Outcome = ComplaintResolved, at, c.OpenID, WithdrawnOutcome
	return c.event(EventWithdrawn, c.OpenID, "", at), nil
}

// Withdrawn reports whether the customer withdrew the complaint.
func (c Complaint) Withdrawn() bool {
	return c.Resolved() && c.OpenID != "" && c.ResolvedBy == c.OpenID
}

// eventLabels are the timeline's words for each kind of entry.
var eventLabels = map[EventKind]string{
	EventCreated: "created", EventClaimed: "claimed", EventReplied: "replied", EventNoted: "noted",
	EventCustomerMessage: "message from the customer", EventRecategorised: "category changed",
	EventWarned: "SLA warning", EventBreached: "SLA breached", EventResolved: "resolved",
	EventReopened: "reopened", EventWithdrawn: "withdrawn",
}

// Label is how the timeline shows an entry's kind: "message from the
// customer", never customer_message.
func (k EventKind) Label() string {
	if l, ok := eventLabels[k]; ok {
		return l
	}
	return strings.ReplaceAll(string(k), "_", " ")
}
