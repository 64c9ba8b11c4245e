package bot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	r   *bot.Router
	db  *store.DB
	log *syncBuffer
	ran []string // commands that ran
	mu  sync.Mutex
}

func (f *fixture) record(name string) {
	f.mu.Lock()
	f.ran = append(f.ran, name)
	f.mu.Unlock()
}

func (f *fixture) didRun(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.ran {
		if r == name {
			return true
		}
	}
	return false
}

// newFixture returns a router on a fresh database with staff alice
// (agent), mia (manager) and root (admin), and a few test commands.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: storetest.New(t), log: &syncBuffer{}}
	f.r = bot.NewRouter(f.db, slog.New(slog.NewTextHandler(f.log, nil)))
	for _, s := range []domain.Staff{
		{UserID: "alice", Role: domain.RoleAgent},
		{UserID: "mia", Role: domain.RoleManager},
		{UserID: "root", Role: domain.RoleAdmin},
	} {
		if err := f.db.PutStaff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	f.r.Register(
		&bot.Command{
			Name: "complaint note", Usage: "complaint note <id> <text>", Description: "Add a note.",
			Examples: []string{"complaint note 12 called them back"}, Role: domain.RoleAgent,
			Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
				if len(req.Args) < 2 {
					return bot.Reply{}, bot.Usagef("Say which complaint and what to note.")
				}
				f.record("complaint note")
				return bot.Text(fmt.Sprintf("note on %s: [%s]", req.Arg(0), req.Tail(1))), nil
			},
		},
		&bot.Command{
			Name: "digest send", Usage: "digest send", Description: "Send the digest now.", Role: domain.RoleManager,
			Run: func(context.Context, *bot.Request) (bot.Reply, error) {
				f.record("digest send")
				return bot.Text("sent"), nil
			},
		},
		&bot.Command{
			Name: "wipe", Usage: "wipe", Description: "Wipe everything.", Role: domain.RoleAdmin,
			Run: func(context.Context, *bot.Request) (bot.Reply, error) {
				f.record("wipe")
				return bot.Text("wiped"), nil
			},
		},
		&bot.Command{
			Name: "boom", Usage: "boom", Description: "Panic.", Role: domain.RoleAgent,
			Run: func(context.Context, *bot.Request) (bot.Reply, error) { panic("kaboom") },
		},
		&bot.Command{
			Name: "fail", Usage: "fail <kind>", Description: "Fail.", Role: domain.RoleAgent,
			Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
				switch req.Arg(0) {
				case "notfound":
					return bot.Reply{}, fmt.Errorf("complaint 12: %w", domain.ErrNotFound)
				case "forbidden":
					return bot.Reply{}, domain.ErrForbidden
				case "invalid":
					return bot.Reply{}, fmt.Errorf("%w: the date must look like 2026-11-22", domain.ErrInvalid)
				case "user":
					return bot.Reply{}, bot.Errorf("Complaint 12 is already closed.")
				}
				return bot.Reply{}, errors.New("db exploded: password=hunter2")
			},
		},
	)
	return f
}

func (f *fixture) say(t *testing.T, user, text string) string {
	t.Helper()
	rep := f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformSlack, UserID: user, Text: text})
	return bot.PlainText(rep.Content)
}

func TestHelpListsOnlyAllowedCommands(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := []struct {
		user      string
		see, hide []string
	}{
		{"alice", []string{"help [command or group]", "complaint note <id> <text>", "boom"}, []string{"digest send", "wipe"}},
		{"mia", []string{"complaint note", "digest send"}, []string{"wipe"}},
		{"root", []string{"complaint note", "digest send", "wipe", "help [command or group]"}, nil},
	}
	for _, c := range cases {
		out := f.say(t, c.user, "help")
		for _, s := range c.see {
			if !strings.Contains(out, s) {
				t.Errorf("help for %s lacks %q:\n%s", c.user, s, out)
			}
		}
		for _, s := range c.hide {
			if strings.Contains(out, s) {
				t.Errorf("help for %s shows %q:\n%s", c.user, s, out)
			}
		}
	}
	// An empty line is help too.
	if out := f.say(t, "alice", "   "); !strings.Contains(out, "complaint note") {
		t.Errorf("empty command:\n%s", out)
	}
}

