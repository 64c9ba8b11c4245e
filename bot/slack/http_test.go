package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// The signing helper the tests use matches Slack's published example.
func TestSignatureMatchesSlackExample(t *testing.T) {
	t.Parallel()
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := http.Header{}
	sign(h, testSecret, body, time.Unix(1531420618, 0))
	if got, want := h.Get("X-Slack-Signature"), "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	mac := hmac.New(sha256.New, []byte(testSecret))
	mac.Write([]byte("v0:1531420618:" + body))
	if hex.EncodeToString(mac.Sum(nil)) != strings.TrimPrefix(h.Get("X-Slack-Signature"), "v0=") {
		t.Fatal("helper disagrees with HMAC")
	}
}

// Done when: a signed /ops help returns the help, in the response.
func TestSlashHelp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.post("/slack/commands", e.slash(agentID, "help"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	m := decode(t, rec)
	if m["response_type"] != "ephemeral" {
		t.Errorf("response_type %v, want ephemeral", m["response_type"])
	}
	if !strings.Contains(m["text"].(string), "What I can do") || !strings.Contains(m["text"].(string), "staff list") {
		t.Errorf("text does not list the commands: %q", m["text"])
	}
	blocks := m["blocks"].([]any)
	if blocks[0].(map[string]any)["type"] != "header" {
		t.Errorf("first block %v, want a header", blocks[0])
	}
	e.ad.Wait()
	if n := e.fake.total(); n != 0 {
		t.Errorf("answered in the response, yet %d Web API calls were made", n)
	}
}

func TestSlashInChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := decode(t, e.post("/slack/commands", e.slash(agentID, "count")))
	if m["response_type"] != "in_channel" {
		t.Errorf("response_type %v, want in_channel", m["response_type"])
	}
}

// Forged, stale and unsigned requests get 401 and change nothing.
func TestRejectsUnverifiedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	trigger := "999.888.forged"
	cmd := "command=%2Fops&text=staff+add+UEVIL+admin&user_id=" + adminID + "&channel_id=C1&trigger_id=" + trigger
	event := `{"type":"event_callback","event_id":"EvForged","event":{"type":"app_mention","user":"` + adminID +
		`","text":"<@UBOT0001> staff add UEVIL admin","ts":"1.1","channel":"C1"}}`
	click := interactionBody(map[string]any{"type": "block_actions", "trigger_id": "777.forged",
		"user": map[string]any{"id": adminID}, "actions": []map[string]any{{"action_id": "claim", "value": "7"}}})
	now := time.Now()
	cases := []struct {
		name string
		mod  func(h http.Header, body string)
	}{
		{"unsigned", func(h http.Header, _ string) { h.Del("X-Slack-Signature"); h.Del("X-Slack-Request-Timestamp") }},
		{"no timestamp", func(h http.Header, _ string) { h.Del("X-Slack-Request-Timestamp") }},
		{"wrong secret", func(h http.Header, body string) { sign(h, "not-the-secret", body, now) }},
		{"tampered body", func(h http.Header, body string) { sign(h, testSecret, body+"&x=1", now) }},
		{"garbage signature", func(h http.Header, _ string) { h.Set("X-Slack-Signature", "v0=zz") }},
		{"stale", func(h http.Header, body string) { sign(h, testSecret, body, now.Add(-6*time.Minute)) }},
		{"from the future", func(h http.Header, body string) { sign(h, testSecret, body, now.Add(6*time.Minute)) }},
	}
	for _, c := range cases {
		for path, body := range map[string]string{"/slack/commands": cmd, "/slack/events": event, "/slack/interactions": click} {
			rec := e.post(path, body, func(h http.Header) { c.mod(h, body) })
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d, want 401", c.name, path, rec.Code)
			}
		}
	}
	e.deliver()
	if role, _ := e.db.StaffRole(ctx, "UEVIL"); role != domain.RoleCustomer {
		t.Errorf("forged command changed the staff list: UEVIL is %s", role)
	}
	if len(e.actions) != 0 || e.fake.total() != 0 {
		t.Errorf("forged requests reached handlers (%d) or Slack (%d calls)", len(e.actions), e.fake.total())
	}
	for _, key := range []string{"command:" + trigger, "event:EvForged", "interaction:777.forged"} {
		if first, _ := e.db.FirstDelivery(ctx, domain.PlatformSlack, key); !first {
			t.Errorf("forged request recorded %s", key)
		}
	}
}

