// Command opsbot runs an e-commerce shop's daily operations from chat:
// complaints with SLAs, metric digests, satisfaction surveys and campaign
// reminders, between Slack, a WeChat Official Account and PostgreSQL.
//
//	opsbot [serve]              run the bot (HTTP, dispatcher, scheduler)
//	opsbot migrate [status]     apply migrations, or list them
//	opsbot chat [--as ROLE:ID]  talk to opsbot in the terminal
//	opsbot jobs list            show scheduled jobs
//	opsbot jobs run NAME [--at RFC3339]
//	opsbot version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bot/terminal"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed output pipe (opsbot chat | head) must not kill opsbot
	// outright: writes fail instead, the command ends, and what it started
	// (the embedded database) is stopped.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "opsbot:", err)
		os.Exit(1)
	}
}

const usage = `usage: opsbot [command]

commands:
  serve                         run opsbot (the default)
  migrate [status]              apply database migrations and exit, or list them
  chat [--as ROLE:NAME]         talk to opsbot in this terminal; ROLE is agent,
                                manager, admin (default admin:local) or customer
  jobs list                     list scheduled jobs with their last and next run
  jobs run NAME [--at RFC3339] [--dry-run]
                                run a job's slot now; a future --at needs --dry-run
  wechat menu show|apply        show or install the Official Account menu
  import orders|traffic FILE.csv [--dry-run]
                                load the shop's order events or daily traffic
  demo [--force|--remove]       fill the database with 120 days of demo shop
                                activity, or take it all out again
  version                       print the version

Stop opsbot with Ctrl-C or SIGTERM (kill PID); it finishes what it is
sending and stops the embedded database it started.
Configuration comes from environment variables; see README.md.`

// run is opsbot with its inputs made explicit, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "opsbot", buildVersion())
		return nil
	case "help", "--help", "-h":
		fmt.Fprintln(stdout, usage)
		return nil
	case "serve", "migrate", "chat", "jobs", "wechat", "import", "demo":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cmd == "chat" {
		// The chat's own output is the conversation; keep the log quiet.
		if cfg.LogLevel < slog.LevelWarn {
			cfg.LogLevel = slog.LevelWarn
		}
		log = newLogger(cfg, stderr)
	}
	if cmd == "serve" {
		log.Info("Starting opsbot", "version", buildVersion(), "command", cmd, "config", cfg)
	} else {
		// One line for a sub-command; the whole configuration is for serve.
		log.Info("opsbot "+cmd, "version", buildVersion())
	}

	switch cmd {
	case "serve":
		if len(args) > 0 {
			return fmt.Errorf("serve takes no arguments\n%s", usage)
		}
		return serve(ctx, cfg, log, nil)
	case "migrate":
		return migrate(ctx, cfg, log, args, stdout)
	case "chat":
		return chat(ctx, cfg, log, args, stdin, stdout)
	case "jobs":
		return jobs(ctx, cfg, log, args, stdout)
	case "wechat":
		return wechatCmd(ctx, cfg, log, args, stdout)
	case "import":
		return importCmd(ctx, cfg, log, args, stdout, stderr)
	case "demo":
		return demoCmd(ctx, cfg, log, args, stdout)
	}
	return nil
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// serve runs opsbot until ctx ends. ready, when not nil, receives the
// address once the server listens.
func serve(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	start := time.Now()
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	log.Info("Ready", "startup_ms", time.Since(start).Milliseconds())
	return a.serve(ctx, ready)
}

func migrate(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) > 1 || (len(args) == 1 && args[0] != "status") {
		return fmt.Errorf("usage: opsbot migrate [status]")
	}
	db, pg, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		db.Close()
		if pg != nil {
			_ = pg.Stop()
		}
	}()
	if len(args) == 0 {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "applied %d migration(s); the database is up to date\n", n)
		return nil
	}
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(out, "%05d  %-8s %s\n", s.Version, state, s.Name)
	}
	return nil
}

