-- Campaigns: templates of checklist items counted from a campaign's dates,
-- campaigns with their items, owners and reminder state, who fills which
-- role, and the customers who opted in to campaign notices on WeChat.

-- +goose Up
CREATE TABLE campaign_templates (
    name           text PRIMARY KEY,
    description    text NOT NULL DEFAULT '',
    -- A weekly routine: every repeat_weekday at repeat_clock a campaign
    -- named repeat_name is created ahead, owned by repeat_owner.
    repeat_weekday integer CHECK (repeat_weekday BETWEEN 0 AND 6),
    repeat_clock   text NOT NULL DEFAULT '',
    repeat_owner   text NOT NULL DEFAULT '',
    repeat_name    text NOT NULL DEFAULT '',
    repeat_hours   integer NOT NULL DEFAULT 0,
    repeat_target  bigint NOT NULL DEFAULT 0,
    updated_by     text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaign_template_items (
    id          bigserial PRIMARY KEY,
    template    text NOT NULL REFERENCES campaign_templates (name) ON DELETE CASCADE,
    position    integer NOT NULL,
    title       text NOT NULL,
    offset_days integer NOT NULL,
    working     boolean NOT NULL DEFAULT false,
    owner       text NOT NULL DEFAULT 'owner',
    action      text NOT NULL DEFAULT '' CHECK (action IN ('', 'notice', 'review'))
);
CREATE INDEX campaign_template_items_idx ON campaign_template_items (template, position);

-- The manual's timeline for a major promotion, and the weekly routine.
INSERT INTO campaign_templates (name, description) VALUES
    ('major', '大促 (双11, 618, 双12, 年货节): planning from T-30, everything ready by T-14, customers told at T-1, review within 2 days after'),
    ('weekly', '周常活动 (周一秒杀, 周三上新, 周五满减): products T-3, page T-1, notice T-1, review T+1');
INSERT INTO campaign_template_items (template, position, title, offset_days, working, owner, action) VALUES
    ('major', 1,  '活动策划启动 Planning starts (theme, mechanics, goal)', -30, false, 'owner', ''),
    ('major', 2,  '方案审批 Plan approved', -14, false, 'owner', ''),
    ('major', 3,  '商品选品 Products selected', -14, false, 'merchandising', ''),
    ('major', 4,  '页面设计 Pages designed', -14, false, 'design', ''),
    ('major', 5,  '广告投放计划 Ad plan made', -14, false, 'marketing', ''),
    ('major', 6,  '客服培训 CS trained', -14, false, 'cs', ''),
    ('major', 7,  '库存确认 Stock confirmed', -14, false, 'merchandising', ''),
    ('major', 8,  '客服排班 +50% CS staffing for the campaign days', -14, false, 'cs', ''),
    ('major', 9,  '活动通知 Customer notice (公众号)', -1, false, 'owner', 'notice'),
    ('major', 10, '活动复盘 Review (复盘)', 2, false, 'owner', 'review'),
    ('weekly', 1, '商品选品 Products selected', -3, false, 'merchandising', ''),
    ('weekly', 2, '页面上线 Page ready', -1, false, 'design', ''),
    ('weekly', 3, '活动通知 Customer notice (公众号)', -1, false, 'owner', 'notice'),
    ('weekly', 4, '活动复盘 Review', 1, false, 'owner', 'review');

-- Who fills a role named in templates (design, cs…); a role nobody fills
-- falls to the campaign's owner.
CREATE TABLE campaign_roles (
    role       text PRIMARY KEY,
    user_id    text NOT NULL,
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id                 bigserial PRIMARY KEY,
    name               text NOT NULL,
    template           text NOT NULL,
    start_at           timestamptz NOT NULL,
    end_at             timestamptz NOT NULL CHECK (end_at > start_at),
    target             bigint NOT NULL DEFAULT 0,
    owner              text NOT NULL,
    state              text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'cancelled')),
    notice             text NOT NULL DEFAULT '',
    notice_approved_by text NOT NULL DEFAULT '',
    notice_approved_at timestamptz,
    notice_sent_at     timestamptz,
    notice_queued      integer NOT NULL DEFAULT 0,
    tally_posted_at    timestamptz,
    -- The next morning summary; NULL when none is left.
    next_summary_at    timestamptz,
    review             text NOT NULL DEFAULT '',
    reviewed_at        timestamptz,
    created_by         text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now()
);
-- One campaign of a name at a time (cancelled ones free it), and one per
-- weekly routine and start, so replicas creating them ahead create one.
CREATE UNIQUE INDEX campaigns_name_idx ON campaigns (lower(name)) WHERE state = 'active';
CREATE UNIQUE INDEX campaigns_routine_idx ON campaigns (template, start_at) WHERE created_by = 'opsbot';
-- The reminder job's reads: summaries due, tallies of notices under way.
CREATE INDEX campaigns_summary_idx ON campaigns (next_summary_at) WHERE next_summary_at IS NOT NULL;
CREATE INDEX campaigns_tally_idx ON campaigns (id) WHERE notice_sent_at IS NOT NULL AND tally_posted_at IS NULL;
CREATE INDEX campaigns_days_idx ON campaigns (start_at, end_at) WHERE state = 'active';

CREATE TABLE campaign_items (
    id               bigserial PRIMARY KEY,
    campaign_id      bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    position         integer NOT NULL,
    title            text NOT NULL,
    offset_days      integer NOT NULL,
    working          boolean NOT NULL DEFAULT false,
    owner            text NOT NULL,
    action           text NOT NULL DEFAULT '',
    due_at           timestamptz NOT NULL,
    remind_early_at  timestamptz,
    remind_day_at    timestamptz,
    early_sent_at    timestamptz,
    day_sent_at      timestamptz,
    escalated_at     timestamptz,
    acted_at         timestamptz,
    done_at          timestamptz,
    done_by          text NOT NULL DEFAULT '',
    -- When the reminder job next has something to do for this item;
    -- NULL when nothing is left (done, cancelled, escalated). Kept in the
    -- transaction of every change, so the job reads only this index.
    next_check_at    timestamptz
);
CREATE INDEX campaign_items_campaign_idx ON campaign_items (campaign_id, position);
CREATE INDEX campaign_items_next_idx ON campaign_items (next_check_at) WHERE next_check_at IS NOT NULL;

-- Customers who asked for campaign notices (订阅活动) and have not
-- opted out (退订).
CREATE TABLE campaign_optins (
    openid       text PRIMARY KEY,
    opted_in_at  timestamptz NOT NULL,
    opted_out_at timestamptz
);
CREATE INDEX campaign_optins_active_idx ON campaign_optins (openid) WHERE opted_out_at IS NULL;

-- +goose Down
DROP TABLE campaign_optins;
DROP TABLE campaign_items;
DROP TABLE campaigns;
DROP TABLE campaign_roles;
DROP TABLE campaign_template_items;
DROP TABLE campaign_templates;
