package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
	"github.com/opsbot/opsbot/store/storetest"
)

// call is one request the fake Slack API received.
type call struct {
	Method string
	Form   url.Values     // form-encoded Web API calls
	JSON   map[string]any // JSON bodies (response_url)
	Body   []byte
}

// fakeSlack is slacktest's server with the endpoints it lacks added (and
// chat.postMessage replaced by one that records what it got and answers
// with distinct timestamps), plus a response_url endpoint and programmable
// failures.
type fakeSlack struct {
	srv *slacktest.Server

	mu    sync.Mutex
	calls []call
	fail  map[string]func(w http.ResponseWriter) bool
	seq   int
}

func newFakeSlack(t testing.TB) *fakeSlack { return newFakeSlackWith(t) }

// newFakeSlackWith adds more endpoints (they win over slacktest's own).
func newFakeSlackWith(t testing.TB, extra ...slacktest.Binder) *fakeSlack {
	f := &fakeSlack{fail: map[string]func(http.ResponseWriter) bool{}}
	record := func(method string, reply func(c call) any) func(slacktest.Customize) {
		return func(c slacktest.Customize) {
			c.Handle("/"+method, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				cl := call{Method: method, Body: body}
				if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
					_ = json.Unmarshal(body, &cl.JSON)
				} else {
					cl.Form, _ = url.ParseQuery(string(body))
				}
				f.mu.Lock()
				failer := f.fail[method]
				f.mu.Unlock()
				if failer != nil && failer(w) {
					return
				}
				f.mu.Lock()
				f.calls = append(f.calls, cl)
				f.seq++
				cl.Form = withTS(cl.Form, f.seq)
				f.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(reply(cl))
			})
		}
	}
	okMsg := func(c call) any {
		return map[string]any{"ok": true, "channel": c.Form.Get("channel"), "ts": c.Form.Get("_ts"), "text": c.Form.Get("text")}
	}
	binders := append([]slacktest.Binder{}, extra...)
	for _, b := range []func(slacktest.Customize){
		record("chat.postMessage", okMsg),
		record("chat.update", okMsg),
		record("chat.postEphemeral", func(c call) any { return map[string]any{"ok": true, "message_ts": c.Form.Get("_ts")} }),
		record("conversations.open", func(c call) any {
			return map[string]any{"ok": true, "channel": map[string]any{"id": "D" + c.Form.Get("users")}}
		}),
		record("views.open", func(c call) any { return map[string]any{"ok": true, "view": map[string]any{"id": "V1"}} }),
		record("files.getUploadURLExternal", func(c call) any {
			return map[string]any{"ok": true, "upload_url": f.srv.GetAPIURL() + "upload/F1", "file_id": "F1"}
		}),
		record("upload/F1", func(c call) any { return map[string]any{"ok": true} }),
		record("files.completeUploadExternal", func(c call) any {
			return map[string]any{"ok": true, "files": []map[string]any{{"id": "F1", "title": "chart"}}}
		}),
		record("response", func(c call) any { return map[string]any{"ok": true} }),
	} {
		binders = append(binders, slacktest.Binder(b))
	}
	f.srv = slacktest.NewTestServer(binders...)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

// withTS adds the fake's answer timestamp to a recorded form.
func withTS(v url.Values, n int) url.Values {
	if v == nil {
		v = url.Values{}
	}
	v.Set("_ts", fmt.Sprintf("1700000000.%06d", n))
	return v
}

func (f *fakeSlack) url() string         { return f.srv.GetAPIURL() }
func (f *fakeSlack) responseURL() string { return f.srv.GetAPIURL() + "response" }

// failWith makes method fail: with an HTTP status (429 carries
// Retry-After) or with a Slack error code.
func (f *fakeSlack) failWith(method string, status int, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = func(w http.ResponseWriter) bool {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "7")
		}
		if status != 0 {
			w.WriteHeader(status)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
		return true
	}
}

func (f *fakeSlack) got(method string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSlack) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

const (
	testSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	agentID    = "UAGENT01"
	adminID    = "UADMIN01"
	strangerID = "USTRANGE"
	botID      = "UBOT0001"
)

// sign sets Slack's signature headers for body at time ts.
func sign(h http.Header, secret, body string, ts time.Time) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// env is a test rig: a real database with staff, a router with test
// commands, the adapter against the fake API, and a dispatcher.
type env struct {
	t      testing.TB
	db     *store.DB
	fake   *fakeSlack
	ad     *Adapter
	router *bot.Router
	disp   *bot.Dispatcher
	mux    *http.ServeMux

	mu      sync.Mutex
	actions []bot.Request
	forms   []bot.Request
	ambient []bot.Request
	counted int
	slow    int // runs of the slow command
	release chan struct{}
}