func TestHelpForOneCommand(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out := f.say(t, "alice", "help complaint note")
	for _, s := range []string{"complaint note", "Add a note.", "Usage: `complaint note <id> <text>`", "Role: agent",
		"`complaint note 12 called them back`"} {
		if !strings.Contains(out, s) {
			t.Errorf("help complaint note lacks %q:\n%s", s, out)
		}
	}
	if out := f.say(t, "alice", "HELP Complaint Note"); !strings.Contains(out, "Usage: `complaint note") {
		t.Errorf("commands are case-insensitive:\n%s", out)
	}
	if out := f.say(t, "alice", "help compliant note"); !strings.Contains(out, "Did you mean `complaint note`?") {
		t.Errorf("help with a typo:\n%s", out)
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.r.Register(&bot.Command{Name: "staff list", Usage: "staff list", Description: "x", Role: domain.RoleAgent,
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Text("list"), nil }})
	f.r.Register(&bot.Command{Name: "staff add", Usage: "staff add", Description: "x", Role: domain.RoleAdmin,
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Text("add"), nil }})
	cases := map[string]string{
		"staf lst":         "staff list",
		"stuff list":       "staff list",
		"complain note 3":  "complaint note",
		"hlep":             "help",
		"digest sned":      "digest send",
		"staff ad U1 boss": "staff add",
	}
	for in, want := range cases {
		out := f.say(t, "root", in)
		if !strings.Contains(out, "Did you mean `"+want+"`?") || !strings.Contains(out, "`help`") {
			t.Errorf("%q:\n%s\nwant a suggestion of %q and a pointer to help", in, out, want)
		}
	}
	out := f.say(t, "alice", "xyzzy")
	if strings.Contains(out, "Did you mean") || !strings.Contains(out, "xyzzy") || !strings.Contains(out, "`help`") {
		t.Errorf("nonsense gets no suggestion, but a pointer to help:\n%s", out)
	}
}

func TestArgumentsAndUsage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out := f.say(t, "alice", "complaint note 12")
	if !strings.Contains(out, "Say which complaint") || !strings.Contains(out, "Usage: `complaint note <id> <text>`") {
		t.Errorf("bad arguments:\n%s", out)
	}
	if f.didRun("complaint note") {
		t.Error("the command ran with bad arguments")
	}
	out = f.say(t, "alice", `complaint note 12   called "them"  back  `)
	if out != `note on 12: [called "them"  back]` {
		t.Errorf("Tail keeps the text as typed: %q", out)
	}
}

func TestNonStaffRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, text := range []string{"help", "wipe", "complaint note 1 x"} {
		out := f.say(t, "U_STRANGER", text)
		if !strings.Contains(out, "Sorry") || !strings.Contains(out, "staff") {
			t.Errorf("stranger %q:\n%s", text, out)
		}
	}
	if f.didRun("wipe") || f.didRun("complaint note") {
		t.Error("a stranger ran a command")
	}
	// A stranger pressing a staff button is refused too.
	f.r.HandleAction(bot.ActionHandler{ID: "complaint.claim", Role: domain.RoleAgent,
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { f.record("claim"); return bot.Text("ok"), nil }})
	rep := f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformSlack, UserID: "U_STRANGER",
		Action: &bot.Action{ID: "complaint.claim:12"}})
	if !strings.Contains(bot.PlainText(rep.Content), "only the shop's staff") || f.didRun("claim") {
		t.Errorf("stranger's button: %q", bot.PlainText(rep.Content))
	}
}

func TestRoleInsufficient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out := f.say(t, "alice", "wipe")
	if !strings.Contains(out, "needs the admin role") || !strings.Contains(out, "you are an agent") {
		t.Errorf("agent runs admin command:\n%s", out)
	}
	out = f.say(t, "mia", "wipe")
	if !strings.Contains(out, "needs the admin role") {
		t.Errorf("manager runs admin command:\n%s", out)
	}
	if f.didRun("wipe") {
		t.Error("wipe ran for a non-admin")
	}
	if out := f.say(t, "mia", "digest send"); out != "sent" {
		t.Errorf("manager runs manager command: %q", out)
	}
	if out := f.say(t, "root", "digest send"); out != "sent" {
		t.Errorf("admin runs manager command: %q", out)
	}
}

