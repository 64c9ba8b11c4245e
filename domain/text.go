package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// FoldWidth turns full-width ASCII (phones type ２０２６１１, ：) into
// ordinary ASCII and the ideographic space into a space.
func FoldWidth(s string) string {
	if isASCII(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= '！' && r <= '～':
			return r - '！' + '!'
		case r == '\u3000':
			return ' '
		}
		return r
	}, s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// MaxComplaintText is how many characters of a complaint, note or reply are
// kept; longer texts are cut.
const MaxComplaintText = 4000

// CleanText makes outside text safe to store and show: invalid UTF-8
// replaced, control characters other than newline and tab dropped (Postgres
// rejects NUL), opsbot's markup sentinels removed (see Sanitize),
// surrounding space trimmed, and cut to max characters. It reports whether
// it cut.
func CleanText(s string, max int) (string, bool) {
	s = StripMarks(strings.ToValidUTF8(s, "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		if r == '\r' {
			return -1
		}
		return ' '
	}, s)
	s = strings.TrimSpace(s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		n := 0
		for i := range s {
			if n == max {
				return strings.TrimSpace(s[:i]) + "…", true
			}
			n++
		}
	}
	return s, false
}
