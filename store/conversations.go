package store

import (
	"context"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// SetPending remembers the question opsbot asked someone, replacing any
// earlier one: a person has one pending question at a time. It lives in
// the database, so the answer may reach another replica or come after a
// restart.
func (db *DB) SetPending(ctx context.Context, q domain.PendingQuestion) error {
	const sq = `INSERT INTO conversations (platform, user_id, topic, data, expires_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (platform, user_id) DO UPDATE SET topic = EXCLUDED.topic, data = EXCLUDED.data,
			expires_at = EXCLUDED.expires_at, updated_at = now()`
	_, err := db.x.ExecContext(ctx, sq, q.Platform, q.UserID, q.Topic, q.Data, q.ExpiresAt)
	return wrap("set pending", err)
}

// Pending returns the question waiting for someone's answer at time at;
// domain.ErrNotFound when there is none or it has expired.
func (db *DB) Pending(ctx context.Context, platform domain.Platform, userID string, at time.Time) (domain.PendingQuestion, error) {
	const q = `SELECT topic, data, expires_at FROM conversations
		WHERE platform = $1 AND user_id = $2 AND expires_at > $3`
	var r struct {
		Topic     string    `db:"topic"`
		Data      string    `db:"data"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	if err := db.x.GetContext(ctx, &r, q, platform, userID, at); err != nil {
		return domain.PendingQuestion{}, wrap("pending", err)
	}
	return domain.PendingQuestion{Platform: platform, UserID: userID, Topic: r.Topic, Data: r.Data, ExpiresAt: r.ExpiresAt}, nil
}

// ClearPending forgets someone's pending question if it is about topic
// (any topic when topic is ""). Clearing nothing is not an error.
func (db *DB) ClearPending(ctx context.Context, platform domain.Platform, userID, topic string) error {
	const q = `DELETE FROM conversations WHERE platform = $1 AND user_id = $2 AND ($3 = '' OR topic = $3)`
	_, err := db.x.ExecContext(ctx, q, platform, userID, topic)
	return wrap("clear pending", err)
}

// PruneConversations deletes questions that expired before t.
func (db *DB) PruneConversations(ctx context.Context, t time.Time) (int64, error) {
	const q = `DELETE FROM conversations WHERE expires_at < $1`
	res, err := db.x.ExecContext(ctx, q, t)
	if err != nil {
		return 0, wrap("prune conversations", err)
	}
	return res.RowsAffected()
}
