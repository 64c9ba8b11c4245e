package bot

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the counters opsbot exports on /metrics. One value is made
// in cmd and shared by the HTTP server, the dispatcher and the scheduler.
type Metrics struct {
	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Sent            *prometheus.CounterVec
	SendFailures    *prometheus.CounterVec
	Unreachable     *prometheus.CounterVec
	JobRuns         *prometheus.CounterVec
	JobFailures     *prometheus.CounterVec
	JobDuration     *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg (nil: none).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsbot_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		Sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_outbox_sent_total", Help: "Messages delivered, by platform.",
		}, []string{"platform"}),
		SendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_outbox_send_failures_total", Help: "Failed delivery attempts, by platform and kind (transient, rate_limited, permanent).",
		}, []string{"platform", "kind"}),
		Unreachable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_outbox_unreachable_total", Help: "Messages whose recipient could not be reached (WeChat window closed, no template, unfollowed), by platform and purpose.",
		}, []string{"platform", "purpose"}),
		JobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_job_runs_total", Help: "Scheduled job runs, by job.",
		}, []string{"job"}),
		JobFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_job_failures_total", Help: "Scheduled job runs that failed, by job.",
		}, []string{"job"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsbot_job_duration_seconds", Help: "Job run time, by job.",
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.RequestDuration, m.Sent, m.SendFailures, m.Unreachable, m.JobRuns, m.JobFailures, m.JobDuration)
	}
	return m
}
