package terminal_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bot/terminal"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestParseIdentity(t *testing.T) {
	t.Parallel()
	good := map[string]terminal.Identity{
		"agent:alice":      {Platform: domain.PlatformTerminal, UserID: "alice", Role: domain.RoleAgent},
		"manager:bob":      {Platform: domain.PlatformTerminal, UserID: "bob", Role: domain.RoleManager},
		"admin:local":      {Platform: domain.PlatformTerminal, UserID: "local", Role: domain.RoleAdmin},
		"customer:oABC123": {Platform: domain.PlatformWeChat, UserID: "oABC123", Role: domain.RoleCustomer},
		"Agent: alice ":    {Platform: domain.PlatformTerminal, UserID: "alice", Role: domain.RoleAgent},
	}
	for in, want := range good {
		got, err := terminal.ParseIdentity(in)
		if err != nil || got != want {
			t.Errorf("ParseIdentity(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "alice", "agent:", "boss:alice", "customer", "customer: ", "customer:x:y"[:9]} {
		if _, err := terminal.ParseIdentity(in); err == nil {
			t.Errorf("ParseIdentity(%q) succeeded", in)
		}
	}
	if s := (terminal.Identity{UserID: "alice", Role: domain.RoleAgent}).String(); s != "agent:alice" {
		t.Errorf("String = %q", s)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	cases := []struct {
		it   domain.OutboxItem
		want string
	}{
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformSlack, To: "#complaints",
			Content: domain.Content{Title: "New complaint", Text: "cup broken"}}},
			"→ slack #complaints: New complaint\n    cup broken"},
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformWeChat, To: "oABC",
			Content: domain.Content{Text: "您好"}}}, "→ wechat oABC: 您好"},
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutDM, To: "U1",
			Content: domain.Content{Text: "hi"}}}, "→ slack @U1: hi"},
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformSlack, To: "#c", ThreadRef: "complaint:1",
			Content: domain.Content{Text: "r"}}}, "→ slack #c (thread complaint:1): r"},
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutUpdate, To: "#c", Ref: "complaint:1",
			Content: domain.Content{Text: "u"}}}, "→ slack #c (update complaint:1): u"},
		{domain.OutboxItem{Outgoing: domain.Outgoing{Platform: domain.PlatformSlack, Kind: domain.OutUpload, To: "#c",
			Content: domain.Content{Text: "report"}, Attachment: &domain.Attachment{Name: "r.csv", Data: []byte("abc")}}},
			"→ slack #c: report\n    [file r.csv, 3 bytes]"},
	}
	for _, c := range cases {
		if got := terminal.Describe(c.it); got != c.want {
			t.Errorf("Describe = %q, want %q", got, c.want)
		}
	}
}

func TestRunPiped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storetest.New(t)
	if err := db.PutStaff(ctx, domain.Staff{UserID: "alice", Role: domain.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.Register(handlers.StaffCommands(db)...)
	if err := handlers.UseBasics(r); err != nil {
		t.Fatal(err)
	}
	r.Register(&bot.Command{Name: "notify", Usage: "notify", Description: "Post to #complaints.", Role: domain.RoleAgent,
		Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			err := db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformSlack, To: "#complaints", Content: domain.Content{Text: "heads up"}})
			return bot.Text("notified"), err
		}})
	r.Register(&bot.Command{Name: "form", Usage: "form", Description: "Open a form.", Role: domain.RoleAgent,
		Run: func(context.Context, *bot.Request) (bot.Reply, error) {
			return bot.Reply{Modal: &bot.Modal{Title: "New complaint"}}, nil
		}})

	in := strings.NewReader("help\n\n   \nnotify\nform\n/as boss:x\n/as customer:oABC\n帮助\n/quit\nhelp\n")
	var out bytes.Buffer
	var switched []string
	term := &terminal.Terminal{Handler: r, In: in, Out: &out,
		As: terminal.Identity{Platform: domain.PlatformTerminal, UserID: "alice", Role: domain.RoleAdmin}}
	d := &bot.Dispatcher{Store: db, Fallback: term.Sender()}
	term.AfterEach = d.DeliverAll
	term.Switch = func(_ context.Context, id terminal.Identity) error {
		switched = append(switched, id.String())
		return nil
	}
	if err := term.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"What I can do", "staff add <user>",
		"notified\n→ slack #complaints: heads up\n",
		"In Slack this opens the form “New complaint”",
		"--as: role must be customer, agent, manager or admin",
		"You are now customer:oABC.",
		handlers.CustomerMenu(r.Menu()),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "What I can do") != 1 {
		t.Errorf("input after /quit was read:\n%s", got)
	}
	if strings.Join(switched, ",") != "customer:oABC" {
		t.Errorf("switched = %q", switched)
	}
	if strings.Contains(got, "admin:alice>") {
		t.Errorf("a prompt was printed for piped input:\n%s", got)
	}
}

func TestRunReportsDeliveryErrors(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	term := &terminal.Terminal{
		Handler: handlerFunc(func(context.Context, bot.Message) bot.Reply { return bot.Text("ok") }),
		In:      strings.NewReader("x\n"), Out: &out, Interactive: true,
		As:        terminal.Identity{Platform: domain.PlatformTerminal, UserID: "a", Role: domain.RoleAgent},
		AfterEach: func(context.Context) error { return errors.New("db down") },
	}
	if err := term.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opsbot chat — you are agent:a", "agent:a> ", "ok\n", "(delivering messages failed: db down)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

type handlerFunc func(context.Context, bot.Message) bot.Reply

func (f handlerFunc) Handle(ctx context.Context, m bot.Message) bot.Reply { return f(ctx, m) }

// echo answers every line with its text.
type echo struct{}

func (echo) Handle(_ context.Context, m bot.Message) bot.Reply { return bot.Text("echo " + m.Text) }

// TestRunStopsWhileWaitingForInput: Ctrl-C and SIGTERM cancel the context;
// Run returns even though no line ever comes.
func TestRunStopsWhileWaitingForInput(t *testing.T) {
	t.Parallel()
	in, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	term := &terminal.Terminal{Handler: echo{}, In: in, Out: &out, As: terminal.Identity{Platform: domain.PlatformTerminal, UserID: "a", Role: domain.RoleAdmin}}
	done := make(chan error, 1)
	go func() { done <- term.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept waiting for input after the context ended")
	}
}

type brokenPipe struct{ writes int }

func (b *brokenPipe) Write(p []byte) (int, error) {
	b.writes++
	return 0, syscall.EPIPE
}

// TestRunStopsWhenOutputCloses: with nobody reading the output any more,
// Run returns an error instead of carrying on (so the caller stops what it
// started).
func TestRunStopsWhenOutputCloses(t *testing.T) {
	t.Parallel()
	out := &brokenPipe{}
	term := &terminal.Terminal{Handler: echo{}, In: strings.NewReader("one\ntwo\nthree\n"), Out: out,
		As: terminal.Identity{Platform: domain.PlatformTerminal, UserID: "a", Role: domain.RoleAdmin}}
	err := term.Run(context.Background())
	if !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Run = %v, want EPIPE", err)
	}
	if out.writes != 1 {
		t.Errorf("%d writes after the first failed", out.writes-1)
	}
}
