-- Inbound deliveries with exactly one effect, and none lost to a crash.
--
-- payload keeps what a WeChat delivery said, so that a delivery recorded by
-- a process that died before handling it can be handled by a retry or by
-- the sweep. effect_by names the one attempt whose transactions committed
-- an effect (store.DB.InTx checks it); done_at says handling finished.

-- +goose Up
ALTER TABLE inbound_dedupe ADD COLUMN payload text;
ALTER TABLE inbound_dedupe ADD COLUMN effect_by text;
ALTER TABLE inbound_dedupe ADD COLUMN done_at timestamptz;
-- Deliveries recorded before this migration were handled by the old rule.
UPDATE inbound_dedupe SET done_at = received_at;
CREATE INDEX inbound_dedupe_unfinished_idx ON inbound_dedupe (received_at)
    WHERE done_at IS NULL AND payload IS NOT NULL;

-- +goose Down
DROP INDEX inbound_dedupe_unfinished_idx;
ALTER TABLE inbound_dedupe DROP COLUMN done_at;
ALTER TABLE inbound_dedupe DROP COLUMN effect_by;
ALTER TABLE inbound_dedupe DROP COLUMN payload;
