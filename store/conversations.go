package store

import (
	"context"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// SetPending remembers a question opsbot asked someone, replacing an
// earlier one on the same topic: a person has at most one open question per
// topic, and the newest of them is what a bare answer answers. It lives in
// the database, so the answer may reach another replica or come after a
// restart.
func (db *DB) SetPending(ctx context.Context, q domain.PendingQuestion) error {
	const sq = `INSERT INTO conversations (platform, user_id, topic, data, expires_at, asked_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, clock_timestamp(), now())
		ON CONFLICT (platform, user_id, topic) DO UPDATE SET data = EXCLUDED.data,
			expires_at = EXCLUDED.expires_at, asked_at = EXCLUDED.asked_at, updated_at = now()`
	_, err := db.x.ExecContext(ctx, sq, q.Platform, q.UserID, q.Topic, q.Data, q.ExpiresAt)
	return wrap("set pending", err)
}

type pendingRow struct {
	Topic     string    `db:"topic"`
	Data      string    `db:"data"`
	ExpiresAt time.Time `db:"expires_at"`
	AskedAt   time.Time `db:"asked_at"`
}

func (r pendingRow) question(platform domain.Platform, userID string) domain.PendingQuestion {
	return domain.PendingQuestion{Platform: platform, UserID: userID, Topic: r.Topic, Data: r.Data,
		ExpiresAt: r.ExpiresAt, AskedAt: r.AskedAt}
}

// Pending returns the question on topic waiting for someone's answer at
// time at; domain.ErrNotFound when there is none or it has expired.
func (db *DB) Pending(ctx context.Context, platform domain.Platform, userID, topic string, at time.Time) (domain.PendingQuestion, error) {
	const q = `SELECT topic, data, expires_at, asked_at FROM conversations
		WHERE platform = $1 AND user_id = $2 AND topic = $3 AND expires_at > $4`
	var r pendingRow
	if err := db.x.GetContext(ctx, &r, q, platform, userID, topic, at); err != nil {
		return domain.PendingQuestion{}, wrap("pending", err)
	}
	return r.question(platform, userID), nil
}

// PendingQuestions returns every question waiting for someone's answer at
// time at, newest first.
func (db *DB) PendingQuestions(ctx context.Context, platform domain.Platform, userID string, at time.Time) ([]domain.PendingQuestion, error) {
	const q = `SELECT topic, data, expires_at, asked_at FROM conversations
		WHERE platform = $1 AND user_id = $2 AND expires_at > $3 ORDER BY asked_at DESC, topic`
	var rows []pendingRow
	if err := db.x.SelectContext(ctx, &rows, q, platform, userID, at); err != nil {
		return nil, wrap("pending questions", err)
	}
	qs := make([]domain.PendingQuestion, len(rows))
	for i, r := range rows {
		qs[i] = r.question(platform, userID)
	}
	return qs, nil
}

// ClearPending forgets someone's pending question on topic (every topic
// when topic is ""). Clearing nothing is not an error.
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
