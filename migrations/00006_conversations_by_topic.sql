-- A customer may have several questions waiting, one per topic (the
-- complaint desk asking for details, a survey waiting for a score); the
-- newest is what a bare answer answers.

-- +goose Up
ALTER TABLE conversations DROP CONSTRAINT conversations_pkey;
ALTER TABLE conversations ADD PRIMARY KEY (platform, user_id, topic);
ALTER TABLE conversations ADD COLUMN asked_at timestamptz NOT NULL DEFAULT now();

-- +goose Down
DELETE FROM conversations c USING conversations d
    WHERE c.platform = d.platform AND c.user_id = d.user_id AND c.asked_at < d.asked_at;
ALTER TABLE conversations DROP COLUMN asked_at;
ALTER TABLE conversations DROP CONSTRAINT conversations_pkey;
ALTER TABLE conversations ADD PRIMARY KEY (platform, user_id);
