-- Broadcasts: what each outgoing message is for (the policy when it cannot
-- be delivered follows from it), which broadcast it belongs to (so a
-- campaign can tally sent / unreachable / failed), and whether a failure
-- was the customer being out of reach rather than an error.

-- +goose Up
ALTER TABLE outbox ADD COLUMN purpose text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN batch text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN unreachable boolean NOT NULL DEFAULT false;
CREATE INDEX outbox_batch_idx ON outbox (batch, state) WHERE batch <> '';
CREATE INDEX outbox_unreachable_idx ON outbox (purpose, created_at) WHERE unreachable;

-- +goose Down
DROP INDEX outbox_unreachable_idx;
DROP INDEX outbox_batch_idx;
ALTER TABLE outbox DROP COLUMN unreachable;
ALTER TABLE outbox DROP COLUMN batch;
ALTER TABLE outbox DROP COLUMN purpose;
