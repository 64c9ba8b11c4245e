package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsbot/opsbot/domain"
)

// Inbound deliveries (a Slack event_id, a WeChat MsgId) are recorded in
// inbound_dedupe before they are handled. A row says:
//
//   - received_at: when the current attempt claimed it (a take-over
//     restarts it), on the database's clock;
//   - response: the answer retries get (WeChat wants the same bytes);
//   - payload: what the delivery said, so that another process can handle
//     it when the one that recorded it died (SweepDeliveries);
//   - effect_by: the one attempt whose transactions committed an effect
//     (claimEffect, called by InTx);
//   - done_at: handling finished.

// FirstDelivery records an inbound delivery (a Slack event_id, a WeChat
// MsgId) and reports whether this is the first time it was seen. Only the
// first caller gets true, across restarts and replicas.
func (db *DB) FirstDelivery(ctx context.Context, platform domain.Platform, key string) (bool, error) {
	return db.RecordDelivery(ctx, platform, key, "")
}

// RecordDelivery is FirstDelivery keeping what the delivery said (payload),
// for whoever has to handle it if this process cannot.
func (db *DB) RecordDelivery(ctx context.Context, platform domain.Platform, key, payload string) (bool, error) {
	const q = `INSERT INTO inbound_dedupe (platform, key, payload) VALUES ($1, $2, nullif($3, ''))
		ON CONFLICT DO NOTHING`
	res, err := db.x.ExecContext(ctx, q, platform, key, payload)
	if err != nil {
		return false, wrap("first delivery", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SaveResponse keeps the answer given to a delivery, for its retries.
func (db *DB) SaveResponse(ctx context.Context, platform domain.Platform, key, response string) error {
	const q = `UPDATE inbound_dedupe SET response = $3 WHERE platform = $1 AND key = $2`
	_, err := db.x.ExecContext(ctx, q, platform, key, response)
	return wrap("save response", err)
}

// FinishDelivery records that a delivery was handled, keeping response as
// its answer unless one was saved before.
func (db *DB) FinishDelivery(ctx context.Context, platform domain.Platform, key, response string) error {
	const q = `UPDATE inbound_dedupe SET response = coalesce(response, $3), done_at = now()
		WHERE platform = $1 AND key = $2`
	_, err := db.x.ExecContext(ctx, q, platform, key, response)
	return wrap("finish delivery", err)
}

// Response returns the answer saved for a delivery; ok is false while the
// first delivery is still being processed.
func (db *DB) Response(ctx context.Context, platform domain.Platform, key string) (resp string, ok bool, err error) {
	const q = `SELECT response FROM inbound_dedupe WHERE platform = $1 AND key = $2`
	var r sql.NullString
	if err := db.x.GetContext(ctx, &r, q, platform, key); err != nil {
		return "", false, wrap("response", err)
	}
	return r.String, r.Valid, nil
}

// PruneDeliveries forgets deliveries older than the given age; platforms
// retry for minutes, not days.
func (db *DB) PruneDeliveries(ctx context.Context, olderThan time.Duration) (int64, error) {
	const q = `DELETE FROM inbound_dedupe WHERE received_at < now() - make_interval(secs => $1)`
	res, err := db.x.ExecContext(ctx, q, olderThan.Seconds())
	if err != nil {
		return 0, wrap("prune deliveries", err)
	}
	return res.RowsAffected()
}

// TakeOverDelivery lets a retry take over a delivery claimed more than
// stale ago (on the database's clock) that has neither an answer nor
// finished: the attempt handling it died, or cannot reach the database.
// Only one caller wins; the delivery's clock restarts for it. Should the
// first attempt be alive after all, claimEffect still lets only one of
// them have an effect.
func (db *DB) TakeOverDelivery(ctx context.Context, platform domain.Platform, key string, stale time.Duration) (bool, error) {
	const q = `UPDATE inbound_dedupe SET received_at = now()
		WHERE platform = $1 AND key = $2 AND response IS NULL AND done_at IS NULL
			AND received_at < now() - make_interval(secs => $3)`
	res, err := db.x.ExecContext(ctx, q, platform, key, stale.Seconds())
	if err != nil {
		return false, wrap("take over delivery", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// SweepDeliveries takes over up to limit deliveries that were recorded
// with a payload, claimed more than stale ago and never finished — whether
// or not a retry was answered meanwhile — and returns them for handling.
// Replicas sweeping at once get different rows.
func (db *DB) SweepDeliveries(ctx context.Context, platform domain.Platform, stale time.Duration, limit int) ([]domain.Unfinished, error) {
	const q = `UPDATE inbound_dedupe d SET received_at = now()
		FROM (SELECT platform, key FROM inbound_dedupe
			WHERE platform = $1 AND done_at IS NULL AND payload IS NOT NULL
				AND received_at < now() - make_interval(secs => $2)
			ORDER BY received_at LIMIT $3 FOR UPDATE SKIP LOCKED) s
		WHERE d.platform = s.platform AND d.key = s.key
		RETURNING d.key, d.payload`
	var rows []struct {
		Key     string `db:"key"`
		Payload string `db:"payload"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, platform, stale.Seconds(), limit); err != nil {
		return nil, wrap("sweep deliveries", err)
	}
	out := make([]domain.Unfinished, len(rows))
	for i, r := range rows {
		out[i] = domain.Unfinished{Key: r.Key, Payload: r.Payload}
	}
	return out, nil
}

// claimEffect makes the transaction tx the effect of attempt c at its
// delivery: it records c as the attempt that had the effect, or, when
// another attempt already did, marks c lost and fails with
// domain.ErrDelivered so that tx rolls back. The row lock taken here
// orders two attempts committing at once; the second sees the first's
// mark.
func claimEffect(ctx context.Context, tx sqlx.ExecerContext, c *domain.DeliveryClaim) error {
	const q = `UPDATE inbound_dedupe SET effect_by = $3
		WHERE platform = $1 AND key = $2 AND (effect_by IS NULL OR effect_by = $3)`
	res, err := tx.ExecContext(ctx, q, c.Platform, c.Key, c.Attempt)
	if err != nil {
		return wrap("claim delivery effect", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c.Lose()
		return fmt.Errorf("store: %s delivery %s: %w", c.Platform, c.Key, domain.ErrDelivered)
	}
	return nil
}
