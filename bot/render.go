package bot

import (
	"strings"

	"github.com/opsbot/opsbot/domain"
)

// PlainText renders content as plain lines, for platforms and logs without
// rich formatting (the terminal, WeChat): opsbot's marks (staff mentions)
// become @name, nothing is escaped.
func PlainText(c domain.Content) string { return Lines(c, domain.PlainMarks) }

// Lines lays content out as lines of text, every string of it passed
// through show first: the one place that decides how a platform without
// blocks sees content. show escapes for the platform and renders marks
// (domain.RenderMarks); PlainText uses domain.PlainMarks.
func Lines(c domain.Content, show func(string) string) string {
	var b strings.Builder
	line := func(s string) {
		if s == "" {
			return
		}
		s = show(s)
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	line(c.Title)
	line(c.Text)
	for _, f := range c.Fields {
		line(f.Label + ": " + f.Value)
	}
	for _, item := range c.List {
		line("• " + item)
	}
	line(c.Note)
	if len(c.Buttons) > 0 {
		labels := make([]string, len(c.Buttons))
		for i, btn := range c.Buttons {
			labels[i] = "[" + btn.Label + "]"
		}
		line(strings.Join(labels, " "))
	}
	if len(c.Choices) > 0 {
		line(strings.Join(c.Choices, " / "))
	}
	return b.String()
}
