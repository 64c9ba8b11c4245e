package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		text string
		want Category
	}{
		{"订单 20261111001 收到的杯子碎了", CategoryQuality},
		{"商品收到时破损", CategoryQuality},
		{"面膜用了过敏", CategoryQuality},
		{"质量太差了", CategoryQuality},
		{"快递延迟3天未送达", CategoryLogistics},
		{"一直没收到货", CategoryLogistics},
		{"物流信息一周没更新", CategoryLogistics},
		{"客服态度很差", CategoryAttitude},
		{"申请退款三天了还没到账", CategoryRefund},
		{"想退货怎么操作", CategoryRefund},
		{"售后一直不处理", CategoryRefund},
		{"重复下单扣了两次钱", CategoryOrder},
		{"发错了颜色", CategoryOrder},
		{"少发了一件", CategoryOrder},
		{"发错货了，快递还很慢", CategoryOrder}, // the specific rule wins
		{"你们的活动规则看不懂", CategoryOther},
		{"", CategoryOther},
		{"😡😡😡", CategoryOther},
		{"'; DROP TABLE complaints; --", CategoryOther},
	}
	for _, tt := range tests {
		if got := Classify(tt.text); got != tt.want {
			t.Errorf("Classify(%q) = %s, want %s", tt.text, got, tt.want)
		}
	}
}

