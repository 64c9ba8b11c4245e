package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/complaints"
	"github.com/opsbot/opsbot/store/storetest"
)

// evil is every Slack control sequence a customer might type.
const evil = "<!channel> 退款 <http://x|y> <!here> <!everyone> <@U0CEO> <!subteam^S0TEAM|@managers> " +
	"<#C0SECRET|general> <https://evil.example/login|点此退款> <mailto:a@evil.example|客服邮箱> " +
	"<!date^1392734382^{date}|Feb 18> &amp; &lt;b&gt; \uE000@U0CEO\uE001"

// control matches Slack markup that acts: a special mention, a user or
// channel link, a URL link. opsbot's own mentions of its agents are the
// only <@…> allowed.
var control = regexp.MustCompile(`<[!#]|<@U0CEO|<https?:|<mailto:|\|y>`)

// desk is the complaint desk behind the Slack adapter, on the fake API,
// with a WeChat sender that records what customers receive.
type desk struct {
	*env
	h   *complaints.Complaints
	now time.Time

	wmu    sync.Mutex
	wechat []string
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	ctx := context.Background()
	d := &desk{env: &env{t: t, db: storetest.New(t), fake: newFakeSlack(t)}, now: time.Now()}
	for _, s := range []domain.Staff{{UserID: agentID, Role: domain.RoleAgent}, {UserID: adminID, Role: domain.RoleAdmin}} {
		if err := d.db.PutStaff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	d.router = bot.NewRouter(d.db, log)
	d.router.Questions(d.db)
	clock := handlers.Clock{Loc: time.UTC, Now: func() time.Time { return d.now }}
	d.h = complaints.New(d.db, clock, handlers.Channels{Complaints: "C0COMPLAINTS", Managers: "C0MANAGERS"}, log, &handlers.Events{})
	if err := d.router.Use(d.h.Feature()); err != nil {
		t.Fatal(err)
	}
	if err := handlers.UseBasics(d.router); err != nil {
		t.Fatal(err)
	}
	ad, err := New(ctx, Config{BotToken: "xoxb-test", SigningSecret: testSecret, APIURL: d.fake.url(),
		Handler: d.router, Deliveries: d.db, Outbox: OutboxFunc(d.db.Enqueue), Log: log, BotUserID: botID})
	if err != nil {
		t.Fatal(err)
	}
	d.ad = ad
	d.disp = &bot.Dispatcher{Store: d.db, Log: log, Senders: map[domain.Platform]bot.Sender{
		domain.PlatformSlack: ad,
		domain.PlatformWeChat: bot.SenderFunc(func(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
			d.wmu.Lock()
			defer d.wmu.Unlock()
			d.wechat = append(d.wechat, bot.PlainText(it.Content))
			return domain.Delivery{TS: fmt.Sprint(it.ID)}, nil
		}),
	}}
	d.mux = http.NewServeMux()
	d.mux.Handle("POST /slack/commands", ad.Commands())
	d.mux.Handle("POST /slack/events", ad.Events())
	d.mux.Handle("POST /slack/interactions", ad.Interactions())
	return d
}

// customer says something on WeChat.
func (d *desk) customer(text string) bot.Reply {
	return d.router.Handle(context.Background(), bot.Message{Platform: domain.PlatformWeChat, UserID: "oCUSTOMER0001",
		Role: domain.RoleCustomer, Text: text, ID: fmt.Sprint(time.Now().UnixNano()), Time: time.Now()})
}

// flush delivers the outbox, thread replies included (they wait for their
// parent's ts).
func (d *desk) flush() {
	d.t.Helper()
	d.ad.Wait()
	for range 3 {
		if err := d.disp.DeliverAll(context.Background()); err != nil {
			d.t.Fatal(err)
		}
		if _, err := d.db.SQL().Exec(`UPDATE outbox SET next_attempt_at = now() WHERE state = 'pending'`); err != nil {
			d.t.Fatal(err)
		}
	}
}

// strs lists every string in a form value or JSON document.
func strs(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		var j any
		if (strings.HasPrefix(x, "[") || strings.HasPrefix(x, "{")) && json.Unmarshal([]byte(x), &j) == nil {
			return strs(j, out)
		}
		return append(out, x)
	case []any:
		for _, e := range x {
			out = strs(e, out)
		}
	case map[string]any:
		for _, e := range x {
			out = strs(e, out)
		}
	case []string:
		for _, e := range x {
			out = strs(e, out)
		}
	case url.Values:
		for _, e := range x {
			out = strs(e, out)
		}
	}
	return out
}

