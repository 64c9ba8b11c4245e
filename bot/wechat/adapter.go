package wechat

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// Store is what the callback handler needs from the database
// (*store.DB, or faster *store.WeChatInbox).
type Store interface {
	// RecordDelivery records a delivery with what it said (payload) and
	// reports whether it is new.
	RecordDelivery(ctx context.Context, platform domain.Platform, key, payload string) (bool, error)
	// WeChatFirstMessage is RecordDelivery for a customer's message or
	// click, restarting their conversation window in the same statement.
	WeChatFirstMessage(ctx context.Context, key, openID string, at time.Time, allowance int, payload string) (bool, error)
	// SaveResponse keeps the answer retries get.
	SaveResponse(ctx context.Context, platform domain.Platform, key, response string) error
	// FinishDelivery records that a delivery was handled (and its answer,
	// unless one was saved).
	FinishDelivery(ctx context.Context, platform domain.Platform, key, response string) error
	Response(ctx context.Context, platform domain.Platform, key string) (string, bool, error)
	// TakeOverDelivery claims a delivery claimed more than stale ago and
	// neither answered nor finished: its first try died.
	TakeOverDelivery(ctx context.Context, platform domain.Platform, key string, stale time.Duration) (bool, error)
	// SweepDeliveries claims deliveries left unfinished longer than stale.
	SweepDeliveries(ctx context.Context, platform domain.Platform, stale time.Duration, limit int) ([]domain.Unfinished, error)
	WeChatSubscribe(ctx context.Context, openID string, at time.Time, allowance int) error
	WeChatUnsubscribe(ctx context.Context, openID string, at time.Time) error
	Enqueue(ctx context.Context, msgs ...domain.Outgoing) error
}