func newEnv(t testing.TB, tune ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, db: storetest.New(t), fake: newFakeSlack(t), release: make(chan struct{})}
	for _, s := range []domain.Staff{{UserID: agentID, Role: domain.RoleAgent}, {UserID: adminID, Role: domain.RoleAdmin}} {
		if err := e.db.PutStaff(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	e.router = bot.NewRouter(e.db, log)
	// Staff commands like the real ones, kept here so these tests do not
	// depend on the handlers package.
	e.router.Register(
		&bot.Command{Name: "staff list", Usage: "staff list", Description: "Show who is staff.", Role: domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				all, err := e.db.ListStaff(ctx)
				if err != nil {
					return bot.Reply{}, err
				}
				rep := bot.Reply{Content: domain.Content{Title: "Staff"}}
				for _, s := range all {
					rep.List = append(rep.List, domain.MarkUser(s.UserID, "")+" — "+s.Role.String())
				}
				return rep, nil
			}},
		&bot.Command{Name: "staff add", Usage: "staff add <user> <role>", Description: "Make someone staff.", Role: domain.RoleAdmin,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				role, err := domain.ParseRole(req.Arg(1))
				if err != nil {
					return bot.Reply{}, err
				}
				return bot.Text("Done."), e.db.PutStaff(ctx, domain.Staff{UserID: req.Arg(0), Role: role, AddedBy: req.UserID})
			}},
	)
	e.router.Register(
		&bot.Command{Name: "count", Usage: "count", Description: "Count calls.", Role: domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				e.mu.Lock()
				e.counted++
				e.mu.Unlock()
				return bot.Reply{Content: domain.Content{Text: "counted"}, InChannel: true}, nil
			}},
		&bot.Command{Name: "slow", Usage: "slow", Description: "Wait for the test.", Role: domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				e.mu.Lock()
				e.slow++
				e.mu.Unlock()
				<-e.release
				return bot.Text("slow answer"), nil
			}},
		&bot.Command{Name: "form", Usage: "form", Description: "Open a form.", Role: domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				return bot.Reply{Modal: &bot.Modal{CallbackID: "note:add", Title: "Add a note", Value: "42",
					Inputs: []bot.Input{{ID: "note", Label: "Note", Multiline: true}, {ID: "kind", Label: "Kind", Options: []string{"call", "mail"}}}}}, nil
			}},
		&bot.Command{Name: "claimable", Usage: "claimable", Description: "Show a claim button.", Role: domain.RoleAgent,
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				return bot.Reply{Content: domain.Content{Text: "Complaint 7",
					Buttons: []domain.Button{{Label: "Claim", ActionID: "claim", Value: "7", Style: "primary"}}}}, nil
			}},
	)
	e.router.HandleAction(
		bot.ActionHandler{ID: "claim", Role: domain.RoleAgent, Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			e.mu.Lock()
			e.actions = append(e.actions, *req)
			e.mu.Unlock()
			return bot.Reply{Update: true, Content: domain.Content{Text: "Complaint " + req.Action.Value + " — claimed by " + domain.MarkUser(req.UserID, "")}}, nil
		}},
		bot.ActionHandler{ID: "note:add", Role: domain.RoleAgent, Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
			if strings.TrimSpace(req.Action.Form["note"]) == "" {
				return bot.Reply{Errors: map[string]string{"note": "Write something."}}, nil
			}
			e.mu.Lock()
			e.forms = append(e.forms, *req)
			e.mu.Unlock()
			return bot.Text("Note added to complaint " + req.Action.Value + "."), nil
		}},
	)
	e.router.HookStaff(func(ctx context.Context, req *bot.Request) (bot.Reply, bool, error) {
		if !req.Ambient {
			return bot.Reply{}, false, nil
		}
		e.mu.Lock()
		e.ambient = append(e.ambient, *req)
		e.mu.Unlock()
		return bot.Text("Sent to the customer."), true, nil
	})
	cfg := Config{
		BotToken:      "xoxb-test",
		SigningSecret: testSecret,
		APIURL:        e.fake.url(),
		Handler:       e.router,
		Deliveries:    e.db,
		Outbox:        OutboxFunc(e.db.Enqueue),
		Log:           log,
		BotUserID:     botID,
	}
	for _, f := range tune {
		f(&cfg)
	}
	ad, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.ad = ad
	e.disp = &bot.Dispatcher{Store: e.db, Senders: map[domain.Platform]bot.Sender{domain.PlatformSlack: ad}, Log: log}
	e.mux = http.NewServeMux()
	e.mux.Handle("POST /slack/commands", ad.Commands())
	e.mux.Handle("POST /slack/events", ad.Events())
	e.mux.Handle("POST /slack/interactions", ad.Interactions())
	return e
}

// post sends a signed request and returns the recorder.
func (e *env) post(path, body string, h ...func(http.Header)) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sign(req.Header, testSecret, body, time.Now())
	for _, f := range h {
		f(req.Header)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

var triggerSeq struct {
	sync.Mutex
	n int
}

func nextTrigger() string {
	triggerSeq.Lock()
	defer triggerSeq.Unlock()
	triggerSeq.n++
	return fmt.Sprintf("%d.4744562912.%x", triggerSeq.n, time.Now().UnixNano())
}

// slash builds a /ops form body.
func (e *env) slash(user, text string) string {
	return url.Values{
		"command": {"/ops"}, "text": {text}, "user_id": {user}, "user_name": {"alice"},
		"channel_id": {"C0OPS"}, "team_id": {"T1"}, "trigger_id": {nextTrigger()},
		"response_url": {e.fake.responseURL()},
	}.Encode()
}

// interactionBody wraps an interaction payload as Slack posts it.
func interactionBody(payload any) string {
	b, _ := json.Marshal(payload)
	return url.Values{"payload": {string(b)}}.Encode()
}

// deliver runs the background work and the outbox to completion.
func (e *env) deliver() {
	e.t.Helper()
	e.ad.Wait()
	if err := e.disp.DeliverAll(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func decode(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if rec.Body.Len() == 0 {
		return m
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("response is not JSON: %v: %s", err, rec.Body)
	}
	return m
}
