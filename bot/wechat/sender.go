package wechat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/opsbot/opsbot/bot"
	"github.com/opsbot/opsbot/domain"
)

// SenderStore is what the sender needs from the database.
type SenderStore interface {
	WeChatTakeAllowance(ctx context.Context, openID string, now time.Time) (domain.Follower, bool, error)
	WeChatReturnAllowance(ctx context.Context, openID string) error
	WeChatCloseWindow(ctx context.Context, openID string) error
	WeChatUnsubscribe(ctx context.Context, openID string, at time.Time) error
	Enqueue(ctx context.Context, msgs ...domain.Outgoing) error
}

// api is the part of WeChat's API the sender uses, behind silenceper.
type api interface {
	sendText(openID, text string) error
	sendMenu(openID, head string, choices []string) error
	sendTemplate(tm *message.TemplateMessage) (int64, error)
	sendSubscribe(sm *message.SubscribeMessage) error
	refreshToken() error
}

// oaAPI holds the silenceper managers, made once: their lazy getters on
// OfficialAccount are not safe for concurrent use.
type oaAPI struct {
	oa        *officialaccount.OfficialAccount
	custom    *message.Manager
	template  *message.Template
	subscribe *message.Subscribe
}

func newOAAPI(oa *officialaccount.OfficialAccount) oaAPI {
	return oaAPI{oa: oa, custom: oa.GetCustomerMessageManager(), template: oa.GetTemplate(), subscribe: oa.GetSubscribe()}
}

func (o oaAPI) sendSubscribe(sm *message.SubscribeMessage) error {
	return o.subscribe.Send(sm)
}

func (o oaAPI) sendText(openID, text string) error {
	return o.custom.Send(message.NewCustomerTextMessage(openID, text))
}

// sendMenu sends a 客服消息 msgmenu: the question with tappable choices,
// each tap arriving as a text message with the choice's text.
func (o oaAPI) sendMenu(openID, head string, choices []string) error {
	items := make([]message.MsgmenuItem, len(choices))
	for i, c := range choices {
		items[i] = message.MsgmenuItem{ID: strconv.Itoa(i + 1), Content: c}
	}
	return o.custom.Send(&message.CustomerMessage{ToUser: openID, Msgtype: "msgmenu",
		Msgmenu: &message.MediaMsgmenu{HeadContent: head, List: items}})
}

func (o oaAPI) sendTemplate(tm *message.TemplateMessage) (int64, error) {
	return o.template.Send(tm)
}

func (o oaAPI) refreshToken() error {
	c := o.oa.GetContext()
	return c.Cache.Delete(tokenKey(c.AppID))
}

// SenderOptions configure the sender.
type SenderOptions struct {
	// Templates maps notice kinds (domain.Outgoing.Template) to the
	// account's template IDs, for messages outside the 48-hour window.
	// Marketing (campaign notices) never goes as a template message.
	Templates map[string]string
	// Subscriptions maps notice kinds to subscription-notice (订阅通知)
	// templates, "TEMPLATE_ID" or "TEMPLATE_ID/field" (the field that
	// carries the text, default thing1): the compliant route for a
	// campaign notice outside the window, to customers who subscribed.
	Subscriptions map[string]string
	// Agents is where staff are told about customers who could not be
	// reached: a channel ID or logical name ("#complaints") on
	// AgentsPlatform (default Slack; without Slack credentials the
	// dispatcher's fallback shows it in the log or terminal).
	Agents         string
	AgentsPlatform domain.Platform
	Now            func() time.Time
	Log            *slog.Logger
}

// Sender delivers the outbox to WeChat customers: a 客服消息 while the
// customer's 48-hour window is open and the allowance lasts; outside it a
// template message when one is configured for the kind of notice;
// otherwise the message fails for good and the agents are told, so that a
// person follows up another way.
type Sender struct {
	api api
	st  SenderStore
	opt SenderOptions
	log *slog.Logger
}

