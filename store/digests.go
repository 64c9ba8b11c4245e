package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/lib/pq"

	"github.com/opsbot/opsbot/domain"
)

// spanDays is how many calendar days of p have begun.
func spanDays(p domain.Period) int {
	return int(math.Ceil(p.To.Sub(p.From).Hours()/24 - 1e-9))
}

func periodBounds(ps []domain.Period) (from, to []time.Time) {
	from, to = make([]time.Time, len(ps)), make([]time.Time, len(ps))
	for i, p := range ps {
		from[i], to[i] = p.From, p.To
	}
	return from, to
}

// Settle is how long after a window closed its totals are taken as final
// and kept in digest_windows: events arriving later than that for it
// (rare: a backfill import of old days) are not seen by digests until the
// kept totals are removed (DELETE FROM digest_windows).
const Settle = 48 * time.Hour

// cachedWindows returns compute's results for ps, taking those of settled
// windows from digest_windows and keeping the newly computed ones there.
func cachedWindows[T any](ctx context.Context, db *DB, kind string, ps []domain.Period,
	compute func(context.Context, []domain.Period) ([]T, error)) ([]T, error) {
	out := make([]T, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	from, to := periodBounds(ps)
	const q = `SELECT w.from_at, w.to_at, w.totals FROM digest_windows w
		JOIN unnest($2::timestamptz[], $3::timestamptz[]) AS r(f, t) ON w.from_at = r.f AND w.to_at = r.t
		WHERE w.kind = $1`
	var rows []struct {
		From   time.Time `db:"from_at"`
		To     time.Time `db:"to_at"`
		Totals []byte    `db:"totals"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, kind, pq.Array(from), pq.Array(to)); err != nil {
		return nil, wrap("cached windows", err)
	}
	key := func(f, t time.Time) [2]int64 { return [2]int64{f.UnixMicro(), t.UnixMicro()} }
	have := make(map[[2]int64][]byte, len(rows))
	for _, r := range rows {
		have[key(r.From, r.To)] = r.Totals
	}
	var missing []domain.Period
	var at []int
	for i, p := range ps {
		if b, ok := have[key(p.From, p.To)]; ok && json.Unmarshal(b, &out[i]) == nil {
			continue
		}
		missing, at = append(missing, p), append(at, i)
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := compute(ctx, missing)
	if err != nil {
		return nil, err
	}
	settled := time.Now().Add(-Settle)
	var keepFrom, keepTo []time.Time
	var keep []string
	for j, i := range at {
		out[i] = got[j]
		if p := missing[j]; !p.To.After(settled) {
			b, err := json.Marshal(got[j])
			if err != nil {
				return nil, fmt.Errorf("store: cached windows: %w", err)
			}
			keepFrom, keepTo, keep = append(keepFrom, p.From), append(keepTo, p.To), append(keep, string(b))
		}
	}
	if len(keep) > 0 {
		const ins = `INSERT INTO digest_windows (kind, from_at, to_at, totals)
			SELECT $1, f, t, j::jsonb FROM unnest($2::timestamptz[], $3::timestamptz[], $4::text[]) AS r(f, t, j)
			ON CONFLICT DO NOTHING`
		if _, err := db.x.ExecContext(ctx, ins, kind, pq.Array(keepFrom), pq.Array(keepTo), pq.Array(keep)); err != nil {
			return nil, wrap("keep windows", err)
		}
	}
	return out, nil
}

// BaselineTotals adds up, for many periods in one round trip each, the
// totals the metrics are computed from: trade, refunds, repeat buyers,
// traffic, complaints (survey follow-up cases are not complaints) and
// survey answers, as ShopTotals adds them up. Each period is a few range scans on
// indexed times, so the cost follows the periods, not the tables. at is
// "now", for SLA deadlines still running. Distinct customers are counted
// under the "C" collation: the same count (equality is byte equality),
// four times faster than sorting by the database's locale.
//
// Windows settled for Settle are kept and read back, not added up again.
func (db *DB) BaselineTotals(ctx context.Context, ps []domain.Period, at time.Time) ([]domain.ShopTotals, error) {
	return cachedWindows(ctx, db, "totals", ps, func(ctx context.Context, ps []domain.Period) ([]domain.ShopTotals, error) {
		// Days go in one statement; weeks and months one statement each,
		// so no statement adds up more than a month.
		var short []domain.Period
		var at0 []int
		out := make([]domain.ShopTotals, len(ps))
		for i, p := range ps {
			if p.To.Sub(p.From) <= 24*time.Hour {
				short, at0 = append(short, p), append(at0, i)
				continue
			}
			t, err := db.baselineTotals(ctx, []domain.Period{p}, at)
			if err != nil {
				return nil, err
			}
			out[i] = t[0]
		}
		if len(short) > 0 {
			t, err := db.baselineTotals(ctx, short, at)
			if err != nil {
				return nil, err
			}
			for j, i := range at0 {
				out[i] = t[j]
			}
		}
		return out, nil
	})
}

func (db *DB) baselineTotals(ctx context.Context, ps []domain.Period, at time.Time) ([]domain.ShopTotals, error) {
	out := make([]domain.ShopTotals, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	from, to := periodBounds(ps)
	days := make([]string, len(ps))
	dayTo := make([]string, len(ps))
	for i, p := range ps {
		out[i].PeriodDays = spanDays(p)
		days[i] = p.From.Format("2006-01-02")
		dayTo[i] = p.From.AddDate(0, 0, out[i].PeriodDays).Format("2006-01-02")
	}
	const q = `SELECT r.i, t.gmv, t.orders, t.customers, rf.n AS refunded, fb.n AS first_buyers, sv.n AS survey_responses, sv.score AS survey_score,
			tr.days, tr.pv, tr.uv, tr.new_users, tr.active_users,
			c.n AS complaints, c.who, c.reply_met, c.reply_decided, c.resolve_met, c.resolve_decided
		FROM unnest($1::timestamptz[], $2::timestamptz[], $3::date[], $4::date[]) WITH ORDINALITY AS r(f, t, df, dt, i)
		CROSS JOIN LATERAL (SELECT coalesce(sum(total), 0) AS gmv, count(*) AS orders, count(DISTINCT customer_id COLLATE "C") AS customers
			FROM orders WHERE paid_at >= r.f AND paid_at < r.t) t
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM orders
			WHERE refunded_at >= r.f AND refunded_at < r.t AND paid_at >= r.f AND paid_at < r.t) rf
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM customers WHERE first_paid_at >= r.f AND first_paid_at < r.t) fb
		CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(score), 0) AS score FROM surveys
			WHERE answered_at >= r.f AND answered_at < r.t) sv
		CROSS JOIN LATERAL (SELECT count(DISTINCT day) AS days, coalesce(sum(pv), 0) AS pv, coalesce(sum(uv), 0) AS uv,
				coalesce(sum(new_users), 0) AS new_users, coalesce(sum(active_users), 0) AS active_users
			FROM traffic WHERE channel = '' AND day >= r.df AND day < r.dt) tr
		CROSS JOIN LATERAL (SELECT count(*) AS n, count(DISTINCT coalesce(nullif(openid, ''), nullif(contact, ''), number) COLLATE "C") AS who,
				count(*) FILTER (WHERE first_reply_at <= reply_due_at) AS reply_met,
				count(*) FILTER (WHERE first_reply_at IS NOT NULL OR reply_due_at < $5) AS reply_decided,
				count(*) FILTER (WHERE resolved_at <= resolve_due_at) AS resolve_met,
				count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolve_due_at < $5) AS resolve_decided
			FROM complaints WHERE created_at >= r.f AND created_at < r.t AND source <> 'survey') c
		ORDER BY r.i`
	rows, err := db.x.QueryxContext(ctx, q, pq.Array(from), pq.Array(to), pq.Array(days), pq.Array(dayTo), at)
	if err != nil {
		return nil, wrap("baseline totals", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var t domain.ShopTotals
		var first int64
		if err := rows.Scan(&i, &t.GMV, &t.Orders, &t.PayingCustomers, &t.RefundedOrders, &first,
			&t.SurveyResponses, &t.SurveyScoreSum,
			&t.TrafficDays, &t.PV, &t.UV, &t.NewUsers, &t.ActiveUsers,
			&t.Complaints, &t.ComplainingCustomers, &t.ReplyMet, &t.ReplyDecided, &t.ResolveMet, &t.ResolveDecided); err != nil {
			return nil, wrap("baseline totals", err)
		}
		t.PeriodDays = out[i-1].PeriodDays
		t.RepeatBuyers = t.PayingCustomers - first // see ShopTotals
		out[i-1] = t
	}
	return out, wrap("baseline totals", rows.Err())
}

// ComplaintExtras counts, for [p.From, p.To), the complaints still open at
// p.To and the SLA deadlines in the period that were missed. Survey
// follow-up cases are not complaints here, as in ShopTotals.
func (db *DB) ComplaintExtras(ctx context.Context, p domain.Period) (domain.ComplaintExtras, error) {
	const q = `SELECT
			(SELECT count(*) FROM complaints WHERE state <> 'resolved' AND created_at < $2 AND source <> 'survey')
			+ (SELECT count(*) FROM complaints WHERE resolved_at >= $2 AND state = 'resolved' AND created_at < $2
				AND source <> 'survey'),
			(SELECT count(*) FROM complaints WHERE reply_due_at >= $1 AND reply_due_at < $2
				AND (first_reply_at IS NULL OR first_reply_at > reply_due_at) AND source <> 'survey')
			+ (SELECT count(*) FROM complaints WHERE resolve_due_at >= $1 AND resolve_due_at < $2
				AND (resolved_at IS NULL OR resolved_at > resolve_due_at) AND source <> 'survey')`
	var x domain.ComplaintExtras
	err := db.x.QueryRowxContext(ctx, q, p.From, p.To).Scan(&x.Open, &x.Breaches)
	return x, wrap("complaint extras", err)
}

// SeriesTotals returns GMV (fen) and paid orders for each period, for
// charts: one index range scan per period, none for settled windows kept
// from before.
func (db *DB) SeriesTotals(ctx context.Context, ps []domain.Period) ([]domain.DayFigure, error) {
	out, err := cachedWindows(ctx, db, "series", ps, db.seriesTotals)
	for i := range out {
		out[i].Day = ps[i].From // in the periods' zone, wherever it came from
	}
	return out, err
}

func (db *DB) seriesTotals(ctx context.Context, ps []domain.Period) ([]domain.DayFigure, error) {
	from, to := periodBounds(ps)
	// LATERAL keeps it one index range scan per period, whatever the
	// planner thinks of a join against the whole table.
	const q = `SELECT r.i, s.gmv, s.orders
		FROM unnest($1::timestamptz[], $2::timestamptz[]) WITH ORDINALITY AS r(f, t, i)
		CROSS JOIN LATERAL (SELECT coalesce(sum(total), 0) AS gmv, count(*) AS orders
			FROM orders WHERE paid_at >= r.f AND paid_at < r.t) s
		ORDER BY r.i`
	var rows []struct {
		I      int   `db:"i"`
		GMV    int64 `db:"gmv"`
		Orders int64 `db:"orders"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, pq.Array(from), pq.Array(to)); err != nil {
		return nil, wrap("series totals", err)
	}
	out := make([]domain.DayFigure, len(ps))
	for i, p := range ps {
		out[i].Day = p.From
	}
	for _, r := range rows {
		out[r.I-1].GMV, out[r.I-1].Orders = r.GMV, r.Orders
	}
	return out, nil
}

