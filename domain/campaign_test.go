package domain

import (
	"testing"
	"time"
)

func shanghai(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseOffset(t *testing.T) {
	for in, want := range map[string]Offset{
		"T-14": {Days: -14}, "t+2": {Days: 2}, "T-3wd": {Days: -3, Working: true}, "T": {}, "T-0": {},
		"-1": {Days: -1}, "Ｔ－１４": {Days: -14}, "T - 30": {Days: -30}, "T+1w": {Days: 1, Working: true},
	} {
		got, err := ParseOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "14", "T14", "T-", "T--1", "T-400", "T-1x", "T+-1", "D-1"} {
		if in == "" {
			continue
		}
		if o, err := ParseOffset(in); err == nil {
			t.Errorf("ParseOffset(%q) = %+v, want an error", in, o)
		}
	}
	for _, o := range []Offset{{Days: -14}, {Days: 2}, {Days: -3, Working: true}, {}} {
		back, err := ParseOffset(o.String())
		if err != nil || back != o {
			t.Errorf("%+v → %q → %+v, %v", o, o.String(), back, err)
		}
	}
}

func TestDueDatesOnTheBusinessCalendar(t *testing.T) {
	loc := shanghai(t)
	cal, err := NewCalendar(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 12, 10, 0, 0, 0, loc)
	end := time.Date(2026, 12, 13, 0, 0, 0, 0, loc)
	cases := []struct {
		off  Offset
		keep bool
		want string
	}{
		{Offset{Days: -14}, false, "2026-11-27"}, // Saturday 11-28 → Friday
		{Offset{Days: -30}, false, "2026-11-12"},
		{Offset{Days: -1}, false, "2026-12-11"},
		{Offset{Days: 2}, false, "2026-12-14"},                 // Monday after a Saturday sale
		{Offset{Days: 1}, false, "2026-12-11"},                 // Sunday → Friday
		{Offset{Days: -3, Working: true}, false, "2026-12-09"}, // from Saturday: Fri, Thu, Wed
		{Offset{Days: -1}, true, "2026-12-11"},
	}
	for _, c := range cases {
		d, known := c.off.DueDate(start, end, cal, c.keep)
		if got := d.Format("2006-01-02"); got != c.want || !known {
			t.Errorf("%s: %s (known %v), want %s", c.off, got, known, c.want)
		}
	}
	// A campaign whose T-14 falls in the National Day holiday: the item is
	// due on the last working day before it.
	oct := time.Date(2026, 10, 20, 10, 0, 0, 0, loc)
	d, _ := Offset{Days: -14}.DueDate(oct, oct.Add(14*time.Hour), cal, false)
	if got := d.Format("2006-01-02"); got != "2026-09-30" {
		t.Errorf("T-14 of 2026-10-20 = %s, want 2026-09-30 (last working day before 国庆)", got)
	}
	// An automatic item keeps its day: the notice before a Sunday sale
	// goes out on Saturday.
	sun := time.Date(2026, 12, 13, 10, 0, 0, 0, loc)
	it := CampaignItem{Offset: Offset{Days: -1}, Action: ActionNotice}
	it.Schedule(sun, sun.Add(12*time.Hour), cal)
	if want := time.Date(2026, 12, 12, 10, 0, 0, 0, loc); !it.Due.Equal(want) {
		t.Errorf("notice due %v, want %v", it.Due, want)
	}
	// Its owner is asked for approval two working days ahead, once; then
	// it acts at its time, once.
	if want := time.Date(2026, 12, 10, 9, 0, 0, 0, loc); !it.NextCheck().Equal(want) {
		t.Errorf("notice first check %v, want %v", it.NextCheck(), want)
	}
	if evs := it.DueAt(time.Date(2026, 12, 10, 9, 0, 0, 0, loc)); len(evs) != 1 || evs[0] != EventRemindEarly {
		t.Errorf("approval reminder: %v", evs)
	}
	if !it.NextCheck().Equal(it.Due) {
		t.Errorf("after the approval reminder the next check is %v", it.NextCheck())
	}
	if evs := it.DueAt(it.Due); len(evs) != 1 || evs[0] != EventAct || !it.NextCheck().IsZero() {
		t.Errorf("at its time: %v, next %v", evs, it.NextCheck())
	}
}

func TestItemRemindersOnceThenEscalation(t *testing.T) {
	loc := shanghai(t)
	cal, _ := NewCalendar(loc, nil)
	start := time.Date(2026, 12, 12, 10, 0, 0, 0, loc)
	it := CampaignItem{Offset: Offset{Days: -14}}
	it.Schedule(start, start.Add(14*time.Hour), cal)
	// Due Friday 2026-11-27 18:00; early reminder two working days before
	// (Wednesday 11-25 09:00), the day reminder on Friday 09:00.
	if got := it.RemindEarly.Format("2006-01-02 15:04"); got != "2026-11-25 09:00" {
		t.Errorf("early reminder %s", got)
	}
	if got := it.Due.Format("2006-01-02 15:04"); got != "2026-11-27 18:00" {
		t.Errorf("due %s", got)
	}
	at := func(s string) time.Time {
		t, _ := time.ParseInLocation("2006-01-02 15:04", s, loc)
		return t
	}
	steps := []struct {
		at   string
		want []ItemEvent
	}{
		{"2026-11-24 09:00", nil},
		{"2026-11-25 09:00", []ItemEvent{EventRemindEarly}},
		{"2026-11-25 09:05", nil},
		{"2026-11-27 09:00", []ItemEvent{EventRemindDay}},
		{"2026-11-27 17:00", nil},
		{"2026-11-27 18:05", []ItemEvent{EventEscalate}},
		{"2026-11-28 09:00", nil},
	}
	for _, s := range steps {
		next := it.NextCheck()
		got := it.DueAt(at(s.at))
		if len(got) != len(s.want) || (len(got) == 1 && got[0] != s.want[0]) {
			t.Errorf("at %s: %v, want %v", s.at, got, s.want)
		}
		if len(got) > 0 && next.After(at(s.at)) {
			t.Errorf("at %s: next check %v was later than what was due", s.at, next)
		}
	}
	if !it.NextCheck().IsZero() {
		t.Errorf("after escalation the next check is %v, want none", it.NextCheck())
	}
	// Done cancels what is pending.
	it2 := CampaignItem{Offset: Offset{Days: -14}}
	it2.Schedule(start, start.Add(14*time.Hour), cal)
	it2.DoneAt = at("2026-11-20 10:00")
	if evs := it2.DueAt(at("2026-11-30 10:00")); len(evs) != 0 || !it2.NextCheck().IsZero() {
		t.Errorf("a done item: %v, next %v", evs, it2.NextCheck())
	}
	// Created after its reminders: the item is escalated, not reminded late.
	it3 := CampaignItem{Offset: Offset{Days: -14}}
	it3.Schedule(start, start.Add(14*time.Hour), cal)
	if evs := it3.DueAt(at("2026-12-04 10:00")); len(evs) != 1 || evs[0] != EventEscalate {
		t.Errorf("created late: %v", evs)
	}
}

func TestParseCampaignNew(t *testing.T) {
	loc := shanghai(t)
	c, err := ParseCampaignNew([]string{"双12", "2026-12-12", "10:00", "template=major", "target=10000000"}, loc)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "双12" || c.Template != "major" || c.Target != 10000000*100 ||
		!c.Start.Equal(time.Date(2026, 12, 12, 10, 0, 0, 0, loc)) || !c.End.Equal(time.Date(2026, 12, 13, 0, 0, 0, 0, loc)) {
		t.Errorf("parsed %+v", c)
	}
	c, err = ParseCampaignNew([]string{"618", "2026-06-18", "00:00"}, loc)
	if err == nil {
		t.Errorf("a numeric name was accepted: %+v", c)
	}
	c, err = ParseCampaignNew([]string{"年货节", "2027-01-20", "10:00", "end", "2027-01-25", "23:59", "target=1000万", "owner=<@U123>"}, loc)
	if err != nil || c.End.Day() != 25 || c.Target != 1000*10000*100 || c.Owner != "<@U123>" {
		t.Errorf("with end: %+v, %v", c, err)
	}
	for _, bad := range [][]string{{"x"}, {"x", "tomorrow"}, {"x", "2026-12-12", "10:00", "end", "2026-12-11"}, {"x", "2026-12-12", "colour=red"}} {
		if c, err := ParseCampaignNew(bad, loc); err == nil {
			t.Errorf("%q accepted: %+v", bad, c)
		}
	}
}

func TestPace(t *testing.T) {
	start := time.Date(2026, 12, 12, 0, 0, 0, 0, time.UTC)
	c := Campaign{Start: start, End: start.Add(24 * time.Hour), Target: 1000}
	p := PaceAt(c, 300, start.Add(6*time.Hour))
	if p.Elapsed != 0.25 || p.Projected != 1200 || p.PerHour != 50 || p.NeededPerHour != 38 {
		t.Errorf("pace %+v", p)
	}
}

// FuzzParseOffset: offsets typed by staff never panic, and what parses
// prints back to itself.
func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"T-14", "T+2", "T-3wd", "T", "Ｔ－１４", "-1", "T+366w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOffset(s)
		if err != nil {
			return
		}
		back, err := ParseOffset(o.String())
		if err != nil || back != o {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, o, o.String(), back, err)
		}
	})
}

