package bot_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

func TestCommandsOfAnyLength(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	run := func(name string) *bot.Command {
		return &bot.Command{Name: name, Usage: name + " <x>", Description: "Test.", Role: domain.RoleAgent,
			Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
				return bot.Text(name + "|" + strings.Join(req.Args, ",")), nil
			}}
	}
	if err := f.r.Use(bot.Feature{Name: "campaigns", Commands: []*bot.Command{
		run("campaign template item add"), run("campaign template item"), run("campaign template list"),
	}}); err != nil {
		t.Fatal(err)
	}
	if out := f.say(t, "alice", "campaign template item add major T-14 方案审批"); out != "campaign template item add|major,T-14,方案审批" {
		t.Errorf("four words: %q", out)
	}
	if out := f.say(t, "alice", "Campaign Template Item x"); out != "campaign template item|x" {
		t.Errorf("three words, any case: %q", out)
	}
	out := f.say(t, "alice", "help campaign template")
	for _, want := range []string{"`campaign template item add <x>`", "`campaign template list <x>`"} {
		if !strings.Contains(out, want) {
			t.Errorf("help campaign template lacks %q:\n%s", want, out)
		}
	}
}

func TestUseRefusesWhatCanNeverWork(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, *bot.Request) (bot.Reply, error) { return bot.Reply{}, nil }
	cases := map[string]bot.Feature{
		"quotes":       {Commands: []*bot.Command{{Name: `say "hi"`, Run: noop}}},
		"double space": {Commands: []*bot.Command{{Name: "a  b", Run: noop}}},
		"upper case":   {Commands: []*bot.Command{{Name: "Campaign new", Run: noop}}},
		"empty":        {Commands: []*bot.Command{{Name: " ", Run: noop}}},
		"taken":        {Commands: []*bot.Command{{Name: "help", Run: noop}}},
		"no run":       {Commands: []*bot.Command{{Name: "x"}}},
		"action twice": {Actions: []bot.ActionHandler{{ID: "a.b", Run: noop}, {ID: "a.b", Run: noop}}},
		"menu key":     {Menu: []bot.MenuItem{{Line: "评价", Button: "评价", Key: "评分"}}},
		"no keywords":  {Intents: []bot.CustomerIntent{{Name: "x", Run: noop}}},
		"topic twice": {Answerers: []bot.Answerer{
			{Topic: "t", Answer: func(context.Context, *bot.Request, domain.PendingQuestion) (bot.Reply, bool, error) {
				return bot.Reply{}, false, nil
			}},
			{Topic: "t", Answer: func(context.Context, *bot.Request, domain.PendingQuestion) (bot.Reply, bool, error) {
				return bot.Reply{}, false, nil
			}}}},
	}
	for name, feat := range cases {
		f := newFixture(t)
		feat.Name = "test"
		if err := f.r.Use(feat); err == nil {
			t.Errorf("%s: Use accepted it", name)
		}
	}
}

func TestIntentsMatchLongestKeywordFolded(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	got := ""
	intent := func(name string, kws ...string) bot.CustomerIntent {
		return bot.CustomerIntent{Name: name, Keywords: kws, Run: func(_ context.Context, req *bot.Request) (bot.Reply, error) {
			got = name + "|" + req.Tail(0)
			return bot.Text(got), nil
		}}
	}
	if err := f.r.Use(bot.Feature{Name: "t", Intents: []bot.CustomerIntent{
		intent("complain", "投诉"), intent("progress", "投诉进度"), intent("help", "help"),
	}}); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"投诉进度 TS-1":  "progress|TS-1",
		"投诉 杯子碎了":    "complain|杯子碎了",
		"ＨＥＬＰ　me":    "help|me",
		"Help":       "help|",
		"投诉：订单１２３坏了": "complain|：订单１２３坏了",
	} {
		f.r.Handle(context.Background(), bot.Message{Platform: domain.PlatformWeChat, UserID: "oX", Text: in})
		if got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
