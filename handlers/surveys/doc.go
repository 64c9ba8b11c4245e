// Package surveys asks customers on WeChat how satisfied they are (1–5)
// after an order is completed and after a complaint is resolved, inside
// WeChat's rules; turns every score below 4 into a follow-up case on the
// complaint desk; lists the customers who earn the benefit; and reports.
//
// # How a survey moves, and why it is sent once
//
// A survey is a row in surveys, one per order or complaint (unique on
// trigger and subject), written by the listeners of handlers.Events in the
// emitter's transaction: an order.completed that is a duplicate, or the
// same order completed again, finds the row there and adds nothing. Its
// next_at column says when the survey-send job next has work for it (send,
// remind, expire, open the follow-up case); it is NULL when there is none,
// and the job reads only the partial index on it, so its cost follows what
// is due, not the table.
//
// The job takes due rows in batches with FOR UPDATE SKIP LOCKED: two runs
// at once (a replica's tick and `opsbot jobs run`) split the work and never
// take one survey twice. For each it applies the rules (domain.Survey.
// Advance), and in the batch's transaction saves the rows, the pending
// questions that route the customer's answer back here, and the messages.
// The questions carry dedupe keys (survey:<id>:ask, survey:<id>:remind),
// so even a survey that was somehow processed twice is asked once.
//
// An answer takes the survey's row lock (store.UpdateSurvey) and is
// accepted only while the survey waits (sent, not expired): a sweep that
// expires or reminds the survey at the same moment either commits first —
// and the answer sees the new state — or waits for the answer and then no
// longer finds the row due. The cooldown is checked against the
// customer's last survey when a survey falls due, and against the ones
// sent earlier in the same batch; two concurrent runs could each ask one
// customer once within the cooldown, which the scheduler's slot claim
// makes rare and which costs one extra question, never a lost one.
//
// A low score's follow-up case is opened through handlers.Events.OpenCase
// in the transaction that records the comment (or, if the customer does
// not explain within comment-wait, by the job): the case and the survey's
// link to it commit together.
package surveys
