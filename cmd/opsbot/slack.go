package main

import (
	"context"

	"github.com/opsbot/opsbot/bot/slack"
	"github.com/opsbot/opsbot/domain"
)

// wireSlack connects the Slack adapter when SLACK_BOT_TOKEN is set: the
// HTTP endpoints when there is a signing secret, Socket Mode when there is
// an app-level token, and the outbox sender in both cases.
func (a *app) wireSlack(ctx context.Context) error {
	if !a.cfg.Slack.Enabled() {
		return nil
	}
	ad, err := slack.New(ctx, slack.Config{
		BotToken:      a.cfg.Slack.BotToken,
		SigningSecret: a.cfg.Slack.SigningSecret,
		AppToken:      a.cfg.Slack.AppToken,
		APIURL:        a.cfg.Slack.APIURL,
		Handler:       a.router,
		Deliveries:    a.db,
		Outbox: slack.OutboxFunc(func(ctx context.Context, msgs ...domain.Outgoing) error {
			if err := a.db.Enqueue(ctx, msgs...); err != nil {
				return err
			}
			a.disp.Wake()
			return nil
		}),
		Log: a.log.With("adapter", "slack"),
	})
	if err != nil {
		return err
	}
	if a.cfg.Slack.SigningSecret != "" {
		a.handle("POST /slack/commands", ad.Commands())
		a.handle("POST /slack/events", ad.Events())
		a.handle("POST /slack/interactions", ad.Interactions())
	}
	a.disp.Senders[domain.PlatformSlack] = ad
	a.drains = append(a.drains, ad.Wait)
	if a.cfg.Slack.AppToken != "" {
		a.starters = append(a.starters, ad.RunSocketMode)
	}
	return nil
}
