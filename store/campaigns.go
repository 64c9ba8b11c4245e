package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/opsbot/opsbot/domain"
)

// Campaigns: templates, campaigns with their checklist items, the roles
// that own items, and the customers who opted in to campaign notices.

type templateItemRow struct {
	ID         int64  `db:"id"`
	Template   string `db:"template"`
	Position   int    `db:"position"`
	Title      string `db:"title"`
	OffsetDays int    `db:"offset_days"`
	Working    bool   `db:"working"`
	Owner      string `db:"owner"`
	Action     string `db:"action"`
}

func (r templateItemRow) domain() domain.TemplateItem {
	return domain.TemplateItem{ID: r.ID, Template: r.Template, Position: r.Position, Title: r.Title,
		Offset: domain.Offset{Days: r.OffsetDays, Working: r.Working}, Owner: r.Owner, Action: domain.CampaignAction(r.Action)}
}

type templateRow struct {
	Name          string        `db:"name"`
	Description   string        `db:"description"`
	RepeatWeekday sql.NullInt64 `db:"repeat_weekday"`
	RepeatClock   string        `db:"repeat_clock"`
	RepeatOwner   string        `db:"repeat_owner"`
	RepeatName    string        `db:"repeat_name"`
	RepeatHours   int           `db:"repeat_hours"`
	RepeatTarget  int64         `db:"repeat_target"`
}

func (r templateRow) domain() domain.CampaignTemplate {
	t := domain.CampaignTemplate{Name: r.Name, Description: r.Description}
	if r.RepeatWeekday.Valid {
		t.Repeat = &domain.Repeat{Weekday: time.Weekday(r.RepeatWeekday.Int64), Clock: r.RepeatClock,
			Owner: r.RepeatOwner, Name: r.RepeatName, Hours: r.RepeatHours, Target: r.RepeatTarget}
	}
	return t
}

const templateCols = `name, description, repeat_weekday, repeat_clock, repeat_owner, repeat_name, repeat_hours, repeat_target`

// CampaignTemplates returns every template with its items.
func (db *DB) CampaignTemplates(ctx context.Context) ([]domain.CampaignTemplate, error) {
	const q = `SELECT ` + templateCols + ` FROM campaign_templates ORDER BY name`
	var rows []templateRow
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("campaign templates", err)
	}
	const qi = `SELECT id, template, position, title, offset_days, working, owner, action
		FROM campaign_template_items ORDER BY template, position, id`
	var items []templateItemRow
	if err := db.x.SelectContext(ctx, &items, qi); err != nil {
		return nil, wrap("campaign template items", err)
	}
	out := make([]domain.CampaignTemplate, len(rows))
	idx := map[string]int{}
	for i, r := range rows {
		out[i] = r.domain()
		idx[r.Name] = i
	}
	for _, it := range items {
		if i, ok := idx[it.Template]; ok {
			out[i].Items = append(out[i].Items, it.domain())
		}
	}
	return out, nil
}

