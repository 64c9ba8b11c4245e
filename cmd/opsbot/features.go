package main

import "context"

// wireFeatures registers opsbot's jobs (complaints, surveys, digests,
// campaigns): their commands, customer intents, actions and scheduled jobs.
func (a *app) wireFeatures(ctx context.Context) error {
	return nil
}
