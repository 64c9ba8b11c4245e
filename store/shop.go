package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/opsbot/opsbot/domain"
)

// IngestOrderEvents stores a batch of order events in one transaction and
// folds them into their orders. An event whose ID was seen before (or
// earlier in the batch) is a duplicate and changes nothing; dup reports
// which. Events of one order may come in any order: each milestone keeps
// the time it happened, and the order's state is that of its latest event
// (a refund after completion is a refund). each, when set, is called in
// the same transaction for every accepted event, so that what follows from
// it (a survey scheduled) commits with it.
func (db *DB) IngestOrderEvents(ctx context.Context, evs []domain.OrderEvent, demo bool,
	each func(tx *DB, e domain.OrderEvent) error) (dup []bool, err error) {
	dup = make([]bool, len(evs))
	if len(evs) == 0 {
		return dup, nil
	}
	// A second copy of an ID in the same batch is a duplicate whatever the
	// table holds; only first copies are sent.
	var cols eventColumns
	first := make(map[string]bool, len(evs))
	for i, e := range evs {
		if first[e.ID] {
			dup[i] = true
			continue
		}
		first[e.ID] = true
		cols.add(e)
	}
	err = db.InTx(ctx, func(tx *DB) error {
		var ids []string
		if err := tx.x.SelectContext(ctx, &ids, ingestEvents, append(cols.args(), demo)...); err != nil {
			return wrap("ingest order events", err)
		}
		fresh := make(map[string]bool, len(ids))
		for _, id := range ids {
			fresh[id] = true
		}
		for i, e := range evs {
			if !fresh[e.ID] {
				dup[i] = true
			}
			delete(fresh, e.ID) // later copies in the batch stay duplicates
		}
		if each == nil {
			return nil
		}
		for i, e := range evs {
			if !dup[i] {
				if err := each(tx, e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dup, nil
}

// eventColumns is a batch of order events as column arrays, which
// PostgreSQL reads with unnest faster than JSON.
type eventColumns struct {
	id, orderID, typ, customerID, openID, channel []string
	total                                         []int64
	at                                            []time.Time
}

func (c *eventColumns) add(e domain.OrderEvent) {
	c.id, c.orderID, c.typ = append(c.id, e.ID), append(c.orderID, e.OrderID), append(c.typ, string(e.Type))
	c.customerID, c.openID, c.channel = append(c.customerID, e.CustomerID), append(c.openID, e.WeChatOpenID), append(c.channel, e.Channel)
	c.total, c.at = append(c.total, e.Total), append(c.at, e.OccurredAt)
}

func (c *eventColumns) args() []any {
	return []any{pq.Array(c.id), pq.Array(c.orderID), pq.Array(c.typ), pq.Array(c.customerID), pq.Array(c.openID),
		pq.Array(c.channel), pq.Array(c.total), timeArray(c.at)}
}

// timeArray is a timestamptz[] parameter.
func timeArray(ts []time.Time) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.Format(time.RFC3339Nano))
	}
	b.WriteByte('}')
	return b.String()
}

// ingestEvents records a batch of events ($1, unique IDs) and folds the
// ones not seen before into their orders, in one statement: milestones keep
// the earliest time reported, the state follows the latest event, refunds
// add up. It returns the IDs that were new.
const ingestEvents = `WITH e AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
			$8::timestamptz[]) AS e(id, order_id, type, customer_id, wechat_openid, channel, total, occurred_at)),
	ins AS (
		INSERT INTO order_events (id, order_id, type, total, occurred_at, demo)
		SELECT id, order_id, type, total, occurred_at, $9 FROM e
		ON CONFLICT (id) DO NOTHING RETURNING id),
	fresh AS (SELECT e.* FROM e JOIN ins USING (id)),
	agg AS (
		SELECT order_id, max(customer_id) AS customer_id, coalesce(max(nullif(wechat_openid, '')), '') AS wechat_openid,
			coalesce(max(nullif(channel, '')), '') AS channel,
			(array_agg(total ORDER BY occurred_at DESC) FILTER (WHERE type <> 'order.refunded' AND total > 0))[1] AS total,
			coalesce(sum(total) FILTER (WHERE type = 'order.refunded'), 0) AS refunded,
			(array_agg(type ORDER BY occurred_at DESC, type DESC))[1] AS state, max(occurred_at) AS state_at,
			min(occurred_at) FILTER (WHERE type = 'order.created') AS created_at,
			min(occurred_at) FILTER (WHERE type = 'order.paid') AS paid_at,
			min(occurred_at) FILTER (WHERE type = 'order.completed') AS completed_at,
			min(occurred_at) FILTER (WHERE type = 'order.cancelled') AS cancelled_at,
			min(occurred_at) FILTER (WHERE type = 'order.refunded') AS refunded_at
		FROM fresh GROUP BY order_id),
	buyers AS (
		INSERT INTO customers AS c (customer_id, first_paid_at, demo)
		SELECT customer_id, min(paid_at), $9 FROM agg WHERE paid_at IS NOT NULL GROUP BY customer_id
		ON CONFLICT (customer_id) DO UPDATE SET first_paid_at = EXCLUDED.first_paid_at
		WHERE EXCLUDED.first_paid_at < c.first_paid_at),
	fold AS (
	INSERT INTO orders AS o (order_id, customer_id, wechat_openid, channel, total, refunded, state, state_at,
		created_at, paid_at, completed_at, cancelled_at, refunded_at, demo)
	SELECT order_id, customer_id, wechat_openid, channel, coalesce(total, 0), refunded, state, state_at,
		created_at, paid_at, completed_at, cancelled_at, refunded_at, $9
	FROM agg
	ON CONFLICT (order_id) DO UPDATE SET
		wechat_openid = coalesce(nullif(EXCLUDED.wechat_openid, ''), o.wechat_openid),
		channel = coalesce(nullif(EXCLUDED.channel, ''), o.channel),
		total = CASE WHEN EXCLUDED.total > 0 AND (EXCLUDED.state_at >= o.state_at OR o.total = 0) THEN EXCLUDED.total ELSE o.total END,
		refunded = o.refunded + EXCLUDED.refunded,
		state = CASE WHEN EXCLUDED.state_at >= o.state_at THEN EXCLUDED.state ELSE o.state END,
		state_at = greatest(o.state_at, EXCLUDED.state_at),
		created_at = least(o.created_at, EXCLUDED.created_at),
		paid_at = least(o.paid_at, EXCLUDED.paid_at),
		completed_at = least(o.completed_at, EXCLUDED.completed_at),
		cancelled_at = least(o.cancelled_at, EXCLUDED.cancelled_at),
		refunded_at = least(o.refunded_at, EXCLUDED.refunded_at))
	SELECT id FROM ins`

// Order returns one order as its events add up.
func (db *DB) Order(ctx context.Context, id string) (domain.Order, error) {
	const q = `SELECT order_id, customer_id, wechat_openid, channel, total, refunded, state, state_at,
			created_at, paid_at, completed_at, cancelled_at, refunded_at FROM orders WHERE order_id = $1`
	var o domain.Order
	var created, paid, completed, cancelled, refunded *time.Time
	err := db.x.QueryRowxContext(ctx, q, id).Scan(&o.ID, &o.CustomerID, &o.WeChatOpenID, &o.Channel, &o.Total,
		&o.Refunded, &o.State, &o.StateAt, &created, &paid, &completed, &cancelled, &refunded)
	if err != nil {
		return o, wrap("order", err)
	}
	for _, p := range []struct {
		src *time.Time
		dst *time.Time
	}{{created, &o.CreatedAt}, {paid, &o.PaidAt}, {completed, &o.CompletedAt}, {cancelled, &o.CancelledAt}, {refunded, &o.RefundedAt}} {
		if p.src != nil {
			*p.dst = *p.src
		}
	}
	return o, nil
}

// PutTraffic stores daily traffic; a later push for the same date and
// channel replaces the earlier one.
func (db *DB) PutTraffic(ctx context.Context, days []domain.TrafficDay, demo bool) error {
	if len(days) == 0 {
		return nil
	}
	type row struct {
		Day                           string `json:"day"`
		Channel                       string `json:"channel"`
		PV, UV, NewUsers, ActiveUsers int64
	}
	rows := make([]row, len(days))
	for i, d := range days {
		rows[i] = row{Day: d.Date.Format("2006-01-02"), Channel: d.Channel, PV: d.PV, UV: d.UV, NewUsers: d.NewUsers, ActiveUsers: d.ActiveUsers}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("store: traffic: %w", err)
	}
	// The last row for a (day, channel) in the batch wins, as a later push does.
	const q = `INSERT INTO traffic AS t (day, channel, pv, uv, new_users, active_users, demo)
		SELECT DISTINCT ON (day, channel) day, channel, "PV", "UV", "NewUsers", "ActiveUsers", $2
		FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (day date, channel text, "PV" bigint, "UV" bigint,
			"NewUsers" bigint, "ActiveUsers" bigint)) WITH ORDINALITY AS r(day, channel, "PV", "UV", "NewUsers", "ActiveUsers", ord)
		ORDER BY day, channel, ord DESC
		ON CONFLICT (day, channel) DO UPDATE SET pv = EXCLUDED.pv, uv = EXCLUDED.uv, new_users = EXCLUDED.new_users,
			active_users = EXCLUDED.active_users, updated_at = now(), demo = EXCLUDED.demo`
	_, err = db.x.ExecContext(ctx, q, string(doc), demo)
	return wrap("put traffic", err)
}

// HasRealOrders reports whether any order not written by `opsbot demo` exists.
func (db *DB) HasRealOrders(ctx context.Context) (bool, error) {
	var ok bool
	err := db.x.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM orders WHERE NOT demo)`)
	return ok, wrap("real orders", err)
}

// CalendarOverrides returns the days admins set.
func (db *DB) CalendarOverrides(ctx context.Context, loc *time.Location) ([]domain.CalendarDay, error) {
	var rows []struct {
		Day     string `db:"day"`
		Working bool   `db:"working"`
		Name    string `db:"name"`
		SetBy   string `db:"set_by"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT to_char(day, 'YYYY-MM-DD') AS day, working, name, set_by FROM calendar_days ORDER BY day`); err != nil {
		return nil, wrap("calendar overrides", err)
	}
	out := make([]domain.CalendarDay, 0, len(rows))
	for _, r := range rows {
		t, err := time.ParseInLocation("2006-01-02", r.Day, loc)
		if err != nil {
			return nil, err
		}
		out = append(out, domain.CalendarDay{Date: t, Working: r.Working, Name: r.Name, Source: r.SetBy})
	}
	return out, nil
}

// SetCalendarDay records an admin's correction to the calendar.
func (db *DB) SetCalendarDay(ctx context.Context, d domain.CalendarDay) error {
	const q = `INSERT INTO calendar_days (day, working, name, set_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT (day) DO UPDATE SET working = EXCLUDED.working, name = EXCLUDED.name, set_by = EXCLUDED.set_by, set_at = now()`
	_, err := db.x.ExecContext(ctx, q, d.Date.Format("2006-01-02"), d.Working, d.Name, d.Source)
	return wrap("set calendar day", err)
}

// UnsetCalendarDay removes an admin's correction; ErrNotFound when there
// was none.
func (db *DB) UnsetCalendarDay(ctx context.Context, day time.Time) error {
	res, err := db.x.ExecContext(ctx, `DELETE FROM calendar_days WHERE day = $1`, day.Format("2006-01-02"))
	if err != nil {
		return wrap("unset calendar day", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	return nil
}

// DemoFollowers writes demo WeChat followers prefix00001…: most followed,
// every 50th unfollowed, every 7th wrote within the last 40 hours (its
// 48-hour window open); every 5th customer has no WeChat.
func (db *DB) DemoFollowers(ctx context.Context, prefix string, customers int, now time.Time) (int64, error) {
	const q = `INSERT INTO wechat_followers (openid, subscribed, subscribed_at, last_inbound_at, allowance)
		SELECT $1 || lpad(i::text, 5, '0'), i % 50 <> 0, $2::timestamptz - (i % 300) * interval '1 day',
			CASE WHEN i % 7 = 0 THEN $2::timestamptz - (i % 40) * interval '1 hour' END, 5
		FROM generate_series(0, $3 - 1) AS i WHERE i % 5 <> 0
		ON CONFLICT (openid) DO NOTHING`
	res, err := db.x.ExecContext(ctx, q, prefix, now, customers)
	if err != nil {
		return 0, wrap("demo followers", err)
	}
	return res.RowsAffected()
}

// RemoveDemo deletes every row `opsbot demo` wrote: rows marked demo, and
// complaints and followers of the demo customers (OpenIDs with prefix).
func (db *DB) RemoveDemo(ctx context.Context, prefix string) (int64, error) {
	var total int64
	err := db.InTx(ctx, func(tx *DB) error {
		for _, q := range []string{
			`DELETE FROM order_events WHERE demo`,
			`DELETE FROM orders WHERE demo`,
			`DELETE FROM customers WHERE demo`,
			`DELETE FROM traffic WHERE demo`,
			`DELETE FROM complaints WHERE openid LIKE $1 || '%'`,
			`DELETE FROM wechat_followers WHERE openid LIKE $1 || '%'`,
		} {
			var res sql.Result
			var err error
			if strings.Contains(q, "$1") {
				res, err = tx.x.ExecContext(ctx, q, prefix)
			} else {
				res, err = tx.x.ExecContext(ctx, q)
			}
			if err != nil {
				return wrap("remove demo", err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}
