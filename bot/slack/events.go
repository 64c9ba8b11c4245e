package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// envelope is an Events API delivery: only the parts opsbot reads.
type envelope struct {
	Type      string     `json:"type"`
	Challenge string     `json:"challenge"`
	EventID   string     `json:"event_id"`
	Event     innerEvent `json:"event"`
}

// innerEvent is the event itself: app_mention or message.
type innerEvent struct {
	Type        string `json:"type"`
	SubType     string `json:"subtype"`
	User        string `json:"user"`
	BotID       string `json:"bot_id"`
	Text        string `json:"text"`
	TS          string `json:"ts"`
	ThreadTS    string `json:"thread_ts"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
}

// parseEvent decodes an Events API body (HTTP) or payload (Socket Mode).
func parseEvent(raw []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return envelope{}, err
	}
	if env.Type == "" {
		return envelope{}, errors.New("slack: event without a type")
	}
	// Nothing with a NUL, invalid UTF-8 or markup sentinels goes on to the
	// database; the text itself is decoded (fromSlack) where it is read.
	ev := &env.Event
	for _, p := range []*string{&env.Type, &env.EventID, &ev.Type, &ev.SubType, &ev.User, &ev.BotID,
		&ev.TS, &ev.ThreadTS, &ev.Channel, &ev.ChannelType} {
		*p = domain.Sanitize(*p)
	}
	return env, nil
}

// inbound is an event opsbot answers: the message for the router, and
// where an answer goes.
type inbound struct {
	msg     bot.Message
	channel string
	thread  string // the thread an answer goes in, if any
	ts      string // the message's own ts
	mention bool
}

// target names a Slack destination for the outbox: a channel, or a thread
// in it as "CHANNEL/THREAD_TS". Channel IDs and names never contain "/".
func target(channel, thread string) string {
	if thread == "" {
		return channel
	}
	return channel + "/" + thread
}

// splitTarget undoes target.
func splitTarget(to string) (channel, thread string) {
	channel, thread, _ = strings.Cut(to, "/")
	return channel, thread
}

// stripMention removes the leading <@U…> a mention starts with.
func stripMention(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<@") {
		if i := strings.IndexByte(s, '>'); i > 0 {
			s = strings.TrimSpace(s[i+1:])
		}
	}
	return s
}

// slackTime converts a Slack ts ("1700000000.000100") to a time.
func slackTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000)
}

// inbound decides what an event means to opsbot. It returns false for
// everything opsbot does not answer: messages from bots (itself included),
// edits and other subtypes, top-level channel chatter, and channel
// messages that mention opsbot (their app_mention event is the one
// answered).
func (a *Adapter) inbound(env envelope) (inbound, bool) {
	ev := env.Event
	if env.Type != "event_callback" || ev.User == "" || ev.BotID != "" || ev.SubType == "bot_message" ||
		(a.botUserID != "" && ev.User == a.botUserID) {
		return inbound{}, false
	}
	switch ev.SubType {
	case "", "thread_broadcast", "file_share":
	default:
		return inbound{}, false
	}
	in := inbound{
		msg: bot.Message{
			Platform:  domain.PlatformSlack,
			UserID:    ev.User,
			ChannelID: ev.Channel,
			ThreadID:  ev.ThreadTS,
			ID:        env.EventID,
			Time:      slackTime(ev.TS),
		},
		channel: ev.Channel,
		thread:  ev.ThreadTS,
		ts:      ev.TS,
	}
	switch {
	case ev.Type == "app_mention":
		in.msg.Text = fromSlack(stripMention(ev.Text))
		in.mention = true
	case ev.Type == "message" && ev.ChannelType == "im":
		in.msg.Text = fromSlack(stripMention(ev.Text))
	case ev.Type == "message" && ev.ThreadTS != "" && ev.ThreadTS != ev.TS:
		if a.botUserID != "" && strings.Contains(ev.Text, "<@"+a.botUserID) {
			return inbound{}, false
		}
		if a.botUserID == "" && strings.HasPrefix(strings.TrimSpace(ev.Text), "<@") {
			return inbound{}, false
		}
		in.msg.Text = fromSlack(ev.Text)
		in.msg.Ambient = true
	default:
		return inbound{}, false
	}
	return in, true
}

// event handles one Events API delivery and returns the HTTP status to
// answer with (Socket Mode acknowledges only 2xx) and a body, if any.
// retry is X-Slack-Retry-Num (0 for a first delivery), for the logs only.
func (a *Adapter) event(ctx context.Context, raw []byte, retry int) (int, any) {
	env, err := parseEvent(raw)
	if err != nil {
		a.log.Warn("Unreadable Slack event", "err", err)
		return http.StatusBadRequest, nil
	}
	switch env.Type {
	case "url_verification":
		return http.StatusOK, map[string]string{"challenge": env.Challenge}
	case "event_callback":
	default:
		return http.StatusOK, nil
	}
	in, ok := a.inbound(env)
	if !ok {
		return http.StatusOK, nil
	}
	if env.EventID == "" {
		a.log.Warn("Slack event without an event_id; ignored", "type", env.Event.Type)
		return http.StatusBadRequest, nil
	}
	key := "event:" + env.EventID
	first, err := a.firstDelivery(ctx, key)
	if err != nil {
		a.log.Error("Could not record a Slack event", "event_id", env.EventID, "err", err)
		return http.StatusInternalServerError, nil
	}
	if !first {
		// What to do with a redelivery is decided from what the database
		// knows — whether the event was handled, how long its claim has
		// been held — never from X-Slack-Retry-Num, which the signature
		// does not cover.
		rctx, cancel := context.WithTimeout(ctx, recordTimeout)
		_, done, err := a.cfg.Deliveries.Response(rctx, domain.PlatformSlack, key)
		won := false
		if err == nil && !done {
			won, err = a.cfg.Deliveries.TakeOverDelivery(rctx, domain.PlatformSlack, key, a.takeOverAfter())
		}
		cancel()
		switch {
		case err != nil:
			a.log.Error("Could not look up a Slack event", "event_id", env.EventID, "err", err)
			return http.StatusInternalServerError, nil
		case done:
			a.log.Debug("Slack event delivered again; already handled", "event_id", env.EventID, "retry", retry)
			return http.StatusOK, nil
		case !won:
			// The first delivery may still be running: ask Slack to try
			// again later, when it has certainly finished or died.
			a.log.Info("Slack event delivered again while its first delivery runs; asking for a later retry",
				"event_id", env.EventID, "retry", retry)
			return http.StatusServiceUnavailable, nil
		}
		a.log.Warn("Slack event never finished its first delivery; handling it now",
			"event_id", env.EventID, "retry", retry)
	}
	claim := domain.NewDeliveryClaim(domain.PlatformSlack, key)
	work := func(ctx context.Context) error {
		ctx = domain.WithDelivery(ctx, claim)
		rep := a.cfg.Handler.Handle(ctx, in.msg)
		var err error
		if !claim.Lost() {
			err = a.replyToEvent(ctx, in, env.EventID, rep)
		}
		switch {
		case claim.Lost(): // another attempt had the effect and answers
			a.log.Info("Slack event was handled by another delivery; this one's answer dropped", "event_id", env.EventID)
		case err != nil:
			return err
		}
		return a.cfg.Deliveries.FinishDelivery(domain.WithDelivery(ctx, nil), domain.PlatformSlack, key, "done")
	}
	late := func(_ context.Context, err error) {
		if err != nil {
			a.log.Error("Could not finish a Slack event", "event_id", env.EventID, "err", err)
		}
	}
	err, ok = withinBudget(a, work, late)
	if !ok {
		return http.StatusOK, nil
	}
	if err != nil {
		a.log.Error("Could not finish a Slack event; Slack will retry", "event_id", env.EventID, "err", err)
		return http.StatusInternalServerError, nil
	}
	return http.StatusOK, nil
}

// replyToEvent queues the answer to a mention, a DM or a thread reply in
// the outbox, keyed by the event so a rerun never posts it twice. An
// answer to a mention goes in the mention's thread unless it is meant for
// the channel.
func (a *Adapter) replyToEvent(ctx context.Context, in inbound, eventID string, rep bot.Reply) error {
	c := replyContent(rep)
	if rep.Modal != nil {
		c.Note = strings.TrimSpace(c.Note + "\nThat command opens a form, which Slack only allows from `/ops` " +
			"or a button: type `/ops " + in.msg.Text + "`.")
	}
	if c.IsZero() {
		return nil
	}
	thread := in.thread
	if in.mention && thread == "" && !rep.InChannel {
		thread = in.ts
	}
	return a.cfg.Outbox.Enqueue(ctx, domain.Outgoing{
		Platform:  domain.PlatformSlack,
		Kind:      domain.OutPost,
		To:        target(in.channel, thread),
		Content:   c,
		DedupeKey: "slack:event:" + eventID,
	})
}
