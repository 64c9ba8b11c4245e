// Package wechat is the WeChat Official Account (公众号) adapter: the
// callback that customers' messages arrive on, and the outbox sender that
// reaches them. It is built on silenceper/wechat's officialaccount package
// (never its root package, whose init turns on debug logging of message
// bodies).
//
// # Checking requests
//
// Every request's signature (sha1 of token, timestamp and nonce) is
// compared in constant time before anything else; in safe and compatible
// mode msg_signature, which also covers the encrypted body, is checked
// before decrypting. A failure is answered 403 and nothing is recorded.
// When an EncodingAESKey is configured only encrypted messages are
// accepted, because the plain signature does not cover the body.
//
// # Answering within 5 seconds, and never twice
//
// WeChat waits 5 s for an answer and then retries, three tries in all,
// possibly at another replica. The callback:
//
//  1. records the delivery in inbound_dedupe (key: MsgId, or for events
//     FromUserName+CreateTime+Event): FirstDelivery for events, and for
//     messages and menu clicks WeChatFirstMessage, which in the same
//     statement restarts the customer's 48-hour window (so it is open
//     before any answer is queued). The insert is atomic across replicas
//     and restarts: exactly one try is "first". If it fails nothing was
//     recorded and WeChat's retry starts afresh.
//  2. The first try runs the handler, bounded by Options.Deadline (4 s)
//     from the request's arrival. In time: the reply is saved with
//     SaveResponse and sent. Late: "success" is saved and sent at once,
//     and the handler's answer is written to the outbox when it comes,
//     to go out as a 客服消息. An atomic flag decides which of the two
//     happens, so the answer is never both passive and queued.
//  3. Any other try reads the saved reply and sends the same bytes. If
//     the first try is still working it polls, for up to RetryWait
//     (a little more than Deadline). A live first try saves a reply by
//     its deadline, so a delivery still unanswered Deadline after it was
//     claimed — measured on the database's clock — was recorded by a
//     process that died: the retry takes it over (TakeOverDelivery: one
//     atomic UPDATE, one winner), answers "success" and processes the
//     message, its answer going out as a 客服消息. A retry is never
//     answered "success" for a delivery nobody is handling.
//  4. Every attempt runs the handler under a domain.DeliveryClaim. The
//     store commits a transaction made under it only if no other attempt
//     at the same delivery committed one (inbound_dedupe.effect_by, set
//     in the same transaction as the effect), and an attempt that lost
//     answers nothing. So a retry that takes over a first try which is
//     alive after all — the database was too slow to save its answer —
//     files no second complaint, attaches no text twice, records no
//     second score.
//  5. A delivery is finished (done_at) when its handler returns, in time
//     or late. Sweep, run every few seconds by every replica, takes over
//     what was recorded and never finished for longer than any live
//     attempt runs (Deadline + LateTimeout): a late handler whose process
//     died after "success" was answered, or a delivery WeChat stopped
//     retrying. The payload recorded with the delivery is what it
//     handles. A crash loses no message, and none has two effects.
//
// # Reaching customers
//
// Sender delivers outbox messages. A 客服消息 may be sent within 48 hours
// of the customer's last message or click, a few per interaction; the
// follower table tracks the window and the allowance, taken one at a time
// with a single UPDATE so replicas cannot overspend it. Outside the window
// a template message goes out when the notice kind has a template;
// otherwise the message fails for good and the agents are told through
// the outbox (once per message, by DedupeKey), so a person follows up.
// WeChat's errcodes become *APIError values whose sentinels say what
// to do: refresh the token once (40001, 40014, 42001), fall back (45015,
// 45047), stop (43004), wait (45009), try again (-1).
//
// # Access token
//
// All replicas share one stable access token through TokenCache (a
// Postgres table). Two replicas missing the cache at the same moment both
// fetch, which is harmless: the stable-token API returns the same token
// and does not invalidate the other's.
package wechat
