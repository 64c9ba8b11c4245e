package wechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"
)

// fake is an httptest stand-in for WeChat's API, shared by every test of
// the package (silenceper's URI modifier is process-global). Tests keep
// out of each other's way by using their own AppIDs and OpenIDs.
var fake = newFakeAPI()

func TestMain(m *testing.M) {
	srv := httptest.NewServer(fake)
	ConfigureAPI(srv.URL, 5*time.Second)
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

type sent struct {
	API        string // "custom", "template", "subscribe", "menu"
	To         string
	Text       string
	TemplateID string
	Data       map[string]string
	Menu       []string
}

type fakeAPI struct {
	mu      sync.Mutex
	seq     int
	fetches map[string]int    // stable_token calls by AppID
	tokens  map[string]string // token → AppID, for tokens still valid
	sent    []sent
	// fail holds errcodes to answer the next sends to an OpenID with.
	fail map[string][]int
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{fetches: map[string]int{}, tokens: map[string]string{}, fail: map[string][]int{}}
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	reply := func(v any) { _ = json.NewEncoder(w).Encode(v) }
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.URL.Path == "/cgi-bin/stable_token" {
		app, _ := body["appid"].(string)
		if secret, _ := body["secret"].(string); secret != "secret" {
			reply(map[string]any{"errcode": 40125, "errmsg": "invalid appsecret"})
			return
		}
		f.seq++
		f.fetches[app]++
		tok := fmt.Sprintf("tok-%s-%d", app, f.seq)
		f.tokens[tok] = app
		reply(map[string]any{"access_token": tok, "expires_in": 7200})
		return
	}
	if _, ok := f.tokens[r.URL.Query().Get("access_token")]; !ok {
		reply(map[string]any{"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"})
		return
	}
	to, _ := body["touser"].(string)
	if codes := f.fail[to]; len(codes) > 0 {
		f.fail[to] = codes[1:]
		reply(map[string]any{"errcode": codes[0], "errmsg": "fake failure"})
		return
	}
	switch r.URL.Path {
	case "/cgi-bin/message/custom/send":
		if mm, ok := body["msgmenu"].(map[string]any); ok {
			s := sent{API: "msgmenu", To: to}
			s.Text, _ = mm["head_content"].(string)
			list, _ := mm["list"].([]any)
			for _, it := range list {
				m, _ := it.(map[string]any)
				s.Menu = append(s.Menu, fmt.Sprintf("%v:%v", m["id"], m["content"]))
			}
			f.sent = append(f.sent, s)
			reply(map[string]any{"errcode": 0, "errmsg": "ok"})
			return
		}
		text, _ := body["text"].(map[string]any)
		content, _ := text["content"].(string)
		f.sent = append(f.sent, sent{API: "custom", To: to, Text: content})
		reply(map[string]any{"errcode": 0, "errmsg": "ok"})
	case "/cgi-bin/message/template/send":
		s := sent{API: "template", To: to, Data: map[string]string{}}
		s.TemplateID, _ = body["template_id"].(string)
		data, _ := body["data"].(map[string]any)
		for k, v := range data {
			item, _ := v.(map[string]any)
			s.Data[k], _ = item["value"].(string)
		}
		f.sent = append(f.sent, s)
		reply(map[string]any{"errcode": 0, "errmsg": "ok", "msgid": 200228332})
	case "/cgi-bin/message/subscribe/bizsend":
		s := sent{API: "subscribe", To: to, Data: map[string]string{}}
		s.TemplateID, _ = body["template_id"].(string)
		data, _ := body["data"].(map[string]any)
		for k, v := range data {
			item, _ := v.(map[string]any)
			s.Data[k], _ = item["value"].(string)
		}
		f.sent = append(f.sent, s)
		reply(map[string]any{"errcode": 0, "errmsg": "ok"})
	case "/cgi-bin/menu/create":
		s := sent{API: "menu", To: r.URL.Query().Get("access_token")}
		buttons, _ := body["button"].([]any)
		for _, b := range buttons {
			m, _ := b.(map[string]any)
			s.Menu = append(s.Menu, fmt.Sprintf("%v/%v/%v", m["type"], m["name"], m["key"]))
		}
		f.sent = append(f.sent, s)
		reply(map[string]any{"errcode": 0, "errmsg": "ok"})
	default:
		http.NotFound(w, r)
	}
}

// sentTo returns what was delivered to an OpenID (or, for the menu, with
// an AppID's token).
func (f *fakeAPI) sentTo(to string) []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []sent
	for _, s := range f.sent {
		if s.To == to || (s.API == "menu" && f.tokens[s.To] == to) {
			out = append(out, s)
		}
	}
	return out
}

func (f *fakeAPI) tokenFetches(appID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches[appID]
}

// revoke makes every token of an AppID invalid, as a token fetched
// elsewhere with force_refresh would.
func (f *fakeAPI) revoke(appID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for tok, app := range f.tokens {
		if app == appID {
			delete(f.tokens, tok)
		}
	}
}

func (f *fakeAPI) failNext(openID string, codes ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[openID] = append(f.fail[openID], codes...)
}
