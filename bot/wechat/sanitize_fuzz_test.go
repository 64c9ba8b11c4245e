package wechat

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzInboundSanitized: whatever WeChat (or someone with the token) sends,
// nothing that parses carries a NUL, invalid UTF-8 or a markup sentinel
// on to the database, and the payload kept for the sweep reads back as
// the same message.
func FuzzInboundSanitized(f *testing.F) {
	f.Add(textXML("oFuzz\x00", "1", "投诉\x00 杯子\uE000碎了"))
	f.Add(eventXML("oFuzz", "CLICK\xff", "KEY\x00", 1))
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>a&#0;b\x01</Content></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseInbound(body)
		if err != nil {
			return
		}
		for _, v := range []string{m.ToUserName, m.FromUserName, m.MsgType, m.MsgID, m.Event, m.EventKey, m.Content, m.dedupeKey()} {
			if !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\uE000\uE001") {
				t.Fatalf("unsanitized %q in %+v", v, m)
			}
		}
		text, _ := Normalize(m.Content)
		if strings.ContainsAny(text, "\x00\uE000\uE001") {
			t.Fatalf("Normalize left %q", text)
		}
		payload, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back inbound
		if err := json.Unmarshal(payload, &back); err != nil || back.dedupeKey() != m.dedupeKey() || back.Content != m.Content {
			t.Fatalf("payload %s reads back as %+v (%v)", payload, back, err)
		}
	})
}
