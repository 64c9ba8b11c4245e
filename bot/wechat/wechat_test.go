package wechat

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// Tencent's published WXBizMsgCrypt sample.
const (
	sampleToken     = "spamtest"
	sampleAESKey    = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	sampleAppID     = "wx2c2769f8efd9abc2"
	sampleTimestamp = "1409735669"
	sampleNonce     = "1320562132"
	sampleMsgSig    = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
	sampleEncrypt   = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

// Customer texts as the handlers package has them (not imported: it is
// another team's, and the adapter must work with any texts).
const (
	testMenu    = "您好，这里是客服小助手，可以帮您：\n1. 投诉\n2. 查进度\n回复「帮助」可随时查看本菜单。"
	testWelcome = "感谢关注！\n" + testMenu
)

// countingHandler counts messages and can hold some of them back.
type countingHandler struct {
	h     bot.Handler
	calls atomic.Int64
	mu    sync.Mutex
	texts []string
	hold  map[string]chan struct{} // text → released when closed
}

func (c *countingHandler) Handle(ctx context.Context, msg bot.Message) bot.Reply {
	c.calls.Add(1)
	c.mu.Lock()
	c.texts = append(c.texts, msg.Text)
	ch := c.hold[msg.Text]
	c.mu.Unlock()
	if ch != nil {
		<-ch
	}
	return c.h.Handle(ctx, msg)
}

func (c *countingHandler) seen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.texts...)
}

type env struct {
	db  *store.DB
	acc Account
	h   *countingHandler
	ad  *Adapter
}

func newEnv(t *testing.T, acc Account, opt Options) *env {
	t.Helper()
	db := storetest.New(t)
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.HandleCustomer(bot.CustomerIntent{Name: "help", Keywords: []string{"帮助", "菜单"},
		Run: func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Text(testMenu), nil }})
	r.CustomerFallback(func(context.Context, *bot.Request) (bot.Reply, error) {
		return bot.Text("抱歉，我没有理解您的意思。\n" + testMenu), nil
	})
	h := &countingHandler{h: r, hold: map[string]chan struct{}{}}
	if opt.Welcome == "" {
		opt.Welcome = testWelcome
	}
	if opt.MaxSkew == 0 {
		opt.MaxSkew = -1 // recorded timestamps; TestStaleTimestamp checks freshness
	}
	inbox, err := db.NewWeChatInbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	ad, err := New(acc, h, inbox, opt)
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, acc: acc, h: h, ad: ad}
}

// runSeq keeps identities unique across -count runs: the fake API is
// shared and remembers.
var runSeq atomic.Int64

func uniq() string { return "-" + strconv.FormatInt(runSeq.Add(1), 10) }

func plainAccount(t *testing.T) Account {
	return Account{AppID: "wx" + t.Name() + uniq(), AppSecret: "secret", Token: "tok" + t.Name()}
}

func safeAccount(t *testing.T) Account {
	acc := plainAccount(t)
	acc.EncodingAESKey = sampleAESKey
	return acc
}

func textXML(from, msgID, content string) []byte {
	return []byte(fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>`+
		`<MsgId>%s</MsgId></xml>`, from, content, msgID))
}

func eventXML(from, event, key string, created int64) []byte {
	return []byte(fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event>`+
		`<EventKey><![CDATA[%s]]></EventKey></xml>`, from, created, event, key))
}

