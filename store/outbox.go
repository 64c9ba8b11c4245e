package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsbot/opsbot/domain"
)

// Enqueue writes outgoing messages to the outbox on their own. Changes that
// cause messages pass them to the store method making the change instead,
// which enqueues them in its own transaction.
func (db *DB) Enqueue(ctx context.Context, msgs ...domain.Outgoing) error {
	return db.InTx(ctx, func(tx *DB) error { return enqueue(ctx, tx.x, msgs) })
}

// enqueue inserts msgs through ext, the caller's transaction, in one
// statement however many there are: the batch travels as one JSON array
// and is expanded by the server, in order. A message whose DedupeKey was
// seen before (or earlier in the same batch) is dropped silently: that is
// what makes a warning be sent once however often the job that decides it
// runs.
func enqueue(ctx context.Context, ext sqlx.ExtContext, msgs []domain.Outgoing) error {
	if len(msgs) == 0 {
		return nil
	}
	rows := make([]enqueueRow, len(msgs))
	for i, m := range msgs {
		if m.Platform == "" || m.To == "" {
			return domain.Invalidf("store: enqueue: message needs a platform and a recipient")
		}
		kind := m.Kind
		if kind == "" {
			kind = domain.OutPost
		}
		rows[i] = enqueueRow{Platform: m.Platform, Kind: kind, To: m.To, Ref: m.Ref, ThreadRef: m.ThreadRef,
			Template: m.Template, Content: m.Content, Attachment: m.Attachment, DedupeKey: m.DedupeKey,
			Purpose: m.Purpose, Batch: m.Batch}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("store: enqueue: %w", err)
	}
	const q = `INSERT INTO outbox (platform, kind, recipient, ref, thread_ref, template, content, attachment,
			dedupe_key, purpose, batch)
		SELECT m.platform, m.kind, m.recipient, m.ref, m.thread_ref, m.template, m.content,
			nullif(m.attachment, 'null'::jsonb), nullif(m.dedupe_key, ''), m.purpose, m.batch
		FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (platform text, kind text, recipient text, ref text,
			thread_ref text, template text, content jsonb, attachment jsonb, dedupe_key text, purpose text, batch text))
			WITH ORDINALITY AS m(platform, kind, recipient, ref, thread_ref, template, content, attachment,
				dedupe_key, purpose, batch, ord)
		ORDER BY m.ord
		ON CONFLICT (dedupe_key) DO NOTHING`
	_, err = ext.ExecContext(ctx, q, string(doc))
	return wrap("enqueue", err)
}

// enqueueRow is one message as enqueue sends it to the server.
type enqueueRow struct {
	Platform   domain.Platform    `json:"platform"`
	Kind       domain.OutKind     `json:"kind"`
	To         string             `json:"recipient"`
	Ref        string             `json:"ref"`
	ThreadRef  string             `json:"thread_ref"`
	Template   string             `json:"template"`
	Content    domain.Content     `json:"content"`
	Attachment *domain.Attachment `json:"attachment"`
	DedupeKey  string             `json:"dedupe_key"`
	Purpose    domain.Purpose     `json:"purpose"`
	Batch      string             `json:"batch"`
}

type outboxRow struct {
	ID            int64          `db:"id"`
	Platform      string         `db:"platform"`
	Kind          string         `db:"kind"`
	Recipient     string         `db:"recipient"`
	Ref           string         `db:"ref"`
	ThreadRef     string         `db:"thread_ref"`
	Template      string         `db:"template"`
	Content       []byte         `db:"content"`
	Attachment    []byte         `db:"attachment"`
	DedupeKey     sql.NullString `db:"dedupe_key"`
	Purpose       string         `db:"purpose"`
	Batch         string         `db:"batch"`
	State         string         `db:"state"`
	Attempts      int            `db:"attempts"`
	NextAttemptAt time.Time      `db:"next_attempt_at"`
	LastError     string         `db:"last_error"`
	CreatedAt     time.Time      `db:"created_at"`
	SentAt        sql.NullTime   `db:"sent_at"`
	ThreadChannel string         `db:"thread_channel"`
	ThreadTS      string         `db:"thread_ts"`
	RefChannel    string         `db:"ref_channel"`
	RefTS         string         `db:"ref_ts"`
}

