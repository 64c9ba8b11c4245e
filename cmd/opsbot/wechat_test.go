package main

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/domain"
)

func wechatSign(parts ...string) string {
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// wireWeChat registers GET and POST /wechat behind the server's limits
// and the outbox sender; a customer's 帮助 gets the menu.
func TestWireWeChat(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t, map[string]string{
		"WECHAT_APP_ID": "wxcmdtest", "WECHAT_APP_SECRET": "secret", "WECHAT_TOKEN": "cmdtoken",
		"WECHAT_TEMPLATES": "complaint_update=TPL-1",
	})
	if a.disp.Senders[domain.PlatformWeChat] == nil {
		t.Fatal("no WeChat sender")
	}
	if a.cfg.WeChat.Templates["complaint_update"] != "TPL-1" {
		t.Fatalf("templates %v", a.cfg.WeChat.Templates)
	}
	h := a.httpHandler()
	now := strconv.FormatInt(time.Now().Unix(), 10)
	q := url.Values{"signature": {wechatSign("cmdtoken", now, "7")}, "timestamp": {now}, "nonce": {"7"}}
	do := func(method, body string, q url.Values) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/wechat?"+q.Encode(), strings.NewReader(body)))
		return w
	}
	check := url.Values{"echostr": {"hello"}}
	for k, v := range q {
		check[k] = v
	}
	if w := do(http.MethodGet, "", check); w.Code != 200 || w.Body.String() != "hello" {
		t.Errorf("URL check: %d %q", w.Code, w.Body)
	}
	msg := `<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[oCmd1]]></FromUserName>` +
		`<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[帮助]]></Content>` +
		`<MsgId>424242</MsgId></xml>`
	w := do(http.MethodPost, msg, q)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "回复「帮助」可随时查看本菜单") {
		t.Errorf("帮助: %d %s", w.Code, w.Body)
	}
	bad := url.Values{"signature": {"0"}, "timestamp": {"1"}, "nonce": {"1"}}
	if w := do(http.MethodPost, msg, bad); w.Code != http.StatusForbidden {
		t.Errorf("forged: %d", w.Code)
	}
	if w := do(http.MethodPost, strings.Repeat("x", 2<<20), q); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d", w.Code)
	}
}

func TestWeChatMenuCommand(t *testing.T) {
	t.Parallel()
	getenv := func(string) string { return "" }
	out := runOK(t, getenv, "", "wechat", "menu", "show")
	for _, want := range []string{"我要投诉 → 「投诉」", "投诉进度 → 「进度」", "帮助 → 「帮助」"} {
		if !strings.Contains(out, want) {
			t.Errorf("menu show lacks %q:\n%s", want, out)
		}
	}
	if err := runErr(t, getenv, "wechat", "menu", "apply"); !strings.Contains(err.Error(), "WECHAT_APP_ID") {
		t.Errorf("apply without config: %v", err)
	}
	if err := runErr(t, getenv, "wechat", "menu"); !strings.Contains(err.Error(), "usage") {
		t.Errorf("no subcommand: %v", err)
	}
}

func TestWeChatTemplatesConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "WECHAT_TOKEN": "t"}
	with := func(v string) map[string]string {
		m := map[string]string{"WECHAT_TEMPLATES": v}
		for k, x := range base {
			m[k] = x
		}
		return m
	}
	c, err := loadConfig(env(with(" complaint_update = A1 , survey=B2")))
	if err != nil || c.WeChat.Templates["complaint_update"] != "A1" || c.WeChat.Templates["survey"] != "B2" {
		t.Fatalf("%v, %v", c.WeChat.Templates, err)
	}
	for _, v := range []string{"A1", "=A1", "kind=", "kind=A 1"} {
		if _, err := loadConfig(env(with(v))); err == nil || !strings.Contains(err.Error(), "WECHAT_TEMPLATES") {
			t.Errorf("%q: %v", v, err)
		}
	}
}