// post sends inner as WeChat would: plaintext, or encrypted with
// silenceper's own implementation when the account has a key.
func (e *env) post(t *testing.T, inner []byte) *httptest.ResponseRecorder {
	t.Helper()
	ts, nonce := "1700000001", "n"+strconv.Itoa(len(inner))
	q := url.Values{"signature": {sign(e.acc.Token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}, "openid": {"x"}}
	body := inner
	if e.acc.EncodingAESKey != "" {
		enc, err := util.EncryptMsg([]byte("0123456789abcdef"), inner, e.acc.AppID, e.acc.EncodingAESKey)
		if err != nil {
			t.Fatal(err)
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", sign(e.acc.Token, ts, nonce, string(enc)))
		body = []byte("<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>")
	}
	return e.do(http.MethodPost, "/wechat?"+q.Encode(), body)
}

func (e *env) do(method, target string, body []byte) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ad.ServeHTTP(w, httptest.NewRequest(method, target, strings.NewReader(string(body))))
	return w
}

type replyMsg struct {
	ToUserName   string `xml:"ToUserName"`
	FromUserName string `xml:"FromUserName"`
	MsgType      string `xml:"MsgType"`
	Content      string `xml:"Content"`
}

// open checks and decrypts a reply the way WeChat would, with
// silenceper's implementation, and parses the text message inside.
func (e *env) open(t *testing.T, body string) replyMsg {
	t.Helper()
	inner := []byte(body)
	if e.acc.EncodingAESKey != "" {
		var env struct {
			Encrypt      string `xml:"Encrypt"`
			MsgSignature string `xml:"MsgSignature"`
			TimeStamp    string `xml:"TimeStamp"`
			Nonce        string `xml:"Nonce"`
		}
		if err := xml.Unmarshal(inner, &env); err != nil {
			t.Fatalf("reply is not an envelope: %v\n%s", err, body)
		}
		if want := util.Signature(e.acc.Token, env.TimeStamp, env.Nonce, env.Encrypt); env.MsgSignature != want {
			t.Fatalf("reply MsgSignature = %s, want %s", env.MsgSignature, want)
		}
		_, raw, err := util.DecryptMsg(e.acc.AppID, env.Encrypt, e.acc.EncodingAESKey)
		if err != nil {
			t.Fatalf("reply does not decrypt: %v", err)
		}
		inner = raw
	}
	var m replyMsg
	if err := xml.Unmarshal(inner, &m); err != nil {
		t.Fatalf("reply is not XML: %v\n%s", err, inner)
	}
	return m
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSampleVector(t *testing.T) {
	t.Parallel()
	if !signatureOK(sampleMsgSig, sampleToken, sampleTimestamp, sampleNonce, sampleEncrypt) {
		t.Fatal("sample msg_signature does not verify")
	}
	c, err := newCryptor(sampleAppID, sampleAESKey)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.decrypt(sampleEncrypt)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseInbound(raw)
	if err != nil {
		t.Fatal(err)
	}
	if m.FromUserName != "oyORnuP8q7ou2gfYjqLzSIWZf0rs" || m.ToUserName != "gh_10f6c3c3ac5a" ||
		m.Content != "abcdteT" || m.MsgID != "6054768590064713728" || m.CreateTime != 1409735668 || m.MsgType != "text" {
		t.Fatalf("sample decrypted to %+v", m)
	}
	if _, err := (&cryptor{appID: "wxOTHER", block: c.block, iv: c.iv}).decrypt(sampleEncrypt); err == nil {
		t.Fatal("sample decrypted for another AppID")
	}
	// Our encryption round-trips through silenceper's decryption.
	enc, err := c.encrypt([]byte("<xml>你好 😀</xml>"))
	if err != nil {
		t.Fatal(err)
	}
	if _, got, err := util.DecryptMsg(sampleAppID, enc, sampleAESKey); err != nil || string(got) != "<xml>你好 😀</xml>" {
		t.Fatalf("silenceper decrypts our payload to %q, %v", got, err)
	}
}

// The sample request, as WeChat sent it, through the whole handler.
func TestSampleVectorRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Account{AppID: sampleAppID, AppSecret: "secret", Token: sampleToken, EncodingAESKey: sampleAESKey}, Options{})
	q := url.Values{
		"signature": {sign(sampleToken, sampleTimestamp, sampleNonce)}, "timestamp": {sampleTimestamp},
		"nonce": {sampleNonce}, "encrypt_type": {"aes"}, "msg_signature": {sampleMsgSig},
	}
	body := "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[" + sampleEncrypt + "]]></Encrypt></xml>"
	w := e.do(http.MethodPost, "/wechat?"+q.Encode(), []byte(body))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	m := e.open(t, w.Body.String())
	if m.ToUserName != "oyORnuP8q7ou2gfYjqLzSIWZf0rs" || m.FromUserName != "gh_10f6c3c3ac5a" || !strings.Contains(m.Content, "抱歉") {
		t.Fatalf("reply %+v", m)
	}
	if got := e.h.seen(); len(got) != 1 || got[0] != "abcdteT" {
		t.Fatalf("handler saw %q", got)
	}
}

func TestURLCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plainAccount(t), Options{})
	q := url.Values{"signature": {sign(e.acc.Token, "1700000000", "42")}, "timestamp": {"1700000000"}, "nonce": {"42"},
		"echostr": {"7281974203871"}}
	w := e.do(http.MethodGet, "/wechat?"+q.Encode(), nil)
	if w.Code != http.StatusOK || w.Body.String() != "7281974203871" {
		t.Fatalf("URL check: %d %q", w.Code, w.Body)
	}
	q.Set("nonce", "43")
	if w := e.do(http.MethodGet, "/wechat?"+q.Encode(), nil); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "7281974203871") {
		t.Fatalf("forged URL check: %d %q", w.Code, w.Body)
	}
}

