package shop_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers/shop"
)

func clean(s string) bool { return !strings.ContainsFunc(s, unicode.IsControl) }

// FuzzParseEvents: any JSON body the shop (or anyone with the secret)
// posts either fails as a whole or splits into valid events and
// rejections, one per element; accepted events carry no control characters.
func FuzzParseEvents(f *testing.F) {
	f.Add([]byte(`{"events":[{"id":"e1","type":"order.paid","order_id":"o1","customer_id":"c1","total":"129.90","occurred_at":"2026-11-11T10:00:00+08:00"}]}`))
	f.Add([]byte(`{"events":[{"id":"e\u0000","type":"order.paid"},{"id":1},null,[]]}`))
	f.Add([]byte(`{"events":{}}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, idx, rejected, err := shop.ParseEvents(body)
		if err != nil {
			return
		}
		if len(evs) != len(idx) {
			t.Fatalf("%d events, %d indexes", len(evs), len(idx))
		}
		for _, e := range evs {
			if e.ID == "" || e.Total < 0 || !clean(e.ID+e.OrderID+e.CustomerID+e.WeChatOpenID+e.Channel) {
				t.Fatalf("accepted %+v", e)
			}
		}
		seen := map[int]bool{}
		for _, i := range idx {
			seen[i] = true
		}
		for _, r := range rejected {
			if seen[r.Index] {
				t.Fatalf("element %d both accepted and rejected", r.Index)
			}
		}
	})
}

// FuzzParseTraffic: the same for daily traffic.
func FuzzParseTraffic(f *testing.F) {
	f.Add([]byte(`{"days":[{"date":"2026-11-11","channel":"app","pv":1000,"uv":"300","new_users":1,"active_users":2}]}`))
	f.Add([]byte(`{"days":[{"date":"2026-02-30","pv":-1},{"date":1}]}`))
	f.Add([]byte(`{"days":[{"pv":1e400}]}`))
	loc := time.FixedZone("CST", 8*3600)
	f.Fuzz(func(t *testing.T, body []byte) {
		days, _, err := shop.ParseTraffic(body, loc)
		if err != nil {
			return
		}
		for _, d := range days {
			if d.PV < 0 || d.UV < 0 || d.NewUsers < 0 || d.ActiveUsers < 0 || !clean(d.Channel) || d.Date.IsZero() {
				t.Fatalf("accepted %+v", d)
			}
		}
	})
}

// FuzzImportCSV: a CSV upload is read the way the importer reads it
// (header mapped with HeaderColumns, each row parsed into an event); no
// input panics, and accepted rows carry no control characters.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte("id,type,order_id,customer_id,total,occurred_at\ne1,order.paid,o1,c1,129.90,2026-11-11T10:00:00+08:00\n"))
	f.Add([]byte("\xef\xbb\xbfID , Type,order_id,customer_id,total,occurred_at,channel\n\"e\x00\",order.paid,o1,c1,1,2026-11-11T10:00:00Z,\"a\nb\"\n"))
	f.Add([]byte("id,id\n1,2\n"))
	f.Add([]byte("\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return
		}
		col, err := shop.HeaderColumns(header, domain.OrderEventFields, "orders")
		if err != nil {
			return
		}
		get := func(rec []string, name string) string {
			if i, ok := col[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		for range 100 {
			rec, err := cr.Read()
			if err != nil {
				if _, ok := err.(*csv.ParseError); ok {
					continue
				}
				return
			}
			e, err := domain.RawOrderEvent{ID: get(rec, "id"), Type: get(rec, "type"), OrderID: get(rec, "order_id"),
				CustomerID: get(rec, "customer_id"), WeChatOpenID: get(rec, "wechat_openid"), Total: get(rec, "total"),
				Channel: get(rec, "channel"), OccurredAt: get(rec, "occurred_at")}.Parse()
			if err == nil && !clean(e.ID+e.OrderID+e.CustomerID+e.WeChatOpenID+e.Channel) {
				t.Fatalf("accepted %+v", e)
			}
		}
	})
}
