package handlers

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsbot/opsbot/bot"
)

// Customer-facing texts. Simplified Chinese, short, friendly.
const (
	menuHead      = "您好，这里是客服小助手，可以帮您："
	menuFoot      = "回复「帮助」可随时查看本菜单。"
	welcomeTop    = "感谢关注！有任何购物问题都可以在这里找我们。\n"
	notUnderstood = "抱歉，我没有理解您的意思。\n"
)

// CustomerMenu is the 帮助 menu: one numbered line per menu item of the
// features registered, so it never offers what is not there.
func CustomerMenu(items []bot.MenuItem) string {
	var b strings.Builder
	b.WriteString(menuHead)
	n := 0
	for _, m := range items {
		if m.Line == "" {
			continue
		}
		n++
		fmt.Fprintf(&b, "\n%d. %s", n, m.Line)
	}
	b.WriteString("\n" + menuFoot)
	return b.String()
}

// CustomerWelcome greets a new follower with the menu.
func CustomerWelcome(items []bot.MenuItem) string { return welcomeTop + CustomerMenu(items) }

// Basics is what every customer gets whatever features run: 帮助 shows
// the menu assembled from the router's features at the time of asking,
// and text nothing understood gets the menu after an apology. UseBasics
// adds it to r.
func UseBasics(r *bot.Router) error {
	menu := func(context.Context, *bot.Request) (bot.Reply, error) {
		return bot.Text(CustomerMenu(r.Menu())), nil
	}
	r.CustomerFallback(func(context.Context, *bot.Request) (bot.Reply, error) {
		return bot.Text(notUnderstood + CustomerMenu(r.Menu())), nil
	})
	return r.Use(bot.Feature{
		Name: "basics",
		Intents: []bot.CustomerIntent{{
			Name:     "help",
			Keywords: []string{"帮助", "菜单", "help"},
			Exact:    []string{"?", "？", "功能", "你能做什么", "能做什么", "怎么用"},
			Run:      menu,
		}},
		Menu: []bot.MenuItem{{Button: "帮助", Key: "帮助"}},
	})
}
