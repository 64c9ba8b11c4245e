package slack

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
	"github.com/slack-go/slack/socketmode"
)

// fakeAcker records acknowledgements.
type fakeAcker struct {
	mu   sync.Mutex
	acks map[string][]any
}

func (f *fakeAcker) Ack(req socketmode.Request, payload ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.acks == nil {
		f.acks = map[string][]any{}
	}
	f.acks[req.EnvelopeID] = payload
	return nil
}

func (f *fakeAcker) get(id string) ([]any, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.acks[id]
	return p, ok
}

// An unfinished event's retry is left unacknowledged while the first
// delivery may still run, so Slack delivers it again later; the retry that
// finds the claim older than any handler runs handles it.
func TestSocketUnfinishedRetryNotAcked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.db.FirstDelivery(ctx, "slack", "event:EvSock"); err != nil {
		t.Fatal(err)
	}
	ack := &fakeAcker{}
	raw := mentionEvent("EvSock", agentID, "<@UBOT0001> count", "1.1", "")
	req := &socketmode.Request{Type: "events_api", EnvelopeID: "E1", Payload: json.RawMessage(raw), RetryAttempt: 1}
	e.ad.socketEvent(ctx, ack, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: req})
	e.ad.Wait()
	if _, ok := ack.get("E1"); ok {
		t.Fatal("unfinished retry acknowledged")
	}
	if _, err := e.db.SQL().Exec(`UPDATE inbound_dedupe SET received_at = now() - interval '1 minute' WHERE key = 'event:EvSock'`); err != nil {
		t.Fatal(err)
	}
	req2 := *req
	req2.EnvelopeID, req2.RetryAttempt = "E2", 2
	e.ad.socketEvent(ctx, ack, socketmode.Event{Type: socketmode.EventTypeEventsAPI, Request: &req2})
	e.deliver()
	if _, ok := ack.get("E2"); !ok || e.counted != 1 {
		t.Fatalf("second retry: acked %v, handled %d times", ok, e.counted)
	}
}

// socketServer is a fake Socket Mode endpoint: it says hello, sends the
// envelopes it is given and records the acknowledgements.
type socketServer struct {
	send chan string
	acks chan map[string]any
}

func (s *socketServer) bind(c slacktest.Customize) {
	c.Handle("/ws", slacktest.Websocket(func(conn *websocket.Conn) {
		_ = conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","num_connections":1}`))
		go func() {
			for {
				var m map[string]any
				if err := conn.ReadJSON(&m); err != nil {
					return
				}
				s.acks <- m
			}
		}()
		for env := range s.send {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(env)); err != nil {
				return
			}
		}
	}))
}

// Commands, events and interactions over a real Socket Mode connection.
func TestSocketModeEndToEnd(t *testing.T) {
	t.Parallel()
	ss := &socketServer{send: make(chan string, 10), acks: make(chan map[string]any, 10)}
	e := newEnv(t, func(c *Config) { c.AppToken = "xapp-test" })
	// The env's fake has no socket; start one that has, sharing nothing.
	f := newFakeSlackWith(t, ss.bind)
	e.fake = f
	ad, err := New(context.Background(), Config{BotToken: "xoxb-test", AppToken: "xapp-test", APIURL: f.url(),
		Handler: e.router, Deliveries: e.db, Outbox: OutboxFunc(e.db.Enqueue), BotUserID: botID})
	if err != nil {
		t.Fatal(err)
	}
	e.ad = ad
	e.disp.Senders["slack"] = ad
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ad.RunSocketMode(ctx) }()
	defer func() {
		cancel()
		close(ss.send)
		if err := <-done; err != nil {
			t.Errorf("RunSocketMode: %v", err)
		}
	}()

	cmd, _ := json.Marshal(slackapi.SlashCommand{Command: "/ops", Text: "help", UserID: agentID, ChannelID: "C0OPS",
		TriggerID: nextTrigger(), ResponseURL: f.responseURL()})
	ss.send <- `{"type":"slash_commands","envelope_id":"E-cmd","accepts_response_payload":true,"payload":` + string(cmd) + `}`
	ack := <-ss.acks
	if ack["envelope_id"] != "E-cmd" {
		t.Fatalf("ack %v", ack)
	}
	if p, _ := ack["payload"].(map[string]any); p == nil || !strings.Contains(p["text"].(string), "What I can do") {
		t.Fatalf("command ack payload %v, want the help", ack["payload"])
	}

	ss.send <- `{"type":"events_api","envelope_id":"E-ev","payload":` +
		mentionEvent("EvSocket1", agentID, "<@UBOT0001> count", "1700000030.000100", "") + `}`
	if ack := <-ss.acks; ack["envelope_id"] != "E-ev" {
		t.Fatalf("ack %v", ack)
	}

	p := clickPayload(agentID, nextTrigger())
	click, _ := json.Marshal(p)
	ss.send <- `{"type":"interactive","envelope_id":"E-click","payload":` + string(click) + `}`
	if ack := <-ss.acks; ack["envelope_id"] != "E-click" {
		t.Fatalf("ack %v", ack)
	}
	e.deliver()
	if e.counted != 1 || len(f.got("chat.postMessage")) != 1 {
		t.Errorf("event: handled %d times, %d posts", e.counted, len(f.got("chat.postMessage")))
	}
	if len(e.actions) != 1 || len(f.got("chat.update")) != 1 {
		t.Errorf("click: %d handled, %d updates", len(e.actions), len(f.got("chat.update")))
	}
}
