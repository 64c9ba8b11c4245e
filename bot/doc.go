package bot

// Delivery, claims and retries
//
// Outbox. A handler never sends: it writes the outgoing message into the
// outbox table in the transaction that records the change causing it. If
// the transaction rolls back, nothing is sent; if it commits, the message
// exists and will be sent, whatever happens to the process next.
//
// Dispatcher. ClaimOutbox selects due rows FOR UPDATE SKIP LOCKED and
// stamps a lease (locked_until) on them in one statement, so concurrent
// dispatchers in any number of replicas take disjoint rows. A dispatcher
// killed mid-batch just stops: its leases expire and the rows become
// claimable again. That makes delivery at least once: a message
// sent just before a crash, and not yet marked, is sent again. Platforms
// that can dedupe (Slack threads, WeChat) see at most one duplicate per
// crash; we accept that over losing a message. A dispatcher stops starting
// sends once the last one could outlive its lease, and hands the rest of
// the batch back, so a slow platform never makes two live dispatchers
// send the same message. The lease (30s by default) is also how long the
// messages a killed dispatcher had claimed wait before another replica
// takes them. Every claim records its holder (host/pid/start); a process
// starting on the same host takes back at once the claims of holders whose
// pid is gone (or is now its own), so a restart resumes delivery without
// waiting. Holders on other hosts are never presumed dead.
//
// Concurrency. A dispatcher splits its claimed batch into one queue per
// recipient (platform and destination) and sends up to Workers queues at a
// time (OPSBOT_DISPATCH_WORKERS, default 32): different customers are sent
// to in parallel, one recipient's messages strictly one after another in
// the order they were enqueued. Each queue stops starting sends at the
// lease deadline and hands the rest back, like the whole batch did before.
// Enqueueing is one statement however many messages (the batch travels as
// one JSON array), so a 100,000-customer broadcast commits in seconds.
//
// Unreachable customers. A WeChat message that cannot be delivered (the
// 48-hour window closed and no template for its kind, the allowance used
// up, the customer unfollowed) is recorded as unreachable, apart from
// errors. What else happens follows the message's Purpose: for a service
// message (a complaint reply) the complaints channel is told once so that
// someone phones the customer; a survey or campaign notice is only counted
// (opsbot_outbox_unreachable_total, store.BatchTally), never posted to
// Slack one card per customer.
//
// Retries. Errors are classified by the sender: permanent ones (unknown
// channel, revoked token, a WeChat customer who unfollowed) are recorded
// with their reason and never retried; rate limits hold back every pending
// message to the same recipient for Retry-After; anything else backs off
// exponentially with jitter and fails for good after MaxAttempts. Within a
// batch, a rate-limited recipient gets no further calls, and a thread
// reply or update whose parent was sent earlier in the same batch goes out
// at once with the parent's timestamp instead of waiting for a retry.
//
// Scheduler. Cron only says "it is time". Each replica's tick inserts a
// (job, slot) row into job_runs; the unique index lets exactly one insert
// succeed, and only that replica runs the slot. Jobs are written to be
// idempotent and to catch up (the SLA sweep looks at everything due, not at
// what became due in the last minute), so a replica dying mid-run costs at
// most one slot's delay, never a missed warning. Manual runs
// (opsbot jobs run NAME) are recorded but never block a scheduled slot.

// Features and customer conversations
//
// A feature (complaints, surveys, digests, campaigns) is a bot.Feature:
// its staff commands, buttons, customer intents, the answerers of the
// questions it asks, catch-all hooks, menu items and jobs. cmd/opsbot has
// the one list of features; Router.Use adds each and refuses what could
// never work (a command name that Split would change, a taken name or
// action ID, a menu button whose key no intent answers). The customer menu
// (帮助) and the WeChat custom menu are assembled from the features' menu
// items, so they never offer what is not there.
//
// Staff commands may have any number of words; the longest registered name
// that prefixes the line wins. A line that names only a group ("complaint",
// "help complaint") lists the group's commands.
//
// Customer text is tried in one order, and the first taker answers:
//
//  1. Keyword intents of every feature. The longest keyword that starts the
//     text wins (投诉进度 before 投诉), or an intent's whole-message match;
//     case, full width and the Traditional characters of keywords (投訴,
//     進度) are folded. A keyword always reaches its feature,
//     whatever else is going on: an open complaint never swallows 帮助.
//  2. Pending questions, newest first. A feature that asked a customer
//     something (SetPending with its topic: "complaint.details",
//     "survey.score") gets the answer through its Answerer; a person has at
//     most one question per topic. An answerer that does not recognise the
//     text (a survey waiting for 1–5 gets a sentence) passes, and the next
//     question, then the next step, is tried.
//  3. Small talk: a message that is only a greeting or thanks (你好, 在吗,
//     谢谢) gets a short warm answer.
//  4. Catch-all hooks, in feature order: an open complaint takes free text
//     as more detail for its agent (with several open, the customer is
//     asked which); a complaint resolved in the last 7 days takes it too,
//     and offers to reopen.
//  5. The fallback: an apology and the menu.
//
// No feature lists another's keywords; the order above is what keeps them
// apart. Effects across features (a resolved complaint schedules a survey)
// go through handlers.Events inside the transaction that made the change.
