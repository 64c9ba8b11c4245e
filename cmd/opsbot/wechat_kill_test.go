package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// wechatTries and wechatGap are how WeChat delivers a message: up to three
// tries, each given 5 s to answer, the next one about 5 s after the last
// began. A try whose connection drops (the process died) is retried
// sooner, after wechatQuickRetry: that quick retry is what used to find a
// delivery recorded by the dead process and answer it "success" unhandled.
// The test uses WeChat's figures; OPSBOT_KILLTEST_GAP changes the gap.
const (
	wechatTries      = 3
	wechatQuickRetry = 1500 * time.Millisecond
)

func wechatGap() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("OPSBOT_KILLTEST_GAP")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// deliverAsWeChat sends a customer's text message to addr the way WeChat
// does: signed, with a 5-second wait per try, retried until a try gets a
// 200 or three tries were made. It returns how many tries it took and
// whether one was answered.
func deliverAsWeChat(addr, token, openID, msgID, text string, gap time.Duration, counter *atomic.Int64) (int, bool) {
	client := &http.Client{Timeout: 5 * time.Second}
	body := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>`+
		`<MsgId>%s</MsgId></xml>`, openID, time.Now().Unix(), text, msgID)
	for try := 1; try <= wechatTries; try++ {
		started := time.Now()
		ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), fmt.Sprint(time.Now().UnixNano())
		q := url.Values{"signature": {wechatSign(token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
			"openid": {openID}}
		res, err := client.Post("http://"+addr+"/wechat?"+q.Encode(), "text/xml", strings.NewReader(body))
		counter.Add(1)
		next := started.Add(gap)
		var ne net.Error
		switch {
		case err == nil:
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return try, true
			}
		case errors.As(err, &ne) && ne.Timeout():
		default: // the connection dropped or was refused
			next = time.Now().Add(wechatQuickRetry)
		}
		time.Sleep(time.Until(next))
	}
	return wechatTries, false
}

// TestKillDuringWeChatBurst SIGKILLs opsbot in the middle of a burst of
// customer complaints on WeChat, starts it again at once on the same
// address, and lets WeChat's retries (3 tries, about 5 s apart) come as
// they would. Every message must end up as exactly one complaint: none
// lost to the crash (a delivery recorded and never answered is handled by
// the retry that finds it, or by the sweep), none filed twice.
func TestKillDuringWeChatBurst(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	ctx := context.Background()
	dbURL := storetest.URL(t)
	db, err := store.Open(ctx, dbURL, store.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	api := httptest.NewServer(&e2eWeChat{sent: map[string][]string{}})
	defer api.Close()
	addr := freeAddr(t)
	env := map[string]string{
		"DATABASE_URL":      dbURL,
		"OPSBOT_ADDR":       addr,
		"OPSBOT_DATA_DIR":   t.TempDir(),
		"OPSBOT_LOG_FORMAT": "json",
		"WECHAT_APP_ID":     "wxkilltest",
		"WECHAT_APP_SECRET": "secret",
		"WECHAT_TOKEN":      "killtoken",
		"WECHAT_API_URL":    api.URL,
	}
	complaints := func() int {
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM complaints`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := startOpsbot(t, env, "serve")
	waitReady(t, first, addr, 60*time.Second)

	const n = 240
	const inFlight = 24 // WeChat pushes a burst concurrently
	gap := wechatGap()
	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, inFlight)
		requests atomic.Int64
		answered atomic.Int64
		retried  atomic.Int64
		mu       sync.Mutex
		failed   []int
	)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			tries, ok := deliverAsWeChat(addr, "killtoken", fmt.Sprintf("oKill%04d", i), fmt.Sprint(7100000000+i),
				fmt.Sprintf("投诉 订单 2026%06d 的杯子碎了（第 %d 条）", i, i), gap, &requests)
			if tries > 1 {
				retried.Add(1)
			}
			if ok {
				answered.Add(1)
			} else {
				mu.Lock()
				failed = append(failed, i)
				mu.Unlock()
			}
		}()
		if i == n/3 {
			// Kill once a good part of the burst is in: some messages
			// done, some recorded and in the middle of being handled,
			// some not yet sent.
			for complaints() < n/5 && time.Since(start) < 30*time.Second {
				time.Sleep(5 * time.Millisecond)
			}
			first.kill()
			var recorded, unfinished int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE done_at IS NULL)
				FROM inbound_dedupe WHERE platform = 'wechat'`).Scan(&recorded, &unfinished); err != nil {
				t.Fatal(err)
			}
			t.Logf("killed opsbot with %d complaints filed, %d deliveries recorded, %d of them unfinished",
				complaints(), recorded, unfinished)
			killed := time.Now()
			second := startOpsbot(t, env, "serve")
			t.Logf("restarted opsbot ready %v after the kill", waitReady(t, second, addr, 60*time.Second).Sub(killed).Round(time.Millisecond))
			t.Cleanup(func() { second.stop(t) })
		}
	}
	wg.Wait()
	// What a dead process left unfinished and no retry took over is the
	// sweep's; give it the time it needs.
	deadline := time.Now().Add(90 * time.Second)
	for {
		var unfinished int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM inbound_dedupe
			WHERE platform = 'wechat' AND done_at IS NULL`).Scan(&unfinished); err != nil {
			t.Fatal(err)
		}
		if unfinished == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d deliveries still unfinished", unfinished)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	per := map[string]int{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT openid, count(*) FROM complaints GROUP BY openid`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var c int
		if err := rows.Scan(&id, &c); err != nil {
			t.Fatal(err)
		}
		per[id] = c
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		t.Fatal(err)
	}
	lost, dup := 0, 0
	for i := range n {
		switch c := per[fmt.Sprintf("oKill%04d", i)]; {
		case c == 0:
			lost++
		case c > 1:
			dup += c - 1
		}
	}
	t.Logf("WeChat burst with SIGKILL: %d messages, %d requests (%d messages retried), %d answered by WeChat's last try, "+
		"%d complaints: %d lost, %d duplicated, in %v",
		n, requests.Load(), retried.Load(), answered.Load(), complaints(), lost, dup, time.Since(start).Round(time.Millisecond))
	fmt.Printf("TestKillDuringWeChatBurst: messages=%d lost=%d duplicated=%d retried=%d\n", n, lost, dup, retried.Load())
	if len(failed) > 0 {
		t.Errorf("%d messages never got an answer in %d tries (restart too slow?): %v", len(failed), wechatTries, failed)
	}
	if retried.Load() == 0 {
		t.Error("no message needed a retry: the kill hit nothing in flight, and the test proves little")
	}
	if lost != 0 || dup != 0 {
		t.Fatalf("%d of %d messages lost and %d complaints duplicated, want 0 and 0", lost, n, dup)
	}
}
