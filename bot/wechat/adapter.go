package wechat

import (
	"context"
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
	// FirstDelivery records a delivery and reports whether it is new.
	FirstDelivery(ctx context.Context, platform domain.Platform, key string) (bool, error)
	// WeChatFirstMessage is FirstDelivery for a customer's message or
	// click, restarting their conversation window in the same statement.
	WeChatFirstMessage(ctx context.Context, key, openID string, at time.Time, allowance int) (bool, error)
	SaveResponse(ctx context.Context, platform domain.Platform, key, response string) error
	Response(ctx context.Context, platform domain.Platform, key string) (string, bool, error)
	// TakeOverDelivery claims a delivery recorded more than stale ago and
	// never answered: its first try died with the process handling it.
	TakeOverDelivery(ctx context.Context, platform domain.Platform, key string, stale time.Duration) (bool, error)
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
	// RetryWait is how long a retry waits for the first try's answer
	// before saying "success". Default 3.5 s.
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
		a.opt.RetryWait = 3500 * time.Millisecond
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
// get the first reply again.
func (a *Adapter) answer(w http.ResponseWriter, r *http.Request, req request) {
	// Once a delivery is being recorded, WeChat hanging up must not stop
	// the work half-way: the record would say "seen" with no answer.
	// Every step below has its own bound.
	ctx := context.WithoutCancel(r.Context())
	log := a.log.With("wechat_key", req.key, "msg_type", req.msg.MsgType)
	rctx, rcancel := context.WithTimeout(ctx, a.opt.Deadline)
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
		body, ok := a.savedResponse(r.Context(), req.key, req.start)
		if !ok {
			a.takeOver(ctx, log, req)
		}
		a.writeBody(w, body)
		return
	}
	text := a.process(ctx, log, req)
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
	if err := a.st.SaveResponse(sctx, domain.PlatformWeChat, req.key, body); err != nil {
		log.Error("Could not save WeChat reply for retries", "err", err)
	}
	a.writeBody(w, body)
}

// record records the delivery, and for a customer's message or menu
// click their activity too: every one reopens the 48-hour window, and
// must have done so before any answer is sent.
func (a *Adapter) record(ctx context.Context, req request) (bool, error) {
	m := req.msg
	switch {
	case m.MsgType != "event":
		return a.st.WeChatFirstMessage(ctx, req.key, m.FromUserName, a.opt.Now(), allowancePerMessage)
	case m.Event == "CLICK":
		return a.st.WeChatFirstMessage(ctx, req.key, m.FromUserName, a.opt.Now(), allowancePerEvent)
	}
	return a.st.FirstDelivery(ctx, domain.PlatformWeChat, req.key)
}

// savedResponse waits, within RetryWait of start, for the first try's
// answer; when it has none yet, "success" (WeChat accepts it, and the
// first try delivers its answer as a 客服消息 if it runs late).
func (a *Adapter) savedResponse(ctx context.Context, key string, start time.Time) (string, bool) {
	deadline := start.Add(a.opt.RetryWait)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	wait := 5 * time.Millisecond
	for {
		resp, ok, err := a.st.Response(ctx, domain.PlatformWeChat, key)
		if err == nil && ok {
			return resp, true
		}
		if err != nil && !errors.Is(err, domain.ErrNotFound) {
			a.log.Warn("Could not read saved WeChat reply", "wechat_key", key, "err", err)
		}
		if time.Now().Add(wait).After(deadline) {
			return success, false
		}
		select {
		case <-ctx.Done():
			return success, false
		case <-time.After(wait):
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// takeOver handles a retry whose first try never answered. A live first
// try saves an answer ("success" at worst) by its deadline, so a delivery
// still unanswered well after that was being handled by a process that
// died: this retry processes it instead, answering WeChat "success" and
// the customer as a 客服消息, so a crash loses no message.
func (a *Adapter) takeOver(ctx context.Context, log *slog.Logger, req request) {
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	won, err := a.st.TakeOverDelivery(tctx, domain.PlatformWeChat, req.key, a.opt.Deadline+2*time.Second)
	cancel()
	if err != nil || !won {
		return
	}
	log.Warn("WeChat delivery was never answered; its first try died. Processing it now")
	req.start = time.Now().Add(-a.opt.Deadline) // out of time already: answer later
	if text := a.process(ctx, log, req); text != "" {
		a.deliverLate(ctx, log, req, bot.Text(text), "")
	}
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	if err := a.st.SaveResponse(sctx, domain.PlatformWeChat, req.key, success); err != nil {
		log.Error("Could not save WeChat reply for retries", "err", err)
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

// process does what a message asks and returns the passive reply ("" for
// none).
func (a *Adapter) process(ctx context.Context, log *slog.Logger, req request) string {
	m := req.msg
	openID := m.FromUserName
	at := a.opt.Now()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if m.MsgType != "event" {
		if m.MsgType != "text" {
			return TextOnly
		}
		text, truncated := Normalize(m.Content)
		suffix := ""
		if truncated {
			suffix = Truncated
		}
		return a.route(ctx, log, req, text, suffix)
	}
	switch m.Event {
	case "subscribe":
		if err := a.st.WeChatSubscribe(dctx, openID, at, allowancePerEvent); err != nil {
			log.Error("Could not record WeChat follower", "err", err)
		}
		return a.opt.Welcome
	case "unsubscribe":
		if err := a.st.WeChatUnsubscribe(dctx, openID, at); err != nil {
			log.Error("Could not record WeChat unfollow", "err", err)
		}
		return ""
	case "CLICK":
		return a.route(ctx, log, req, clickCommand(m.EventKey), "")
	}
	return "" // VIEW, LOCATION, template receipts…: nothing to say
}

// Handler states for the deadline race.
const (
	running int32 = iota
	inTime
	tooLate
)

// route hands text to the bot core and waits up to the deadline. A late
// answer goes to the outbox as a 客服消息 when it comes; the caller answers
// WeChat with "success" meanwhile.
func (a *Adapter) route(ctx context.Context, log *slog.Logger, req request, text, suffix string) string {
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
		a.deliverLate(hctx, log, req, reply, suffix)
	}()
	timer := time.NewTimer(time.Until(req.start.Add(a.opt.Deadline)))
	defer timer.Stop()
	select {
	case reply := <-done:
		return withSuffix(bot.PlainText(reply.Content), suffix)
	case <-timer.C:
		if state.CompareAndSwap(running, tooLate) {
			log.Warn("WeChat handler missed the deadline; answering later as a 客服消息", "deadline", a.opt.Deadline)
			return ""
		}
		return withSuffix(bot.PlainText((<-done).Content), suffix)
	}
}

func (a *Adapter) deliverLate(ctx context.Context, log *slog.Logger, req request, reply bot.Reply, suffix string) {
	text := withSuffix(bot.PlainText(reply.Content), suffix)
	if text == "" {
		return
	}
	err := a.st.Enqueue(ctx, domain.Outgoing{
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
