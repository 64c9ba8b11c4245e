package slack

import (
	"strings"
	"testing"
)

// FuzzParseEvent feeds arbitrary bodies through event parsing and the
// decision about what they mean: no panics, and nothing from a bot is
// ever taken as a message to answer.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		`{"type":"url_verification","challenge":"abc"}`,
		mentionEvent("Ev1", "U1", "<@UBOT0001> help", "1.1", ""),
		mentionEvent("Ev2", "U1", "<@UBOT0001> staff list", "1.2", "1.0"),
		`{"type":"event_callback","event_id":"Ev3","event":{"type":"message","channel_type":"im","user":"U1","text":"help","ts":"1.3","channel":"D1"}}`,
		`{"type":"event_callback","event_id":"Ev4","event":{"type":"message","bot_id":"B1","user":"U1","text":"x","ts":"1.4","thread_ts":"1.0","channel":"C1"}}`,
		`{"type":"event_callback","event":[]}`, `{}`, `null`, `[`, "",
	} {
		f.Add([]byte(s))
	}
	a := &Adapter{botUserID: botID}
	f.Fuzz(func(t *testing.T, raw []byte) {
		env, err := parseEvent(raw)
		if err != nil {
			return
		}
		in, ok := a.inbound(env)
		if !ok {
			return
		}
		ev := env.Event
		if ev.BotID != "" || ev.SubType == "bot_message" || ev.User == botID || ev.User == "" {
			t.Fatalf("answered a bot: %+v", ev)
		}
		if in.msg.Ambient && (ev.ThreadTS == "" || strings.Contains(ev.Text, "<@"+botID)) {
			t.Fatalf("ambient message outside a thread or addressed to the bot: %+v", ev)
		}
		_ = slackTime(ev.TS)
	})
}
