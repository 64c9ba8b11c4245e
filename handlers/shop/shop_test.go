package shop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/shop"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

const secret = "s3cret"

type env struct {
	t      *testing.T
	ctx    context.Context
	db     *store.DB
	r      *bot.Router
	srv    *httptest.Server
	events handlers.Events
	seen   []domain.OrderEvent
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, ctx: context.Background(), db: storetest.New(t), now: time.Date(2026, 11, 12, 10, 0, 0, 0, shanghai)}
	log := slog.New(slog.DiscardHandler)
	clock := handlers.Clock{Loc: shanghai, Now: func() time.Time { return e.now }}
	e.r = bot.NewRouter(e.db, log)
	if err := e.r.Use(shop.New(e.db, clock, handlers.Channels{Managers: "#managers"}, log).Feature()); err != nil {
		t.Fatal(err)
	}
	for id, role := range map[string]domain.Role{"agent": domain.RoleAgent, "admin": domain.RoleAdmin} {
		if err := e.db.PutStaff(e.ctx, domain.Staff{UserID: id, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	e.events.OnOrder(func(_ context.Context, tx *store.DB, ev domain.OrderEvent) error {
		if !tx.InTransaction() {
			t.Error("order listener outside the ingest transaction")
		}
		e.seen = append(e.seen, ev)
		return nil
	})
	in := &shop.Ingest{Store: e.db, Secret: secret, Events: &e.events, Loc: shanghai, Log: log}
	mux := http.NewServeMux()
	mux.Handle("POST /ingest/orders", in)
	mux.Handle("POST /ingest/traffic", in)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) staff(user, line string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformTerminal, UserID: user, Text: line})
	return bot.PlainText(rep.Content)
}

// post sends body signed as the shop would, or with sig when it is set.
func (e *env) post(path string, body []byte, ts int64, sig string) (int, shop.Result, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(body))
	if ts == 0 {
		ts = time.Now().Unix()
	}
	if sig == "" {
		sig = shop.Sign(secret, ts, body)
	}
	req.Header.Set("X-Opsbot-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Opsbot-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var res shop.Result
	_ = json.Unmarshal(buf.Bytes(), &res)
	return resp.StatusCode, res, buf.String()
}

type ev map[string]any

func events(evs ...ev) []byte {
	b, _ := json.Marshal(map[string]any{"events": evs})
	return b
}

func order(id, typ, orderID, total, at string) ev {
	return ev{"id": id, "type": typ, "order_id": orderID, "customer_id": "c-" + orderID, "total": total, "occurred_at": at,
		"wechat_openid": "o-" + orderID, "channel": "mini-program"}
}