func TestPanicBecomesErrorReply(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	out := f.say(t, "alice", "boom")
	if !strings.Contains(out, "something went wrong") {
		t.Errorf("panic reply:\n%s", out)
	}
	logs := f.log.String()
	if !strings.Contains(logs, "Handler panicked") || !strings.Contains(logs, "kaboom") {
		t.Errorf("panic not logged:\n%s", logs)
	}
	// The router still works afterwards.
	if out := f.say(t, "mia", "digest send"); out != "sent" {
		t.Errorf("after a panic: %q", out)
	}
	// Customers get the apology in Chinese.
	f.r.HandleCustomer(bot.CustomerIntent{Name: "boom", Keywords: []string{"炸"},
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { panic("customer kaboom") }})
	rep := f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformWeChat, UserID: "oABC", Text: "炸了"})
	if !strings.Contains(bot.PlainText(rep.Content), "抱歉") {
		t.Errorf("customer panic reply: %q", bot.PlainText(rep.Content))
	}
}

func TestErrorReplies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	cases := map[string]string{
		"fail notfound":  "Not found: complaint 12",
		"fail forbidden": "not allowed",
		"fail invalid":   "the date must look like 2026-11-22",
		"fail user":      "Complaint 12 is already closed.",
		"fail other":     "something went wrong",
	}
	for in, want := range cases {
		if out := f.say(t, "alice", in); !strings.Contains(out, want) {
			t.Errorf("%q = %q, want %q", in, out, want)
		}
	}
	if out := f.say(t, "alice", "fail other"); strings.Contains(out, "hunter2") {
		t.Error("an internal error's text reached the user")
	}
	if !strings.Contains(f.log.String(), "Handler failed") {
		t.Error("an internal error was not logged")
	}
}

func TestRoleLookupFailure(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	log := &syncBuffer{}
	r := bot.NewRouter(db, slog.New(slog.NewTextHandler(log, nil)))
	db.Close() // the database goes away
	rep := r.Handle(context.Background(), bot.Message{Platform: domain.PlatformSlack, UserID: "alice", Text: "help"})
	if !strings.Contains(bot.PlainText(rep.Content), "something went wrong") {
		t.Errorf("reply = %q", bot.PlainText(rep.Content))
	}
	if !strings.Contains(log.String(), "Role lookup failed") {
		t.Errorf("not logged:\n%s", log)
	}
}

func TestCustomerMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var order []string
	f.r.HookCustomer(func(_ context.Context, req *bot.Request) (bot.Reply, bool, error) {
		order = append(order, "hook")
		if req.Role != domain.RoleCustomer {
			t.Errorf("customer role = %v", req.Role)
		}
		if strings.HasPrefix(req.Text, "1") {
			return bot.Text("谢谢您的评分"), true, nil
		}
		return bot.Reply{}, false, nil
	})
	f.r.HandleCustomer(bot.CustomerIntent{Name: "complain", Keywords: []string{"投诉"},
		Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
			order = append(order, "intent")
			return bot.Text(fmt.Sprintf("收到投诉：%s|%s", req.Arg(0), req.Tail(0))), nil
		}})
	f.r.CustomerFallback(func(context.Context, *bot.Request) (bot.Reply, error) {
		order = append(order, "fallback")
		return bot.Text("菜单"), nil
	})
	say := func(text string) string {
		// A customer who happens to share a staff ID is still a customer on WeChat.
		rep := f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformWeChat, UserID: "root", Text: text})
		return bot.PlainText(rep.Content)
	}
	if out := say("1"); out != "谢谢您的评分" {
		t.Errorf("hook: %q", out)
	}
	if out := say("  投诉 订单20261111001 杯子碎了 "); out != "收到投诉：订单20261111001|订单20261111001 杯子碎了" {
		t.Errorf("intent: %q", out)
	}
	if out := say("你好"); !strings.Contains(out, "您好") {
		t.Errorf("greeting: %q", out)
	}
	if out := say("快递到哪了"); out != "菜单" {
		t.Errorf("fallback: %q", out)
	}
	if out := say("wipe"); out != "菜单" || f.didRun("wipe") {
		t.Errorf("a customer reached a staff command: %q", out)
	}
	// Keyword intents come before catch-all hooks; small talk needs neither.
	want := "hook intent hook fallback hook fallback"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order = %q, want %q", got, want)
	}
}

