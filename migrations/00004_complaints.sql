-- Complaints: SLA policies per category, a per-day number counter, the
-- complaints with their fixed due times, their timeline, and the state of
-- conversations with customers (a question waiting for an answer).

-- +goose Up
CREATE TABLE complaint_policies (
    category       text PRIMARY KEY,
    reply_secs     integer NOT NULL CHECK (reply_secs > 0),
    resolve_secs   integer NOT NULL CHECK (resolve_secs >= reply_secs),
    warn_pct       integer NOT NULL DEFAULT 75 CHECK (warn_pct BETWEEN 1 AND 99),
    updated_by     text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The manual's SLAs: 24 h to reply and 48 h to resolve; after-sales
-- requests answered within 10 minutes; order anomalies answered within 10
-- minutes and resolved within 24 hours.
INSERT INTO complaint_policies (category, reply_secs, resolve_secs) VALUES
    ('商品质量', 86400, 172800),
    ('物流',     86400, 172800),
    ('客服态度', 86400, 172800),
    ('退款售后', 600,   172800),
    ('订单异常', 600,   86400),
    ('其他',     86400, 172800);

-- One row per day (in the shop's time zone): the last sequence number
-- handed out. INSERT ... ON CONFLICT DO UPDATE ... RETURNING takes the row
-- lock, so concurrent complaints get distinct numbers.
CREATE TABLE complaint_counters (
    day  date PRIMARY KEY,
    last integer NOT NULL
);

CREATE TABLE complaints (
    id                  bigserial PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    source              text NOT NULL CHECK (source IN ('wechat', 'phone')),
    openid              text NOT NULL DEFAULT '',
    contact             text NOT NULL DEFAULT '',
    order_no            text NOT NULL DEFAULT '',
    category            text NOT NULL,
    body                text NOT NULL,
    state               text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'claimed', 'resolved')),
    assignee            text NOT NULL DEFAULT '',
    created_by          text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL,
    reply_warn_at       timestamptz NOT NULL,
    reply_due_at        timestamptz NOT NULL,
    resolve_warn_at     timestamptz NOT NULL,
    resolve_due_at      timestamptz NOT NULL,
    first_reply_at      timestamptz,
    resolved_at         timestamptz,
    resolved_by         text NOT NULL DEFAULT '',
    outcome             text NOT NULL DEFAULT '',
    reply_warned_at     timestamptz,
    reply_breached_at   timestamptz,
    resolve_warned_at   timestamptz,
    resolve_breached_at timestamptz,
    -- When the SLA job next has something to do for this complaint (a
    -- warning or a deadline); NULL when nothing is left. Kept in the same
    -- transaction as every change, so the sweep reads only this index.
    next_sla_at         timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- The SLA sweep: only complaints with something still to announce are in
-- this index, so its cost follows what is due, not the table's size.
CREATE INDEX complaints_next_sla_idx ON complaints (next_sla_at) WHERE next_sla_at IS NOT NULL;
CREATE INDEX complaints_open_idx ON complaints (created_at) WHERE state <> 'resolved';
CREATE INDEX complaints_assignee_idx ON complaints (assignee, created_at) WHERE state <> 'resolved';
CREATE INDEX complaints_openid_idx ON complaints (openid, created_at) WHERE openid <> '';
CREATE INDEX complaints_created_idx ON complaints (created_at);

-- Every change to a complaint: who, what, when.
CREATE TABLE complaint_events (
    id           bigserial PRIMARY KEY,
    complaint_id bigint NOT NULL REFERENCES complaints (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    actor        text NOT NULL DEFAULT '',
    detail       text NOT NULL DEFAULT '',
    at           timestamptz NOT NULL
);
CREATE INDEX complaint_events_complaint_idx ON complaint_events (complaint_id, id);

-- A question opsbot asked someone (say, a customer's complaint details)
-- and the answer it waits for. One per person; it expires.
CREATE TABLE conversations (
    platform   text NOT NULL,
    user_id    text NOT NULL,
    topic      text NOT NULL,
    data       text NOT NULL DEFAULT '',
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX conversations_expires_idx ON conversations (expires_at);

-- +goose Down
DROP TABLE conversations;
DROP TABLE complaint_events;
DROP TABLE complaints;
DROP TABLE complaint_counters;
DROP TABLE complaint_policies;
