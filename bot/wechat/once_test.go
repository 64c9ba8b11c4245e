package wechat

import (
	"context"
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

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// slowStore is the database as a first try sees it when it is slow: the
// answer is not saved in time (the write times out).
type slowStore struct {
	*store.WeChatInbox
	failSaves atomic.Bool
}

var errSlow = errors.New("slow database: statement timed out")

func (s *slowStore) SaveResponse(ctx context.Context, p domain.Platform, key, resp string) error {
	if s.failSaves.Load() {
		return errSlow
	}
	return s.WeChatInbox.SaveResponse(ctx, p, key, resp)
}

func (s *slowStore) FinishDelivery(ctx context.Context, p domain.Platform, key, resp string) error {
	if s.failSaves.Load() {
		return errSlow
	}
	return s.WeChatInbox.FinishDelivery(ctx, p, key, resp)
}

// effectEnv is the adapter in front of a handler with an effect: 投诉 files
// a complaint in the database, as the complaint desk does.
type effectEnv struct {
	*env
	st   *slowStore
	hold chan struct{} // when set, the handler waits for it after filing
	mu   sync.Mutex
}

func newEffectEnv(t *testing.T, opt Options) *effectEnv {
	t.Helper()
	db := storetest.New(t)
	e := &effectEnv{}
	r := bot.NewRouter(db, slog.New(slog.DiscardHandler))
	r.HandleCustomer(bot.CustomerIntent{Name: "complaint", Keywords: []string{"投诉"},
		Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			e.mu.Lock()
			hold := e.hold
			e.mu.Unlock()
			if hold != nil {
				<-hold
			}
			c, err := db.CreateComplaint(ctx, domain.Complaint{Source: domain.SourceWeChat, OpenID: req.UserID,
				CreatedBy: req.UserID, CreatedAt: time.Now(), Text: req.Text, Category: domain.Classify(req.Text)}, nil)
			if err != nil {
				return bot.Reply{}, err
			}
			return bot.Text("已受理 " + c.Number), nil
		}})
	inbox, err := db.NewWeChatInbox(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inbox.Close() })
	e.st = &slowStore{WeChatInbox: inbox}
	h := &countingHandler{h: r, hold: map[string]chan struct{}{}}
	if opt.MaxSkew == 0 {
		opt.MaxSkew = -1
	}
	acc := plainAccount(t)
	ad, err := New(acc, h, e.st, opt)
	if err != nil {
		t.Fatal(err)
	}
	e.env = &env{db: db, acc: acc, h: h, ad: ad}
	return e
}

func (e *effectEnv) complaints(t *testing.T, openID string) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(`SELECT count(*) FROM complaints WHERE openid = $1`, openID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *effectEnv) queuedFor(t *testing.T, openID string) []string {
	t.Helper()
	rows, err := e.db.SQL().Query(`SELECT content->>'text' FROM outbox WHERE recipient = $1 ORDER BY id`, openID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// TestSlowDatabaseOneEffect: the first try files the complaint but cannot
// save its answer (the database is slow); WeChat's ordinary retry finds
// the delivery unanswered after the deadline and takes it over. The
// complaint is filed once, and the customer is answered once.
func TestSlowDatabaseOneEffect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// firstLate holds the first try's handler until the retry has
		// filed the complaint, so the retry's effect commits first.
		firstLate bool
	}{{"first try commits first", false}, {"retry commits first", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEffectEnv(t, Options{Deadline: time.Second, RetryWait: 3 * time.Second})
			openID := "oSlowDB" + uniq()
			msg := textXML(openID, strings.TrimPrefix(uniq(), "-")+"9", "投诉 杯子碎了")
			e.st.failSaves.Store(true)
			release := make(chan struct{})
			if tc.firstLate {
				e.mu.Lock()
				e.hold = release
				e.mu.Unlock()
			}
			first := make(chan string, 1)
			go func() { first <- e.post(t, msg).Body.String() }()
			for e.h.calls.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			if tc.firstLate {
				// The retry runs the handler without waiting.
				e.mu.Lock()
				e.hold = nil
				e.mu.Unlock()
			}
			body1 := <-first                    // in time, or "success" at the deadline
			time.Sleep(1100 * time.Millisecond) // WeChat retries after its 5 s; here after the deadline
			w := e.post(t, msg)
			if w.Code != http.StatusOK {
				t.Fatalf("retry: %d %q", w.Code, w.Body)
			}
			e.st.failSaves.Store(false)
			close(release)
			e.ad.Wait()
			if n := e.h.calls.Load(); n < 2 {
				t.Fatalf("the retry did not take over (%d handler calls): the test proves nothing", n)
			}
			if n := e.complaints(t, openID); n != 1 {
				t.Fatalf("%d complaints filed from one message, want 1", n)
			}
			answers := e.queuedFor(t, openID)
			if strings.Contains(body1, "已受理") {
				answers = append(answers, "passive: "+body1)
			}
			if len(answers) != 1 || !strings.Contains(answers[0], "已受理") {
				t.Fatalf("the customer got %d answers, want 1: %q (first try said %q, retry %q)", len(answers), answers, body1, w.Body)
			}
		})
	}
}

