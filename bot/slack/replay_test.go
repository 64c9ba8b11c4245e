package slack

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A slash command or interaction without a trigger_id, replayed inside the
// signature window, is recognised by the digest of the signed request and
// does nothing; the same command signed at another moment is a new one.
func TestReplayWithoutTriggerIDIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmd := url.Values{"command": {"/ops"}, "text": {"count"}, "user_id": {agentID}, "channel_id": {"C0OPS"},
		"team_id": {"T1"}}.Encode()
	at := time.Now().Add(-time.Minute)
	signedAt := func(ts time.Time, body string) func(http.Header) {
		return func(h http.Header) { sign(h, testSecret, body, ts) }
	}
	for range 3 {
		if rec := e.post("/slack/commands", cmd, signedAt(at, cmd)); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	e.ad.Wait()
	if e.counted != 1 {
		t.Fatalf("a command replayed 3 times ran %d times, want 1", e.counted)
	}
	if rec := e.post("/slack/commands", cmd, signedAt(at.Add(time.Second), cmd)); rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	e.ad.Wait()
	if e.counted != 2 {
		t.Fatalf("the same command sent again later ran %d times in all, want 2", e.counted)
	}

	click := clickPayload(agentID, "")
	delete(click, "trigger_id")
	body := interactionBody(click)
	for range 3 {
		if rec := e.post("/slack/interactions", body, signedAt(at, body)); rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	e.ad.Wait()
	e.mu.Lock()
	clicks := len(e.actions)
	e.mu.Unlock()
	if clicks != 1 {
		t.Fatalf("a click replayed 3 times ran %d times, want 1", clicks)
	}
}

// A NUL (or invalid UTF-8) in a Slack event never reaches the database:
// the event is recorded, handled and answered.
func TestNULInSlackEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ev, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": "EvNUL\x00",
		"event": map[string]any{"type": "message", "channel_type": "im", "user": agentID, "channel": "D0AGENT\x00",
			"text": "no such \x00command \xff", "ts": "1700000300.000100"}})
	if rec := e.post("/slack/events", string(ev)); rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	cmd := url.Values{"command": {"/ops"}, "text": {"no such\x00 thing"}, "user_id": {agentID}, "channel_id": {"C0OPS\x00"},
		"trigger_id": {"1.2\x00"}}.Encode()
	if rec := e.post("/slack/commands", cmd); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "went wrong") {
		t.Fatalf("command: %d %s", rec.Code, rec.Body)
	}
	e.deliver()
	posts := e.fake.got("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("channel") != "D0AGENT" {
		t.Fatalf("answer to the DM: %+v", posts)
	}
	for _, p := range posts {
		if strings.ContainsRune(p.Form.Encode(), 0) || strings.Contains(p.Form.Get("text"), "\x00") {
			t.Errorf("NUL reached Slack: %q", p.Form.Get("text"))
		}
	}
}
