-- WeChat Official Account: followers with their 客服消息 window, and the
-- access-token cache shared by every replica.

-- +goose Up
-- One row per customer (OpenID) the account has heard from. The 48-hour
-- window for 客服消息 opens at last_inbound_at; allowance is how many more
-- messages may be sent in it before the customer writes again.
CREATE TABLE wechat_followers (
    openid          text PRIMARY KEY,
    subscribed      boolean NOT NULL DEFAULT true,
    subscribed_at   timestamptz,
    unsubscribed_at timestamptz,
    last_inbound_at timestamptz,
    allowance       integer NOT NULL DEFAULT 0 CHECK (allowance >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- silenceper's cache.Cache, shared by all replicas: one access token for
-- all of them instead of one each.
CREATE TABLE wechat_cache (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE wechat_cache;
DROP TABLE wechat_followers;
