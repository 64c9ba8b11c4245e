package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/opsbot/opsbot/domain"
)

type surveyRow struct {
	ID         int64          `db:"id"`
	Trigger    string         `db:"trigger"`
	Subject    string         `db:"subject"`
	OpenID     string         `db:"openid"`
	CustomerID string         `db:"customer_id"`
	State      string         `db:"state"`
	SkipReason string         `db:"skip_reason"`
	SendAt     time.Time      `db:"send_at"`
	SentAt     sql.NullTime   `db:"sent_at"`
	Via        string         `db:"via"`
	RemindedAt sql.NullTime   `db:"reminded_at"`
	ExpiresAt  sql.NullTime   `db:"expires_at"`
	AnsweredAt sql.NullTime   `db:"answered_at"`
	Score      sql.NullInt32  `db:"score"`
	Comment    string         `db:"comment"`
	FollowUp   string         `db:"followup"`
	NextAt     sql.NullTime   `db:"next_at"`
	CreatedAt  time.Time      `db:"created_at"`
	Known      sql.NullBool   `db:"known"`
	Subscribed sql.NullBool   `db:"subscribed"`
	Inbound    sql.NullTime   `db:"last_inbound_at"`
	Allowance  sql.NullInt32  `db:"allowance"`
	OpenCase   sql.NullBool   `db:"open_complaint"`
	LastSent   sql.NullTime   `db:"last_sent"`
	Extra      sql.NullString `db:"extra"`
}

const surveyCols = `s.id, s.trigger, s.subject, s.openid, s.customer_id, s.state, s.skip_reason, s.send_at,
	s.sent_at, s.via, s.reminded_at, s.expires_at, s.answered_at, s.score, s.comment, s.followup, s.next_at, s.created_at`

func (r surveyRow) domain() domain.Survey {
	return domain.Survey{
		ID: r.ID, Trigger: domain.SurveyTrigger(r.Trigger), Subject: r.Subject, OpenID: r.OpenID,
		CustomerID: r.CustomerID, State: domain.SurveyState(r.State), SkipReason: domain.SkipReason(r.SkipReason),
		SendAt: r.SendAt, SentAt: r.SentAt.Time, Via: r.Via, RemindedAt: r.RemindedAt.Time,
		ExpiresAt: r.ExpiresAt.Time, AnsweredAt: r.AnsweredAt.Time, Score: int(r.Score.Int32), Comment: r.Comment,
		FollowUp: r.FollowUp, Next: r.NextAt.Time, CreatedAt: r.CreatedAt,
	}
}

func (r surveyRow) facts() domain.SurveyFacts {
	return domain.SurveyFacts{
		Known: r.Known.Bool, Subscribed: r.Subscribed.Bool, LastInbound: r.Inbound.Time,
		Allowance: int(r.Allowance.Int32), OpenComplaint: r.OpenCase.Bool, LastSent: r.LastSent.Time,
	}
}