func TestExtractOrder(t *testing.T) {
	tests := []struct{ text, want string }{
		{"投诉 订单 20261111001 收到的杯子碎了", "20261111001"},
		{"订单20261111001杯子碎了", "20261111001"},
		{"订单号:20261111001", "20261111001"},
		{"订单号：20261111001", "20261111001"},
		{"订单编号 ＃２０２６１１１１００１", "20261111001"},
		{"order #A2026-11-11-001 broken", "A2026-11-11-001"},
		{"我买的东西 202611110012345 坏了", "202611110012345"},
		{"电话13800138000 没收到", ""}, // a mobile number is not an order
		{"电话13800138000 单 2026111100199", "2026111100199"},
		{"订单还没到", ""}, // 订单 without a number
		{"杯子碎了", ""},
		{"123456789", ""}, // too short
	}
	for _, tt := range tests {
		if got := ExtractOrder(tt.text); got != tt.want {
			t.Errorf("ExtractOrder(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestParseComplaintNumber(t *testing.T) {
	tests := []struct{ in, want string }{
		{"TS-20261122-0001", "TS-20261122-0001"},
		{"ts-20261122-0001", "TS-20261122-0001"},
		{" TS-20261122-1 ", "TS-20261122-0001"},
		{"20261122-0042", "TS-20261122-0042"},
		{"TS-20261122-12345", "TS-20261122-12345"},
		{"ＴＳ－２０２６１１２２－０００１", "TS-20261122-0001"},
	}
	for _, tt := range tests {
		got, err := ParseComplaintNumber(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseComplaintNumber(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "TS-", "TS-2026-0001", "hello", "TS-20261122-", "1; DROP TABLE", "TS-20261122-abcd"} {
		if got, err := ParseComplaintNumber(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseComplaintNumber(%q) = %q, %v; want ErrInvalid", bad, got, err)
		}
	}
	day := time.Date(2026, 11, 22, 23, 59, 0, 0, time.FixedZone("CST", 8*3600))
	if got := ComplaintNumber(day, 7); got != "TS-20261122-0007" {
		t.Errorf("ComplaintNumber = %s", got)
	}
}

func TestParseCategory(t *testing.T) {
	for in, want := range map[string]Category{
		"商品质量": CategoryQuality, "quality": CategoryQuality, "Logistics": CategoryLogistics, "快递": CategoryLogistics,
		"退款": CategoryRefund, "订单异常": CategoryOrder, " other ": CategoryOther, "attitude": CategoryAttitude,
	} {
		if got, err := ParseCategory(in); err != nil || got != want {
			t.Errorf("ParseCategory(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseCategory("weather"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseCategory(weather) = %v, want ErrInvalid", err)
	}
}

func TestParseSLADuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"24h": 24 * time.Hour, "10m": 10 * time.Minute, "2d": 48 * time.Hour, "1h30m": 90 * time.Minute, "90min": 90 * time.Minute,
	} {
		if got, err := ParseSLADuration(in); err != nil || got != want {
			t.Errorf("ParseSLADuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "-1h", "0", "100d"} {
		if _, err := ParseSLADuration(bad); err == nil {
			t.Errorf("ParseSLADuration(%q) succeeded", bad)
		}
	}
}

func TestDefaultPoliciesValid(t *testing.T) {
	ps := DefaultPolicies()
	if len(ps) != len(Categories) {
		t.Fatalf("%d policies for %d categories", len(ps), len(Categories))
	}
	for _, p := range ps {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Category, err)
		}
		switch p.Category {
		case CategoryOrder:
			if p.Reply != 10*time.Minute || p.Resolve != 24*time.Hour {
				t.Errorf("order anomalies: %v/%v", p.Reply, p.Resolve)
			}
		case CategoryFollowUp:
			if p.Reply != 24*time.Hour || p.ResolveWorkDays != 3 {
				t.Errorf("follow-up: %v/%d wd", p.Reply, p.ResolveWorkDays)
			}
		case CategoryRefund:
			if p.Reply != 10*time.Minute || p.Resolve != 48*time.Hour {
				t.Errorf("after-sales: %v/%v", p.Reply, p.Resolve)
			}
		default:
			if p.Reply != 24*time.Hour || p.Resolve != 48*time.Hour {
				t.Errorf("%s: %v/%v", p.Category, p.Reply, p.Resolve)
			}
		}
	}
	bad := []SLAPolicy{
		{Reply: 0, Resolve: time.Hour, WarnPct: 75},
		{Reply: 2 * time.Hour, Resolve: time.Hour, WarnPct: 75},
		{Reply: time.Hour, Resolve: 2 * time.Hour, WarnPct: 100},
		{Reply: time.Hour, Resolve: 2 * time.Hour, WarnPct: 0},
	}
	for _, p := range bad {
		if err := p.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, want ErrInvalid", p, err)
		}
	}
}

// newTestComplaint is a default-policy complaint logged at t0.
func newTestComplaint(t0 time.Time) Complaint {
	c := Complaint{Number: "TS-20261122-0001", CreatedAt: t0, State: ComplaintOpen, OpenID: "oC"}
	c.ApplyPolicy(SLAPolicy{Reply: 24 * time.Hour, Resolve: 48 * time.Hour, WarnPct: 75})
	return c
}

func TestSLADueAt(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }

	c := newTestComplaint(t0)
	if c.ReplyWarnAt != h(18) || c.ReplyDue != h(24) || c.ResolveWarnAt != h(36) || c.ResolveDue != h(48) {
		t.Fatalf("due times %v %v %v %v", c.ReplyWarnAt, c.ReplyDue, c.ResolveWarnAt, c.ResolveDue)
	}
	type step struct {
		at   time.Time
		want []string // clock:stage
		next time.Time
	}
	steps := []step{
		{h(1), nil, h(18)},
		{h(17.99), nil, h(18)},
		{h(19), []string{"reply:warn"}, h(24)},
		{h(19.5), nil, h(24)}, // nothing twice
		{h(25), []string{"reply:breach"}, h(36)},
		{h(25), nil, h(36)},
		{h(40), []string{"resolve:warn"}, h(48)},
		{h(49), []string{"resolve:breach"}, time.Time{}},
		{h(100), nil, time.Time{}},
	}
	for _, s := range steps {
		if next := c.NextSLA(); !next.After(s.at) && len(s.want) == 0 && !next.IsZero() {
			t.Errorf("at %v: NextSLA %v is due but nothing is expected", s.at, next)
		}
		var got []string
		for _, e := range c.DueAt(s.at) {
			got = append(got, string(e.Clock)+":"+string(e.Stage))
		}
		if strings.Join(got, ",") != strings.Join(s.want, ",") {
			t.Errorf("DueAt(%v) = %v, want %v", s.at.Sub(t0), got, s.want)
		}
		if next := c.NextSLA(); !next.Equal(s.next) {
			t.Errorf("after %v: NextSLA = %v, want %v", s.at.Sub(t0), next, s.next)
		}
	}

	// Swept late: a deadline found passed is a breach, with no warning.
	late := newTestComplaint(t0)
	ev := late.DueAt(h(30))
	if len(ev) != 1 || ev[0].Stage != StageBreach || ev[0].Clock != ClockReply {
		t.Errorf("late sweep = %+v", ev)
	}
	if late.NextSLA() != h(36) {
		t.Errorf("late NextSLA = %v", late.NextSLA())
	}

	// A reply stops the reply clock; resolving stops everything.
	r := newTestComplaint(t0)
	r.Reply("U1", "hi", h(2))
	if r.NextSLA() != h(36) {
		t.Errorf("after reply NextSLA = %v, want resolve warning", r.NextSLA())
	}
	if ev := r.DueAt(h(30)); len(ev) != 0 {
		t.Errorf("replied complaint at 30h: %+v", ev)
	}
	if _, err := r.Resolve("U1", "reshipped", h(3)); err != nil {
		t.Fatal(err)
	}
	if !r.NextSLA().IsZero() || len(r.DueAt(h(100))) != 0 {
		t.Errorf("resolved complaint still has SLA work: %v", r.NextSLA())
	}
	// Reopened past its deadline: overdue at once, breached on the next sweep.
	if _, err := r.Reopen("U1", "broken again", h(60)); err != nil {
		t.Fatal(err)
	}
	if !r.Overdue(h(60)) || r.NextSLA().IsZero() || r.NextSLA().After(h(60)) {
		t.Errorf("reopened: overdue %v next %v", r.Overdue(h(60)), r.NextSLA())
	}
	if ev := r.DueAt(h(60)); len(ev) != 1 || ev[0].Clock != ClockResolve || ev[0].Stage != StageBreach {
		t.Errorf("reopened sweep = %+v", ev)
	}
}

func TestComplaintTransitions(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c := newTestComplaint(t0)
	if _, err := c.Claim("U1", t0); err != nil || c.State != ComplaintClaimed || c.Assignee != "U1" {
		t.Fatalf("claim: %v %+v", err, c)
	}
	if _, err := c.Claim("U1", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("claiming twice = %v", err)
	}
	if e, err := c.Claim("U2", t0); err != nil || !strings.Contains(e.Detail, "U1") {
		t.Errorf("take over = %+v, %v", e, err)
	}
	c.Note("U2", "internal", t0.Add(time.Hour))
	if !c.FirstReplyAt.IsZero() {
		t.Error("a note counted as a reply")
	}
	if _, err := c.Recategorise(CategoryLogistics, "U2", t0); err != nil || c.Category != CategoryLogistics {
		t.Errorf("recategorise: %v", err)
	}
	due := c.ReplyDue
	if _, err := c.Recategorise(CategoryLogistics, "U2", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("same category = %v", err)
	}
	if c.ReplyDue != due {
		t.Error("recategorising moved the due time")
	}
	if _, err := c.Resolve("U2", " ", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("resolve without outcome = %v", err)
	}
	if _, err := c.Reopen("U2", "", t0); !errors.Is(err, ErrConflict) {
		t.Errorf("reopen open complaint = %v", err)
	}
	if _, err := c.Resolve("U2", "coupon", t0.Add(2*time.Hour)); err != nil || !c.Resolved() || c.FirstReplyAt.IsZero() {
		t.Errorf("resolve: %v %+v", err, c)
	}
	if _, err := c.Claim("U3", t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("claim resolved = %v", err)
	}
	if _, err := c.Reopen("U2", "again", t0.Add(3*time.Hour)); err != nil || c.State != ComplaintClaimed || c.Outcome != "" {
		t.Errorf("reopen: %v %+v", err, c)
	}
}

func TestCleanText(t *testing.T) {
	long := strings.Repeat("碎", 10000)
	got, cut := CleanText(long, 4000)
	if !cut || utf8.RuneCountInString(got) != 4001 || !strings.HasSuffix(got, "…") {
		t.Errorf("long text: cut=%v len=%d", cut, utf8.RuneCountInString(got))
	}
	got, cut = CleanText("  a\x00b\r\nc\xff 😀  ", 100)
	if cut || got != "a b\nc\uFFFD 😀" {
		t.Errorf("CleanText = %q", got)
	}
}

func TestMaskContact(t *testing.T) {
	for in, want := range map[string]string{
		"13800138000":                  "138****8000",
		"oABCdefGHI123xyz":             "oABC…3xyz",
		"abc":                          "***",
		"":                             "",
		"o6_bmjrPTlm6_2sgVt7hMZOPfL2M": "o6_b…fL2M",
	} {
		if got := MaskContact(in); got != want {
			t.Errorf("MaskContact(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"投诉 订单 20261111001 收到的杯子碎了", "订单号：ＡＢ１２３４５６", "😀", "\xff\x00", "TS-20261122-0001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o := ExtractOrder(s)
		if len(o) > 40 {
			t.Errorf("order %q too long", o)
		}
		_ = Classify(s)
		if n, err := ParseComplaintNumber(s); err == nil && !strings.HasPrefix(n, "TS-") {
			t.Errorf("number %q", n)
		}
		c, _ := CleanText(s, 50)
		if !utf8.ValidString(c) || strings.ContainsRune(c, 0) || utf8.RuneCountInString(c) > 51 {
			t.Errorf("CleanText(%q) = %q", s, c)
		}
	})
}
