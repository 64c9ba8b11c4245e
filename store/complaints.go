package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/opsbot/opsbot/domain"
)

type complaintRow struct {
	ID                int64        `db:"id"`
	Number            string       `db:"number"`
	Source            string       `db:"source"`
	OpenID            string       `db:"openid"`
	Contact           string       `db:"contact"`
	OrderNo           string       `db:"order_no"`
	Category          string       `db:"category"`
	Body              string       `db:"body"`
	State             string       `db:"state"`
	Assignee          string       `db:"assignee"`
	CreatedBy         string       `db:"created_by"`
	CreatedAt         time.Time    `db:"created_at"`
	ReplyWarnAt       time.Time    `db:"reply_warn_at"`
	ReplyDueAt        time.Time    `db:"reply_due_at"`
	ResolveWarnAt     time.Time    `db:"resolve_warn_at"`
	ResolveDueAt      time.Time    `db:"resolve_due_at"`
	FirstReplyAt      sql.NullTime `db:"first_reply_at"`
	ResolvedAt        sql.NullTime `db:"resolved_at"`
	ResolvedBy        string       `db:"resolved_by"`
	Outcome           string       `db:"outcome"`
	ReplyWarnedAt     sql.NullTime `db:"reply_warned_at"`
	ReplyBreachedAt   sql.NullTime `db:"reply_breached_at"`
	ResolveWarnedAt   sql.NullTime `db:"resolve_warned_at"`
	ResolveBreachedAt sql.NullTime `db:"resolve_breached_at"`
}

const complaintCols = `id, number, source, openid, contact, order_no, category, body, state, assignee,
	created_by, created_at, reply_warn_at, reply_due_at, resolve_warn_at, resolve_due_at,
	first_reply_at, resolved_at, resolved_by, outcome,
	reply_warned_at, reply_breached_at, resolve_warned_at, resolve_breached_at`

func (r complaintRow) domain() domain.Complaint {
	return domain.Complaint{
		ID: r.ID, Number: r.Number, Source: domain.ComplaintSource(r.Source), OpenID: r.OpenID,
		Contact: r.Contact, Order: r.OrderNo, Category: domain.Category(r.Category), Text: r.Body,
		State: domain.ComplaintState(r.State), Assignee: r.Assignee, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		ReplyWarnAt: r.ReplyWarnAt, ReplyDue: r.ReplyDueAt, ResolveWarnAt: r.ResolveWarnAt, ResolveDue: r.ResolveDueAt,
		FirstReplyAt: r.FirstReplyAt.Time, ResolvedAt: r.ResolvedAt.Time, ResolvedBy: r.ResolvedBy, Outcome: r.Outcome,
		ReplyWarned: r.ReplyWarnedAt.Time, ReplyBreached: r.ReplyBreachedAt.Time,
		ResolveWarned: r.ResolveWarnedAt.Time, ResolveBreached: r.ResolveBreachedAt.Time,
	}
}

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

// CreateComplaint numbers a new complaint, fixes its due times from its
// category's policy and saves it with its "created" timeline entry and the
// messages fn returns for it (the Slack post, the customer's receipt), all
// in one transaction. c.CreatedAt must be in the shop's time zone: the
// number's date is taken from it. The counter row lock makes concurrent
// complaints on one day get distinct, gap-free numbers.
func (db *DB) CreateComplaint(ctx context.Context, c domain.Complaint, fn func(domain.Complaint) domain.ComplaintChange) (domain.Complaint, error) {
	if c.CreatedAt.IsZero() || c.Text == "" || c.Category == "" {
		return c, fmt.Errorf("store: create complaint: %w: needs a time, a text and a category", domain.ErrInvalid)
	}
	err := db.InTx(ctx, func(tx *DB) error {
		p, err := policy(ctx, tx.x, c.Category)
		if err != nil {
			return err
		}
		c.ApplyPolicy(p)
		const next = `INSERT INTO complaint_counters (day, last) VALUES ($1, 1)
			ON CONFLICT (day) DO UPDATE SET last = complaint_counters.last + 1 RETURNING last`
		var seq int
		if err := tx.x.GetContext(ctx, &seq, next, c.CreatedAt.Format("2006-01-02")); err != nil {
			return wrap("create complaint: number", err)
		}
		c.Number = domain.ComplaintNumber(c.CreatedAt, seq)
		if c.State == "" {
			c.State = domain.ComplaintOpen
		}
		const q = `INSERT INTO complaints (number, source, openid, contact, order_no, category, body, state,
				assignee, created_by, created_at, reply_warn_at, reply_due_at, resolve_warn_at, resolve_due_at, next_sla_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`
		if err := tx.x.GetContext(ctx, &c.ID, q, c.Number, c.Source, c.OpenID, c.Contact, c.Order, c.Category,
			c.Text, c.State, c.Assignee, c.CreatedBy, c.CreatedAt, c.ReplyWarnAt, c.ReplyDue, c.ResolveWarnAt,
			c.ResolveDue, nullTime(c.NextSLA())); err != nil {
			return wrap("create complaint", err)
		}
		ch := domain.ComplaintChange{}
		if fn != nil {
			ch = fn(c)
		}
		created := domain.ComplaintEvent{Kind: domain.EventCreated, Actor: c.CreatedBy, Detail: string(c.Source), At: c.CreatedAt}
		ch.Events = append([]domain.ComplaintEvent{created}, ch.Events...)
		return applyChange(ctx, tx, c.ID, ch)
	})
	if err != nil {
		return domain.Complaint{}, err
	}
	return c, nil
}

