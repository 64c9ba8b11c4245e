package digests_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/handlers/digests"
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

func day(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

type env struct {
	t   *testing.T
	ctx context.Context
	db  *store.DB
	h   *digests.Digests
	r   *bot.Router
	now time.Time
}

func newEnv(t *testing.T, special digests.SpecialDaysFunc) *env {
	t.Helper()
	t.Parallel()
	e := &env{t: t, ctx: context.Background(), db: storetest.New(t), now: time.Date(2026, 12, 4, 18, 0, 0, 0, shanghai)}
	clock := handlers.Clock{Loc: shanghai, Now: func() time.Time { return e.now }}
	log := slog.New(slog.DiscardHandler)
	e.h = digests.New(e.db, clock, handlers.Channels{Managers: "#managers"}, log,
		digests.Options{ChartDir: t.TempDir(), SpecialDays: special})
	e.r = bot.NewRouter(e.db, log)
	if err := e.r.Use(e.h.Feature()); err != nil {
		t.Fatal(err)
	}
	for id, role := range map[string]domain.Role{"agent": domain.RoleAgent, "mia": domain.RoleManager} {
		if err := e.db.PutStaff(e.ctx, domain.Staff{UserID: id, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.SQL().ExecContext(e.ctx, q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

// orders writes n orders paid on d at ¥100 each, spread over the day's
// first 20 hours, refunds of the first r of them, and (uv > 0) the day's
// traffic.
func (e *env) orders(d time.Time, n, r int, uv int64) {
	e.t.Helper()
	e.exec(`INSERT INTO orders (order_id, customer_id, total, state, state_at, created_at, paid_at, refunded_at)
		SELECT $1 || i, $1 || 'c' || i, 10000, 'order.paid', p, p, p,
			CASE WHEN i < $3 THEN p + interval '1 minute' END
		FROM generate_series(0, $2 - 1) AS i, LATERAL (SELECT $4::timestamptz + (i * 72000 / $2) * interval '1 second' AS p) x`,
		d.Format("20060102")+"-", n, r, d)
	if uv > 0 {
		e.exec(`INSERT INTO traffic (day, pv, uv, new_users, active_users) VALUES ($1, $2 * 4, $2, $2 / 10, $2 / 2)`, d.Format("2006-01-02"), uv)
	}
}

// history writes a steady shop from..to (inclusive): about perDay orders
// a day (a small weekday wobble) and 3,000 UV.
func (e *env) history(from, to time.Time, perDay int) {
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		e.orders(d, perDay+d.Day()%5, perDay/50, int64(perDay*30))
	}
}

func (e *env) build(kind domain.DigestKind, ref time.Time) *digests.Digest {
	e.t.Helper()
	d, err := e.h.Build(e.ctx, kind, ref, e.now)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

func (e *env) say(user, line string) string {
	e.t.Helper()
	rep := e.r.Handle(e.ctx, bot.Message{Platform: domain.PlatformTerminal, UserID: user, Text: line})
	return bot.PlainText(rep.Content)
}

func flagged(d *digests.Digest, metric string) bool {
	for _, a := range d.Anomalies {
		if a.Metric == metric {
			return true
		}
	}
	return false
}

func TestPlantedSpikeIsFlaggedOnceWithItsBaseline(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-07-15"), day("2026-09-15"), 100)
	e.orders(day("2026-09-16"), 300, 2, 3000) // a Wednesday three times busier
	d := e.build(domain.DigestDaily, day("2026-09-16"))
	if !flagged(d, "gmv") || !flagged(d, "orders") {
		t.Fatalf("spike not flagged: %+v\n%s", d.Anomalies, bot.PlainText(d.Content))
	}
	if flagged(d, "aov") || flagged(d, "uv") {
		t.Errorf("steady figures flagged: %+v", d.Anomalies)
	}
	text := bot.PlainText(d.Content)
	for _, want := range []string{"⚠ GMV ▲", "against the usual Wednesday (median", "of 8)", "GMV: ¥30,000.00 ⚠", "(the day before)", "(last Wed)"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	// Flags come first, before the figures.
	if strings.Index(text, "⚠ GMV") > strings.Index(text, "GMV: ") {
		t.Errorf("flags not on top:\n%s", text)
	}
	// The day after, back to normal, is not flagged.
	e.orders(day("2026-09-17"), 101, 2, 3000)
	if d := e.build(domain.DigestDaily, day("2026-09-17")); len(d.Anomalies) != 0 {
		t.Errorf("normal day flagged: %+v", d.Anomalies)
	}
}

func TestLowVolumeWobbleIsNotFlagged(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-07-15"), day("2026-09-15"), 8)
	// Two and a half times the orders and a refund rate from 0 to 20 %:
	// large moves on too few orders to mean anything.
	e.orders(day("2026-09-16"), 25, 5, 240)
	d := e.build(domain.DigestDaily, day("2026-09-16"))
	if len(d.Anomalies) != 0 {
		t.Fatalf("low-volume wobble flagged: %+v", d.Anomalies)
	}
	if !strings.Contains(bot.PlainText(d.Content), "Refund rate: 20.0%") {
		t.Errorf("refund rate not shown:\n%s", bot.PlainText(d.Content))
	}
}

func TestHolidaysAndCampaignDaysAreComparedOnlyWithTheirKind(t *testing.T) {
	// 2026-10-01 is 国庆节: a spike on it is not flagged against normal
	// Thursdays, and there are too few holidays before it to compare.
	e := newEnv(t, nil)
	e.history(day("2026-08-01"), day("2026-09-30"), 100)
	e.orders(day("2026-10-01"), 400, 2, 3000)
	d := e.build(domain.DigestDaily, day("2026-10-01"))
	if len(d.Anomalies) != 0 {
		t.Errorf("holiday flagged: %+v", d.Anomalies)
	}
	if text := bot.PlainText(d.Content); !strings.Contains(text, "This is a holiday (国庆节)") {
		t.Errorf("no note on the holiday:\n%s", text)
	}

}

func TestCampaignDaysFromTheHookAreNotFlagged(t *testing.T) {
	var asked [2]time.Time
	c := newEnv(t, func(_ context.Context, from, to time.Time) (map[string]string, error) {
		asked = [2]time.Time{from, to}
		return map[string]string{"2026-09-16": "秋季大促"}, nil
	})
	c.history(day("2026-07-15"), day("2026-09-15"), 100)
	c.orders(day("2026-09-16"), 300, 2, 3000)
	d := c.build(domain.DigestDaily, day("2026-09-16"))
	if len(d.Anomalies) != 0 {
		t.Errorf("campaign day flagged: %+v", d.Anomalies)
	}
	if text := bot.PlainText(d.Content); !strings.Contains(text, "campaign day (秋季大促)") {
		t.Errorf("no note on the campaign day:\n%s", text)
	}
	if !asked[0].Before(day("2026-07-23")) || !asked[1].Equal(day("2026-09-17")) {
		t.Errorf("special days asked for %v", asked)
	}
}

func TestMissingTrafficSaysNoDataAndTheRestPosts(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-07-15"), day("2026-09-14"), 100)
	e.orders(day("2026-09-15"), 100, 2, 0) // no traffic pushed
	d := e.build(domain.DigestDaily, day("2026-09-15"))
	if d.Figures["conversion"].OK || d.Figures["uv"].OK {
		t.Fatalf("conversion/UV without traffic: %+v %+v", d.Figures["conversion"], d.Figures["uv"])
	}
	text := bot.PlainText(d.Content)
	for _, want := range []string{"Conversion: no data", "UV: no data", "GMV: ¥10,000.00", "Orders: 100"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Conversion no data misses") || flagged(d, "conversion") {
		t.Errorf("missing data treated as a miss:\n%s", text)
	}
}

func TestDayInProgressIsComparedLikeForLike(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-07-15"), day("2026-09-15"), 100)
	e.orders(day("2026-09-16"), 100, 0, 0)
	e.now = day("2026-09-16").Add(10 * time.Hour) // half of the day's 20 trading hours gone
	d := e.build(domain.DigestDaily, e.now)
	if !d.Window.Partial || d.Window.Cutoff != e.now {
		t.Fatalf("window %+v", d.Window)
	}
	// Orders are spread over 20 hours: by 10:00 half of each day's.
	if got, prev := d.Figures["orders"].V, d.Previous["orders"].V; got != 50 || prev < 49 || prev > 53 {
		t.Errorf("orders so far %v vs the day before until 10:00 %v", got, prev)
	}
	if len(d.Anomalies) != 0 {
		t.Errorf("a day in progress flagged against whole days: %+v", d.Anomalies)
	}
	if text := bot.PlainText(d.Content); !strings.Contains(text, "until 10:00") || !strings.Contains(text, "not compared inside a day") {
		t.Errorf("partial day not explained:\n%s", text)
	}
}

func TestDemoDayFiguresMatchAHandComputation(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Date(2026, 12, 4, 18, 0, 0, 0, shanghai)
	if _, err := (&shop.Demo{Store: e.db, Loc: shanghai}).Fill(e.ctx, now, false); err != nil {
		t.Fatal(err)
	}
	d0 := day("2026-12-02")
	d := e.build(domain.DigestDaily, d0)
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT total, customer_id, refunded_at FROM orders WHERE paid_at IS NOT NULL`+
		` AND paid_at >= $1 AND paid_at < $2`, d0, d0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	var gmv, orders, refunded int64
	customers := map[string]bool{}
	for rows.Next() {
		var total int64
		var cust string
		var ref *time.Time
		if err := rows.Scan(&total, &cust, &ref); err != nil {
			t.Fatal(err)
		}
		gmv += total
		orders++
		customers[cust] = true
		if ref != nil && !ref.Before(d0) && ref.Before(d0.AddDate(0, 0, 1)) {
			refunded++
		}
	}
	var uv int64
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT uv FROM traffic WHERE day = '2026-12-02' AND channel = ''`).Scan(&uv); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"gmv": float64(gmv), "orders": float64(orders), "paying_customers": float64(len(customers)),
		"aov": float64(gmv) / float64(len(customers)), "refund_rate": float64(refunded) / float64(orders),
		"uv": float64(uv), "conversion": float64(len(customers)) / float64(uv),
	}
	for name, w := range want {
		if got := d.Figures[name]; !got.OK || got.V != w {
			t.Errorf("%s = %+v, by hand %v", name, got, w)
		}
	}
	gmvM, _ := domain.MetricByName("gmv")
	if text := bot.PlainText(d.Content); !strings.Contains(text, "GMV: "+gmvM.Format(domain.Value{V: float64(gmv), OK: true})) {
		t.Errorf("GMV by hand %d not in:\n%s", gmv, text)
	}
	if gmv == 0 || orders < 100 {
		t.Fatalf("demo day too quiet: %d orders", orders)
	}
}

func TestPostOnceAcrossRerunsAndReplicas(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-11-01"), day("2026-12-04"), 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	posted := 0
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, _, err := e.h.Post(e.ctx, domain.DigestDaily, e.now, e.now, "job:digest-daily")
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				posted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if posted != 1 {
		t.Fatalf("posted %d times", posted)
	}
	var kinds []string
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT string_agg(kind || ' ' || recipient || ' ' || ref || ' ' || thread_ref, ',' ORDER BY id) FROM outbox`).
		Scan(new(string)); err != nil {
		t.Fatal(err)
	}
	rows, err := e.db.SQL().QueryContext(e.ctx, `SELECT kind || ' ' || recipient || ' ' || ref || '|' || thread_ref || ' ' || coalesce(attachment->>'name', '') FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, s)
	}
	want := []string{"post #managers digest:daily:2026-12-04| ", "upload #managers |digest:daily:2026-12-04 digest-daily-2026-12-04.png"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("outbox %q, want %q", kinds, want)
	}
	// A manager asking again is told it went out already.
	if out := e.say("mia", "digest post daily 2026-12-04"); !strings.Contains(out, "already posted") {
		t.Errorf("second post: %s", out)
	}
	out := e.say("mia", "digest show daily 2026-12-04")
	if !strings.Contains(out, "Daily digest 日报 — Fri 2026-12-04, until 18:00") || !strings.Contains(out, "Posted ") {
		t.Errorf("digest show: %s", out)
	}
	if out := e.say("mia", "digest show"); !strings.Contains(out, "Fri 2026-12-04") {
		t.Errorf("digest show list: %s", out)
	}
	if out := e.say("mia", "digest show daily 2026-12-01"); !strings.Contains(out, "No daily digest was posted") {
		t.Errorf("digest show of nothing: %s", out)
	}
}

func TestDailyJobSkipsDaysOff(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-09-14"), day("2026-10-03"), 100)
	var job bot.Job
	for _, j := range e.h.Jobs() {
		if j.Name == "digest-daily" {
			job = j
		}
	}
	for _, at := range []time.Time{day("2026-10-01").Add(18 * time.Hour), day("2026-10-03").Add(18 * time.Hour)} {
		if err := job.Run(e.ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT count(*) FROM digests`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("digests on days off: %d %v", n, err)
	}
	// 2026-09-20 is a Sunday made a working day (国庆节调休).
	if err := job.Run(e.ctx, day("2026-09-20").Add(18*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT count(*) FROM digests`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("digest on a make-up working day: %d %v", n, err)
	}
}

func TestWeeklyAndMonthlyInTheTerminal(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-10-01"), day("2026-12-04"), 100)
	out := e.say("mia", "digest weekly")
	for _, want := range []string{"Weekly digest 周报 — week of Mon 2026-11-23 – Sun 11-29", "(the week before)", "GMV and orders, last 12 weeks: chart written to "} {
		if !strings.Contains(out, want) {
			t.Errorf("digest weekly lacks %q:\n%s", want, out)
		}
	}
	path := out[strings.Index(out, "chart written to ")+len("chart written to "):]
	path = strings.TrimSpace(strings.SplitN(path, "\n", 2)[0])
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Fatalf("chart %s: %d bytes, %v", path, len(b), err)
	}
	out = e.say("mia", "digest monthly")
	if !strings.Contains(out, "Monthly digest 月报 — November 2026") || !strings.Contains(out, "(October)") ||
		!strings.Contains(out, "Month to date: GMV") {
		t.Errorf("digest monthly:\n%s", out)
	}
	if out := e.say("agent", "digest weekly"); !strings.Contains(out, "manager") {
		t.Errorf("agent got a digest: %s", out)
	}
	if out := e.say("mia", "digest fortnightly"); !strings.Contains(out, "not a date") {
		t.Errorf("bad kind: %s", out)
	}
}

func TestTargets(t *testing.T) {
	e := newEnv(t, nil)
	out := e.say("agent", "target list")
	for _, want := range []string{"Conversion (conversion): ≥ 3.0% — the manual's default", "Satisfaction (satisfaction): ≥ 4.80",
		"Resolution SLA (resolve_sla): ≥ 95.0%", "GMV (gmv): ≥ +20.0% on the month before"} {
		if !strings.Contains(out, want) {
			t.Errorf("target list lacks %q:\n%s", want, out)
		}
	}
	if out := e.say("agent", "target set gmv month 5000000"); !strings.Contains(out, "manager") {
		t.Errorf("agent set a target: %s", out)
	}
	for line, want := range map[string]string{
		"target set gmv month 5000000":   "GMV ¥5,000,000.00 a month",
		"target set conversion 3.5%":     "Conversion ≥ 3.5%",
		"target set refund_rate 4%":      "Refund rate ≤ 4.0%",
		"target set satisfaction 4.9":    "Satisfaction ≥ 4.90",
		"target set conversion month 3%": "is a rate",
		"target set nonsense 3%":         "no metric",
	} {
		if out := e.say("mia", line); !strings.Contains(out, want) {
			t.Errorf("%s: %s", line, out)
		}
	}
	out = e.say("agent", "target list")
	if !strings.Contains(out, "Conversion (conversion): ≥ 3.5% — set by mia") || !strings.Contains(out, "¥5,000,000.00 a month — set by mia") {
		t.Errorf("target list after set:\n%s", out)
	}
	// The set GMV target drives the pace; a miss is marked.
	e.history(day("2026-12-01"), day("2026-12-03"), 100)
	d := e.build(domain.DigestDaily, day("2026-12-03"))
	text := bot.PlainText(d.Content)
	for _, want := range []string{"of the ¥5,000,000.00 target", "28 days left", "⚠ GMV is behind the month's target",
		"⚠ Conversion 3.4% misses its target (≥ 3.5%)", "Conversion: 3.4% ✗ target ≥ 3.5%"} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if out := e.say("mia", "target unset gmv"); !strings.Contains(out, "Removed") {
		t.Errorf("unset: %s", out)
	}
	// Month targets in the monthly digest, a ceiling among them.
	for _, line := range []string{"target set gmv month 100", "target set complaints month max 0", "target set orders month 1000000"} {
		if out := e.say("mia", line); !strings.Contains(out, "Target saved") {
			t.Fatalf("%s: %s", line, out)
		}
	}
	e.exec(`INSERT INTO complaints (number, source, category, body, created_at, reply_warn_at, reply_due_at, resolve_warn_at, resolve_due_at)
		VALUES ('TS-1', 'phone', '其他', 'x', '2026-11-20 10:00+08', now(), now(), now(), now())`)
	e.history(day("2026-11-01"), day("2026-11-03"), 100)
	m := bot.PlainText(e.build(domain.DigestMonthly, day("2026-11-01")).Content)
	if !strings.Contains(m, "⚠ Complaints 1 misses the month's target (≤ 0 a month)") || !strings.Contains(m, "⚠ Orders 306 misses the month's target (1,000,000 a month)") ||
		strings.Contains(m, "⚠ GMV ¥") {
		t.Errorf("monthly targets:\n%s", m)
	}
}

func TestThresholds(t *testing.T) {
	e := newEnv(t, nil)
	if out := e.say("agent", "digest threshold list"); !strings.Contains(out, "GMV: ±30% with at least 50 orders") {
		t.Errorf("threshold list:\n%s", out)
	}
	if out := e.say("mia", "digest threshold set gmv 300% min 10"); !strings.Contains(out, "±300%") {
		t.Errorf("threshold set: %s", out)
	}
	e.history(day("2026-07-15"), day("2026-09-15"), 100)
	e.orders(day("2026-09-16"), 300, 2, 3000)
	if d := e.build(domain.DigestDaily, day("2026-09-16")); flagged(d, "gmv") || !flagged(d, "orders") {
		t.Errorf("GMV flagged under a 300%% threshold, or orders not: %+v", d.Anomalies)
	}
}

func TestLargePeriodsAreCountedOnTheCheapTotals(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-10-01"), day("2026-12-04"), 100)
	full := e.build(domain.DigestWeekly, day("2026-11-23"))
	if !full.Figures["repurchase_rate"].OK {
		t.Fatalf("weekly digest without repurchase rate: %+v", full.Figures["repurchase_rate"])
	}
	e.h.FullTotalsMaxOrders = 500 // a week here has about 700
	d := e.build(domain.DigestWeekly, day("2026-11-23"))
	text := bot.PlainText(d.Content)
	// The cheap totals now have every figure ShopTotals has: nothing is
	// left out of a large period.
	if strings.Contains(text, "not counted for periods") {
		t.Errorf("large week:\n%s", text)
	}
	if d.Figures["gmv"] != full.Figures["gmv"] || d.Figures["paying_customers"] != full.Figures["paying_customers"] ||
		d.Figures["repurchase_rate"] != full.Figures["repurchase_rate"] {
		t.Errorf("cheap totals differ: %+v vs %+v", d.Figures, full.Figures)
	}
}

func TestSettledWindowsAreKeptAndGiveTheSameFigures(t *testing.T) {
	e := newEnv(t, nil)
	e.history(day("2026-07-15"), day("2026-09-16"), 100)
	first := e.build(domain.DigestDaily, day("2026-09-16"))
	var kept, unsettled int
	if err := e.db.SQL().QueryRowContext(e.ctx, `SELECT count(*), count(*) FILTER (WHERE to_at > now() - interval '48 hours') FROM digest_windows`).
		Scan(&kept, &unsettled); err != nil {
		t.Fatal(err)
	}
	if kept < 30 || unsettled != 0 {
		t.Fatalf("kept %d windows, %d unsettled", kept, unsettled)
	}
	second := e.build(domain.DigestDaily, day("2026-09-16"))
	if fmt.Sprint(first.Figures) != fmt.Sprint(second.Figures) || bot.PlainText(first.Content) != bot.PlainText(second.Content) {
		t.Errorf("kept windows changed the digest:\n%s\n---\n%s", bot.PlainText(first.Content), bot.PlainText(second.Content))
	}
	if len(first.Chart.PNG) != len(second.Chart.PNG) {
		t.Errorf("chart from kept windows differs: %d vs %d bytes", len(first.Chart.PNG), len(second.Chart.PNG))
	}
}
