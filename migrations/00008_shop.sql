-- The shop's data: order events as its systems send them, the orders they
-- add up to, daily traffic, and the admins' corrections to the business
-- calendar. Money is integer fen. demo marks rows `opsbot demo` wrote.

-- +goose Up
CREATE TABLE order_events (
    id          text PRIMARY KEY,           -- the sender's event ID: a second delivery is a duplicate
    order_id    text NOT NULL,
    type        text NOT NULL,
    total       bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    demo        boolean NOT NULL DEFAULT false
);
CREATE INDEX order_events_order_idx ON order_events (order_id);

-- One row per order, folded from its events whatever order they came in:
-- each milestone keeps its own time, the state is the latest event's.
CREATE TABLE orders (
    order_id      text PRIMARY KEY,
    customer_id   text NOT NULL,
    wechat_openid text NOT NULL DEFAULT '',
    channel       text NOT NULL DEFAULT '',
    total         bigint NOT NULL DEFAULT 0,
    refunded      bigint NOT NULL DEFAULT 0,
    state         text NOT NULL,
    state_at      timestamptz NOT NULL,
    created_at    timestamptz,
    paid_at       timestamptz,
    completed_at  timestamptz,
    cancelled_at  timestamptz,
    refunded_at   timestamptz,
    demo          boolean NOT NULL DEFAULT false
);
-- Metrics read ranges of these, so their cost follows the period.
CREATE INDEX orders_paid_idx ON orders (paid_at) INCLUDE (total, customer_id) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_refunded_idx ON orders (refunded_at) INCLUDE (paid_at) WHERE refunded_at IS NOT NULL;
CREATE INDEX orders_customer_paid_idx ON orders (customer_id, paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX orders_completed_idx ON orders (completed_at) WHERE completed_at IS NOT NULL;

CREATE TABLE traffic (
    day          date NOT NULL,
    channel      text NOT NULL DEFAULT '',
    pv           bigint NOT NULL,
    uv           bigint NOT NULL,
    new_users    bigint NOT NULL,
    active_users bigint NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    demo         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (day, channel)
);

CREATE TABLE calendar_days (
    day     date PRIMARY KEY,
    working boolean NOT NULL,
    name    text NOT NULL DEFAULT '',
    set_by  text NOT NULL,
    set_at  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE calendar_days;
DROP TABLE traffic;
DROP TABLE orders;
DROP TABLE order_events;
