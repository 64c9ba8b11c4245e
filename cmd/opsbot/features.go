package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/campaigns"
	"github.com/opsbot/opsbot/handlers/complaints"
	"github.com/opsbot/opsbot/handlers/digests"
	"github.com/opsbot/opsbot/handlers/shop"
	"github.com/opsbot/opsbot/handlers/surveys"
	"github.com/opsbot/opsbot/store"
)

// features is the one list of opsbot's features. Each contributes its
// commands, buttons, customer intents, menu lines and scheduled jobs; the
// customer menu and the WeChat custom menu are assembled from it. db is
// the store they work on: the pool, or a transaction for a dry run.
func (a *app) features(db *store.DB, events *handlers.Events) []bot.Feature {
	desk := a.complaintDesk(db, events)
	events.HandleOpenCase(desk.OpenCase)
	return []bot.Feature{
		{
			Name:     "staff",
			Commands: append(handlers.StaffCommands(db), handlers.OutboxCommands(db, a.clock)...),
			Jobs:     []bot.Job{a.pruneJob(db)},
		},
		desk.Feature(),
		shop.New(db, a.clock, a.channels, a.log).Feature(),
		surveys.New(db, a.clock, a.channels, a.log, events,
			a.cfg.WeChat.Templates[surveys.WeChatTemplate] != "" || a.cfg.WeChat.Subscriptions[surveys.WeChatTemplate] != "").Feature(),
		campaigns.New(db, a.clock, a.channels, a.log).Feature(),
		digests.New(db, a.clock, a.channels, a.log, digests.Options{
			ChartDir: filepath.Join(a.cfg.DataDir, "charts"),
			// Campaign days are compared only with other campaign days.
			SpecialDays: func(ctx context.Context, from, to time.Time) (map[string]string, error) {
				return db.CampaignDays(ctx, from, to, a.clock.Loc)
			},
		}).Feature(),
	}
}

// wireFeatures adds every feature to the router and its jobs to the
// scheduler, each job on the schedule the environment gives it
// (OPSBOT_SCHEDULE_<JOB>, "off" for manual runs only) or its default.
func (a *app) wireFeatures(context.Context) error {
	events := &handlers.Events{}
	a.events = events
	for _, f := range a.features(a.db, events) {
		if err := a.router.Use(f); err != nil {
			return err
		}
	}
	if err := handlers.UseBasics(a.router); err != nil {
		return err
	}
	a.wireIngest(events)
	for _, j := range a.router.Jobs() {
		if s := a.cfg.Schedule(j.Name); s != "" {
			j.Schedule = s
		}
		if err := a.sched.Add(j); err != nil {
			return fmt.Errorf("%s: %w", scheduleVar(j.Name), err)
		}
	}
	return nil
}

// scheduleVar is the variable that overrides a job's schedule:
// sla-sweep → OPSBOT_SCHEDULE_SLA_SWEEP.
func scheduleVar(job string) string {
	return "OPSBOT_SCHEDULE_" + strings.ToUpper(strings.ReplaceAll(job, "-", "_"))
}

// pruneJob forgets what only dedupes and short conversations need.
func (a *app) pruneJob(db *store.DB) bot.Job {
	return bot.Job{
		Name: "prune-deliveries", Schedule: "17 4 * * *",
		Description: "Forget inbound delivery IDs older than 7 days and expired customer questions.",
		Run: func(ctx context.Context, at time.Time) error {
			n, err := db.PruneDeliveries(ctx, 7*24*time.Hour)
			if err != nil {
				return err
			}
			c, err := db.PruneConversations(ctx, at)
			a.log.Info("Pruned", "deliveries", n, "conversations", c)
			return err
		},
	}
}

// wireIngest mounts the shop's intake when OPSBOT_INGEST_SECRET is set;
// without it the endpoints do not exist (404).
func (a *app) wireIngest(events *handlers.Events) {
	if a.cfg.IngestSecret == "" {
		a.log.Info("Shop data intake off: set OPSBOT_INGEST_SECRET to accept POST /ingest/orders and /ingest/traffic")
		return
	}
	in := &shop.Ingest{Store: a.db, Secret: a.cfg.IngestSecret, Events: events, Loc: a.cfg.Location,
		Log: a.log.With("adapter", "ingest")}
	a.handle("POST /ingest/orders", in)
	a.handle("POST /ingest/traffic", in)
	a.log.Info("Shop data intake on", "paths", "/ingest/orders /ingest/traffic")
}

// complaintDesk is the complaint desk with its configuration.
func (a *app) complaintDesk(db *store.DB, events *handlers.Events) *complaints.Complaints {
	desk := complaints.New(db, a.clock, a.channels, a.log, events)
	desk.DailyLimit = a.cfg.ComplaintsPerDay
	return desk
}
