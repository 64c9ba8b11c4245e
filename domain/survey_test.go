package domain

import (
	"strings"
	"testing"
	"time"
)

func TestParseScore(t *testing.T) {
	tests := []struct {
		in    string
		want  int
		score bool
	}{
		{"5", 5, true}, {"1", 1, true}, {" 3 ", 3, true}, {"２", 2, true}, {"５", 5, true},
		{"5分", 5, true}, {"５分", 5, true}, {"4分！", 4, true}, {"五分", 5, true}, {"五", 5, true}, {"一", 1, true},
		{"三。", 3, true}, {"给四分", 4, true}, {"四星", 4, true}, {"五颗星", 5, true},
		{"⭐⭐⭐⭐", 4, true}, {"★★★★☆", 4, true}, {"⭐️⭐️⭐️⭐️⭐️", 5, true}, {"★★★", 3, true}, {"⭐", 1, true},
		{"给5分吧", 5, true}, {"我给3分", 3, true}, {"5分 非常满意", 5, true}, {"1分 非常不满意", 1, true},
		{"3分 一般", 3, true}, {"4!", 4, true}, {"满意，5", 5, true},
		// Not scores.
		{"", 0, false}, {"0", 0, false}, {"6", 0, false}, {"10", 0, false}, {"10分", 0, false},
		{"我要投诉", 0, false}, {"订单20261111001没到", 0, false}, {"快递3天没到", 0, false},
		{"一般", 0, false}, {"一点都不好", 0, false}, {"3个", 0, false}, {"1和2", 0, false},
		{"⭐⭐⭐⭐⭐⭐", 0, false}, {"2.5", 0, false}, {"5元优惠券", 0, false},
		{"这次的快递太慢了，包装也破了，我很不满意，给1分", 1, true},
		{"这次的快递太慢了，包装也破了，我很不满意，所以给1分", 0, false},
		{"五分还是四分", 0, false}, {"hello", 0, false}, {"一二三", 0, false},
	}
	for _, tc := range tests {
		got, ok := ParseScore(tc.in)
		if ok != tc.score || got != tc.want {
			t.Errorf("ParseScore(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.score)
		}
	}
	for i, c := range SurveyChoices {
		if got, ok := ParseScore(c); !ok || got != 5-i {
			t.Errorf("menu choice %q parses as %d, %v", c, got, ok)
		}
	}
}

func FuzzParseScore(f *testing.F) {
	for _, s := range []string{"5", "５分", "五分", "⭐⭐⭐", "给5分吧", "快递3天没到", "订单 2026", "\x00", "一二"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseScore(s)
		if ok && (n < 1 || n > 5) {
			t.Fatalf("ParseScore(%q) = %d outside 1–5", s, n)
		}
		if !ok && n != 0 {
			t.Fatalf("ParseScore(%q) = %d without ok", s, n)
		}
	})
}

