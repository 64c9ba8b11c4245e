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