// A valid request replayed within the signature window does nothing.
func TestReplayedCommandIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := e.slash(agentID, "count")
	first := e.post("/slack/commands", body)
	again := e.post("/slack/commands", body)
	if first.Code != 200 || again.Code != 200 {
		t.Fatalf("status %d, %d", first.Code, again.Code)
	}
	if again.Body.Len() != 0 {
		t.Errorf("replay answered %q", again.Body)
	}
	e.ad.Wait()
	if e.counted != 1 {
		t.Errorf("command ran %d times, want 1", e.counted)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := "text=" + strings.Repeat("a", maxBody)
	rec := e.post("/slack/commands", body)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
}

func TestURLVerification(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.post("/slack/events", `{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	if m := decode(t, rec); m["challenge"] != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Errorf("challenge not echoed: %s", rec.Body)
	}
}

func mentionEvent(id, user, text, ts, thread string) string {
	ev := map[string]any{"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": "C0OPS"}
	if thread != "" {
		ev["thread_ts"] = thread
	}
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": id, "event_time": 1, "event": ev})
	return string(b)
}

func retry(n string) func(http.Header) {
	return func(h http.Header) {
		h.Set("X-Slack-Retry-Num", n)
		h.Set("X-Slack-Retry-Reason", "http_timeout")
	}
}

// Done when: an app_mention delivered three times gets exactly one reply,
// in the mention's thread.
func TestMentionRetriesAnsweredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := mentionEvent("Ev0001", agentID, "<@UBOT0001> help staff list", "1700000001.000100", "")
	for i, h := range []func(http.Header){func(http.Header) {}, retry("1"), retry("2")} {
		if rec := e.post("/slack/events", body, h); rec.Code != http.StatusOK {
			t.Fatalf("delivery %d: status %d", i, rec.Code)
		}
	}
	e.deliver()
	posts := e.fake.got("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies posted, want 1", len(posts))
	}
	p := posts[0].Form
	if p.Get("channel") != "C0OPS" || p.Get("thread_ts") != "1700000001.000100" {
		t.Errorf("reply went to %s thread %q, want C0OPS in the mention's thread", p.Get("channel"), p.Get("thread_ts"))
	}
	if !strings.Contains(p.Get("text"), "staff list") || !strings.Contains(p.Get("blocks"), "Usage") {
		t.Errorf("reply is not the help for staff list: %s", p.Get("text"))
	}
}

// A retry of an event whose first delivery never finished (a crash) is
// sent back to Slack while the claim is younger than any handler runs,
// then handled by the retry that finds it older.
func TestUnfinishedEventHandledOnLaterRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// The first delivery claimed the event and died.
	if _, err := e.db.FirstDelivery(ctx, domain.PlatformSlack, "event:Ev0002"); err != nil {
		t.Fatal(err)
	}
	body := mentionEvent("Ev0002", agentID, "<@UBOT0001> count", "1700000002.000100", "")
	for _, n := range []string{"1", "2", "3"} { // Retry-Num decides nothing
		if rec := e.post("/slack/events", body, retry(n)); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("retry %s: status %d, want 503", n, rec.Code)
		}
	}
	e.deliver()
	if e.counted != 0 || len(e.fake.got("chat.postMessage")) != 0 {
		t.Fatal("a retry was handled while the first delivery might still run")
	}
	// A minute later (Slack's next retry) the claim is older than any
	// handler runs.
	if _, err := e.db.SQL().Exec(`UPDATE inbound_dedupe SET received_at = now() - interval '1 minute' WHERE key = 'event:Ev0002'`); err != nil {
		t.Fatal(err)
	}
	if rec := e.post("/slack/events", body, retry("1")); rec.Code != http.StatusOK {
		t.Fatalf("retry after a minute: status %d", rec.Code)
	}
	if rec := e.post("/slack/events", body, retry("2")); rec.Code != http.StatusOK {
		t.Fatalf("retry after it was handled: status %d", rec.Code)
	}
	e.deliver()
	if e.counted != 1 || len(e.fake.got("chat.postMessage")) != 1 {
		t.Errorf("handled %d times, %d replies; want 1 and 1", e.counted, len(e.fake.got("chat.postMessage")))
	}
	// An in-channel reply to a top-level mention goes to the channel.
	if th := e.fake.got("chat.postMessage")[0].Form.Get("thread_ts"); th != "" {
		t.Errorf("in-channel reply threaded under %s", th)
	}
}

func TestBotMessagesIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	events := map[string]map[string]any{
		"EvBot1": {"type": "message", "channel_type": "im", "user": agentID, "bot_id": "B1", "text": "help", "ts": "1.1", "channel": "D1"},
		"EvBot2": {"type": "message", "channel_type": "im", "subtype": "bot_message", "text": "help", "ts": "1.2", "channel": "D1"},
		"EvBot3": {"type": "message", "channel_type": "im", "user": botID, "text": "help", "ts": "1.3", "channel": "D1"},
		"EvBot4": {"type": "app_mention", "user": agentID, "bot_id": "B2", "text": "<@UBOT0001> help", "ts": "1.4", "channel": "C1"},
		"EvBot5": {"type": "message", "channel_type": "channel", "user": botID, "text": "Sent.", "ts": "1.6", "thread_ts": "1.5", "channel": "C1"},
		"EvEdit": {"type": "message", "channel_type": "im", "subtype": "message_changed", "ts": "1.7", "channel": "D1"},
		"EvTop":  {"type": "message", "channel_type": "channel", "user": agentID, "text": "lunch?", "ts": "1.8", "channel": "C1"},
		"EvBoth": {"type": "message", "channel_type": "channel", "user": agentID, "text": "<@UBOT0001> help", "ts": "1.9", "thread_ts": "1.5", "channel": "C1"},
	}
	for id, ev := range events {
		b, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": id, "event": ev})
		if rec := e.post("/slack/events", string(b)); rec.Code != 200 {
			t.Errorf("%s: status %d", id, rec.Code)
		}
	}
	e.deliver()
	if n := e.fake.total(); n != 0 {
		t.Errorf("%d Web API calls for ignored messages", n)
	}
	if len(e.ambient) != 0 {
		t.Errorf("hooks saw %d ignored messages", len(e.ambient))
	}
	for id := range events {
		if first, _ := e.db.FirstDelivery(ctx, domain.PlatformSlack, "event:"+id); !first {
			t.Errorf("ignored event %s was recorded", id)
		}
	}
}

func TestDirectMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": "EvDM", "event": map[string]any{
		"type": "message", "channel_type": "im", "user": agentID, "text": "staff list", "ts": "1700000003.000100", "channel": "D0AGENT"}})
	if rec := e.post("/slack/events", string(b)); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	e.deliver()
	posts := e.fake.got("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("channel") != "D0AGENT" || posts[0].Form.Get("thread_ts") != "" {
		t.Fatalf("posts %+v, want one to D0AGENT", posts)
	}
	if !strings.Contains(posts[0].Form.Get("text"), "<@"+adminID+">") {
		t.Errorf("staff list reply %q lacks the admin", posts[0].Form.Get("text"))
	}
}

// A reply in a thread reaches staff hooks as an ambient message.
func TestThreadReplyIsAmbient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": "EvThread", "event": map[string]any{
		"type": "message", "channel_type": "channel", "user": agentID, "text": "We will reship today.",
		"ts": "1700000005.000200", "thread_ts": "1700000004.000100", "channel": "C0COMPLAINTS"}})
	if rec := e.post("/slack/events", string(b)); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	e.deliver()
	if len(e.ambient) != 1 {
		t.Fatalf("hook saw %d messages", len(e.ambient))
	}
	got := e.ambient[0]
	if !got.Ambient || got.ChannelID != "C0COMPLAINTS" || got.ThreadID != "1700000004.000100" || got.Text != "We will reship today." {
		t.Errorf("hook got %+v", got.Message)
	}
	posts := e.fake.got("chat.postMessage")
	if len(posts) != 1 || posts[0].Form.Get("thread_ts") != "1700000004.000100" {
		t.Errorf("confirmation not posted in the thread: %+v", posts)
	}
}

func clickPayload(user, triggerID string) map[string]any {
	return map[string]any{
		"type": "block_actions", "trigger_id": triggerID, "response_url": "",
		"user":      map[string]any{"id": user, "username": "alice", "name": "alice"},
		"channel":   map[string]any{"id": "C0COMPLAINTS"},
		"container": map[string]any{"type": "message", "channel_id": "C0COMPLAINTS", "message_ts": "1700000010.000100"},
		"message":   map[string]any{"ts": "1700000010.000100", "text": "Complaint 7"},
		"actions":   []map[string]any{{"type": "button", "action_id": "claim", "block_id": "b1", "value": "7", "action_ts": "1700000011.1"}},
	}
}

// Done when: a button click reaches its handler and the message is updated.
func TestButtonClickUpdatesMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := clickPayload(agentID, nextTrigger())
	p["response_url"] = e.fake.responseURL()
	rec := e.post("/slack/interactions", interactionBody(p))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	e.ad.Wait()
	if len(e.actions) != 1 {
		t.Fatalf("handler ran %d times", len(e.actions))
	}
	a := e.actions[0].Action
	if a.ID != "claim" || a.Value != "7" || a.Channel != "C0COMPLAINTS" || a.TS != "1700000010.000100" {
		t.Errorf("action %+v", a)
	}
	ups := e.fake.got("chat.update")
	if len(ups) != 1 {
		t.Fatalf("%d chat.update calls, want 1", len(ups))
	}
	u := ups[0].Form
	if u.Get("channel") != "C0COMPLAINTS" || u.Get("ts") != "1700000010.000100" || !strings.Contains(u.Get("text"), "claimed by <@"+agentID+">") {
		t.Errorf("update %v", u)
	}
}

// An ephemeral message cannot be reached by chat.update: its update goes
// to response_url with replace_original.
func TestButtonOnEphemeralUpdatesThroughResponseURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := clickPayload(agentID, nextTrigger())
	p["response_url"] = e.fake.responseURL()
	p["container"].(map[string]any)["is_ephemeral"] = true
	e.post("/slack/interactions", interactionBody(p))
	e.ad.Wait()
	rs := e.fake.got("response")
	if len(rs) != 1 || rs[0].JSON["replace_original"] != true || len(e.fake.got("chat.update")) != 0 {
		t.Fatalf("responses %+v, updates %d", rs, len(e.fake.got("chat.update")))
	}
}

func TestModalOpenAndSubmit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	trigger := ""
	body := e.slash(agentID, "form")
	if rec := e.post("/slack/commands", body); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("form command answered %d %q, want an empty 200", rec.Code, rec.Body)
	}
	e.ad.Wait()
	opens := e.fake.got("views.open")
	if len(opens) != 1 {
		t.Fatalf("%d views.open calls", len(opens))
	}
	trigger, _ = opens[0].JSON["trigger_id"].(string)
	if trigger == "" || !strings.Contains(body, "trigger_id="+url.QueryEscape(trigger)) {
		t.Errorf("views.open with trigger_id %q, not the command's", trigger)
	}
	view, _ := opens[0].JSON["view"].(map[string]any)
	if view["callback_id"] != "note:add" || len(view["blocks"].([]any)) != 2 {
		t.Fatalf("view %v", view)
	}
	meta := view["private_metadata"].(string)

	submit := func(note string) map[string]any {
		return map[string]any{
			"type": "view_submission", "trigger_id": nextTrigger(),
			"user": map[string]any{"id": agentID, "username": "alice"},
			"view": map[string]any{"id": "V1", "type": "modal", "callback_id": "note:add", "private_metadata": meta,
				"state": map[string]any{"values": map[string]any{
					"note": map[string]any{"note": map[string]any{"type": "plain_text_input", "value": note}},
					"kind": map[string]any{"kind": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "call"}}},
				}}},
		}
	}
	rec := e.post("/slack/interactions", interactionBody(submit("  ")))
	m := decode(t, rec)
	if m["response_action"] != "errors" || m["errors"].(map[string]any)["note"] != "Write something." {
		t.Fatalf("empty note: response %s, want errors beside the note input", rec.Body)
	}
	rec = e.post("/slack/interactions", interactionBody(submit("Customer called back")))
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("valid submission answered %d %q, want an empty 200 (close)", rec.Code, rec.Body)
	}
	e.ad.Wait()
	if len(e.forms) != 1 {
		t.Fatalf("handler got %d submissions", len(e.forms))
	}
	f := e.forms[0]
	if f.Action.Value != "42" || f.Action.Form["note"] != "Customer called back" || f.Action.Form["kind"] != "call" || f.ChannelID != "C0OPS" {
		t.Errorf("submission %+v in %s", f.Action, f.ChannelID)
	}
	eph := e.fake.got("chat.postEphemeral")
	if len(eph) != 1 || eph[0].Form.Get("channel") != "C0OPS" || eph[0].Form.Get("user") != agentID {
		t.Errorf("answer to the form: %+v, want an ephemeral in C0OPS", eph)
	}
}

// Non-staff get a polite ephemeral refusal and nothing happens.
func TestNonStaffRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	m := decode(t, e.post("/slack/commands", e.slash(strangerID, "staff add "+strangerID+" admin")))
	if m["response_type"] != "ephemeral" || !strings.Contains(m["text"].(string), "not on the staff list") {
		t.Errorf("refusal %v", m)
	}
	if role, _ := e.db.StaffRole(ctx, strangerID); role != domain.RoleCustomer {
		t.Errorf("stranger became %s", role)
	}
	p := clickPayload(strangerID, nextTrigger())
	p["response_url"] = e.fake.responseURL()
	e.post("/slack/interactions", interactionBody(p))
	e.ad.Wait()
	if len(e.actions) != 0 || len(e.fake.got("chat.update")) != 0 {
		t.Errorf("stranger's click reached the handler (%d) or updated the message", len(e.actions))
	}
	rs := e.fake.got("response")
	if len(rs) != 1 || rs[0].JSON["response_type"] != "ephemeral" || !strings.Contains(rs[0].JSON["text"].(string), "only the shop's staff") {
		t.Errorf("click refusal %+v", rs)
	}
}

// A command slower than the budget is acknowledged at once and answered
// through response_url.
func TestSlowCommandAnsweredLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Budget = 20 * time.Millisecond })
	m := decode(t, e.post("/slack/commands", e.slash(agentID, "slow")))
	if m["text"] != workingOnIt || m["response_type"] != "ephemeral" {
		t.Fatalf("ack %v, want the working-on-it note", m)
	}
	close(e.release)
	e.ad.Wait()
	rs := e.fake.got("response")
	if len(rs) != 1 || rs[0].JSON["text"] != "slow answer" {
		t.Fatalf("late answer %+v", rs)
	}
}

// A replay carrying X-Slack-Retry-Num ≥ 2 while the first delivery is
// still in flight does not run the event again: the header is not signed.
func TestRetryNumCannotForceARerun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Budget = 20 * time.Millisecond })
	body := mentionEvent("EvReplay", agentID, "<@UBOT0001> slow", "1700000021.000100", "")
	if rec := e.post("/slack/events", body); rec.Code != http.StatusOK {
		t.Fatalf("first delivery: status %d", rec.Code)
	}
	for _, n := range []string{"2", "3", "9"} {
		if rec := e.post("/slack/events", body, retry(n)); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("replay with Retry-Num %s while in flight: status %d, want 503", n, rec.Code)
		}
	}
	close(e.release)
	e.deliver()
	e.mu.Lock()
	runs := e.slow
	e.mu.Unlock()
	if runs != 1 {
		t.Fatalf("the event ran %d times, want 1", runs)
	}
	if rec := e.post("/slack/events", body, retry("2")); rec.Code != http.StatusOK {
		t.Fatalf("replay after it finished: status %d", rec.Code)
	}
}

// A slow event is acknowledged and still answered, once.
func TestSlowEventFinishesInBackground(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Budget = 20 * time.Millisecond })
	body := mentionEvent("EvSlow", agentID, "<@UBOT0001> slow", "1700000020.000100", "")
	if rec := e.post("/slack/events", body); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	close(e.release)
	e.deliver()
	if rec := e.post("/slack/events", body, retry("1")); rec.Code != 200 {
		t.Fatalf("retry after finishing: status %d", rec.Code)
	}
	e.deliver()
	if posts := e.fake.got("chat.postMessage"); len(posts) != 1 || posts[0].Form.Get("text") != "slow answer" {
		t.Fatalf("posts %+v", posts)
	}
}