// applyChange writes a change's timeline entries and messages.
func applyChange(ctx context.Context, tx *DB, id int64, ch domain.ComplaintChange) error {
	const q = `INSERT INTO complaint_events (complaint_id, kind, actor, detail, at) VALUES ($1, $2, $3, $4, $5)`
	for _, e := range ch.Events {
		at := e.At
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := tx.x.ExecContext(ctx, q, id, e.Kind, e.Actor, e.Detail, at); err != nil {
			return wrap("complaint event", err)
		}
	}
	return enqueue(ctx, tx.x, ch.Messages)
}

// Complaint returns one complaint by number.
func (db *DB) Complaint(ctx context.Context, number string) (domain.Complaint, error) {
	const q = `SELECT ` + complaintCols + ` FROM complaints WHERE number = $1`
	var r complaintRow
	if err := db.x.GetContext(ctx, &r, q, number); err != nil {
		return domain.Complaint{}, wrap("complaint "+number, err)
	}
	return r.domain(), nil
}

// UpdateComplaint changes a complaint under its row lock: fn gets the
// current complaint, changes it (through its domain methods) and returns
// the timeline entries and messages the change causes. The complaint, its
// SLA bookkeeping, the entries and the messages are saved in one
// transaction; an error from fn changes nothing.
func (db *DB) UpdateComplaint(ctx context.Context, number string, fn func(c *domain.Complaint) (domain.ComplaintChange, error)) (domain.Complaint, error) {
	var out domain.Complaint
	err := db.InTx(ctx, func(tx *DB) error {
		const q = `SELECT ` + complaintCols + ` FROM complaints WHERE number = $1 FOR UPDATE`
		var r complaintRow
		if err := tx.x.GetContext(ctx, &r, q, number); err != nil {
			return wrap("complaint "+number, err)
		}
		c := r.domain()
		ch, err := fn(&c)
		if err != nil {
			return err
		}
		if err := saveComplaint(ctx, tx, c); err != nil {
			return err
		}
		out = c
		return applyChange(ctx, tx, c.ID, ch)
	})
	return out, err
}

// saveComplaint writes a complaint's changeable columns and recomputes
// next_sla_at, the SLA sweep's index key.
func saveComplaint(ctx context.Context, tx *DB, c domain.Complaint) error {
	const q = `UPDATE complaints SET category = $2, state = $3, assignee = $4, first_reply_at = $5,
			resolved_at = $6, resolved_by = $7, outcome = $8, reply_warned_at = $9, reply_breached_at = $10,
			resolve_warned_at = $11, resolve_breached_at = $12, next_sla_at = $13, updated_at = now()
		WHERE id = $1`
	_, err := tx.x.ExecContext(ctx, q, c.ID, c.Category, c.State, c.Assignee, nullTime(c.FirstReplyAt),
		nullTime(c.ResolvedAt), c.ResolvedBy, c.Outcome, nullTime(c.ReplyWarned), nullTime(c.ReplyBreached),
		nullTime(c.ResolveWarned), nullTime(c.ResolveBreached), nullTime(c.NextSLA()))
	return wrap("save complaint", err)
}