// ScheduleSurvey records a survey to be sent at s.SendAt. It reports false
// when the order or complaint already has one: at most one survey each,
// however often its event arrives. (A complaint's survey skipped because
// the complaint was reopened before it went out is scheduled again.)
func (db *DB) ScheduleSurvey(ctx context.Context, s domain.Survey) (bool, error) {
	if s.OpenID == "" || s.Subject == "" || s.SendAt.IsZero() {
		return false, domain.Invalidf("store: schedule survey: needs a customer, a subject and a time")
	}
	// A complaint's survey skipped because the complaint had been
	// reopened comes back when it is resolved again.
	const q = `INSERT INTO surveys (trigger, subject, openid, customer_id, send_at, next_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (trigger, subject) DO UPDATE SET state = 'scheduled', skip_reason = '', decided_at = NULL,
			send_at = EXCLUDED.send_at, next_at = EXCLUDED.next_at
		WHERE surveys.trigger = 'complaint' AND surveys.state = 'skipped' AND surveys.skip_reason = 'open_complaint'`
	res, err := db.x.ExecContext(ctx, q, s.Trigger, s.Subject, s.OpenID, s.CustomerID, s.SendAt)
	if err != nil {
		return false, wrap("schedule survey", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Survey returns one survey.
func (db *DB) Survey(ctx context.Context, id int64) (domain.Survey, error) {
	q := `SELECT ` + surveyCols + ` FROM surveys s WHERE s.id = $1`
	var r surveyRow
	if err := db.x.GetContext(ctx, &r, q, id); err != nil {
		return domain.Survey{}, wrap("survey", err)
	}
	return r.domain(), nil
}

// SurveyFor returns the survey of an order or a complaint.
func (db *DB) SurveyFor(ctx context.Context, trigger domain.SurveyTrigger, subject string) (domain.Survey, error) {
	q := `SELECT ` + surveyCols + ` FROM surveys s WHERE s.trigger = $1 AND s.subject = $2`
	var r surveyRow
	if err := db.x.GetContext(ctx, &r, q, trigger, subject); err != nil {
		return domain.Survey{}, wrap("survey for "+subject, err)
	}
	return r.domain(), nil
}

// SurveyWork is what the survey job does with one batch of due surveys:
// it advances each (changing it in place) and returns the messages and
// the pending questions that follow. It runs inside the batch's
// transaction, tx, so it may write more (a follow-up case).
type SurveyWork func(tx *DB, due []domain.Survey, facts []domain.SurveyFacts) ([]domain.Outgoing, []domain.PendingQuestion, error)

// SweepSurveys hands every survey due at time at to work, in batches
// locked with FOR UPDATE SKIP LOCKED, and saves what work made of them
// with its messages and questions in the batch's transaction. It reads
// only the partial index on next_at, so its cost follows what is due, not
// the table. Each survey comes with what the rules need to know of its
// customer: their WeChat window, an open complaint, when they were last
// asked. It returns how many surveys were due.
func (db *DB) SweepSurveys(ctx context.Context, at time.Time, batch int, work SurveyWork) (int, error) {
	if batch <= 0 {
		batch = 1000
	}
	total := 0
	for {
		n := 0
		err := db.InTx(ctx, func(tx *DB) error {
			// The due rows first, locked; then per row, by index, what
			// the rules need. OFFSET 0 and LIMIT 1 keep the planner from
			// turning the lookups into scans of the followers or the
			// complaints table, whose cost would follow the table.
			q := `WITH s AS (
					SELECT ` + surveyCols + ` FROM surveys s
					WHERE s.next_at IS NOT NULL AND s.next_at <= $1
					ORDER BY s.next_at LIMIT $2
					FOR UPDATE SKIP LOCKED)
				SELECT s.*, f.openid IS NOT NULL AS known, f.subscribed, f.last_inbound_at, f.allowance,
					CASE WHEN s.state = 'scheduled' THEN coalesce((SELECT true FROM complaints c
						WHERE c.openid = s.openid AND c.openid <> '' AND c.state <> 'resolved' LIMIT 1), false) END AS open_complaint,
					CASE WHEN s.state = 'scheduled' THEN (SELECT p.sent_at FROM surveys p
						WHERE p.openid = s.openid AND p.sent_at IS NOT NULL AND p.id <> s.id
						ORDER BY p.sent_at DESC LIMIT 1) END AS last_sent
				FROM s LEFT JOIN LATERAL (SELECT f.openid, f.subscribed, f.last_inbound_at, f.allowance
					FROM wechat_followers f WHERE f.openid = s.openid OFFSET 0) f ON true
				ORDER BY s.next_at`
			var rows []surveyRow
			if err := tx.x.SelectContext(ctx, &rows, q, at, batch); err != nil {
				return wrap("sweep surveys", err)
			}
			n = len(rows)
			if n == 0 {
				return nil
			}
			due := make([]domain.Survey, n)
			facts := make([]domain.SurveyFacts, n)
			for i, r := range rows {
				due[i], facts[i] = r.domain(), r.facts()
			}
			msgs, qs, err := work(tx, due, facts)
			if err != nil {
				return err
			}
			if err := saveSweep(ctx, tx.x, due, qs, at); err != nil {
				return err
			}
			return enqueue(ctx, tx.x, msgs)
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < batch || ctx.Err() != nil {
			return total, ctx.Err()
		}
	}
}

// surveySave is one survey's changeable columns as saveSurveys sends them.
type surveySave struct {
	ID         int64      `json:"id"`
	State      string     `json:"state"`
	SkipReason string     `json:"skip_reason"`
	SentAt     *time.Time `json:"sent_at"`
	Via        string     `json:"via"`
	RemindedAt *time.Time `json:"reminded_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	AnsweredAt *time.Time `json:"answered_at"`
	Score      *int       `json:"score"`
	Comment    string     `json:"comment"`
	FollowUp   string     `json:"followup"`
	NextAt     *time.Time `json:"next_at"`
	Decided    bool       `json:"decided"`
}

func ptime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// saveSurveys writes surveys in one statement, however many: the batch
// travels as one JSON array. decided_at is set to at for those that just
// became skipped or expired.
func saveSurveys(ctx context.Context, ext sqlx.ExtContext, ss []domain.Survey, at time.Time) error {
	if len(ss) == 0 {
		return nil
	}
	doc, err := surveyDoc(ss)
	if err != nil {
		return err
	}
	const q = `UPDATE surveys s SET state = u.state, skip_reason = u.skip_reason, sent_at = u.sent_at, via = u.via,
			reminded_at = u.reminded_at, expires_at = u.expires_at, answered_at = u.answered_at, score = u.score,
			comment = u.comment, followup = u.followup, next_at = u.next_at,
			decided_at = CASE WHEN u.decided THEN coalesce(s.decided_at, $2) END
		FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, state text, skip_reason text, sent_at timestamptz, via text,
			reminded_at timestamptz, expires_at timestamptz, answered_at timestamptz, score smallint, comment text,
			followup text, next_at timestamptz, decided boolean)
		WHERE s.id = u.id`
	_, err = ext.ExecContext(ctx, q, doc, at)
	return wrap("save surveys", err)
}

// saveSweep is saveSurveys and SetPending for a batch of the survey job in
// one statement: one round trip, however many surveys and questions.
func saveSweep(ctx context.Context, ext sqlx.ExtContext, ss []domain.Survey, qs []domain.PendingQuestion, at time.Time) error {
	doc, err := surveyDoc(ss)
	if err != nil {
		return err
	}
	platforms, users, topics, data, expires := pendingArrays(qs)
	const q = `WITH u AS (
			UPDATE surveys s SET state = u.state, skip_reason = u.skip_reason, sent_at = u.sent_at, via = u.via,
				reminded_at = u.reminded_at, expires_at = u.expires_at, answered_at = u.answered_at, score = u.score,
				comment = u.comment, followup = u.followup, next_at = u.next_at,
				decided_at = CASE WHEN u.decided THEN coalesce(s.decided_at, $2) END
			FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, state text, skip_reason text, sent_at timestamptz, via text,
				reminded_at timestamptz, expires_at timestamptz, answered_at timestamptz, score smallint, comment text,
				followup text, next_at timestamptz, decided boolean)
			WHERE s.id = u.id
			RETURNING 1
		), p AS (
			INSERT INTO conversations (platform, user_id, topic, data, expires_at, asked_at, updated_at)
			SELECT p, u, t, d, e, clock_timestamp(), now()
			FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[]) AS x(p, u, t, d, e)
			ON CONFLICT (platform, user_id, topic) DO UPDATE SET data = EXCLUDED.data,
				expires_at = EXCLUDED.expires_at, asked_at = EXCLUDED.asked_at, updated_at = now()
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM u) + (SELECT count(*) FROM p)`
	_, err = ext.ExecContext(ctx, q, doc, at, pq.Array(platforms), pq.Array(users), pq.Array(topics), pq.Array(data), pq.Array(expires))
	return wrap("save survey batch", err)
}

// surveyDoc is surveys' changeable columns as one JSON array.
func surveyDoc(ss []domain.Survey) (string, error) {
	rows := make([]surveySave, len(ss))
	for i, s := range ss {
		r := surveySave{ID: s.ID, State: string(s.State), SkipReason: string(s.SkipReason), SentAt: ptime(s.SentAt),
			Via: s.Via, RemindedAt: ptime(s.RemindedAt), ExpiresAt: ptime(s.ExpiresAt), AnsweredAt: ptime(s.AnsweredAt),
			Comment: s.Comment, FollowUp: s.FollowUp, NextAt: ptime(s.Next),
			Decided: s.State == domain.SurveySkipped || s.State == domain.SurveyExpired}
		if s.Score > 0 {
			score := s.Score
			r.Score = &score
		}
		rows[i] = r
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return "", fmt.Errorf("store: save surveys: %w", err)
	}
	return string(doc), nil
}

// pendingArrays turns questions into the columns of a bulk upsert; of two
// for one person and topic the last wins, as with SetPending.
func pendingArrays(qs []domain.PendingQuestion) (platforms, users, topics, data, expires []string) {
	seen := map[[3]string]int{}
	for _, q := range qs {
		k := [3]string{string(q.Platform), q.UserID, q.Topic}
		if i, dup := seen[k]; dup {
			data[i], expires[i] = q.Data, q.ExpiresAt.UTC().Format(time.RFC3339Nano)
			continue
		}
		seen[k] = len(users)
		platforms, users, topics = append(platforms, string(q.Platform)), append(users, q.UserID), append(topics, q.Topic)
		data, expires = append(data, q.Data), append(expires, q.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
	return
}

// UpdateSurvey changes a survey under its row lock: fn gets it, changes it
// (through its domain methods) and the result is saved; an error from fn
// changes nothing. Use it inside InTx to write its consequences with it.
func (db *DB) UpdateSurvey(ctx context.Context, id int64, at time.Time, fn func(s *domain.Survey) error) (domain.Survey, error) {
	var out domain.Survey
	err := db.InTx(ctx, func(tx *DB) error {
		q := `SELECT ` + surveyCols + ` FROM surveys s WHERE s.id = $1 FOR UPDATE`
		var r surveyRow
		if err := tx.x.GetContext(ctx, &r, q, id); err != nil {
			return wrap("survey", err)
		}
		s := r.domain()
		if err := fn(&s); err != nil {
			return err
		}
		out = s
		return saveSurveys(ctx, tx.x, []domain.Survey{s}, at)
	})
	return out, err
}

// SurveyUndelivered reports whether the survey's question (or reminder)
// found its customer out of reach when it was delivered: such a survey
// takes no answer, since the customer never saw it.
func (db *DB) SurveyUndelivered(ctx context.Context, id int64) (bool, error) {
	const q = `SELECT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = 'survey:' || $1::bigint || ':ask' AND unreachable)
		AND NOT EXISTS (SELECT 1 FROM outbox WHERE dedupe_key = 'survey:' || $1::bigint || ':remind' AND state = 'sent')`
	var out bool
	err := db.x.GetContext(ctx, &out, q, id)
	return out, wrap("survey undelivered", err)
}

// SurveySettings returns the survey settings: the defaults with what
// admins changed.
func (db *DB) SurveySettings(ctx context.Context) (domain.SurveySettings, error) {
	s := domain.DefaultSurveySettings()
	var rows []struct {
		Name  string `db:"name"`
		Value string `db:"value"`
	}
	if err := db.x.SelectContext(ctx, &rows, `SELECT name, value FROM survey_settings`); err != nil {
		return s, wrap("survey settings", err)
	}
	for _, r := range rows {
		// A value that no longer passes the checks keeps the default.
		_ = s.Set(r.Name, r.Value)
	}
	return s, nil
}

// SetSurveySetting changes one survey setting, checked against the others.
func (db *DB) SetSurveySetting(ctx context.Context, name, value, by string) (domain.SurveySettings, error) {
	var out domain.SurveySettings
	err := db.InTx(ctx, func(tx *DB) error {
		if _, err := tx.x.ExecContext(ctx, `LOCK TABLE survey_settings IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return wrap("set survey setting", err)
		}
		s, err := tx.SurveySettings(ctx)
		if err != nil {
			return err
		}
		if err := s.Set(name, value); err != nil {
			return err
		}
		v, _ := s.Get(name)
		const q = `INSERT INTO survey_settings (name, value, updated_by) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()`
		if _, err := tx.x.ExecContext(ctx, q, name, v, by); err != nil {
			return wrap("set survey setting", err)
		}
		out = s
		return nil
	})
	return out, err
}

