package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testEnv is the environment of an opsbot on its own test database, with
// local state in a temporary directory and a free port.
func testEnv(t *testing.T, extra map[string]string) func(string) string {
	t.Helper()
	m := map[string]string{
		"DATABASE_URL":    storetest.URL(t),
		"OPSBOT_ADDR":     "127.0.0.1:0",
		"OPSBOT_DATA_DIR": t.TempDir(),
	}
	for k, v := range extra {
		m[k] = v
	}
	return func(k string) string { return m[k] }
}

func testApp(t *testing.T, extra map[string]string) (*app, *lockedBuffer) {
	t.Helper()
	cfg, err := loadConfig(testEnv(t, extra))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a, logs
}

// startServing runs a.serve and returns its base URL and a function that
// shuts it down and returns serve's error.
func startServing(t *testing.T, a *app) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- a.serve(ctx, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("serve never became ready")
	}
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-errc:
			case <-time.After(30 * time.Second):
				serveErr = errors.New("serve did not return after cancel")
			}
		})
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr, stop
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	t.Parallel()
	a, logs := testApp(t, nil)
	// A message for a platform with no credentials is delivered to the log.
	if err := a.db.Enqueue(context.Background(), domain.Outgoing{Platform: domain.PlatformWeChat, To: "oABC",
		Content: domain.Content{Text: "您的投诉已处理 secret-body"}}); err != nil {
		t.Fatal(err)
	}
	// An adapter's route that reads its body.
	a.handle("POST /echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.Write([]byte(strings.Repeat("x", int(n%10))))
	}))
	release := make(chan struct{})
	started := make(chan struct{})
	a.handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.Write([]byte("finished"))
	}))
	base, stop := startServing(t, a)

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/nope"); code != 404 {
		t.Errorf("/nope = %d", code)
	}

	// Bodies over 1 MiB: 413, whether the length is announced or not.
	big := bytes.Repeat([]byte("a"), maxBody+1)
	res, err := http.Post(base+"/echo", "text/plain", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 with Content-Length: %d", res.StatusCode)
	}
	res, err = http.Post(base+"/echo", "text/plain", io.MultiReader(bytes.NewReader(big))) // chunked
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB + 1 chunked: %d", res.StatusCode)
	}
	res, err = http.Post(base+"/echo", "text/plain", bytes.NewReader(big[:maxBody]))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("exactly 1 MiB: %d", res.StatusCode)
	}

	// The dispatcher runs: the pending message gets delivered.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if it, err := a.db.Outbox(context.Background(), 1); err == nil && it.State == domain.OutboxSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dispatcher did not deliver a pending message")
		}
		time.Sleep(20 * time.Millisecond)
	}

	code, metrics := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`opsbot_http_requests_total{code="200",route="GET /healthz"} 1`,
		`opsbot_http_requests_total{code="413",route="POST /echo"} 2`,
		`opsbot_http_request_duration_seconds_count{route="GET /readyz"} 1`,
		"opsbot_outbox_pending 0",
		"opsbot_outbox_failed 0",
		`opsbot_outbox_sent_total{platform="wechat"} 1`,
		`opsbot_job_runs_total{job="prune-deliveries"} 0`,
		`opsbot_job_failures_total{job="prune-deliveries"} 0`,
		"go_goroutines",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// Graceful shutdown: the request in flight finishes, serve returns nil.
	slow := make(chan string, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(50 * time.Millisecond) // let shutdown begin; not an assertion
	close(release)
	if got := <-slow; got != "finished" {
		t.Errorf("in-flight request during shutdown: %q", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("serve after cancel = %v, want nil", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
	if l := logs.String(); strings.Contains(l, "secret-body") || !strings.Contains(l, "Shutting down") {
		t.Errorf("logs show a message body or lack the shutdown:\n%s", l)
	}
}

func TestReadyzWhenDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t, nil)
	srv := httptest.NewServer(a.httpHandler())
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("/readyz before = %d", code)
	}
	a.db.Close()
	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("/readyz with the database gone = %d %q", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz with the database gone = %d (alive is not ready)", code)
	}
}

func TestServeRunsThroughRun(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, map[string]string{"OPSBOT_LOG_FORMAT": "json"})
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, nil, getenv, strings.NewReader(""), io.Discard, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), `"msg":"Listening"`) {
		if time.Now().After(deadline) {
			t.Fatalf("never listened:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run serve = %v", err)
	}
	if l := stderr.String(); !strings.Contains(l, `"msg":"Starting opsbot"`) || !strings.Contains(l, `"msg":"Ready"`) {
		t.Errorf("logs:\n%s", l)
	}
	if err := run(context.Background(), []string{"serve", "extra"}, getenv, nil, io.Discard, io.Discard); err == nil {
		t.Error("serve with arguments succeeded")
	}
}

func TestServeAddrInUse(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t, nil)
	base, _ := startServing(t, a)
	b, _ := testApp(t, map[string]string{"OPSBOT_ADDR": strings.TrimPrefix(base, "http://")})
	err := b.serve(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "OPSBOT_ADDR") {
		t.Errorf("serve on a busy port = %v", err)
	}
}

func TestAdminsBootstrappedAtStart(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t, map[string]string{"OPSBOT_ADMINS": "U024BE7LH,U0G9QF9C6"})
	for _, id := range []string{"U024BE7LH", "U0G9QF9C6"} {
		if r, err := a.db.StaffRole(context.Background(), id); err != nil || r != domain.RoleAdmin {
			t.Errorf("%s: %v, %v; want admin", id, r, err)
		}
	}
	rep := a.router.Handle(context.Background(), bot.Message{Platform: domain.PlatformSlack, UserID: "U024BE7LH", Text: "staff add <@U1> agent"})
	if got := bot.PlainText(rep.Content); got != "@U1 is now an agent." {
		t.Errorf("bootstrapped admin adds staff: %q", got)
	}
}
