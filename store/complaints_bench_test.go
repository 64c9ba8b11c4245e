package store_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// BenchmarkSLASweep1M is issue 5's target: one sla-sweep run over 1,000,000
// complaints of which 10,000 are open takes ≤ 50 ms when nothing is due.
// The "100-due" case shows the cost following what is due.
func BenchmarkSLASweep1M(b *testing.B) { benchSweep(b, 1_000_000) }

// BenchmarkSLASweep5M is the same at 5,000,000 complaints (still 10,000
// open): the figures should match the 1M run. Seeding takes a while, so it
// runs only with OPSBOT_BENCH_5M=1.
func BenchmarkSLASweep5M(b *testing.B) {
	if os.Getenv("OPSBOT_BENCH_5M") == "" {
		b.Skip("set OPSBOT_BENCH_5M=1 to seed 5,000,000 complaints and run it")
	}
	benchSweep(b, 5_000_000)
}

const benchOpen = 10_000

func benchSweep(b *testing.B, total int) {
	ctx := context.Background()
	db := storetest.New(b)
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	start := time.Now()
	seedComplaints(b, db, total, at)
	b.Logf("seeded %d complaints (%d open) in %v", total, benchOpen, time.Since(start).Round(time.Second))

	announce := func(c domain.Complaint, due []domain.SLAEvent) []domain.Outgoing {
		out := make([]domain.Outgoing, 0, len(due))
		for _, e := range due {
			out = append(out, domain.Outgoing{Platform: domain.PlatformSlack, To: "#complaints",
				DedupeKey: e.DedupeKey(c.Number), Content: domain.Content{Text: "SLA warning " + c.Number}})
		}
		return out
	}
	b.Run("nothing-due", func(b *testing.B) {
		for b.Loop() {
			n, err := db.SweepSLA(ctx, at, 200, announce)
			if err != nil || n != 0 {
				b.Fatalf("sweep = %d, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sweep")
	})
	b.Run("100-due", func(b *testing.B) {
		// Make 100 open complaints reach their warning point before each run.
		const reset = `UPDATE complaints SET reply_warn_at = $1, reply_warned_at = NULL, next_sla_at = $1
			WHERE id IN (SELECT id FROM complaints WHERE state = 'open' ORDER BY id LIMIT 100)`
		for b.Loop() {
			b.StopTimer()
			if _, err := db.SQL().ExecContext(ctx, reset, at.Add(-time.Minute)); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			n, err := db.SweepSLA(ctx, at, 200, announce)
			if err != nil || n != 100 {
				b.Fatalf("sweep = %d, %v", n, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sweep")
	})
}

// seedComplaints fills the table in SQL: total complaints over two years,
// the newest benchOpen of them open with their warnings an hour or more
// ahead of at, the rest resolved.
func seedComplaints(b *testing.B, db *store.DB, total int, at time.Time) {
	b.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SET statement_timeout = 0`); err != nil {
		b.Fatal(err)
	}
	const resolved = `INSERT INTO complaints (number, source, openid, category, body, state, assignee, created_by,
			created_at, reply_warn_at, reply_due_at, resolve_warn_at, resolve_due_at, first_reply_at, resolved_at,
			resolved_by, outcome, next_sla_at)
		SELECT 'TS-B-' || g, 'wechat', 'o' || (g % 50000), '商品质量', '杯子碎了', 'resolved', 'U1', 'o' || (g % 50000),
			c, c + interval '18 hours', c + interval '24 hours', c + interval '36 hours', c + interval '48 hours',
			c + interval '2 hours', c + interval '20 hours', 'U1', 'reshipped', NULL
		FROM generate_series(1, $1::int) g, LATERAL (SELECT $2::timestamptz - interval '2 days'
			- (g::float8 / $1::float8) * interval '730 days' AS c) t`
	if _, err := conn.ExecContext(ctx, resolved, total-benchOpen, at); err != nil {
		b.Fatal(err)
	}
	const open = `INSERT INTO complaints (number, source, openid, category, body, state, created_by,
			created_at, reply_warn_at, reply_due_at, resolve_warn_at, resolve_due_at, next_sla_at)
		SELECT 'TS-O-' || g, 'wechat', 'o' || g, '物流', '快递没收到', 'open', 'o' || g,
			c, c + interval '18 hours', c + interval '24 hours', c + interval '36 hours', c + interval '48 hours',
			c + interval '18 hours'
		FROM generate_series(1, $1::int) g, LATERAL (SELECT $2::timestamptz - interval '17 hours'
			+ (g::float8 / $1::float8) * interval '16 hours' AS c) t`
	if _, err := conn.ExecContext(ctx, open, benchOpen, at); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `VACUUM ANALYZE complaints`); err != nil {
		b.Fatal(err)
	}
}
