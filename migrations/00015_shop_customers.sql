-- Metrics whose cost follows the period: each customer's first payment,
-- kept as orders come in, so "paid before the period" is a range count on
-- an index instead of a probe per customer. The order_events index on
-- order_id was never read and only slowed intake.

-- +goose Up
CREATE TABLE customers (
    customer_id   text PRIMARY KEY,
    first_paid_at timestamptz NOT NULL,
    demo          boolean NOT NULL DEFAULT false
);
CREATE INDEX customers_first_paid_idx ON customers (first_paid_at);
INSERT INTO customers (customer_id, first_paid_at, demo)
SELECT customer_id, min(paid_at), bool_and(demo) FROM orders WHERE paid_at IS NOT NULL GROUP BY customer_id;
DROP INDEX order_events_order_idx;

-- +goose Down
CREATE INDEX order_events_order_idx ON order_events (order_id);
DROP TABLE customers;
