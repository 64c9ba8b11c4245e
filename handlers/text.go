package handlers

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// StaffMention links a Slack user: a mark (domain.MarkUser) that Slack
// shows as a mention and plain platforms as @ID. Other IDs (terminal
// names) show as is. It is the only way a Content links a person; any
// "<@…>" typed into a Content is shown as text.
func StaffMention(id string) string {
	switch {
	case id == "":
		return "nobody"
	case slackUserID.MatchString(id):
		return domain.MarkUser(id, "")
	}
	return id
}

// ChannelLink links a Slack channel by ID (C…); other names show as is.
func ChannelLink(id string) string { return domain.MarkChannel(id, "") }

// Quote shows s as a block quote. The quote marks are opsbot's markup
// (domain.MarkQuote): a ">" typed by a customer is shown as typed.
func Quote(s string) string {
	if s == "" {
		return ""
	}
	q := domain.MarkQuote() + " "
	return q + strings.ReplaceAll(s, "\n", "\n"+q)
}

// Excerpt cuts s to n characters on one line.
func Excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// OrDash shows an empty value as a dash.
func OrDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Duration shows a duration to staff: 48h, 10m, 1h30m, 3d2h.
func Duration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	if d < 72*time.Hour { // 24h and 48h read better than 1d and 2d
		days, hours = 0, int(d/time.Hour)
	}
	var b strings.Builder
	if days > 0 {
		fmt.Fprintf(&b, "%dd", days)
	}
	if hours > 0 {
		fmt.Fprintf(&b, "%dh", hours)
	}
	if mins > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%dm", mins)
	}
	return b.String()
}

// ZhDuration shows a duration to customers: 24 小时, 10 分钟, 1 小时 30 分钟.
func ZhDuration(d time.Duration) string {
	d = d.Round(time.Minute)
	hours, mins := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case hours > 0 && mins > 0:
		return fmt.Sprintf("%d 小时 %d 分钟", hours, mins)
	case hours > 0:
		return fmt.Sprintf("%d 小时", hours)
	}
	return fmt.Sprintf("%d 分钟", mins)
}
