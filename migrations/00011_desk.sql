-- The complaint desk as a team uses it: `complaint find` by words of the
-- text (substring matches, which Chinese needs: it has no spaces), by order
-- number, and open lists sorted by the next deadline.

-- +goose Up
-- pg_trgm makes ILIKE '%…%' on the text an index scan. It ships in
-- PostgreSQL's contrib; where it is missing (or may not be created), find
-- still works, scanning instead.
-- +goose StatementBegin
DO $$
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm unavailable (%): complaint find scans the table', SQLERRM;
    END;
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        EXECUTE 'CREATE INDEX IF NOT EXISTS complaints_body_trgm_idx ON complaints USING gin (body gin_trgm_ops)';
    END IF;
END
$$;
-- +goose StatementEnd
CREATE INDEX complaints_order_no_idx ON complaints (order_no) WHERE order_no <> '';
-- Open complaints by their next deadline: the first reply until answered,
-- then the resolution (store.nextDueExpr).
CREATE INDEX complaints_next_due_idx ON complaints
    ((CASE WHEN first_reply_at IS NULL THEN LEAST(reply_due_at, resolve_due_at) ELSE resolve_due_at END), id)
    WHERE state <> 'resolved';

-- +goose Down
DROP INDEX IF EXISTS complaints_next_due_idx;
DROP INDEX IF EXISTS complaints_order_no_idx;
DROP INDEX IF EXISTS complaints_body_trgm_idx;