// NewSender returns the outbox sender for oa (see NewOfficialAccount).
func NewSender(oa *officialaccount.OfficialAccount, st SenderStore, opt SenderOptions) *Sender {
	if opt.AgentsPlatform == "" {
		opt.AgentsPlatform = domain.PlatformSlack
	}
	if opt.Agents == "" {
		opt.Agents = "#complaints"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{api: newOAAPI(oa), st: st, opt: opt, log: log}
}

// Send implements bot.Sender.
func (s *Sender) Send(ctx context.Context, it domain.OutboxItem) (domain.Delivery, error) {
	if it.Kind != domain.OutPost && it.Kind != domain.OutDM {
		return domain.Delivery{}, domain.Permanent("unsupported_kind",
			fmt.Errorf("wechat: cannot %s a message to a customer", it.Kind))
	}
	text := strings.TrimSpace(bot.PlainText(it.Content))
	if text == "" {
		return domain.Delivery{}, domain.Permanent("empty", errors.New("wechat: nothing to send"))
	}
	log := s.log.With("outbox_id", it.ID)
	f, ok, err := s.st.WeChatTakeAllowance(ctx, it.To, s.opt.Now())
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return domain.Delivery{}, err
	}
	if known && !f.Subscribed {
		return s.undeliverable(ctx, it, strconv.Itoa(CodeUnsubscribed)+"_unsubscribed",
			"the customer has unfollowed the Official Account", ErrUnsubscribed)
	}
	if ok {
		err := s.sendKF(it, text)
		switch {
		case err == nil:
			return domain.Delivery{Channel: it.To, TS: "kf-" + strconv.FormatInt(it.ID, 10)}, nil
		case errors.Is(err, ErrWindowClosed), errors.Is(err, ErrOutOfQuota):
			// Our count disagreed with WeChat's: believe WeChat and fall
			// back as for a closed window.
			log.Info("WeChat refused the 客服消息; trying the fallback", "err", err)
			if cerr := s.st.WeChatCloseWindow(ctx, it.To); cerr != nil {
				log.Error("Could not record closed WeChat window", "err", cerr)
			}
			return s.outsideWindow(ctx, it, err)
		case errors.Is(err, ErrUnsubscribed):
			s.recordUnsubscribed(ctx, log, it.To)
			return s.undeliverable(ctx, it, strconv.Itoa(CodeUnsubscribed)+"_unsubscribed",
				"the customer has unfollowed the Official Account", err)
		}
		if cerr := classify(err); domain.IsPermanent(cerr) {
			return s.rejected(ctx, it, reasonOf(cerr), "WeChat rejected the message", err)
		}
		// Tried again later: this attempt did not use the allowance.
		if rerr := s.st.WeChatReturnAllowance(ctx, it.To); rerr != nil {
			log.Warn("Could not return WeChat allowance", "err", rerr)
		}
		return domain.Delivery{}, classify(err)
	}
	why := ErrWindowClosed
	if known && f.WindowOpen(s.opt.Now()) {
		why = ErrOutOfQuota
	}
	return s.outsideWindow(ctx, it, why)
}

// sendKF sends a 客服消息: with tappable choices as a msgmenu when the
// content has them, falling back to plain text (the choices as a line)
// where the account does not support menus (40200).
func (s *Sender) sendKF(it domain.OutboxItem, text string) error {
	if len(it.Content.Choices) > 0 {
		c := it.Content
		c.Choices = nil
		head := strings.TrimSpace(bot.PlainText(c))
		err := s.call("send 客服消息 menu", func() error { return s.api.sendMenu(it.To, head, it.Content.Choices) })
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != CodeNoMsgMenu {
			return err
		}
		s.log.Info("WeChat account does not support msgmenu; sending plain text", "outbox_id", it.ID)
	}
	return s.call("send 客服消息", func() error { return s.api.sendText(it.To, text) })
}

