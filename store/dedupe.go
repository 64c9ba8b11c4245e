package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// FirstDelivery records an inbound delivery (a Slack event_id, a WeChat
// MsgId) and reports whether this is the first time it was seen. Only the
// first caller gets true, across restarts and replicas.
func (db *DB) FirstDelivery(ctx context.Context, platform domain.Platform, key string) (bool, error) {
	const q = `INSERT INTO inbound_dedupe (platform, key) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	res, err := db.x.ExecContext(ctx, q, platform, key)
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

// TakeOverDelivery lets a retry take over a delivery whose first try was
// recorded more than stale ago and never answered: the process handling
// it died. Only one caller wins; the delivery's clock restarts for it.
func (db *DB) TakeOverDelivery(ctx context.Context, platform domain.Platform, key string, stale time.Duration) (bool, error) {
	const q = `UPDATE inbound_dedupe SET received_at = now()
		WHERE platform = $1 AND key = $2 AND response IS NULL
			AND received_at < now() - make_interval(secs => $3)`
	res, err := db.x.ExecContext(ctx, q, platform, key, stale.Seconds())
	if err != nil {
		return false, wrap("take over delivery", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}
