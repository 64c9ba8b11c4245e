// Package slack is opsbot's Slack adapter: the staff console. It turns
// `/ops` slash commands, app mentions, direct messages, replies in threads,
// button clicks and form submissions into bot.Message values for the
// router, renders bot.Reply values as Block Kit, and delivers the outbox's
// Slack messages (posts, thread replies, DMs, updates, file uploads).
//
// It speaks HTTP (three endpoints, every request verified with the signing
// secret before anything is parsed) or Socket Mode (an app-level token, no
// public URL); both feed the same code. slack-go is hidden behind the small
// api interface; the adapter never imports the store, only the interfaces
// it declares (Handler, Deliveries, Outbox).
//
// # Acknowledging within three seconds
//
// Slack wants every request answered within 3 s. Each handler runs in its
// own goroutine with a budget (2.5 s by default). When it finishes in time
// its reply is the response; when it does not, the adapter answers at once
// ("Working on it…" for commands, an empty 200 for the rest) and the
// goroutine delivers the result later through response_url, chat.* calls
// or the outbox. Work that outlives the budget is bounded by Timeout (30 s
// by default), which is also what makes the retry rule below sound.
//
// # Events once only
//
// Slack redelivers an event it got no 2xx for (about at once, then after
// one and five minutes, with X-Slack-Retry-Num). Every event_id is claimed
// with Deliveries.FirstDelivery before it is handled, so across restarts
// and replicas only the first delivery runs the handler; when the handler
// and the enqueueing of its reply are done, the delivery is marked done
// with SaveResponse.
//
// What a crash does: the adapter handles an event before acknowledging it
// when it can (within the budget). If the process dies after the claim and
// before the ack, Slack retries. What a retry of a claimed, unfinished
// event gets is decided from the database alone — never from
// X-Slack-Retry-Num, which the signature does not cover and anyone holding
// a captured request can set: while the claim is younger than Timeout
// (plus a margin) the first delivery may still be running, and the retry
// gets a 503 so that Slack tries again later; a retry finding it older
// takes it over (TakeOverDelivery, one atomic UPDATE, one winner), since
// no handler runs longer than Timeout. Each attempt runs under a
// domain.DeliveryClaim, and the store commits an attempt's transactions
// only if no other attempt at the event committed one, so even a
// take-over of a live first delivery cannot have a second effect; the
// reply is enqueued with a dedupe key derived from the event_id, so it is
// never posted twice. The one loss left is a handler slower than the
// budget that dies after the ack: Slack has been told all is well and
// will not retry.
//
// Messages from bots, opsbot's own included, are dropped before anything is
// recorded, so opsbot never answers itself.
//
// Slash commands and interactions have no event_id; their trigger_id is
// unique per invocation, so a replayed request (a valid signature can be
// replayed within Slack's five-minute window) is recognised by it and does
// nothing. One without a trigger_id is recognised by a digest of what the
// signature covers (timestamp and body), which cannot be replayed outside
// the window.
//
// # Text
//
// escape.go is the one place text crosses the edge: everything opsbot
// posts is escaped (customer text can never ping, mention or link), with
// opsbot's own mentions rendered from unforgeable marks; everything staff
// type is decoded from Slack's wire format before a handler, and so a
// customer, sees it.
package slack