// TestCustomerTextInertInSlack: a WeChat complaint full of Slack control
// sequences reaches Slack — the card, its updates, thread posts, SLA
// alerts, `complaint show` and `complaint list`, blocks and fallback text
// alike — with every one of them escaped.
func TestCustomerTextInertInSlack(t *testing.T) {
	d := newDesk(t)
	rep := d.customer("投诉 " + evil)
	number := regexp.MustCompile(`TS-\d{8}-\d{4}`).FindString(rep.Text)
	if number == "" {
		t.Fatalf("no complaint filed: %q", rep.Text)
	}
	d.customer("还有 <!channel> <http://x|y> 补充")
	d.flush()

	// Staff look at it from Slack, and the SLA clock runs out.
	var bodies []string
	for _, cmd := range []string{"complaint show " + number, "complaint list all", "complaint list open"} {
		rec := d.post("/slack/commands", d.slash(agentID, cmd))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", cmd, rec.Code)
		}
		bodies = append(bodies, rec.Body.String())
	}
	if rec := d.post("/slack/commands", d.slash(agentID, "complaint claim "+number)); rec.Code != http.StatusOK {
		t.Fatalf("claim: %d", rec.Code)
	}
	d.flush()
	for _, at := range []time.Duration{23 * time.Hour, 25 * time.Hour, 47 * time.Hour, 49 * time.Hour} {
		if err := d.h.SweepSLA(context.Background(), d.now.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	d.flush()

	var all []string
	for _, c := range d.fake.calls {
		all = strs(c.Form, all)
		if c.JSON != nil {
			all = strs(c.JSON, all)
		}
	}
	for _, b := range bodies {
		all = strs(b, all)
	}
	seenEscaped := 0
	for _, s := range all {
		if loc := control.FindStringIndex(s); loc != nil {
			t.Errorf("Slack got live markup %q in:\n%s", s[loc[0]:loc[1]], s)
		}
		if strings.Contains(s, "&lt;!channel&gt;") {
			seenEscaped++
		}
		if strings.ContainsAny(s, "\uE000\uE001") {
			t.Errorf("a markup sentinel reached Slack: %q", s)
		}
	}
	posts := len(d.fake.got("chat.postMessage")) + len(d.fake.got("chat.update")) + len(d.fake.got("response"))
	if posts < 5 || seenEscaped < 5 {
		t.Fatalf("only %d posts and %d escaped texts reached Slack; the test proves nothing", posts, seenEscaped)
	}
	// opsbot's own markup still works: the claim names the agent.
	found := false
	for _, s := range all {
		found = found || strings.Contains(s, "<@"+agentID+">")
	}
	if !found {
		t.Error("no message mentions the agent who claimed the complaint")
	}
}

// TestStaffTextDecodedForCustomers: what an agent types in Slack reaches
// the customer as typed, not in Slack's escaped wire format.
func TestStaffTextDecodedForCustomers(t *testing.T) {
	d := newDesk(t)
	rep := d.customer("投诉 杯子碎了")
	number := regexp.MustCompile(`TS-\d{8}-\d{4}`).FindString(rep.Text)
	d.flush()
	card := d.fake.got("chat.postMessage")
	if number == "" || len(card) == 0 {
		t.Fatalf("no complaint card: %q", rep.Text)
	}
	// A reply in the card's thread, as the Events API delivers it.
	ev, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": "EvReply1", "event": map[string]any{
		"type": "message", "channel_type": "channel", "user": agentID, "channel": "C0COMPLAINTS",
		"text": "满 100 &amp; 包邮 &lt;3 天&gt; <https://shop.example/c|领券> <#C0OPS|ops>",
		"ts":   "1700000100.000100", "thread_ts": card[0].Form.Get("_ts"),
	}})
	if rec := d.post("/slack/events", string(ev)); rec.Code != http.StatusOK {
		t.Fatalf("thread reply: %d %s", rec.Code, rec.Body)
	}
	// The same through the slash command.
	if rec := d.post("/slack/commands", d.slash(agentID, "complaint reply "+number+" 好的 &amp; 谢谢 &lt;3 <@"+adminID+">")); rec.Code != http.StatusOK {
		t.Fatalf("command: %d", rec.Code)
	}
	d.flush()
	want := []string{"满 100 & 包邮 <3 天> 领券 (https://shop.example/c) #ops", "好的 & 谢谢 <3 @" + adminID}
	d.wmu.Lock()
	got := strings.Join(d.wechat, "\n---\n")
	d.wmu.Unlock()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("the customer did not get %q; WeChat got:\n%s", w, got)
		}
	}
	if strings.Contains(got, "&amp;") || strings.Contains(got, "&lt;") || strings.Contains(got, "<http") {
		t.Errorf("Slack's escaping reached the customer:\n%s", got)
	}
}

// TestEscapeAndDecode pins both directions of escape.go.
func TestEscapeAndDecode(t *testing.T) {
	for in, want := range map[string]string{
		"<!channel> a & b":                    "&lt;!channel&gt; a &amp; b",
		"&amp;":                               "&amp;amp;",
		"hi " + domain.MarkUser("U1A", "ann"): "hi <@U1A>",
		"#" + domain.MarkChannel("C1", ""):    "#<#C1>",
		"\uE000!channel\uE001":                "!channel",
		"\uE000@U1":                           "@U1",
		"x\uE001y":                            "xy",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"满 100 &amp; 包邮 &lt;3 天&gt;":          "满 100 & 包邮 <3 天>",
		"<https://a.example/x|看这里>":           "看这里 (https://a.example/x)",
		"<https://a.example>":                 "https://a.example",
		"<http://a.example|a.example>":        "http://a.example",
		"<mailto:a@b.example|a@b.example>":    "a@b.example",
		"<@U123> <@U456|bob>":                 "@U123 @U456",
		"<#C123|general> <#C456>":             "#general #C456",
		"<!here> <!channel> <!everyone>":      "@here @channel @everyone",
		"<!subteam^S1|@ops> <!date^1^{d}|今天>": "@ops 今天",
		"a\x00b\uE000c":                       "abc",
		"&amp;lt;":                            "&lt;",
		"unclosed <https://x":                 "unclosed <https://x",
	} {
		if got := fromSlack(in); got != want {
			t.Errorf("fromSlack(%q) = %q, want %q", in, got, want)
		}
	}
}

// opsbot's quotes are block quotes in Slack; a customer's ">" is text.
func TestQuoteRendering(t *testing.T) {
	got := text(handlers.Quote("> not a quote\nline two"))
	if want := "> &gt; not a quote\n> line two"; got != want {
		t.Fatalf("text(Quote(...)) = %q, want %q", got, want)
	}
	if got := bot.PlainText(domain.Content{Text: handlers.Quote("a\nb")}); got != "> a\n> b" {
		t.Fatalf("PlainText(Quote) = %q", got)
	}
}
