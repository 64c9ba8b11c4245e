package main

import (
	"strings"
	"testing"
)

// With OPSBOT_METRICS_ADDR set, /metrics is served there and not with the
// webhooks.
func TestMetricsOnSeparateAddr(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	a, _ := testApp(t, map[string]string{"OPSBOT_METRICS_ADDR": maddr})
	base, stop := startServing(t, a)
	if code, _ := get(t, base+"/metrics"); code != 404 {
		t.Errorf("/metrics on OPSBOT_ADDR = %d, want 404", code)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	code, body := get(t, "http://"+maddr+"/metrics")
	if code != 200 || !strings.Contains(body, "opsbot_http_requests_total") {
		t.Fatalf("/metrics on OPSBOT_METRICS_ADDR = %d:\n%.300s", code, body)
	}
	if code, _ := get(t, "http://"+maddr+"/healthz"); code != 404 {
		t.Errorf("the metrics address serves more than /metrics: /healthz = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestMetricsAddrValidated(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"9090", "localhost", "127.0.0.1:8080"} {
		_, err := loadConfig(func(k string) string {
			return map[string]string{"OPSBOT_ADDR": "127.0.0.1:8080", "OPSBOT_METRICS_ADDR": v, "OPSBOT_DATA_DIR": "/tmp/x"}[k]
		})
		if err == nil || !strings.Contains(err.Error(), "OPSBOT_METRICS_ADDR") {
			t.Errorf("OPSBOT_METRICS_ADDR=%q: %v", v, err)
		}
	}
}
