package complaints

import (
	"context"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
)

// OpenCase files a case that another feature found (a follow-up of a low
// survey score) in tx, the caller's transaction, and posts it to the
// complaints channel like any complaint: Claim, Reply, Resolve, the SLA
// sweep and replies from its thread all work on it. Register it with
// handlers.Events.HandleOpenCase.
func (h *Complaints) OpenCase(ctx context.Context, tx *store.DB, c domain.Complaint) (domain.Complaint, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = h.Clock.Time()
	}
	c.CreatedAt = c.CreatedAt.In(h.Clock.Loc)
	c, err := tx.CreateComplaint(ctx, c, func(c domain.Complaint) domain.ComplaintChange {
		return domain.ComplaintChange{Messages: []domain.Outgoing{h.newPost(c)}}
	})
	if err != nil {
		return c, err
	}
	h.Log.Info("Case opened", "complaint", c.Number, "category", c.Category.English(), "source", c.Source)
	return c, nil
}
