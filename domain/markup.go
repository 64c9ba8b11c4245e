package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Every string in a Content is plain, untrusted text: a renderer shows it
// as typed, escaping whatever its platform would otherwise act on (Slack's
// <!channel>, <@U…> and <url|label>). The little markup opsbot itself needs
// — a link to a staff member or a channel — is written as a mark: a token
// between two private-use runes that no outside text may contain (the
// adapters strip them at the edge with Sanitize, and CleanText does too).
// Each renderer turns a mark into its platform's form after escaping the
// rest: Slack into <@U…> or <#C…>, plain text into @name or #name.
//
// A mark is markOpen, a kind rune ('@' a user, '#' a channel), an ID of
// capital letters and digits, optionally '|' and a label shown by plain
// renderers, and markClose; or markOpen '>' markClose, the start of a
// quoted line. Anything else between the sentinels, or a sentinel without
// its partner, is dropped by the renderers.
const (
	markOpen  = '\uE000'
	markClose = '\uE001'
)

// MarkUser returns a mark linking a Slack user (U… or W… ID); label, when
// set, is the name plain renderers show instead of the ID.
func MarkUser(id, label string) string { return mark('@', id, label) }

// MarkChannel returns a mark linking a Slack channel (C…, G… or D… ID);
// label is the channel's name for plain renderers.
func MarkChannel(id, label string) string { return mark('#', id, label) }

// MarkQuote starts a quoted line: Slack shows the line as a block quote
// (an escaped "&gt;" would show as a plain ">"), plain renderers as "> ".
func MarkQuote() string { return string(markOpen) + ">" + string(markClose) }

func mark(kind rune, id, label string) string {
	if !markID(id) {
		return string(kind) + StripMarks(firstNonEmpty(label, id))
	}
	s := string(markOpen) + string(kind) + id
	if label = StripMarks(strings.ReplaceAll(label, "|", "")); label != "" {
		s += "|" + label
	}
	return s + string(markClose)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func markID(id string) bool {
	if len(id) < 2 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Mark is one piece of opsbot's own markup found in a text.
type Mark struct {
	Kind  rune   // '@' a user, '#' a channel, '>' a quote
	ID    string // the Slack ID
	Label string // the name to show where the platform cannot link, if known
}

// Plain shows the mark as plain text: @name or #name, the ID when no name
// is known; ">" for a quote.
func (m Mark) Plain() string { return string(m.Kind) + firstNonEmpty(m.Label, m.ID) }

// Quote reports whether the mark starts a quoted line.
func (m Mark) Quote() bool { return m.Kind == '>' }

// RenderMarks renders s: text runs through text (an escaper), marks
// through mark. Broken marks and stray sentinels are dropped.
func RenderMarks(s string, text func(string) string, mark func(Mark) string) string {
	s = validUTF8(s) // dropping a sentinel must not splice broken bytes into a new one
	if !strings.ContainsRune(s, markOpen) && !strings.ContainsRune(s, markClose) {
		return text(s)
	}
	var b strings.Builder
	for s != "" {
		i := strings.IndexAny(s, string(markOpen)+string(markClose))
		if i < 0 {
			b.WriteString(text(s))
			break
		}
		b.WriteString(text(s[:i]))
		r, size := utf8.DecodeRuneInString(s[i:])
		s = s[i+size:]
		if r == markClose {
			continue // a close without an open
		}
		j := strings.IndexAny(s, string(markOpen)+string(markClose))
		if j < 0 || !strings.HasPrefix(s[j:], string(markClose)) {
			continue // an open without a close: drop the sentinel, keep the text
		}
		if m, ok := parseMark(s[:j]); ok {
			b.WriteString(mark(m))
		} else {
			b.WriteString(text(s[:j]))
		}
		s = s[j+utf8.RuneLen(markClose):]
	}
	return b.String()
}

func parseMark(body string) (Mark, bool) {
	if body == ">" {
		return Mark{Kind: '>'}, true
	}
	if body == "" || (body[0] != '@' && body[0] != '#') {
		return Mark{}, false
	}
	id, label, _ := strings.Cut(body[1:], "|")
	if !markID(id) {
		return Mark{}, false
	}
	return Mark{Kind: rune(body[0]), ID: id, Label: label}, true
}

// PlainMarks renders s for plain-text platforms (WeChat, the terminal,
// logs): marks become @name or #name, nothing is escaped.
func PlainMarks(s string) string {
	return RenderMarks(s, func(t string) string { return t }, Mark.Plain)
}

// StripMarks removes the sentinel runes marks are made of, so that outside
// text can never carry opsbot's markup. Invalid UTF-8 is replaced first:
// removing a sentinel from between broken bytes could otherwise join them
// into a new one.
func StripMarks(s string) string {
	s = validUTF8(s)
	if !strings.ContainsRune(s, markOpen) && !strings.ContainsRune(s, markClose) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == markOpen || r == markClose {
			return -1
		}
		return r
	}, s)
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Sanitize makes text from outside (a Slack event, a WeChat message, a
// form) safe to handle and store, without changing what it says: invalid
// UTF-8 replaced, NUL and other control characters but newline and tab
// removed (PostgreSQL rejects NUL in text and jsonb), \r\n made \n, and
// opsbot's markup sentinels removed. Every adapter applies it at the edge.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == markOpen || r == markClose ||
			(r != '\n' && r != '\t' && unicode.IsControl(r)) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Map(func(r rune) rune {
		switch {
		case r == markOpen || r == markClose:
			return -1
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}
