package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/silenceper/wechat/v2/cache"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/bot/wechat"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
)

// wechatAPITimeout bounds every WeChat API call.
const wechatAPITimeout = 10 * time.Second

// wechatSweepEvery is how often unfinished WeChat deliveries are looked for.
const wechatSweepEvery = 15 * time.Second

func wechatAccount(c WeChatConfig) wechat.Account {
	return wechat.Account{AppID: c.AppID, AppSecret: c.AppSecret, Token: c.Token, EncodingAESKey: c.EncodingAESKey}
}

// wireWeChat connects the Official Account adapter when WECHAT_APP_ID is set.
func (a *app) wireWeChat(ctx context.Context) error {
	c := a.cfg.WeChat
	if !c.Enabled() {
		return nil
	}
	wechat.ConfigureAPI(c.APIURL, wechatAPITimeout)
	acc := wechatAccount(c)
	oa := wechat.NewOfficialAccount(acc, wechat.TokenCache{Store: a.db, Log: a.log})
	inbox, err := a.db.NewWeChatInbox(ctx)
	if err != nil {
		return err
	}
	ad, err := wechat.New(acc, a.router, inbox, wechat.Options{
		Welcome: handlers.CustomerWelcome(a.router.Menu()),
		Wake:    a.disp.Wake,
		Log:     a.log.With("adapter", "wechat"),
	})
	if err != nil {
		return fmt.Errorf("WECHAT_*: %w", err)
	}
	a.handle("GET /wechat", ad)
	a.handle("POST /wechat", ad)
	a.drains = append(a.drains, ad.Wait)
	// What a process that died left unfinished is handled by whichever
	// replica sweeps first, even when WeChat has stopped retrying.
	a.starters = append(a.starters, func(ctx context.Context) error { return ad.RunSweeper(ctx, wechatSweepEvery) })
	a.disp.Senders[domain.PlatformWeChat] = wechat.NewSender(oa, a.db, wechat.SenderOptions{
		Templates:     c.Templates,
		Subscriptions: c.Subscriptions,
		Agents:        a.channels.Complaints,
		Log:           a.log.With("adapter", "wechat"),
	})
	mode := "plaintext"
	if c.EncodingAESKey != "" {
		mode = "compatible or safe"
	}
	a.log.Info("WeChat Official Account adapter on", "path", "/wechat", "message_mode", mode,
		"templates", len(c.Templates), "subscription_templates", len(c.Subscriptions))
	return nil
}

// wechatCmd is `opsbot wechat menu show|apply`.
func wechatCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	const usage = "usage: opsbot wechat menu show|apply"
	if len(args) != 2 || args[0] != "menu" || (args[1] != "show" && args[1] != "apply") {
		return errors.New(usage)
	}
	buttons, err := menuButtons(cfg, log)
	if err != nil {
		return err
	}
	if args[1] == "show" {
		wechat.PrintMenu(out, buttons)
		return nil
	}
	c := cfg.WeChat
	if !c.Enabled() {
		return errors.New("wechat menu apply: set WECHAT_APP_ID, WECHAT_APP_SECRET and WECHAT_TOKEN first")
	}
	wechat.ConfigureAPI(c.APIURL, wechatAPITimeout)
	// A one-off command: a process-local token cache is enough, and the
	// stable-token API hands out the same token the servers use.
	oa := wechat.NewOfficialAccount(wechatAccount(c), cache.NewMemory())
	if err := wechat.ApplyMenu(oa, buttons); err != nil {
		return fmt.Errorf("wechat menu apply: %w", err)
	}
	log.Info("WeChat menu applied", "buttons", len(buttons))
	fmt.Fprintln(out, "menu applied:")
	wechat.PrintMenu(out, buttons)
	return nil
}

// menuButtons assembles the WeChat custom menu from the features, without
// a database: only their menu items are read.
func menuButtons(cfg Config, log *slog.Logger) ([]wechat.MenuButton, error) {
	a := &app{cfg: cfg, log: log, clock: handlers.NewClock(cfg.Location)}
	r := bot.NewRouter(nil, log)
	for _, f := range a.features(nil, &handlers.Events{}) {
		if err := r.Use(f); err != nil {
			return nil, err
		}
	}
	if err := handlers.UseBasics(r); err != nil {
		return nil, err
	}
	return wechat.MenuButtons(r.Menu()), nil
}
