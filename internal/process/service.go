// Package process holds what every relutune process shares: its settings
// (each a flag whose default comes from an environment variable, so flags
// win and the environment gives defaults), logging, signals, dialing
// Temporal and NATS with the configured credentials and TLS, and the health
// endpoint with the Prometheus metrics. The binaries in cmd/ parse flags and hand the result to
// internal/controller or internal/worker; the integration tests run those
// in-process. It imports no database driver: workers never touch Postgres.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/relutune/relutune/internal/telemetry"
)

// Health serves /healthz: 200 once ready, 503 before.
type Health struct{ ready atomic.Bool }

// SetReady makes /healthz answer 200.
func (h *Health) SetReady() { h.ready.Store(true) }

// ServeHTTP implements http.Handler.
func (h *Health) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

// ServeHealth serves, on addr until ctx is done, /healthz from h (ready:
// connected and serving; a readiness probe), /livez (200 while the process
// answers HTTP at all; a liveness probe, which must not fail during a
// long start such as migrations) and /metrics from m (Prometheus; absent
// when m is nil). An empty addr disables it.
func ServeHealth(ctx context.Context, addr string, h *Health, m *telemetry.Metrics, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("health endpoint: %w", err)
	}
	serveHealth(ctx, ln, h, m, log)
	return nil
}

// serveHealth is ServeHealth on a listener.
func serveHealth(ctx context.Context, ln net.Listener, h *Health, m *telemetry.Metrics, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.Handle("/healthz", h)
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	if m != nil {
		mux.Handle("/metrics", m.Handler())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health endpoint stopped", "err", err)
		}
	}()
	log.Info("health endpoint", "addr", ln.Addr().String(), "metrics", m != nil)
}
