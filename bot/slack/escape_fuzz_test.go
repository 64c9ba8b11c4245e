package slack

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opsbot/opsbot/domain"
)

var (
	// live is Slack markup that acts; only opsbot's marks may produce it.
	live = regexp.MustCompile(`<`)
	// ownLink is what a mark renders to.
	ownLink = regexp.MustCompile(`^<[@#][A-Z0-9]{2,32}>`)
	// badEntity is an & that does not start one of the three entities.
	badEntity = regexp.MustCompile(`&(?:[^agl]|a[^m]|am[^p]|amp[^;]|l[^t]|lt[^;]|g[^t]|gt[^;]|$|a$|am$|amp$|l$|lt$|g$|gt$)`)
)

// FuzzEscape: customer text rendered for Slack carries no markup at all,
// and any text carries none but opsbot's own links; cutting rendered text
// never splits an entity or a link.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"<!channel> 退款 <http://x|y>", "&amp; &lt;", "\uE000@U0CEO\uE001", "<@U1>", "a&b<c>d",
		"\uE000#C1|general\uE001", strings.Repeat("&", 50), "<!subteam^S1|@team>"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		customer := text(domain.Sanitize(s))
		if live.MatchString(customer) || badEntity.MatchString(customer) {
			t.Fatalf("customer text %q rendered as %q", s, customer)
		}
		out := text(s)
		for i := strings.IndexByte(out, '<'); i >= 0; i = strings.IndexByte(out, '<') {
			if !ownLink.MatchString(out[i:]) {
				t.Fatalf("text(%q) = %q: markup not made by opsbot", s, out)
			}
			out = out[i+1:]
		}
		if n < 40 || n > 5000 { // Slack's limits are thousands; a link is at most 35
			return
		}
		c := cut(customer, n)
		if utf8.RuneCountInString(c) > n || badEntity.MatchString(strings.TrimSuffix(c, "…")) {
			t.Fatalf("cut(%q, %d) = %q", customer, n, c)
		}
		for _, part := range chunks(customer, n) {
			if utf8.RuneCountInString(part) > n || badEntity.MatchString(part) {
				t.Fatalf("chunks(%q, %d) has %q", customer, n, part)
			}
		}
	})
}

// FuzzFromSlack: decoding Slack's wire format gives sanitized text, and
// undoes escaping exactly.
func FuzzFromSlack(f *testing.F) {
	for _, s := range []string{"满 100 &amp; 包邮 &lt;3 天&gt;", "<https://a.example/x|看这里>", "<@U1|bob> <#C1|g> <!here>",
		"<!subteam^S1|@ops>", "<<>>", "&amp;lt;", "<|>", "a\x00<\uE000@U1\uE001>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := fromSlack(s)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\uE000\uE001") {
			t.Fatalf("fromSlack(%q) = %q", s, got)
		}
		clean := domain.Sanitize(s)
		if back := fromSlack(escape(clean)); back != clean {
			t.Fatalf("fromSlack(escape(%q)) = %q", clean, back)
		}
	})
}

// FuzzInteraction: any interaction payload parses or fails cleanly, and
// what reaches the router is sanitized.
func FuzzInteraction(f *testing.F) {
	for _, s := range []string{
		`{"type":"block_actions","trigger_id":"1.2","user":{"id":"U1"},"actions":[{"action_id":"claim","value":"7"}]}`,
		`{"type":"view_submission","user":{"id":"U1\u0000"},"view":{"callback_id":"x","private_metadata":"{\"v\":\"1\"}",` +
			`"state":{"values":{"note":{"note":{"type":"plain_text_input","value":"a\u0000b"}}}}}}`,
		`{"type":"view_submission","view":{"private_metadata":"{"}}`, `{}`, `[`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		cb, err := parseInteraction(payload)
		if err != nil {
			return
		}
		sanitizeCallback(&cb)
		for _, v := range []string{cb.User.ID, cb.TriggerID, cb.View.CallbackID, cb.View.PrivateMetadata, userName(cb.User)} {
			if strings.ContainsAny(v, "\x00\uE000\uE001") || !utf8.ValidString(v) {
				t.Fatalf("unsanitized %q", v)
			}
		}
		for _, v := range formValues(cb.View.State) {
			if strings.ContainsAny(v, "\x00\uE000\uE001") {
				t.Fatalf("unsanitized form value %q", v)
			}
		}
		_ = parseMeta(cb.View.PrivateMetadata)
	})
}
