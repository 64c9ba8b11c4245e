package handlers

import (
	"context"
	"fmt"
	"strconv"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// OutboxStore lists messages that could not be delivered.
type OutboxStore interface {
	FailedOutbox(ctx context.Context, limit int) ([]domain.OutboxItem, error)
	OutboxStats(ctx context.Context) (pending, failed int, err error)
}

// OutboxCommands returns `outbox failed`, which lists undeliverable
// messages for admins, with the reason each one failed.
func OutboxCommands(st OutboxStore, tz Clock) []*bot.Command {
	return []*bot.Command{{
		Name:        "outbox failed",
		Usage:       "outbox failed [N]",
		Description: "List the newest messages opsbot could not deliver, and why.",
		Examples:    []string{"outbox failed", "outbox failed 50"},
		Role:        domain.RoleAdmin,
		Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			limit := 20
			if a := req.Arg(0); a != "" {
				n, err := strconv.Atoi(a)
				if err != nil || n < 1 || n > 200 {
					return bot.Reply{}, bot.Usagef("N must be a number from 1 to 200.")
				}
				limit = n
			}
			pending, failed, err := st.OutboxStats(ctx)
			if err != nil {
				return bot.Reply{}, err
			}
			items, err := st.FailedOutbox(ctx, limit)
			if err != nil {
				return bot.Reply{}, err
			}
			rep := bot.Reply{Content: domain.Content{
				Title: "Undeliverable messages",
				Fields: []domain.Field{
					{Label: "Failed", Value: strconv.Itoa(failed)},
					{Label: "Waiting to send", Value: strconv.Itoa(pending)},
				},
			}}
			for _, it := range items {
				rep.List = append(rep.List, fmt.Sprintf("#%d %s → %s (%s): %s",
					it.ID, it.Platform, it.To, tz.Format(it.CreatedAt), it.LastError))
			}
			if len(items) == 0 {
				rep.Text = "Every message was delivered."
			}
			return rep, nil
		},
	}}
}
