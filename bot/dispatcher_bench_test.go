package bot_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// broadcast is n campaign notices to n different customers.
func broadcast(n int, batch string) []domain.Outgoing {
	msgs := make([]domain.Outgoing, n)
	for i := range msgs {
		msgs[i] = domain.Outgoing{Platform: domain.PlatformWeChat, To: fmt.Sprintf("oBench%06d", i),
			Purpose: domain.PurposeCampaign, Batch: batch, Template: "campaign",
			Content: domain.Content{Text: "明天10点，双12活动正式开始，全场满300减50！回复「退订」不再接收。"}}
	}
	return msgs
}

// BenchmarkEnqueue100k is issue 8's target: 100,000 outgoing messages
// enqueued in one transaction in ≤ 5 s.
func BenchmarkEnqueue100k(b *testing.B) {
	ctx := context.Background()
	db := storetest.New(b)
	msgs := broadcast(100_000, "bench")
	for b.Loop() {
		start := time.Now()
		if err := db.InTx(ctx, func(tx *store.DB) error { return tx.Enqueue(ctx, msgs...) }); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s/100k")
		b.StopTimer()
		if _, err := db.SQL().ExecContext(ctx, `TRUNCATE outbox`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// slowAPI is a platform that takes 20 ms per call and checks that each
// recipient's messages arrive in order and once.
type slowAPI struct {
	mu   sync.Mutex
	last map[string]int
	sent int
	bad  error
}

func (s *slowAPI) Send(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	time.Sleep(20 * time.Millisecond)
	seq, _ := strconv.Atoi(it.Content.Note)
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.last[it.To]; ok && seq <= prev && s.bad == nil {
		s.bad = fmt.Errorf("%s: message %d after %d", it.To, seq, prev)
	}
	s.last[it.To] = seq
	s.sent++
	return domain.Delivery{Channel: it.To, TS: strconv.FormatInt(it.ID, 10)}, nil
}

// BenchmarkDeliver is issue 8's delivery target: through a fake API taking
// 20 ms per call, ≥ 400 messages/s from one replica, against today's serial
// loop (one worker, about 50/s). Each recipient gets several messages, to
// check their order. OPSBOT_BENCH_DELIVER sets how many (default 10,000;
// 100000 for the whole broadcast).
func BenchmarkDeliver(b *testing.B) {
	n := 10_000
	if v := os.Getenv("OPSBOT_BENCH_DELIVER"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	serial := run(b, 1, 500)
	concurrent := run(b, bot.DefaultWorkers, n)
	b.ReportMetric(serial, "serial-msgs/s")
	b.ReportMetric(concurrent, "msgs/s")
	b.ReportMetric(concurrent/serial, "x-serial")
}

func run(b *testing.B, workers, n int) float64 {
	ctx := context.Background()
	db := storetest.New(b)
	msgs := broadcast(n, "")
	for i := range msgs {
		msgs[i].To = fmt.Sprintf("oBench%06d", i/4) // four messages each
		msgs[i].Content.Note = strconv.Itoa(i)
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		b.Fatal(err)
	}
	api := &slowAPI{last: map[string]int{}}
	d := &bot.Dispatcher{Store: db, Senders: map[domain.Platform]bot.Sender{domain.PlatformWeChat: api}, Workers: workers}
	start := time.Now()
	if err := d.DeliverAll(ctx); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	if api.bad != nil {
		b.Fatal(api.bad)
	}
	if api.sent != n {
		b.Fatalf("sent %d of %d (none twice expected)", api.sent, n)
	}
	b.Logf("%d workers: %d messages in %v", workers, n, el.Round(time.Millisecond))
	return float64(n) / el.Seconds()
}
