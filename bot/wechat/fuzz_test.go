package wechat

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzInbound drives the inbound path minus the database: parse the XML,
// normalise the text, build the passive reply, and check that the reply
// is XML that carries the text back.
func FuzzInbound(f *testing.F) {
	f.Add(textXML("oFuzz", "1", "帮助"))
	f.Add(textXML("oFuzz", "2", "投诉　订单２０２６ 杯子碎了😀"))
	f.Add(textXML("oFuzz", "3", "]]><xml>"))
	f.Add(eventXML("oFuzz", "CLICK", "COMPLAIN", 1))
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>a&#0;b</Content></xml>"))
	f.Add([]byte("<xml><FromUserName>o</FromUserName><MsgType>text</MsgType><Content>\xff\xfe</Content></xml>"))
	f.Add([]byte("<xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := parseInbound(body)
		if err != nil {
			return
		}
		if m.FromUserName == "" || m.MsgType == "" || m.dedupeKey() == "" {
			t.Fatalf("accepted %+v", m)
		}
		text, _ := Normalize(m.Content)
		if !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxTextRunes {
			t.Fatalf("Normalize gave %q", text)
		}
		if text != strings.TrimSpace(text) {
			t.Fatalf("not trimmed: %q", text)
		}
		for _, r := range text {
			if r >= 0xFF01 && r <= 0xFF5E || r == 0x3000 {
				t.Fatalf("full-width %q left in %q", r, text)
			}
		}
		reply := replyXML(m.FromUserName, m.ToUserName, m.CreateTime, capBytes(text, maxReplyBytes))
		var back replyMsg
		if err := xml.Unmarshal(reply, &back); err != nil {
			t.Fatalf("reply is not XML: %v\n%s", err, reply)
		}
		if want := xmlSafe(capBytes(text, maxReplyBytes)); back.Content != want {
			t.Fatalf("reply carries %q, want %q", back.Content, want)
		}
		if back.ToUserName != xmlSafe(m.FromUserName) {
			t.Fatalf("reply goes to %q, not %q", back.ToUserName, m.FromUserName)
		}
	})
}

// FuzzDecrypt feeds arbitrary Encrypt payloads to safe-mode decryption,
// which must fail cleanly, never panic.
func FuzzDecrypt(f *testing.F) {
	c, err := newCryptor(sampleAppID, sampleAESKey)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := c.encrypt(textXML("oFuzz", "1", "帮助"))
	f.Add(sampleEncrypt)
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, enc string) {
		raw, err := c.decrypt(enc)
		if err == nil {
			// Whatever decrypts must encrypt back to something that
			// decrypts to the same message.
			again, err := c.encrypt(raw)
			if err != nil {
				t.Fatal(err)
			}
			if raw2, err := c.decrypt(again); err != nil || string(raw2) != string(raw) {
				t.Fatalf("round trip: %q, %v", raw2, err)
			}
		}
	})
}
