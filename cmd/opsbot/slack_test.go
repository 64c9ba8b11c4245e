package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store/storetest"
)

// wireSlack registers the three endpoints behind the server's limits and
// metrics, the outbox sender, and Socket Mode only with an app token.
func TestWireSlack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"user_id":"UBOT","team":"shop"}`)
	}))
	defer api.Close()
	const secret = "s3cret"
	newTestApp := func(appToken string) *app {
		a := &app{
			cfg: Config{Slack: SlackConfig{BotToken: "xoxb-1", SigningSecret: secret, AppToken: appToken, APIURL: api.URL + "/"}},
			log: slog.New(slog.DiscardHandler),
			db:  storetest.New(t),
			reg: prometheus.NewRegistry(),
		}
		a.metrics = bot.NewMetrics(a.reg)
		a.router = bot.NewRouter(a.db, a.log)
		a.disp = &bot.Dispatcher{Store: a.db, Senders: map[domain.Platform]bot.Sender{}, Log: a.log}
		if err := a.wireSlack(ctx); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := newTestApp("")
	if a.disp.Senders[domain.PlatformSlack] == nil || len(a.starters) != 0 {
		t.Fatalf("sender %v, %d starters", a.disp.Senders[domain.PlatformSlack], len(a.starters))
	}
	if err := a.db.PutStaff(ctx, domain.Staff{UserID: "U1", Role: domain.RoleAgent}); err != nil {
		t.Fatal(err)
	}
	h := a.httpHandler()
	do := func(path, body string, ts time.Time) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		stamp := strconv.FormatInt(ts.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
		req.Header.Set("X-Slack-Request-Timestamp", stamp)
		req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	help := url.Values{"command": {"/ops"}, "text": {"help"}, "user_id": {"U1"}, "channel_id": {"C1"}, "trigger_id": {"1.2.3"}}.Encode()
	if rec := do("/slack/commands", help, time.Now()); rec.Code != 200 || !strings.Contains(rec.Body.String(), "What I can do") {
		t.Errorf("/ops help: %d %s", rec.Code, rec.Body)
	}
	if rec := do("/slack/commands", help, time.Now().Add(-10*time.Minute)); rec.Code != http.StatusUnauthorized {
		t.Errorf("stale: %d", rec.Code)
	}
	if rec := do("/slack/events", `{"type":"url_verification","challenge":"c"}`, time.Now()); rec.Code != 200 {
		t.Errorf("events: %d", rec.Code)
	}
	if rec := do("/slack/interactions", "payload="+strings.Repeat("x", 2<<20), time.Now()); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB interaction: %d, want 413", rec.Code)
	}
	if a := newTestApp("xapp-1"); len(a.starters) != 1 {
		t.Errorf("socket mode: %d starters", len(a.starters))
	}
}