func (r outboxRow) domain() (domain.OutboxItem, error) {
	it := domain.OutboxItem{
		Outgoing: domain.Outgoing{
			ID: r.ID, Platform: domain.Platform(r.Platform), Kind: domain.OutKind(r.Kind), To: r.Recipient,
			Ref: r.Ref, ThreadRef: r.ThreadRef, Template: r.Template, DedupeKey: r.DedupeKey.String,
			Purpose: domain.Purpose(r.Purpose), Batch: r.Batch,
		},
		State: domain.OutboxState(r.State), Attempts: r.Attempts, NextAttempt: r.NextAttemptAt,
		LastError: r.LastError, CreatedAt: r.CreatedAt, SentAt: r.SentAt.Time,
		ThreadChannel: r.ThreadChannel, ThreadTS: r.ThreadTS, RefChannel: r.RefChannel, RefTS: r.RefTS,
	}
	if err := json.Unmarshal(r.Content, &it.Content); err != nil {
		return it, fmt.Errorf("store: outbox %d content: %w", r.ID, err)
	}
	if len(r.Attachment) > 0 {
		it.Attachment = new(domain.Attachment)
		if err := json.Unmarshal(r.Attachment, it.Attachment); err != nil {
			return it, fmt.Errorf("store: outbox %d attachment: %w", r.ID, err)
		}
	}
	return it, nil
}

const outboxCols = `o.id, o.platform, o.kind, o.recipient, o.ref, o.thread_ref, o.template, o.content,
	o.attachment, o.dedupe_key, o.purpose, o.batch, o.state, o.attempts, o.next_attempt_at, o.last_error, o.created_at, o.sent_at`

