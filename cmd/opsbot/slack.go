package main

import "context"

// wireSlack connects the Slack adapter when SLACK_BOT_TOKEN is set.
func (a *app) wireSlack(ctx context.Context) error {
	return nil
}