// FuzzParseCampaignNew: command lines never panic, and a campaign that
// parses ends after it starts.
func FuzzParseCampaignNew(f *testing.F) {
	for _, s := range []string{"双12 2026-12-12 10:00 template=major target=10000000", "x 2026-01-01 end 2026-01-02", "a 2026-12-12T10:00 end=2026-12-13T10:00"} {
		f.Add(s)
	}
	loc := time.FixedZone("CST", 8*3600)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCampaignNew(splitFields(s), loc)
		if err == nil && !c.End.After(c.Start) {
			t.Fatalf("%q: ends %v before it starts %v", s, c.End, c.Start)
		}
		_, _ = ParseStart(s, loc)
		_, _ = ParseTarget(s)
	})
}

func splitFields(s string) []string {
	var out []string
	word := []rune{}
	for _, r := range s {
		if r == ' ' {
			if len(word) > 0 {
				out = append(out, string(word))
			}
			word = word[:0]
			continue
		}
		word = append(word, r)
	}
	if len(word) > 0 {
		out = append(out, string(word))
	}
	return out
}

func TestSummaryMornings(t *testing.T) {
	loc := shanghai(t)
	cal, _ := NewCalendar(loc, nil)
	c := Campaign{State: CampaignActive, Start: time.Date(2026, 12, 12, 10, 0, 0, 0, loc), End: time.Date(2026, 12, 13, 0, 0, 0, 0, loc)}
	for from, want := range map[string]string{
		"2026-12-10 09:00": "2026-12-11 09:00", // Friday
		"2026-12-11 09:00": "2026-12-12 09:00", // the sale's Saturday
		"2026-12-12 09:00": "2026-12-14 09:00", // Sunday skipped: Monday, the review day
		"2026-12-14 09:00": "",                 // after the review day: none
	} {
		at, _ := time.ParseInLocation("2006-01-02 15:04", from, loc)
		got := c.NextSummaryAfter(at, cal)
		if s := got.Format("2006-01-02 15:04"); (want == "" && !got.IsZero()) || (want != "" && s != want) {
			t.Errorf("after %s: %v, want %q", from, got, want)
		}
	}
}
