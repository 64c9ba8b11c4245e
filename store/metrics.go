package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// ShopTotals adds up what the metrics of [from, to) are computed from, in
// a few range scans on indexed times: the cost follows the period, not the
// size of the tables. at is "now", for SLA deadlines still running.
func (db *DB) ShopTotals(ctx context.Context, p domain.Period, at time.Time) (domain.ShopTotals, error) {
	t := domain.ShopTotals{PeriodDays: p.Days()}
	// A period still running needs traffic only for the days that began.
	if end := domain.Midnight(at, p.From.Location()).AddDate(0, 0, 1); end.Before(p.To) {
		t.PeriodDays = int(end.Sub(p.From).Round(24*time.Hour) / (24 * time.Hour))
	}
	// Distinct customers are counted under the "C" collation: the same
	// count (equality is byte equality), several times faster than sorting
	// by the database's locale.
	const trade = `SELECT coalesce(sum(total), 0), count(*), count(DISTINCT customer_id COLLATE "C")
		FROM orders WHERE paid_at >= $1 AND paid_at < $2`
	const refunds = `SELECT count(*) FROM orders
		WHERE refunded_at >= $1 AND refunded_at < $2 AND paid_at >= $1 AND paid_at < $2`
	// Repeat buyers are the paying customers whose first payment ever was
	// before the period: all of them but those who first paid in it.
	const firstBuyers = `SELECT count(*) FROM customers WHERE first_paid_at >= $1 AND first_paid_at < $2`
	err := db.InTx(ctx, func(tx *DB) error {
		// A month of a busy shop has hundreds of thousands of customers
		// to sort: enough memory keeps the sort off disk.
		if _, err := tx.x.ExecContext(ctx, `SET LOCAL work_mem = '64MB'`); err != nil {
			return wrap("metrics work_mem", err)
		}
		if err := tx.x.QueryRowxContext(ctx, trade, p.From, p.To).Scan(&t.GMV, &t.Orders, &t.PayingCustomers); err != nil {
			return wrap("trade totals", err)
		}
		if err := tx.x.GetContext(ctx, &t.RefundedOrders, refunds, p.From, p.To); err != nil {
			return wrap("refund totals", err)
		}
		var first int64
		if err := tx.x.GetContext(ctx, &first, firstBuyers, p.From, p.To); err != nil {
			return wrap("first buyers", err)
		}
		t.RepeatBuyers = t.PayingCustomers - first
		return nil
	})
	if err != nil {
		return t, err
	}
	const traffic = `SELECT count(DISTINCT day), coalesce(sum(pv), 0), coalesce(sum(uv), 0),
			coalesce(sum(new_users), 0), coalesce(sum(active_users), 0)
		FROM traffic WHERE channel = '' AND day >= $1::date AND day < $2::date`
	from, to := p.From.Format("2006-01-02"), p.To.Format("2006-01-02")
	if err := db.x.QueryRowxContext(ctx, traffic, from, to).Scan(&t.TrafficDays, &t.PV, &t.UV, &t.NewUsers, &t.ActiveUsers); err != nil {
		return t, wrap("traffic totals", err)
	}
	const complaints = `SELECT count(*), count(DISTINCT coalesce(nullif(openid, ''), nullif(contact, ''), number)),
			count(*) FILTER (WHERE first_reply_at <= reply_due_at),
			count(*) FILTER (WHERE first_reply_at IS NOT NULL OR reply_due_at < $3),
			count(*) FILTER (WHERE resolved_at <= resolve_due_at),
			count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolve_due_at < $3)
		FROM complaints WHERE created_at >= $1 AND created_at < $2 AND source <> 'survey'`
	if err := db.x.QueryRowxContext(ctx, complaints, p.From, p.To, at).Scan(&t.Complaints, &t.ComplainingCustomers,
		&t.ReplyMet, &t.ReplyDecided, &t.ResolveMet, &t.ResolveDecided); err != nil {
		return t, wrap("complaint totals", err)
	}
	if err := surveyTotals(ctx, db.x, p, &t); err != nil {
		return t, err
	}
	return t, nil
}

// ShopTotalsEach adds up the totals of several periods at once, each on
// its own connection: a period and the one before cost the time of one
// when the database has the cores. Bound to a transaction (a dry run), it
// adds them up one after the other on that transaction.
func (db *DB) ShopTotalsEach(ctx context.Context, ps []domain.Period, at time.Time) ([]domain.ShopTotals, error) {
	out := make([]domain.ShopTotals, len(ps))
	errs := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, p := range ps {
		if db.tx != nil {
			out[i], errs[i] = db.ShopTotals(ctx, p, at)
			continue
		}
		wg.Go(func() { out[i], errs[i] = db.ShopTotals(ctx, p, at) })
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// DailySeries returns GMV (fen) and paid orders per day of [from, to), for
// charts; days without orders are zero.
func (db *DB) DailySeries(ctx context.Context, p domain.Period) ([]domain.DayFigure, error) {
	const q = `SELECT to_char(d, 'YYYY-MM-DD') AS day, coalesce(sum(o.total), 0) AS gmv, count(o.order_id) AS orders
		FROM generate_series($1::timestamptz, $2::timestamptz - interval '1 day', interval '1 day') AS d
		LEFT JOIN orders o ON o.paid_at >= d AND o.paid_at < d + interval '1 day'
		GROUP BY d ORDER BY d`
	var rows []struct {
		Day    string `db:"day"`
		GMV    int64  `db:"gmv"`
		Orders int64  `db:"orders"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, p.From, p.To); err != nil {
		return nil, wrap("daily series", err)
	}
	out := make([]domain.DayFigure, len(rows))
	for i, r := range rows {
		d, _ := time.ParseInLocation("2006-01-02", r.Day, p.From.Location())
		out[i] = domain.DayFigure{Day: d, GMV: r.GMV, Orders: r.Orders}
	}
	return out, nil
}