// outsideWindow sends a template message when one is configured for the
// notice's kind, and otherwise gives up and tells the agents.
func (s *Sender) outsideWindow(ctx context.Context, it domain.OutboxItem, why error) (domain.Delivery, error) {
	reason, explain := strconv.Itoa(CodeWindowClosed)+"_window_closed", "the 48-hour conversation window is closed"
	if errors.Is(why, ErrOutOfQuota) {
		reason, explain = strconv.Itoa(CodeOutOfQuota)+"_out_of_quota",
			"the messages allowed since the customer last wrote are used up"
	}
	if sub := s.opt.Subscriptions[it.Template]; sub != "" {
		return s.sendSubscription(ctx, it, sub, explain)
	}
	tid := s.opt.Templates[it.Template]
	if it.Purpose == domain.PurposeCampaign {
		tid = "" // marketing by template message gets the account restricted
	}
	if tid == "" {
		if it.Template != "" {
			explain += fmt.Sprintf(" and no template is configured for %q notices", it.Template)
		} else {
			explain += " and this message has no template kind"
		}
		return s.undeliverable(ctx, it, reason, explain, why)
	}
	tm := &message.TemplateMessage{ToUser: it.To, TemplateID: tid, Data: templateData(it.Content),
		ClientMsgID: "opsbot-" + strconv.FormatInt(it.ID, 10)}
	var msgID int64
	err := s.call("send template message", func() error {
		var err error
		msgID, err = s.api.sendTemplate(tm)
		return err
	})
	switch {
	case err == nil:
		return domain.Delivery{Channel: it.To, TS: "tmpl-" + strconv.FormatInt(msgID, 10)}, nil
	case errors.Is(err, ErrUnsubscribed):
		s.recordUnsubscribed(ctx, s.log, it.To)
		return s.undeliverable(ctx, it, strconv.Itoa(CodeUnsubscribed)+"_unsubscribed",
			"the customer has unfollowed the Official Account", err)
	}
	if cerr := classify(err); domain.IsPermanent(cerr) {
		return s.rejected(ctx, it, reasonOf(cerr), explain+", and WeChat rejected the template message", err)
	}
	return domain.Delivery{}, classify(err)
}

// sendSubscription sends a message as a subscription notice (订阅通知):
// the text in the template's text field (at most 20 characters, one line),
// cut where needed.
func (s *Sender) sendSubscription(ctx context.Context, it domain.OutboxItem, sub, explain string) (domain.Delivery, error) {
	tid, field, _ := strings.Cut(sub, "/")
	if field == "" {
		field = "thing1"
	}
	text := it.Content.Title
	if text == "" {
		text = bot.PlainText(it.Content)
	}
	sm := &message.SubscribeMessage{ToUser: it.To, TemplateID: tid,
		Data: map[string]*message.SubscribeDataItem{field: {Value: templateValue(text)}}}
	err := s.call("send subscription notice", func() error { return s.api.sendSubscribe(sm) })
	switch {
	case err == nil:
		return domain.Delivery{Channel: it.To, TS: "sub-" + strconv.FormatInt(it.ID, 10)}, nil
	case errors.Is(err, ErrUnsubscribed):
		s.recordUnsubscribed(ctx, s.log, it.To)
		return s.undeliverable(ctx, it, strconv.Itoa(CodeUnsubscribed)+"_unsubscribed",
			"the customer has unfollowed the Official Account", err)
	}
	if cerr := classify(err); domain.IsPermanent(cerr) {
		// No subscription left for this customer (43101) and the like:
		// out of reach, not an error.
		return s.undeliverable(ctx, it, reasonOf(cerr), explain+", and the subscription notice was refused", err)
	}
	return domain.Delivery{}, classify(err)
}

// call runs an API call, refreshing the access token once when WeChat
// says it is invalid or expired, and parses WeChat's errors.
func (s *Sender) call(op string, f func() error) error {
	err := asAPIError(op, f())
	if errors.Is(err, ErrTokenInvalid) {
		s.log.Info("WeChat access token rejected; refreshing it once", "err", err)
		if rerr := s.api.refreshToken(); rerr != nil {
			return fmt.Errorf("wechat: refresh token: %w", rerr)
		}
		err = asAPIError(op, f())
	}
	if errors.Is(err, ErrIPNotAllowed) {
		s.log.Error("WeChat refused this server's IP: add it to the account's API IP allow-list", "err", err)
	}
	return err
}

