package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // OPSBOT_TIMEZONE works on machines without zoneinfo

	"github.com/opsbot/opsbot/bot"
)

// Config is opsbot's whole configuration, read once from the environment.
type Config struct {
	DatabaseURL string
	Addr        string
	// MetricsAddr, when set, serves /metrics there instead of on Addr,
	// so that it need not be public with the webhooks.
	MetricsAddr        string
	DataDir            string
	TimezoneName       string
	Location           *time.Location
	LogLevel           slog.Level
	LogFormat          string
	Admins             []string
	DBMaxConns         int
	DBStatementTimeout time.Duration
	DispatchWorkers    int
	// ComplaintsPerDay is how many complaints one WeChat customer may
	// file a day (OPSBOT_COMPLAINTS_PER_DAY, default 5).
	ComplaintsPerDay int
	// IngestSecret signs the shop's pushes to /ingest/*; empty turns
	// the intake off.
	IngestSecret string

	Slack  SlackConfig
	WeChat WeChatConfig

	// Schedule returns the schedule the environment sets for a job
	// (OPSBOT_SCHEDULE_<JOB>), or "".
	Schedule func(job string) string
}

// SlackConfig configures the Slack adapter; without a bot token it is off.
type SlackConfig struct {
	BotToken          string
	SigningSecret     string
	AppToken          string
	APIURL            string
	ComplaintsChannel string
	ManagersChannel   string
	CampaignsChannel  string
}

// WeChatConfig configures the Official Account adapter; without an app ID
// it is off.
type WeChatConfig struct {
	AppID          string
	AppSecret      string
	Token          string
	EncodingAESKey string
	APIURL         string
	// Templates maps notice kinds to template IDs (WECHAT_TEMPLATES,
	// "kind=TEMPLATE_ID,kind2=TEMPLATE_ID2"), used outside the 48-hour
	// window.
	Templates map[string]string
	// Subscriptions maps notice kinds to subscription-notice templates
	// (WECHAT_SUBSCRIBE_TEMPLATES, "campaign=TEMPLATE_ID[/field]"): how a
	// campaign notice reaches opted-in customers outside the window.
	Subscriptions map[string]string
}

// Enabled reports whether Slack credentials are configured.
func (c SlackConfig) Enabled() bool { return c.BotToken != "" }

// Enabled reports whether WeChat credentials are configured.
func (c WeChatConfig) Enabled() bool { return c.AppID != "" }