func TestPlaintextRoundTrip(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	w := e.post(t, textXML("oPlain1"+sfx, "1001", " 帮助 "))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	m := e.open(t, w.Body.String())
	if m.ToUserName != "oPlain1"+sfx || m.FromUserName != "gh_shop" || m.MsgType != "text" || m.Content != testMenu {
		t.Fatalf("reply %+v", m)
	}
	f, err := e.db.WeChatFollower(context.Background(), "oPlain1"+sfx)
	if err != nil || f.Allowance != allowancePerMessage || !f.WindowOpen(time.Now()) {
		t.Fatalf("follower %+v, %v", f, err)
	}
}

// The "done when": a safe-mode 帮助 gets an encrypted Chinese reply
// that verifies and decrypts with the account's key; delivered three
// times, it is processed once and answered identically.
func TestSafeModeHelpOnceAndIdentical(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, safeAccount(t), Options{})
	msg := textXML("oSafe1"+sfx, "2001", "帮助")
	var bodies []string
	for range 3 {
		w := e.post(t, msg)
		if w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		bodies = append(bodies, w.Body.String())
	}
	m := e.open(t, bodies[0])
	if m.ToUserName != "oSafe1"+sfx || m.Content != testMenu {
		t.Fatalf("reply %+v", m)
	}
	if strings.Contains(bodies[0], "投诉") {
		t.Fatal("reply is not encrypted")
	}
	if bodies[1] != bodies[0] || bodies[2] != bodies[0] {
		t.Fatal("retries were answered differently")
	}
	if n := e.h.calls.Load(); n != 1 {
		t.Fatalf("processed %d times", n)
	}
}

// Retries arriving while the first try is still working wait for its
// answer.
func TestConcurrentRetries(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, safeAccount(t), Options{})
	release := make(chan struct{})
	e.h.hold["投诉 杯子碎了"] = release
	msg := textXML("oConc1"+sfx, "2101", "投诉 杯子碎了")
	bodies := make([]string, 3)
	var wg sync.WaitGroup
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = e.post(t, msg).Body.String()
		}()
	}
	for e.h.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for _, b := range bodies {
		if b != bodies[0] || !strings.HasPrefix(b, "<xml><Encrypt>") {
			t.Fatalf("answers differ or are empty: %q", bodies)
		}
	}
	if n := e.h.calls.Load(); n != 1 {
		t.Fatalf("processed %d times", n)
	}
}

func TestForgedSignatures(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, safeAccount(t), Options{})
	inner := textXML("oForge1"+sfx, "3001", "帮助")
	enc, _ := util.EncryptMsg([]byte("0123456789abcdef"), inner, e.acc.AppID, e.acc.EncodingAESKey)
	envBody := []byte("<xml><Encrypt><![CDATA[" + string(enc) + "]]></Encrypt></xml>")
	good := url.Values{"signature": {sign(e.acc.Token, "1700000001", "n1")}, "timestamp": {"1700000001"},
		"nonce": {"n1"}, "encrypt_type": {"aes"}, "msg_signature": {sign(e.acc.Token, "1700000001", "n1", string(enc))}}
	cases := map[string]struct {
		q    func(url.Values)
		body []byte
	}{
		"no signature":               {q: func(q url.Values) { q.Del("signature") }, body: envBody},
		"wrong signature":            {q: func(q url.Values) { q.Set("signature", sign("other", "1700000001", "n1")) }, body: envBody},
		"upper-case hex":             {q: func(q url.Values) { q.Set("signature", strings.ToUpper(q.Get("signature"))) }, body: envBody},
		"changed nonce":              {q: func(q url.Values) { q.Set("nonce", "n2") }, body: envBody},
		"wrong msgsig":               {q: func(q url.Values) { q.Set("msg_signature", sign(e.acc.Token, "1700000001", "n1", "x")) }, body: envBody},
		"no msgsig":                  {q: func(q url.Values) { q.Del("msg_signature") }, body: envBody},
		"plaintext when key":         {q: func(q url.Values) { q.Del("encrypt_type"); q.Del("msg_signature") }, body: inner},
		"garbage with bad signature": {q: func(q url.Values) { q.Set("signature", "0") }, body: []byte("<<<")},
	}
	for name, c := range cases {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		c.q(q)
		w := e.do(http.MethodPost, "/wechat?"+q.Encode(), c.body)
		if w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, w.Code)
		}
	}
	if n := count(t, e.db, "inbound_dedupe") + count(t, e.db, "wechat_followers") + count(t, e.db, "outbox"); n != 0 {
		t.Fatalf("forged requests left %d rows", n)
	}
	if e.h.calls.Load() != 0 {
		t.Fatal("forged request reached the handler")
	}
	// The genuine one goes through.
	if w := e.do(http.MethodPost, "/wechat?"+good.Encode(), envBody); w.Code != http.StatusOK {
		t.Fatalf("genuine request: %d", w.Code)
	}
}

func TestMalformedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plainAccount(t), Options{})
	for name, body := range map[string]string{
		"not XML":        "hello",
		"empty":          "",
		"wrong root":     "<foo><FromUserName>o</FromUserName><MsgType>text</MsgType></foo>",
		"no sender":      "<xml><MsgType>text</MsgType><Content>hi</Content></xml>",
		"event no name":  "<xml><FromUserName>o</FromUserName><MsgType>event</MsgType></xml>",
		"bad CreateTime": "<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><CreateTime>x</CreateTime></xml>",
		"truncated":      "<xml><FromUserName>o</FromUserName><MsgType>text",
	} {
		if w := e.post(t, []byte(body)); w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, w.Code)
		}
	}
	big := make([]byte, maxBody+1)
	if w := e.post(t, big); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: status %d, want 413", w.Code)
	}
	if n := count(t, e.db, "inbound_dedupe"); n != 0 {
		t.Fatalf("malformed requests left %d rows", n)
	}
	// Safe mode: a valid signature on an envelope that does not decrypt.
	s := newEnv(t, safeAccount(t), Options{})
	enc := "bm90IGNpcGhlcnRleHQgYXQgYWxsIG5vdCBjaXBoZXJ0ZXh0IGF0IGFsbA=="
	q := url.Values{"signature": {sign(s.acc.Token, "1", "n")}, "timestamp": {"1"}, "nonce": {"n"},
		"encrypt_type": {"aes"}, "msg_signature": {sign(s.acc.Token, "1", "n", enc)}}
	if w := s.do(http.MethodPost, "/wechat?"+q.Encode(), []byte("<xml><Encrypt>"+enc+"</Encrypt></xml>")); w.Code != http.StatusBadRequest {
		t.Errorf("undecryptable: status %d, want 400", w.Code)
	}
	if w := s.do(http.MethodPost, "/wechat?"+q.Encode(), []byte("<xml><Encrypt>")); w.Code != http.StatusBadRequest {
		t.Errorf("broken envelope: status %d, want 400", w.Code)
	}
}

func TestEventsAndOtherMessages(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	ctx := context.Background()

	m := e.open(t, e.post(t, eventXML("oEv1"+sfx, "subscribe", "", 1700000100)).Body.String())
	if m.Content != testWelcome {
		t.Fatalf("welcome %q", m.Content)
	}
	if f, err := e.db.WeChatFollower(ctx, "oEv1"+sfx); err != nil || !f.Subscribed || f.Allowance != allowancePerEvent {
		t.Fatalf("follower after subscribe %+v, %v", f, err)
	}
	e.post(t, eventXML("oEv1"+sfx, "CLICK", "PROGRESS", 1700000101))
	e.post(t, eventXML("oEv1"+sfx, "CLICK", "HELP", 1700000102))
	if got := e.h.seen(); len(got) != 2 || got[0] != "进度" || got[1] != "帮助" {
		t.Fatalf("clicks routed as %q", got)
	}
	for _, typ := range []string{"image", "voice", "location", "video", "link"} {
		body := fmt.Sprintf(`<xml><FromUserName>oEv1</FromUserName><CreateTime>1</CreateTime><MsgType>%s</MsgType><MsgId>9%s</MsgId></xml>`, typ, typ)
		if m := e.open(t, e.post(t, []byte(body)).Body.String()); m.Content != TextOnly {
			t.Errorf("%s answered %q", typ, m.Content)
		}
	}
	if w := e.post(t, eventXML("oEv1"+sfx, "VIEW", "https://shop.example", 1700000103)); w.Body.String() != "success" {
		t.Errorf("VIEW answered %q", w.Body)
	}
	if w := e.post(t, eventXML("oEv1"+sfx, "unsubscribe", "", 1700000104)); w.Body.String() != "success" {
		t.Errorf("unsubscribe answered %q", w.Body)
	}
	if f, err := e.db.WeChatFollower(ctx, "oEv1"+sfx); err != nil || f.Subscribed || f.Allowance != 0 {
		t.Fatalf("follower after unsubscribe %+v, %v", f, err)
	}
	// An event retried is processed once too.
	e.post(t, eventXML("oEv1"+sfx, "CLICK", "HELP", 1700000102))
	if n := len(e.h.seen()); n != 2 {
		t.Fatalf("retried click processed again (%d)", n)
	}
}

func TestLongTextAnsweredPolitely(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	long := "投诉 " + strings.Repeat("杯子碎了😀", 400)
	m := e.open(t, e.post(t, textXML("oLong1"+sfx, "4001", long)).Body.String())
	if !strings.Contains(m.Content, Truncated) {
		t.Fatalf("no note about the cut: %q", m.Content)
	}
	if got := e.h.seen(); len([]rune(got[0])) != MaxTextRunes {
		t.Fatalf("handler got %d runes", len([]rune(got[0])))
	}
}

