-- Who holds each outbox claim, so a restarted opsbot can take back at once
-- the messages its crashed predecessor had claimed, instead of waiting for
-- their leases to run out.

-- +goose Up
ALTER TABLE outbox ADD COLUMN claimed_by text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN claimed_by;
