package digests_test

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/digests"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// BenchmarkDigest10M builds digests over 10,000,000 orders (a year of a
// busy shop: about 27,000 a day, 2,000,000 customers, 5 % refunded) with
// a year of traffic. Targets: the daily digest ≤ 300 ms, the monthly
// ≤ 1.5 s with its chart; the chart alone ≤ 150 ms, ≤ 40 MB allocated,
// PNG ≤ 200 KB. Run with:
//
//	go test -run '^$' -bench Digest10M -benchtime 5x ./handlers/digests
func BenchmarkDigest10M(b *testing.B) {
	ctx := context.Background()
	var db *store.DB
	if u := os.Getenv("OPSBOT_BENCH_DIGEST_URL"); u != "" {
		var err error
		if db, err = store.Open(ctx, u, store.Options{MaxOpenConns: 20}); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
	} else {
		db = storetest.New(b)
	}
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, shanghai)
	end := now
	start := end.AddDate(-1, 0, 0)
	const n = 10_000_000
	var have int
	if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have != n {
		seed(b, db, start, end, n)
	}
	clock := handlers.Clock{Loc: shanghai, Now: func() time.Time { return now }}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("OPSBOT_BENCH_TRACE") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h := digests.New(db, clock, handlers.Channels{Managers: "#managers"}, log, digests.Options{})

	// cold: every build adds up every window again (no digest_windows
	// kept), as the first digest after a release; warm: the settled days
	// kept by the builds before, as every scheduled run after the first.
	// forget: which kept windows each build starts without.
	run := func(kind domain.DigestKind, ref time.Time, forget string) func(b *testing.B) {
		return func(b *testing.B) {
			var d *digests.Digest
			for b.Loop() {
				if forget != "" {
					b.StopTimer()
					if _, err := db.SQL().ExecContext(ctx, `DELETE FROM digest_windows WHERE `+forget); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				var err error
				if d, err = h.Build(ctx, kind, ref, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/digest")
			b.Logf("%s: GMV %s, orders %.0f, %d flag(s), chart %d bytes", d.Content.Title,
				strings.SplitN(d.Content.Fields[0].Value, "\n", 2)[0], d.Figures["orders"].V, len(d.Flags()), len(d.Chart.PNG))
		}
	}
	lastMonth := domain.Month(now.AddDate(0, -1, 0), shanghai)
	b.Run("daily-cold", run(domain.DigestDaily, now, "true"))
	b.Run("daily", run(domain.DigestDaily, now, ""))
	b.Run("weekly", run(domain.DigestWeekly, now.AddDate(0, 0, -7), ""))
	b.Run("monthly-cold", run(domain.DigestMonthly, lastMonth.From, "true"))
	// As the job on the 1st: last month's windows are new, the months
	// before were kept by earlier digests.
	b.Run("monthly-on-the-1st", run(domain.DigestMonthly, lastMonth.From,
		"to_at > '"+lastMonth.From.Format(time.RFC3339)+"'"))
	b.Run("monthly", run(domain.DigestMonthly, lastMonth.From, ""))
}

// seed writes n orders evenly over [start, end) and a day of traffic for
// every day, in one session with no statement timeout.
func seed(b *testing.B, db *store.DB, start, end time.Time, n int) {
	ctx := context.Background()
	t0 := time.Now()
	step := end.Sub(start).Seconds() / float64(n)
	conn, err := db.SQL().Conn(ctx) // one session, with no statement timeout
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`SET synchronous_commit = off`, nil},
		{`SET statement_timeout = 0`, nil},
		{`TRUNCATE orders, traffic`, nil},
		{`INSERT INTO orders (order_id, customer_id, total, state, state_at, created_at, paid_at, refunded_at)
			SELECT 'B' || i, 'c' || (i * 7919 % 2000000), 5000 + (i * 37 % 30000), 'order.paid', ts, ts, ts,
				CASE WHEN i % 20 = 0 THEN ts + interval '2 days' END
			FROM generate_series(0::bigint, $3 - 1) AS i, LATERAL (SELECT $1::timestamptz + i * $2::float8 * interval '1 second') AS x(ts)`,
			[]any{start, step, n}},
		{`INSERT INTO traffic (day, pv, uv, new_users, active_users)
			SELECT d::date, 4000000, 900000, 90000, 600000 FROM generate_series($1::timestamptz, $2::timestamptz, interval '1 day') AS d`,
			[]any{start, end}},
		{`ANALYZE orders`, nil},
		{`ANALYZE traffic`, nil},
	} {
		if _, err := conn.ExecContext(ctx, st.q, st.args...); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d orders in %s", n, time.Since(t0).Round(time.Second))
}

// BenchmarkChart renders the daily digest's chart (30 days) and reports
// the PNG's size and the memory it took.
func BenchmarkChart(b *testing.B) {
	pts := make([]domain.DayFigure, 30)
	for i := range pts {
		pts[i] = domain.DayFigure{Day: time.Date(2026, 11, 5+i, 0, 0, 0, 0, shanghai), GMV: int64(2_500_000_00 + i*7_000_00), Orders: int64(25000 + i*77)}
	}
	var size int
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		c, err := digests.RenderChart(domain.DigestDaily, pts)
		if err != nil {
			b.Fatal(err)
		}
		size = len(c.PNG)
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(size)/1024, "KB/png")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/(1<<20), "MB-alloc/chart")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/chart")
}