// testDispatcher delivers WeChat through s and records everything else
// (the agents' Slack messages).
type recorder struct {
	mu  sync.Mutex
	got []domain.OutboxItem
}

func (r *recorder) Send(_ context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, it)
	return domain.Delivery{Channel: it.To, TS: strconv.FormatInt(it.ID, 10)}, nil
}

func newDispatcher(db *store.DB, s *Sender) (*bot.Dispatcher, *recorder) {
	rec := &recorder{}
	return &bot.Dispatcher{Store: db, Senders: map[domain.Platform]bot.Sender{domain.PlatformWeChat: s},
		Fallback: rec, Log: slog.New(slog.DiscardHandler)}, rec
}

func newSender(db *store.DB, acc Account, opt SenderOptions) *Sender {
	return NewSender(NewOfficialAccount(acc, TokenCache{Store: db}), db, opt)
}

func TestSlowHandlerAnswersLater(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, safeAccount(t), Options{Deadline: 20 * time.Millisecond})
	release := make(chan struct{})
	e.h.hold["帮助"] = release
	w := e.post(t, textXML("oSlow1"+sfx, "5001", "帮助"))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Fatalf("late handler: %d %q", w.Code, w.Body)
	}
	// A retry meanwhile gets the same "success".
	if w := e.post(t, textXML("oSlow1"+sfx, "5001", "帮助")); w.Body.String() != "success" {
		t.Fatalf("retry got %q", w.Body)
	}
	close(release)
	e.ad.Wait()
	d, rec := newDispatcher(e.db, newSender(e.db, e.acc, SenderOptions{}))
	if err := d.DeliverAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := fake.sentTo("oSlow1" + sfx)
	if len(got) != 1 || got[0].API != "custom" || got[0].Text != testMenu {
		t.Fatalf("delivered %+v (others: %+v)", got, rec.got)
	}
	if e.h.calls.Load() != 1 {
		t.Fatalf("processed %d times", e.h.calls.Load())
	}
}

func TestWindowClosed(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	db := storetest.New(t)
	ctx := context.Background()
	acc := plainAccount(t)
	now := time.Now()
	for _, id := range []string{"oWin1" + sfx, "oWin2" + sfx} {
		if err := db.WeChatTouch(ctx, id, now.Add(-49*time.Hour), allowancePerMessage); err != nil {
			t.Fatal(err)
		}
	}
	s := newSender(db, acc, SenderOptions{Templates: map[string]string{"complaint_update": "TPL-1"}, Agents: "C0AGENTS"})
	content := domain.Content{Title: "您的投诉有新进展", Fields: []domain.Field{
		{Label: "投诉编号", Value: "TS-20261122-0001"}, {Label: "处理状态", Value: "已安排补发，预计\n三天内到达，请您留意快递信息"}},
		Note: "如有疑问请回复本公众号"}
	if err := db.Enqueue(ctx,
		domain.Outgoing{Platform: domain.PlatformWeChat, To: "oWin1" + sfx, Template: "complaint_update", Content: content},
		domain.Outgoing{Platform: domain.PlatformWeChat, To: "oWin2" + sfx, Template: "campaign", Content: domain.Content{Text: "明天10点，双11活动正式开始！"}},
	); err != nil {
		t.Fatal(err)
	}
	d, rec := newDispatcher(db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	got := fake.sentTo("oWin1" + sfx)
	if len(got) != 1 || got[0].API != "template" || got[0].TemplateID != "TPL-1" {
		t.Fatalf("oWin1 got %+v", got)
	}
	for k, v := range got[0].Data {
		if len([]rune(v)) > maxTemplateField || strings.Contains(v, "\n") {
			t.Errorf("template field %s = %q", k, v)
		}
	}
	if got[0].Data["first"] != "您的投诉有新进展" || got[0].Data["keyword1"] != "TS-20261122-0001" {
		t.Errorf("template data %v", got[0].Data)
	}
	if got := fake.sentTo("oWin2" + sfx); len(got) != 0 {
		t.Fatalf("oWin2 got %+v", got)
	}
	failed, err := db.FailedOutbox(ctx, 10)
	if err != nil || len(failed) != 1 || failed[0].To != "oWin2"+sfx || !strings.Contains(failed[0].LastError, "45015_window_closed") {
		t.Fatalf("failed %+v, %v", failed, err)
	}
	if len(rec.got) != 1 || rec.got[0].Platform != domain.PlatformSlack || rec.got[0].To != "C0AGENTS" ||
		!strings.Contains(bot.PlainText(rec.got[0].Content), "oWin2"+sfx) {
		t.Fatalf("agents told %+v", rec.got)
	}
}

func TestAllowanceAndWeChatRefusals(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	ctx := context.Background()
	e.post(t, textXML("oQuota1"+sfx, "6001", "你好"))
	s := newSender(e.db, e.acc, SenderOptions{})
	send := func(to string) error {
		_, err := s.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{ID: 1, Platform: domain.PlatformWeChat,
			Kind: domain.OutPost, To: to, Content: domain.Content{Text: "您好"}}})
		return err
	}
	for i := range allowancePerMessage {
		if err := send("oQuota1" + sfx); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	err := send("oQuota1" + sfx)
	var se *domain.SendError
	if !errors.As(err, &se) || !se.Permanent || se.Reason != "45047_out_of_quota" {
		t.Fatalf("over allowance: %v", err)
	}
	if n := len(fake.sentTo("oQuota1" + sfx)); n != allowancePerMessage {
		t.Fatalf("WeChat got %d", n)
	}

	// WeChat knows better: 45015 with our window open falls back.
	e.post(t, textXML("oQuota2"+sfx, "6002", "你好"))
	fake.failNext("oQuota2"+sfx, CodeWindowClosed)
	if err := send("oQuota2" + sfx); !errors.As(err, &se) || se.Reason != "45015_window_closed" {
		t.Fatalf("45015: %v", err)
	}
	if f, _ := e.db.WeChatFollower(ctx, "oQuota2"+sfx); f.Allowance != 0 {
		t.Fatalf("window still open after 45015: %+v", f)
	}

	// System busy and API limits are retried, and give the allowance back.
	e.post(t, textXML("oQuota3"+sfx, "6003", "你好"))
	fake.failNext("oQuota3"+sfx, CodeSystemBusy, CodeAPILimit)
	if err := send("oQuota3" + sfx); err == nil || domain.IsPermanent(err) {
		t.Fatalf("busy: %v", err)
	}
	if err := send("oQuota3" + sfx); domain.RetryAfter(err) == 0 {
		t.Fatalf("api limit: %v", err)
	}
	if f, _ := e.db.WeChatFollower(ctx, "oQuota3"+sfx); f.Allowance != allowancePerMessage {
		t.Fatalf("allowance not given back: %+v", f)
	}
	if err := send("oQuota3" + sfx); err != nil {
		t.Fatal(err)
	}
}

