package handlers

import (
	"context"

	"github.com/opsbot/opsbot/bot"
)

// Customer-facing texts. Simplified Chinese, short, friendly.
const (
	// CustomerMenu answers 帮助, 菜单 and anything not understood.
	CustomerMenu = "您好，这里是客服小助手，可以帮您：\n" +
		"1. 投诉：回复「投诉」加上问题描述，如「投诉 订单20261111001 收到的杯子碎了」\n" +
		"2. 查进度：回复「进度」查看您的投诉处理情况\n" +
		"3. 评价：收到满意度调查时，回复 1-5 分\n" +
		"回复「帮助」可随时查看本菜单。"
	// CustomerWelcome greets a new follower.
	CustomerWelcome = "感谢关注！有任何购物问题都可以在这里找我们。\n" + CustomerMenu
)

// CustomerHelp returns the intents every customer gets: the menu.
func CustomerHelp() []bot.CustomerIntent {
	return []bot.CustomerIntent{{
		Name:     "help",
		Keywords: []string{"帮助", "菜单", "help", "Help", "HELP", "?", "？"},
		Run: func(context.Context, *bot.Request) (bot.Reply, error) {
			return bot.Text(CustomerMenu), nil
		},
	}}
}

// CustomerFallback answers text nothing else understood with the menu.
func CustomerFallback(context.Context, *bot.Request) (bot.Reply, error) {
	return bot.Text("抱歉，我没有理解您的意思。\n" + CustomerMenu), nil
}