// RepeatingTemplates returns the templates that are weekly routines,
// without their items.
func (db *DB) RepeatingTemplates(ctx context.Context) ([]domain.CampaignTemplate, error) {
	const q = `SELECT ` + templateCols + ` FROM campaign_templates WHERE repeat_weekday IS NOT NULL ORDER BY name`
	var rows []templateRow
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("repeating templates", err)
	}
	out := make([]domain.CampaignTemplate, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// CampaignTemplate returns one template with its items, or ErrNotFound.
func (db *DB) CampaignTemplate(ctx context.Context, name string) (domain.CampaignTemplate, error) {
	const q = `SELECT ` + templateCols + ` FROM campaign_templates WHERE name = $1`
	var r templateRow
	if err := db.x.GetContext(ctx, &r, q, name); err != nil {
		return domain.CampaignTemplate{}, wrap("campaign template", err)
	}
	t := r.domain()
	const qi = `SELECT id, template, position, title, offset_days, working, owner, action
		FROM campaign_template_items WHERE template = $1 ORDER BY position, id`
	var items []templateItemRow
	if err := db.x.SelectContext(ctx, &items, qi, name); err != nil {
		return t, wrap("campaign template items", err)
	}
	for _, it := range items {
		t.Items = append(t.Items, it.domain())
	}
	return t, nil
}

// AddTemplateItem appends an item to a template, creating the template
// when it is new. It returns the item with its position.
func (db *DB) AddTemplateItem(ctx context.Context, it domain.TemplateItem, by string) (domain.TemplateItem, error) {
	err := db.InTx(ctx, func(tx *DB) error {
		const t = `INSERT INTO campaign_templates (name, updated_by) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET updated_by = $2, updated_at = now()`
		if _, err := tx.x.ExecContext(ctx, t, it.Template, by); err != nil {
			return wrap("add template", err)
		}
		const q = `INSERT INTO campaign_template_items (template, position, title, offset_days, working, owner, action)
			SELECT $1, coalesce(max(position), 0) + 1, $2, $3, $4, $5, $6
			FROM campaign_template_items WHERE template = $1
			RETURNING id, position`
		return wrap("add template item", tx.x.QueryRowxContext(ctx, q, it.Template, it.Title, it.Offset.Days,
			it.Offset.Working, it.Owner, string(it.Action)).Scan(&it.ID, &it.Position))
	})
	return it, err
}

// RemoveTemplateItem removes the item at position n of a template and
// returns it; ErrNotFound when there is none.
func (db *DB) RemoveTemplateItem(ctx context.Context, template string, n int) (domain.TemplateItem, error) {
	const q = `DELETE FROM campaign_template_items WHERE template = $1 AND position = $2
		RETURNING id, template, position, title, offset_days, working, owner, action`
	var r templateItemRow
	if err := db.x.GetContext(ctx, &r, q, template, n); err != nil {
		return domain.TemplateItem{}, wrap("remove template item", err)
	}
	return r.domain(), nil
}

// SetTemplateRepeat makes a template a weekly routine, or stops it (nil).
func (db *DB) SetTemplateRepeat(ctx context.Context, template string, r *domain.Repeat, by string) error {
	const q = `UPDATE campaign_templates SET repeat_weekday = $2, repeat_clock = $3, repeat_owner = $4,
			repeat_name = $5, repeat_hours = $6, repeat_target = $7, updated_by = $8, updated_at = now()
		WHERE name = $1`
	var (
		wd                 sql.NullInt64
		clock, owner, name string
		hours              int
		target             int64
	)
	if r != nil {
		wd = sql.NullInt64{Int64: int64(r.Weekday), Valid: true}
		clock, owner, name, hours, target = r.Clock, r.Owner, r.Name, r.Hours, r.Target
	}
	res, err := db.x.ExecContext(ctx, q, template, wd, clock, owner, name, hours, target, by)
	if err != nil {
		return wrap("set template repeat", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	return nil
}

// CampaignRoles returns who fills each role.
func (db *DB) CampaignRoles(ctx context.Context) (map[string]string, error) {
	const q = `SELECT role, user_id FROM campaign_roles ORDER BY role`
	var rows []struct {
		Role   string `db:"role"`
		UserID string `db:"user_id"`
	}
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("campaign roles", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Role] = r.UserID
	}
	return out, nil
}

// SetCampaignRole says who fills a role; an empty user removes it.
func (db *DB) SetCampaignRole(ctx context.Context, role, user, by string) error {
	if user == "" {
		_, err := db.x.ExecContext(ctx, `DELETE FROM campaign_roles WHERE role = $1`, role)
		return wrap("remove campaign role", err)
	}
	const q = `INSERT INTO campaign_roles (role, user_id, updated_by) VALUES ($1, $2, $3)
		ON CONFLICT (role) DO UPDATE SET user_id = $2, updated_by = $3, updated_at = now()`
	_, err := db.x.ExecContext(ctx, q, role, user, by)
	return wrap("set campaign role", err)
}

type campaignRow struct {
	ID               int64        `db:"id"`
	Name             string       `db:"name"`
	Template         string       `db:"template"`
	StartAt          time.Time    `db:"start_at"`
	EndAt            time.Time    `db:"end_at"`
	Target           int64        `db:"target"`
	Owner            string       `db:"owner"`
	State            string       `db:"state"`
	Notice           string       `db:"notice"`
	NoticeApprovedBy string       `db:"notice_approved_by"`
	NoticeApprovedAt sql.NullTime `db:"notice_approved_at"`
	NoticeSentAt     sql.NullTime `db:"notice_sent_at"`
	NoticeQueued     int          `db:"notice_queued"`
	TallyPostedAt    sql.NullTime `db:"tally_posted_at"`
	NextSummaryAt    sql.NullTime `db:"next_summary_at"`
	Review           string       `db:"review"`
	ReviewedAt       sql.NullTime `db:"reviewed_at"`
	CreatedBy        string       `db:"created_by"`
	CreatedAt        time.Time    `db:"created_at"`
}

const campaignCols = `id, name, template, start_at, end_at, target, owner, state, notice, notice_approved_by,
	notice_approved_at, notice_sent_at, notice_queued, tally_posted_at, next_summary_at, review, reviewed_at,
	created_by, created_at`

func (r campaignRow) domain() domain.Campaign {
	return domain.Campaign{
		ID: r.ID, Name: r.Name, Template: r.Template, Start: r.StartAt, End: r.EndAt, Target: r.Target,
		Owner: r.Owner, State: domain.CampaignState(r.State), Notice: r.Notice, NoticeApprovedBy: r.NoticeApprovedBy,
		NoticeApprovedAt: r.NoticeApprovedAt.Time, NoticeSentAt: r.NoticeSentAt.Time, NoticeQueued: r.NoticeQueued,
		TallyPostedAt: r.TallyPostedAt.Time, NextSummary: r.NextSummaryAt.Time, Review: r.Review,
		ReviewedAt: r.ReviewedAt.Time, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
	}
}

type campaignItemRow struct {
	ID            int64        `db:"id"`
	CampaignID    int64        `db:"campaign_id"`
	Position      int          `db:"position"`
	Title         string       `db:"title"`
	OffsetDays    int          `db:"offset_days"`
	Working       bool         `db:"working"`
	Owner         string       `db:"owner"`
	Action        string       `db:"action"`
	DueAt         time.Time    `db:"due_at"`
	RemindEarlyAt sql.NullTime `db:"remind_early_at"`
	RemindDayAt   sql.NullTime `db:"remind_day_at"`
	EarlySentAt   sql.NullTime `db:"early_sent_at"`
	DaySentAt     sql.NullTime `db:"day_sent_at"`
	EscalatedAt   sql.NullTime `db:"escalated_at"`
	ActedAt       sql.NullTime `db:"acted_at"`
	DoneAt        sql.NullTime `db:"done_at"`
	DoneBy        string       `db:"done_by"`
}

const campaignItemCols = `id, campaign_id, position, title, offset_days, working, owner, action, due_at,
	remind_early_at, remind_day_at, early_sent_at, day_sent_at, escalated_at, acted_at, done_at, done_by`

func (r campaignItemRow) domain() domain.CampaignItem {
	return domain.CampaignItem{
		ID: r.ID, CampaignID: r.CampaignID, Position: r.Position, Title: r.Title,
		Offset: domain.Offset{Days: r.OffsetDays, Working: r.Working}, Owner: r.Owner,
		Action: domain.CampaignAction(r.Action), Due: r.DueAt, RemindEarly: r.RemindEarlyAt.Time,
		RemindDay: r.RemindDayAt.Time, EarlySent: r.EarlySentAt.Time, DaySent: r.DaySentAt.Time,
		Escalated: r.EscalatedAt.Time, Acted: r.ActedAt.Time, DoneAt: r.DoneAt.Time, DoneBy: r.DoneBy,
	}
}

// CreateCampaign stores a campaign with its items (their due times set)
// and the messages announce returns for it (with its ID), in one
// transaction. A second active
// campaign of the same name is ErrConflict.
func (db *DB) CreateCampaign(ctx context.Context, c domain.Campaign, announce func(c domain.Campaign) []domain.Outgoing) (domain.Campaign, error) {
	err := db.InTx(ctx, func(tx *DB) error {
		const q = `INSERT INTO campaigns (name, template, start_at, end_at, target, owner, notice, next_summary_at,
				created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`
		err := tx.x.GetContext(ctx, &c.ID, q, c.Name, c.Template, c.Start, c.End, c.Target, c.Owner, c.Notice,
			nullTime(c.NextSummary), c.CreatedBy, c.CreatedAt)
		if err != nil {
			return wrap("create campaign", err)
		}
		c.State = domain.CampaignActive
		for i := range c.Items {
			c.Items[i].CampaignID = c.ID
		}
		if err := insertItems(ctx, tx, c.Items); err != nil {
			return err
		}
		items, err := tx.campaignItems(ctx, c.ID)
		if err != nil {
			return err
		}
		c.Items = items
		if announce == nil {
			return nil
		}
		return enqueue(ctx, tx.x, announce(c))
	})
	return c, err
}

// ts formats a time for the text arrays of bulk statements; "" is NULL.
func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func insertItems(ctx context.Context, tx *DB, items []domain.CampaignItem) error {
	if len(items) == 0 {
		return nil
	}
	var (
		cids                          []int64
		pos, offs                     []int64
		working                       []bool
		titles, owners, actions       []string
		due, early, day, next, doneAt []string
	)
	for _, it := range items {
		cids, pos, offs = append(cids, it.CampaignID), append(pos, int64(it.Position)), append(offs, int64(it.Offset.Days))
		working = append(working, it.Offset.Working)
		titles, owners, actions = append(titles, it.Title), append(owners, it.Owner), append(actions, string(it.Action))
		due, early, day = append(due, ts(it.Due)), append(early, ts(it.RemindEarly)), append(day, ts(it.RemindDay))
		next, doneAt = append(next, ts(it.NextCheck())), append(doneAt, ts(it.DoneAt))
	}
	const q = `INSERT INTO campaign_items (campaign_id, position, offset_days, working, title, owner, action,
			due_at, remind_early_at, remind_day_at, next_check_at, done_at)
		SELECT u.cid, u.pos, u.off, u.wk, u.title, u.owner, u.action, u.due::timestamptz,
			NULLIF(u.early, '')::timestamptz, NULLIF(u.day, '')::timestamptz, NULLIF(u.next, '')::timestamptz,
			NULLIF(u.done, '')::timestamptz
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::boolean[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[])
			AS u(cid, pos, off, wk, title, owner, action, due, early, day, next, done)`
	_, err := tx.x.ExecContext(ctx, q, pq.Array(cids), pq.Array(pos), pq.Array(offs), pq.Array(working),
		pq.Array(titles), pq.Array(owners), pq.Array(actions), pq.Array(due), pq.Array(early), pq.Array(day),
		pq.Array(next), pq.Array(doneAt))
	return wrap("insert campaign items", err)
}

// saveItems writes back every mutable column of items, and their next
// check time (none for a cancelled campaign's), in one statement.
func saveItems(ctx context.Context, tx *DB, items []domain.CampaignItem, cancelled bool) error {
	if len(items) == 0 {
		return nil
	}
	var (
		ids                                         []int64
		owners, doneBy                              []string
		due, early, day, es, ds, esc, act, done, nx []string
	)
	for _, it := range items {
		ids, owners, doneBy = append(ids, it.ID), append(owners, it.Owner), append(doneBy, it.DoneBy)
		due, early, day = append(due, ts(it.Due)), append(early, ts(it.RemindEarly)), append(day, ts(it.RemindDay))
		es, ds, esc = append(es, ts(it.EarlySent)), append(ds, ts(it.DaySent)), append(esc, ts(it.Escalated))
		next := it.NextCheck()
		if cancelled {
			next = time.Time{}
		}
		act, done, nx = append(act, ts(it.Acted)), append(done, ts(it.DoneAt)), append(nx, ts(next))
	}
	const q = `UPDATE campaign_items i SET owner = u.owner, done_by = u.done_by, due_at = u.due::timestamptz,
			remind_early_at = NULLIF(u.early, '')::timestamptz, remind_day_at = NULLIF(u.day, '')::timestamptz,
			early_sent_at = NULLIF(u.es, '')::timestamptz, day_sent_at = NULLIF(u.ds, '')::timestamptz,
			escalated_at = NULLIF(u.esc, '')::timestamptz, acted_at = NULLIF(u.act, '')::timestamptz,
			done_at = NULLIF(u.done, '')::timestamptz, next_check_at = NULLIF(u.nx, '')::timestamptz
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::text[], $12::text[])
			AS u(id, owner, done_by, due, early, day, es, ds, esc, act, done, nx)
		WHERE i.id = u.id`
	_, err := tx.x.ExecContext(ctx, q, pq.Array(ids), pq.Array(owners), pq.Array(doneBy), pq.Array(due),
		pq.Array(early), pq.Array(day), pq.Array(es), pq.Array(ds), pq.Array(esc), pq.Array(act), pq.Array(done),
		pq.Array(nx))
	return wrap("save campaign items", err)
}

func (db *DB) campaignItems(ctx context.Context, campaignID int64) ([]domain.CampaignItem, error) {
	const q = `SELECT ` + campaignItemCols + ` FROM campaign_items WHERE campaign_id = $1 ORDER BY position, id`
	var rows []campaignItemRow
	if err := db.x.SelectContext(ctx, &rows, q, campaignID); err != nil {
		return nil, wrap("campaign items", err)
	}
	out := make([]domain.CampaignItem, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Campaign returns a campaign with its items by ID or, when key is not a
// number, by name (the active one, else the latest); ErrNotFound.
func (db *DB) Campaign(ctx context.Context, key string) (domain.Campaign, error) {
	return db.campaign(ctx, key, false)
}

func (db *DB) campaign(ctx context.Context, key string, lock bool) (domain.Campaign, error) {
	key = strings.TrimPrefix(strings.TrimSpace(key), "#")
	var (
		q   string
		arg any
	)
	if id, err := strconv.ParseInt(key, 10, 64); err == nil {
		q, arg = `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id
	} else {
		q, arg = `SELECT `+campaignCols+` FROM campaigns WHERE lower(name) = lower($1)
			ORDER BY state = 'active' DESC, id DESC LIMIT 1`, key
	}
	if lock {
		q += ` FOR UPDATE`
	}
	var r campaignRow
	if err := db.x.GetContext(ctx, &r, q, arg); err != nil {
		return domain.Campaign{}, wrap("campaign", err)
	}
	c := r.domain()
	items, err := db.campaignItems(ctx, c.ID)
	c.Items = items
	return c, err
}

// CampaignOfItem returns the ID of the campaign an item belongs to.
func (db *DB) CampaignOfItem(ctx context.Context, itemID int64) (int64, error) {
	var id int64
	err := db.x.GetContext(ctx, &id, `SELECT campaign_id FROM campaign_items WHERE id = $1`, itemID)
	return id, wrap("campaign of item", err)
}

// ListCampaigns returns campaigns, newest start first: the active ones
// whose review day has not passed at at, or all of them.
func (db *DB) ListCampaigns(ctx context.Context, all bool, at time.Time, limit int) ([]domain.Campaign, error) {
	q := `SELECT ` + campaignCols + ` FROM campaigns WHERE state = 'active' AND end_at > $1::timestamptz - interval '4 days'
		ORDER BY start_at LIMIT $2`
	if all {
		q = `SELECT ` + campaignCols + ` FROM campaigns WHERE $1::timestamptz IS NOT NULL ORDER BY start_at DESC LIMIT $2`
	}
	var rows []campaignRow
	if err := db.x.SelectContext(ctx, &rows, q, at, limit); err != nil {
		return nil, wrap("list campaigns", err)
	}
	out := make([]domain.Campaign, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// UpdateCampaign changes a campaign and its items under a row lock: fn
// gets them as stored and changes them in place, returning the messages
// the change causes; the campaign, every item and the messages are saved
// in one transaction.
func (db *DB) UpdateCampaign(ctx context.Context, key string, fn func(c *domain.Campaign) ([]domain.Outgoing, error)) (domain.Campaign, error) {
	var c domain.Campaign
	err := db.InTx(ctx, func(tx *DB) error {
		var err error
		if c, err = tx.campaign(ctx, key, true); err != nil {
			return err
		}
		wasDone := map[int64]bool{}
		for _, it := range c.Items {
			wasDone[it.ID] = it.Done()
		}
		msgs, err := fn(&c)
		if err != nil {
			return err
		}
		// Reminders of items just finished that are still waiting in the
		// outbox are withdrawn (one being sent right now still goes).
		var withdraw []string
		for _, it := range c.Items {
			if it.Done() && !wasDone[it.ID] {
				withdraw = append(withdraw, "campaign-item:"+strconv.FormatInt(it.ID, 10)+":remind-%")
			}
		}
		if len(withdraw) > 0 {
			const d = `DELETE FROM outbox WHERE state = 'pending' AND attempts = 0
				AND (locked_until IS NULL OR locked_until < now()) AND dedupe_key LIKE ANY ($1::text[])`
			if _, err := tx.x.ExecContext(ctx, d, pq.Array(withdraw)); err != nil {
				return wrap("withdraw reminders", err)
			}
		}
		const q = `UPDATE campaigns SET name = $2, start_at = $3, end_at = $4, target = $5, owner = $6, state = $7,
				notice = $8, notice_approved_by = $9, notice_approved_at = $10, next_summary_at = $11, review = $12,
				reviewed_at = $13
			WHERE id = $1`
		if _, err := tx.x.ExecContext(ctx, q, c.ID, c.Name, c.Start, c.End, c.Target, c.Owner, string(c.State),
			c.Notice, c.NoticeApprovedBy, nullTime(c.NoticeApprovedAt), nullTime(c.NextSummary), c.Review,
			nullTime(c.ReviewedAt)); err != nil {
			return wrap("update campaign", err)
		}
		if err := saveItems(ctx, tx, c.Items, c.State == domain.CampaignCancelled); err != nil {
			return err
		}
		return enqueue(ctx, tx.x, msgs)
	})
	return c, err
}

// DueItem is an item with what the reminder job found due for it; the
// handler may change the item (mark it done) before it is saved.
type DueItem struct {
	Item   domain.CampaignItem
	Events []domain.ItemEvent
}

// SweepCampaignItems hands every item with something due at time at to
// handle, grouped by campaign (given without its items). It reads only
// the partial index of items with a next check time at or before at, in
// batches locked with FOR UPDATE SKIP LOCKED, so concurrent runs share the
// work without overlap and the cost follows what is due, not the table.
// The items' new state (what was sent), anything handle writes through tx
// and the messages it returns commit together: each reminder goes out
// once, however many replicas run the job. It returns how many items were
// due.
func (db *DB) SweepCampaignItems(ctx context.Context, at time.Time, batch int,
	handle func(tx *DB, c domain.Campaign, due []*DueItem) ([]domain.Outgoing, error)) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for {
		n := 0
		err := db.InTx(ctx, func(tx *DB) error {
			const q = `SELECT ` + campaignItemCols + ` FROM campaign_items
				WHERE next_check_at IS NOT NULL AND next_check_at <= $1
				ORDER BY next_check_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`
			var rows []campaignItemRow
			if err := tx.x.SelectContext(ctx, &rows, q, at, batch); err != nil {
				return wrap("sweep campaign items", err)
			}
			n = len(rows)
			if n == 0 {
				return nil
			}
			var cids []int64
			byCampaign := map[int64][]*DueItem{}
			all := make([]DueItem, len(rows))
			for i, r := range rows {
				it := r.domain()
				all[i] = DueItem{Item: it, Events: nil}
				all[i].Events = all[i].Item.DueAt(at)
				if _, seen := byCampaign[it.CampaignID]; !seen {
					cids = append(cids, it.CampaignID)
				}
				byCampaign[it.CampaignID] = append(byCampaign[it.CampaignID], &all[i])
			}
			const qc = `SELECT ` + campaignCols + ` FROM campaigns WHERE id = ANY($1::bigint[]) ORDER BY id`
			var crows []campaignRow
			if err := tx.x.SelectContext(ctx, &crows, qc, pq.Array(cids)); err != nil {
				return wrap("sweep campaign items: campaigns", err)
			}
			var msgs []domain.Outgoing
			for _, cr := range crows {
				var due []*DueItem
				for _, d := range byCampaign[cr.ID] {
					if len(d.Events) > 0 {
						due = append(due, d)
					}
				}
				if len(due) == 0 || cr.State != string(domain.CampaignActive) {
					continue
				}
				m, err := handle(tx, cr.domain(), due)
				if err != nil {
					return err
				}
				msgs = append(msgs, m...)
			}
			items := make([]domain.CampaignItem, len(all))
			for i := range all {
				items[i] = all[i].Item
			}
			if err := saveItems(ctx, tx, items, false); err != nil {
				return err
			}
			return enqueue(ctx, tx.x, msgs)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// SweepCampaignSummaries hands every active campaign whose morning summary
// is due at at to handle, with its items, and stores the next summary time
// handle returns (zero for none) with its messages, in one transaction per
// campaign. It reads the partial index of campaigns with a summary ahead.
func (db *DB) SweepCampaignSummaries(ctx context.Context, at time.Time,
	handle func(c domain.Campaign) (next time.Time, msgs []domain.Outgoing)) (int, error) {
	total := 0
	for {
		done := false
		err := db.InTx(ctx, func(tx *DB) error {
			const q = `SELECT ` + campaignCols + ` FROM campaigns
				WHERE next_summary_at IS NOT NULL AND next_summary_at <= $1
				ORDER BY next_summary_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`
			var r campaignRow
			err := tx.x.GetContext(ctx, &r, q, at)
			if errors.Is(err, sql.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return wrap("sweep campaign summaries", err)
			}
			c := r.domain()
			if c.Items, err = tx.campaignItems(ctx, c.ID); err != nil {
				return err
			}
			next, msgs := handle(c)
			if _, err := tx.x.ExecContext(ctx, `UPDATE campaigns SET next_summary_at = $2 WHERE id = $1`,
				c.ID, nullTime(next)); err != nil {
				return wrap("sweep campaign summaries: next", err)
			}
			return enqueue(ctx, tx.x, msgs)
		})
		if err != nil || done || ctx.Err() != nil {
			return total, err
		}
		total++
	}
}

// CampaignWork says which of the reminder job's rarer steps have anything
// to do at at: summaries due, notice tallies waiting, weekly routines to
// keep ahead. One indexed round trip, so a run with nothing of the kind
// costs almost nothing.
func (db *DB) CampaignWork(ctx context.Context, at time.Time) (summaries, tallies, routines bool, err error) {
	const q = `SELECT EXISTS (SELECT 1 FROM campaigns WHERE next_summary_at IS NOT NULL AND next_summary_at <= $1),
		EXISTS (SELECT 1 FROM campaigns WHERE notice_sent_at IS NOT NULL AND tally_posted_at IS NULL),
		EXISTS (SELECT 1 FROM campaign_templates WHERE repeat_weekday IS NOT NULL)`
	err = db.x.QueryRowxContext(ctx, q, at).Scan(&summaries, &tallies, &routines)
	return summaries, tallies, routines, wrap("campaign work", err)
}

// NoticeTallies returns the campaigns whose customer notice went out and
// whose tally the owner has not had yet.
func (db *DB) NoticeTallies(ctx context.Context) ([]domain.Campaign, error) {
	const q = `SELECT ` + campaignCols + ` FROM campaigns
		WHERE notice_sent_at IS NOT NULL AND tally_posted_at IS NULL ORDER BY id`
	var rows []campaignRow
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("notice tallies", err)
	}
	out := make([]domain.Campaign, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// PostNoticeTally records that the owner was told how the notice went and
// enqueues msgs, once: false when another run did it first.
func (db *DB) PostNoticeTally(ctx context.Context, id int64, msgs []domain.Outgoing) (bool, error) {
	ok := false
	err := db.InTx(ctx, func(tx *DB) error {
		res, err := tx.x.ExecContext(ctx, `UPDATE campaigns SET tally_posted_at = now()
			WHERE id = $1 AND tally_posted_at IS NULL`, id)
		if err != nil {
			return wrap("post notice tally", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		ok = true
		return enqueue(ctx, tx.x, msgs)
	})
	return ok, err
}

// EnqueueCampaignNotice enqueues the campaign's customer notice to every
// customer who opted in and still follows the account, in one statement
// (the rows never travel through Go), as one broadcast batch whose
// messages are only counted when a customer cannot be reached. It records
// the notice as sent and returns how many were enqueued. Called from the
// reminder job's transaction, which also marks the notice item done, it
// runs once per campaign however many replicas run the job: the item's
// row lock and state are the claim, so the 100,000 rows need no dedupe
// keys of their own.
func (db *DB) EnqueueCampaignNotice(ctx context.Context, c domain.Campaign, content domain.Content, template string, at time.Time) (int, error) {
	doc, err := json.Marshal(content)
	if err != nil {
		return 0, fmt.Errorf("store: campaign notice: %w", err)
	}
	var n int
	err = db.InTx(ctx, func(tx *DB) error {
		var sent bool
		if err := tx.x.GetContext(ctx, &sent, `SELECT notice_sent_at IS NOT NULL FROM campaigns WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
			return wrap("campaign notice", err)
		}
		if sent {
			return nil
		}
		const q = `INSERT INTO outbox (platform, kind, recipient, template, content, purpose, batch)
			SELECT $1, 'post', o.openid, $2, $3::jsonb, $4, $5
			FROM campaign_optins o JOIN wechat_followers f ON f.openid = o.openid
			WHERE o.opted_out_at IS NULL AND f.subscribed`
		res, err := tx.x.ExecContext(ctx, q, domain.PlatformWeChat, template, string(doc),
			domain.PurposeCampaign, c.Batch())
		if err != nil {
			return wrap("campaign notice", err)
		}
		k, _ := res.RowsAffected()
		n = int(k)
		_, err = tx.x.ExecContext(ctx, `UPDATE campaigns SET notice_sent_at = $2, notice_queued = $3
			WHERE id = $1`, c.ID, at, n)
		return wrap("campaign notice sent", err)
	})
	return n, err
}

// CampaignOptIn records that a customer wants campaign notices; it
// reports whether they had already.
func (db *DB) CampaignOptIn(ctx context.Context, openID string, at time.Time) (already bool, err error) {
	err = db.InTx(ctx, func(tx *DB) error {
		const q = `SELECT EXISTS (SELECT 1 FROM campaign_optins WHERE openid = $1 AND opted_out_at IS NULL)`
		if err := tx.x.GetContext(ctx, &already, q, openID); err != nil {
			return wrap("campaign opt in", err)
		}
		if already {
			return nil
		}
		const u = `INSERT INTO campaign_optins (openid, opted_in_at) VALUES ($1, $2)
			ON CONFLICT (openid) DO UPDATE SET opted_in_at = $2, opted_out_at = NULL`
		_, err := tx.x.ExecContext(ctx, u, openID, at)
		return wrap("campaign opt in", err)
	})
	return already, err
}

// CampaignOptOut records that a customer wants no more campaign notices;
// it reports whether they had opted in.
func (db *DB) CampaignOptOut(ctx context.Context, openID string, at time.Time) (bool, error) {
	res, err := db.x.ExecContext(ctx, `UPDATE campaign_optins SET opted_out_at = $2
		WHERE openid = $1 AND opted_out_at IS NULL`, openID, at)
	if err != nil {
		return false, wrap("campaign opt out", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CampaignOptIns counts the customers who opted in and still follow.
func (db *DB) CampaignOptIns(ctx context.Context) (int, error) {
	const q = `SELECT count(*) FROM campaign_optins o JOIN wechat_followers f ON f.openid = o.openid
		WHERE o.opted_out_at IS NULL AND f.subscribed`
	var n int
	err := db.x.GetContext(ctx, &n, q)
	return n, wrap("campaign opt-ins", err)
}

// RoutineCampaignExists reports whether the weekly routine of template
// already has its campaign starting at start.
func (db *DB) RoutineCampaignExists(ctx context.Context, template string, start time.Time) (bool, error) {
	var ok bool
	err := db.x.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM campaigns
		WHERE template = $1 AND start_at = $2 AND created_by = 'opsbot')`, template, start)
	return ok, wrap("routine campaign exists", err)
}

// CampaignDays maps every day of [from, to) on which an active campaign
// runs ("YYYY-MM-DD" in loc) to the campaign's name (the first to start
// when two overlap), for digests that must not flag a campaign day as an
// anomaly.
func (db *DB) CampaignDays(ctx context.Context, from, to time.Time, loc *time.Location) (map[string]string, error) {
	const q = `SELECT name, start_at, end_at FROM campaigns
		WHERE state = 'active' AND start_at < $2 AND end_at > $1 ORDER BY start_at DESC, id DESC`
	var rows []struct {
		Name  string    `db:"name"`
		Start time.Time `db:"start_at"`
		End   time.Time `db:"end_at"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, from, to); err != nil {
		return nil, wrap("campaign days", err)
	}
	out := map[string]string{}
	first, last := domain.Midnight(from, loc), to
	for _, r := range rows {
		for d := domain.Midnight(r.Start, loc); d.Before(r.End) && d.Before(last); d = d.AddDate(0, 0, 1) {
			if !d.Before(first) {
				out[d.Format("2006-01-02")] = r.Name
			}
		}
	}
	return out, nil
}
