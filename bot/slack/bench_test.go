package slack

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// benchServer serves the adapter over loopback, as Slack would reach it.
func benchServer(b *testing.B) (*env, *httptest.Server, *http.Client) {
	e := newEnv(b)
	srv := httptest.NewServer(e.mux)
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0}}
	b.Cleanup(client.CloseIdleConnections)
	return e, srv, client
}

// slashHelp sends one signed `/ops help` and checks the answer.
func slashHelp(b *testing.B, srv *httptest.Server, client *http.Client, respURL string) time.Duration {
	body := url.Values{
		"command": {"/ops"}, "text": {"help"}, "user_id": {agentID}, "user_name": {"alice"},
		"channel_id": {"C0OPS"}, "team_id": {"T1"}, "trigger_id": {nextTrigger()}, "response_url": {respURL},
	}.Encode()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	sign(req.Header, testSecret, body, start)
	resp, err := client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "What I can do") {
		b.Errorf("status %d: %.200s", resp.StatusCode, got)
	}
	return d
}

// BenchmarkSlashHelp is the throughput of `/ops help` over loopback:
// signature check, replay record and role lookup in PostgreSQL, help
// rendered as Block Kit.
func BenchmarkSlashHelp(b *testing.B) {
	e, srv, client := benchServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			slashHelp(b, srv, client, e.fake.responseURL())
		}
	})
}

// BenchmarkSlashHelpP99At200rps sends `/ops help` at a steady 200 requests
// a second (open loop: each on its own goroutine at its scheduled time, so
// a slow answer does not delay the next request) and reports latency
// percentiles. b.N is the number of requests; run it with -benchtime 5s
// for about a thousand.
func BenchmarkSlashHelpP99At200rps(b *testing.B) {
	e, srv, client := benchServer(b)
	// Warm the connection pools.
	for range 20 {
		slashHelp(b, srv, client, e.fake.responseURL())
	}
	const interval = time.Second / 200
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat[i] = slashHelp(b, srv, client, e.fake.responseURL())
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