// SurveyStats summarises the surveys of period p (see domain.SurveyStats).
func (db *DB) SurveyStats(ctx context.Context, p domain.Period) (domain.SurveyStats, error) {
	st := domain.SurveyStats{Period: p, ByTrigger: map[domain.SurveyTrigger]domain.SurveyTriggerStats{},
		Skipped: map[domain.SkipReason]int{}}
	// A question counts as sent unless its delivery found the customer
	// out of reach; then it counts as skipped, unreachable.
	const sent = `SELECT s.trigger, count(*) FILTER (WHERE o.unreachable IS NOT TRUE) AS sent,
			count(*) FILTER (WHERE o.unreachable) AS unreachable,
			count(*) FILTER (WHERE s.reminded_at IS NOT NULL) AS reminded
		FROM surveys s LEFT JOIN outbox o ON o.dedupe_key = 'survey:' || s.id || ':ask'
		WHERE s.sent_at >= $1 AND s.sent_at < $2 GROUP BY s.trigger`
	var sents []struct {
		Trigger     string `db:"trigger"`
		Sent        int    `db:"sent"`
		Unreachable int    `db:"unreachable"`
		Reminded    int    `db:"reminded"`
	}
	if err := db.x.SelectContext(ctx, &sents, sent, p.From, p.To); err != nil {
		return st, wrap("survey stats: sent", err)
	}
	for _, r := range sents {
		t := st.ByTrigger[domain.SurveyTrigger(r.Trigger)]
		t.Sent = r.Sent
		st.ByTrigger[domain.SurveyTrigger(r.Trigger)] = t
		st.Sent += r.Sent
		st.Reminders += r.Reminded
		if r.Unreachable > 0 {
			st.Skipped[domain.SkipUnreachable] += r.Unreachable
		}
	}
	const answers = `SELECT trigger, score, count(*) AS n FROM surveys
		WHERE answered_at >= $1 AND answered_at < $2 GROUP BY trigger, score`
	var as []struct {
		Trigger string `db:"trigger"`
		Score   int    `db:"score"`
		N       int    `db:"n"`
	}
	if err := db.x.SelectContext(ctx, &as, answers, p.From, p.To); err != nil {
		return st, wrap("survey stats: answers", err)
	}
	for _, r := range as {
		if r.Score < 1 || r.Score > 5 {
			continue
		}
		t := st.ByTrigger[domain.SurveyTrigger(r.Trigger)]
		t.Answered += r.N
		t.ScoreSum += r.N * r.Score
		st.ByTrigger[domain.SurveyTrigger(r.Trigger)] = t
		st.Answered += r.N
		st.ScoreSum += r.N * r.Score
		st.Distribution[r.Score] += r.N
	}
	const decided = `SELECT state, skip_reason, count(*) AS n FROM surveys
		WHERE decided_at >= $1 AND decided_at < $2 GROUP BY state, skip_reason`
	var ds []struct {
		State  string `db:"state"`
		Reason string `db:"skip_reason"`
		N      int    `db:"n"`
	}
	if err := db.x.SelectContext(ctx, &ds, decided, p.From, p.To); err != nil {
		return st, wrap("survey stats: skipped", err)
	}
	for _, r := range ds {
		if r.State == string(domain.SurveyExpired) {
			st.Expired += r.N
			continue
		}
		st.Skipped[domain.SkipReason(r.Reason)] += r.N
	}
	const cases = `SELECT count(*) AS opened,
			count(*) FILTER (WHERE c.resolved_at <= c.resolve_due_at) AS met,
			count(*) FILTER (WHERE c.state <> 'resolved') AS still_open
		FROM complaints c WHERE c.source = 'survey' AND c.created_at >= $1 AND c.created_at < $2`
	if err := db.x.QueryRowxContext(ctx, cases, p.From, p.To).Scan(&st.FollowUps, &st.FollowUpsMet, &st.FollowUpsOpen); err != nil {
		return st, wrap("survey stats: follow-ups", err)
	}
	return st, nil
}

