package main

import (
	"context"

	"github.com/opsbot/opsbot/handlers/complaints"
)

// wireFeatures registers opsbot's jobs (complaints, surveys, digests,
// campaigns): their commands, customer intents, actions and scheduled jobs.
func (a *app) wireFeatures(ctx context.Context) error {
	complaints := complaints.New(a.db, a.clock, a.channels, a.log)
	complaints.Register(a.router)
	for _, j := range complaints.Jobs() {
		if err := a.sched.Add(j); err != nil {
			return err
		}
	}
	return nil
}
