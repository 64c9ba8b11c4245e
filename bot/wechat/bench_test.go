package wechat

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// benchConcurrency is how many requests are in flight at once in the
// throughput benchmark (WeChat opens many connections), and how many
// pgbench clients insert for comparison.
const benchConcurrency = 16

type benchEnv struct {
	ad  *Adapter
	acc Account
	c   *cryptor
	url string
	db  *store.DB
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	u := storetest.URL(b)
	db, err := store.Open(context.Background(), u, store.Options{MaxOpenConns: benchConcurrency})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.HandleCustomer(bot.CustomerIntent{Name: "help", Keywords: []string{"帮助", "菜单"},
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Text(testMenu), nil }})
	acc := Account{AppID: "wxbench" + uniq(), AppSecret: "secret", Token: "benchtoken", EncodingAESKey: sampleAESKey}
	inbox, err := db.NewWeChatInbox(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { inbox.Close() })
	ad, err := New(acc, r, inbox, Options{})
	if err != nil {
		b.Fatal(err)
	}
	c, _ := newCryptor(acc.AppID, acc.EncodingAESKey)
	e := &benchEnv{ad: ad, acc: acc, c: c, url: u, db: db}
	e.warmUp(b)
	return e
}

// warmUp fills the connection pool (each new connection costs a backend
// start and statement preparation) and the caches, so that the timed part
// measures the steady state a running server is in.
func (e *benchEnv) warmUp(b *testing.B) {
	reqs := e.requests(b, 20*benchConcurrency)
	var wg sync.WaitGroup
	for w := range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(reqs); i += benchConcurrency {
				e.serve(b, reqs[i]())
			}
		}()
	}
	wg.Wait()
}

// requests builds n safe-mode text messages as WeChat would send them,
// from 500 customers, outside the timed part.
func (e *benchEnv) requests(b *testing.B, n int) []func() *http.Request {
	b.Helper()
	run := uniq()
	out := make([]func() *http.Request, n)
	for i := range out {
		inner := textXML(fmt.Sprintf("oBench%03d", i%500), fmt.Sprintf("9%s%09d", strings.TrimPrefix(run, "-"), i), "帮助")
		enc, err := e.c.encrypt(inner)
		if err != nil {
			b.Fatal(err)
		}
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.Itoa(i)
		q := url.Values{"signature": {sign(e.acc.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
			"openid": {"x"}, "encrypt_type": {"aes"}, "msg_signature": {sign(e.acc.Token, ts, nonce, enc)}}
		target := "/wechat?" + q.Encode()
		body := "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
		out[i] = func() *http.Request { return httptest.NewRequest(http.MethodPost, target, strings.NewReader(body)) }
	}
	return out
}

// serve runs one request and checks that it got an encrypted reply.
func (e *benchEnv) serve(b *testing.B, req *http.Request) {
	w := httptest.NewRecorder()
	e.ad.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Body.String(), "<xml><Encrypt>") {
		b.Errorf("status %d: %.200s", w.Code, w.Body)
	}
}

// BenchmarkSafeModeText measures safe-mode text messages end to end:
// verify both signatures, decrypt, dedupe insert, record the customer's
// window, route, encrypt the reply and save it for retries. It then runs
// pgbench inserting one row per transaction into the same Postgres with
// as many clients, and reports both rates and their ratio.
//
//	go test -run XXX -bench SafeModeText -benchtime 20000x ./bot/wechat
func BenchmarkSafeModeText(b *testing.B) {
	e := newBenchEnv(b)
	reqs := e.requests(b, b.N)
	var next atomic.Int64
	b.SetParallelism(max(1, benchConcurrency/runtimeProcs()))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.serve(b, reqs[next.Add(1)-1]())
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "msgs/s")
	if b.N < 1000 {
		return // the framework's warm-up rounds: no pgbench
	}
	tps, err := pgbenchInsert(e)
	if err != nil {
		b.Logf("pgbench not run: %v", err)
		return
	}
	b.ReportMetric(tps, "pgbench_tps")
	b.ReportMetric(rate/tps, "ratio")
}

// BenchmarkSafeModePaced1000 sends safe-mode text messages at 1,000 per
// second, each on its own goroutine as WeChat's connections would, and
// reports latency percentiles (from the moment each was due, so queueing
// counts).
//
//	go test -run XXX -bench SafeModePaced1000 -benchtime 10000x ./bot/wechat
func BenchmarkSafeModePaced1000(b *testing.B) {
	e := newBenchEnv(b)
	reqs := e.requests(b, b.N)
	lat := make([]time.Duration, b.N)
	var wg sync.WaitGroup
	const interval = time.Millisecond
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		req := reqs[i]()
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.serve(b, req)
			lat[i] = time.Since(due)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
}

var tpsRe = regexp.MustCompile(`tps = ([0-9.]+)`)

// pgbenchInsert runs pgbench for 5 s against the benchmark's database:
// one INSERT per transaction into a table shaped like inbound_dedupe.
func pgbenchInsert(e *benchEnv) (float64, error) {
	bin := "/usr/lib/postgresql/15/bin/pgbench"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("pgbench"); err != nil {
			return 0, err
		}
	}
	const ddl = `CREATE TABLE IF NOT EXISTS pgbench_insert (platform text NOT NULL, key text NOT NULL,
		received_at timestamptz NOT NULL DEFAULT now(), response text, PRIMARY KEY (platform, key))`
	if _, err := e.db.SQL().Exec(ddl); err != nil {
		return 0, err
	}
	out, err := exec.Command(bin, "-n", "-c", strconv.Itoa(benchConcurrency), "-j", "2", "-T", "5",
		"-f", "testdata/pgbench_insert.sql", e.url).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out)
	}
	m := tpsRe.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no tps in pgbench output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
