package wechat

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/domain"
)

// WeChat API error codes opsbot acts on.
const (
	CodeSystemBusy        = -1
	CodeInvalidCredential = 40001 // access token invalid or not the latest
	CodeInvalidOpenID     = 40003
	CodeInvalidToken      = 40014
	CodeInvalidTemplateID = 40037
	CodeTokenExpired      = 42001
	CodeUnsubscribed      = 43004
	CodeAPILimit          = 45009 // daily API quota reached
	CodeWindowClosed      = 45015 // 48-hour 客服消息 window closed
	CodeOutOfQuota        = 45047 // too many 客服消息 for this customer message
	CodeIPNotAllowed      = 40164 // caller not on the API IP allow-list
	CodeTemplateArgs      = 47003
	CodeUnauthorized      = 48001 // the account lacks this API
	CodeNoMsgMenu         = 40200 // msgmenu not supported (test accounts)
)

// Errors that API failures unwrap to, for errors.Is.
var (
	ErrBusy          = errors.New("wechat: system busy")
	ErrTokenInvalid  = errors.New("wechat: access token invalid or expired")
	ErrUnsubscribed  = errors.New("wechat: customer unfollowed the account")
	ErrAPILimit      = errors.New("wechat: API daily quota reached")
	ErrWindowClosed  = errors.New("wechat: 48-hour conversation window closed")
	ErrOutOfQuota    = errors.New("wechat: message allowance for this conversation used up")
	ErrRejected      = errors.New("wechat: request rejected")
	ErrIPNotAllowed  = errors.New("wechat: this server's IP is not on the account's API allow-list")
	errUnknownAPIErr = errors.New("wechat: API error")
)

// APIError is a WeChat API failure with its errcode. silenceper reports
// these as plain strings ("errcode=45015 , errmsg=…"); asAPIError parses
// them at the adapter boundary.
type APIError struct {
	Op   string // what opsbot was doing: "send 客服消息"
	Code int
	Msg  string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("wechat: %s: errcode=%d errmsg=%s", e.Op, e.Code, e.Msg)
}

// Unwrap returns the sentinel error for the code, for errors.Is.
func (e *APIError) Unwrap() error {
	switch e.Code {
	case CodeSystemBusy:
		return ErrBusy
	case CodeInvalidCredential, CodeInvalidToken, CodeTokenExpired:
		return ErrTokenInvalid
	case CodeUnsubscribed:
		return ErrUnsubscribed
	case CodeAPILimit:
		return ErrAPILimit
	case CodeWindowClosed:
		return ErrWindowClosed
	case CodeOutOfQuota:
		return ErrOutOfQuota
	case CodeIPNotAllowed:
		return ErrIPNotAllowed
	case CodeInvalidOpenID, CodeInvalidTemplateID, CodeTemplateArgs, CodeUnauthorized:
		return ErrRejected
	}
	return errUnknownAPIErr
}

var (
	errcodeRe     = regexp.MustCompile(`errcode\s*[=:]\s*(-?\d+)`)
	errmsgRe      = regexp.MustCompile(`(?:errmsg|errormsg)\s*[=:]\s*(.*)$`)
	accessTokenRe = regexp.MustCompile(`access_token=[^&\s"]*`)
)

// asAPIError turns a silenceper error into an *APIError when it carries an
// errcode, and otherwise returns it with any access token scrubbed from
// its text (silenceper puts request URLs into HTTP errors).
func asAPIError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	s := scrub(err.Error())
	if m := errcodeRe.FindStringSubmatch(s); m != nil {
		code, convErr := strconv.Atoi(m[1])
		if convErr == nil && code != 0 {
			msg := ""
			if mm := errmsgRe.FindStringSubmatch(s); mm != nil {
				msg = mm[1]
			}
			return &APIError{Op: op, Code: code, Msg: msg}
		}
	}
	if s != err.Error() {
		return fmt.Errorf("wechat: %s: %s", op, s)
	}
	return fmt.Errorf("wechat: %s: %w", op, err)
}

func scrub(s string) string { return accessTokenRe.ReplaceAllString(s, "access_token=***") }

// apiLimitWait is how long to hold back after WeChat's daily quota is hit.
const apiLimitWait = 15 * time.Minute

// classify gives the dispatcher its retry decision for an API failure
// that has no better fallback: permanent when trying again cannot help,
// a wait for quota limits, transient otherwise.
func classify(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err // network and HTTP failures: transient
	}
	reason := strconv.Itoa(ae.Code)
	switch {
	case errors.Is(err, ErrAPILimit):
		return &domain.SendError{RetryAfter: apiLimitWait, Reason: reason + "_api_limit", Err: err}
	case errors.Is(err, ErrUnsubscribed):
		return domain.Permanent(reason+"_unsubscribed", err)
	case errors.Is(err, ErrWindowClosed):
		return domain.Permanent(reason+"_window_closed", err)
	case errors.Is(err, ErrOutOfQuota):
		return domain.Permanent(reason+"_out_of_quota", err)
	case errors.Is(err, ErrRejected):
		return domain.Permanent(reason+"_rejected", err)
	}
	// System busy, token trouble that one refresh did not cure, the IP
	// allow-list, unknown codes: worth another try later.
	return &domain.SendError{Reason: reason, Err: err}
}
