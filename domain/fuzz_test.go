package domain

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var numberShape = regexp.MustCompile(`^TS-\d{8}-\d{4,6}$`)

// FuzzComplaintNumber: whatever people type, a number that parses has the
// canonical shape and parses to itself.
func FuzzComplaintNumber(f *testing.F) {
	for _, s := range []string{"TS-20261122-0001", "ts-20261122-1", "20261122-0001", "ＴＳ－２０２６１１２２－０００１",
		"TS-20261122-999999", "TS-20261122-0", "TS--1", "TS-2026112-0001", "\x00", "TS-20261122-+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseComplaintNumber(s)
		if err != nil {
			return
		}
		if !numberShape.MatchString(n) {
			t.Fatalf("ParseComplaintNumber(%q) = %q", s, n)
		}
		if again, err := ParseComplaintNumber(n); err != nil || again != n {
			t.Fatalf("%q parses to %q, which parses to %q, %v", s, n, again, err)
		}
	})
}

// FuzzSLADuration: a window that parses is positive.
func FuzzSLADuration(f *testing.F) {
	for _, s := range []string{"24h", "10m", "2d", "1h30m", "90min", "0d", "91d", "-1h", "1e9h", "d", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseSLADuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseSLADuration(%q) = %v", s, d)
		}
		if err == nil && strings.HasSuffix(strings.TrimSpace(s), "d") && d > 90*24*time.Hour {
			t.Fatalf("ParseSLADuration(%q) = %v: more than 90 days", s, d)
		}
	})
}

// FuzzMarks: outside text, sanitized, carries no markup; rendering never
// leaves a sentinel behind; marks made by opsbot survive.
func FuzzMarks(f *testing.F) {
	for _, s := range []string{"a\x00b", "\uE000@U1\uE001", "\uE000@U1|ann\uE001 x \uE000#C1\uE001", "\uE001\uE000",
		"\uE000@u1\uE001", "\xff\uE000", "\r\n\t", "<!channel>", "\xee\x80\uE000\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		clean := Sanitize(s)
		if !utf8.ValidString(clean) || strings.ContainsAny(clean, "\x00\uE000\uE001\r") {
			t.Fatalf("Sanitize(%q) = %q", s, clean)
		}
		if Sanitize(clean) != clean || StripMarks(clean) != clean {
			t.Fatalf("Sanitize is not idempotent on %q", s)
		}
		for _, out := range []string{PlainMarks(s), PlainMarks(clean), StripMarks(s)} {
			if strings.ContainsAny(out, "\uE000\uE001") {
				t.Fatalf("a sentinel survived in %q (from %q)", out, s)
			}
		}
		seen := 0
		RenderMarks(clean, func(x string) string { return x }, func(Mark) string { seen++; return "" })
		if seen != 0 {
			t.Fatalf("sanitized text %q carries %d marks", clean, seen)
		}
		m := MarkUser("U123", clean)
		got := PlainMarks(m)
		if !strings.HasPrefix(got, "@") || strings.ContainsAny(got, "\uE000\uE001") {
			t.Fatalf("MarkUser with label %q renders as %q", clean, got)
		}
		if text, _ := CleanText(s, 100); strings.ContainsAny(text, "\x00\uE000\uE001") {
			t.Fatalf("CleanText(%q) = %q", s, text)
		}
	})
}
