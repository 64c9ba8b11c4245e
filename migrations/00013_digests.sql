-- Digests: every digest posted (its period, figures and flags, and the
-- message itself, for `digest show` and so that a re-run posts nothing
-- new), the targets managers set, the anomaly thresholds per metric, and
-- the totals of settled windows.

-- +goose Up
CREATE TABLE digests (
    key         text PRIMARY KEY,            -- daily:2026-12-04, weekly:2026-11-30, monthly:2026-11
    kind        text NOT NULL CHECK (kind IN ('daily', 'weekly', 'monthly')),
    period_from timestamptz NOT NULL,
    period_to   timestamptz NOT NULL,
    cutoff      timestamptz NOT NULL,        -- counted up to here (the day so far)
    figures     jsonb NOT NULL,
    flags       jsonb NOT NULL,
    content     jsonb NOT NULL,
    channel     text NOT NULL,
    posted_by   text NOT NULL,               -- the job, or who asked
    posted_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX digests_posted_idx ON digests (posted_at DESC);

CREATE TABLE targets (
    metric  text NOT NULL,
    period  text NOT NULL DEFAULT '',        -- '' a level, 'month' an amount a month, 'growth' month on month
    value   double precision NOT NULL,       -- fen for money, a fraction for ratios
    max     boolean NOT NULL DEFAULT false,  -- a ceiling: lower is better
    set_by  text NOT NULL,
    set_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric, period)
);

CREATE TABLE digest_thresholds (
    metric     text PRIMARY KEY,
    pct        double precision NOT NULL CHECK (pct > 0),
    min_volume bigint NOT NULL CHECK (min_volume >= 0),
    volume     text NOT NULL,
    set_by     text NOT NULL,
    set_at     timestamptz NOT NULL DEFAULT now()
);

-- Totals of windows that closed long enough ago (48 hours) not to change
-- any more: the same days come back in every digest (the chart's 30 days,
-- the same weekday of the last 8 weeks), so each is added up once.
CREATE TABLE digest_windows (
    kind        text NOT NULL,               -- 'series' (GMV, orders) or 'totals' (the cheap metric inputs)
    from_at     timestamptz NOT NULL,
    to_at       timestamptz NOT NULL,
    totals      jsonb NOT NULL,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, from_at, to_at)
);

-- +goose Down
DROP TABLE digest_windows;
DROP TABLE digest_thresholds;
DROP TABLE targets;
DROP TABLE digests;