func TestUnsubscribeStopsSending(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	ctx := context.Background()
	e.post(t, eventXML("oUnsub1"+sfx, "subscribe", "", 1700000200))
	e.post(t, textXML("oUnsub1"+sfx, "7001", "投诉 杯子碎了"))
	e.post(t, eventXML("oUnsub1"+sfx, "unsubscribe", "", 1700000300))
	s := newSender(e.db, e.acc, SenderOptions{Templates: map[string]string{"complaint_update": "TPL-1"}})
	if err := e.db.Enqueue(ctx, domain.Outgoing{Platform: domain.PlatformWeChat, To: "oUnsub1" + sfx,
		Template: "complaint_update", Content: domain.Content{Text: "您的投诉已处理"}}); err != nil {
		t.Fatal(err)
	}
	d, rec := newDispatcher(e.db, s)
	if err := d.DeliverAll(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fake.sentTo("oUnsub1" + sfx); len(got) != 0 {
		t.Fatalf("sent to an unfollower: %+v", got)
	}
	failed, _ := e.db.FailedOutbox(ctx, 10)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "43004_unsubscribed") {
		t.Fatalf("failed %+v", failed)
	}
	if len(rec.got) != 1 || rec.got[0].To != "#complaints" {
		t.Fatalf("agents told %+v", rec.got)
	}

	// WeChat saying 43004 records the unfollow.
	e.post(t, textXML("oUnsub2"+sfx, "7002", "你好"))
	fake.failNext("oUnsub2"+sfx, CodeUnsubscribed)
	_, err := s.Send(ctx, domain.OutboxItem{Outgoing: domain.Outgoing{ID: 99, Platform: domain.PlatformWeChat,
		Kind: domain.OutPost, To: "oUnsub2" + sfx, Content: domain.Content{Text: "您好"}}})
	if !errors.Is(err, ErrUnsubscribed) || !domain.IsPermanent(err) {
		t.Fatalf("43004: %v", err)
	}
	if f, _ := e.db.WeChatFollower(ctx, "oUnsub2"+sfx); f.Subscribed {
		t.Fatal("43004 did not record the unfollow")
	}
}