func TestAmbientStaffMessages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ambient := func(user, text string) bot.Reply {
		return f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformSlack, UserID: user,
			ChannelID: "C1", ThreadID: "111.1", Text: text, Ambient: true})
	}
	// Nobody takes it: silence, even for something that looks like a command.
	for _, text := range []string{"we called the customer", "wipe", "help"} {
		if rep := ambient("alice", text); !rep.Content.IsZero() {
			t.Errorf("ambient %q got %q", text, bot.PlainText(rep.Content))
		}
	}
	if rep := ambient("U_STRANGER", "hello"); !rep.Content.IsZero() {
		t.Errorf("ambient stranger got %q", bot.PlainText(rep.Content))
	}
	if f.didRun("wipe") {
		t.Error("an ambient message ran a command")
	}
	// A staff hook takes thread replies.
	f.r.HookStaff(func(_ context.Context, req *bot.Request) (bot.Reply, bool, error) {
		if req.ThreadID == "" {
			return bot.Reply{}, false, nil
		}
		if req.Text == "fail" {
			return bot.Reply{}, true, bot.Errorf("Could not relay that.")
		}
		return bot.Text("relayed to the customer: " + req.Text), true, nil
	})
	if out := bot.PlainText(ambient("alice", "we called").Content); out != "relayed to the customer: we called" {
		t.Errorf("staff hook: %q", out)
	}
	if out := bot.PlainText(ambient("alice", "fail").Content); out != "Could not relay that." {
		t.Errorf("staff hook error: %q", out)
	}
	if rep := ambient("U_STRANGER", "hello"); !rep.Content.IsZero() {
		t.Errorf("a stranger's ambient message reached the hook: %q", bot.PlainText(rep.Content))
	}
	// Commands outside threads still work with the hook in place.
	if out := f.say(t, "mia", "digest send"); out != "sent" {
		t.Errorf("command with a staff hook: %q", out)
	}
}

func TestActions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.r.HandleAction(
		bot.ActionHandler{ID: "complaint.close", Role: domain.RoleManager,
			Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
				return bot.Reply{Content: domain.Content{Text: "closed " + req.Action.Value}, Update: true}, nil
			}},
		bot.ActionHandler{ID: "survey", Role: domain.RoleCustomer,
			Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
				return bot.Text("评分 " + req.Action.Value), nil
			}},
	)
	act := func(p domain.Platform, user, id, value string) bot.Reply {
		return f.r.Handle(context.Background(), bot.Message{Platform: p, UserID: user,
			Action: &bot.Action{ID: id, Value: value}})
	}
	if rep := act(domain.PlatformSlack, "mia", "complaint.close:12", "12"); rep.Text != "closed 12" || !rep.Update {
		t.Errorf("prefix action: %+v", rep)
	}
	if rep := act(domain.PlatformSlack, "mia", "complaint.close", "13"); rep.Text != "closed 13" {
		t.Errorf("exact action: %+v", rep)
	}
	if rep := act(domain.PlatformSlack, "alice", "complaint.close:12", "12"); !strings.Contains(rep.Text, "needs the manager role") {
		t.Errorf("agent pressing a manager button: %+v", rep)
	}
	if rep := act(domain.PlatformSlack, "mia", "complaint.closed", "12"); !strings.Contains(rep.Text, "don't know that button") {
		t.Errorf("a longer ID must not match by prefix: %+v", rep)
	}
	if rep := act(domain.PlatformWeChat, "oABC", "survey:5", "5"); rep.Text != "评分 5" {
		t.Errorf("customer action: %+v", rep)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	t.Parallel()
	r := bot.NewRouter(nil, slog.New(slog.DiscardHandler))
	defer func() {
		if recover() == nil {
			t.Error("registering help twice did not panic")
		}
	}()
	r.Register(&bot.Command{Name: "Help"})
}