// TestQuickRetryAfterCrashIsProcessed: the process recorded a message and
// died; WeChat's retry comes at once. It is not answered "success"
// unprocessed: it waits until the first try is certainly dead and handles
// the message.
func TestQuickRetryAfterCrashIsProcessed(t *testing.T) {
	t.Parallel()
	e := newEffectEnv(t, Options{Deadline: time.Second})
	openID := "oQuick" + uniq()
	id := strings.TrimPrefix(uniq(), "-") + "7"
	msg := textXML(openID, id, "投诉 快递延迟3天")
	// The dead first try: recorded with what it said, never answered.
	m, err := parseInbound(msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ad.record(context.Background(), request{msg: m, key: m.dedupeKey()}); err != nil {
		t.Fatal(err)
	}
	w := e.post(t, msg)
	if w.Code != http.StatusOK {
		t.Fatalf("retry: %d %q", w.Code, w.Body)
	}
	e.ad.Wait()
	if n := e.complaints(t, openID); n != 1 {
		t.Fatalf("retry answered %q and %d complaints were filed, want 1", w.Body, n)
	}
	if q := e.queuedFor(t, openID); len(q) != 1 {
		t.Fatalf("customer answers queued: %q", q)
	}
	// A third try is answered as before and changes nothing.
	if w := e.post(t, msg); w.Body.String() != success || e.complaints(t, openID) != 1 {
		t.Fatalf("third try: %q", w.Body)
	}
}

// TestSweepFinishesWhatADeadProcessLeft: a delivery acknowledged with
// "success" while its late handler ran, and the process died before the
// handler finished; WeChat will not retry. The sweep handles it, once,
// however many replicas sweep.
func TestSweepFinishesWhatADeadProcessLeft(t *testing.T) {
	t.Parallel()
	e := newEffectEnv(t, Options{Deadline: 100 * time.Millisecond, LateTimeout: 5 * time.Second})
	openID := "oSweep" + uniq()
	var keys []string
	for i := range 5 {
		msg := textXML(openID+fmt.Sprint(i), strings.TrimPrefix(uniq(), "-")+"5", fmt.Sprintf("投诉 第%d件", i))
		m, err := parseInbound(msg)
		if err != nil {
			t.Fatal(err)
		}
		req := request{msg: m, key: m.dedupeKey()}
		if _, err := e.ad.record(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if err := e.db.SaveResponse(context.Background(), domain.PlatformWeChat, req.key, success); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, req.key)
	}
	if n, err := e.ad.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("swept %d fresh deliveries (%v): a live attempt may still be handling them", n, err)
	}
	if _, err := e.db.SQL().Exec(`UPDATE inbound_dedupe SET received_at = now() - interval '20 seconds' WHERE key = ANY($1)`,
		"{"+strings.Join(keys, ",")+"}"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var swept atomic.Int64
	for range 3 { // three replicas at once
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := e.ad.Sweep(context.Background())
			if err != nil {
				t.Error(err)
			}
			swept.Add(int64(n))
		}()
	}
	wg.Wait()
	e.ad.Wait()
	if swept.Load() != 5 {
		t.Fatalf("swept %d deliveries, want 5", swept.Load())
	}
	for i := range 5 {
		if n := e.complaints(t, openID+fmt.Sprint(i)); n != 1 {
			t.Errorf("message %d: %d complaints", i, n)
		}
	}
	if n, err := e.ad.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("a second sweep took %d (%v)", n, err)
	}
}

// A captured URL check does not verify for ever: GET /wechat has the same
// freshness window as POST.
func TestURLCheckFreshness(t *testing.T) {
	t.Parallel()
	e := newEnv(t, plainAccount(t), Options{MaxSkew: 5 * time.Minute})
	check := func(ts time.Time) *httptest.ResponseRecorder {
		stamp := strconv.FormatInt(ts.Unix(), 10)
		q := url.Values{"signature": {sign(e.acc.Token, stamp, "42")}, "timestamp": {stamp}, "nonce": {"42"}, "echostr": {"e123"}}
		return e.do(http.MethodGet, "/wechat?"+q.Encode(), nil)
	}
	if w := check(time.Now()); w.Code != http.StatusOK || w.Body.String() != "e123" {
		t.Fatalf("fresh URL check: %d %q", w.Code, w.Body)
	}
	for _, ts := range []time.Time{time.Now().Add(-6 * time.Minute), time.Now().Add(6 * time.Minute), time.Unix(1409735669, 0)} {
		if w := check(ts); w.Code != http.StatusForbidden || strings.Contains(w.Body.String(), "e123") {
			t.Errorf("URL check signed at %v: %d %q, want 403", ts, w.Code, w.Body)
		}
	}
}

// NUL and invalid UTF-8 in a message never reach the database (jsonb and
// text reject NUL): the message is handled and answered.
func TestNULInWeChatMessage(t *testing.T) {
	t.Parallel()
	e := newEffectEnv(t, Options{})
	openID := "oNUL" + uniq()
	w := e.post(t, textXML(openID+"\x00", "\x00"+strings.TrimPrefix(uniq(), "-"), "投诉 杯子\x00碎了\xff\uE000"))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "已受理") {
		t.Fatalf("status %d: %q", w.Code, w.Body)
	}
	var text string
	if err := e.db.SQL().QueryRow(`SELECT body FROM complaints WHERE openid = $1`, openID).Scan(&text); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(text, "\x00\uE000") {
		t.Fatalf("stored %q", text)
	}
}