func (s *Sender) recordUnsubscribed(ctx context.Context, log *slog.Logger, openID string) {
	if err := s.st.WeChatUnsubscribe(ctx, openID, s.opt.Now()); err != nil {
		log.Error("Could not record WeChat unfollow", "err", err)
	}
}

// undeliverable gives a message up: the customer cannot be reached with
// it. What happens next follows the message's purpose: for a service
// message (a complaint reply) the agents are told, once per message
// however often this runs, so that someone phones the customer; a survey
// or campaign notice is only counted. If the agents cannot be told, the
// failure is transient so that the next attempt tells them.
func (s *Sender) undeliverable(ctx context.Context, it domain.OutboxItem, reason, explain string, cause error) (domain.Delivery, error) {
	out := domain.Unreachable(reason, fmt.Errorf("%s: %w", explain, cause))
	if !it.Purpose.TellAgents() {
		return domain.Delivery{}, out
	}
	excerpt := []rune(bot.PlainText(it.Content))
	if len(excerpt) > 200 {
		excerpt = append(excerpt[:200], '…')
	}
	kind := it.Template
	if kind == "" {
		kind = "(none)"
	}
	notice := domain.Outgoing{
		Platform: s.opt.AgentsPlatform,
		Kind:     domain.OutPost,
		To:       s.opt.Agents,
		Content: domain.Content{
			Title: "Could not reach a WeChat customer",
			Text: fmt.Sprintf("A message to WeChat customer %s was not delivered: %s. "+
				"Please follow up another way (phone, SMS or the app).", it.To, explain),
			Fields: []domain.Field{
				{Label: "Customer (OpenID)", Value: it.To},
				{Label: "Reason", Value: reason},
				{Label: "Notice kind", Value: kind},
				{Label: "Outbox message", Value: strconv.FormatInt(it.ID, 10)},
			},
			Note: "Undelivered text: " + string(excerpt),
		},
		DedupeKey: "wechat-undeliverable:" + strconv.FormatInt(it.ID, 10),
	}
	if err := s.st.Enqueue(ctx, notice); err != nil {
		return domain.Delivery{}, fmt.Errorf("wechat: tell agents about undeliverable message: %w", err)
	}
	s.log.Warn("WeChat message undeliverable; agents told", "outbox_id", it.ID, "reason", reason)
	return domain.Delivery{}, out
}

// rejected is undeliverable for a message WeChat refused: a failure, not
// an unreachable customer.
func (s *Sender) rejected(ctx context.Context, it domain.OutboxItem, reason, explain string, cause error) (domain.Delivery, error) {
	if _, err := s.undeliverable(ctx, it, reason, explain, cause); !domain.IsPermanent(err) {
		return domain.Delivery{}, err
	}
	return domain.Delivery{}, domain.Permanent(reason, fmt.Errorf("%s: %w", explain, cause))
}

func reasonOf(err error) string {
	var se *domain.SendError
	if errors.As(err, &se) {
		return se.Reason
	}
	return "error"
}

// Template fields: at most 20 characters, no line breaks.
const maxTemplateField = 20

var templateKeyRe = regexp.MustCompile(`^[a-z][a-z_]*[0-9]*$`)

// templateData maps content onto a template's fields: Title → first,
// each Field → its Label when that is a template key such as "thing1"
// (else keyword1, keyword2…), or the text as keyword1 when there are no
// fields, and Note → remark.
func templateData(c domain.Content) map[string]*message.TemplateDataItem {
	data := map[string]*message.TemplateDataItem{}
	put := func(k, v string) {
		if v = templateValue(v); v != "" {
			data[k] = &message.TemplateDataItem{Value: v}
		}
	}
	put("first", c.Title)
	for i, f := range c.Fields {
		key := f.Label
		if !templateKeyRe.MatchString(key) {
			key = "keyword" + strconv.Itoa(i+1)
		}
		put(key, f.Value)
	}
	if len(c.Fields) == 0 {
		put("keyword1", c.Text)
	}
	put("remark", c.Note)
	return data
}

func templateValue(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= maxTemplateField {
		return s
	}
	r := []rune(s)
	return string(r[:maxTemplateField-1]) + "…"
}
