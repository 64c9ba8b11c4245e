package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/opsbot/opsbot/domain"
)

// e2eSlack is slacktest's Web API with the calls opsbot makes recorded,
// and chat.postMessage answering with distinct timestamps.
type e2eSlack struct {
	srv   *slacktest.Server
	mu    sync.Mutex
	seq   int
	calls []url.Values // each with "_method" and, for posts, "_ts"
}

func newE2ESlack(t *testing.T) *e2eSlack {
	f := &e2eSlack{}
	record := func(method string, reply func(v url.Values) any) slacktest.Binder {
		return func(c slacktest.Customize) {
			c.Handle("/"+method, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				v, _ := url.ParseQuery(string(body))
				if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					var m map[string]any
					_ = json.Unmarshal(body, &m)
					v = url.Values{}
					for k, x := range m {
						v.Set(k, fmt.Sprint(x))
					}
				}
				f.mu.Lock()
				f.seq++
				v.Set("_method", method)
				v.Set("_ts", fmt.Sprintf("1700000000.%06d", f.seq))
				f.calls = append(f.calls, v)
				f.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(reply(v))
			})
		}
	}
	msg := func(v url.Values) any {
		return map[string]any{"ok": true, "channel": v.Get("channel"), "ts": v.Get("_ts")}
	}
	f.srv = slacktest.NewTestServer(
		record("chat.postMessage", msg),
		record("chat.update", msg),
		record("chat.postEphemeral", func(v url.Values) any { return map[string]any{"ok": true, "message_ts": v.Get("_ts")} }),
		record("conversations.open", func(v url.Values) any {
			return map[string]any{"ok": true, "channel": map[string]any{"id": "D" + v.Get("users")}}
		}),
		record("views.open", func(url.Values) any { return map[string]any{"ok": true, "view": map[string]any{"id": "V1"}} }),
		record("response", func(url.Values) any { return map[string]any{"ok": true} }),
	)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

// seen returns the calls of one method, optionally to one channel.
func (f *e2eSlack) seen(method, channel string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, c := range f.calls {
		if c.Get("_method") == method && (channel == "" || c.Get("channel") == channel) {
			out = append(out, c)
		}
	}
	return out
}

// e2eWeChat fakes WeChat's API: stable tokens and 客服消息.
type e2eWeChat struct {
	mu   sync.Mutex
	sent map[string][]string // OpenID → texts received
}

func (f *e2eWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cgi-bin/stable_token":
		fmt.Fprint(w, `{"access_token":"e2e-token","expires_in":7200}`)
	case "/cgi-bin/message/custom/send":
		to, _ := body["touser"].(string)
		text, _ := body["text"].(map[string]any)
		content, _ := text["content"].(string)
		f.mu.Lock()
		f.sent[to] = append(f.sent[to], content)
		f.mu.Unlock()
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	default:
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}
}

func (f *e2eWeChat) to(openID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent[openID]...)
}

var complaintNumber = regexp.MustCompile(`TS-\d{8}-\d{4}`)

