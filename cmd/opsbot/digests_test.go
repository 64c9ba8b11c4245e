package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/store"
)

// digestSlack fakes the Web API calls a digest makes: the post and the
// three steps of the v2 file upload.
type digestSlack struct {
	srv   *slacktest.Server
	mu    sync.Mutex
	seq   int
	calls []url.Values
}

func newDigestSlack(t *testing.T) *digestSlack {
	f := &digestSlack{}
	record := func(method string, reply func(v url.Values) any) slacktest.Binder {
		return func(c slacktest.Customize) {
			c.Handle("/"+method, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				v, err := url.ParseQuery(string(body))
				if err != nil || method == "upload/F1" {
					v = url.Values{"_bytes": {fmt.Sprint(len(body))}}
				}
				f.mu.Lock()
				f.seq++
				v.Set("_method", method)
				v.Set("_ts", fmt.Sprintf("1700000000.%06d", f.seq))
				f.calls = append(f.calls, v)
				f.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(reply(v))
			})
		}
	}
	f.srv = slacktest.NewTestServer(
		record("chat.postMessage", func(v url.Values) any {
			return map[string]any{"ok": true, "channel": v.Get("channel"), "ts": v.Get("_ts")}
		}),
		record("files.getUploadURLExternal", func(url.Values) any {
			return map[string]any{"ok": true, "upload_url": f.srv.GetAPIURL() + "upload/F1", "file_id": "F1"}
		}),
		record("upload/F1", func(url.Values) any { return map[string]any{"ok": true} }),
		record("files.completeUploadExternal", func(url.Values) any {
			return map[string]any{"ok": true, "files": []map[string]any{{"id": "F1", "title": "chart"}}}
		}),
	)
	f.srv.Start()
	t.Cleanup(f.srv.Stop)
	return f
}

func (f *digestSlack) seen(method string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []url.Values
	for _, c := range f.calls {
		if c.Get("_method") == method {
			out = append(out, c)
		}
	}
	return out
}

// TestDigestDailyJobEndToEnd is the digest's done-when: with demo data,
// `opsbot jobs run digest-daily` posts one message with the figures and
// the flags to the managers' channel and uploads the chart into its
// thread; running it again posts nothing. `digest weekly` in the terminal
// prints last week against the week before and writes the chart.
func TestDigestDailyJobEndToEnd(t *testing.T) {
	t.Parallel()
	slack := newDigestSlack(t)
	const managers = "CMANAGERS"
	getenv := testEnv(t, map[string]string{"SLACK_BOT_TOKEN": "xoxb-digest", "SLACK_SIGNING_SECRET": "s",
		"SLACK_API_URL": slack.srv.GetAPIURL(), "SLACK_MANAGERS_CHANNEL": managers})
	runOK(t, getenv, "", "demo")

	// The last working day whose 18:00 has passed.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	cal, err := domain.NewCalendar(loc, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	at := time.Date(now.Year(), now.Month(), now.Day(), 18, 0, 0, 0, loc)
	for w, _ := cal.IsWorkingDay(at); at.After(now) || !w; w, _ = cal.IsWorkingDay(at) {
		at = at.AddDate(0, 0, -1)
	}
	runOK(t, getenv, "", "jobs", "run", "digest-daily", "--at", at.Format(time.RFC3339))

	posts := slack.seen("chat.postMessage")
	if len(posts) != 1 || posts[0].Get("channel") != managers {
		t.Fatalf("posts %v", posts)
	}
	msg := posts[0].Get("text") + posts[0].Get("blocks")
	// GMV by hand from the same rows.
	db, err := store.Open(context.Background(), getenv("DATABASE_URL"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var gmv int64
	dayStart := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc)
	if err := db.SQL().QueryRow(`SELECT coalesce(sum(total), 0) FROM orders WHERE paid_at >= $1 AND paid_at < $2`, dayStart, at).Scan(&gmv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Daily digest 日报 — " + at.Format("Mon 2006-01-02") + ", until 18:00", domain.Yuan(gmv),
		"Orders", "Conversion", "Open complaints", "(the day before)", "Month to date: GMV"} {
		if !strings.Contains(msg, want) {
			t.Errorf("digest post lacks %q:\n%s", want, msg)
		}
	}
	// Flags (or the all-clear) come right under the header.
	if !strings.Contains(msg, "⚠") && !strings.Contains(msg, "Nothing unusual") && !strings.Contains(msg, "No flags") {
		t.Errorf("digest post without flags or the all-clear:\n%s", msg)
	}
	done := slack.seen("files.completeUploadExternal")
	if len(done) != 1 || done[0].Get("channel_id") != managers || done[0].Get("thread_ts") != posts[0].Get("_ts") {
		t.Fatalf("chart not uploaded into the digest's thread: %v (post ts %s)", done, posts[0].Get("_ts"))
	}
	if up := slack.seen("upload/F1"); len(up) != 1 || len(up[0].Get("_bytes")) < 4 {
		t.Errorf("chart bytes: %v", up)
	}

	// Again: nothing new.
	runOK(t, getenv, "", "jobs", "run", "digest-daily", "--at", at.Format(time.RFC3339))
	if n, m := len(slack.seen("chat.postMessage")), len(slack.seen("files.completeUploadExternal")); n != 1 || m != 1 {
		t.Errorf("a re-run posted again: %d posts, %d uploads", n, m)
	}

	out := runOK(t, getenv, "digest weekly\n", "chat", "--as", "manager:mia")
	if !strings.Contains(out, "Weekly digest 周报 — week of") || !strings.Contains(out, "(the week before)") {
		t.Errorf("digest weekly in the terminal:\n%s", out)
	}
	i := strings.Index(out, "chart written to ")
	if i < 0 {
		t.Fatalf("no chart path:\n%s", out)
	}
	path := strings.TrimSpace(strings.SplitN(out[i+len("chart written to "):], "\n", 2)[0])
	if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
		t.Errorf("chart %s: %v", path, err)
	}
}
