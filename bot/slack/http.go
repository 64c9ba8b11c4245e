package slack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	slackapi "github.com/slack-go/slack"
)

// maxBody is the largest request body read; Slack's are far smaller.
const maxBody = 1 << 20

// verified reads the raw body and checks Slack's signature over it before
// anything is parsed. On failure it has answered (401, or 413 for a body
// over maxBody) and returns false. digest identifies the signed request
// (timestamp and body): a replay inside the signature window has the same.
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request) (body []byte, digest string, ok bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, "", false
		}
		http.Error(w, "could not read the request", http.StatusBadRequest)
		return nil, "", false
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, a.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		a.log.Warn("Rejected a Slack request that failed verification", "path", r.URL.Path,
			"remote_addr", r.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil, "", false
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "v0:%s:", r.Header.Get("X-Slack-Request-Timestamp"))
	sum.Write(body)
	return body, hex.EncodeToString(sum.Sum(nil))[:40], true
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "could not encode the response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Commands serves POST /slack/commands: the /ops slash command.
func (a *Adapter) Commands() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, digest, ok := a.verified(w, r)
		if !ok {
			return
		}
		v, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "malformed form", http.StatusBadRequest)
			return
		}
		m := a.command(r.Context(), slashCommand(v), digest)
		if m == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
}

// Events serves POST /slack/events: url_verification, app mentions, direct
// messages and replies in threads.
func (a *Adapter) Events() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _, ok := a.verified(w, r)
		if !ok {
			return
		}
		retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
		status, resp := a.event(r.Context(), body, retry)
		writeJSON(w, status, resp)
	})
}

// Interactions serves POST /slack/interactions: button clicks and form
// submissions.
func (a *Adapter) Interactions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, digest, ok := a.verified(w, r)
		if !ok {
			return
		}
		v, err := url.ParseQuery(string(body))
		if err != nil || v.Get("payload") == "" {
			http.Error(w, "missing payload", http.StatusBadRequest)
			return
		}
		cb, err := parseInteraction([]byte(v.Get("payload")))
		if err != nil {
			a.log.Warn("Unreadable Slack interaction", "err", err)
			http.Error(w, "malformed payload", http.StatusBadRequest)
			return
		}
		writeJSON(w, http.StatusOK, a.interaction(r.Context(), cb, digest))
	})
}
