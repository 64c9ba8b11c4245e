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
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// surveyWeChat fakes WeChat's API and records what each customer
// received: 客服消息 text, and msgmenu questions as their head and choices.
type surveyWeChat struct {
	mu     sync.Mutex
	sent   map[string][]string
	noMenu bool // answer 40200 to msgmenu, as test accounts do
}

func (f *surveyWeChat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		Msgmenu struct {
			HeadContent string `json:"head_content"`
			List        []struct {
				ID      string `json:"id"`
				Content string `json:"content"`
			} `json:"list"`
		} `json:"msgmenu"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/cgi-bin/stable_token":
		fmt.Fprint(w, `{"access_token":"e2e-token","expires_in":7200}`)
	case "/cgi-bin/message/custom/send":
		got := body.Text.Content
		if body.MsgType == "msgmenu" {
			if f.noMenu {
				fmt.Fprint(w, `{"errcode":40200,"errmsg":"invalid msgmenu"}`)
				return
			}
			choices := make([]string, len(body.Msgmenu.List))
			for i, c := range body.Msgmenu.List {
				choices[i] = c.Content
			}
			got = "[menu] " + body.Msgmenu.HeadContent + " {" + strings.Join(choices, "|") + "}"
		}
		f.mu.Lock()
		f.sent[body.ToUser] = append(f.sent[body.ToUser], got)
		f.mu.Unlock()
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	default:
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok"}`)
	}
}

func (f *surveyWeChat) to(openID string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent[openID]...)
}

