package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// nextDueExpr is when an open complaint's next deadline falls: its first
// reply until it is answered, then its resolution. Open lists sort by it
// (migration 00011 indexes it), so a 10-minute after-sales complaint is
// never buried under newer 24-hour ones.
const nextDueExpr = `(CASE WHEN first_reply_at IS NULL THEN LEAST(reply_due_at, resolve_due_at) ELSE resolve_due_at END)`

// nextWarnExpr is when the warning before that deadline falls.
const nextWarnExpr = `(CASE WHEN first_reply_at IS NULL THEN LEAST(reply_warn_at, resolve_warn_at) ELSE resolve_warn_at END)`

// overdueExpr is true for an unresolved complaint past a deadline at $1.
const overdueExpr = `(resolve_due_at < $1 OR (first_reply_at IS NULL AND reply_due_at < $1))`

// complaintWhere turns a list query into SQL conditions; args[0] is at.
func complaintWhere(q domain.ComplaintQuery, user string, at time.Time) (string, []any, error) {
	conds := []string{"$1::timestamptz IS NOT NULL"} // every query has at as $1
	args := []any{at}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch q.Filter {
	case domain.FilterOpen, "":
		conds = append(conds, "state <> 'resolved'")
	case domain.FilterMine:
		conds = append(conds, "state <> 'resolved'", "assignee = "+arg(user))
	case domain.FilterOverdue:
		conds = append(conds, "state <> 'resolved'", overdueExpr)
	case domain.FilterAtRisk:
		conds = append(conds, "state <> 'resolved'", "NOT "+overdueExpr,
			"("+nextDueExpr+" <= "+arg(at.Add(domain.AtRiskWindow))+" OR "+nextWarnExpr+" <= $1)")
	case domain.FilterAll:
	default:
		return "", nil, fmt.Errorf("store: list complaints: %w: unknown filter %q", domain.ErrInvalid, q.Filter)
	}
	if q.Category != "" {
		conds = append(conds, "category = "+arg(string(q.Category)))
	}
	switch q.Assignee {
	case "":
	case "none":
		conds = append(conds, "assignee = ''")
	case "me":
		conds = append(conds, "assignee = "+arg(user))
	default:
		conds = append(conds, "assignee = "+arg(q.Assignee))
	}
	if !q.From.IsZero() {
		conds = append(conds, "created_at >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		conds = append(conds, "created_at < "+arg(q.To))
	}
	return strings.Join(conds, " AND "), args, nil
}

// ListComplaints returns one page of the complaints a query selects, judged
// at time at (overdue, at risk) for user (mine, assignee=me), and how many
// there are in all. Unresolved lists sort by the next deadline, soonest
// first; `all` sorts newest first. Pages are offset ones on a total order
// (ties broken by id), so page 2 continues exactly where page 1 stopped.
func (db *DB) ListComplaints(ctx context.Context, q domain.ComplaintQuery, user string, at time.Time, perPage int) ([]domain.Complaint, int, error) {
	where, args, err := complaintWhere(q, user, at)
	if err != nil {
		return nil, 0, err
	}
	var total int
	if err := db.x.GetContext(ctx, &total, `SELECT count(*) FROM complaints WHERE `+where, args...); err != nil {
		return nil, 0, wrap("list complaints: count", err)
	}
	order := nextDueExpr + `, id`
	if q.Filter == domain.FilterAll {
		order = `created_at DESC, id DESC`
	}
	page := max(q.Page, 1)
	if perPage <= 0 {
		perPage = 25
	}
	n := len(args)
	args = append(args, perPage, (page-1)*perPage)
	sql := fmt.Sprintf(`SELECT %s FROM complaints WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`, complaintCols, where, order, n+1, n+2)
	list, err := db.selectComplaints(ctx, "list complaints", sql, args...)
	return list, total, err
}

// likeEscape makes s match literally inside a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// FindComplaints finds complaints by what staff remember of them: every
// word must match the complaint number, order number, OpenID, phone
// (digits, ignoring spaces and dashes) or appear in the text. Text matches
// are substring matches (ILIKE, served by the trigram index when pg_trgm is
// there), so Chinese words, which have no spaces, are found inside
// sentences. Newest first, one page at a time, with the total.
func (db *DB) FindComplaints(ctx context.Context, words []string, page, perPage int) ([]domain.Complaint, int, error) {
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		alts := []string{
			"body ILIKE " + arg("%"+likeEscape(w)+"%"),
			"order_no = " + arg(w),
			"openid = " + arg(w),
			"number ILIKE " + arg("%"+likeEscape(w)+"%"),
		}
		if n, err := domain.ParseComplaintNumber(w); err == nil {
			alts = append(alts, "number = "+arg(n))
		}
		digits := onlyDigits(w)
		if len(digits) >= 4 && len(digits)*2 >= len(w) {
			alts = append(alts, "regexp_replace(contact, '[^0-9]', '', 'g') LIKE "+arg("%"+digits+"%"),
				"order_no LIKE "+arg("%"+digits+"%"))
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	if len(conds) == 0 {
		return nil, 0, fmt.Errorf("store: find complaints: %w: nothing to look for", domain.ErrInvalid)
	}
	where := strings.Join(conds, " AND ")
	var total int
	if err := db.x.GetContext(ctx, &total, `SELECT count(*) FROM complaints WHERE `+where, args...); err != nil {
		return nil, 0, wrap("find complaints: count", err)
	}
	page = max(page, 1)
	n := len(args)
	args = append(args, perPage, (page-1)*perPage)
	q := fmt.Sprintf(`SELECT %s FROM complaints WHERE %s ORDER BY created_at DESC, id DESC LIMIT $%d OFFSET $%d`,
		complaintCols, where, n+1, n+2)
	list, err := db.selectComplaints(ctx, "find complaints", q, args...)
	return list, total, err
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range domain.FoldWidth(s) {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ComplaintsByOrder returns the complaints about one order number, newest
// first.
func (db *DB) ComplaintsByOrder(ctx context.Context, order string, limit int) ([]domain.Complaint, error) {
	const q = `SELECT ` + complaintCols + ` FROM complaints WHERE order_no = $1 AND order_no <> ''
		ORDER BY created_at DESC, id DESC LIMIT $2`
	return db.selectComplaints(ctx, "complaints by order", q, order, limit)
}

// ComplaintsSince counts a customer's complaints created at or after
// since, for the daily limit.
func (db *DB) ComplaintsSince(ctx context.Context, openID string, since time.Time) (int, error) {
	var n int
	err := db.x.GetContext(ctx, &n, `SELECT count(*) FROM complaints WHERE openid = $1 AND openid <> '' AND created_at >= $2`, openID, since)
	return n, wrap("complaints since", err)
}

// DeskStats is ComplaintStats with what a team looks at during the day:
// at risk now, breached, and per agent.
func (db *DB) DeskStats(ctx context.Context, from, to, at time.Time) (domain.DeskStats, error) {
	st, err := db.ComplaintStats(ctx, from, to, at)
	if err != nil {
		return domain.DeskStats{}, err
	}
	out := domain.DeskStats{ComplaintStats: st}
	q := `SELECT
			count(*) FILTER (WHERE state <> 'resolved' AND NOT ` + overdueExpr + `
				AND (` + nextDueExpr + ` <= $4 OR ` + nextWarnExpr + ` <= $1)) AS at_risk,
			count(*) FILTER (WHERE first_reply_at > reply_due_at OR (first_reply_at IS NULL AND reply_due_at < $1)
				OR resolved_at > resolve_due_at OR (resolved_at IS NULL AND resolve_due_at < $1)) AS breached
		FROM complaints WHERE created_at >= $2 AND created_at < $3`
	var r struct {
		AtRisk   int `db:"at_risk"`
		Breached int `db:"breached"`
	}
	if err := db.x.GetContext(ctx, &r, q, at, from, to, at.Add(domain.AtRiskWindow)); err != nil {
		return out, wrap("desk stats", err)
	}
	out.AtRisk, out.Breached = r.AtRisk, r.Breached
	const byAgent = `SELECT assignee, count(*) AS n,
			count(*) FILTER (WHERE state = 'resolved') AS resolved,
			count(*) FILTER (WHERE first_reply_at <= reply_due_at) AS reply_met,
			count(*) FILTER (WHERE first_reply_at IS NOT NULL OR reply_due_at < $3) AS reply_decided,
			count(*) FILTER (WHERE resolved_at <= resolve_due_at) AS resolve_met,
			count(*) FILTER (WHERE resolved_at IS NOT NULL OR resolve_due_at < $3) AS resolve_decided,
			coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - created_at)), 0) AS resolve_median
		FROM complaints WHERE created_at >= $1 AND created_at < $2 GROUP BY assignee ORDER BY count(*) DESC, assignee`
	var rows []struct {
		Assignee       string  `db:"assignee"`
		N              int     `db:"n"`
		Resolved       int     `db:"resolved"`
		ReplyMet       int     `db:"reply_met"`
		ReplyDecided   int     `db:"reply_decided"`
		ResolveMet     int     `db:"resolve_met"`
		ResolveDecided int     `db:"resolve_decided"`
		ResolveMedian  float64 `db:"resolve_median"`
	}
	if err := db.x.SelectContext(ctx, &rows, byAgent, from, to, at); err != nil {
		return out, wrap("desk stats by agent", err)
	}
	for _, r := range rows {
		out.ByAgent = append(out.ByAgent, domain.AgentStats{Agent: r.Assignee, Total: r.N, Resolved: r.Resolved,
			ReplyMet: r.ReplyMet, ReplyDecided: r.ReplyDecided, ResolveMet: r.ResolveMet, ResolveDecided: r.ResolveDecided,
			ResolveMedian: time.Duration(r.ResolveMedian * float64(time.Second)).Round(time.Second)})
	}
	return out, nil
}

// CategoryCorrections counts, for each category the rules gave complaints
// (the category before the first change by an agent), how many complaints
// got it and how many of those agents moved, and to what.
func (db *DB) CategoryCorrections(ctx context.Context) ([]domain.CategoryCorrection, error) {
	const q = `WITH firsts AS (
			SELECT DISTINCT ON (complaint_id) complaint_id, split_part(detail, ' → ', 1) AS orig, split_part(detail, ' → ', 2) AS moved
			FROM complaint_events WHERE kind = 'recategorised' ORDER BY complaint_id, id)
		SELECT coalesce(f.orig, c.category) AS category, CASE WHEN f.complaint_id IS NULL THEN '' ELSE c.category END AS now_category, count(*) AS n,
			count(f.complaint_id) AS corrected
		FROM complaints c LEFT JOIN firsts f ON f.complaint_id = c.id
		GROUP BY 1, 2`
	var rows []struct {
		Category  string `db:"category"`
		Now       string `db:"now_category"`
		N         int    `db:"n"`
		Corrected int    `db:"corrected"`
	}
	if err := db.x.SelectContext(ctx, &rows, q); err != nil {
		return nil, wrap("category corrections", err)
	}
	by := map[domain.Category]*domain.CategoryCorrection{}
	for _, r := range rows {
		cat := domain.Category(r.Category)
		cc := by[cat]
		if cc == nil {
			cc = &domain.CategoryCorrection{Category: cat, To: map[domain.Category]int{}}
			by[cat] = cc
		}
		cc.Total += r.N
		cc.Corrected += r.Corrected
		if r.Corrected > 0 && r.Now != "" && r.Now != r.Category {
			cc.To[domain.Category(r.Now)] += r.Corrected
		}
	}
	var out []domain.CategoryCorrection
	for _, c := range domain.Categories {
		if cc := by[c]; cc != nil {
			out = append(out, *cc)
			delete(by, c)
		}
	}
	for _, cc := range by { // categories no longer in the list
		out = append(out, *cc)
	}
	return out, nil
}