// DigestRecord is a digest as posted: what it covered, its figures and
// flags, and the message itself.
type DigestRecord struct {
	Key      string
	Kind     domain.DigestKind
	From, To time.Time
	Cutoff   time.Time
	Figures  domain.Figures
	Flags    []string
	Content  domain.Content
	Channel  string
	PostedBy string
	PostedAt time.Time
}

type figureJSON struct {
	V  float64 `json:"v"`
	OK bool    `json:"ok"`
}

// DigestPosted reports whether the digest under key was posted.
func (db *DB) DigestPosted(ctx context.Context, key string) (bool, error) {
	var ok bool
	err := db.x.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM digests WHERE key = $1)`, key)
	return ok, wrap("digest posted", err)
}

// SaveDigest records a digest as posted and enqueues its messages in the
// same transaction, unless a digest under the same key was posted before:
// then nothing is written and it returns false. That is what makes a
// digest go out once per period however many replicas or re-runs try.
func (db *DB) SaveDigest(ctx context.Context, r DigestRecord, msgs ...domain.Outgoing) (bool, error) {
	figs := make(map[string]figureJSON, len(r.Figures))
	for k, v := range r.Figures {
		figs[k] = figureJSON(v)
	}
	fj, err := json.Marshal(figs)
	if err != nil {
		return false, fmt.Errorf("store: save digest: %w", err)
	}
	flags := r.Flags
	if flags == nil {
		flags = []string{}
	}
	lj, _ := json.Marshal(flags)
	cj, err := json.Marshal(r.Content)
	if err != nil {
		return false, fmt.Errorf("store: save digest: %w", err)
	}
	var saved bool
	err = db.InTx(ctx, func(tx *DB) error {
		const q = `INSERT INTO digests (key, kind, period_from, period_to, cutoff, figures, flags, content, channel, posted_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (key) DO NOTHING RETURNING true`
		err := tx.x.GetContext(ctx, &saved, q, r.Key, r.Kind, r.From, r.To, r.Cutoff, string(fj), string(lj), string(cj), r.Channel, r.PostedBy)
		if errors.Is(err, sql.ErrNoRows) {
			saved = false
			return nil
		}
		if err != nil {
			return wrap("save digest", err)
		}
		return enqueue(ctx, tx.x, msgs)
	})
	return saved, err
}

type digestRow struct {
	Key      string    `db:"key"`
	Kind     string    `db:"kind"`
	From     time.Time `db:"period_from"`
	To       time.Time `db:"period_to"`
	Cutoff   time.Time `db:"cutoff"`
	Figures  []byte    `db:"figures"`
	Flags    []byte    `db:"flags"`
	Content  []byte    `db:"content"`
	Channel  string    `db:"channel"`
	PostedBy string    `db:"posted_by"`
	PostedAt time.Time `db:"posted_at"`
}

func (r digestRow) record() (DigestRecord, error) {
	d := DigestRecord{Key: r.Key, Kind: domain.DigestKind(r.Kind), From: r.From, To: r.To, Cutoff: r.Cutoff,
		Channel: r.Channel, PostedBy: r.PostedBy, PostedAt: r.PostedAt}
	var figs map[string]figureJSON
	if err := json.Unmarshal(r.Figures, &figs); err != nil {
		return d, fmt.Errorf("store: digest %s figures: %w", r.Key, err)
	}
	d.Figures = make(domain.Figures, len(figs))
	for k, v := range figs {
		d.Figures[k] = domain.Value(v)
	}
	if err := json.Unmarshal(r.Flags, &d.Flags); err != nil {
		return d, fmt.Errorf("store: digest %s flags: %w", r.Key, err)
	}
	if err := json.Unmarshal(r.Content, &d.Content); err != nil {
		return d, fmt.Errorf("store: digest %s content: %w", r.Key, err)
	}
	return d, nil
}

const digestCols = `key, kind, period_from, period_to, cutoff, figures, flags, content, channel, posted_by, posted_at`

// Digest returns the digest posted under key; domain.ErrNotFound when none was.
func (db *DB) Digest(ctx context.Context, key string) (DigestRecord, error) {
	var r digestRow
	if err := db.x.GetContext(ctx, &r, `SELECT `+digestCols+` FROM digests WHERE key = $1`, key); err != nil {
		return DigestRecord{}, wrap("digest", err)
	}
	return r.record()
}

// RecentDigests lists the newest digests posted.
func (db *DB) RecentDigests(ctx context.Context, limit int) ([]DigestRecord, error) {
	var rows []digestRow
	if err := db.x.SelectContext(ctx, &rows, `SELECT `+digestCols+` FROM digests ORDER BY posted_at DESC, key LIMIT $1`, limit); err != nil {
		return nil, wrap("recent digests", err)
	}
	out := make([]DigestRecord, 0, len(rows))
	for _, r := range rows {
		d, err := r.record()
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Targets returns the targets managers set.
func (db *DB) Targets(ctx context.Context) ([]domain.Target, error) {
	var rows []struct {
		Metric string  `db:"metric"`
		Period string  `db:"period"`
		Value  float64 `db:"value"`
		Max    bool    `db:"max"`
		SetBy  string  `db:"set_by"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT metric, period, value, max, set_by FROM targets ORDER BY metric, period`); err != nil {
		return nil, wrap("targets", err)
	}
	out := make([]domain.Target, len(rows))
	for i, r := range rows {
		out[i] = domain.Target{Metric: r.Metric, Period: r.Period, Value: r.Value, Max: r.Max, SetBy: r.SetBy}
	}
	return out, nil
}

// SetTarget stores a target, replacing the metric's target for the same period.
func (db *DB) SetTarget(ctx context.Context, t domain.Target) error {
	const q = `INSERT INTO targets (metric, period, value, max, set_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (metric, period) DO UPDATE SET value = EXCLUDED.value, max = EXCLUDED.max,
			set_by = EXCLUDED.set_by, set_at = now()`
	_, err := db.x.ExecContext(ctx, q, t.Metric, t.Period, t.Value, t.Max, t.SetBy)
	return wrap("set target", err)
}

// UnsetTarget removes a target; domain.ErrNotFound when there was none.
func (db *DB) UnsetTarget(ctx context.Context, metric, period string) error {
	res, err := db.x.ExecContext(ctx, `DELETE FROM targets WHERE metric = $1 AND period = $2`, metric, period)
	if err != nil {
		return wrap("unset target", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.ErrNotFound
	}
	return nil
}

// AnomalyRules returns the thresholds set per metric.
func (db *DB) AnomalyRules(ctx context.Context) ([]domain.AnomalyRule, error) {
	var rows []struct {
		Metric    string  `db:"metric"`
		Pct       float64 `db:"pct"`
		MinVolume int64   `db:"min_volume"`
		Volume    string  `db:"volume"`
		SetBy     string  `db:"set_by"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT metric, pct, min_volume, volume, set_by FROM digest_thresholds ORDER BY metric`); err != nil {
		return nil, wrap("anomaly rules", err)
	}
	out := make([]domain.AnomalyRule, len(rows))
	for i, r := range rows {
		out[i] = domain.AnomalyRule{Metric: r.Metric, Pct: r.Pct, MinVolume: r.MinVolume, Volume: r.Volume, SetBy: r.SetBy}
	}
	return out, nil
}

// SetAnomalyRule stores a metric's threshold.
func (db *DB) SetAnomalyRule(ctx context.Context, r domain.AnomalyRule) error {
	const q = `INSERT INTO digest_thresholds (metric, pct, min_volume, volume, set_by) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (metric) DO UPDATE SET pct = EXCLUDED.pct, min_volume = EXCLUDED.min_volume,
			volume = EXCLUDED.volume, set_by = EXCLUDED.set_by, set_at = now()`
	_, err := db.x.ExecContext(ctx, q, r.Metric, r.Pct, r.MinVolume, r.Volume, r.SetBy)
	return wrap("set anomaly rule", err)
}
