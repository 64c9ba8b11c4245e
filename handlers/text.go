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

// Duration shows a duration to staff as people write it: 48 h, 10 min,
// 1 h 30 min, 3 d 2 h.
func Duration(d time.Duration) string { return domain.HumanDuration(d) }

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
