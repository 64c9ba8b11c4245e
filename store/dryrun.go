package store

import (
	"context"
	"errors"

	"github.com/opsbot/opsbot/domain"
)

// OutboxWritten lists the messages enqueued by the transaction db is bound
// to, in order: what a dry run would have sent. Rows a transaction writes
// carry its start time (now()), which no other transaction's rows share.
func (db *DB) OutboxWritten(ctx context.Context) ([]domain.OutboxItem, error) {
	if db.tx == nil {
		return nil, errors.New("store: outbox written: not in a transaction")
	}
	q := `SELECT ` + outboxCols + `, '' AS thread_channel, '' AS thread_ts, '' AS ref_channel, '' AS ref_ts
		FROM outbox o WHERE o.created_at = now() AND o.xmin::text = (pg_current_xact_id()::text::numeric % 4294967296)::text
		ORDER BY o.id`
	return db.selectOutbox(ctx, q)
}
