package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// TestCampaignEndToEnd drives campaign prep only through the Slack
// endpoints, the WeChat callback and the order intake, with fake platform
// APIs: a 双12 checklist with the right dates (T-14 on a Saturday moves to
// Friday; a T-14 in the National Day holiday to the last working day
// before it), campaign-remind DMs the owners of due items once, a Done
// button cancels what is pending, moving the campaign moves open items and
// tells their owners, the approved T-1 notice reaches the follower who
// opted in and nobody else, the owner gets the tally, and the T+2 review
// carries GMV against target from ingested orders.
//
// Not parallel: WeChat's API address is process-global.
func TestCampaignEndToEnd(t *testing.T) {
	ctx := context.Background()
	slack := newE2ESlack(t)
	wx := &e2eWeChat{sent: map[string][]string{}}
	wxSrv := httptest.NewServer(wx)
	defer wxSrv.Close()
	const (
		secret       = "e2e-signing-secret"
		ingestSecret = "e2e-ingest-secret"
		wxToken      = "e2etoken"
		campaigns    = "CCAMPAIGNS"
		owner        = "UOWNER1"
		designer     = "UDESIGN1"
	)
	a, _ := testApp(t, map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack.srv.GetAPIURL(),
		"SLACK_CAMPAIGNS_CHANNEL": campaigns, "OPSBOT_INGEST_SECRET": ingestSecret,
		"WECHAT_APP_ID": "wxe2e", "WECHAT_APP_SECRET": "secret", "WECHAT_TOKEN": wxToken,
		"WECHAT_API_URL": wxSrv.URL,
	})
	for id, role := range map[string]domain.Role{owner: domain.RoleAdmin, designer: domain.RoleAgent} {
		if err := a.db.PutStaff(ctx, domain.Staff{UserID: id, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	h := a.httpHandler()
	deliver := func() {
		t.Helper()
		if err := a.disp.DeliverAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	slackPost := func(path, body string) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	trigger := 0
	ops := func(user, text string) string {
		t.Helper()
		trigger++
		return slackPost("/slack/commands", url.Values{"command": {"/ops"}, "text": {text}, "user_id": {user},
			"channel_id": {"C1"}, "trigger_id": {fmt.Sprintf("1.2.%d", trigger)}}.Encode())
	}
	remind := func(at string) {
		t.Helper()
		when, err := time.ParseInLocation("2006-01-02 15:04", at, a.cfg.Location)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.sched.RunManual(ctx, "campaign-remind", when); err != nil {
			t.Fatal(err)
		}
		deliver()
	}
	dms := func(user string) []string {
		var out []string
		for _, p := range slack.seen("chat.postMessage", "D"+user) {
			out = append(out, p.Get("blocks")+p.Get("text"))
		}
		return out
	}
	posts := func() string {
		var b strings.Builder
		for _, p := range slack.seen("chat.postMessage", campaigns) {
			b.WriteString(p.Get("blocks") + p.Get("text") + "\n")
		}
		return b.String()
	}
	due := func(name, title string) string {
		t.Helper()
		c, err := a.db.Campaign(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range c.Items {
			if strings.Contains(it.Title, title) {
				return it.Due.In(a.cfg.Location).Format("2006-01-02 15:04")
			}
		}
		t.Fatalf("%s has no item %q", name, title)
		return ""
	}

	// Templates name roles; the designer fills "design".
	if out := ops(owner, "campaign role set design "+designer); !strings.Contains(out, designer) {
		t.Fatalf("role set: %s", out)
	}
	out := ops(owner, "campaign new 双12 2026-12-12 10:00 template=major target=10000000")
	if !strings.Contains(out, "双12") || !strings.Contains(out, "2026-11-27") {
		t.Fatalf("campaign new: %s", out)
	}
	for title, want := range map[string]string{
		"活动策划启动": "2026-11-12 18:00", // T-30, a Thursday
		"方案审批":   "2026-11-27 18:00", // T-14 is Saturday 11-28: the Friday before
		"页面设计":   "2026-11-27 18:00",
		"活动通知":   "2026-12-11 10:00", // T-1 at the campaign's hour
		"活动复盘":   "2026-12-14 18:00", // T+2 is Monday
	} {
		if got := due("双12", title); got != want {
			t.Errorf("双12 %s due %s, want %s", title, got, want)
		}
	}
	ops(owner, "campaign new 金秋 2026-10-20 10:00 template=major target=500万")
	if got := due("金秋", "方案审批"); got != "2026-09-30 18:00" {
		t.Errorf("T-14 in the National Day holiday due %s, want 2026-09-30 (the last working day before it)", got)
	}
	if out := ops(owner, "campaign cancel 金秋"); !strings.Contains(out, "cancelled") {
		t.Fatalf("cancel: %s", out)
	}
	deliver()
	if !strings.Contains(posts(), "双12") {
		t.Fatalf("the new campaign was not announced in the campaigns channel:\n%s", posts())
	}

	// Two working days before T-14 the owners of the T-14 items are
	// reminded, each once however often the job runs.
	remind("2026-11-25 09:00")
	remind("2026-11-25 09:00")
	remind("2026-11-25 09:10")
	d := dms(designer)
	if len(d) != 1 || !strings.Contains(d[0], "页面设计") || !strings.Contains(d[0], "campaign.done") {
		t.Fatalf("designer's reminders after three runs: %d %q", len(d), d)
	}
	ownerDMs := len(dms(owner))
	if ownerDMs < 6 { // six T-14 items are the owner's, plus the T-30 escalation
		t.Fatalf("owner got %d DMs, want the T-14 reminders and the T-30 escalation", ownerDMs)
	}
	if !strings.Contains(posts(), "Overdue") || !strings.Contains(posts(), "活动策划启动") {
		t.Fatalf("the overdue T-30 item was not escalated to the channel:\n%s", posts())
	}

	// The designer presses Done on the reminder: the day reminder is off.
	c, err := a.db.Campaign(ctx, "双12")
	if err != nil {
		t.Fatal(err)
	}
	var pageID int64
	for _, it := range c.Items {
		if strings.Contains(it.Title, "页面设计") {
			pageID = it.ID
		}
	}
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": designer, "name": "dee"},
		"trigger_id": "t-done", "response_url": slack.srv.GetAPIURL() + "response",
		"channel":   map[string]any{"id": "D" + designer},
		"container": map[string]any{"type": "message", "channel_id": "D" + designer, "message_ts": "1.1"},
		"message":   map[string]any{"ts": "1.1", "text": "reminder"},
		"actions":   []map[string]any{{"action_id": "campaign.done", "block_id": "b1", "value": strconv.FormatInt(pageID, 10), "type": "button"}},
	})
	slackPost("/slack/interactions", url.Values{"payload": {string(payload)}}.Encode())
	remind("2026-11-27 09:00")
	if d := dms(designer); len(d) != 1 {
		t.Fatalf("the designer was reminded of a finished item: %q", d[len(d)-1])
	}
	if got := len(dms(owner)); got <= ownerDMs {
		t.Fatalf("no day reminders for the owner's open items (%d DMs)", got)
	}

	// Moving the campaign a week later moves its open items and tells
	// their owners; the finished item stays.
	before := len(dms(owner))
	out = ops(owner, "campaign move 双12 2026-12-19 10:00")
	if !strings.Contains(out, "Moved") {
		t.Fatalf("move: %s", out)
	}
	deliver()
	if got := due("双12", "方案审批"); got != "2026-12-04 18:00" {
		t.Errorf("moved T-14 due %s, want 2026-12-04 (Saturday 12-05 → Friday)", got)
	}
	if got := due("双12", "页面设计"); got != "2026-11-27 18:00" {
		t.Errorf("the finished item moved to %s", got)
	}
	moved := dms(owner)[before:]
	if len(moved) != 1 || !strings.Contains(moved[0], "2026-12-04") {
		t.Fatalf("owner's move notice: %q", moved)
	}
	if len(dms(designer)) != 1 {
		t.Fatal("the designer, whose only item is done, was told about the move")
	}

	// One follower opts in on WeChat; another only chats.
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
	if ans := wechatSay("oFan", 910001, "订阅活动"); !strings.Contains(ans, "订阅成功") || !strings.Contains(ans, "前一天") {
		t.Fatalf("opt-in answer: %s", ans)
	}
	if ans := wechatSay("oBrowser", 910002, "你好"); strings.Contains(ans, "订阅成功") {
		t.Fatalf("a greeting opted in: %s", ans)
	}
	deliver()

	// The notice: written, approved by the owner, sent at T-1.
	notice := "明天10点，双12活动正式开始，全场满300减50！"
	ops(owner, "campaign notice 双12 "+notice)
	remind("2026-12-18 10:00")
	if got := wx.to("oFan"); len(got) != 0 {
		t.Fatalf("an unapproved notice went out: %q", got)
	}
	if out := ops(owner, "campaign notice 双12 approve"); !strings.Contains(out, "approved") {
		t.Fatalf("approve: %s", out)
	}
	remind("2026-12-18 10:05")
	remind("2026-12-18 10:10")
	if got := wx.to("oFan"); len(got) != 1 || !strings.Contains(got[0], notice) {
		t.Fatalf("opted-in follower got %q, want the notice once", got)
	}
	if got := wx.to("oBrowser"); len(got) != 0 {
		t.Fatalf("a follower who did not opt in got %q", got)
	}
	remind("2026-12-18 10:15")
	tally := ""
	for _, m := range dms(owner) {
		if strings.Contains(m, "delivery finished") {
			tally += m
		}
	}
	if tally == "" || !strings.Contains(tally, "Sent") {
		t.Fatalf("owner got no tally: %q", dms(owner))
	}

	// Orders during the campaign; the T+2 review carries GMV against target.
	var evs []map[string]any
	for i := 0; i < 5; i++ {
		evs = append(evs, map[string]any{"id": fmt.Sprintf("ev-%d", i), "type": "order.paid",
			"order_id": fmt.Sprintf("D12-%d", i), "customer_id": fmt.Sprintf("c%d", i), "total": "1000000.00",
			"occurred_at": fmt.Sprintf("2026-12-19T%02d:30:00+08:00", 11+i)})
	}
	body, _ := json.Marshal(map[string]any{"events": evs})
	req := httptest.NewRequest(http.MethodPost, "/ingest/orders", strings.NewReader(string(body)))
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(ingestSecret))
	fmt.Fprintf(mac, "%s.%s", stamp, body)
	req.Header.Set("X-Opsbot-Timestamp", stamp)
	req.Header.Set("X-Opsbot-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":5`) {
		t.Fatalf("ingest: %d %s", rec.Code, rec.Body)
	}
	remind("2026-12-21 09:00") // the last day was Saturday 12-19: T+2 is Monday
	if p := posts(); !strings.Contains(p, "Review") || !strings.Contains(p, "¥5,000,000.00 of ¥10,000,000.00 (50.0%)") {
		t.Fatalf("the review lacks GMV against target:\n%s", p)
	}
	if testing.Verbose() {
		t.Logf("campaigns channel:\n%s\nowner DMs:\n%s", posts(), strings.Join(dms(owner), "\n"))
	}
	if out := ops(owner, "campaign review 双12 达成50%：流量不足。下次提前一周投放。"); !strings.Contains(out, "completed") {
		t.Fatalf("review: %s", out)
	}
}

// The terminal works too: a campaign made in `opsbot chat`, and a dry run
// of campaign-remind at T-14's morning shows the reminders it would send
// and writes nothing.
func TestCampaignInTheTerminalAndDryRun(t *testing.T) {
	t.Parallel()
	getenv := testEnv(t, map[string]string{"OPSBOT_ADMINS": "boss"})
	out := runOK(t, getenv, "campaign new 双12 2026-12-12 10:00 template=major target=1000万\n", "chat", "--as", "admin:boss")
	if !strings.Contains(out, "2026-11-27") {
		t.Fatalf("chat: %s", out)
	}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)).Format(time.RFC3339)
	out = runOK(t, getenv, "", "jobs", "run", "campaign-remind", "--at", at, "--dry-run")
	if !strings.Contains(out, "dry run of campaign-remind") || !strings.Contains(out, "方案审批") || !strings.Contains(out, "nothing was written") {
		t.Fatalf("dry run:\n%s", out)
	}
	again := runOK(t, getenv, "", "jobs", "run", "campaign-remind", "--at", at, "--dry-run")
	if again != out {
		t.Fatalf("a dry run wrote something: the second one differs:\n%s", again)
	}
}
