-- Core tables: staff roles, the outbox, message references, scheduled job
-- claims and inbound deduplication.

-- +goose Up
CREATE TABLE staff (
    user_id  text PRIMARY KEY,
    name     text NOT NULL DEFAULT '',
    role     text NOT NULL CHECK (role IN ('agent', 'manager', 'admin')),
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now()
);

-- Every message opsbot sends is written here, in the transaction of the
-- change that causes it, and delivered by the dispatcher.
CREATE TABLE outbox (
    id              bigserial PRIMARY KEY,
    platform        text NOT NULL,
    kind            text NOT NULL,
    recipient       text NOT NULL,
    ref             text NOT NULL DEFAULT '',
    thread_ref      text NOT NULL DEFAULT '',
    template        text NOT NULL DEFAULT '',
    content         jsonb NOT NULL DEFAULT '{}',
    attachment      jsonb,
    dedupe_key      text UNIQUE,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until    timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    sent_channel    text NOT NULL DEFAULT '',
    sent_ts         text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending_idx ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_failed_idx ON outbox (id) WHERE state = 'failed';

-- Where a named message landed, so later messages can thread under it or
-- update it, and a reply in a Slack thread can be traced to its subject.
CREATE TABLE message_refs (
    ref        text PRIMARY KEY,
    platform   text NOT NULL,
    channel    text NOT NULL,
    ts         text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_refs_ts_idx ON message_refs (platform, channel, ts);

-- One row per scheduled run. The unique index is what makes a slot run once
-- however many replicas tick; manual runs are recorded but never block.
CREATE TABLE job_runs (
    id          bigserial PRIMARY KEY,
    job         text NOT NULL,
    slot        timestamptz NOT NULL,
    manual      boolean NOT NULL DEFAULT false,
    owner       text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    error       text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX job_runs_slot_idx ON job_runs (job, slot) WHERE NOT manual;
CREATE INDEX job_runs_recent_idx ON job_runs (job, started_at DESC);

-- Deliveries seen from chat platforms (Slack event_id, WeChat MsgId), so a
-- retried delivery is processed once. response keeps the first answer for
-- platforms that expect the same answer to a retry.
CREATE TABLE inbound_dedupe (
    platform    text NOT NULL,
    key         text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    response    text,
    PRIMARY KEY (platform, key)
);
CREATE INDEX inbound_dedupe_received_idx ON inbound_dedupe (received_at);

-- +goose Down
DROP TABLE inbound_dedupe;
DROP TABLE job_runs;
DROP TABLE message_refs;
DROP TABLE outbox;
DROP TABLE staff;
