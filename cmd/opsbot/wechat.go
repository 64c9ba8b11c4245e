package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
)

// wireWeChat connects the Official Account adapter when WECHAT_APP_ID is set.
func (a *app) wireWeChat(ctx context.Context) error {
	return nil
}

// wechatCmd is `opsbot wechat menu show|apply`.
func wechatCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, out io.Writer) error {
	return errors.New("usage: opsbot wechat menu show|apply")
}