// Options tune the callback handler; zero values take the defaults.
type Options struct {
	// Welcome answers a new follower.
	Welcome string
	// Deadline bounds the work done before answering WeChat, which waits
	// 5 s; a later answer is sent as a 客服消息. Default 4 s.
	Deadline time.Duration
	// RetryWait is how long a retry waits for the first try's answer (or
	// to take over a first try that died) before saying "success".
	// Default: Deadline + 300 ms, so that a retry arriving right after a
	// crash still outlives the dead try's deadline (WeChat waits 5 s).
	RetryWait time.Duration
	// LateTimeout bounds a handler that missed the deadline. Default 1 min.
	LateTimeout time.Duration
	// Wake is called after a late answer is put in the outbox
	// (Dispatcher.Wake).
	Wake func()
	// MaxSkew is how far a request's signed timestamp may be from now;
	// a request outside it is a replay and gets 403. Default 5 min;
	// negative turns the check off (for recorded test vectors).
	MaxSkew time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Allowances: 客服消息 WeChat allows per customer interaction.
const (
	allowancePerMessage = 5 // after a message from the customer
	allowancePerEvent   = 3 // after a follow or a menu click
)

// Passive answers that are not the handlers'.
const (
	defaultWelcome = "感谢关注！回复「帮助」看看我能为您做什么。"
	// TextOnly answers images, voice, locations and other non-text messages.
	TextOnly = "抱歉，目前我只能看懂文字消息。请用文字描述您的问题，或回复「帮助」查看我能为您做什么。"
	// Truncated is added to the answer to a very long message.
	Truncated = "（您的消息较长，我们只保存了前 1000 个字。如需补充，请分几条发送。）"
)

// success is the body that tells WeChat "received, no reply".
const success = "success"

// maxBody matches the server's request limit.
const maxBody = 1 << 20

// Adapter is the Official Account callback: GET answers WeChat's URL
// check, POST receives messages and events. See doc.go for how it answers
// within 5 seconds and never twice.
type Adapter struct {
	acc   Account
	crypt *cryptor // nil: plaintext mode only
	h     bot.Handler
	st    Store
	opt   Options
	log   *slog.Logger
	late  sync.WaitGroup
}

// New returns the callback handler for acc.
func New(acc Account, h bot.Handler, st Store, opt Options) (*Adapter, error) {
	if acc.Token == "" || acc.AppID == "" {
		return nil, errors.New("wechat: the account needs an AppID and a token")
	}
	a := &Adapter{acc: acc, h: h, st: st, opt: opt, log: opt.Log}
	if acc.EncodingAESKey != "" {
		c, err := newCryptor(acc.AppID, acc.EncodingAESKey)
		if err != nil {
			return nil, err
		}
		a.crypt = c
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.opt.Welcome == "" {
		a.opt.Welcome = defaultWelcome
	}
	if a.opt.Deadline <= 0 {
		a.opt.Deadline = 4 * time.Second
	}
	if a.opt.RetryWait <= 0 {
		a.opt.RetryWait = a.opt.Deadline + 300*time.Millisecond
	}
	if a.opt.LateTimeout <= 0 {
		a.opt.LateTimeout = time.Minute
	}
	if a.opt.Now == nil {
		a.opt.Now = time.Now
	}
	if a.opt.MaxSkew == 0 {
		a.opt.MaxSkew = 5 * time.Minute
	}
	return a, nil
}

// fresh reports whether a signed timestamp is close enough to now: a
// captured request replayed later is refused even though its signature
// is genuine.
func (a *Adapter) fresh(timestamp string) bool {
	if a.opt.MaxSkew < 0 {
		return true
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	skew := a.opt.Now().Sub(time.Unix(sec, 0))
	return skew <= a.opt.MaxSkew && skew >= -a.opt.MaxSkew
}

// Wait blocks until answers that missed the deadline are in the outbox.
func (a *Adapter) Wait() { a.late.Wait() }

// ServeHTTP implements http.Handler.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		a.verifyURL(w, r)
	case http.MethodPost:
		a.receive(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// verifyURL answers the check WeChat makes when the server URL is saved.
func (a *Adapter) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !signatureOK(q.Get("signature"), a.acc.Token, q.Get("timestamp"), q.Get("nonce")) {
		a.log.Warn("WeChat URL check with a bad signature", "remote_addr", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	// The same freshness window as messages: a captured URL check does
	// not verify for ever.
	if !a.fresh(q.Get("timestamp")) {
		a.log.Warn("WeChat URL check with a stale timestamp refused", "remote_addr", r.RemoteAddr)
		http.Error(w, "forbidden: stale timestamp", http.StatusForbidden)
		return
	}
	echo := q.Get("echostr")
	if echo == "" {
		http.Error(w, "echostr missing", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, echo)
}

// request is one POST as far as it has been checked.
type request struct {
	msg              inbound
	key              string // dedupe key
	safe             bool
	timestamp, nonce string
	start            time.Time // when the request came in: the deadline runs from it
}

func (a *Adapter) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := request{timestamp: q.Get("timestamp"), nonce: q.Get("nonce"), safe: q.Get("encrypt_type") == "aes",
		start: time.Now()}
	// The signature first: nothing about an unsigned request is read,
	// recorded or answered beyond 403.
	if !signatureOK(q.Get("signature"), a.acc.Token, req.timestamp, req.nonce) {
		a.log.Warn("WeChat message with a bad signature", "remote_addr", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if !a.fresh(req.timestamp) {
		a.log.Warn("WeChat message with a stale timestamp refused", "remote_addr", r.RemoteAddr)
		http.Error(w, "forbidden: stale timestamp", http.StatusForbidden)
		return
	}
	if a.crypt != nil && !req.safe {
		// With a key configured the account is in compatible or safe
		// mode, where the signature does not cover the body: a plaintext
		// body could be forged onto a replayed query string.
		a.log.Warn("Plaintext WeChat message refused: WECHAT_ENCODING_AES_KEY is set, so only encrypted messages are accepted",
			"remote_addr", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	raw := body
	if req.safe {
		if a.crypt == nil {
			a.log.Error("Encrypted WeChat message but WECHAT_ENCODING_AES_KEY is not set")
			http.Error(w, "encrypted messages are not configured", http.StatusBadRequest)
			return
		}
		var env envelope
		if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
			http.Error(w, "malformed XML", http.StatusBadRequest)
			return
		}
		if !signatureOK(q.Get("msg_signature"), a.acc.Token, req.timestamp, req.nonce, env.Encrypt) {
			a.log.Warn("WeChat message with a bad msg_signature", "remote_addr", r.RemoteAddr)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if !digits(req.timestamp) {
			http.Error(w, "bad timestamp", http.StatusBadRequest)
			return
		}
		if raw, err = a.crypt.decrypt(env.Encrypt); err != nil {
			a.log.Warn("WeChat message does not decrypt", "err", err)
			http.Error(w, "message does not decrypt", http.StatusBadRequest)
			return
		}
	}
	if req.msg, err = parseInbound(raw); err != nil {
		http.Error(w, "malformed XML", http.StatusBadRequest)
		return
	}
	req.key = req.msg.dedupeKey()
	a.answer(w, r, req)
}

// answer processes a verified message once and writes the reply; retries
// get the first reply again. See doc.go for the rules.
func (a *Adapter) answer(w http.ResponseWriter, r *http.Request, req request) {
	// Once a delivery is being recorded, WeChat hanging up must not stop
	// the work half-way: the record would say "seen" with no answer.
	// Every step below has its own bound.
	ctx := context.WithoutCancel(r.Context())
	log := a.log.With("wechat_key", req.key, "msg_type", req.msg.MsgType)
	// Recording gets at least 2 s even under a short processing deadline
	// (tests use 20 ms): a slow insert must not turn into a 500.
	rctx, rcancel := context.WithTimeout(ctx, max(a.opt.Deadline, 2*time.Second))
	first, err := a.record(rctx, req)
	rcancel()
	if err != nil {
		// Nothing recorded: WeChat's retry will be processed.
		log.Error("Could not record WeChat delivery", "err", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	if !first {
		log.Debug("WeChat retry; answering as before")
		a.writeBody(w, a.retry(ctx, log, req))
		return
	}
	text, late := a.process(ctx, log, req, domain.NewDeliveryClaim(domain.PlatformWeChat, req.key))
	body := success
	if text != "" {
		b, err := a.render(req, text)
		if err != nil {
			log.Error("Could not build WeChat reply", "err", err)
		} else {
			body = string(b)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if late {
		// The handler goes on; it finishes the delivery when it is done.
		err = a.st.SaveResponse(sctx, domain.PlatformWeChat, req.key, body)
	} else {
		err = a.st.FinishDelivery(sctx, domain.PlatformWeChat, req.key, body)
	}
	if err != nil {
		log.Error("Could not save WeChat reply for retries", "err", err)
	}
	a.writeBody(w, body)
}

// record records the delivery with what it said, and for a customer's
// message or menu click their activity too: every one reopens the 48-hour
// window, and must have done so before any answer is sent.
func (a *Adapter) record(ctx context.Context, req request) (bool, error) {
	m := req.msg
	payload, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	switch {
	case m.MsgType != "event":
		return a.st.WeChatFirstMessage(ctx, req.key, m.FromUserName, a.opt.Now(), allowancePerMessage, string(payload))
	case m.Event == "CLICK":
		return a.st.WeChatFirstMessage(ctx, req.key, m.FromUserName, a.opt.Now(), allowancePerEvent, string(payload))
	}
	return a.st.RecordDelivery(ctx, domain.PlatformWeChat, req.key, string(payload))
}

// retry answers a try after the first. It waits, within RetryWait of its
// arrival, for the first try's answer and sends the same bytes. A delivery
// still unanswered Deadline after it was claimed (on the database's
// clock) is one whose first try died — a live one answers by its
// deadline — so the retry takes it over and handles it, answering
// "success" now and the customer as a 客服消息. Should the first try be
// alive after all (a slow database), the delivery claim in the store
// still lets only one of them have an effect. A retry that can do neither
// says "success": the delivery is being handled, and the sweep finishes
// it if its handler dies.
func (a *Adapter) retry(ctx context.Context, log *slog.Logger, req request) string {
	deadline := req.start.Add(a.opt.RetryWait)
	wait := 5 * time.Millisecond
	for {
		qctx, cancel := context.WithDeadline(ctx, deadline.Add(time.Second))
		resp, ok, err := a.st.Response(qctx, domain.PlatformWeChat, req.key)
		if err == nil && ok {
			cancel()
			return resp
		}
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			log.Warn("Could not read saved WeChat reply", "err", err)
		}
		won, err := a.st.TakeOverDelivery(qctx, domain.PlatformWeChat, req.key, a.opt.Deadline)
		cancel()
		if err != nil {
			log.Warn("Could not take over a WeChat delivery", "err", err)
		}
		if won {
			log.Warn("WeChat delivery was never answered; its first try died. Processing it now")
			a.takeOver(ctx, log, req)
			return success
		}
		left := time.Until(deadline)
		if left <= 0 {
			return success
		}
		time.Sleep(min(wait, left))
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// takeOver handles a delivery another attempt claimed and did not finish:
// out of time already, so the answer goes out as a 客服消息.
func (a *Adapter) takeOver(ctx context.Context, log *slog.Logger, req request) {
	req.start = time.Now().Add(-a.opt.Deadline)
	if _, late := a.process(ctx, log, req, domain.NewDeliveryClaim(domain.PlatformWeChat, req.key)); !late {
		a.finish(ctx, log, req.key)
	}
}

// finish records that a delivery was handled: no retry or sweep will
// handle it again.
func (a *Adapter) finish(ctx context.Context, log *slog.Logger, key string) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := a.st.FinishDelivery(sctx, domain.PlatformWeChat, key, success); err != nil {
		log.Error("Could not record a WeChat delivery as handled", "err", err)
	}
}

// Sweep handles deliveries recorded and never finished by the process
// that recorded them (it died), which no retry took over: WeChat gave up,
// or answered "success" to a retry while a handler that later died was
// still working. Their answers go out as 客服消息. It returns how many it
// took.
func (a *Adapter) Sweep(ctx context.Context) (int, error) {
	list, err := a.st.SweepDeliveries(ctx, domain.PlatformWeChat, a.sweepAge(), 100)
	if err != nil {
		return 0, err
	}
	for _, u := range list {
		log := a.log.With("wechat_key", u.Key)
		var m inbound
		if err := json.Unmarshal([]byte(u.Payload), &m); err != nil {
			log.Error("Unreadable WeChat delivery left unfinished; dropped", "err", err)
			a.finish(ctx, log, u.Key)
			continue
		}
		log.Warn("WeChat delivery was never finished; processing it now", "msg_type", m.MsgType)
		a.takeOver(ctx, log.With("msg_type", m.MsgType), request{msg: m, key: u.Key})
	}
	return len(list), nil
}

// sweepAge is how long a delivery may be unfinished before the sweep
// takes it: longer than any live attempt runs (its deadline, then
// LateTimeout for a late handler).
func (a *Adapter) sweepAge() time.Duration { return a.opt.Deadline + a.opt.LateTimeout + 5*time.Second }

// RunSweeper runs Sweep every interval until ctx ends, and once at once:
// what a process that died left unfinished is picked up by its successor
// (or any replica) without waiting for WeChat.
func (a *Adapter) RunSweeper(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := a.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("WeChat delivery sweep failed", "err", err)
		} else if n > 0 {
			a.log.Info("Handled WeChat deliveries a stopped process left unfinished", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *Adapter) writeBody(w http.ResponseWriter, body string) {
	if strings.HasPrefix(body, "<xml>") {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	io.WriteString(w, body)
}

// render builds the passive reply XML, encrypted in safe mode.
func (a *Adapter) render(req request, text string) ([]byte, error) {
	x := replyXML(req.msg.FromUserName, req.msg.ToUserName, a.opt.Now().Unix(), capBytes(text, maxReplyBytes))
	if !req.safe {
		return x, nil
	}
	enc, err := a.crypt.encrypt(x)
	if err != nil {
		return nil, err
	}
	return encryptedXML(enc, sign(a.acc.Token, req.timestamp, req.nonce, enc), req.timestamp, req.nonce), nil
}

// process does what a message asks, as attempt claim, and returns the
// passive reply ("" for none). late reports that the handler missed the
// deadline: its answer will go out as a 客服消息, and it finishes the
// delivery itself when done.
func (a *Adapter) process(ctx context.Context, log *slog.Logger, req request, claim *domain.DeliveryClaim) (text string, late bool) {
	ctx = domain.WithDelivery(ctx, claim)
	m := req.msg
	openID := m.FromUserName
	at := a.opt.Now()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if m.MsgType != "event" {
		if m.MsgType != "text" {
			return TextOnly, false
		}
		text, truncated := Normalize(m.Content)
		suffix := ""
		if truncated {
			suffix = Truncated
		}
		return a.route(ctx, log, req, claim, text, suffix)
	}
	switch m.Event {
	case "subscribe":
		if err := a.st.WeChatSubscribe(dctx, openID, at, allowancePerEvent); err != nil {
			log.Error("Could not record WeChat follower", "err", err)
		}
		return a.opt.Welcome, false
	case "unsubscribe":
		if err := a.st.WeChatUnsubscribe(dctx, openID, at); err != nil {
			log.Error("Could not record WeChat unfollow", "err", err)
		}
		return "", false
	case "CLICK":
		return a.route(ctx, log, req, claim, clickCommand(m.EventKey), "")
	}
	return "", false // VIEW, LOCATION, template receipts…: nothing to say
}

// Handler states for the deadline race.
const (
	running int32 = iota
	inTime
	tooLate
)

// route hands text to the bot core and waits up to the deadline. A late
// answer goes to the outbox as a 客服消息 when it comes, and the delivery is
// finished then; the caller answers WeChat with "success" meanwhile. An
// attempt that lost the delivery to another (claim.Lost) answers nothing:
// the other one answers.
func (a *Adapter) route(ctx context.Context, log *slog.Logger, req request, claim *domain.DeliveryClaim, text, suffix string) (string, bool) {
	msg := bot.Message{
		Platform: domain.PlatformWeChat,
		UserID:   req.msg.FromUserName,
		Role:     domain.RoleCustomer,
		Text:     text,
		ID:       req.key,
		Time:     time.Unix(req.msg.CreateTime, 0),
	}
	var state atomic.Int32
	done := make(chan bot.Reply, 1)
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opt.LateTimeout)
	a.late.Add(1)
	go func() {
		defer a.late.Done()
		defer cancel()
		reply := a.h.Handle(hctx, msg)
		if state.CompareAndSwap(running, inTime) {
			done <- reply
			return
		}
		if claim.Lost() {
			log.Info("WeChat delivery was handled by another attempt; this one's answer dropped")
		} else {
			a.deliverLate(hctx, log, req, reply, suffix)
		}
		a.finish(hctx, log, req.key)
	}()
	answer := func(reply bot.Reply) string {
		if claim.Lost() {
			log.Info("WeChat delivery was handled by another attempt; this one's answer dropped")
			return ""
		}
		return withSuffix(bot.PlainText(reply.Content), suffix)
	}
	timer := time.NewTimer(time.Until(req.start.Add(a.opt.Deadline)))
	defer timer.Stop()
	select {
	case reply := <-done:
		return answer(reply), false
	case <-timer.C:
		if state.CompareAndSwap(running, tooLate) {
			log.Warn("WeChat handler missed the deadline; answering later as a 客服消息", "deadline", a.opt.Deadline)
			return "", true
		}
		return answer(<-done), false
	}
}

func (a *Adapter) deliverLate(ctx context.Context, log *slog.Logger, req request, reply bot.Reply, suffix string) {
	text := withSuffix(bot.PlainText(reply.Content), suffix)
	if text == "" {
		return
	}
	// Not under the delivery claim: the answer is keyed by the delivery
	// already, and a handler without an effect must still be answered.
	err := a.st.Enqueue(domain.WithDelivery(ctx, nil), domain.Outgoing{
		Platform:  domain.PlatformWeChat,
		Kind:      domain.OutPost,
		To:        req.msg.FromUserName,
		Content:   domain.Content{Text: text},
		DedupeKey: "wechat-late:" + req.key,
	})
	if err != nil {
		log.Error("Could not queue late WeChat answer", "err", err)
		return
	}
	if a.opt.Wake != nil {
		a.opt.Wake()
	}
}

func withSuffix(text, suffix string) string {
	switch {
	case suffix == "":
		return text
	case text == "":
		return suffix
	}
	return text + "\n\n" + suffix
}