// ClaimOutbox leases up to limit due messages for delivery. Claimed rows are
// skipped by every other dispatcher until the lease ends; a dispatcher that
// dies mid-delivery loses its lease and the message is delivered again, so
// delivery is at least once. Thread parents and update targets are
// resolved from message_refs.
func (db *DB) ClaimOutbox(ctx context.Context, limit int, lease time.Duration) ([]domain.OutboxItem, error) {
	const q = `WITH c AS (
			SELECT o.id,
				coalesce(t.channel, '') AS thread_channel, coalesce(t.ts, '') AS thread_ts,
				coalesce(u.channel, '') AS ref_channel, coalesce(u.ts, '') AS ref_ts
			FROM outbox o
			LEFT JOIN message_refs t ON o.thread_ref <> '' AND t.ref = o.thread_ref
			LEFT JOIN message_refs u ON o.kind = 'update' AND u.ref = o.ref
			WHERE o.state = 'pending' AND o.next_attempt_at <= now()
				AND (o.locked_until IS NULL OR o.locked_until < now())
			ORDER BY o.next_attempt_at, o.id
			LIMIT $1
			FOR UPDATE OF o SKIP LOCKED)
		UPDATE outbox o SET locked_until = now() + make_interval(secs => $2), attempts = o.attempts + 1,
			claimed_by = $3
		FROM c WHERE o.id = c.id
		RETURNING ` + outboxCols + `, c.thread_channel, c.thread_ts, c.ref_channel, c.ref_ts`
	var rows []outboxRow
	if err := db.x.SelectContext(ctx, &rows, q, limit, lease.Seconds(), db.owner); err != nil {
		return nil, wrap("claim outbox", err)
	}
	out := make([]domain.OutboxItem, 0, len(rows))
	for _, r := range rows {
		it, err := r.domain()
		if err != nil {
			// A row that cannot be decoded can never be sent: fail it
			// rather than block the queue.
			_ = db.FailOutbox(ctx, r.ID, err.Error())
			continue
		}
		out = append(out, it)
	}
	// Oldest first, so messages to one place keep their order.
	slices.SortFunc(out, func(a, b domain.OutboxItem) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// ReleaseOrphanedClaims hands back, at once, the messages claimed by
// processes that dead says are gone (a crashed predecessor on this host),
// rather than leaving them until their leases run out. A claim of a live
// holder is never touched, so this is safe with any number of replicas.
func (db *DB) ReleaseOrphanedClaims(ctx context.Context, dead func(owner string) bool) (int64, error) {
	const q = `SELECT DISTINCT claimed_by FROM outbox
		WHERE state = 'pending' AND locked_until > now() AND claimed_by <> '' AND claimed_by <> $1`
	var owners []string
	if err := db.x.SelectContext(ctx, &owners, q, db.owner); err != nil {
		return 0, wrap("orphaned claims", err)
	}
	var released int64
	for _, o := range owners {
		if !dead(o) {
			continue
		}
		const u = `UPDATE outbox SET locked_until = NULL WHERE state = 'pending' AND claimed_by = $1`
		res, err := db.x.ExecContext(ctx, u, o)
		if err != nil {
			return released, wrap("release claims", err)
		}
		n, _ := res.RowsAffected()
		released += n
	}
	return released, nil
}

// MarkSent records a delivery, and remembers where a named message landed.
func (db *DB) MarkSent(ctx context.Context, it domain.OutboxItem, d domain.Delivery) error {
	return db.InTx(ctx, func(tx *DB) error {
		const q = `UPDATE outbox SET state = 'sent', sent_at = now(), locked_until = NULL, last_error = '',
			sent_channel = $2, sent_ts = $3 WHERE id = $1`
		if _, err := tx.x.ExecContext(ctx, q, it.ID, d.Channel, d.TS); err != nil {
			return wrap("mark sent", err)
		}
		if it.Ref == "" || it.Kind == domain.OutUpdate || d.TS == "" {
			return nil
		}
		const r = `INSERT INTO message_refs (ref, platform, channel, ts) VALUES ($1, $2, $3, $4)
			ON CONFLICT (ref) DO UPDATE SET channel = EXCLUDED.channel, ts = EXCLUDED.ts`
		_, err := tx.x.ExecContext(ctx, r, it.Ref, it.Platform, d.Channel, d.TS)
		return wrap("save message ref", err)
	})
}

// RetryOutbox schedules another attempt at the given time.
func (db *DB) RetryOutbox(ctx context.Context, id int64, at time.Time, reason string) error {
	const q = `UPDATE outbox SET next_attempt_at = $2, locked_until = NULL, last_error = $3 WHERE id = $1`
	_, err := db.x.ExecContext(ctx, q, id, at, reason)
	return wrap("retry outbox", err)
}

// DeferRecipient holds back every pending message for one recipient until
// at least the given time: a rate limit applies to all of them.
func (db *DB) DeferRecipient(ctx context.Context, platform domain.Platform, to string, until time.Time) error {
	const q = `UPDATE outbox SET next_attempt_at = $3
		WHERE state = 'pending' AND platform = $1 AND recipient = $2 AND next_attempt_at < $3`
	_, err := db.x.ExecContext(ctx, q, platform, to, until)
	return wrap("defer recipient", err)
}

// FailOutbox records a permanent failure with its reason.
func (db *DB) FailOutbox(ctx context.Context, id int64, reason string) error {
	const q = `UPDATE outbox SET state = 'failed', locked_until = NULL, last_error = $2 WHERE id = $1`
	_, err := db.x.ExecContext(ctx, q, id, reason)
	return wrap("fail outbox", err)
}

// MarkUnreachable records that a message's recipient cannot be reached
// (a permanent failure, counted apart from errors).
func (db *DB) MarkUnreachable(ctx context.Context, id int64, reason string) error {
	const q = `UPDATE outbox SET state = 'failed', unreachable = true, locked_until = NULL, last_error = $2 WHERE id = $1`
	_, err := db.x.ExecContext(ctx, q, id, reason)
	return wrap("mark unreachable", err)
}

// BatchTally counts how the messages of a broadcast went.
func (db *DB) BatchTally(ctx context.Context, batch string) (domain.Tally, error) {
	const q = `SELECT count(*) FILTER (WHERE state = 'sent') AS sent,
			count(*) FILTER (WHERE state = 'failed' AND unreachable) AS unreachable,
			count(*) FILTER (WHERE state = 'failed' AND NOT unreachable) AS failed,
			count(*) FILTER (WHERE state = 'pending') AS pending
		FROM outbox WHERE batch = $1 AND batch <> ''`
	var t domain.Tally
	err := db.x.QueryRowxContext(ctx, q, batch).Scan(&t.Sent, &t.Unreachable, &t.Failed, &t.Pending)
	return t, wrap("batch tally", err)
}

// UnreachableCount counts the customers who could not be reached with
// messages of purpose created in [from, to).
func (db *DB) UnreachableCount(ctx context.Context, purpose domain.Purpose, from, to time.Time) (int, error) {
	const q = `SELECT count(DISTINCT recipient) FROM outbox
		WHERE unreachable AND purpose = $1 AND created_at >= $2 AND created_at < $3`
	var n int
	err := db.x.GetContext(ctx, &n, q, purpose, from, to)
	return n, wrap("unreachable count", err)
}

// OutboxStats counts pending and failed messages, for /metrics.
func (db *DB) OutboxStats(ctx context.Context) (pending, failed int, err error) {
	const q = `SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed')
		FROM outbox WHERE state <> 'sent'`
	row := db.x.QueryRowxContext(ctx, q)
	if err := row.Scan(&pending, &failed); err != nil {
		return 0, 0, wrap("outbox stats", err)
	}
	return pending, failed, nil
}

// FailedOutbox lists the newest permanent failures.
func (db *DB) FailedOutbox(ctx context.Context, limit int) ([]domain.OutboxItem, error) {
	q := `SELECT ` + outboxCols + `, '' AS thread_channel, '' AS thread_ts, '' AS ref_channel, '' AS ref_ts
		FROM outbox o WHERE o.state = 'failed' ORDER BY o.id DESC LIMIT $1`
	return db.selectOutbox(ctx, q, limit)
}

// Outbox returns one message.
func (db *DB) Outbox(ctx context.Context, id int64) (domain.OutboxItem, error) {
	q := `SELECT ` + outboxCols + `, '' AS thread_channel, '' AS thread_ts, '' AS ref_channel, '' AS ref_ts
		FROM outbox o WHERE o.id = $1`
	items, err := db.selectOutbox(ctx, q, id)
	if err != nil {
		return domain.OutboxItem{}, err
	}
	if len(items) == 0 {
		return domain.OutboxItem{}, domain.ErrNotFound
	}
	return items[0], nil
}

func (db *DB) selectOutbox(ctx context.Context, q string, args ...any) ([]domain.OutboxItem, error) {
	var rows []outboxRow
	if err := db.x.SelectContext(ctx, &rows, q, args...); err != nil {
		return nil, wrap("select outbox", err)
	}
	out := make([]domain.OutboxItem, 0, len(rows))
	for _, r := range rows {
		it, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// MessageRef returns where a named message landed.
func (db *DB) MessageRef(ctx context.Context, ref string) (domain.Delivery, error) {
	const q = `SELECT channel, ts FROM message_refs WHERE ref = $1`
	var d struct {
		Channel string `db:"channel"`
		TS      string `db:"ts"`
	}
	if err := db.x.GetContext(ctx, &d, q, ref); err != nil {
		return domain.Delivery{}, wrap("message ref", err)
	}
	return domain.Delivery{Channel: d.Channel, TS: d.TS}, nil
}

// RefAt returns the name of the message at (channel, ts), to trace a reply
// in a thread back to what the thread is about.
func (db *DB) RefAt(ctx context.Context, platform domain.Platform, channel, ts string) (string, error) {
	const q = `SELECT ref FROM message_refs WHERE platform = $1 AND channel = $2 AND ts = $3 LIMIT 1`
	var ref string
	if err := db.x.GetContext(ctx, &ref, q, platform, channel, ts); err != nil {
		return "", wrap("ref at", err)
	}
	return ref, nil
}
