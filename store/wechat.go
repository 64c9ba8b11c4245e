package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsbot/opsbot/domain"
)

// WeChat Official Account state: followers with their conversation window
// and allowance, and the access-token cache shared by all replicas.

type followerRow struct {
	OpenID         string       `db:"openid"`
	Subscribed     bool         `db:"subscribed"`
	SubscribedAt   sql.NullTime `db:"subscribed_at"`
	UnsubscribedAt sql.NullTime `db:"unsubscribed_at"`
	LastInboundAt  sql.NullTime `db:"last_inbound_at"`
	Allowance      int          `db:"allowance"`
}

func (r followerRow) domain() domain.Follower {
	return domain.Follower{
		OpenID: r.OpenID, Subscribed: r.Subscribed, SubscribedAt: r.SubscribedAt.Time,
		UnsubscribedAt: r.UnsubscribedAt.Time, LastInbound: r.LastInboundAt.Time, Allowance: r.Allowance,
	}
}

const followerCols = `openid, subscribed, subscribed_at, unsubscribed_at, last_inbound_at, allowance`

// WeChatSubscribe records that a customer followed the account at the given
// time. Following opens the conversation window with the given allowance.
func (db *DB) WeChatSubscribe(ctx context.Context, openID string, at time.Time, allowance int) error {
	const q = `INSERT INTO wechat_followers (openid, subscribed, subscribed_at, last_inbound_at, allowance)
		VALUES ($1, true, $2, $2, $3)
		ON CONFLICT (openid) DO UPDATE SET subscribed = true, subscribed_at = $2,
			last_inbound_at = greatest(wechat_followers.last_inbound_at, $2), allowance = $3, updated_at = now()`
	_, err := db.x.ExecContext(ctx, q, openID, at, allowance)
	return wrap("wechat subscribe", err)
}

// WeChatUnsubscribe records that a customer unfollowed: nothing may be sent
// to them any more.
func (db *DB) WeChatUnsubscribe(ctx context.Context, openID string, at time.Time) error {
	const q = `INSERT INTO wechat_followers (openid, subscribed, unsubscribed_at, allowance)
		VALUES ($1, false, $2, 0)
		ON CONFLICT (openid) DO UPDATE SET subscribed = false, unsubscribed_at = $2, allowance = 0,
			updated_at = now()`
	_, err := db.x.ExecContext(ctx, q, openID, at)
	return wrap("wechat unsubscribe", err)
}

// WeChatTouch records a message or click from a customer: the conversation
// window restarts at the given time and the allowance is reset. A customer
// never seen before is recorded as a follower (only followers can write).
func (db *DB) WeChatTouch(ctx context.Context, openID string, at time.Time, allowance int) error {
	const q = `INSERT INTO wechat_followers (openid, subscribed, last_inbound_at, allowance)
		VALUES ($1, true, $2, $3)
		ON CONFLICT (openid) DO UPDATE SET
			last_inbound_at = greatest(wechat_followers.last_inbound_at, $2), allowance = $3, updated_at = now()`
	_, err := db.x.ExecContext(ctx, q, openID, at, allowance)
	return wrap("wechat touch", err)
}

// WeChatFollower returns what is known of a customer, or ErrNotFound.
func (db *DB) WeChatFollower(ctx context.Context, openID string) (domain.Follower, error) {
	const q = `SELECT ` + followerCols + ` FROM wechat_followers WHERE openid = $1`
	var r followerRow
	if err := db.x.GetContext(ctx, &r, q, openID); err != nil {
		return domain.Follower{}, wrap("wechat follower", err)
	}
	return r.domain(), nil
}

// WeChatTakeAllowance uses up one message of a customer's allowance when
// their window is open at now. It returns the follower as it was found
// and whether a message may be sent; ErrNotFound for an unknown customer.
// The check and the decrement are one statement, so replicas sending at
// once never exceed the allowance.
func (db *DB) WeChatTakeAllowance(ctx context.Context, openID string, now time.Time) (domain.Follower, bool, error) {
	const q = `UPDATE wechat_followers SET allowance = allowance - 1, updated_at = now()
		WHERE openid = $1 AND subscribed AND allowance > 0
			AND last_inbound_at > $2::timestamptz - make_interval(secs => $3)
		RETURNING ` + followerCols
	var r followerRow
	err := db.x.GetContext(ctx, &r, q, openID, now, domain.ConversationWindow.Seconds())
	if err == nil {
		f := r.domain()
		f.Allowance++ // as it was before this message
		return f, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return domain.Follower{}, false, wrap("wechat take allowance", err)
	}
	f, err := db.WeChatFollower(ctx, openID)
	return f, false, err
}

// WeChatReturnAllowance gives back a message taken for a send that failed
// and will be tried again.
func (db *DB) WeChatReturnAllowance(ctx context.Context, openID string) error {
	const q = `UPDATE wechat_followers SET allowance = allowance + 1, updated_at = now() WHERE openid = $1`
	_, err := db.x.ExecContext(ctx, q, openID)
	return wrap("wechat return allowance", err)
}

