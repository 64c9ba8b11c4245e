-- Digests count, for a period, the complaints open at its end (those still
-- open, complaints_open_idx, plus those resolved after it) and the
-- deadlines in it that were missed. These indexes make each part a range
-- scan, so the counts follow the period, not the table.

-- +goose Up
CREATE INDEX complaints_resolved_idx ON complaints (resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX complaints_reply_due_idx ON complaints (reply_due_at);
CREATE INDEX complaints_resolve_due_idx ON complaints (resolve_due_at);

-- +goose Down
DROP INDEX complaints_resolve_due_idx;
DROP INDEX complaints_reply_due_idx;
DROP INDEX complaints_resolved_idx;
