package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

// Text crosses Slack's edge in both directions here, and nowhere else.
//
// Out: every string of a domain.Content is untrusted plain text. text
// escapes &, < and > in it — so a customer's <!channel> or <url|label>
// shows as typed and pings or links nobody — and only then turns opsbot's
// own marks (domain.MarkUser, domain.MarkChannel, domain.MarkQuote) into
// <@U…>, <#C…> and a block quote's ">".
// Every block and every fallback text the adapter sends goes through it.
//
// In: Slack sends message and command text escaped, with links and
// mentions in angle brackets. fromSlack turns that into the plain text a
// person meant, so that a staff reply reaches a customer as
// "满 100 & 包邮 <3 天>" and not "满 100 &amp; 包邮 &lt;3 天&gt;".

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s inert in Slack's text and mrkdwn.
func escape(s string) string { return escaper.Replace(s) }

// text renders a Content string for Slack: escaped, with marks as links.
func text(s string) string {
	return domain.RenderMarks(s, escape, func(m domain.Mark) string {
		if m.Quote() {
			return ">"
		}
		return "<" + string(m.Kind) + m.ID + ">"
	})
}

// plainText renders a Content string where Slack shows text as typed and
// links nothing (a form's labels and initial values): marks as @name.
func plainText(s string) string { return domain.PlainMarks(s) }

var unescaper = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">")

// fromSlack turns Slack's wire format into plain text: entities decoded,
// <url|label> as "label (url)", <url> as the URL, <@U…> as @U…, <#C…|name>
// as #name, <!here> and friends as @here, <!subteam^S…|@team> as @team.
// The result is sanitized (domain.Sanitize): it holds no NUL and no marks.
func fromSlack(s string) string {
	s = domain.Sanitize(s)
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(unescaper.Replace(s))
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			b.WriteString(unescaper.Replace(s))
			break
		}
		b.WriteString(unescaper.Replace(s[:i]))
		b.WriteString(decodeAngle(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	return b.String()
}

// decodeAngle decodes what was between < and >.
func decodeAngle(in string) string {
	target, label, hasLabel := strings.Cut(in, "|")
	target, label = unescaper.Replace(target), unescaper.Replace(label)
	switch {
	case target == "":
		return label
	case target[0] == '@':
		return target // @U123: the ID, which staff commands also accept
	case target[0] == '#':
		if hasLabel && label != "" {
			return "#" + label
		}
		return target
	case target[0] == '!':
		if hasLabel && label != "" {
			return label
		}
		name, _, _ := strings.Cut(target[1:], "^")
		return "@" + name
	}
	if !hasLabel || label == "" || label == target {
		return target
	}
	if after, ok := strings.CutPrefix(target, "mailto:"); ok && after == label {
		return label
	}
	if strings.TrimPrefix(strings.TrimPrefix(target, "https://"), "http://") == label {
		return target
	}
	return label + " (" + target + ")"
}

// cut shortens s to at most n characters, marking the cut with "…". On
// rendered text it never cuts inside an entity or a link, which would
// leave a stray "<" or "&" that Slack might read as the start of one.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:safeCut(r, n-1)]) + "…"
}

// safeCut returns where to cut r at or before n so that no &…; entity or
// <…> link is split.
func safeCut(r []rune, n int) int {
	for i := n - 1; i >= 0 && i >= n-40; i-- {
		switch r[i] {
		case ';', '>':
			return n
		case '&', '<':
			return i
		}
	}
	return n
}
