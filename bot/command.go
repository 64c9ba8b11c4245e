package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/opsbot/opsbot/domain"
)

// Command is one staff command. The registry of commands is the single
// source of the help text.
type Command struct {
	// Name is one or more words: "help", "staff add".
	Name string
	// Usage shows the arguments: "staff add <user> <agent|manager|admin>".
	Usage       string
	Description string
	Examples    []string
	// Role is the least role allowed to run it.
	Role domain.Role
	Run  func(ctx context.Context, req *Request) (Reply, error)
}

// ActionHandler handles a button press or form submission whose action ID
// is ID, or starts with ID followed by ":".
type ActionHandler struct {
	ID   string
	Role domain.Role
	Run  func(ctx context.Context, req *Request) (Reply, error)
}

// CustomerIntent answers customers whose text starts with one of Keywords,
// or is exactly one of Exact (ignoring case, width and a trailing "!" or
// "。"). Keywords are prefixes, so keep them specific: "投诉", not "查".
// The longest matching keyword of all intents wins.
type CustomerIntent struct {
	Name     string
	Keywords []string
	Exact    []string
	Run      func(ctx context.Context, req *Request) (Reply, error)
}

// CustomerHook sees every customer message before intents do, to carry on
// a conversation (a pending question, an open complaint). It returns
// handled=false to let the message through.
type CustomerHook func(ctx context.Context, req *Request) (reply Reply, handled bool, err error)

// StaffHook sees staff messages before commands do: a message in a
// complaint's Slack thread is a reply to the customer, not a command. It
// returns handled=false to let the message through.
type StaffHook func(ctx context.Context, req *Request) (reply Reply, handled bool, err error)

// Request is a message routed to a handler, with its command line parsed.
type Request struct {
	Message
	// Command is the matched command, nil for actions and customer text.
	Command *Command
	// Args are the words after the command name.
	Args []string
	line string
	offs []int // where each arg starts in line
}

// Tail returns the raw text from argument i on, spacing and quotes as typed:
// the free-text end of a command line ("complaint note 12 called them").
func (r *Request) Tail(i int) string {
	if i >= len(r.offs) {
		return ""
	}
	return strings.TrimSpace(r.line[r.offs[i]:])
}

// Arg returns argument i, or "" when there are fewer.
func (r *Request) Arg(i int) string {
	if i >= len(r.Args) {
		return ""
	}
	return r.Args[i]
}

// UsageError says the arguments were wrong; the router answers with the
// command's usage and the message.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// UserError is an error whose message is safe and useful to show as is.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Errorf returns an error shown to the person verbatim.
func Errorf(format string, args ...any) error {
	return &UserError{Msg: fmt.Sprintf(format, args...)}
}

// Split splits a command line into words. Double or single quotes group
// words; a backslash escapes the next character. It also returns where
// each word starts. Smart quotes, as phones type them, count as quotes.
func Split(line string) (words []string, offsets []int) {
	var cur strings.Builder
	in := false
	var quote rune
	start := 0
	flush := func() {
		if in {
			words = append(words, cur.String())
			offsets = append(offsets, start)
			cur.Reset()
			in = false
		}
	}
	escaped := false
	for i, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			if !in {
				in, start = true, i
			}
			escaped = true
		case quote != 0:
			if r == quote || (quote == '“' && r == '”') || (quote == '‘' && r == '’') {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'' || r == '“' || r == '‘':
			if !in {
				in, start = true, i
			}
			quote = r
		case unicode.IsSpace(r):
			flush()
		default:
			if !in {
				in, start = true, i
			}
			cur.WriteRune(r)
		}
	}
	if escaped {
		cur.WriteRune('\\')
	}
	flush()
	return words, offsets
}
