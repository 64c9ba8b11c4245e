package store_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

func TestWeChatFollowerWindow(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	if _, _, err := db.WeChatTakeAllowance(ctx, "oNobody", now); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown customer: %v", err)
	}
	if err := db.WeChatTouch(ctx, "o1", now.Add(-47*time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	// An older message arriving late does not move the window back.
	if err := db.WeChatTouch(ctx, "o1", now.Add(-50*time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if f, ok, err := db.WeChatTakeAllowance(ctx, "o1", now); err != nil || !ok || f.Allowance != 2-i {
			t.Fatalf("take %d: %+v %v %v", i, f, ok, err)
		}
	}
	if f, ok, err := db.WeChatTakeAllowance(ctx, "o1", now); err != nil || ok || f.Allowance != 0 || !f.WindowOpen(now) {
		t.Fatalf("used up: %+v %v %v", f, ok, err)
	}
	if err := db.WeChatReturnAllowance(ctx, "o1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.WeChatTakeAllowance(ctx, "o1", now.Add(2*time.Hour)); ok {
		t.Fatal("window open after 48 hours")
	}
	if _, ok, _ := db.WeChatTakeAllowance(ctx, "o1", now); !ok {
		t.Fatal("returned allowance not usable")
	}

	if err := db.WeChatSubscribe(ctx, "o2", now, 3); err != nil {
		t.Fatal(err)
	}
	if err := db.WeChatUnsubscribe(ctx, "o2", now); err != nil {
		t.Fatal(err)
	}
	f, ok, err := db.WeChatTakeAllowance(ctx, "o2", now)
	if err != nil || ok || f.Subscribed || f.UnsubscribedAt.IsZero() {
		t.Fatalf("unsubscribed: %+v %v %v", f, ok, err)
	}
	// Writing again after following again reopens the window.
	if err := db.WeChatSubscribe(ctx, "o2", now, 3); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.WeChatTakeAllowance(ctx, "o2", now); !ok {
		t.Fatal("resubscribed customer unreachable")
	}
	if err := db.WeChatCloseWindow(ctx, "o2"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.WeChatTakeAllowance(ctx, "o2", now); ok {
		t.Fatal("closed window still open")
	}
}

// Replicas taking allowance at once never exceed it.
func TestWeChatAllowanceConcurrent(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	now := time.Now()
	if err := db.WeChatTouch(ctx, "oC", now, 5); err != nil {
		t.Fatal(err)
	}
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok, err := db.WeChatTakeAllowance(ctx, "oC", now); err == nil && ok {
				taken.Add(1)
			}
		}()
	}
	wg.Wait()
	if taken.Load() != 5 {
		t.Fatalf("took %d of 5", taken.Load())
	}
}

func TestWeChatFirstMessage(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	inbox, err := db.NewWeChatInbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer inbox.Close()
	now := time.Now()
	for name, first := range map[string]func(key, openID string) (bool, error){
		"db":    func(k, o string) (bool, error) { return db.WeChatFirstMessage(ctx, k, o, now, 5, "") },
		"inbox": func(k, o string) (bool, error) { return inbox.WeChatFirstMessage(ctx, k, o, now, 5, "") },
	} {
		key, openID := "msg:"+name, "o"+name
		if ok, err := first(key, openID); err != nil || !ok {
			t.Fatalf("%s first: %v %v", name, ok, err)
		}
		if _, _, err := db.WeChatTakeAllowance(ctx, openID, now); err != nil {
			t.Fatalf("%s: window not opened: %v", name, err)
		}
		if ok, err := first(key, openID); err != nil || ok {
			t.Fatalf("%s retry: %v %v", name, ok, err)
		}
		// The retry did not reset the allowance.
		if f, _ := db.WeChatFollower(ctx, openID); f.Allowance != 4 {
			t.Fatalf("%s: allowance %d after retry", name, f.Allowance)
		}
		if err := inbox.SaveResponse(ctx, domain.PlatformWeChat, key, "<xml/>"); err != nil {
			t.Fatal(err)
		}
		if r, ok, err := db.Response(ctx, domain.PlatformWeChat, key); err != nil || !ok || r != "<xml/>" {
			t.Fatalf("%s response %q %v %v", name, r, ok, err)
		}
	}
	// The same key from FirstDelivery is the same delivery.
	if ok, _ := db.FirstDelivery(ctx, domain.PlatformWeChat, "msg:db"); ok {
		t.Fatal("FirstDelivery disagrees with WeChatFirstMessage")
	}
}

func TestWeChatCache(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	if _, err := db.WeChatCacheGet(ctx, "k"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("empty cache: %v", err)
	}
	if err := db.WeChatCacheSet(ctx, "k", "v1", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.WeChatCacheSet(ctx, "k", "v2", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := db.WeChatCacheGet(ctx, "k"); err != nil || v != "v2" {
		t.Fatalf("get %q %v", v, err)
	}
	if err := db.WeChatCacheSet(ctx, "old", "v", -time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WeChatCacheGet(ctx, "old"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("expired value returned: %v", err)
	}
	if err := db.WeChatCacheDelete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.WeChatCacheGet(ctx, "k"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("deleted value returned: %v", err)
	}
}
