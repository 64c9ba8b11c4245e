package shop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/opsbot/opsbot/domain"
	"github.com/opsbot/opsbot/handlers"
	"github.com/opsbot/opsbot/store"
)

// Ingest limits.
const (
	MaxEvents    = 1000
	maxBody      = 4 << 20
	SignatureAge = 5 * time.Minute
)

// Ingest is the HTTP intake of the shop's systems: POST /ingest/orders and
// POST /ingest/traffic, signed with a shared secret the way Stripe and
// Slack sign their webhooks.
type Ingest struct {
	Store  *store.DB
	Secret string
	Events *handlers.Events
	Loc    *time.Location
	Log    *slog.Logger
	Now    func() time.Time
}

// Result says what happened to each event of a request.
type Result struct {
	Accepted   int        `json:"accepted"`
	Duplicates int        `json:"duplicates"`
	Rejected   []Rejected `json:"rejected"`
}

// Rejected is one event that was refused, and why.
type Rejected struct {
	Index int    `json:"index"`
	ID    string `json:"id,omitempty"`
	Error string `json:"error"`
}

// Sign returns the X-Opsbot-Signature value for body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's timestamp and signature headers against body.
// The signature header may carry several comma-separated v1= values (a
// secret being rotated); one must match.
func Verify(secret, tsHeader, sigHeader string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(tsHeader), 10, 64)
	if err != nil {
		return errors.New("X-Opsbot-Timestamp must be Unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureAge || d < -SignatureAge {
		return errors.New("X-Opsbot-Timestamp is more than 5 minutes off")
	}
	want := Sign(secret, ts, body)
	for _, s := range strings.Split(sigHeader, ",") {
		if hmac.Equal([]byte(strings.TrimSpace(s)), []byte(want)) {
			return nil
		}
	}
	return errors.New("X-Opsbot-Signature does not match")
}

// ServeHTTP answers POST /ingest/orders and /ingest/traffic.
func (in *Ingest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "body larger than 4 MB"})
		return
	}
	now := time.Now()
	if in.Now != nil {
		now = in.Now()
	}
	if err := Verify(in.Secret, r.Header.Get("X-Opsbot-Timestamp"), r.Header.Get("X-Opsbot-Signature"), body, now); err != nil {
		in.Log.Warn("Ingest request refused", "path", r.URL.Path, "reason", err.Error())
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
		return
	}
	var res Result
	status := http.StatusOK
	switch r.URL.Path {
	case "/ingest/orders":
		res, status, err = in.orders(r.Context(), body)
	case "/ingest/traffic":
		res, status, err = in.traffic(r.Context(), body)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint"})
		return
	}
	if err != nil {
		if status == http.StatusOK {
			in.Log.Error("Ingest failed", "path", r.URL.Path, "err", err)
			status = http.StatusInternalServerError
			err = errors.New("internal error; nothing was stored, send the request again")
		}
		writeJSON(w, status, map[string]string{"error": err.Error()})
		return
	}
	if res.Rejected == nil {
		res.Rejected = []Rejected{}
	}
	in.Log.Info("Ingested", "path", r.URL.Path, "accepted", res.Accepted, "duplicates", res.Duplicates, "rejected", len(res.Rejected))
	writeJSON(w, http.StatusOK, res)
}

// ParseEvents reads {"events": [...]}: the events that parse, their
// indexes in the request, and the ones refused. A body that is not that
// shape at all is an error.
func ParseEvents(body []byte) (evs []domain.OrderEvent, idx []int, rejected []Rejected, err error) {
	var doc struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf(`body must be a JSON object {"events": [...]}: %v`, err)
	}
	if len(doc.Events) > MaxEvents {
		return nil, nil, nil, fmt.Errorf("%d events; at most %d per request", len(doc.Events), MaxEvents)
	}
	for i, raw := range doc.Events {
		var r domain.RawOrderEvent
		if err := strictStrings(raw, &r); err != nil {
			rejected = append(rejected, Rejected{Index: i, ID: r.ID, Error: err.Error()})
			continue
		}
		e, err := r.Parse()
		if err != nil {
			rejected = append(rejected, Rejected{Index: i, ID: r.ID, Error: err.Error()})
			continue
		}
		evs, idx = append(evs, e), append(idx, i)
	}
	return evs, idx, rejected, nil
}

// strictStrings decodes an event whose fields must all be strings, with
// an error naming the field that is not.
func strictStrings(raw json.RawMessage, r *domain.RawOrderEvent) error {
	err := json.Unmarshal(raw, r)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("%s: must be a string (totals too: \"129.90\")", te.Field)
	}
	return errors.New("not a JSON object")
}

func (in *Ingest) orders(ctx context.Context, body []byte) (Result, int, error) {
	evs, _, rejected, err := ParseEvents(body)
	if err != nil {
		return Result{}, http.StatusBadRequest, err
	}
	res := Result{Rejected: rejected}
	dup, err := in.Store.IngestOrderEvents(ctx, evs, false, func(tx *store.DB, e domain.OrderEvent) error {
		return in.Events.Order(ctx, tx, e)
	})
	if err != nil {
		return res, http.StatusOK, err
	}
	for _, d := range dup {
		if d {
			res.Duplicates++
		} else {
			res.Accepted++
		}
	}
	return res, http.StatusOK, nil
}

// ParseTraffic reads {"days": [...]} of daily traffic.
func ParseTraffic(body []byte, loc *time.Location) ([]domain.TrafficDay, []Rejected, error) {
	var doc struct {
		Days []json.RawMessage `json:"days"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf(`body must be a JSON object {"days": [...]}: %v`, err)
	}
	if len(doc.Days) > MaxEvents {
		return nil, nil, fmt.Errorf("%d days; at most %d per request", len(doc.Days), MaxEvents)
	}
	var days []domain.TrafficDay
	var rejected []Rejected
	for i, raw := range doc.Days {
		var r domain.RawTrafficDay
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		if err := d.Decode(&r); err != nil {
			rejected = append(rejected, Rejected{Index: i, Error: "not a JSON object with string date and channel"})
			continue
		}
		t, err := r.Parse(loc)
		if err != nil {
			rejected = append(rejected, Rejected{Index: i, ID: r.Date, Error: err.Error()})
			continue
		}
		days = append(days, t)
	}
	return days, rejected, nil
}

func (in *Ingest) traffic(ctx context.Context, body []byte) (Result, int, error) {
	days, rejected, err := ParseTraffic(body, in.Loc)
	if err != nil {
		return Result{}, http.StatusBadRequest, err
	}
	if err := in.Store.PutTraffic(ctx, days, false); err != nil {
		return Result{}, http.StatusOK, err
	}
	return Result{Accepted: len(days), Rejected: rejected}, http.StatusOK, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