func (e *env) count(q string) int {
	e.t.Helper()
	var n int
	if err := e.db.SQL().QueryRow(q).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestIngestOrders(t *testing.T) {
	e := newEnv(t)
	body := events(
		order("e1", "order.created", "A1", "129.90", "2026-11-11T09:00:00+08:00"),
		order("e2", "order.paid", "A1", "129.90", "2026-11-11T09:01:00+08:00"),
		ev{"id": "bad1", "type": "order.shipped", "order_id": "A2", "customer_id": "c", "total": "1", "occurred_at": "2026-11-11T09:00:00+08:00"},
		order("e3", "order.paid", "A3", "12.5", "2026-11-11T10:00:00+08:00"),
		ev{"id": "bad2", "type": "order.paid", "order_id": "A4", "customer_id": "c", "total": 12.5, "occurred_at": "2026-11-11T09:00:00+08:00"},
		order("e4", "order.paid", "A5", "1.234", "2026-11-11T10:00:00+08:00"),
		order("e5", "order.paid", "A6", "10", "yesterday"),
		order("e1", "order.created", "A1", "129.90", "2026-11-11T09:00:00+08:00"), // the same event twice in one batch
	)
	code, res, raw := e.post("/ingest/orders", body, 0, "")
	if code != 200 || res.Accepted != 3 || res.Duplicates != 1 || len(res.Rejected) != 4 {
		t.Fatalf("%d %s", code, raw)
	}
	for i, want := range map[int]string{2: "type", 4: "total: must be a string", 5: "total", 6: "occurred_at"} {
		found := false
		for _, r := range res.Rejected {
			if r.Index == i && strings.Contains(r.Error, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("event %d not rejected for %q: %s", i, want, raw)
		}
	}
	o, err := e.db.Order(e.ctx, "A1")
	if err != nil || o.Total != 12990 || o.State != domain.OrderPaid || o.WeChatOpenID != "o-A1" || o.PaidAt.IsZero() {
		t.Fatalf("A1 = %+v, %v", o, err)
	}
	if len(e.seen) != 3 {
		t.Errorf("listeners saw %d events, want 3", len(e.seen))
	}

	// The same request again: all duplicates, nothing changes.
	before := e.count(`SELECT count(*) FROM order_events`)
	if code, res, raw := e.post("/ingest/orders", body, 0, ""); code != 200 || res.Accepted != 0 || res.Duplicates != 4 {
		t.Fatalf("replay: %d %s", code, raw)
	}
	if after := e.count(`SELECT count(*) FROM order_events`); after != before || len(e.seen) != 3 {
		t.Errorf("replay changed events %d → %d, listeners %d", before, after, len(e.seen))
	}

	// Out of order: refund, then completion that happened before it, then
	// a late paid event. The order ends refunded, with every milestone.
	e.post("/ingest/orders", events(order("r1", "order.refunded", "A3", "12.50", "2026-11-14T10:00:00+08:00")), 0, "")
	e.post("/ingest/orders", events(order("c1", "order.completed", "A3", "12.50", "2026-11-13T10:00:00+08:00")), 0, "")
	e.post("/ingest/orders", events(order("p0", "order.created", "A3", "12.50", "2026-11-11T09:59:00+08:00")), 0, "")
	o, _ = e.db.Order(e.ctx, "A3")
	if o.State != domain.OrderRefunded || o.Refunded != 1250 || o.Total != 1250 || o.CompletedAt.IsZero() || o.CreatedAt.IsZero() ||
		!o.PaidAt.Equal(time.Date(2026, 11, 11, 10, 0, 0, 0, shanghai)) {
		t.Errorf("A3 after out-of-order events = %+v", o)
	}
}

func TestIngestRefusesForgedAndStale(t *testing.T) {
	e := newEnv(t)
	body := events(order("f1", "order.paid", "F1", "1.00", "2026-11-11T09:00:00+08:00"))
	now := time.Now().Unix()
	for name, c := range map[string]struct {
		ts  int64
		sig string
	}{
		"wrong secret": {now, shop.Sign("other", now, body)},
		"stale":        {now - 301, shop.Sign(secret, now-301, body)},
		"future":       {now + 301, shop.Sign(secret, now+301, body)},
		"garbage":      {now, "v1=zz"},
		"v0":           {now, strings.Replace(shop.Sign(secret, now, body), "v1=", "v0=", 1)},
	} {
		if code, _, raw := e.post("/ingest/orders", body, c.ts, c.sig); code != 401 {
			t.Errorf("%s: %d %s", name, code, raw)
		}
	}
	// A body changed after signing.
	sig := shop.Sign(secret, now, body)
	if code, _, _ := e.post("/ingest/orders", bytes.Replace(body, []byte("1.00"), []byte("9.00"), 1), now, sig); code != 401 {
		t.Errorf("tampered body: %d", code)
	}
	if n := e.count(`SELECT count(*) FROM order_events`); n != 0 {
		t.Errorf("%d events stored from refused requests", n)
	}
	// Rotation: either of two signatures will do.
	if code, res, _ := e.post("/ingest/orders", body, now, shop.Sign("old", now, body)+","+sig); code != 200 || res.Accepted != 1 {
		t.Errorf("rotated signatures: %d %+v", code, res)
	}
	if code, _, raw := e.post("/ingest/orders", []byte(`[1,2]`), 0, ""); code != 400 || !strings.Contains(raw, "events") {
		t.Errorf("not an object: %d %s", code, raw)
	}
	var many []ev
	for i := range shop.MaxEvents + 1 {
		many = append(many, order(fmt.Sprint(i), "order.paid", "M", "1", "2026-11-11T09:00:00+08:00"))
	}
	if code, _, _ := e.post("/ingest/orders", events(many...), 0, ""); code != 400 {
		t.Errorf("1,001 events: %d", code)
	}
}

func traffic(days ...ev) []byte {
	b, _ := json.Marshal(map[string]any{"days": days})
	return b
}

func TestMetricsMatchAHandComputation(t *testing.T) {
	e := newEnv(t)
	day := "2026-11-11T%02d:00:00+08:00"
	// Paid on 11-11: A 100.00 (customer X), B 50.50 (X), C 20.00 (Y, a returning customer), D 30 (Z, refunded on 11-11).
	// E was paid on 11-10 (Y's earlier order) and refunded on 11-11: not a refund of the day's orders.
	// F was created on 11-11 and never paid: not GMV.
	b := events(
		ev{"id": "1", "type": "order.paid", "order_id": "A", "customer_id": "X", "total": "100.00", "occurred_at": fmt.Sprintf(day, 9)},
		ev{"id": "2", "type": "order.paid", "order_id": "B", "customer_id": "X", "total": "50.50", "occurred_at": fmt.Sprintf(day, 10)},
		ev{"id": "3", "type": "order.paid", "order_id": "C", "customer_id": "Y", "total": "20", "occurred_at": fmt.Sprintf(day, 11)},
		ev{"id": "4", "type": "order.paid", "order_id": "D", "customer_id": "Z", "total": "30", "occurred_at": fmt.Sprintf(day, 12)},
		ev{"id": "5", "type": "order.refunded", "order_id": "D", "customer_id": "Z", "total": "30", "occurred_at": fmt.Sprintf(day, 13)},
		ev{"id": "6", "type": "order.paid", "order_id": "E", "customer_id": "Y", "total": "99", "occurred_at": "2026-11-10T12:00:00+08:00"},
		ev{"id": "7", "type": "order.refunded", "order_id": "E", "customer_id": "Y", "total": "99", "occurred_at": fmt.Sprintf(day, 14)},
		ev{"id": "8", "type": "order.created", "order_id": "F", "customer_id": "W", "total": "500", "occurred_at": fmt.Sprintf(day, 15)},
	)
	if code, res, raw := e.post("/ingest/orders", b, 0, ""); code != 200 || res.Accepted != 8 {
		t.Fatalf("%d %s", code, raw)
	}
	// 11-11 has traffic; 11-10 does not.
	if code, res, raw := e.post("/ingest/traffic", traffic(ev{"date": "2026-11-11", "pv": 900, "uv": 200, "new_users": "20", "active_users": 150}), 0, ""); code != 200 || res.Accepted != 1 {
		t.Fatalf("%d %s", code, raw)
	}
	// A later push for the same date replaces the earlier one.
	e.post("/ingest/traffic", traffic(ev{"date": "2026-11-11", "pv": 1000, "uv": 250, "new_users": 25, "active_users": 160}), 0, "")

	p := domain.Day(time.Date(2026, 11, 11, 0, 0, 0, 0, shanghai), shanghai)
	tot, err := e.db.ShopTotals(e.ctx, p, e.now)
	if err != nil {
		t.Fatal(err)
	}
	f := tot.Figures()
	want := map[string]float64{
		"gmv": 20050, "orders": 4, "paying_customers": 3, "aov": 20050.0 / 3, "conversion": 3.0 / 250,
		"refund_rate": 1.0 / 4, "pv": 1000, "uv": 250, "new_users": 25, "active_users": 160, "repurchase_rate": 1.0 / 160,
	}
	for name, w := range want {
		if v := f[name]; !v.OK || v.V != w {
			t.Errorf("%s = %+v, want %v", name, v, w)
		}
	}
	out := e.staff("agent", "metrics 2026-11-11")
	for _, s := range []string{"GMV: ¥200.50", "Orders: 4", "Conversion: 1.2%", "Refund rate: 25.0%", "vs 2026-11-10"} {
		if !strings.Contains(out, s) {
			t.Errorf("metrics output lacks %q:\n%s", s, out)
		}
	}
	// The day before has orders but no traffic: UV and conversion are no data, never 0.
	prev := e.staff("agent", "metrics 2026-11-10")
	for _, s := range []string{"UV: no data", "Conversion: no data", "GMV: ¥99.00"} {
		if !strings.Contains(prev, s) {
			t.Errorf("metrics for a day without traffic lacks %q:\n%s", s, prev)
		}
	}
	if out := e.staff("agent", "metrics define aov"); !strings.Contains(out, "GMV / paying customers") {
		t.Errorf("define aov: %s", out)
	}
	if out := e.staff("agent", "metrics someday"); !strings.Contains(out, "not a period") {
		t.Errorf("bad period: %s", out)
	}
}

func TestCalendar(t *testing.T) {
	e := newEnv(t)
	for date, want := range map[string]string{
		"2026-02-14": "is a working day — 调休上班 for 春节",
		"2026-10-01": "is a day off — 国庆节",
		"2026-10-10": "is a working day — 调休上班 for 国庆节",
		"2026-10-12": "is a working day.",
		"2027-01-01": "2027 is unknown",
	} {
		if out := e.staff("agent", "calendar show "+date); !strings.Contains(out, want) {
			t.Errorf("%s: %s", date, out)
		}
	}
	if out := e.staff("agent", "calendar show 2027-01"); !strings.Contains(out, "2027 is unknown") {
		t.Errorf("2027-01: %s", out)
	}
	if out := e.staff("agent", "calendar set 2027-01-01 off 元旦"); !strings.Contains(out, "needs the admin role") {
		t.Errorf("agent set: %s", out)
	}
	if out := e.staff("admin", "calendar set 2027-01-01 off 元旦"); !strings.Contains(out, "is a day off — 元旦.") {
		t.Errorf("admin set: %s", out)
	}
	if out := e.staff("agent", "calendar show 2027-01-04"); strings.Contains(out, "unknown") {
		t.Errorf("2027 still unknown after a day was set: %s", out)
	}
	if out := e.staff("admin", "calendar unset 2027-01-01"); !strings.Contains(out, "2027 is unknown") {
		t.Errorf("unset: %s", out)
	}
	if out := e.staff("admin", "calendar unset 2027-01-01"); !strings.Contains(out, "no correction") {
		t.Errorf("unset twice: %s", out)
	}

	cal, err := shop.LoadCalendar(e.ctx, e.db, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	// 3 working days from Friday 2026-09-25 18:00: Mon 28, Tue 29, Wed 30
	// (the holiday starts on 10-01); from Wednesday 09-30 it is 10-08,
	// 10-09 and 10-10 (a 调休 Saturday); from Friday 02-13 before 春节 it is
	// 02-14 (调休 Saturday), then 02-24 and 02-25 after the holiday.
	for from, want := range map[string]string{"2026-09-25": "2026-09-30", "2026-09-30": "2026-10-10", "2026-02-13": "2026-02-25"} {
		d, _ := time.ParseInLocation("2006-01-02 15:04", from+" 18:00", shanghai)
		got, known := cal.AddWorkingDays(d, 3)
		if got.Format("2006-01-02 15:04") != want+" 18:00" || !known {
			t.Errorf("3wd from %s = %s (known %v), want %s", from, got.Format("2006-01-02 15:04"), known, want)
		}
	}
	// T-14 of 2026-10-15 is 10-01, a holiday: it moves to the last working day before, 09-30.
	d, _ := time.ParseInLocation("2006-01-02", "2026-10-01", shanghai)
	if got, _ := cal.PrevWorkingDay(d); got.Format("2006-01-02") != "2026-09-30" {
		t.Errorf("PrevWorkingDay(10-01) = %s", got)
	}
	if _, known := cal.AddWorkingDays(time.Date(2026, 12, 30, 9, 0, 0, 0, shanghai), 3); known {
		t.Error("adding working days into 2027 said known")
	}
}

func TestCalendarReminderInDecember(t *testing.T) {
	e := newEnv(t)
	job := shop.New(e.db, handlers.Clock{Loc: shanghai, Now: time.Now}, handlers.Channels{}, slog.New(slog.DiscardHandler)).Jobs()[0]
	run := func(at string) int {
		ts, _ := time.ParseInLocation("2006-01-02 15:04", at, shanghai)
		if err := job.Run(e.ctx, ts); err != nil {
			t.Fatal(err)
		}
		return e.count(`SELECT count(*) FROM outbox WHERE kind = 'dm' AND recipient = 'admin'`)
	}
	if n := run("2026-11-30 09:00"); n != 0 {
		t.Errorf("November: %d reminders", n)
	}
	if n := run("2026-12-01 09:00"); n != 1 {
		t.Errorf("1 December: %d reminders", n)
	}
	if n := run("2026-12-01 09:00"); n != 1 {
		t.Errorf("a second run the same day sent again: %d", n)
	}
	if n := run("2026-12-02 09:00"); n != 2 {
		t.Errorf("2 December: %d reminders in all", n)
	}
	e.staff("admin", "calendar set 2027-01-01 off 元旦")
	if n := run("2026-12-03 09:00"); n != 2 {
		t.Errorf("after 2027 was entered: %d reminders in all", n)
	}
}
