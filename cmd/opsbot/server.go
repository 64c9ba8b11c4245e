package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// maxBody is the largest request body accepted; larger ones get 413.
const maxBody = 1 << 20

// httpHandler builds the HTTP surface: health, readiness, metrics (unless
// OPSBOT_METRICS_ADDR puts them elsewhere) and the adapters' routes, each
// behind the body limit and metrics.
func (a *app) httpHandler() http.Handler {
	mux := http.NewServeMux()
	add := func(pattern string, h http.Handler) { mux.Handle(pattern, a.instrument(pattern, h)) }
	add("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	}))
	add("GET /readyz", http.HandlerFunc(a.ready))
	if a.cfg.MetricsAddr == "" {
		add("GET /metrics", a.metricsHandler())
	}
	for _, rt := range a.routes {
		add(rt.pattern, rt.handler)
	}
	return mux
}

func (a *app) metricsHandler() http.Handler {
	return promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{})
}

// metricsServer serves only /metrics, on OPSBOT_METRICS_ADDR.
func (a *app) metricsServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.instrument("GET /metrics", a.metricsHandler()))
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
}

func (a *app) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := a.db.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "database unreachable")
		return
	}
	pending, err := a.db.MigrationsPending(ctx)
	if err != nil || pending {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "migrations not applied")
		return
	}
	fmt.Fprintln(w, "ready")
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts requests by route and status, times them, and limits
// request bodies to maxBody.
func (a *app) instrument(route string, h http.Handler) http.Handler {
	dur := a.metrics.RequestDuration.WithLabelValues(route)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if r.ContentLength > maxBody {
			http.Error(sw, "request body too large", http.StatusRequestEntityTooLarge)
		} else {
			r.Body = http.MaxBytesReader(sw, r.Body, maxBody)
			h.ServeHTTP(sw, r)
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		dur.Observe(time.Since(start).Seconds())
		a.metrics.Requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

// serve runs the HTTP server, the dispatcher, the scheduler and the
// adapters' background loops until ctx ends, then shuts down in order:
// stop intake, finish in-flight requests, stop cron, let the dispatcher
// finish its current message.
func (a *app) serve(ctx context.Context, ready chan<- string) error {
	srv := &http.Server{
		Addr:              a.cfg.Addr,
		Handler:           a.httpHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("OPSBOT_ADDR: %w", err)
	}
	var msrv *http.Server
	var mln net.Listener
	if a.cfg.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", a.cfg.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("OPSBOT_METRICS_ADDR: %w", err)
		}
		msrv = a.metricsServer()
		a.log.Info("Serving metrics", "addr", mln.Addr().String(), "path", "/metrics")
	}
	a.log.Info("Listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}

	bg, stopBG := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.disp.Run(bg); close(done) }()
	a.sched.Start()
	errc := make(chan error, len(a.starters)+2)
	for _, start := range a.starters {
		go func() {
			if err := start(bg); err != nil && bg.Err() == nil {
				errc <- err
			}
		}()
	}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if msrv != nil {
		go func() {
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}

	var runErr error
	select {
	case <-ctx.Done():
		a.log.Info("Shutting down")
	case runErr = <-errc:
		a.log.Error("Server failed; shutting down", "err", runErr)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.log.Error("HTTP shutdown", "err", err)
	}
	if msrv != nil {
		if err := msrv.Shutdown(sctx); err != nil {
			a.log.Error("Metrics HTTP shutdown", "err", err)
		}
	}
	drained := make(chan struct{})
	go func() {
		for _, drain := range a.drains {
			drain()
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-sctx.Done():
		a.log.Warn("Gave up waiting for adapters' background work")
	}
	a.sched.Stop(sctx)
	stopBG()
	select {
	case <-done:
	case <-sctx.Done():
	}
	return runErr
}
