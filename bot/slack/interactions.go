package slack

import (
	"context"
	"encoding/json"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// parseInteraction decodes the JSON payload of an interaction.
func parseInteraction(payload []byte) (slackapi.InteractionCallback, error) {
	var cb slackapi.InteractionCallback
	err := json.Unmarshal(payload, &cb)
	return cb, err
}

// interaction handles a button click or a form submission. The result is
// the response body (nil: an empty 200, which also closes a submitted
// form). digest identifies the signed request (HTTP only).
func (a *Adapter) interaction(ctx context.Context, cb slackapi.InteractionCallback, digest string) any {
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions, slackapi.InteractionTypeViewSubmission:
	default:
		return nil
	}
	if cb.User.ID == "" {
		return nil
	}
	sanitizeCallback(&cb)
	if key := replayKey("interaction", cb.TriggerID, digest); key != "" {
		first, err := a.firstDelivery(ctx, key)
		if err != nil {
			a.log.Error("Could not record a Slack interaction", "err", err)
			return nil
		}
		if !first {
			a.log.Warn("Slack interaction replayed; ignored", "key", key, "user_id", cb.User.ID)
			return nil
		}
	}
	if cb.Type == slackapi.InteractionTypeBlockActions {
		a.blockAction(cb)
		return nil
	}
	return a.viewSubmission(cb)
}

// blockAction routes a button click (the first action of the payload) and
// acts on the reply: open a form, update the clicked message, or answer
// the clicker. It returns once that is done or the budget is spent.
func (a *Adapter) blockAction(cb slackapi.InteractionCallback) {
	if len(cb.ActionCallback.BlockActions) == 0 {
		return
	}
	act := cb.ActionCallback.BlockActions[0]
	channel := cb.Container.ChannelID
	if channel == "" {
		channel = cb.Channel.ID
	}
	ts := cb.Container.MessageTs
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	thread := cb.Container.ThreadTs
	if thread == "" {
		thread = cb.Message.ThreadTimestamp
	}
	msg := bot.Message{
		Platform:  domain.PlatformSlack,
		UserID:    cb.User.ID,
		UserName:  userName(cb.User),
		ChannelID: channel,
		ThreadID:  thread,
		Action:    &bot.Action{ID: act.ActionID, Value: domain.Sanitize(actionValue(*act)), Channel: channel, TS: ts},
		ID:        cb.TriggerID,
		Time:      time.Now(),
	}
	work := func(ctx context.Context) struct{} {
		rep := a.cfg.Handler.Handle(ctx, msg)
		switch {
		case rep.Modal != nil:
			if err := a.openModal(ctx, cb.TriggerID, rep, modalMeta{Channel: channel, Thread: thread}); err != nil {
				a.respond(ctx, cb.ResponseURL, channel, cb.User.ID,
					&message{ResponseType: slackapi.ResponseTypeEphemeral, Text: formFailed})
			}
		case rep.Update:
			a.updateClicked(ctx, cb, channel, ts, rep)
		case !rep.IsZero() || len(rep.Errors) > 0:
			a.respond(ctx, cb.ResponseURL, channel, cb.User.ID, toMessage(rep))
		}
		return struct{}{}
	}
	withinBudget(a, work, nil)
}

// updateClicked replaces the message holding the clicked button: with
// chat.update when it is a normal message, through response_url when it is
// ephemeral (chat.update cannot reach those).
func (a *Adapter) updateClicked(ctx context.Context, cb slackapi.InteractionCallback, channel, ts string, rep bot.Reply) {
	r := render(replyContent(rep), maxBlocks)
	if !cb.Container.IsEphemeral && channel != "" && ts != "" {
		_, _, _, err := a.api.UpdateMessageContext(ctx, channel, ts, r.options()...)
		if err == nil {
			return
		}
		a.log.Warn("chat.update failed; trying response_url", "channel", channel, "err", err)
	}
	if cb.ResponseURL == "" {
		a.log.Error("Could not update a message: no way to reach it", "channel", channel)
		return
	}
	m := &message{Text: r.Text, Blocks: r.Blocks, ReplaceOriginal: true}
	if err := a.postResponseURL(ctx, cb.ResponseURL, m); err != nil {
		a.log.Error("Could not update a message", "channel", channel, "err", err)
	}
}