// TestComplaintEndToEnd drives a complaint only through the WeChat callback
// and the Slack endpoints, with fake platform APIs: created → claimed →
// replied (the customer receives the text) → resolved; then the SLA sweep
// at chosen times warns once and alerts managers once.
//
// Not parallel: WeChat's API address is process-global, and tests that
// run in parallel wait until this one is done.
func TestComplaintEndToEnd(t *testing.T) {
	ctx := context.Background()
	slack := newE2ESlack(t)
	wx := &e2eWeChat{sent: map[string][]string{}}
	wxSrv := httptest.NewServer(wx)
	defer wxSrv.Close()
	const (
		secret     = "e2e-signing-secret"
		wxToken    = "e2etoken"
		complaints = "CCOMPLAINTS"
		managers   = "CMANAGERS"
		agent      = "UAGENT1"
	)
	a, _ := testApp(t, map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack.srv.GetAPIURL(),
		"SLACK_COMPLAINTS_CHANNEL": complaints, "SLACK_MANAGERS_CHANNEL": managers,
		"WECHAT_APP_ID": "wxe2e", "WECHAT_APP_SECRET": "secret", "WECHAT_TOKEN": wxToken,
		"WECHAT_API_URL": wxSrv.URL,
	})
	if err := a.db.PutStaff(ctx, domain.Staff{UserID: agent, Role: domain.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	h := a.httpHandler()
	deliver := func() {
		t.Helper()
		if err := a.disp.DeliverAll(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The customer complains on WeChat.
	wechatSay := func(openID string, msgID int, text string) string {
		t.Helper()
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), strconv.Itoa(msgID)
		q := url.Values{"signature": {wechatSign(wxToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
		body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
			`<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>`+
			`<MsgId>%d</MsgId></xml>`, openID, ts, text, msgID)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/wechat?"+q.Encode(), strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("wechat %q: %d %s", text, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	answer := wechatSay("oCustomerA", 900001, "投诉 订单 20261111001 收到的杯子碎了")
	num := complaintNumber.FindString(answer)
	if num == "" || !strings.Contains(answer, "24") || !strings.Contains(answer, "48") {
		t.Fatalf("complaint answer without number and promises: %s", answer)
	}
	deliver()
	posts := slack.seen("chat.postMessage", complaints)
	if len(posts) != 1 || !strings.Contains(posts[0].Get("blocks")+posts[0].Get("text"), num) {
		t.Fatalf("complaint not posted to the complaints channel: %v", posts)
	}
	cardTS := posts[0].Get("_ts")

	// Slack requests are signed like Slack signs them.
	slackPost := func(path, body string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		if strings.HasPrefix(body, "{") {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec
	}
	interaction := func(payload map[string]any) {
		t.Helper()
		b, _ := json.Marshal(payload)
		slackPost("/slack/interactions", url.Values{"payload": {string(b)}}.Encode())
	}
	button := func(actionID, trigger string) {
		interaction(map[string]any{
			"type": "block_actions", "user": map[string]any{"id": agent, "name": "alice"},
			"trigger_id": trigger, "response_url": slack.srv.GetAPIURL() + "response",
			"channel":   map[string]any{"id": complaints},
			"container": map[string]any{"type": "message", "channel_id": complaints, "message_ts": cardTS},
			"message":   map[string]any{"ts": cardTS, "text": num},
			"actions":   []map[string]any{{"action_id": actionID, "block_id": "b1", "value": num, "type": "button"}},
		})
	}

	// Claim: the card is updated.
	button("complaint.claim", "trigger-claim")
	deliver()
	updated := false
	for _, u := range slack.seen("chat.update", complaints) {
		if u.Get("ts") == cardTS && strings.Contains(u.Get("blocks")+u.Get("text"), agent) {
			updated = true
		}
	}
	if !updated {
		t.Fatalf("claim did not update the card: %v", slack.seen("chat.update", ""))
	}

	// Reply in the complaint's thread: the customer receives the text.
	reply := "您好，非常抱歉，我们已为您安排补发新杯子。"
	event, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": "EvE2E1", "team_id": "T1", "api_app_id": "A1",
		"event": map[string]any{
			"type": "message", "channel": complaints, "channel_type": "channel", "user": agent,
			"text": reply, "ts": "1700000100.000001", "thread_ts": cardTS,
		},
	})
	slackPost("/slack/events", string(event))
	deliver()
	if got := strings.Join(wx.to("oCustomerA"), "\n"); !strings.Contains(got, reply) {
		t.Fatalf("customer did not receive the reply; got %q", got)
	}

	// Resolve: the button opens a form; submitting it tells the customer.
	button("complaint.resolve", "trigger-resolve")
	if len(slack.seen("views.open", "")) == 0 {
		t.Fatal("Resolve did not open a form")
	}
	interaction(map[string]any{
		"type": "view_submission", "user": map[string]any{"id": agent, "name": "alice"},
		"view": map[string]any{
			"id": "V1", "callback_id": "complaint.resolve", "private_metadata": num,
			"state": map[string]any{"values": map[string]any{
				"outcome": map[string]any{"outcome": map[string]any{"type": "plain_text_input", "value": "已补发新杯子，并赠送5元优惠券"}},
			}},
		},
	})
	deliver()
	if got := strings.Join(wx.to("oCustomerA"), "\n"); !strings.Contains(got, "已补发新杯子") {
		t.Fatalf("customer was not told the outcome; got %q", got)
	}
	c, err := a.db.Complaint(ctx, num)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != domain.ComplaintResolved || c.Assignee != agent || c.FirstReplyAt.IsZero() {
		t.Fatalf("complaint after the flow: state %s, assignee %q, first reply %v", c.State, c.Assignee, c.FirstReplyAt)
	}

	// A second complaint nobody answers: the sweep warns at 19 h, alerts
	// managers at 25 h, each once however often it runs.
	answer = wechatSay("oCustomerB", 900002, "投诉 快递延迟3天未送达")
	late := complaintNumber.FindString(answer)
	deliver()
	lc, err := a.db.Complaint(ctx, late)
	if err != nil {
		t.Fatalf("second complaint %q: %v", answer, err)
	}
	mentions := func(channel string) int {
		n := 0
		for _, p := range slack.seen("chat.postMessage", channel) {
			if strings.Contains(p.Get("blocks")+p.Get("text"), late) {
				n++
			}
		}
		return n
	}
	sweep := func(after time.Duration) {
		t.Helper()
		if err := a.sched.RunManual(ctx, "sla-sweep", lc.CreatedAt.Add(after)); err != nil {
			t.Fatal(err)
		}
		deliver()
	}
	before := mentions(complaints)
	sweep(19 * time.Hour)
	if got := mentions(complaints) - before; got != 1 {
		t.Fatalf("warnings at 19 h: %d, want 1", got)
	}
	sweep(19 * time.Hour)
	if got := mentions(complaints) - before; got != 1 {
		t.Fatalf("warnings after a second run at 19 h: %d, want still 1", got)
	}
	if mentions(managers) != 0 {
		t.Fatal("managers alerted before the breach")
	}
	sweep(25 * time.Hour)
	sweep(25 * time.Hour)
	if got := mentions(managers); got != 1 {
		t.Fatalf("manager alerts at 25 h after two runs: %d, want 1", got)
	}
	if got := mentions(complaints) - before; got != 1 {
		t.Fatalf("the breach run warned again: %d warnings", got)
	}
}