// loadConfig reads the configuration through getenv. Every problem is
// reported, each naming its variable and what it expects.
func loadConfig(getenv func(string) string) (Config, error) {
	var errs []error
	bad := func(name, want, got string) {
		errs = append(errs, fmt.Errorf("%s: expected %s, got %q", name, want, got))
	}
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Schedule:     func(job string) string { return get(scheduleVar(job), "") },
		DatabaseURL:  get("DATABASE_URL", ""),
		IngestSecret: get("OPSBOT_INGEST_SECRET", ""),
		Addr:         get("OPSBOT_ADDR", ":8080"),
		MetricsAddr:  get("OPSBOT_METRICS_ADDR", ""),
		DataDir:      get("OPSBOT_DATA_DIR", defaultDataDir(getenv)),
		TimezoneName: get("OPSBOT_TIMEZONE", "Asia/Shanghai"),
		LogFormat:    get("OPSBOT_LOG_FORMAT", "text"),
		Slack: SlackConfig{
			BotToken:          get("SLACK_BOT_TOKEN", ""),
			SigningSecret:     get("SLACK_SIGNING_SECRET", ""),
			AppToken:          get("SLACK_APP_TOKEN", ""),
			APIURL:            get("SLACK_API_URL", ""),
			ComplaintsChannel: get("SLACK_COMPLAINTS_CHANNEL", ""),
			ManagersChannel:   get("SLACK_MANAGERS_CHANNEL", ""),
			CampaignsChannel:  get("SLACK_CAMPAIGNS_CHANNEL", ""),
		},
		WeChat: WeChatConfig{
			AppID:          get("WECHAT_APP_ID", ""),
			AppSecret:      get("WECHAT_APP_SECRET", ""),
			Token:          get("WECHAT_TOKEN", ""),
			EncodingAESKey: get("WECHAT_ENCODING_AES_KEY", ""),
			APIURL:         get("WECHAT_API_URL", ""),
		},
	}
	if u := c.DatabaseURL; u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		bad("DATABASE_URL", "a postgres:// URL", "(hidden)")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		bad("OPSBOT_ADDR", "host:port such as :8080 or 127.0.0.1:8080", c.Addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("OPSBOT_ADDR", "a port number up to 65535, such as :8080", c.Addr)
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			bad("OPSBOT_METRICS_ADDR", "host:port such as 127.0.0.1:9090, or unset to serve /metrics on OPSBOT_ADDR", c.MetricsAddr)
		} else if c.MetricsAddr == c.Addr && port != "0" {
			bad("OPSBOT_METRICS_ADDR", "an address other than OPSBOT_ADDR", c.MetricsAddr)
		}
	}
	if !filepath.IsAbs(c.DataDir) {
		bad("OPSBOT_DATA_DIR", "an absolute path", c.DataDir)
	}
	loc, err := time.LoadLocation(c.TimezoneName)
	if err != nil || c.TimezoneName == "Local" {
		bad("OPSBOT_TIMEZONE", "an IANA time zone such as Asia/Shanghai", c.TimezoneName)
	}
	c.Location = loc
	lvl := get("OPSBOT_LOG_LEVEL", "info")
	if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
		bad("OPSBOT_LOG_LEVEL", "debug, info, warn or error", lvl)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("OPSBOT_LOG_FORMAT", "text or json", c.LogFormat)
	}
	if a := get("OPSBOT_ADMINS", ""); a != "" {
		for _, id := range strings.Split(a, ",") {
			id = strings.TrimSpace(id)
			if id == "" || strings.ContainsAny(id, " \t<>@") {
				bad("OPSBOT_ADMINS", "comma-separated Slack user IDs such as U024BE7LH,U0G9QF9C6", a)
				break
			}
			c.Admins = append(c.Admins, id)
		}
	}
	c.DBMaxConns = 10
	if v := get("OPSBOT_DB_MAX_CONNS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n > 500 {
			bad("OPSBOT_DB_MAX_CONNS", "a whole number from 2 to 500", v)
		}
		c.DBMaxConns = n
	}
	c.DispatchWorkers = bot.DefaultWorkers
	if v := get("OPSBOT_DISPATCH_WORKERS", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			bad("OPSBOT_DISPATCH_WORKERS", "a whole number from 1 to 256", v)
		}
		c.DispatchWorkers = n
	}
	c.ComplaintsPerDay = 5
	if v := get("OPSBOT_COMPLAINTS_PER_DAY", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			bad("OPSBOT_COMPLAINTS_PER_DAY", "a whole number from 1 to 1000", v)
		}
		c.ComplaintsPerDay = n
	}
	c.DBStatementTimeout = 10 * time.Second
	if v := get("OPSBOT_DB_STATEMENT_TIMEOUT", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond {
			bad("OPSBOT_DB_STATEMENT_TIMEOUT", "a duration of at least 100ms, such as 10s", v)
		}
		c.DBStatementTimeout = d
	}

	s := c.Slack
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xoxb-") {
		bad("SLACK_BOT_TOKEN", "a bot token starting with xoxb-", mask(s.BotToken))
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		bad("SLACK_APP_TOKEN", "an app-level token starting with xapp-", mask(s.AppToken))
	}
	if s.BotToken != "" && s.AppToken == "" && s.SigningSecret == "" {
		bad("SLACK_SIGNING_SECRET", "the app's signing secret (needed over HTTP; or set SLACK_APP_TOKEN for Socket Mode)", "")
	}
	if s.BotToken == "" && (s.AppToken != "" || s.SigningSecret != "") {
		bad("SLACK_BOT_TOKEN", "a bot token, since other SLACK_ variables are set", "")
	}
	if s.APIURL != "" && !strings.HasPrefix(s.APIURL, "http") {
		bad("SLACK_API_URL", "an http(s) URL ending in /", s.APIURL)
	}
	for name, v := range map[string]string{
		"SLACK_COMPLAINTS_CHANNEL": s.ComplaintsChannel, "SLACK_MANAGERS_CHANNEL": s.ManagersChannel,
		"SLACK_CAMPAIGNS_CHANNEL": s.CampaignsChannel,
	} {
		if v != "" && (strings.ContainsAny(v, " #") || len(v) < 2) {
			bad(name, "a channel ID such as C024BE91L", v)
		}
	}

	w := c.WeChat
	if w.AppID != "" {
		if w.AppSecret == "" {
			bad("WECHAT_APP_SECRET", "the Official Account's AppSecret, since WECHAT_APP_ID is set", "")
		}
		if w.Token == "" {
			bad("WECHAT_TOKEN", "the server token configured in the Official Account, since WECHAT_APP_ID is set", "")
		}
	} else if w.AppSecret != "" || w.Token != "" || w.EncodingAESKey != "" {
		bad("WECHAT_APP_ID", "the Official Account's AppID, since other WECHAT_ variables are set", "")
	}
	if k := w.EncodingAESKey; k != "" && len(k) != 43 {
		bad("WECHAT_ENCODING_AES_KEY", "43 characters", mask(k))
	}
	if w.APIURL != "" && !strings.HasPrefix(w.APIURL, "http") {
		bad("WECHAT_API_URL", "an http(s) URL", w.APIURL)
	}
	if v := get("WECHAT_TEMPLATES", ""); v != "" {
		c.WeChat.Templates = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			kind, id, ok := strings.Cut(strings.TrimSpace(pair), "=")
			kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
			if !ok || kind == "" || id == "" || strings.ContainsAny(id, " \t") {
				bad("WECHAT_TEMPLATES", "comma-separated kind=TEMPLATE_ID pairs such as complaint_update=Xyz123", v)
				break
			}
			c.WeChat.Templates[kind] = id
		}
	}
	if v := get("WECHAT_SUBSCRIBE_TEMPLATES", ""); v != "" {
		c.WeChat.Subscriptions = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			kind, id, ok := strings.Cut(strings.TrimSpace(pair), "=")
			kind, id = strings.TrimSpace(kind), strings.TrimSpace(id)
			if !ok || kind == "" || id == "" || strings.ContainsAny(id, " \t") || strings.HasPrefix(id, "/") {
				bad("WECHAT_SUBSCRIBE_TEMPLATES", "comma-separated kind=TEMPLATE_ID[/field] pairs such as campaign=Abc123/thing1", v)
				break
			}
			c.WeChat.Subscriptions[kind] = id
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %w", errors.Join(errs...))
	}
	return c, nil
}

