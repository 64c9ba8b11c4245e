package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// permanentErrors are Slack error codes that no retry can fix: the message
// fails at once with the code as its reason.
var permanentErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "channel_is_archived": true,
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "not_allowed_token_type": true,
	"access_denied": true, "team_access_not_granted": true, "ekm_access_denied": true,
	"restricted_action": true, "restricted_action_read_only_channel": true,
	"restricted_action_thread_only_channel": true, "restricted_action_non_threadable_channel": true,
	"msg_too_long": true, "no_text": true, "invalid_blocks": true, "invalid_blocks_format": true,
	"invalid_attachments": true, "too_many_attachments": true, "invalid_metadata_format": true,
	"user_not_found": true, "users_not_found": true, "user_disabled": true, "cannot_dm_bot": true,
	"not_allowed": true, "cant_update_message": true, "message_not_found": true, "edit_window_closed": true,
	"invalid_arguments": true, "invalid_arg_name": true, "invalid_array_arg": true, "invalid_charset": true,
	"invalid_form_data": true, "invalid_post_type": true, "missing_post_type": true, "invalid_ts_latest": true,
	"method_deprecated": true, "deprecated_endpoint": true, "two_factor_setup_required": true,
	"file_uploads_disabled": true, "file_upload_size_restricted": true, "file_not_found": true,
	"invalid_channel": true, "duplicate_channel_not_found": true, "posting_to_general_channel_denied": true,
}

// classify turns a Web API error into a *domain.SendError for the
// dispatcher: rate limits wait Retry-After, known hopeless codes fail for
// good, and everything else (network, 5xx, internal_error…) is retried.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *slackapi.RateLimitedError
	if errors.As(err, &rl) {
		return &domain.SendError{RetryAfter: max(rl.RetryAfter, time.Second), Reason: "rate_limited", Err: err}
	}
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		switch {
		case permanentErrors[se.Err]:
			return domain.Permanent(se.Err, err)
		case se.Err == "ratelimited":
			return &domain.SendError{RetryAfter: 30 * time.Second, Reason: "rate_limited", Err: err}
		}
		return &domain.SendError{Reason: se.Err, Err: err}
	}
	var sc slackapi.StatusCodeError
	if errors.As(err, &sc) {
		reason := fmt.Sprintf("http_%d", sc.Code)
		if sc.Code >= 500 || sc.Code == http.StatusRequestTimeout || sc.Code == http.StatusTooManyRequests {
			return &domain.SendError{Reason: reason, Err: err}
		}
		return domain.Permanent(reason, err)
	}
	return &domain.SendError{Reason: "network", Err: err}
}

// Send delivers one outbox message to Slack; the adapter is the
// dispatcher's bot.Sender for domain.PlatformSlack.
//
//   - post: chat.postMessage to To (a channel ID or name, or
//     "CHANNEL/THREAD_TS"); a resolved ThreadRef puts it in that thread.
//   - dm: conversations.open with the user in To, then chat.postMessage.
//   - update: chat.update of the message named by Ref.
//   - upload: a file (Attachment) through the v2 upload API, with the
//     content's text as its comment.
func (a *Adapter) Send(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	channel, thread := splitTarget(it.To)
	if it.ThreadTS != "" {
		thread = it.ThreadTS
		if it.ThreadChannel != "" {
			channel = it.ThreadChannel
		}
	}
	r := render(it.Content, maxBlocks)
	switch it.Kind {
	case domain.OutPost, "":
		return a.post(ctx, channel, thread, r)
	case domain.OutDM:
		ch, _, _, err := a.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{
			Users: []string{channel}, ReturnIM: true,
		})
		if err != nil {
			return domain.Delivery{}, classify(err)
		}
		return a.post(ctx, ch.ID, thread, r)
	case domain.OutUpdate:
		if it.RefChannel == "" || it.RefTS == "" {
			return domain.Delivery{}, domain.Permanent("update_target_unknown",
				fmt.Errorf("no message recorded under ref %q", it.Ref))
		}
		ch, ts, _, err := a.api.UpdateMessageContext(ctx, it.RefChannel, it.RefTS, r.options()...)
		if err != nil {
			return domain.Delivery{}, classify(err)
		}
		return domain.Delivery{Channel: ch, TS: ts}, nil
	case domain.OutUpload:
		return a.upload(ctx, channel, thread, it)
	}
	return domain.Delivery{}, domain.Permanent("unknown_kind", fmt.Errorf("outbox kind %q", it.Kind))
}

var _ bot.Sender = (*Adapter)(nil)

func (a *Adapter) post(ctx context.Context, channel, thread string, r rendered) (domain.Delivery, error) {
	opts := r.options()
	if thread != "" {
		opts = append(opts, slackapi.MsgOptionTS(thread))
	}
	ch, ts, err := a.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return domain.Delivery{}, classify(err)
	}
	return domain.Delivery{Channel: ch, TS: ts}, nil
}

func (a *Adapter) upload(ctx context.Context, channel, thread string, it domain.OutboxItem) (domain.Delivery, error) {
	att := it.Attachment
	if att == nil || len(att.Data) == 0 || att.Name == "" {
		return domain.Delivery{}, domain.Permanent("no_attachment", errors.New("upload without a named, non-empty file"))
	}
	title := att.Title
	if title == "" {
		title = it.Content.Title
	}
	_, err := a.api.UploadFileContext(ctx, slackapi.UploadFileParameters{
		Reader:          bytes.NewReader(att.Data),
		FileSize:        len(att.Data),
		Filename:        att.Name,
		Title:           plainText(title),
		Channel:         channel,
		ThreadTimestamp: thread,
		InitialComment:  fallback(it.Content),
	})
	if err != nil {
		return domain.Delivery{}, classify(err)
	}
	// The v2 API does not say which message shares the file, so there is
	// no ts to remember.
	return domain.Delivery{Channel: channel}, nil
}
