package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// fakeSlack is Slack's Web API at the network edge: it accepts
// chat.postMessage slowly and records every text it received.
type fakeSlack struct {
	mu       sync.Mutex
	received map[string]int
	total    int
	delay    time.Duration
}

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/auth.test":
		fmt.Fprint(w, `{"ok":true,"user_id":"UBOT","team":"shop"}`)
	case "/chat.postMessage":
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		time.Sleep(f.delay)
		f.mu.Lock()
		f.received[r.PostForm.Get("text")]++
		f.total++
		n := f.total
		f.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": fmt.Sprintf("%d.000100", n)})
	default:
		fmt.Fprint(w, `{"ok":true}`)
	}
}

func (f *fakeSlack) count() (distinct, total int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.received), f.total
}

// TestKillDuringDeliveryLosesNothing is the foundation's promise: SIGKILL
// opsbot while it delivers, start it again, and every pending message is
// delivered (at least once).
func TestKillDuringDeliveryLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	db, err := store.Open(ctx, url, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 300
	msgs := make([]domain.Outgoing, n)
	for i := range msgs {
		msgs[i] = domain.Outgoing{Platform: domain.PlatformSlack, To: fmt.Sprint("C", i%3),
			Content: domain.Content{Text: fmt.Sprintf("message %03d", i)}}
	}
	if err := db.Enqueue(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	slack := &fakeSlack{received: map[string]int{}, delay: 20 * time.Millisecond}
	api := httptest.NewServer(slack)
	defer api.Close()
	dataDir := t.TempDir()
	env := map[string]string{
		"DATABASE_URL":         url,
		"OPSBOT_ADDR":          "127.0.0.1:0",
		"OPSBOT_DATA_DIR":      dataDir,
		"OPSBOT_LOG_FORMAT":    "json",
		"SLACK_BOT_TOKEN":      "xoxb-test",
		"SLACK_SIGNING_SECRET": "x",
		"SLACK_API_URL":        api.URL + "/",
	}

	first := startOpsbot(t, env, "serve")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, total := slack.count(); total >= 40 {
			break
		}
		if first.exited() {
			t.Fatalf("opsbot exited: %v\n%s", first.err, first.logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("opsbot sent nothing to Slack; is the Slack sender wired? logs:\n%s", first.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.kill()
	pending, _, err := db.OutboxStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	distinct, _ := slack.count()
	t.Logf("killed after %d messages reached Slack; %d pending in the outbox", distinct, pending)
	if pending == 0 {
		t.Fatal("everything was delivered before the kill; the test proves nothing")
	}

	// Claims the killed process still held (none if it died between
	// batches): the successor must take them back rather than wait.
	var held int
	if err := db.SQL().QueryRowContext(ctx,
		`SELECT count(*) FROM outbox WHERE state = 'pending' AND locked_until > now()`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	second := startOpsbot(t, env, "serve")
	// The successor takes back at once what the killed process had
	// claimed (same host, dead pid) instead of waiting out the lease.
	restarted := time.Now()
	deadline = time.Now().Add(2 * time.Minute)
	for {
		pending, failed, err := db.OutboxStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if failed > 0 {
			t.Fatalf("%d messages failed for good\n%s", failed, second.logs.String())
		}
		if pending == 0 {
			break
		}
		if second.exited() {
			t.Fatalf("restarted opsbot exited: %v\n%s", second.err, second.logs.String())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages still pending after the restart\n%s", pending, second.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("restarted opsbot delivered the rest in %v (%d claims of the killed process taken back)",
		time.Since(restarted).Round(time.Millisecond), held)
	if held > 0 && !strings.Contains(second.logs.String(), "Took back messages a crashed opsbot had claimed") {
		t.Errorf("the restarted opsbot did not take back its predecessor's claims:\n%s", second.logs.String())
	}
	second.stop(t)

	slack.mu.Lock()
	defer slack.mu.Unlock()
	dups := 0
	for i := range n {
		text := fmt.Sprintf("message %03d", i)
		switch c := slack.received[text]; {
		case c == 0:
			t.Errorf("%q never reached Slack", text)
		case c > 1:
			dups += c - 1
		}
	}
	t.Logf("%d messages, %d deliveries to Slack, %d duplicates (sent before the kill, not yet marked)", n, slack.total, dups)
	if dups > 20 {
		t.Errorf("%d duplicates: more than one batch was delivered twice", dups)
	}
}
