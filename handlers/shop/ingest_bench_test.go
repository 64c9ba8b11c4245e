package shop_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/shop"
	"github.com/opsbot/opsbot/store/storetest"
)

// BenchmarkIngest is issue 10's target: order events over HTTP, in signed
// batches of 500, at ≥ 0.5 × the rate of a bare multi-row INSERT of the
// same rows into the same PostgreSQL. Both run side by side here on the
// same database; the figure to read is "ratio".
//
//	go test -run '^$' -bench Ingest -benchtime 40x ./handlers/shop
func BenchmarkIngest(b *testing.B) {
	const batch = 500
	ctx := context.Background()
	db := storetest.New(b)
	log := slog.New(slog.DiscardHandler)
	in := &shop.Ingest{Store: db, Secret: secret, Events: &handlers.Events{}, Loc: shanghai, Log: log}
	mux := http.NewServeMux()
	mux.Handle("POST /ingest/orders", in)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Each batch: 500 events of distinct orders (created, paid, completed
	// in turn), as a busy shop sends them.
	types := []string{"order.created", "order.paid", "order.completed"}
	at := time.Date(2026, 11, 11, 10, 0, 0, 0, shanghai)
	var seq int
	nextBatch := func(prefix string) []ev {
		evs := make([]ev, batch)
		for i := range evs {
			seq++
			n := seq / len(types)
			evs[i] = order(fmt.Sprintf("%s-%d", prefix, seq), types[seq%len(types)], fmt.Sprintf("%s-O%d", prefix, n),
				"129.90", at.Add(time.Duration(seq)*time.Second).Format(time.RFC3339))
		}
		return evs
	}

	var httpRate, sqlRate float64
	b.Run("http", func(b *testing.B) {
		var bodies [][]byte
		for range b.N {
			bodies = append(bodies, events(nextBatch("h")...))
		}
		b.ResetTimer()
		for i := range b.N {
			body := bodies[i]
			ts := time.Now().Unix()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/ingest/orders", bytes.NewReader(body))
			req.Header.Set("X-Opsbot-Timestamp", strconv.FormatInt(ts, 10))
			req.Header.Set("X-Opsbot-Signature", shop.Sign(secret, ts, body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			out.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(out.String(), `"accepted":500`) {
				b.Fatalf("status %d: %s", resp.StatusCode, out.String())
			}
		}
		httpRate = float64(b.N*batch) / b.Elapsed().Seconds()
		b.ReportMetric(httpRate, "events/s")
	})
	b.Run("bare-insert", func(b *testing.B) {
		var stmts []string
		for range b.N {
			var q strings.Builder
			q.WriteString("INSERT INTO order_events (id, order_id, type, total, occurred_at) VALUES ")
			for j, e := range nextBatch("s") {
				if j > 0 {
					q.WriteByte(',')
				}
				fmt.Fprintf(&q, "('%s','%s','%s',12990,'%s')", e["id"], e["order_id"], e["type"], e["occurred_at"])
			}
			stmts = append(stmts, q.String())
		}
		b.ResetTimer()
		for i := range b.N {
			if _, err := db.SQL().ExecContext(ctx, stmts[i]); err != nil {
				b.Fatal(err)
			}
		}
		sqlRate = float64(b.N*batch) / b.Elapsed().Seconds()
		b.ReportMetric(sqlRate, "rows/s")
	})
	if httpRate > 0 && sqlRate > 0 {
		b.Logf("ingest over HTTP %.0f events/s, bare multi-row INSERT %.0f rows/s: ratio %.2f (target ≥ 0.5)",
			httpRate, sqlRate, httpRate/sqlRate)
	}
}
