package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// Deliveries remembers inbound deliveries so each is handled once;
// *store.DB is one.
type Deliveries interface {
	// FirstDelivery records a delivery and reports whether it is new.
	FirstDelivery(ctx context.Context, platform domain.Platform, key string) (bool, error)
	// FinishDelivery records that a delivery was handled.
	FinishDelivery(ctx context.Context, platform domain.Platform, key, response string) error
	// Response reports whether a delivery was handled (ok).
	Response(ctx context.Context, platform domain.Platform, key string) (resp string, ok bool, err error)
	// TakeOverDelivery claims a delivery claimed more than stale ago and
	// never finished: the attempt handling it died.
	TakeOverDelivery(ctx context.Context, platform domain.Platform, key string, stale time.Duration) (bool, error)
}

// Outbox queues outgoing messages for the dispatcher.
type Outbox interface {
	Enqueue(ctx context.Context, msgs ...domain.Outgoing) error
}

// OutboxFunc adapts a function to Outbox.
type OutboxFunc func(ctx context.Context, msgs ...domain.Outgoing) error

// Enqueue calls f.
func (f OutboxFunc) Enqueue(ctx context.Context, msgs ...domain.Outgoing) error {
	return f(ctx, msgs...)
}

// api is the part of slack-go's Web API client the adapter uses.
type api interface {
	AuthTestContext(ctx context.Context) (*slackapi.AuthTestResponse, error)
	PostMessageContext(ctx context.Context, channelID string, options ...slackapi.MsgOption) (string, string, error)
	PostEphemeralContext(ctx context.Context, channelID, userID string, options ...slackapi.MsgOption) (string, error)
	UpdateMessageContext(ctx context.Context, channelID, timestamp string, options ...slackapi.MsgOption) (string, string, string, error)
	OpenConversationContext(ctx context.Context, params *slackapi.OpenConversationParameters) (*slackapi.Channel, bool, bool, error)
	UploadFileContext(ctx context.Context, params slackapi.UploadFileParameters) (*slackapi.FileSummary, error)
	OpenViewContext(ctx context.Context, triggerID string, view slackapi.ModalViewRequest) (*slackapi.ViewResponse, error)
}

// Config configures the adapter.
type Config struct {
	// BotToken (xoxb-) authenticates Web API calls.
	BotToken string
	// SigningSecret verifies HTTP requests; without it the HTTP endpoints
	// refuse everything.
	SigningSecret string
	// AppToken (xapp-) enables Socket Mode.
	AppToken string
	// APIURL overrides the Web API base (tests, proxies); it ends in "/".
	APIURL string
	// HTTPClient makes Web API and response_url calls; default: 15 s timeout.
	HTTPClient *http.Client

	Handler    bot.Handler
	Deliveries Deliveries
	Outbox     Outbox
	Log        *slog.Logger

	// BotUserID is opsbot's own Slack user; looked up with auth.test when
	// empty.
	BotUserID string
	// Budget is how long a request waits for its handler before it is
	// acknowledged and the work finishes in the background; default 2.5 s.
	Budget time.Duration
	// Timeout bounds a handler's run, background included; default 30 s.
	// Keep it well under a minute: the retry rule in doc.go relies on it.
	Timeout time.Duration
}

// Adapter connects opsbot to one Slack workspace.
type Adapter struct {
	cfg       Config
	api       api
	client    *slackapi.Client
	hc        *http.Client
	log       *slog.Logger
	botUserID string
	wg        sync.WaitGroup
}

// New builds the adapter and, unless cfg.BotUserID is set, asks Slack who
// the bot is (auth.test), so that mentions can be stripped and the bot's
// own messages ignored. A failing auth.test is logged, not fatal: Slack may
// be unreachable at start, and bot messages are recognised by bot_id too.
func New(ctx context.Context, cfg Config) (*Adapter, error) {
	if cfg.BotToken == "" {
		return nil, errors.New("slack: a bot token is required")
	}
	if cfg.Handler == nil || cfg.Deliveries == nil || cfg.Outbox == nil {
		return nil, errors.New("slack: Handler, Deliveries and Outbox are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Budget <= 0 {
		cfg.Budget = 2500 * time.Millisecond
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(cfg.HTTPClient)}
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
	}
	if cfg.AppToken != "" {
		opts = append(opts, slackapi.OptionAppLevelToken(cfg.AppToken))
	}
	client := slackapi.New(cfg.BotToken, opts...)
	a := &Adapter{cfg: cfg, api: client, client: client, hc: cfg.HTTPClient, log: cfg.Log, botUserID: cfg.BotUserID}
	if a.botUserID == "" {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if res, err := a.api.AuthTestContext(actx); err != nil {
			a.log.Warn("Slack auth.test failed; carrying on without the bot's user ID", "err", err)
		} else {
			a.botUserID = res.UserID
			a.log.Info("Connected to Slack", "team", res.Team, "bot_user_id", res.UserID)
		}
	}
	return a, nil
}

// BotUserID returns opsbot's Slack user ID, if known.
func (a *Adapter) BotUserID() string { return a.botUserID }

// Wait blocks until every handler and delivery started in the background
// has finished: for tests and for a graceful shutdown.
func (a *Adapter) Wait() { a.wg.Wait() }

// background runs fn on its own goroutine with a fresh context bounded by
// Timeout, tracked by Wait, and with panics logged.
func (a *Adapter) background(fn func(ctx context.Context)) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer a.recover()
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Timeout)
		defer cancel()
		fn(ctx)
	}()
}

func (a *Adapter) recover() {
	if p := recover(); p != nil {
		a.log.Error("Slack adapter panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	}
}

// takeOverAfter is how long an event's claim is held before a redelivery
// may take it over: longer than any handler runs (Timeout), so the
// attempt that held it has certainly finished or died.
func (a *Adapter) takeOverAfter() time.Duration { return a.cfg.Timeout + 5*time.Second }

// recordTimeout bounds the bookkeeping done before a handler starts, so a
// slow database cannot eat the three seconds Slack gives us.
const recordTimeout = time.Second

// firstDelivery records an inbound delivery under a short deadline.
func (a *Adapter) firstDelivery(ctx context.Context, key string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	return a.cfg.Deliveries.FirstDelivery(ctx, domain.PlatformSlack, key)
}

// withinBudget runs work in the background and waits up to the budget for
// its result. If work finishes in time, its result comes back with ok
// true. Otherwise ok is false, and late is called with the result when work
// does finish, so that it can be delivered another way.
func withinBudget[T any](a *Adapter, work func(ctx context.Context) T, late func(ctx context.Context, res T)) (res T, ok bool) {
	const (
		running = iota
		inTime
		tooLate
	)
	var (
		mu    sync.Mutex
		state = running
		done  = make(chan T, 1)
	)
	a.background(func(ctx context.Context) {
		r := work(ctx)
		mu.Lock()
		if state == tooLate {
			mu.Unlock()
			if late != nil {
				late(ctx, r)
			}
			return
		}
		state = inTime
		mu.Unlock()
		done <- r
	})
	timer := time.NewTimer(a.cfg.Budget)
	defer timer.Stop()
	select {
	case r := <-done:
		return r, true
	case <-timer.C:
		mu.Lock()
		if state == inTime {
			mu.Unlock()
			return <-done, true
		}
		state = tooLate
		mu.Unlock()
		var zero T
		return zero, false
	}
}