// WeChatCloseWindow records that WeChat refused a message because the
// window is closed or used up, so later messages skip straight to their
// fallback.
func (db *DB) WeChatCloseWindow(ctx context.Context, openID string) error {
	const q = `UPDATE wechat_followers SET allowance = 0, updated_at = now() WHERE openid = $1`
	_, err := db.x.ExecContext(ctx, q, openID)
	return wrap("wechat close window", err)
}

// WeChatCacheGet returns a cached value that has not expired, or
// ErrNotFound.
func (db *DB) WeChatCacheGet(ctx context.Context, key string) (string, error) {
	const q = `SELECT value FROM wechat_cache WHERE key = $1 AND expires_at > now()`
	var v string
	if err := db.x.GetContext(ctx, &v, q, key); err != nil {
		return "", wrap("wechat cache get", err)
	}
	return v, nil
}

// WeChatCacheSet stores a value for ttl.
func (db *DB) WeChatCacheSet(ctx context.Context, key, value string, ttl time.Duration) error {
	const q = `INSERT INTO wechat_cache (key, value, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`
	_, err := db.x.ExecContext(ctx, q, key, value, ttl.Seconds())
	return wrap("wechat cache set", err)
}

// WeChatCacheDelete forgets a cached value.
func (db *DB) WeChatCacheDelete(ctx context.Context, key string) error {
	const q = `DELETE FROM wechat_cache WHERE key = $1`
	_, err := db.x.ExecContext(ctx, q, key)
	return wrap("wechat cache delete", err)
}

// weChatFirstMessage records a delivery and, when it is the first, the
// customer's activity (see WeChatFirstMessage).
const weChatFirstMessage = `WITH d AS (
		INSERT INTO inbound_dedupe (platform, key, payload) VALUES ($1, $2, nullif($6, ''))
		ON CONFLICT DO NOTHING RETURNING key
	), f AS (
		INSERT INTO wechat_followers (openid, subscribed, last_inbound_at, allowance)
		SELECT $3, true, $4, $5 FROM d
		ON CONFLICT (openid) DO UPDATE SET
			last_inbound_at = greatest(wechat_followers.last_inbound_at, EXCLUDED.last_inbound_at),
			allowance = EXCLUDED.allowance, updated_at = now()
	)
	SELECT count(*) FROM d`

// WeChatFirstMessage is RecordDelivery and WeChatTouch in one statement:
// it records a message from a customer (payload: what it said) and
// reports whether this is the first time it was seen; only then is the
// customer's window restarted. Either both happen or neither.
func (db *DB) WeChatFirstMessage(ctx context.Context, key, openID string, at time.Time, allowance int, payload string) (bool, error) {
	var n int
	if err := db.x.GetContext(ctx, &n, weChatFirstMessage, domain.PlatformWeChat, key, openID, at, allowance, payload); err != nil {
		return false, wrap("wechat first message", err)
	}
	return n == 1, nil
}

// WeChatInbox is the database as the WeChat callback uses it, with its two
// per-message statements prepared: one round trip each and no re-planning,
// which is what lets one replica take thousands of messages a second.
type WeChatInbox struct {
	*DB
	first, save *sqlx.Stmt
}

// NewWeChatInbox prepares the callback's statements. Close it before the
// database.
func (db *DB) NewWeChatInbox(ctx context.Context) (*WeChatInbox, error) {
	first, err := db.x.PreparexContext(ctx, weChatFirstMessage)
	if err != nil {
		return nil, wrap("prepare wechat first message", err)
	}
	const save = `UPDATE inbound_dedupe SET response = $3 WHERE platform = $1 AND key = $2`
	s, err := db.x.PreparexContext(ctx, save)
	if err != nil {
		first.Close()
		return nil, wrap("prepare save response", err)
	}
	return &WeChatInbox{DB: db, first: first, save: s}, nil
}

// WeChatFirstMessage is DB.WeChatFirstMessage, prepared.
func (in *WeChatInbox) WeChatFirstMessage(ctx context.Context, key, openID string, at time.Time, allowance int, payload string) (bool, error) {
	var n int
	if err := in.first.GetContext(ctx, &n, domain.PlatformWeChat, key, openID, at, allowance, payload); err != nil {
		return false, wrap("wechat first message", err)
	}
	return n == 1, nil
}

// SaveResponse is DB.SaveResponse, prepared.
func (in *WeChatInbox) SaveResponse(ctx context.Context, platform domain.Platform, key, response string) error {
	_, err := in.save.ExecContext(ctx, platform, key, response)
	return wrap("save response", err)
}

// Close releases the prepared statements.
func (in *WeChatInbox) Close() error {
	return errors.Join(in.first.Close(), in.save.Close())
}
