package slack

import (
	"context"
	"net/url"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// workingOnIt acknowledges a command whose answer will come later.
const workingOnIt = "Working on it… the answer will follow here."

// message is a message as Slack takes it in a response body or at a
// response_url.
type message struct {
	ResponseType    string           `json:"response_type,omitempty"`
	Text            string           `json:"text"`
	Blocks          []slackapi.Block `json:"blocks,omitempty"`
	ReplaceOriginal bool             `json:"replace_original,omitempty"`
}

func responseType(inChannel bool) string {
	if inChannel {
		return slackapi.ResponseTypeInChannel
	}
	return slackapi.ResponseTypeEphemeral
}

func toMessage(rep bot.Reply) *message {
	r := render(replyContent(rep), maxBlocks)
	return &message{ResponseType: responseType(rep.InChannel), Text: r.Text, Blocks: r.Blocks}
}

// slashCommand reads a slash command from its form body: every field
// sanitized (domain.Sanitize), the text decoded from Slack's format.
func slashCommand(v url.Values) slackapi.SlashCommand {
	get := func(k string) string { return domain.Sanitize(v.Get(k)) }
	return slackapi.SlashCommand{
		TeamID:      get("team_id"),
		ChannelID:   get("channel_id"),
		ChannelName: get("channel_name"),
		UserID:      get("user_id"),
		UserName:    get("user_name"),
		Command:     get("command"),
		Text:        fromSlack(v.Get("text")),
		ResponseURL: get("response_url"),
		TriggerID:   get("trigger_id"),
		APIAppID:    get("api_app_id"),
	}
}

// replayKey is the dedupe key of a command or interaction: its trigger_id,
// unique per invocation, or for one without (Slack does not promise it
// everywhere) the digest of the signed request, which a replay inside the
// signature window shares. "" when there is neither (Socket Mode has no
// signature, and its envelopes are acknowledged, not replayed).
func replayKey(kind, triggerID, digest string) string {
	switch {
	case triggerID != "":
		return kind + ":" + triggerID
	case digest != "":
		return kind + ":signed:" + digest
	}
	return ""
}

// commandResult is a handled command: the reply, and whether its form
// could be opened.
type commandResult struct {
	rep     bot.Reply
	viewErr error
}

// command answers `/ops <command line>`. The result is the response body
// (nil: an empty 200). digest identifies the signed request (HTTP only).
func (a *Adapter) command(ctx context.Context, sc slackapi.SlashCommand, digest string) *message {
	if sc.UserID == "" {
		return nil
	}
	if key := replayKey("command", sc.TriggerID, digest); key != "" {
		first, err := a.firstDelivery(ctx, key)
		if err != nil {
			a.log.Error("Could not record a slash command", "err", err)
			return &message{ResponseType: slackapi.ResponseTypeEphemeral,
				Text: "Sorry, something went wrong on my side. Please try again in a moment."}
		}
		if !first {
			a.log.Warn("Slash command replayed; ignored", "key", key, "user_id", sc.UserID)
			return nil
		}
	}
	msg := bot.Message{
		Platform:  domain.PlatformSlack,
		UserID:    sc.UserID,
		UserName:  sc.UserName,
		ChannelID: sc.ChannelID,
		Text:      sc.Text,
		ID:        sc.TriggerID,
		Time:      time.Now(),
	}
	work := func(ctx context.Context) commandResult {
		rep := a.cfg.Handler.Handle(ctx, msg)
		var err error
		if rep.Modal != nil {
			err = a.openModal(ctx, sc.TriggerID, rep, modalMeta{Channel: sc.ChannelID})
		}
		return commandResult{rep: rep, viewErr: err}
	}
	late := func(ctx context.Context, res commandResult) {
		a.respondLate(ctx, sc.ResponseURL, sc.ChannelID, sc.UserID, res)
	}
	res, ok := withinBudget(a, work, late)
	if !ok {
		return &message{ResponseType: slackapi.ResponseTypeEphemeral, Text: workingOnIt}
	}
	if res.rep.Modal != nil {
		if res.viewErr != nil {
			return &message{ResponseType: slackapi.ResponseTypeEphemeral, Text: formFailed}
		}
		return nil
	}
	if res.rep.IsZero() && len(res.rep.Errors) == 0 {
		return nil
	}
	return toMessage(res.rep)
}

const formFailed = "Sorry, Slack would not open the form (it must open within 3 seconds). Please try again."

// respondLate delivers a command's answer after the acknowledgement.
func (a *Adapter) respondLate(ctx context.Context, responseURL, channel, user string, res commandResult) {
	if res.rep.Modal != nil && res.viewErr == nil {
		return
	}
	m := toMessage(res.rep)
	if res.rep.Modal != nil {
		m = &message{ResponseType: slackapi.ResponseTypeEphemeral, Text: formFailed}
	}
	if res.rep.IsZero() && len(res.rep.Errors) == 0 && res.rep.Modal == nil {
		m = &message{ResponseType: slackapi.ResponseTypeEphemeral, Text: "Done."}
	}
	a.respond(ctx, responseURL, channel, user, m)
}

// openModal opens the reply's form with a trigger_id.
func (a *Adapter) openModal(ctx context.Context, triggerID string, rep bot.Reply, meta modalMeta) error {
	view, err := modalView(rep.Modal, rep.Content, meta)
	if err != nil {
		a.log.Error("Could not render a form", "callback_id", rep.Modal.CallbackID, "err", err)
		return err
	}
	if _, err := a.api.OpenViewContext(ctx, triggerID, view); err != nil {
		a.log.Warn("Could not open a form", "callback_id", rep.Modal.CallbackID, "err", err)
		return err
	}
	return nil
}
