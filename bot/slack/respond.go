package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	slackapi "github.com/slack-go/slack"
)

// respond shows m to user: at responseURL when there is one, otherwise
// (or when that fails) with chat.postEphemeral in channel, chat.postMessage
// for in-channel answers, or a direct message when there is no channel.
func (a *Adapter) respond(ctx context.Context, responseURL, channel, user string, m *message) {
	if responseURL != "" {
		err := a.postResponseURL(ctx, responseURL, m)
		if err == nil {
			return
		}
		a.log.Warn("Posting to response_url failed; using the Web API", "err", err)
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(m.Blocks...))
	}
	var err error
	switch {
	case channel != "" && m.ResponseType == slackapi.ResponseTypeInChannel:
		_, _, err = a.api.PostMessageContext(ctx, channel, opts...)
	case channel != "":
		_, err = a.api.PostEphemeralContext(ctx, channel, user, opts...)
	default:
		// Posting to a user ID lands in the app's Messages tab.
		_, _, err = a.api.PostMessageContext(ctx, user, opts...)
	}
	if err != nil {
		a.log.Error("Could not deliver an answer", "user_id", user, "channel", channel, "err", err)
	}
}

// postResponseURL posts m to a response_url. Those URLs take JSON, need no
// token, and accept up to five posts in 30 minutes.
func (a *Adapter) postResponseURL(ctx context.Context, u string, m *message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("response_url: %s: %s", resp.Status, msg)
	}
	return nil
}
