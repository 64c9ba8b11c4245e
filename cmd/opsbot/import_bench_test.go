package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store/storetest"
)

// BenchmarkImportRSS is issue 10's target: `opsbot import orders` of a
// 1,000,000-line CSV keeps its memory flat. It imports 100,000 and
// 1,000,000 lines in separate processes and reports each one's peak RSS
// (the kernel's high-water mark of the process); the two should be close.
//
//	go test -run '^$' -bench ImportRSS -benchtime 1x ./cmd/opsbot
func BenchmarkImportRSS(b *testing.B) {
	for _, lines := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("%d-lines", lines), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "orders.csv")
			writeOrdersCSV(b, path, lines)
			var peakMB, secs float64
			for range b.N {
				env := map[string]string{"DATABASE_URL": storetest.URL(b), "OPSBOT_DATA_DIR": b.TempDir()}
				start := time.Now()
				p := startOpsbot(b, env, "import", "orders", path)
				<-p.done
				if p.err != nil {
					b.Fatalf("import: %v\n%s", p.err, p.logs.String())
				}
				if !strings.Contains(p.logs.String(), fmt.Sprintf("accepted %d,", lines)) {
					b.Fatalf("import summary:\n%s", p.logs.String())
				}
				secs = time.Since(start).Seconds()
				ru := p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
				peakMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
			}
			b.ReportMetric(peakMB, "peak-RSS-MB")
			b.ReportMetric(float64(lines)/secs, "lines/s")
		})
	}
}

// writeOrdersCSV writes n order events: each order created, paid and
// completed, a header with the columns in a different order than the
// documented one.
func writeOrdersCSV(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "occurred_at,id,type,order_id,customer_id,wechat_openid,total,channel")
	types := []string{"order.created", "order.paid", "order.completed"}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	for i := range n {
		o := i / 3
		fmt.Fprintf(w, "%s,E%d,%s,O%d,C%d,,%d.%02d,app\n", at.Add(time.Duration(i)*20*time.Second).Format(time.RFC3339),
			i, types[i%3], o, o%50000, 50+o%300, o%100)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
}