func TestSurveyAdvance(t *testing.T) {
	set := DefaultSurveySettings()
	at := time.Date(2026, 11, 12, 10, 0, 0, 0, time.UTC)
	window := SurveyFacts{Known: true, Subscribed: true, LastInbound: at.Add(-time.Hour), Allowance: 5}
	tests := []struct {
		name  string
		facts SurveyFacts
		step  SurveyStep
		skip  SkipReason
		via   string
	}{
		{"in the window", window, StepSend, "", "kf"},
		{"unfollowed", SurveyFacts{Known: true, Subscribed: false}, StepSkip, SkipUnfollowed, ""},
		{"open complaint", func() SurveyFacts { f := window; f.OpenComplaint = true; return f }(), StepSkip, SkipOpenComplaint, ""},
		{"cooldown", func() SurveyFacts { f := window; f.LastSent = at.Add(-13 * 24 * time.Hour); return f }(), StepSkip, SkipCooldown, ""},
		{"after the cooldown", func() SurveyFacts { f := window; f.LastSent = at.Add(-15 * 24 * time.Hour); return f }(), StepSend, "", "kf"},
		{"window closed", func() SurveyFacts { f := window; f.LastInbound = at.Add(-49 * time.Hour); return f }(), StepSkip, SkipUnreachable, ""},
		{"allowance used up", func() SurveyFacts { f := window; f.Allowance = 0; return f }(), StepSkip, SkipUnreachable, ""},
		{"never wrote", SurveyFacts{}, StepSkip, SkipUnreachable, ""},
		{"template outside the window", SurveyFacts{Template: true}, StepSend, "", "template"},
	}
	for _, tc := range tests {
		s := Survey{ID: 1, State: SurveyScheduled, SendAt: at}
		step := s.Advance(at, tc.facts, set)
		if step != tc.step || s.SkipReason != tc.skip || s.Via != tc.via {
			t.Errorf("%s: step %q skip %q via %q; want %q %q %q", tc.name, step, s.SkipReason, s.Via, tc.step, tc.skip, tc.via)
		}
		if step == StepSend && (!s.ExpiresAt.Equal(at.Add(72*time.Hour)) || !s.Next.Equal(at.Add(24*time.Hour))) {
			t.Errorf("%s: expires %v next %v", tc.name, s.ExpiresAt, s.Next)
		}
		if step == StepSkip && !s.Next.IsZero() {
			t.Errorf("%s: a skipped survey stays due", tc.name)
		}
	}

	// Reminder once inside the window, then expiry.
	s := Survey{ID: 2, State: SurveyScheduled}
	s.Advance(at, window, set)
	later := at.Add(24 * time.Hour)
	w2 := window
	w2.LastInbound = later.Add(-time.Hour)
	if step := s.Advance(later, w2, set); step != StepRemind || !s.Next.Equal(s.ExpiresAt) {
		t.Fatalf("reminder: %q next %v", step, s.Next)
	}
	if step := s.Advance(later.Add(time.Hour), w2, set); step != StepNone {
		t.Fatalf("second reminder: %q", step)
	}
	if step := s.Advance(s.ExpiresAt, w2, set); step != StepExpire || s.State != SurveyExpired || !s.Next.IsZero() {
		t.Fatalf("expiry: %q %s", step, s.State)
	}
	// No reminder outside the window.
	s = Survey{ID: 3, State: SurveyScheduled}
	s.Advance(at, window, set)
	if step := s.Advance(at.Add(48*time.Hour), window, set); step != StepNone || !s.RemindedAt.IsZero() {
		t.Fatalf("reminder outside the window: %q", step)
	}

	// Answers: a late one is refused; a low one waits for the comment.
	s = Survey{ID: 4, State: SurveyScheduled}
	s.Advance(at, window, set)
	if err := s.Answer(2, at.Add(73*time.Hour), set); err == nil {
		t.Fatal("an answer after the expiry was taken")
	}
	if err := s.Answer(2, at.Add(time.Hour), set); err != nil || !s.Low() || !s.Next.Equal(at.Add(time.Hour+set.CommentWait)) {
		t.Fatalf("low answer: %v next %v", err, s.Next)
	}
	if step := s.Advance(s.Next, window, set); step != StepFollowUp {
		t.Fatalf("unexplained low score: %q", step)
	}
	if err := s.Answer(5, at.Add(2*time.Hour), set); err == nil {
		t.Fatal("a second answer was taken")
	}
}

func TestSurveySettings(t *testing.T) {
	s := DefaultSurveySettings()
	for _, tc := range []struct{ name, value, want string }{
		{"order-delay", "0", "0"}, {"order-delay", "90m", "1h30m"}, {"cooldown", "30d", "30d"},
		{"reminder", "0", "0"}, {"expiry", "48h", "2d"}, {"complaint-delay", "10m", "10m"},
	} {
		if err := s.Set(tc.name, tc.value); err != nil {
			t.Fatalf("set %s %s: %v", tc.name, tc.value, err)
		}
		if got, _ := s.Get(tc.name); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, bad := range [][2]string{{"expiry", "10m"}, {"reminder", "3d"}, {"bogus", "1h"}, {"cooldown", "soon"}, {"order-question", " "}} {
		c := s
		if err := c.Set(bad[0], bad[1]); err == nil {
			t.Errorf("set %s %q accepted", bad[0], bad[1])
		}
	}
	if q := DefaultSurveySettings().Question(Survey{Trigger: TriggerOrder, Subject: "A1"}); !strings.Contains(q, "A1") || !strings.Contains(q, "1-5") {
		t.Errorf("question %q", q)
	}
}

func TestFollowUpWorkDays(t *testing.T) {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cal, err := NewCalendar(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p SLAPolicy
	for _, d := range DefaultPolicies() {
		if d.Category == CategoryFollowUp {
			p = d
		}
	}
	if p.ResolveWorkDays != 3 || p.Reply != 24*time.Hour {
		t.Fatalf("follow-up policy %+v", p)
	}
	// Friday 2026-09-25 15:00; 国庆 2026-10-01..07 off, 2026-09-27 (Sun)
	// and 2026-10-10 (Sat) working per the embedded data.
	c := Complaint{CreatedAt: time.Date(2026, 9, 30, 15, 0, 0, 0, loc)}
	c.ApplyPolicy(p)
	c.ApplyWorkDays(p, cal)
	if w, _ := cal.IsWorkingDay(c.ResolveDue); !w || !c.ResolveDue.After(time.Date(2026, 10, 7, 23, 0, 0, 0, loc)) {
		t.Fatalf("3wd from the day before 国庆 ends %v", c.ResolveDue)
	}
	if !c.ResolveWarnAt.Before(c.ResolveDue) || !c.ResolveWarnAt.After(c.CreatedAt) {
		t.Fatalf("warning %v for due %v", c.ResolveWarnAt, c.ResolveDue)
	}
	if n, ok := ParseWorkDays("3wd"); !ok || n != 3 {
		t.Fatal("3wd")
	}
	if _, ok := ParseWorkDays("3d"); ok {
		t.Fatal("3d is not working days")
	}
}
