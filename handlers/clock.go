package handlers

import "time"

// Clock gives handlers the time and the shop's time zone (OPSBOT_TIMEZONE):
// every date shown to people is in it.
type Clock struct {
	Loc *time.Location
	// Now returns the current time; tests and `jobs run --at` replace it.
	Now func() time.Time
}

// NewClock returns a real clock in loc.
func NewClock(loc *time.Location) Clock { return Clock{Loc: loc, Now: time.Now} }

// Time returns now in the shop's zone.
func (c Clock) Time() time.Time {
	if c.Now == nil {
		return time.Now().In(c.Loc)
	}
	return c.Now().In(c.Loc)
}

// Format shows t to people: "2026-11-22 14:05".
func (c Clock) Format(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(c.Loc).Format("2006-01-02 15:04")
}

// Channels are where staff notices go: Slack channel IDs when Slack is
// configured, logical names ("#complaints") when it is not.
type Channels struct {
	Complaints string
	Managers   string
	Campaigns  string
}
