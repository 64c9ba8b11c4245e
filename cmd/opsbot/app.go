package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/localpg"
)

// app is opsbot wired together: the one place concrete things meet.
type app struct {
	cfg     Config
	log     *slog.Logger
	db      *store.DB
	pg      *localpg.Server // the embedded database, when we started it
	reg     *prometheus.Registry
	metrics *bot.Metrics
	clock   handlers.Clock
	router  *bot.Router
	events  *handlers.Events // what features tell each other, shared with the intake
	disp    *bot.Dispatcher
	sched   *bot.Scheduler
	routes  []route // HTTP routes the adapters add
	// channels are where staff notices go: configured Slack channel IDs,
	// or logical names when Slack is off.
	channels handlers.Channels
	// starters run with the server (Socket Mode, say) until ctx ends.
	starters []func(ctx context.Context) error
	// drains wait for adapters' background work at shutdown, after the
	// HTTP server stops taking requests.
	drains []func()
}

type route struct {
	pattern string
	handler http.Handler
}

// handle adds an HTTP route, served with the same limits and metrics as
// the built-in ones. pattern is a ServeMux pattern such as "POST /slack/events".
func (a *app) handle(pattern string, h http.Handler) {
	a.routes = append(a.routes, route{pattern: pattern, handler: h})
}

// openDB connects to DATABASE_URL, or starts the embedded Postgres.
func openDB(ctx context.Context, cfg Config, log *slog.Logger) (*store.DB, *localpg.Server, error) {
	url := cfg.DatabaseURL
	var pg *localpg.Server
	if url == "" {
		dir := filepath.Join(cfg.DataDir, "postgres")
		log.Warn("DATABASE_URL is not set: using an embedded local PostgreSQL for trying opsbot out. "+
			"For production set DATABASE_URL=postgres://user:pass@host:5432/opsbot", "dir", dir)
		var err error
		pg, err = localpg.Start(ctx, localpg.Config{Dir: dir, Log: pgLog(cfg)})
		if err != nil {
			return nil, nil, err
		}
		url = pg.URL
		if pg.Reused {
			log.Info("Embedded PostgreSQL was already running; using it", "dir", dir)
			pg = nil // not ours to stop
		}
	}
	db, err := store.Open(ctx, url, store.Options{
		MaxOpenConns: cfg.DBMaxConns, StatementTimeout: cfg.DBStatementTimeout, Owner: processOwner,
	})
	if err != nil {
		if pg != nil {
			_ = pg.Stop()
		}
		return nil, nil, err
	}
	return db, pg, nil
}

func pgLog(cfg Config) io.Writer {
	f, err := os.OpenFile(filepath.Join(cfg.DataDir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return io.Discard
	}
	return f
}

// newApp opens the database, migrates it and wires every part. out is
// where the terminal shows messages for platforms with no credentials (nil:
// the log).
func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("OPSBOT_DATA_DIR: %w", err)
	}
	db, pg, err := openDB(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, db: db, pg: pg, clock: handlers.NewClock(cfg.Location)}
	if err := a.wire(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *app) wire(ctx context.Context) error {
	n, err := a.db.Migrate(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("Applied migrations", "count", n)
	}
	if err := a.db.EnsureAdmins(ctx, a.cfg.Admins); err != nil {
		return err
	}
	a.reg = prometheus.NewRegistry()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = bot.NewMetrics(a.reg)
	a.reg.MustRegister(outboxCollector{db: a.db})

	a.channels = handlers.Channels{
		Complaints: orDefault(a.cfg.Slack.ComplaintsChannel, "#complaints"),
		Managers:   orDefault(a.cfg.Slack.ManagersChannel, "#managers"),
		Campaigns:  orDefault(a.cfg.Slack.CampaignsChannel, "#campaigns"),
	}
	a.router = bot.NewRouter(a.db, a.log)
	a.router.Questions(a.db)

	a.disp = &bot.Dispatcher{
		Store:    a.db,
		Senders:  map[domain.Platform]bot.Sender{},
		Fallback: logSender(a.log),
		Log:      a.log,
		Metrics:  a.metrics,
		Workers:  a.cfg.DispatchWorkers,
	}
	if n, err := a.db.ReleaseOrphanedClaims(ctx, ownerDead); err != nil {
		return err
	} else if n > 0 {
		a.log.Info("Took back messages a crashed opsbot had claimed", "count", n)
	}
	a.sched = bot.NewScheduler(a.db, a.cfg.Location, processOwner, a.log, a.metrics)
	for _, w := range []func(context.Context) error{a.wireFeatures, a.wireSlack, a.wireWeChat} {
		if err := w(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (a *app) close() {
	if a.db != nil {
		a.db.Close()
	}
	if a.pg != nil {
		if err := a.pg.Stop(); err != nil {
			a.log.Error("Could not stop embedded PostgreSQL", "err", err)
		}
	}
}

// processOwner names this process on outbox claims and job runs:
// host/pid/start, unique even when a restarted container reuses the pid.
var processOwner = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano())
}()

// ownerDead reports whether the process named by owner is certainly gone:
// it ran on this host, and its pid is either ours now (we are its
// restart) or no longer running. Owners elsewhere are assumed alive; their
// claims simply expire.
func ownerDead(owner string) bool {
	parts := strings.Split(owner, "/")
	host, _ := os.Hostname()
	if len(parts) != 3 || parts[0] != host || owner == processOwner {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return true
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// logSender "delivers" to the log for platforms with no credentials, so
// opsbot runs fully without them. The body is logged at debug only: it
// may be a customer's words.
func logSender(log *slog.Logger) bot.Sender {
	return bot.SenderFunc(func(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
		log.Info("Message for an unconfigured platform written to the log", "outbox_id", it.ID,
			"platform", it.Platform, "to", it.To, "kind", it.Kind)
		log.Debug("Message body", "outbox_id", it.ID, "text", bot.PlainText(it.Content))
		return domain.Delivery{Channel: it.To, TS: fmt.Sprintf("log-%d", it.ID)}, nil
	})
}

// outboxCollector reports the outbox depth at scrape time.
type outboxCollector struct{ db *store.DB }

var (
	outboxPendingDesc = prometheus.NewDesc("opsbot_outbox_pending", "Messages waiting to be delivered.", nil, nil)
	outboxFailedDesc  = prometheus.NewDesc("opsbot_outbox_failed", "Messages that failed for good.", nil, nil)
)

func (outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxPendingDesc
	ch <- outboxFailedDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, failed, err := c.db.OutboxStats(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(outboxPendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(outboxFailedDesc, prometheus.GaugeValue, float64(failed))
}