// Two replicas (two OfficialAccounts on one database) share one token,
// and a rejected token is refreshed once.
func TestSharedTokenAndRefresh(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{})
	ctx := context.Background()
	for i, id := range []string{"oTok1" + sfx, "oTok2" + sfx} {
		e.post(t, textXML(id, strconv.Itoa(8001+i), "你好"))
	}
	s1, s2 := newSender(e.db, e.acc, SenderOptions{}), newSender(e.db, e.acc, SenderOptions{})
	item := func(to string) domain.OutboxItem {
		return domain.OutboxItem{Outgoing: domain.Outgoing{ID: 1, Platform: domain.PlatformWeChat, Kind: domain.OutPost,
			To: to, Content: domain.Content{Text: "您好"}}}
	}
	for _, s := range []*Sender{s1, s2, s1, s2} {
		for _, to := range []string{"oTok1" + sfx, "oTok2" + sfx} {
			if _, err := s.Send(ctx, item(to)); err != nil && !domain.IsPermanent(err) {
				t.Fatal(err)
			}
		}
	}
	if n := fake.tokenFetches(e.acc.AppID); n != 1 {
		t.Fatalf("token fetched %d times by two replicas", n)
	}
	fake.revoke(e.acc.AppID)
	e.post(t, textXML("oTok1"+sfx, "8010", "你好"))
	if _, err := s2.Send(ctx, item("oTok1"+sfx)); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := fake.tokenFetches(e.acc.AppID); n != 2 {
		t.Fatalf("token fetched %d times, want 2", n)
	}
	// And the other replica uses the refreshed token without fetching.
	if _, err := s1.Send(ctx, item("oTok1"+sfx)); err != nil {
		t.Fatal(err)
	}
	if n := fake.tokenFetches(e.acc.AppID); n != 2 {
		t.Fatalf("token fetched %d times, want 2", n)
	}
}

func TestApplyMenu(t *testing.T) {
	t.Parallel()
	acc := plainAccount(t)
	bs := MenuButtons([]bot.MenuItem{{Line: "投诉", Button: "我要投诉", Key: "投诉"}, {Line: "no button"}, {Button: "帮助", Key: "帮助"}})
	if err := ApplyMenu(NewOfficialAccount(acc, TokenCache{Store: storetest.New(t)}), bs); err != nil {
		t.Fatal(err)
	}
	got := fake.sentTo(acc.AppID)
	if len(got) != 1 || strings.Join(got[0].Menu, ",") != "click/我要投诉/KW_e68a95e8af89,click/帮助/KW_e5b8aee58aa9" {
		t.Fatalf("menu %+v", got)
	}
	for key, want := range map[string]string{"KW_e68a95e8af89": "投诉", "COMPLAIN": "投诉", "PROGRESS": "进度", "KW_zz": "帮助", "NOPE": "帮助"} {
		if got := clickCommand(key); got != want {
			t.Errorf("click %s = %q, want %q", key, got, want)
		}
	}
	var b strings.Builder
	PrintMenu(&b, bs)
	if !strings.Contains(b.String(), "我要投诉 → 「投诉」") {
		t.Fatal(b.String())
	}
	bad := acc
	bad.AppSecret = "wrong"
	err := ApplyMenu(NewOfficialAccount(bad, TokenCache{Store: storetest.New(t)}), bs)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 40125 {
		t.Fatalf("bad secret: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"  帮助  ", "帮助"},
		{"\u3000帮助\u3000", "帮助"},
		{"投诉　订单２０２６１１１１００１", "投诉 订单20261111001"},
		{"ＨＥＬＰ！", "HELP!"},
		{"？", "?"},
		{"价格￥１２０，太贵了", "价格¥120,太贵了"},
		{"杯子碎了😀👍🏽👨‍👩‍👧", "杯子碎了😀👍🏽👨‍👩‍👧"},
		{"第一行\r\n第二行", "第一行\n\n第二行"},
		{"a\x00b\x07c", "abc"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{"。、「」《》", "。、「」《》"},
	} {
		if got, cut := Normalize(c.in); got != c.want || cut {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, cut, c.want)
		}
	}
	got, cut := Normalize(strings.Repeat("字", MaxTextRunes+5))
	if !cut || len([]rune(got)) != MaxTextRunes {
		t.Fatalf("long text: %d runes, cut %v", len([]rune(got)), cut)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err       string
		code      int
		is        error
		permanent bool
		retry     bool
	}{
		{"customer msg send error : errcode=45015 , errmsg=response out of time limit", 45015, ErrWindowClosed, true, false},
		{"customer msg send error : errcode=43004 , errmsg=require subscribe", 43004, ErrUnsubscribed, true, false},
		{"customer msg send error : errcode=45047 , errmsg=out of response count limit", 45047, ErrOutOfQuota, true, false},
		{"template msg send error : errcode=40001 , errmsg=invalid credential", 40001, ErrTokenInvalid, false, false},
		{"SetMenu Error , errcode=42001 , errmsg=access_token expired", 42001, ErrTokenInvalid, false, false},
		{"customer msg send error : errcode=40014 , errmsg=invalid access_token", 40014, ErrTokenInvalid, false, false},
		{"customer msg send error : errcode=45009 , errmsg=reach max api daily quota limit", 45009, ErrAPILimit, false, true},
		{"customer msg send error : errcode=-1 , errmsg=system error", -1, ErrBusy, false, false},
		{"get stable access_token error : errcode=40164 , errormsg=invalid ip", 40164, ErrIPNotAllowed, false, false},
	} {
		err := asAPIError("op", errors.New(c.err))
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != c.code || !errors.Is(err, c.is) {
			t.Errorf("%q → %v", c.err, err)
			continue
		}
		cl := classify(err)
		if domain.IsPermanent(cl) != c.permanent || (domain.RetryAfter(cl) > 0) != c.retry {
			t.Errorf("%q classified %v", c.err, cl)
		}
	}
	err := asAPIError("op", errors.New("http get error : uri=https://x/cgi-bin/x?access_token=SECRET123&a=b , statusCode=500"))
	if strings.Contains(err.Error(), "SECRET123") || domain.IsPermanent(classify(err)) {
		t.Fatalf("HTTP error kept the token or became permanent: %v", err)
	}
	if asAPIError("op", nil) != nil {
		t.Fatal("nil error became an error")
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plainAccount(t), Options{})
	if w := e.do(http.MethodPut, "/wechat", nil); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", w.Code)
	}
}