func chat(ctx context.Context, cfg Config, log *slog.Logger, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(out)
	as := fs.String("as", "admin:local", "who to speak as: agent:NAME, manager:NAME, admin:NAME or customer:OPENID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := terminal.ParseIdentity(*as)
	if err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	t := &terminal.Terminal{Handler: a.router, In: in, Out: out, As: id, Interactive: isTerminal(in)}
	// What opsbot sends to platforms with no credentials shows up here;
	// configured adapters still deliver for real.
	a.disp.Fallback = t.Sender()
	t.AfterEach = a.disp.DeliverAll
	t.Switch = func(ctx context.Context, id terminal.Identity) error { return a.ensureTerminalStaff(ctx, id) }
	if err := a.ensureTerminalStaff(ctx, id); err != nil {
		return err
	}
	return t.Run(ctx)
}

// ensureTerminalStaff makes sure a terminal identity has at least the role
// it claims: `opsbot chat` is for trying opsbot on one's own database.
func (a *app) ensureTerminalStaff(ctx context.Context, id terminal.Identity) error {
	if !id.Role.IsStaff() {
		return nil
	}
	have, err := a.db.StaffRole(ctx, id.UserID)
	if err != nil || have >= id.Role {
		return err
	}
	return a.db.PutStaff(ctx, domain.Staff{UserID: id.UserID, Name: id.UserID, Role: id.Role, AddedBy: "opsbot chat"})
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func jobs(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || (args[0] != "list" && args[0] != "run") {
		return errors.New("usage: opsbot jobs list | opsbot jobs run NAME [--at RFC3339]")
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.close()
	if args[0] == "list" {
		last, err := a.db.LastRuns(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%-20s %-16s %-22s %-22s %s\n", "NAME", "SCHEDULE", "LAST RUN", "NEXT RUN", "DESCRIPTION")
		for _, j := range a.sched.Jobs() {
			lr := "never"
			if r, ok := last[j.Name]; ok {
				lr = r.StartedAt.In(cfg.Location).Format("2006-01-02 15:04")
				if r.Error != "" {
					lr += " (failed)"
				}
			}
			fmt.Fprintf(out, "%-20s %-16s %-22s %-22s %s\n", j.Name, j.Schedule, lr,
				j.Next.In(cfg.Location).Format("2006-01-02 15:04"), j.Description)
		}
		return nil
	}
	fs := flag.NewFlagSet("jobs run", flag.ContinueOnError)
	fs.SetOutput(out)
	atFlag := fs.String("at", "", "run the slot of this time (RFC3339, e.g. 2026-11-22T09:00:00+08:00); a future time needs --dry-run")
	dry := fs.Bool("dry-run", false, "write nothing: print what the job would send, and to whom")
	if len(args) < 2 {
		return errors.New("usage: opsbot jobs run NAME [--at RFC3339] [--dry-run]")
	}
	name := args[1]
	if err := fs.Parse(args[2:]); err != nil {
		return err
	}
	at := time.Now()
	if *atFlag != "" {
		if at, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			return fmt.Errorf("--at: expected RFC3339 time such as 2026-11-22T09:00:00+08:00, got %q", *atFlag)
		}
		if at.After(time.Now().Add(time.Minute)) && !*dry {
			return fmt.Errorf("--at %s is in the future: a real run would send its messages early and use them up. "+
				"Add --dry-run to see what it would send", *atFlag)
		}
	}
	if *dry {
		return a.dryRun(ctx, name, at, out)
	}
	if err := a.sched.RunManual(ctx, name, at); err != nil {
		return err
	}
	// Deliver what the job decided to send, so a manual run is complete.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.disp.DeliverAll(dctx); err != nil {
		return err
	}
	fmt.Fprintf(out, "ran %s at %s\n", name, at.In(cfg.Location).Format(time.RFC3339))
	return nil
}

// dryRun runs a job as of at on features bound to a transaction that is
// rolled back, and prints what it would have sent.
func (a *app) dryRun(ctx context.Context, name string, at time.Time, out io.Writer) error {
	var job *bot.Job
	return a.db.Rollback(ctx, func(tx *store.DB) error {
		for _, f := range a.features(tx, &handlers.Events{}) {
			for _, j := range f.Jobs {
				if j.Name == name {
					job = &j
				}
			}
		}
		if job == nil {
			return fmt.Errorf("no job named %q (see opsbot jobs list)", name)
		}
		if err := job.Run(ctx, at); err != nil {
			return err
		}
		msgs, err := tx.OutboxWritten(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "dry run of %s at %s: %d message(s) would be sent; nothing was written\n",
			name, at.In(a.cfg.Location).Format(time.RFC3339), len(msgs))
		for _, m := range msgs {
			to := m.To
			if m.ThreadRef != "" {
				to += " (thread of " + m.ThreadRef + ")"
			}
			fmt.Fprintf(out, "→ %s %s %s: %s\n", m.Platform, m.Kind, to, handlers.Excerpt(bot.PlainText(m.Content), 200))
		}
		return nil
	})
}
