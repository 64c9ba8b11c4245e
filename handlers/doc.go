// Package handlers holds opsbot's jobs, one file each: staff, complaints,
// surveys, digests, campaigns. Handlers are platform-neutral: they take
// bot.Requests, return bot.Replies, and declare the small store interfaces
// they need; they never see Slack or WeChat types.
package handlers