// SurveyVIPs lists the customers whose last domain.VIPWindow answers up
// to the end of month average at least domain.TargetSatisfaction, with at
// least domain.VIPMinAnswers of them, and whether their benefit for the
// month is marked given. Only customers who answered in the month are
// considered: the list is the month's.
func (db *DB) SurveyVIPs(ctx context.Context, month domain.Period) ([]domain.SurveyVIP, error) {
	const q = `WITH who AS (
			SELECT DISTINCT openid FROM surveys WHERE answered_at >= $1 AND answered_at < $2
		), last AS (
			SELECT w.openid, l.score, l.customer_id FROM who w, LATERAL (
				SELECT s.score, s.customer_id FROM surveys s
				WHERE s.openid = w.openid AND s.answered_at IS NOT NULL AND s.answered_at < $2
				ORDER BY s.answered_at DESC LIMIT $3) l
		)
		SELECT l.openid, max(l.customer_id) AS customer_id, count(*) AS answers, avg(l.score)::float8 AS average,
			EXISTS (SELECT 1 FROM survey_benefits b WHERE b.month = $4 AND b.openid = l.openid) AS given
		FROM last l GROUP BY l.openid
		HAVING count(*) >= $5 AND avg(l.score) >= $6`
	var rows []struct {
		OpenID     string  `db:"openid"`
		CustomerID string  `db:"customer_id"`
		Answers    int     `db:"answers"`
		Average    float64 `db:"average"`
		Given      bool    `db:"given"`
	}
	if err := db.x.SelectContext(ctx, &rows, q, month.From, month.To, domain.VIPWindow, month.From.Format("2006-01"),
		domain.VIPMinAnswers, domain.TargetSatisfaction); err != nil {
		return nil, wrap("survey vips", err)
	}
	out := make([]domain.SurveyVIP, len(rows))
	for i, r := range rows {
		out[i] = domain.SurveyVIP{OpenID: r.OpenID, CustomerID: r.CustomerID, Answers: r.Answers, Average: r.Average, Given: r.Given}
	}
	domain.SortVIPs(out)
	return out, nil
}

