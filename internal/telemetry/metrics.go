// Package telemetry is what relutune's long-running processes report about
// themselves: Prometheus metrics (served on /metrics next to /healthz) and
// OpenTelemetry traces of the Temporal calls (off unless an OTLP endpoint
// is configured).
//
// Metrics come from github.com/prometheus/client_golang, the Prometheus
// project's own client; traces from the OpenTelemetry Go SDK with its OTLP
// gRPC exporter, and reach Temporal through the SDK's own interceptor
// (go.temporal.io/sdk/contrib/opentelemetry). The package imports no
// relutune package, so every layer may report through it.
//
// A nil *Metrics records nothing: code under test, and tunectl, need not
// build one.
package telemetry

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Role says which process a Metrics serves: each exports the metrics of
// its own work (and the Go runtime's and the Temporal client's).
type Role int

const (
	Controller Role = iota + 1 // study workflows, Postgres activities, metrics sink
	Worker                     // TrainTrial
)

// Metrics are a process's Prometheus metrics. Build one with New; the
// methods are safe for concurrent use and do nothing on a nil *Metrics.
type Metrics struct {
	reg *prometheus.Registry

	// controller
	trialsRecorded *prometheus.CounterVec
	sinkBatchRows  prometheus.Histogram
	sinkRows       prometheus.Counter
	sinkLag        prometheus.Histogram
	sinkPending    prometheus.Gauge
	deadLetters    prometheus.Counter

	// worker
	trialsRunning   prometheus.Gauge
	trialsStarted   prometheus.Counter
	epochSeconds    prometheus.Histogram
	samplesPerSec   prometheus.Histogram
	checkpointWrite *prometheus.HistogramVec
	heartbeat       prometheus.Histogram

	// both
	temporalRequest *prometheus.HistogramVec
}

// New returns the metrics of a process of role r, registered with the Go
// runtime and process collectors on a registry of their own.
func New(r Role) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		trialsRecorded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "relutune_trials_recorded_total",
			Help: "Trial outcomes recorded in Postgres, by final state (complete, pruned, diverged, failed, canceled).",
		}, []string{"state"}),
		sinkBatchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "relutune_sink_batch_rows",
			Help:    "Metric rows the sink writes to Postgres per fetched batch.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13), // 1 .. 4096
		}),
		sinkRows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relutune_sink_rows_written_total",
			Help: "Metric rows the sink has written to Postgres (redelivered rows included; the store drops duplicates).",
		}),
		sinkLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "relutune_sink_lag_seconds",
			Help:    "Time from a metric message's arrival in the stream to its row's commit in Postgres.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 18), // 1 ms .. 131 s
		}),
		sinkPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relutune_sink_pending_messages",
			Help: "Messages in the stream not yet delivered to the sink, as of its last batch.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relutune_sink_dead_letters_total",
			Help: "Metric messages the sink can never store, kept in the dead_letters table.",
		}),
		trialsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "relutune_trials_running",
			Help: "Trial attempts this worker is training now.",
		}),
		trialsStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "relutune_trial_attempts_started_total",
			Help: "Trial attempts this worker has started (retries included).",
		}),
		epochSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "relutune_epoch_duration_seconds",
			Help:    "Wall time of one training epoch: training, evaluation and its report.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 16), // 1 ms .. 1 h
		}),
		samplesPerSec: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "relutune_epoch_samples_per_second",
			Help:    "Training throughput of each epoch, in samples per second (evaluation excluded).",
			Buckets: prometheus.ExponentialBuckets(1000, 2, 14), // 1k .. 8M
		}),
		checkpointWrite: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relutune_checkpoint_write_duration_seconds",
			Help:    "Time to write one trial checkpoint, by result (ok, error).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms .. 16 s
		}, []string{"result"}),
		heartbeat: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "relutune_heartbeat_duration_seconds",
			Help:    "Round trip of a trial's heartbeat to the Temporal frontend (RecordActivityTaskHeartbeat).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		temporalRequest: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "relutune_temporal_request_duration_seconds",
			Help:    "Round trip of the Temporal frontend calls this process makes (long polls excluded), by method and gRPC code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"method", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.temporalRequest,
	)
	switch r {
	case Controller:
		m.reg.MustRegister(m.trialsRecorded, m.sinkBatchRows, m.sinkRows, m.sinkLag, m.sinkPending, m.deadLetters)
	case Worker:
		m.reg.MustRegister(m.trialsRunning, m.trialsStarted, m.epochSeconds, m.samplesPerSec, m.checkpointWrite, m.heartbeat)
		// Both results exist from the start, so rate() sees the first error.
		m.checkpointWrite.WithLabelValues("ok")
		m.checkpointWrite.WithLabelValues("error")
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition formats. A nil
// *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics are registered, for a process that adds
// its own collectors.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// TrialRecorded counts a trial outcome stored with final state.
func (m *Metrics) TrialRecorded(state string) {
	if m == nil {
		return
	}
	m.trialsRecorded.WithLabelValues(state).Inc()
}

// TrialStarted counts a trial attempt that starts training on this worker
// and returns the function to call when it ends.
func (m *Metrics) TrialStarted() (ended func()) {
	if m == nil {
		return func() {}
	}
	m.trialsStarted.Inc()
	m.trialsRunning.Inc()
	return m.trialsRunning.Dec
}

// EpochTimer times a trial's epochs: each Epoch call observes the time
// since the previous one (or since the timer was made).
type EpochTimer struct {
	m    *Metrics
	last time.Time
}

// EpochTimer starts timing a trial's first epoch.
func (m *Metrics) EpochTimer() *EpochTimer { return &EpochTimer{m: m, last: time.Now()} }

// Epoch observes an epoch that has just ended with the training
// throughput samplesPerSec (ignored when not positive).
func (t *EpochTimer) Epoch(samplesPerSec float64) {
	if t.m == nil {
		return
	}
	now := time.Now()
	t.m.epochSeconds.Observe(now.Sub(t.last).Seconds())
	t.last = now
	if samplesPerSec > 0 {
		t.m.samplesPerSec.Observe(samplesPerSec)
	}
}

// CheckpointWritten observes a checkpoint write that began at start and
// ended with err.
func (m *Metrics) CheckpointWritten(start time.Time, err error) {
	if m == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.checkpointWrite.WithLabelValues(result).Observe(time.Since(start).Seconds())
}

// SinkBatch observes one batch the sink committed: rows written, the
// stream arrival time of its oldest message (zero when unknown) and the
// messages still waiting in the stream after it (negative when unknown).
func (m *Metrics) SinkBatch(rows int, oldest time.Time, pending int64) {
	if m == nil {
		return
	}
	m.sinkBatchRows.Observe(float64(rows))
	m.sinkRows.Add(float64(rows))
	if !oldest.IsZero() {
		m.sinkLag.Observe(max(time.Since(oldest), 0).Seconds())
	}
	if pending >= 0 {
		m.sinkPending.Set(float64(pending))
	}
}

// DeadLetters counts n messages the sink gave up on.
func (m *Metrics) DeadLetters(n int) {
	if m == nil || n <= 0 {
		return
	}
	m.deadLetters.Add(float64(n))
}
