-- Satisfaction surveys: one row per order or resolved complaint a customer
-- may be asked about, from scheduled to answered, expired or skipped (with
-- the reason); the admins' settings; the monthly benefit list's marks; and
-- SLA policies that count the resolve window in working days (follow-up
-- cases: answered within 3 working days).

-- +goose Up
CREATE TABLE surveys (
    id          bigserial PRIMARY KEY,
    trigger     text NOT NULL CHECK (trigger IN ('order', 'complaint')),
    subject     text NOT NULL,              -- the order ID or the complaint number
    openid      text NOT NULL,
    customer_id text NOT NULL DEFAULT '',
    state       text NOT NULL DEFAULT 'scheduled'
        CHECK (state IN ('scheduled', 'sent', 'answered', 'expired', 'skipped')),
    skip_reason text NOT NULL DEFAULT '',
    send_at     timestamptz NOT NULL,
    sent_at     timestamptz,
    via         text NOT NULL DEFAULT '',
    reminded_at timestamptz,
    expires_at  timestamptz,
    answered_at timestamptz,
    score       smallint CHECK (score BETWEEN 1 AND 5),
    comment     text NOT NULL DEFAULT '',
    followup    text NOT NULL DEFAULT '', -- the follow-up case's complaint number
    decided_at  timestamptz,              -- when it was skipped or expired
    -- When the survey job next has work for this survey (send it, remind,
    -- expire, open a follow-up); NULL when none. The job reads only the
    -- partial index below, so its cost follows what is due.
    next_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    demo        boolean NOT NULL DEFAULT false,
    UNIQUE (trigger, subject)            -- one survey per order and per complaint
);
CREATE INDEX surveys_next_idx ON surveys (next_at) WHERE next_at IS NOT NULL;
-- The cooldown: when was this customer last asked.
CREATE INDEX surveys_openid_sent_idx ON surveys (openid, sent_at) WHERE sent_at IS NOT NULL;
-- Reports and metrics read ranges of these.
CREATE INDEX surveys_sent_idx ON surveys (sent_at) INCLUDE (trigger) WHERE sent_at IS NOT NULL;
CREATE INDEX surveys_answered_idx ON surveys (answered_at) INCLUDE (score, trigger) WHERE answered_at IS NOT NULL;
CREATE INDEX surveys_decided_idx ON surveys (decided_at) INCLUDE (state, skip_reason) WHERE decided_at IS NOT NULL;
-- The benefit list: a customer's latest answers.
CREATE INDEX surveys_openid_answered_idx ON surveys (openid, answered_at DESC) INCLUDE (score) WHERE answered_at IS NOT NULL;

CREATE TABLE survey_settings (
    name       text PRIMARY KEY,
    value      text NOT NULL,
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A benefit marked as given, per month and customer.
CREATE TABLE survey_benefits (
    month    text NOT NULL,                -- YYYY-MM
    openid   text NOT NULL,
    given_by text NOT NULL,
    given_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (month, openid)
);

ALTER TABLE complaint_policies ADD COLUMN resolve_workdays integer NOT NULL DEFAULT 0;
-- Follow-up cases are complaints from the survey.
ALTER TABLE complaints DROP CONSTRAINT complaints_source_check;
ALTER TABLE complaints ADD CONSTRAINT complaints_source_check CHECK (source IN ('wechat', 'phone', 'survey'));
CREATE INDEX complaints_followup_idx ON complaints (created_at) WHERE source = 'survey';
-- Follow-up cases: contact within 24 hours, close within 3 working days.
INSERT INTO complaint_policies (category, reply_secs, resolve_secs, resolve_workdays)
    VALUES ('满意度回访', 86400, 259200, 3) ON CONFLICT (category) DO NOTHING;

-- +goose Down
DELETE FROM complaint_policies WHERE category = '满意度回访';
DROP INDEX complaints_followup_idx;
ALTER TABLE complaints DROP CONSTRAINT complaints_source_check;
ALTER TABLE complaints ADD CONSTRAINT complaints_source_check CHECK (source IN ('wechat', 'phone')) NOT VALID;
ALTER TABLE complaint_policies DROP COLUMN resolve_workdays;
DROP TABLE survey_benefits;
DROP TABLE survey_settings;
DROP TABLE surveys;