// MarkBenefitsGiven records that the month's benefit was given to each
// customer; marking one again changes nothing.
func (db *DB) MarkBenefitsGiven(ctx context.Context, month string, openIDs []string, by string) (int, error) {
	const q = `INSERT INTO survey_benefits (month, openid, given_by)
		SELECT $1, o, $3 FROM unnest($2::text[]) AS o ON CONFLICT DO NOTHING`
	res, err := db.x.ExecContext(ctx, q, month, pq.Array(openIDs), by)
	if err != nil {
		return 0, wrap("mark benefits given", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// surveyTotals adds the period's survey answers to t, for metrics.
func surveyTotals(ctx context.Context, x execer, p domain.Period, t *domain.ShopTotals) error {
	const q = `SELECT count(*), coalesce(sum(score), 0) FROM surveys WHERE answered_at >= $1 AND answered_at < $2`
	return wrap("survey totals", x.QueryRowxContext(ctx, q, p.From, p.To).Scan(&t.SurveyResponses, &t.SurveyScoreSum))
}

// DemoSurveys writes survey answers for the completed demo orders of
// customers with an OpenID, marked demo: most answered (mostly 4 and 5),
// some expired, some skipped. Scores and states follow a hash of the order
// ID, so two runs write the same rows (the second writes none).
func (db *DB) DemoSurveys(ctx context.Context, now time.Time) (int64, error) {
	const q = `INSERT INTO surveys (trigger, subject, openid, customer_id, state, skip_reason, send_at, sent_at, via,
			expires_at, answered_at, score, decided_at, demo)
		SELECT 'order', o.order_id, o.wechat_openid, o.customer_id,
			CASE WHEN h.v < 62 THEN 'answered' WHEN h.v < 82 THEN 'expired' ELSE 'skipped' END,
			CASE WHEN h.v >= 82 THEN (CASE WHEN h.v < 92 THEN 'cooldown' ELSE 'unreachable' END) ELSE '' END,
			o.completed_at + interval '2 hours',
			CASE WHEN h.v < 82 THEN o.completed_at + interval '2 hours' END,
			CASE WHEN h.v < 82 THEN 'kf' ELSE '' END,
			CASE WHEN h.v < 82 THEN o.completed_at + interval '74 hours' END,
			CASE WHEN h.v < 62 THEN o.completed_at + interval '2 hours' + (h.w * interval '1 minute') END,
			CASE WHEN h.v < 62 THEN (CASE WHEN h.w < 130 THEN 5 WHEN h.w < 160 THEN 4 WHEN h.w < 170 THEN 3
				WHEN h.w < 175 THEN 2 ELSE 1 END) END,
			CASE WHEN h.v >= 62 AND h.v < 82 THEN o.completed_at + interval '74 hours'
				WHEN h.v >= 82 THEN o.completed_at + interval '2 hours' END,
			true
		FROM orders o, LATERAL (SELECT abs(hashtext(o.order_id)) % 100 AS v,
			abs(hashtext(o.order_id || 'w')) % 180 AS w) h
		WHERE o.demo AND o.wechat_openid <> '' AND o.completed_at IS NOT NULL
			AND o.completed_at + interval '74 hours' < $1
		ON CONFLICT (trigger, subject) DO NOTHING`
	res, err := db.x.ExecContext(ctx, q, now)
	if err != nil {
		return 0, wrap("demo surveys", err)
	}
	return res.RowsAffected()
}
