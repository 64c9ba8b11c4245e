package bot

import (
	"strings"

	"github.com/opsbot/opsbot/domain"
)

// PlainText renders content as plain lines, for platforms and logs without
// rich formatting (the terminal, WeChat).
func PlainText(c domain.Content) string {
	var b strings.Builder
	line := func(s string) {
		if s == "" {
			return
		}
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
