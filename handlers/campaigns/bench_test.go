package campaigns

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// benchAt is when the benchmarks run the job.
var benchAt = time.Date(2026, 11, 25, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

func benchFeature(db *store.DB) *Campaigns {
	loc, _ := time.LoadLocation("Asia/Shanghai")
	clock := handlers.Clock{Loc: loc, Now: func() time.Time { return benchAt }}
	return New(db, clock, handlers.Channels{Campaigns: "#campaigns"}, slog.New(slog.DiscardHandler))
}

// seedCampaigns inserts n campaigns of 12 items each, all due far ahead
// except `due` items whose early reminder is due at benchAt.
func seedCampaigns(b *testing.B, db *store.DB, n, due int) {
	ctx := context.Background()
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO campaigns (name, template, start_at, end_at, target, owner)
		SELECT 'c' || i, 'major', $2::timestamptz + interval '60 days', $2::timestamptz + interval '61 days', 100000, 'UOWNER' || (i % 50)
		FROM generate_series(1, $1) AS i`, n, benchAt)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO campaign_items (campaign_id, position, title, offset_days, owner,
			due_at, remind_early_at, remind_day_at, next_check_at)
		SELECT c.id, p, 'item ' || p, -p, 'U' || (c.id % 97), $1::timestamptz + interval '50 days',
			$1::timestamptz + interval '48 days', $1::timestamptz + interval '50 days', $1::timestamptz + interval '48 days'
		FROM campaigns c, generate_series(1, 12) AS p`, benchAt)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, `UPDATE campaign_items SET remind_early_at = $1, next_check_at = $1,
			due_at = $1::timestamptz + interval '2 days', remind_day_at = $1::timestamptz + interval '2 days'
		WHERE id IN (SELECT id FROM campaign_items ORDER BY id DESC LIMIT $2)`, benchAt, due)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE campaign_items; ANALYZE campaigns`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRemind runs campaign-remind over 1,000 and 10,000 campaigns of
// 12 items each, 100 items due: its cost follows what is due, not the
// table. Target: ≤ 50 ms at 10,000 campaigns.
func BenchmarkRemind(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("campaigns=%d", n), func(b *testing.B) {
			const due = 100
			db := storetest.New(b)
			seedCampaigns(b, db, n, due)
			h := benchFeature(db)
			ctx := context.Background()
			var total time.Duration
			var each []time.Duration
			runs := 0
			for b.Loop() {
				b.StopTimer()
				if _, err := db.SQL().ExecContext(ctx, `DELETE FROM outbox`); err != nil {
					b.Fatal(err)
				}
				if _, err := db.SQL().ExecContext(ctx, `UPDATE campaign_items SET early_sent_at = NULL, next_check_at = remind_early_at
					WHERE remind_early_at = $1`, benchAt); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if err := h.Remind(ctx, benchAt); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
				each = append(each, time.Since(start))
				runs++
				b.StopTimer()
				var sent int
				if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&sent); err != nil || sent != due {
					b.Fatalf("%d reminders enqueued, want %d (%v)", sent, due, err)
				}
				b.StartTimer()
			}
			ms := float64(total.Microseconds()) / 1000 / float64(runs)
			slices.Sort(each)
			med := float64(each[len(each)/2].Microseconds()) / 1000
			b.ReportMetric(ms, "ms/run")
			b.ReportMetric(med, "ms-median")
			fmt.Printf("campaign-remind over %d campaigns × 12 items, %d due: %.1f ms per run (median %.1f ms)\n", n, due, ms, med)
		})
	}
}

// BenchmarkNotice enqueues a T-1 notice to 100,000 opted-in followers
// (target ≤ 5 s): one INSERT … SELECT, the rows never travel through Go.
func BenchmarkNotice(b *testing.B) {
	const followers = 100000
	db := storetest.New(b)
	ctx := context.Background()
	_, err := db.SQL().ExecContext(ctx, `INSERT INTO wechat_followers (openid, subscribed, last_inbound_at, allowance)
		SELECT 'oN' || i, true, now(), 5 FROM generate_series(1, $1) AS i`, followers)
	if err != nil {
		b.Fatal(err)
	}
	_, err = db.SQL().ExecContext(ctx, `INSERT INTO campaign_optins (openid, opted_in_at)
		SELECT 'oN' || i, now() FROM generate_series(1, $1) AS i`, followers)
	if err != nil {
		b.Fatal(err)
	}
	var cid int64
	err = db.SQL().QueryRowContext(ctx, `INSERT INTO campaigns (name, template, start_at, end_at, owner, notice, notice_approved_by)
		VALUES ('双12', 'major', $1::timestamptz + interval '1 day', $1::timestamptz + interval '2 days', 'UOWNER', '明天10点，双12活动正式开始！', 'UOWNER')
		RETURNING id`, benchAt).Scan(&cid)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO campaign_items (campaign_id, position, title, offset_days, owner, action, due_at, next_check_at)
		VALUES ($1, 1, 'notice', -1, 'UOWNER', 'notice', $2, $2)`, cid, benchAt); err != nil {
		b.Fatal(err)
	}
	h := benchFeature(db)
	var total time.Duration
	runs := 0
	for b.Loop() {
		b.StopTimer()
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM outbox;
			UPDATE campaign_items SET acted_at = NULL, done_at = NULL, next_check_at = due_at;
			UPDATE campaigns SET notice_sent_at = NULL, notice_queued = 0, tally_posted_at = NULL`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := h.Remind(ctx, benchAt); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		runs++
		b.StopTimer()
		var queued int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE purpose = 'campaign'`).Scan(&queued); err != nil || queued != followers {
			b.Fatalf("%d notices enqueued, want %d (%v)", queued, followers, err)
		}
		b.StartTimer()
	}
	s := total.Seconds() / float64(runs)
	b.ReportMetric(s, "s/notice")
	fmt.Printf("T-1 notice to %d opted-in followers enqueued in %.2f s\n", followers, s)
}