// TestSurveyEndToEnd is issue 11's done-when, through the WeChat callback,
// signed order events and Slack only (fake APIs): the question after the
// delay to a customer inside the 48-hour window, a low score asked why and
// turned into a follow-up case in the complaints channel, a reply from the
// case's thread reaching the customer, the same order event again sending
// nothing, a customer outside the window counted unreachable with no Slack
// post, a resolved complaint followed by its survey, no survey for the
// resolved follow-up case, and `survey report` matching the answers.
//
// Not parallel: WeChat's API address is process-global.
func TestSurveyEndToEnd(t *testing.T) {
	ctx := context.Background()
	slack := newE2ESlack(t)
	wx := &surveyWeChat{sent: map[string][]string{}}
	wxSrv := httptest.NewServer(wx)
	defer wxSrv.Close()
	const (
		secret       = "e2e-signing-secret"
		ingestSecret = "e2e-ingest-secret"
		wxToken      = "e2etoken"
		complaints   = "CCOMPLAINTS"
		managers     = "CMANAGERS"
		agent        = "UAGENT1"
	)
	a, logs := testApp(t, map[string]string{
		"SLACK_BOT_TOKEN": "xoxb-e2e", "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack.srv.GetAPIURL(),
		"SLACK_COMPLAINTS_CHANNEL": complaints, "SLACK_MANAGERS_CHANNEL": managers,
		"WECHAT_APP_ID": "wxe2e", "WECHAT_APP_SECRET": "secret", "WECHAT_TOKEN": wxToken,
		"WECHAT_API_URL": wxSrv.URL, "OPSBOT_INGEST_SECRET": ingestSecret,
	})
	defer func() {
		if t.Failed() {
			t.Log(logs.String())
		}
	}()
	if err := a.db.PutStaff(ctx, domain.Staff{UserID: agent, Role: domain.RoleManager}); err != nil {
		t.Fatal(err)
	}
	h := a.httpHandler()
	deliver := func() {
		t.Helper()
		if err := a.disp.DeliverAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	msgID := 910000
	say := func(openID, text string) string {
		t.Helper()
		msgID++
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
	start := time.Now()
	order := func(id, orderID, openID string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"events": []map[string]any{{
			"id": id, "type": "order.completed", "order_id": orderID, "customer_id": "cust-" + openID,
			"wechat_openid": openID, "total": "129.90", "occurred_at": start.Format(time.RFC3339),
		}}})
		stamp := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte(ingestSecret))
		fmt.Fprintf(mac, "%s.%s", stamp, body)
		req := httptest.NewRequest(http.MethodPost, "/ingest/orders", strings.NewReader(string(body)))
		req.Header.Set("X-Opsbot-Timestamp", stamp)
		req.Header.Set("X-Opsbot-Signature", "v1="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("ingest: %d %s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	sendJob := func(after time.Duration) {
		t.Helper()
		if err := a.sched.RunManual(ctx, "survey-send", start.Add(after)); err != nil {
			t.Fatal(err)
		}
		deliver()
	}
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
	resolve := func(number, outcome string) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{
			"type": "view_submission", "user": map[string]any{"id": agent, "name": "alice"},
			"view": map[string]any{
				"id": "V1", "callback_id": "complaint.resolve", "private_metadata": number,
				"state": map[string]any{"values": map[string]any{
					"outcome": map[string]any{"outcome": map[string]any{"type": "plain_text_input", "value": outcome}},
				}},
			},
		})
		slackPost("/slack/interactions", url.Values{"payload": {string(b)}}.Encode())
		deliver()
	}
	command := func(text string) string {
		t.Helper()
		body := url.Values{"command": {"/ops"}, "text": {text}, "user_id": {agent}, "channel_id": {"C1"},
			"trigger_id": {"t-" + text}, "response_url": {slack.srv.GetAPIURL() + "response"}}.Encode()
		return slackPost("/slack/commands", body).Body.String()
	}
	mentions := func(channel, s string) int {
		n := 0
		for _, p := range slack.seen("chat.postMessage", channel) {
			if strings.Contains(p.Get("blocks")+p.Get("text"), s) {
				n++
			}
		}
		return n
	}

	// Customer A wrote within the last 48 hours; their order completes.
	say("oSurveyA", "你好")
	if out := order("ev-a-1", "SO-A-1", "oSurveyA"); !strings.Contains(out, `"accepted":1`) {
		t.Fatalf("order event: %s", out)
	}
	sendJob(time.Hour)
	if got := wx.to("oSurveyA"); len(got) != 0 {
		t.Fatalf("survey sent before the 2 h delay: %q", got)
	}
	sendJob(2*time.Hour + time.Minute)
	got := wx.to("oSurveyA")
	if len(got) != 1 || !strings.HasPrefix(got[0], "[menu]") || !strings.Contains(got[0], "1-5") ||
		!strings.Contains(got[0], "SO-A-1") || !strings.Contains(got[0], "2分 不满意") {
		t.Fatalf("customer A got %q, want the question as a menu", got)
	}

	// A answers ２ (full width), is asked why, answers: a follow-up case
	// appears in the complaints channel with the score and the comment.
	if ans := say("oSurveyA", "２"); !strings.Contains(ans, "哪里做得不好") {
		t.Fatalf("low score answer: %s", ans)
	}
	comment := "快递太慢了 包装也压坏了"
	ans := say("oSurveyA", comment)
	caseNo := complaintNumber.FindString(ans)
	if caseNo == "" {
		t.Fatalf("comment answer without a case number: %s", ans)
	}
	deliver()
	posts := slack.seen("chat.postMessage", complaints)
	var card url.Values
	for _, p := range posts {
		if strings.Contains(p.Get("blocks")+p.Get("text"), caseNo) {
			card = p
		}
	}
	if card == nil {
		t.Fatalf("follow-up case %s not posted to the complaints channel: %v", caseNo, posts)
	}
	for _, want := range []string{"2/5", comment, "SO-A-1", "complaint.claim", "complaint.resolve"} {
		if !strings.Contains(card.Get("blocks")+card.Get("text"), want) {
			t.Errorf("case card lacks %q: %s", want, card.Get("blocks"))
		}
	}
	fc, err := a.db.Complaint(ctx, caseNo)
	if err != nil {
		t.Fatal(err)
	}
	if fc.Category != domain.CategoryFollowUp || fc.Source != domain.SourceSurvey || fc.ReplyDue.Sub(fc.CreatedAt) != 24*time.Hour {
		t.Fatalf("case %+v", fc)
	}
	if days := fc.ResolveDue.Sub(fc.CreatedAt); days < 3*24*time.Hour {
		t.Fatalf("case resolve due after %v, want 3 working days", days)
	}

	// A reply from the case's thread reaches the customer.
	reply := "您好，非常抱歉，我们已为您补发，并加急处理。"
	event, _ := json.Marshal(map[string]any{
		"type": "event_callback", "event_id": "EvSurvey1", "team_id": "T1", "api_app_id": "A1",
		"event": map[string]any{
			"type": "message", "channel": complaints, "channel_type": "channel", "user": agent,
			"text": reply, "ts": "1700000200.000001", "thread_ts": card.Get("_ts"),
		},
	})
	slackPost("/slack/events", string(event))
	deliver()
	if got := strings.Join(wx.to("oSurveyA"), "\n"); !strings.Contains(got, reply) {
		t.Fatalf("the customer did not receive the reply; got %q", got)
	}

	// The same order event again, and another event for the same order:
	// nothing more is sent.
	before := len(wx.to("oSurveyA"))
	if out := order("ev-a-1", "SO-A-1", "oSurveyA"); !strings.Contains(out, `"duplicates":1`) {
		t.Fatalf("repeated event: %s", out)
	}
	order("ev-a-2", "SO-A-1", "oSurveyA")
	sendJob(3 * time.Hour)
	if got := wx.to("oSurveyA"); len(got) != before {
		t.Fatalf("the repeated order event sent more: %q", got[before:])
	}

	// Customer B never wrote (outside the window, no survey template):
	// nothing is sent, they are counted as unreachable, and Slack hears
	// nothing of them.
	slackBefore := len(slack.seen("chat.postMessage", ""))
	order("ev-b-1", "SO-B-1", "oSurveyB")
	sendJob(2*time.Hour + 2*time.Minute)
	if got := wx.to("oSurveyB"); len(got) != 0 {
		t.Fatalf("customer B outside the window got %q", got)
	}
	if n := len(slack.seen("chat.postMessage", "")); n != slackBefore {
		t.Fatalf("%d Slack posts for an unreachable customer", n-slackBefore)
	}
	sb, err := a.db.SurveyFor(ctx, domain.TriggerOrder, "SO-B-1")
	if err != nil || sb.State != domain.SurveySkipped || sb.SkipReason != domain.SkipUnreachable {
		t.Fatalf("survey of B: %+v %v", sb, err)
	}

	// Customer D complains; the complaint is resolved from Slack and its
	// survey follows 10 minutes later. D answers 5.
	num := complaintNumber.FindString(say("oSurveyD", "投诉 订单 SO-D-1 收到的杯子碎了"))
	deliver()
	resolve(num, "已补发新杯子")
	sendJob(12 * time.Minute)
	got = wx.to("oSurveyD")
	if len(got) == 0 || !strings.Contains(got[len(got)-1], num) || !strings.Contains(got[len(got)-1], "1-5") {
		t.Fatalf("customer D after the resolution got %q", got)
	}
	if ans := say("oSurveyD", "⭐⭐⭐⭐⭐"); !strings.Contains(ans, "感谢") {
		t.Fatalf("five stars answer: %s", ans)
	}
	if ans := say("oSurveyD", "5"); strings.Contains(ans, "感谢您的支持") {
		t.Fatalf("a second answer was taken as a score: %s", ans)
	}

	// Resolving the follow-up case schedules no survey of it.
	resolve(caseNo, "已补发并致歉")
	if _, err := a.db.SurveyFor(ctx, domain.TriggerComplaint, caseNo); err == nil {
		t.Fatal("the resolved follow-up case was scheduled a survey")
	}
	sendJob(20 * time.Minute)

	// The report matches: 2 sent, 2 answered (2 and 5), 1 unreachable,
	// 1 follow-up.
	day := domain.Midnight(time.Now(), a.cfg.Location)
	period := day.AddDate(0, 0, -1).Format("2006-01-02") + ".." + day.AddDate(0, 0, 1).Format("2006-01-02")
	rep := command("survey report " + period)
	t.Log(rep)
	for _, want := range []string{"Sent", "2 (before: 0)", "100.0%", "3.50 / 5", "below the 4.8 target", "50.0%",
		"unreachable", "1 opened", "After completed orders: sent 1, answered 1, average 2.00",
		"After resolved complaints: sent 1, answered 1, average 5.00", "5: 1", "2: 1"} {
		if !strings.Contains(rep, want) {
			t.Errorf("survey report lacks %q:\n%s", want, rep)
		}
	}
	if n := mentions(managers, "oSurveyB"); n != 0 {
		t.Fatalf("managers told about B %d times", n)
	}
}