// viewSubmission routes a submitted form. Within the budget, the reply
// decides the response: errors keep the form open with messages beside
// the inputs, a new form replaces it, anything else closes it and is shown
// where the form was opened. After the budget the form closes and the
// answer follows as a message.
func (a *Adapter) viewSubmission(cb slackapi.InteractionCallback) any {
	meta := parseMeta(cb.View.PrivateMetadata)
	msg := bot.Message{
		Platform:  domain.PlatformSlack,
		UserID:    cb.User.ID,
		UserName:  userName(cb.User),
		ChannelID: meta.Channel,
		ThreadID:  meta.Thread,
		Action: &bot.Action{
			ID:    cb.View.CallbackID,
			Value: domain.Sanitize(meta.Value),
			Form:  formValues(cb.View.State),
		},
		ID:   cb.TriggerID,
		Time: time.Now(),
	}
	work := func(ctx context.Context) bot.Reply { return a.cfg.Handler.Handle(ctx, msg) }
	late := func(ctx context.Context, rep bot.Reply) {
		rep.Modal = nil
		a.answerSubmission(ctx, cb.User.ID, meta, rep)
	}
	rep, ok := withinBudget(a, work, late)
	if !ok {
		return nil
	}
	switch {
	case len(rep.Errors) > 0:
		errs := make(map[string]string, len(rep.Errors))
		for k, v := range rep.Errors {
			errs[k] = plainText(v) // shown as typed beside the input
		}
		return slackapi.NewErrorsViewSubmissionResponse(errs)
	case rep.Modal != nil:
		view, err := modalView(rep.Modal, rep.Content, meta)
		if err != nil {
			a.log.Error("Could not render a form", "callback_id", rep.Modal.CallbackID, "err", err)
			return nil
		}
		return slackapi.NewUpdateViewSubmissionResponse(&view)
	}
	if !rep.IsZero() {
		a.background(func(ctx context.Context) { a.answerSubmission(ctx, cb.User.ID, meta, rep) })
	}
	return nil
}

// answerSubmission shows the answer to a form where the form was opened:
// ephemeral in that channel (in the channel when InChannel), or as a
// direct message when the form came from elsewhere.
func (a *Adapter) answerSubmission(ctx context.Context, user string, meta modalMeta, rep bot.Reply) {
	if rep.IsZero() && len(rep.Errors) == 0 {
		return
	}
	m := toMessage(rep)
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(m.Blocks...))
	}
	if meta.Thread != "" {
		opts = append(opts, slackapi.MsgOptionTS(meta.Thread))
	}
	var err error
	switch {
	case meta.Channel != "" && rep.InChannel:
		_, _, err = a.api.PostMessageContext(ctx, meta.Channel, opts...)
	case meta.Channel != "":
		_, err = a.api.PostEphemeralContext(ctx, meta.Channel, user, opts...)
	default:
		_, _, err = a.api.PostMessageContext(ctx, user, opts...)
	}
	if err != nil {
		a.log.Error("Could not answer a form", "user_id", user, "err", err)
	}
}

// sanitizeCallback strips what must not reach the database (NUL, invalid
// UTF-8, markup sentinels) from the fields opsbot reads.
func sanitizeCallback(cb *slackapi.InteractionCallback) {
	for _, p := range []*string{&cb.TriggerID, &cb.ResponseURL, &cb.User.ID, &cb.Channel.ID,
		&cb.Container.ChannelID, &cb.Container.MessageTs, &cb.Container.ThreadTs,
		&cb.Message.Timestamp, &cb.Message.ThreadTimestamp, &cb.View.CallbackID, &cb.View.PrivateMetadata} {
		*p = domain.Sanitize(*p)
	}
	for _, act := range cb.ActionCallback.BlockActions {
		act.ActionID = domain.Sanitize(act.ActionID)
	}
}

func userName(u slackapi.User) string {
	if u.Name != "" {
		return domain.Sanitize(u.Name)
	}
	return domain.Sanitize(u.Profile.DisplayName)
}
