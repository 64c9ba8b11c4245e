package shop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// ImportBatch is how many lines are stored per transaction.
const ImportBatch = 1000

// maxReasons bounds the rejected lines a summary keeps word for word;
// beyond it they are only counted, so memory stays flat on a bad file.
const maxReasons = 100

// ImportSummary is what an import did.
type ImportSummary struct {
	Read, Accepted, Duplicates, Rejected int
	// Reasons are the first rejected lines with why.
	Reasons []LineError
	DryRun  bool
}

// LineError is a rejected CSV line.
type LineError struct {
	Line  int
	Error string
}

// Importer loads CSV files of order events or traffic, streaming: a batch
// is parsed, stored and forgotten before the next is read.
type Importer struct {
	Store  *store.DB
	Events *handlers.Events
	Loc    *time.Location
	// Progress, when set, is called after each batch with the lines read.
	Progress func(lines int)
}

// Import reads kind ("orders" or "traffic") from r. With dryRun the whole
// import runs in a transaction that is rolled back: the summary is exact
// (duplicates within the file included) and nothing is written.
func (im *Importer) Import(ctx context.Context, kind string, r io.Reader, dryRun bool) (ImportSummary, error) {
	var fields []string
	switch kind {
	case "orders":
		fields = domain.OrderEventFields
	case "traffic":
		fields = domain.TrafficFields
	default:
		return ImportSummary{}, fmt.Errorf("import: unknown kind %q (orders or traffic)", kind)
	}
	sum := ImportSummary{DryRun: dryRun}
	run := func(st *store.DB) error { return im.stream(ctx, st, kind, fields, r, &sum) }
	var err error
	if dryRun {
		err = im.Store.Rollback(ctx, run)
	} else {
		err = run(im.Store)
	}
	return sum, err
}

func (im *Importer) stream(ctx context.Context, st *store.DB, kind string, fields []string, r io.Reader, sum *ImportSummary) error {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("import: no header row: %w", err)
	}
	col, err := HeaderColumns(header, fields, kind)
	if err != nil {
		return err
	}
	reject := func(line int, msg string) {
		sum.Rejected++
		if len(sum.Reasons) < maxReasons {
			sum.Reasons = append(sum.Reasons, LineError{Line: line, Error: msg})
		}
	}
	var (
		evs   []domain.OrderEvent
		days  []domain.TrafficDay
		lines int
	)
	flush := func() error {
		defer func() {
			evs, days = evs[:0], days[:0]
			if im.Progress != nil {
				im.Progress(lines)
			}
		}()
		if kind == "traffic" {
			if err := st.PutTraffic(ctx, days, false); err != nil {
				return err
			}
			sum.Accepted += len(days)
			return nil
		}
		dup, err := st.IngestOrderEvents(ctx, evs, false, func(tx *store.DB, e domain.OrderEvent) error {
			return im.Events.Order(ctx, tx, e)
		})
		if err != nil {
			return err
		}
		for _, d := range dup {
			if d {
				sum.Duplicates++
			} else {
				sum.Accepted++
			}
		}
		return nil
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		lines++
		sum.Read++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				reject(pe.StartLine, pe.Err.Error())
				continue
			}
			return fmt.Errorf("import: %w", err)
		}
		line, _ := cr.FieldPos(0)
		switch kind {
		case "orders":
			e, err := domain.RawOrderEvent{ID: get(rec, "id"), Type: get(rec, "type"), OrderID: get(rec, "order_id"),
				CustomerID: get(rec, "customer_id"), WeChatOpenID: get(rec, "wechat_openid"), Total: get(rec, "total"),
				Channel: get(rec, "channel"), OccurredAt: get(rec, "occurred_at")}.Parse()
			if err != nil {
				reject(line, err.Error())
				continue
			}
			evs = append(evs, e)
		case "traffic":
			d, err := domain.RawTrafficDay{Date: get(rec, "date"), Channel: get(rec, "channel"), PV: get(rec, "pv"),
				UV: get(rec, "uv"), NewUsers: get(rec, "new_users"), ActiveUsers: get(rec, "active_users")}.Parse(im.Loc)
			if err != nil {
				reject(line, err.Error())
				continue
			}
			days = append(days, d)
		}
		if len(evs)+len(days) >= ImportBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// HeaderColumns maps a CSV header onto the fields it must name, in any
// order, case and surrounding spaces ignored. Unknown or repeated columns,
// or a required one missing, are an error naming the columns expected.
func HeaderColumns(header, fields []string, kind string) (map[string]int, error) {
	optional := map[string]bool{"wechat_openid": true, "channel": true}
	known := map[string]bool{}
	for _, f := range fields {
		known[f] = true
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !known[name] {
			return nil, fmt.Errorf("import %s: unknown column %q in the header; the columns are %s (any order; wechat_openid and channel optional)",
				kind, h, strings.Join(fields, ","))
		}
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("import %s: column %q appears twice", kind, name)
		}
		col[name] = i
	}
	for _, f := range fields {
		if _, ok := col[f]; !ok && !optional[f] {
			return nil, fmt.Errorf("import %s: the header has no %q column; the columns are %s", kind, f, strings.Join(fields, ","))
		}
	}
	return col, nil
}
