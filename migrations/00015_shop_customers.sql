-- Metrics whose cost follows the period: each customer's first payment,
-- kept as orders come in, so "paid before the period" is a range count on
-- an index instead of a probe per customer. Two indexes nothing reads any
-- more only slowed intake: order events by order, orders by customer.

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
DROP INDEX orders_customer_paid_idx;

-- +goose Down
CREATE INDEX orders_customer_paid_idx ON orders (customer_id, paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX order_events_order_idx ON order_events (order_id);
DROP TABLE customers;
