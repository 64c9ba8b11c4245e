package complaints_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// quiz is a second customer feature: 测验 asks a question whose answer is
// a digit, as a survey will.
func quiz(e *env) bot.Feature {
	return bot.Feature{
		Name: "quiz",
		Intents: []bot.CustomerIntent{{Name: "quiz", Keywords: []string{"测验"},
			Run: func(ctx context.Context, req *bot.Request) (bot.Reply, error) {
				err := e.db.SetPending(ctx, domain.PendingQuestion{Platform: domain.PlatformWeChat, UserID: req.UserID,
					Topic: "quiz.answer", ExpiresAt: e.time().Add(time.Hour)})
				return bot.Text("请回复 1-5"), err
			}}},
		Answerers: []bot.Answerer{{Topic: "quiz.answer",
			Answer: func(ctx context.Context, req *bot.Request, q domain.PendingQuestion) (bot.Reply, bool, error) {
				t := strings.TrimSpace(req.Text)
				if len(t) != 1 || t[0] < '1' || t[0] > '5' {
					return bot.Reply{}, false, nil // not for the quiz: let it through
				}
				return bot.Text("测验收到 " + t), true, e.db.ClearPending(ctx, q.Platform, q.UserID, q.Topic)
			}}},
		Menu: []bot.MenuItem{{Line: "测验：回复「测验」", Button: "测验", Key: "测验"}},
	}
}

func TestFeaturesShareTheConversation(t *testing.T) {
	e := newEnv(t)
	if err := e.r.Use(quiz(e)); err != nil {
		t.Fatal(err)
	}
	const cust = "oSeam"
	must(t, e.customer(cust, "投诉 订单20261111001 杯子碎了"), "已受理")
	e.sent()

	// While the complaint is open, the quiz's keyword reaches the quiz…
	must(t, e.customer(cust, "测验"), "请回复 1-5")
	// …and the bare answer reaches the quiz, not the complaint.
	must(t, e.customer(cust, "4"), "测验收到 4")
	// With the quiz answered, free text goes to the open complaint again.
	must(t, e.customer(cust, "还有把手也断了"), "已收到")
	posts := e.sent()
	if len(posts) != 1 || !strings.Contains(bot.PlainText(posts[0].Content), "还有把手也断了") {
		t.Errorf("thread posts = %+v", posts)
	}
	for _, p := range posts {
		for _, bad := range []string{"测验", "4"} {
			if strings.TrimSpace(bot.PlainText(p.Content)) == bad {
				t.Errorf("the complaint swallowed %q", bad)
			}
		}
	}

	// Two questions at once: the newest answers first; text it does not
	// take goes on to the older one.
	must(t, e.customer("oTwo", "投诉"), "请直接回复")
	e.advance(time.Second)
	must(t, e.customer("oTwo", "测验"), "请回复 1-5")
	must(t, e.customer("oTwo", "快递三天没动"), "已受理") // the quiz passes it on to the complaint desk's question
	must(t, e.customer("oTwo", "3"), "测验收到 3")   // and still waits for its own answer

	// The menu shows what is registered, and only that.
	menu := e.customer(cust, "帮助")
	must(t, menu, "测验：回复「测验」")
	must(t, menu, "投诉：")
	if strings.Contains(menu, "1-5 分") {
		t.Errorf("menu offers ratings no feature provides:\n%s", menu)
	}
}

func TestSmallTalk(t *testing.T) {
	e := newEnv(t)
	for _, s := range []string{"你好", "在吗", "在吗？", "谢谢", "谢谢！", "Hello"} {
		out := e.customer("oHi", s)
		if strings.Contains(out, "没有理解") || strings.Contains(out, "1.") {
			t.Errorf("%q got the fallback:\n%s", s, out)
		}
	}
}

func TestHelpComplaintGroup(t *testing.T) {
	e := newEnv(t)
	for _, line := range []string{"help complaint", "complaint"} {
		out := e.staffText(agent, line)
		for _, want := range []string{"`complaint list", "`complaint show <ID or order no>`", "`complaint resolve <ID> <outcome>`", "e.g. `complaint"} {
			if !strings.Contains(out, want) {
				t.Errorf("%q lacks %q:\n%s", line, want, out)
			}
		}
		if strings.Contains(out, "staff add") {
			t.Errorf("%q lists other groups:\n%s", line, out)
		}
	}
}
