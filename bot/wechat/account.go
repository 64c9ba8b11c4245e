package wechat

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/credential"
	"github.com/silenceper/wechat/v2/officialaccount"
	"github.com/silenceper/wechat/v2/officialaccount/config"
	"github.com/silenceper/wechat/v2/util"

	"github.com/opsbot/opsbot/domain"
)

// Account is what the Official Account is configured with.
type Account struct {
	AppID          string
	AppSecret      string
	Token          string // the server token set in the account's console
	EncodingAESKey string // 43 characters; empty for plaintext mode
}

// NewOfficialAccount builds silenceper's client for the account: the
// stable-token API (which does not invalidate tokens other replicas hold)
// with tokens kept in c, which should be shared by every replica (a
// TokenCache). The root package github.com/silenceper/wechat/v2 is
// deliberately not used: its init sets logrus to Debug, and the server
// then logs customers' messages.
func NewOfficialAccount(acc Account, c cache.Cache) *officialaccount.OfficialAccount {
	return officialaccount.NewOfficialAccount(&config.Config{
		AppID:          acc.AppID,
		AppSecret:      acc.AppSecret,
		Token:          acc.Token,
		EncodingAESKey: acc.EncodingAESKey,
		Cache:          c,
		UseStableAK:    true,
	})
}

// tokenKey is where silenceper's stable-token handle caches the token;
// deleting it makes the next call fetch a fresh one.
func tokenKey(appID string) string {
	return credential.CacheKeyOfficialAccountPrefix + "_stable_access_token_" + appID
}

// apiHost is the official API host that silenceper hard-codes.
const apiHost = "https://api.weixin.qq.com"

// ConfigureAPI sets up silenceper's process-global HTTP settings: every
// API call gets a timeout (silenceper passes no context to most calls),
// and, when base is not empty, calls go to base instead of the official
// host (WECHAT_API_URL; a test server). Call it once at start, before any
// API call; it is not safe to change while calls are in flight.
func ConfigureAPI(base string, timeout time.Duration) {
	if timeout > 0 {
		util.DefaultHTTPClient = &http.Client{Timeout: timeout}
	}
	if base == "" {
		util.SetURIModifier(nil)
		return
	}
	base = strings.TrimRight(base, "/")
	util.SetURIModifier(func(uri string) string {
		if rest, ok := strings.CutPrefix(uri, apiHost); ok {
			return base + rest
		}
		return uri
	})
}

// TokenStore keeps cached values where every replica sees them.
type TokenStore interface {
	WeChatCacheGet(ctx context.Context, key string) (string, error)
	WeChatCacheSet(ctx context.Context, key, value string, ttl time.Duration) error
	WeChatCacheDelete(ctx context.Context, key string) error
}

// TokenCache is silenceper's cache.Cache on a TokenStore (Postgres), so
// all replicas share one access token instead of fetching their own.
type TokenCache struct {
	Store TokenStore
	Log   *slog.Logger
}

const cacheTimeout = 5 * time.Second

// Get returns the cached string, or nil when there is none (or the
// database cannot be reached: silenceper then fetches a token).
func (c TokenCache) Get(key string) any {
	ctx, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	v, err := c.Store.WeChatCacheGet(ctx, key)
	if err != nil {
		if !errors.Is(err, domain.ErrNotFound) && c.Log != nil {
			c.Log.Warn("WeChat token cache read failed", "err", err)
		}
		return nil
	}
	return v
}

// Set stores a string for timeout.
func (c TokenCache) Set(key string, val any, timeout time.Duration) error {
	s, ok := val.(string)
	if !ok {
		return errors.New("wechat: token cache holds strings only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	return c.Store.WeChatCacheSet(ctx, key, s, timeout)
}

// IsExist reports whether key holds an unexpired value.
func (c TokenCache) IsExist(key string) bool { return c.Get(key) != nil }

// Delete forgets key.
func (c TokenCache) Delete(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cacheTimeout)
	defer cancel()
	return c.Store.WeChatCacheDelete(ctx, key)
}