// A genuine, correctly signed request replayed long after it was sent is
// refused, and leaves nothing behind.
func TestStaleTimestamp(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{MaxSkew: 5 * time.Minute})
	body := textXML("oStale"+sfx, "7001", "帮助")
	post := func(ts time.Time) int {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		q := url.Values{"signature": {sign(e.acc.Token, stamp, "n")}, "timestamp": {stamp}, "nonce": {"n"}}
		return e.do(http.MethodPost, "/wechat?"+q.Encode(), body).Code
	}
	for _, ts := range []time.Time{time.Now().Add(-time.Hour), time.Now().Add(time.Hour)} {
		if code := post(ts); code != http.StatusForbidden {
			t.Errorf("timestamp %v: status %d, want 403", ts, code)
		}
	}
	if n := count(t, e.db, "inbound_dedupe") + count(t, e.db, "wechat_followers"); n != 0 {
		t.Fatalf("stale requests left %d rows", n)
	}
	if code := post(time.Now()); code != http.StatusOK {
		t.Fatalf("fresh request: status %d", code)
	}
}

// A process that recorded a message and died before answering loses
// nothing: WeChat's retry finds the delivery unanswered long after any
// live first try would have answered, takes it over, and the customer
// gets the answer as a 客服消息.
func TestRetryTakesOverAfterCrash(t *testing.T) {
	t.Parallel()
	sfx := uniq()
	e := newEnv(t, plainAccount(t), Options{RetryWait: 50 * time.Millisecond})
	openID := "oCrash1" + sfx
	msg := textXML(openID, "8001"+strings.TrimPrefix(sfx, "-"), "帮助")
	key := "msg:8001" + strings.TrimPrefix(sfx, "-")
	// The first try, as the dead process left it: recorded, never answered.
	if first, err := e.db.FirstDelivery(context.Background(), domain.PlatformWeChat, key); err != nil || !first {
		t.Fatalf("record first try: %v %v", first, err)
	}
	if _, err := e.db.SQL().Exec(`UPDATE inbound_dedupe SET received_at = now() - interval '10 seconds' WHERE key = $1`, key); err != nil {
		t.Fatal(err)
	}
	w := e.post(t, msg)
	if w.Code != http.StatusOK || w.Body.String() != success {
		t.Fatalf("retry answered %d %q, want success", w.Code, w.Body)
	}
	e.ad.Wait()
	if n := e.h.calls.Load(); n != 1 {
		t.Fatalf("processed %d times, want once", n)
	}
	var text string
	if err := e.db.SQL().QueryRow(`SELECT content->>'text' FROM outbox WHERE recipient = $1`, openID).Scan(&text); err != nil {
		t.Fatalf("no 客服消息 queued for the customer: %v", err)
	}
	if text != testMenu {
		t.Fatalf("queued %q", text)
	}
	// A further retry is answered as before and processes nothing.
	if w := e.post(t, msg); w.Body.String() != success || e.h.calls.Load() != 1 {
		t.Fatalf("third try: %q, %d calls", w.Body, e.h.calls.Load())
	}
}
