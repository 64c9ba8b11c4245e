package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{"OPSBOT_DATA_DIR": "/tmp/opsbot-x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.TimezoneName != "Asia/Shanghai" || c.Location.String() != "Asia/Shanghai" ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || c.DatabaseURL != "" || len(c.Admins) != 0 ||
		c.DBMaxConns != 10 || c.DBStatementTimeout != 10*time.Second || c.Slack.Enabled() || c.WeChat.Enabled() {
		t.Errorf("defaults: %+v", c)
	}
	if d := defaultDataDir(env(nil)); d == "" || d[0] != '/' {
		t.Errorf("default data dir %q", d)
	}
}

func TestLoadConfigValues(t *testing.T) {
	t.Parallel()
	c, err := loadConfig(env(map[string]string{
		"DATABASE_URL":                "postgres://u:p@db:5432/opsbot",
		"OPSBOT_ADDR":                 "127.0.0.1:9090",
		"OPSBOT_DATA_DIR":             "/srv/opsbot",
		"OPSBOT_TIMEZONE":             "Europe/Paris",
		"OPSBOT_LOG_LEVEL":            "DEBUG",
		"OPSBOT_LOG_FORMAT":           "json",
		"OPSBOT_ADMINS":               " U024BE7LH, U0G9QF9C6 ",
		"OPSBOT_DB_MAX_CONNS":         "25",
		"OPSBOT_DB_STATEMENT_TIMEOUT": "3s",
		"SLACK_BOT_TOKEN":             "xoxb-123",
		"SLACK_APP_TOKEN":             "xapp-1-abc",
		"SLACK_COMPLAINTS_CHANNEL":    "C024BE91L",
		"WECHAT_APP_ID":               "wx123",
		"WECHAT_APP_SECRET":           "s",
		"WECHAT_TOKEN":                "t",
		"WECHAT_ENCODING_AES_KEY":     strings.Repeat("k", 43),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9090" || c.Location.String() != "Europe/Paris" || c.LogLevel != slog.LevelDebug ||
		c.LogFormat != "json" || strings.Join(c.Admins, ",") != "U024BE7LH,U0G9QF9C6" || c.DBMaxConns != 25 ||
		c.DBStatementTimeout != 3*time.Second || !c.Slack.Enabled() || c.slackMode() != "socket" || !c.WeChat.Enabled() {
		t.Errorf("values: %+v", c)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	t.Parallel()
	base := map[string]string{"OPSBOT_DATA_DIR": "/tmp/opsbot-x"}
	cases := []struct {
		env  map[string]string
		want []string // the variable, and what it expects
	}{
		{map[string]string{"DATABASE_URL": "mysql://root:hunter2@db/x"}, []string{"DATABASE_URL", "postgres://"}},
		{map[string]string{"OPSBOT_ADDR": "8080"}, []string{"OPSBOT_ADDR", "host:port", `"8080"`}},
		{map[string]string{"OPSBOT_ADDR": "localhost"}, []string{"OPSBOT_ADDR", "host:port"}},
		{map[string]string{"OPSBOT_ADDR": ":99999"}, []string{"OPSBOT_ADDR", "up to 65535", `":99999"`}},
		{map[string]string{"OPSBOT_ADDR": ":http"}, []string{"OPSBOT_ADDR", "port number"}},
		{map[string]string{"OPSBOT_COMPLAINTS_PER_DAY": "0"}, []string{"OPSBOT_COMPLAINTS_PER_DAY", "1 to 1000"}},
		{map[string]string{"OPSBOT_DATA_DIR": "data"}, []string{"OPSBOT_DATA_DIR", "absolute path", `"data"`}},
		{map[string]string{"OPSBOT_TIMEZONE": "Mars/Olympus"}, []string{"OPSBOT_TIMEZONE", "IANA time zone", "Mars/Olympus"}},
		{map[string]string{"OPSBOT_TIMEZONE": "Local"}, []string{"OPSBOT_TIMEZONE", "IANA"}},
		{map[string]string{"OPSBOT_LOG_LEVEL": "loud"}, []string{"OPSBOT_LOG_LEVEL", "debug, info, warn or error", "loud"}},
		{map[string]string{"OPSBOT_LOG_FORMAT": "xml"}, []string{"OPSBOT_LOG_FORMAT", "text or json", "xml"}},
		{map[string]string{"OPSBOT_ADMINS": "U1,,U2"}, []string{"OPSBOT_ADMINS", "comma-separated Slack user IDs"}},
		{map[string]string{"OPSBOT_ADMINS": "<@U1>"}, []string{"OPSBOT_ADMINS", "Slack user IDs"}},
		{map[string]string{"OPSBOT_ADMINS": "alice smith"}, []string{"OPSBOT_ADMINS"}},
		{map[string]string{"OPSBOT_DB_MAX_CONNS": "many"}, []string{"OPSBOT_DB_MAX_CONNS", "whole number from 2 to 500"}},
		{map[string]string{"OPSBOT_DB_MAX_CONNS": "1"}, []string{"OPSBOT_DB_MAX_CONNS", "2 to 500"}},
		{map[string]string{"OPSBOT_DB_STATEMENT_TIMEOUT": "10"}, []string{"OPSBOT_DB_STATEMENT_TIMEOUT", "duration"}},
		{map[string]string{"OPSBOT_DB_STATEMENT_TIMEOUT": "1ms"}, []string{"OPSBOT_DB_STATEMENT_TIMEOUT", "at least 100ms"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"}, []string{"SLACK_BOT_TOKEN", "xoxb-", "xoxp-****"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, []string{"SLACK_SIGNING_SECRET", "signing secret", "SLACK_APP_TOKEN"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, []string{"SLACK_APP_TOKEN", "xapp-"}},
		{map[string]string{"SLACK_SIGNING_SECRET": "abc"}, []string{"SLACK_BOT_TOKEN", "since other SLACK_ variables are set"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack.local"}, []string{"SLACK_API_URL", "http(s) URL"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_COMPLAINTS_CHANNEL": "#complaints"}, []string{"SLACK_COMPLAINTS_CHANNEL", "channel ID"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_MANAGERS_CHANNEL": "C"}, []string{"SLACK_MANAGERS_CHANNEL", "channel ID"}},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_CAMPAIGNS_CHANNEL": "my campaigns"}, []string{"SLACK_CAMPAIGNS_CHANNEL"}},
		{map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_TOKEN": "t"}, []string{"WECHAT_APP_SECRET", "AppSecret"}},
		{map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s"}, []string{"WECHAT_TOKEN", "server token"}},
		{map[string]string{"WECHAT_APP_SECRET": "s"}, []string{"WECHAT_APP_ID", "AppID"}},
		{map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "WECHAT_TOKEN": "t", "WECHAT_ENCODING_AES_KEY": "short"}, []string{"WECHAT_ENCODING_AES_KEY", "43 characters"}},
		{map[string]string{"WECHAT_APP_ID": "wx1", "WECHAT_APP_SECRET": "s", "WECHAT_TOKEN": "t", "WECHAT_API_URL": "api.weixin"}, []string{"WECHAT_API_URL", "http(s) URL"}},
		{map[string]string{"WECHAT_SUBSCRIBE_TEMPLATES": "campaign"}, []string{"WECHAT_SUBSCRIBE_TEMPLATES", "kind=TEMPLATE_ID"}},
	}
	for _, c := range cases {
		e := map[string]string{}
		for k, v := range base {
			e[k] = v
		}
		for k, v := range c.env {
			e[k] = v
		}
		_, err := loadConfig(env(e))
		if err == nil {
			t.Errorf("%v: no error", c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.env, err, w)
			}
		}
		// Secrets never appear in errors.
		for _, secret := range []string{"hunter2", "user-token"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%v: error %q shows a secret", c.env, err)
			}
		}
	}

	// Every problem is reported at once.
	_, err := loadConfig(env(map[string]string{"OPSBOT_DATA_DIR": "rel", "OPSBOT_LOG_FORMAT": "xml", "OPSBOT_ADDR": "x"}))
	if err == nil || !strings.Contains(err.Error(), "OPSBOT_DATA_DIR") || !strings.Contains(err.Error(), "OPSBOT_LOG_FORMAT") ||
		!strings.Contains(err.Error(), "OPSBOT_ADDR") {
		t.Errorf("several errors: %v", err)
	}
}

func TestConfigLogValueMasksSecrets(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"DATABASE_URL":            "postgres://opsbot:dbpass-0001@db:5432/opsbot?sslmode=disable&password=dbpass-0002",
		"SLACK_BOT_TOKEN":         "xoxb-000111222-botsecret0003",
		"SLACK_SIGNING_SECRET":    "8f742231b10e8888abcd99yyyzzz0004",
		"SLACK_APP_TOKEN":         "xapp-1-A111-appsecret0005",
		"WECHAT_APP_ID":           "wx0123456789",
		"WECHAT_APP_SECRET":       "wechatsecret0006",
		"WECHAT_TOKEN":            "wechattoken0007",
		"WECHAT_ENCODING_AES_KEY": "aeskey0008" + strings.Repeat("z", 33),
		"OPSBOT_DATA_DIR":         "/srv/opsbot",
	}
	c, err := loadConfig(env(secrets))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("Starting opsbot", "config", c)
	out := buf.String()
	for i := 1; i <= 8; i++ {
		marker := []string{"", "dbpass-0001", "dbpass-0002", "botsecret0003", "8f742", "appsecret0005", "wechatsecret", "wechattoken", "aeskey"}[i]
		if strings.Contains(out, marker) {
			t.Errorf("log shows secret %q:\n%s", marker, out)
		}
	}
	for _, want := range []string{`"bot_token":"xoxb-****"`, `"app_token":"xapp-****"`, `"signing_secret":"****"`,
		`"app_id":"wx0123456789"`, "opsbot:****@db:5432", `"mode":"socket"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	// The text handler too.
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("Starting opsbot", "config", c)
	if strings.Contains(buf.String(), "botsecret") || strings.Contains(buf.String(), "dbpass") {
		t.Errorf("text log shows a secret:\n%s", buf.String())
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "x": "****", "xoxb-1-2-3": "xoxb-****", "xapp-1": "xapp-****", "abcd-efgh-secret": "****",
		"XOXB-1": "****", "8f742231b10e8888": "****",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
