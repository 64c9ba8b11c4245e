package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxAck keeps acknowledgement payloads under Socket Mode's 20 KB limit;
// bigger answers go through response_url.
const maxAck = 19 << 10

// acker acknowledges Socket Mode envelopes; *socketmode.Client is one.
type acker interface {
	Ack(req socketmode.Request, payload ...any) error
}

// RunSocketMode serves commands, events and interactions over Socket Mode
// until ctx ends. slack-go keeps the connection up and reconnects.
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if a.cfg.AppToken == "" {
		return errors.New("slack: Socket Mode needs an app-level token (SLACK_APP_TOKEN)")
	}
	client := socketmode.New(a.client, socketmode.OptionLog(slogLogger{a.log}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack: socket mode: %w", err)
		case evt := <-client.Events:
			a.socketEvent(ctx, client, evt)
		}
	}
}

// socketEvent handles one Socket Mode event. Envelopes are handled on
// their own goroutines so a slow one holds up no other; each is acked
// once its handling decides the answer, with the response payload when
// Slack takes one.
func (a *Adapter) socketEvent(ctx context.Context, ack acker, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Info("Connecting to Slack in Socket Mode")
	case socketmode.EventTypeConnected:
		a.log.Info("Connected to Slack in Socket Mode")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError:
		a.log.Warn("Slack Socket Mode connection trouble; slack-go will reconnect", "type", evt.Type, "err", evt.Data)
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("Slack refused the app-level token (SLACK_APP_TOKEN)")
	case socketmode.EventTypeDisconnect:
		a.log.Info("Slack asked to reconnect")
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		if evt.Request == nil {
			return
		}
		req := *evt.Request
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			defer a.recover()
			a.socketRequest(ctx, ack, evt.Type, req, evt.Data)
		}()
	}
}

func (a *Adapter) socketRequest(ctx context.Context, ack acker, typ socketmode.EventType, req socketmode.Request, data any) {
	ackWith := func(payload any) {
		var err error
		if payload == nil {
			err = ack.Ack(req)
		} else {
			err = ack.Ack(req, payload)
		}
		if err != nil {
			a.log.Error("Could not acknowledge a Socket Mode envelope", "envelope_id", req.EnvelopeID, "err", err)
		}
	}
	switch typ {
	case socketmode.EventTypeEventsAPI:
		status, body := a.event(ctx, req.Payload, req.RetryAttempt)
		if status/100 != 2 {
			// Not acked: Slack delivers it again (see doc.go).
			return
		}
		ackWith(body)
	case socketmode.EventTypeSlashCommand:
		sc, ok := data.(slackapi.SlashCommand)
		if !ok {
			ackWith(nil)
			return
		}
		m := a.command(ctx, sc, "")
		if m == nil {
			ackWith(nil)
			return
		}
		if b, _ := json.Marshal(m); len(b) > maxAck {
			ackWith(nil)
			a.background(func(ctx context.Context) { a.respond(ctx, sc.ResponseURL, sc.ChannelID, sc.UserID, m) })
			return
		}
		ackWith(m)
	case socketmode.EventTypeInteractive:
		cb, ok := data.(slackapi.InteractionCallback)
		if !ok {
			ackWith(nil)
			return
		}
		body := a.interaction(ctx, cb, "")
		if b, _ := json.Marshal(body); body != nil && len(b) > maxAck {
			body = nil
		}
		ackWith(body)
	default:
		ackWith(nil)
	}
}

// slogLogger lets slack-go's Socket Mode client log through slog, at debug.
type slogLogger struct{ log *slog.Logger }

func (l slogLogger) Output(_ int, s string) error {
	l.log.Debug("slack-go: " + s)
	return nil
}