// defaultDataDir is where local state lives: /var/lib/opsbot for root (a
// service account's usual place, and reachable by the postgres user), the
// user's data directory otherwise.
func defaultDataDir(getenv func(string) string) string {
	if os.Geteuid() == 0 {
		return "/var/lib/opsbot"
	}
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "opsbot")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "opsbot")
	}
	return filepath.Join(os.TempDir(), "opsbot")
}

// mask hides a secret. It keeps only a Slack token's kind prefix
// ("xoxb-", "xapp-"), which says which token it is without giving any of
// it away; signing secrets, app secrets and AES keys show nothing.
func mask(s string) string {
	if s == "" {
		return ""
	}
	if kind, _, ok := strings.Cut(s, "-"); ok && len(kind) == 4 && strings.HasPrefix(kind, "x") &&
		strings.Trim(kind, "abcdefghijklmnopqrstuvwxyz") == "" {
		return kind + "-****"
	}
	return "****"
}

// LogValue prints the configuration with secrets masked.
func (c Config) LogValue() slog.Value {
	db := "embedded (" + filepath.Join(c.DataDir, "postgres") + ")"
	if c.DatabaseURL != "" {
		db = redactURL(c.DatabaseURL)
	}
	return slog.GroupValue(
		slog.String("database", db),
		slog.String("addr", c.Addr),
		slog.String("metrics_addr", c.MetricsAddr),
		slog.String("data_dir", c.DataDir),
		slog.String("timezone", c.TimezoneName),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.Any("admins", c.Admins),
		slog.Int("db_max_conns", c.DBMaxConns),
		slog.Duration("db_statement_timeout", c.DBStatementTimeout),
		slog.Int("dispatch_workers", c.DispatchWorkers),
		slog.Int("complaints_per_day", c.ComplaintsPerDay),
		slog.String("ingest_secret", mask(c.IngestSecret)),
		slog.Group("slack",
			slog.Bool("enabled", c.Slack.Enabled()),
			slog.String("mode", c.slackMode()),
			slog.String("bot_token", mask(c.Slack.BotToken)),
			slog.String("signing_secret", mask(c.Slack.SigningSecret)),
			slog.String("app_token", mask(c.Slack.AppToken)),
			slog.String("api_url", c.Slack.APIURL),
			slog.String("complaints_channel", c.Slack.ComplaintsChannel),
			slog.String("managers_channel", c.Slack.ManagersChannel),
			slog.String("campaigns_channel", c.Slack.CampaignsChannel)),
		slog.Group("wechat",
			slog.Bool("enabled", c.WeChat.Enabled()),
			slog.String("app_id", c.WeChat.AppID),
			slog.String("app_secret", mask(c.WeChat.AppSecret)),
			slog.String("token", mask(c.WeChat.Token)),
			slog.String("encoding_aes_key", mask(c.WeChat.EncodingAESKey)),
			slog.String("api_url", c.WeChat.APIURL),
			slog.Any("templates", c.WeChat.Templates), slog.Any("subscription_templates", c.WeChat.Subscriptions)),
	)
}

func (c Config) slackMode() string {
	switch {
	case !c.Slack.Enabled():
		return "off"
	case c.Slack.AppToken != "":
		return "socket"
	default:
		return "http"
	}
}

// redactURL hides the password of a database URL, in the user part or
// in a password= parameter.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "****")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "****")
		u.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A%2A", "****")
}