// ComplaintEvents returns a complaint's timeline, oldest first.
func (db *DB) ComplaintEvents(ctx context.Context, complaintID int64) ([]domain.ComplaintEvent, error) {
	const q = `SELECT id, complaint_id, kind, actor, detail, at FROM complaint_events
		WHERE complaint_id = $1 ORDER BY id`
	var rows []struct {
		ID          int64     `db:"id"`
		ComplaintID int64     `db:"complaint_id"`
		Kind        string    `db:"kind"`
		Actor       string    `db:"actor"`
		Detail      string    `db:"detail"`
		At          time.Time `db:"at"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, complaintID); err != nil {
		return nil, wrap("complaint events", err)
	}
	out := make([]domain.ComplaintEvent, len(rows))
	for i, r := range rows {
		out[i] = domain.ComplaintEvent{ID: r.ID, ComplaintID: r.ComplaintID, Kind: domain.EventKind(r.Kind),
			Actor: r.Actor, Detail: r.Detail, At: r.At}
	}
	return out, nil
}

// CustomerComplaints returns one customer's complaints, newest first. It
// only ever looks up by the customer's own OpenID.
func (db *DB) CustomerComplaints(ctx context.Context, openID string, limit int) ([]domain.Complaint, error) {
	if openID == "" {
		return nil, nil
	}
	const q = `SELECT ` + complaintCols + ` FROM complaints WHERE openid = $1
		ORDER BY created_at DESC LIMIT $2`
	return db.selectComplaints(ctx, "customer complaints", q, openID, limit)
}

// LatestOpenComplaint returns a customer's newest unresolved complaint.
func (db *DB) LatestOpenComplaint(ctx context.Context, openID string) (domain.Complaint, error) {
	const q = `SELECT ` + complaintCols + ` FROM complaints WHERE openid = $1 AND openid <> '' AND state <> 'resolved'
		ORDER BY created_at DESC LIMIT 1`
	var r complaintRow
	if err := db.x.GetContext(ctx, &r, q, openID); err != nil {
		return domain.Complaint{}, wrap("latest open complaint", err)
	}
	return r.domain(), nil
}

func (db *DB) selectComplaints(ctx context.Context, op, q string, args ...any) ([]domain.Complaint, error) {
	var rows []complaintRow
	if err := db.x.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, wrap(op, err)
	}
	out := make([]domain.Complaint, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SweepSLA announces every SLA warning and breach due at time at. It reads
// only the partial index of complaints with something left to announce
// (next_sla_at <= at), in batches locked with FOR UPDATE SKIP LOCKED, so
// concurrent sweeps share the work without overlap and its cost follows
// what is due, not the table. For each complaint the warnings and breaches
// are recorded on the row and in its timeline and the messages announce
// returns are enqueued, in one transaction: each is sent once, however
// many sweeps run (the messages' dedupe keys guard it a second time). It
// returns how many complaints had something due.
func (db *DB) SweepSLA(ctx context.Context, at time.Time, batch int, announce func(c domain.Complaint, due []domain.SLAEvent) []domain.Outgoing) (int, error) {
	if batch <= 0 {
		batch = 100
	}
	total := 0
	for {
		n, announced := 0, 0
		err := db.InTx(ctx, func(tx *DB) error {
			const q = `SELECT ` + complaintCols + ` FROM complaints
				WHERE next_sla_at IS NOT NULL AND next_sla_at <= $1
				ORDER BY next_sla_at LIMIT $2 FOR UPDATE SKIP LOCKED`
			var rows []complaintRow
			if err := tx.x.SelectContext(ctx, &rows, q, at, batch); err != nil {
				return wrap("sweep sla", err)
			}
			n = len(rows)
			var (
				ids                                []int64
				replyW, replyB, resolveW, resolveB []string
				next                               []string
				evIDs                              []int64
				evKinds, evDetails                 []string
				msgs                               []domain.Outgoing
			)
			ts := func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.UTC().Format(time.RFC3339Nano)
			}
			for _, r := range rows {
				c := r.domain()
				due := c.DueAt(at)
				ids = append(ids, c.ID)
				replyW, replyB = append(replyW, ts(c.ReplyWarned)), append(replyB, ts(c.ReplyBreached))
				resolveW, resolveB = append(resolveW, ts(c.ResolveWarned)), append(resolveB, ts(c.ResolveBreached))
				next = append(next, ts(c.NextSLA()))
				if len(due) == 0 {
					continue
				}
				announced++
				for _, e := range due {
					ev := c.SLAEventRecord(e, at)
					evIDs, evKinds, evDetails = append(evIDs, c.ID), append(evKinds, string(ev.Kind)), append(evDetails, ev.Detail)
				}
				if announce != nil {
					msgs = append(msgs, announce(c, due)...)
				}
			}
			if n == 0 {
				return nil
			}
			// One statement for the rows and one for the timeline, however
			// many are due: the sweep's cost is mostly round trips.
			const upd = `UPDATE complaints c SET reply_warned_at = NULLIF(u.rw, '')::timestamptz,
					reply_breached_at = NULLIF(u.rb, '')::timestamptz, resolve_warned_at = NULLIF(u.sw, '')::timestamptz,
					resolve_breached_at = NULLIF(u.sb, '')::timestamptz, next_sla_at = NULLIF(u.nx, '')::timestamptz,
					updated_at = now()
				FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(id, rw, rb, sw, sb, nx)
				WHERE c.id = u.id`
			if _, err := tx.x.ExecContext(ctx, upd, pq.Array(ids), pq.Array(replyW), pq.Array(replyB),
				pq.Array(resolveW), pq.Array(resolveB), pq.Array(next)); err != nil {
				return wrap("sweep sla: save", err)
			}
			if len(evIDs) > 0 {
				const ev = `INSERT INTO complaint_events (complaint_id, kind, actor, detail, at)
					SELECT e.id, e.kind, $4, e.detail, $5 FROM unnest($1::bigint[], $2::text[], $3::text[]) AS e(id, kind, detail)`
				if _, err := tx.x.ExecContext(ctx, ev, pq.Array(evIDs), pq.Array(evKinds), pq.Array(evDetails),
					domain.ActorBot, at); err != nil {
					return wrap("sweep sla: events", err)
				}
			}
			return enqueue(ctx, tx.x, msgs)
		})
		if err != nil {
			return total, err
		}
		total += n
		// A full batch with nothing due cannot happen (next_sla_at is
		// recomputed from the same rules), but must not loop for ever.
		if n < batch || announced == 0 || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// Policies returns the SLA policy of every category.
func (db *DB) Policies(ctx context.Context) ([]domain.SLAPolicy, error) {
	const q = `SELECT category, reply_secs, resolve_secs, warn_pct, updated_by, updated_at FROM complaint_policies`
	var rows []policyRow
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("policies", err)
	}
	byCat := map[domain.Category]domain.SLAPolicy{}
	for _, r := range rows {
		byCat[domain.Category(r.Category)] = r.domain()
	}
	out := make([]domain.SLAPolicy, 0, len(domain.Categories))
	for _, d := range domain.DefaultPolicies() {
		if p, ok := byCat[d.Category]; ok {
			d = p
		}
		out = append(out, d)
	}
	return out, nil
}

type policyRow struct {
	Category    string    `db:"category"`
	ReplySecs   int64     `db:"reply_secs"`
	ResolveSecs int64     `db:"resolve_secs"`
	WarnPct     int       `db:"warn_pct"`
	UpdatedBy   string    `db:"updated_by"`
	UpdatedAt   time.Time `db:"updated_at"`
}

func (r policyRow) domain() domain.SLAPolicy {
	return domain.SLAPolicy{Category: domain.Category(r.Category), Reply: time.Duration(r.ReplySecs) * time.Second,
		Resolve: time.Duration(r.ResolveSecs) * time.Second, WarnPct: r.WarnPct, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
}

// policy returns a category's policy, or the default when none is stored.
func policy(ctx context.Context, ext sqlx.QueryerContext, cat domain.Category) (domain.SLAPolicy, error) {
	const q = `SELECT category, reply_secs, resolve_secs, warn_pct, updated_by, updated_at
		FROM complaint_policies WHERE category = $1`
	var r policyRow
	err := sqlx.GetContext(ctx, ext, &r, q, cat)
	if err == sql.ErrNoRows {
		for _, p := range domain.DefaultPolicies() {
			if p.Category == cat {
				return p, nil
			}
		}
		return domain.SLAPolicy{}, fmt.Errorf("store: policy: %w: unknown category %q", domain.ErrInvalid, cat)
	}
	if err != nil {
		return domain.SLAPolicy{}, wrap("policy", err)
	}
	return r.domain(), nil
}

// SetPolicy stores a category's SLA policy. It applies to complaints
// created from now on; existing ones keep their due times.
func (db *DB) SetPolicy(ctx context.Context, p domain.SLAPolicy) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("store: set policy: %w", err)
	}
	const q = `INSERT INTO complaint_policies (category, reply_secs, resolve_secs, warn_pct, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (category) DO UPDATE SET reply_secs = EXCLUDED.reply_secs, resolve_secs = EXCLUDED.resolve_secs,
			warn_pct = EXCLUDED.warn_pct, updated_by = EXCLUDED.updated_by, updated_at = now()`
	_, err := db.x.ExecContext(ctx, q, p.Category, int64(p.Reply/time.Second), int64(p.Resolve/time.Second), p.WarnPct, p.UpdatedBy)
	return wrap("set policy", err)
}

// ComplaintStats summarises the complaints created in [from, to), judged
// at time at: SLA hit rates count only what is decided by then.
func (db *DB) ComplaintStats(ctx context.Context, from, to, at time.Time) (domain.ComplaintStats, error) {
	const q = `SELECT count(*) AS total,
			count(*) FILTER (WHERE first_reply_at <= reply_due_at) AS reply_met,
			count(*) FILTER (WHERE first_reply_at IS NOT NULL OR reply_due_at < $3) AS reply_decided,
			count(*) FILTER (WHERE resolved_at <= resolve_due_at) AS resolve_met,
			count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolve_due_at < $3) AS resolve_decided,
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_reply_at - created_at)), 0) AS reply_median,
			coalesce(avg(extract(epoch FROM first_reply_at - created_at)), 0) AS reply_mean,
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)), 0) AS resolve_median,
			coalesce(avg(extract(epoch FROM resolved_at - created_at)), 0) AS resolve_mean,
			count(*) FILTER (WHERE state <> 'resolved') AS still_open,
			count(*) FILTER (WHERE state <> 'resolved'
				AND (resolve_due_at < $3 OR (first_reply_at IS NULL AND reply_due_at < $3))) AS overdue
		FROM complaints WHERE created_at >= $1 AND created_at < $2`
	var r struct {
		Total          int     `db:"total"`
		ReplyMet       int     `db:"reply_met"`
		ReplyDecided   int     `db:"reply_decided"`
		ResolveMet     int     `db:"resolve_met"`
		ResolveDecided int     `db:"resolve_decided"`
		ReplyMedian    float64 `db:"reply_median"`
		ReplyMean      float64 `db:"reply_mean"`
		ResolveMedian  float64 `db:"resolve_median"`
		ResolveMean    float64 `db:"resolve_mean"`
		Open           int     `db:"still_open"`
		Overdue        int     `db:"overdue"`
	}
	if err := db.x.GetContext(ctx, &r, q, from, to, at); err != nil {
		return domain.ComplaintStats{}, wrap("complaint stats", err)
	}
	const byCat = `SELECT category, count(*) AS n FROM complaints
		WHERE created_at >= $1 AND created_at < $2 GROUP BY category`
	var cats []struct {
		Category string `db:"category"`
		N        int    `db:"n"`
	}
	if err := db.x.SelectContext(ctx, &cats, byCat, from, to); err != nil {
		return domain.ComplaintStats{}, wrap("complaint stats by category", err)
	}
	secs := func(f float64) time.Duration { return time.Duration(f * float64(time.Second)).Round(time.Second) }
	st := domain.ComplaintStats{
		From: from, To: to, Total: r.Total, ByCategory: map[domain.Category]int{},
		ReplyMet: r.ReplyMet, ReplyDecided: r.ReplyDecided, ResolveMet: r.ResolveMet, ResolveDecided: r.ResolveDecided,
		ReplyMedian: secs(r.ReplyMedian), ReplyMean: secs(r.ReplyMean),
		ResolveMedian: secs(r.ResolveMedian), ResolveMean: secs(r.ResolveMean),
		Open: r.Open, Overdue: r.Overdue,
	}
	for _, c := range cats {
		st.ByCategory[domain.Category(c.Category)] = c.N
	}
	return st, nil
}
