// Package domain holds opsbot's entities and the rules it enforces: roles,
// staff, outgoing messages and, in later files, complaints, surveys, digests
// and campaigns. It imports only the standard library and knows nothing of
// SQL, Slack or WeChat.
package domain
