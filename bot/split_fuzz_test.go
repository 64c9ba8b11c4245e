package bot

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzSplit checks the command-line parser on any input: it never panics,
// returns one in-range, increasing offset per word, and agrees with
// strings.Fields on lines without quotes or backslashes.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"", "help", "staff add U024BE7LH agent", `complaint note 12 "called them back"`,
		`say 'it''s fine'`, `a\ b c`, "“smart quotes” ‘too’", "trailing\\", `"unterminated`,
		"  spaced\tout\nlines  ", "投诉 订单20261111001 收到的杯子碎了", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, offs := Split(line)
		if len(words) != len(offs) {
			t.Fatalf("%d words, %d offsets", len(words), len(offs))
		}
		for i, o := range offs {
			if o < 0 || o >= len(line) {
				t.Fatalf("offset %d out of range for %q", o, line)
			}
			if i > 0 && o <= offs[i-1] {
				t.Fatalf("offsets not increasing: %v", offs)
			}
		}
		if !strings.ContainsAny(line, "\"'“”‘’\\") && utf8.ValidString(line) {
			if want := strings.Fields(line); !slices.Equal(words, want) && !(len(words) == 0 && len(want) == 0) {
				t.Fatalf("Split(%q) = %q, want %q", line, words, want)
			}
		}
	})
}
