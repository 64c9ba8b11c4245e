package wechat

import (
	"encoding/xml"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

// envelope is a safe- or compatible-mode request body: the message is in
// Encrypt. (Compatible mode also carries it in plain text; only the
// encrypted copy is trusted.)
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName string   `xml:"ToUserName"`
	Encrypt    string   `xml:"Encrypt"`
}

// inbound is a message or event pushed by WeChat. Only the fields opsbot
// uses are decoded.
type inbound struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Content      string   `xml:"Content"`
	MsgID        string   `xml:"MsgId"`
	Event        string   `xml:"Event"`
	EventKey     string   `xml:"EventKey"`
}

var errMalformed = errors.New("wechat: malformed message")

// parseInbound decodes a plaintext message and checks that it has what
// routing needs.
func parseInbound(raw []byte) (inbound, error) {
	var m inbound
	// What XML cannot carry (NUL, other control characters, invalid
	// UTF-8) is dropped first, so such a message is handled, not refused.
	if err := xml.Unmarshal([]byte(xmlSafe(string(raw))), &m); err != nil {
		return m, errMalformed
	}
	// Nothing from outside reaches the database or the handlers with a
	// NUL, invalid UTF-8 or opsbot's markup sentinels in it.
	m.ToUserName = domain.Sanitize(m.ToUserName)
	m.FromUserName = strings.TrimSpace(domain.Sanitize(m.FromUserName))
	m.MsgType = strings.TrimSpace(domain.Sanitize(m.MsgType))
	m.MsgID = strings.TrimSpace(domain.Sanitize(m.MsgID))
	m.Event = strings.TrimSpace(domain.Sanitize(m.Event))
	m.EventKey = strings.TrimSpace(domain.Sanitize(m.EventKey))
	m.Content = domain.Sanitize(m.Content)
	if m.FromUserName == "" || m.MsgType == "" || len(m.FromUserName) > 128 || len(m.MsgID) > 64 {
		return m, errMalformed
	}
	if m.MsgType == "event" && m.Event == "" {
		return m, errMalformed
	}
	return m, nil
}

// dedupeKey identifies a delivery across WeChat's retries: the MsgId for
// messages, the sender and creation time for events (which have no MsgId).
func (m inbound) dedupeKey() string {
	if m.MsgType != "event" && m.MsgID != "" {
		return "msg:" + m.MsgID
	}
	return "ev:" + m.FromUserName + ":" + strconv.FormatInt(m.CreateTime, 10) + ":" + m.Event
}

// MaxTextRunes is how much of a customer's message opsbot keeps. WeChat
// lets people paste very long texts; the rest is dropped, and the customer
// is told so.
const MaxTextRunes = 1000

// Normalize prepares a customer's text for the handlers: invalid UTF-8
// replaced, control characters and opsbot's markup sentinels dropped
// (newlines and tabs kept), full-width
// ASCII letters, digits and punctuation and the ideographic space turned
// into their ordinary forms (what NFKC does for those ranges; CJK text and
// emoji are left alone), surrounding space trimmed, and the result cut to
// MaxTextRunes. truncated reports whether anything was cut.
func Normalize(s string) (text string, truncated bool) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = domain.StripMarks(s)
	var b strings.Builder
	b.Grow(len(s))
	n := 0
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		case r == '\r':
			r = '\n'
		case r == '\n' || r == '\t':
		case unicode.IsControl(r):
			continue
		default:
			if h, ok := halfWidthSymbols[r]; ok {
				r = h
			}
		}
		if n >= MaxTextRunes {
			truncated = true
			break
		}
		b.WriteRune(r)
		n++
	}
	text = strings.TrimSpace(b.String())
	if truncated {
		// Do not leave half an emoji sequence dangling.
		text = strings.TrimRightFunc(text, func(r rune) bool {
			return r == '\u200d' || r == '\ufe0f' || r == '\ufe0e'
		})
	}
	return text, truncated
}

// halfWidthSymbols are the full-width currency and sign forms outside the
// FF01–FF5E block, with their NFKC equivalents.
var halfWidthSymbols = map[rune]rune{
	'\uFFE0': '\u00A2', // ￠
	'\uFFE1': '\u00A3', // ￡
	'\uFFE2': '\u00AC', // ￢
	'\uFFE4': '\u00A6', // ￤
	'\uFFE5': '\u00A5', // ￥
	'\uFFE6': '\u20A9', // ￦
}

// replyXML builds a passive text reply. Content goes in CDATA, split where
// it contains the CDATA terminator.
func replyXML(to, from string, created int64, content string) []byte {
	var b strings.Builder
	b.Grow(len(content) + len(to) + len(from) + 160)
	b.WriteString("<xml><ToUserName>")
	cdata(&b, to)
	b.WriteString("</ToUserName><FromUserName>")
	cdata(&b, from)
	b.WriteString("</FromUserName><CreateTime>")
	b.WriteString(strconv.FormatInt(created, 10))
	b.WriteString("</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>")
	cdata(&b, content)
	b.WriteString("</Content></xml>")
	return []byte(b.String())
}

// encryptedXML is a safe-mode reply envelope.
func encryptedXML(encrypt, signature, timestamp, nonce string) []byte {
	var b strings.Builder
	b.Grow(len(encrypt) + len(nonce) + 160)
	b.WriteString("<xml><Encrypt>")
	cdata(&b, encrypt)
	b.WriteString("</Encrypt><MsgSignature>")
	cdata(&b, signature)
	b.WriteString("</MsgSignature><TimeStamp>")
	b.WriteString(timestamp) // digits only: checked on the way in
	b.WriteString("</TimeStamp><Nonce>")
	cdata(&b, nonce)
	b.WriteString("</Nonce></xml>")
	return []byte(b.String())
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cdata(b *strings.Builder, s string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(xmlSafe(s), "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

// xmlSafe drops what XML 1.0 cannot carry (most control characters,
// U+FFFE and U+FFFF, invalid UTF-8), which WeChat would reject.
func xmlSafe(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	ok := true
	for _, r := range s {
		if !xmlChar(r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	return strings.Map(func(r rune) rune {
		if xmlChar(r) {
			return r
		}
		return -1
	}, s)
}

func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// maxReplyBytes keeps passive replies under WeChat's 2048-byte limit for
// text content.
const maxReplyBytes = 2000

// capBytes cuts s to at most n bytes on a rune boundary, marking the cut.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
