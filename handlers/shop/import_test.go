package shop_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers/shop"
)

func TestImportOrdersCSV(t *testing.T) {
	e := newEnv(t)
	// A BOM, columns in another order, a good line, a duplicate of it, a
	// line with a bad total, one with a bad type, a short line, and a refund.
	csv := "\ufefftotal,id,type,order_id,customer_id,occurred_at,wechat_openid\n" +
		"129.90,i1,order.paid,O1,C1,2026-11-11T09:00:00+08:00,oI1\n" +
		"129.90,i1,order.paid,O1,C1,2026-11-11T09:00:00+08:00,oI1\n" +
		"12.345,i2,order.paid,O2,C2,2026-11-11T09:00:00+08:00,\n" +
		"5,i3,order.shipped,O3,C3,2026-11-11T09:00:00+08:00,\n" +
		"\"unterminated,i4\n"
	im := &shop.Importer{Store: e.db, Events: &e.events, Loc: shanghai}
	sum, err := im.Import(e.ctx, "orders", strings.NewReader(csv), true)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 5 || sum.Accepted != 1 || sum.Duplicates != 1 || sum.Rejected != 3 || !sum.DryRun {
		t.Fatalf("dry run summary %+v", sum)
	}
	if n := e.count(`SELECT count(*) FROM order_events`); n != 0 {
		t.Fatalf("a dry run wrote %d events", n)
	}
	sum, err = im.Import(e.ctx, "orders", strings.NewReader(csv), false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Accepted != 1 || sum.Duplicates != 1 || sum.Rejected != 3 {
		t.Fatalf("summary %+v", sum)
	}
	lines := map[int]string{}
	for _, r := range sum.Reasons {
		lines[r.Line] = r.Error
	}
	if !strings.Contains(lines[4], "total") || !strings.Contains(lines[5], "type") || lines[6] == "" {
		t.Errorf("reasons by line %v", lines)
	}
	// Importing the same file again changes nothing.
	sum, _ = im.Import(e.ctx, "orders", strings.NewReader(csv), false)
	if sum.Accepted != 0 || sum.Duplicates != 2 {
		t.Errorf("second import %+v", sum)
	}
	if o, err := e.db.Order(e.ctx, "O1"); err != nil || o.Total != 12990 || o.WeChatOpenID != "oI1" {
		t.Errorf("O1 = %+v, %v", o, err)
	}
	for _, bad := range []string{"id,type,order_id,customer_id,total,colour\n", "id,type,order_id,customer_id,total\n", "id,id\n"} {
		if _, err := im.Import(e.ctx, "orders", strings.NewReader(bad), false); err == nil || !strings.Contains(err.Error(), "column") {
			t.Errorf("header %q: %v", bad, err)
		}
	}
}

func TestImportTrafficCSV(t *testing.T) {
	e := newEnv(t)
	im := &shop.Importer{Store: e.db, Loc: shanghai}
	csv := "date,pv,uv,new_users,active_users\n2026-11-11,100,50,5,40\n2026-11-12,x,1,1,1\n2026-11-11,200,80,8,60\n"
	sum, err := im.Import(e.ctx, "traffic", strings.NewReader(csv), false)
	if err != nil || sum.Accepted != 2 || sum.Rejected != 1 {
		t.Fatalf("%+v, %v", sum, err)
	}
	tot, _ := e.db.ShopTotals(e.ctx, domain.Day(time.Date(2026, 11, 11, 0, 0, 0, 0, shanghai), shanghai), e.now)
	if tot.UV != 80 || tot.PV != 200 {
		t.Errorf("the later line for a date should win: %+v", tot)
	}
}

func TestDemo(t *testing.T) {
	e := newEnv(t)
	d := &shop.Demo{Store: e.db, Loc: shanghai}
	now := time.Date(2026, 12, 2, 15, 0, 0, 0, shanghai)
	sum, err := d.Fill(e.ctx, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Orders < 10000 || sum.TrafficDays != shop.DemoDays || sum.Complaints == 0 || sum.Followers == 0 {
		t.Fatalf("demo wrote %+v", sum)
	}
	// 双11 stands out against the Wednesday before.
	day := func(d int) float64 {
		tot, err := e.db.ShopTotals(e.ctx, domain.Day(time.Date(2026, 11, d, 0, 0, 0, 0, shanghai), shanghai), now)
		if err != nil {
			t.Fatal(err)
		}
		return tot.Figures()["gmv"].V
	}
	if day(11) < 3*day(4) {
		t.Errorf("no 双11 peak: 11-11 %v vs 11-04 %v", day(11), day(4))
	}
	handComputedDay(t, e, time.Date(2026, 11, 20, 0, 0, 0, 0, shanghai), now)
	handComputedDay(t, e, time.Date(2026, 11, 11, 0, 0, 0, 0, shanghai), now)

	states := e.count(`SELECT count(DISTINCT state) FROM complaints`)
	if states < 3 {
		t.Errorf("complaints in %d states", states)
	}
	// A real order present: demo refuses without --force.
	e.post("/ingest/orders", events(order("real1", "order.paid", "R1", "1", "2026-11-11T09:00:00+08:00")), 0, "")
	if _, err := d.Fill(e.ctx, now, false); err != shop.ErrRealData {
		t.Errorf("demo over real data: %v", err)
	}
	if _, err := d.Remove(e.ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`SELECT count(*) FROM orders WHERE demo`, `SELECT count(*) FROM traffic`,
		`SELECT count(*) FROM customers WHERE demo`,
		`SELECT count(*) FROM complaints`, `SELECT count(*) FROM wechat_followers`} {
		if n := e.count(q); n != 0 {
			t.Errorf("%s = %d after --remove", q, n)
		}
	}
	if n := e.count(`SELECT count(*) FROM orders`); n != 1 {
		t.Errorf("remove took real orders: %d left", n)
	}
}

// handComputedDay checks the metrics of one demo day against figures
// computed here, in Go, from the rows themselves.
func handComputedDay(t *testing.T, e *env, day, now time.Time) {
	t.Helper()
	from, to := day, day.AddDate(0, 0, 1)
	rows, err := e.db.SQL().Query(`SELECT customer_id, total, paid_at, refunded_at FROM orders WHERE paid_at IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var gmv, orders, refunded int64
	paying, before := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var cust string
		var total int64
		var paid time.Time
		var ref *time.Time
		if err := rows.Scan(&cust, &total, &paid, &ref); err != nil {
			t.Fatal(err)
		}
		if paid.Before(from) {
			before[cust] = true
		}
		if paid.Before(from) || !paid.Before(to) {
			continue
		}
		gmv += total
		orders++
		paying[cust] = true
		if ref != nil && !ref.Before(from) && ref.Before(to) {
			refunded++
		}
	}
	var repeat int64
	for c := range paying {
		if before[c] {
			repeat++
		}
	}
	var uv, active int64
	if err := e.db.SQL().QueryRow(`SELECT uv, active_users FROM traffic WHERE day = $1 AND channel = ''`,
		day.Format("2006-01-02")).Scan(&uv, &active); err != nil {
		t.Fatal(err)
	}
	tot, err := e.db.ShopTotals(e.ctx, domain.Day(day, shanghai), now)
	if err != nil {
		t.Fatal(err)
	}
	f := tot.Figures()
	n := float64(len(paying))
	want := map[string]float64{
		"gmv": float64(gmv), "orders": float64(orders), "paying_customers": n, "aov": float64(gmv) / n,
		"conversion": n / float64(uv), "refund_rate": float64(refunded) / float64(orders),
		"repurchase_rate": float64(repeat) / float64(active), "uv": float64(uv), "active_users": float64(active),
	}
	if orders == 0 || repeat == 0 {
		t.Fatalf("%s: a demo day with %d orders and %d repeat buyers proves little", day.Format("2006-01-02"), orders, repeat)
	}
	for name, w := range want {
		if got := f[name]; !got.OK || math.Abs(got.V-w) > 1e-9*math.Max(1, math.Abs(w)) {
			t.Errorf("%s %s = %+v, hand computation %v", day.Format("2006-01-02"), name, got, w)
		}
	}
}
