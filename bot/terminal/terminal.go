// Package terminal is the adapter behind `opsbot chat`: a REPL on the same
// database and handlers as the real adapters, so every feature can be tried
// with no Slack or WeChat credentials. It reads lines (a person typing, or
// a pipe), prints replies, and prints what opsbot sends to other people.
package terminal

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// Identity is who the terminal speaks as.
type Identity struct {
	Platform domain.Platform // terminal (staff) or wechat (a customer)
	UserID   string
	Role     domain.Role // for staff: the role to make sure they have
}

// ParseIdentity parses --as: "agent:NAME", "manager:NAME", "admin:NAME" or
// "customer:OPENID".
func ParseIdentity(s string) (Identity, error) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return Identity{}, fmt.Errorf("--as wants ROLE:NAME, such as agent:alice or customer:oABC123, not %q", s)
	}
	name = strings.TrimSpace(name)
	if kind == "customer" {
		return Identity{Platform: domain.PlatformWeChat, UserID: name, Role: domain.RoleCustomer}, nil
	}
	role, err := domain.ParseRole(kind)
	if err != nil || !role.IsStaff() {
		return Identity{}, fmt.Errorf("--as: role must be customer, agent, manager or admin, not %q", kind)
	}
	return Identity{Platform: domain.PlatformTerminal, UserID: name, Role: role}, nil
}

// String shows the identity as --as takes it.
func (id Identity) String() string { return id.Role.String() + ":" + id.UserID }

// Terminal is a REPL.
type Terminal struct {
	Handler bot.Handler
	In      io.Reader
	Out     io.Writer
	As      Identity
	// Interactive prints a prompt and a greeting.
	Interactive bool
	// AfterEach runs after every line: `opsbot chat` delivers the outbox
	// there, so what opsbot sends shows up right under the reply.
	AfterEach func(ctx context.Context) error
	// Switch is called when the user types /as ROLE:NAME.
	Switch func(ctx context.Context, id Identity) error

	mu   sync.Mutex
	werr error // the first failed write: the reader has gone
}

// Run reads until end of input, /quit, or ctx is done — even while it waits
// for a line (Ctrl-C and SIGTERM end ctx) — or until its output is gone (a
// closed pipe), so whoever started it can stop what it started.
func (t *Terminal) Run(ctx context.Context) error {
	lines, readErr := t.readLines(ctx)
	if t.Interactive {
		t.printf("opsbot chat — you are %s. Type help, /as ROLE:NAME to switch, /quit or Ctrl-D to leave.\n", t.As)
	}
	for {
		if t.Interactive {
			t.printf("%s> ", t.As)
		}
		if err := t.outErr(); err != nil {
			return err
		}
		var line string
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return <-readErr
			}
			line = l
		}
		if ctx.Err() != nil {
			return nil
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case line == "/quit" || line == "/exit":
			return nil
		case strings.HasPrefix(line, "/as "):
			id, err := ParseIdentity(strings.TrimSpace(strings.TrimPrefix(line, "/as ")))
			if err == nil && t.Switch != nil {
				err = t.Switch(ctx, id)
			}
			if err != nil {
				t.printf("%v\n", err)
				continue
			}
			t.As = id
			t.printf("You are now %s.\n", id)
			continue
		}
		rep := t.Handler.Handle(ctx, bot.Message{
			Platform: t.As.Platform, UserID: t.As.UserID, UserName: t.As.UserID,
			ChannelID: "terminal", Text: line, ID: fmt.Sprint(time.Now().UnixNano()), Time: time.Now(),
		})
		t.printReply(rep)
		if t.AfterEach != nil {
			if err := t.AfterEach(ctx); err != nil {
				t.printf("(delivering messages failed: %v)\n", err)
			}
		}
		if err := t.outErr(); err != nil {
			return err
		}
	}
}

// readLines reads input lines on their own goroutine, so that waiting for
// one never keeps Run from seeing ctx end. The channel closes at the end
// of input; readErr then says why.
func (t *Terminal) readLines(ctx context.Context) (<-chan string, <-chan error) {
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(t.In)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				readErr <- nil
				return
			}
		}
		readErr <- sc.Err()
	}()
	return lines, readErr
}

// outErr is the first error writing the output, if any.
func (t *Terminal) outErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.werr != nil {
		return fmt.Errorf("terminal output closed: %w", t.werr)
	}
	return nil
}

func (t *Terminal) printReply(rep bot.Reply) {
	text := bot.PlainText(rep.Content)
	if rep.Modal != nil {
		if text != "" {
			text += "\n"
		}
		text += "(In Slack this opens the form “" + rep.Modal.Title + "”; here, type the command with arguments — see help.)"
	}
	ids := make([]string, 0, len(rep.Errors))
	for id := range rep.Errors {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if text != "" {
			text += "\n"
		}
		text += id + ": " + rep.Errors[id]
	}
	if text != "" {
		t.printf("%s\n", text)
	}
}

func (t *Terminal) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.werr != nil {
		return
	}
	if _, err := fmt.Fprintf(t.Out, format, args...); err != nil {
		t.werr = err
	}
}

// Sender prints what opsbot sends to other people, for platforms with no
// credentials: "→ slack #complaints: …", "→ wechat oABC: …".
func (t *Terminal) Sender() bot.Sender {
	return bot.SenderFunc(func(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
		t.printf("%s\n", Describe(it))
		return domain.Delivery{Channel: it.To, TS: fmt.Sprintf("local-%d", it.ID)}, nil
	})
}

// Describe renders an outgoing message as one arrow line plus its body.
func Describe(it domain.OutboxItem) string {
	where := it.To
	switch {
	case it.Kind == domain.OutUpdate:
		where += " (update " + it.Ref + ")"
	case it.Kind == domain.OutDM:
		where = "@" + where
	case it.ThreadRef != "":
		where += " (thread " + it.ThreadRef + ")"
	}
	body := bot.PlainText(it.Content)
	if it.Attachment != nil {
		body += fmt.Sprintf("\n[file %s, %d bytes]", it.Attachment.Name, len(it.Attachment.Data))
	}
	return fmt.Sprintf("→ %s %s: %s", it.Platform, where, strings.ReplaceAll(body, "\n", "\n    "))
}
