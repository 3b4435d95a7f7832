// Package events is relutune's NATS JetStream adapter: the stream of
// per-epoch trial metrics and trial status changes, the publisher the
// workers use, and the sink that moves metrics into Postgres.
package events

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/redact"
)

// Defaults for Config.
const (
	DefaultStream = "RELUTUNE"
	DefaultPrefix = "tune"
)

// ErrInvalidConfig is wrapped by Config validation errors.
var ErrInvalidConfig = errors.New("events: invalid config")

// Config names the stream and the subject prefix. Tests use their own to
// stay apart from a running cluster.
type Config struct {
	Stream string // JetStream stream name
	Prefix string // first subject token
}

// WithDefaults fills the stream and prefix left empty.
func (c Config) WithDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	return c
}

func (c Config) validate() error {
	if strings.ContainsAny(c.Stream, ". *>") {
		return fmt.Errorf("%w: stream %q must not contain '.', '*', '>' or spaces", ErrInvalidConfig, c.Stream)
	}
	if c.Prefix == "" || strings.ContainsAny(c.Prefix, ". *>") {
		return fmt.Errorf("%w: prefix %q must be one subject token", ErrInvalidConfig, c.Prefix)
	}
	return nil
}

// MetricsSubject is where trial's per-epoch metrics are published:
// <prefix>.study.<study>.trial.<trial>.metrics.
func (c Config) MetricsSubject(study string, trial int) string {
	c = c.WithDefaults()
	return c.Prefix + ".study." + study + ".trial." + strconv.Itoa(trial) + ".metrics"
}

// StatusSubject is where a trial's status changes are published.
func (c Config) StatusSubject(study string, trial int) string {
	c = c.WithDefaults()
	return c.Prefix + ".study." + study + ".trial." + strconv.Itoa(trial) + ".status"
}

// StudySubjects matches every subject of one study.
func (c Config) StudySubjects(study string) string {
	c = c.WithDefaults()
	return c.Prefix + ".study." + study + ".>"
}

// AllMetricsSubjects matches the metrics of every study.
func (c Config) AllMetricsSubjects() string {
	c = c.WithDefaults()
	return c.Prefix + ".study.*.trial.*.metrics"
}

// Connect dials NATS with reconnects and returns the connection and its
// JetStream context. opts come after the defaults and may override them
// (credentials, TLS, handlers). Errors show url with its secrets masked.
func Connect(url, name string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream, error) {
	all := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(500 * time.Millisecond),
		nats.Timeout(5 * time.Second)}, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		return nil, nil, redact.Error(fmt.Errorf("events: connect to %s: %w", redact.URL(url), err), url)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("events: jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureStream creates or updates the stream that holds every study's
// subjects. Messages are kept 14 days (the sink normally acks them within
// seconds; the rest serves `tunectl watch` replays), deduplicated by
// Nats-Msg-Id within two minutes.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.Stream, error) {
	c = c.WithDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        c.Stream,
		Description: "relutune trial metrics and status",
		Subjects:    []string{c.Prefix + ".study.>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      14 * 24 * time.Hour,
		Duplicates:  2 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("events: stream %s: %w", c.Stream, err)
	}
	return st, nil
}

// Finite returns a pointer to x, or nil for NaN and ±Inf (JSON has no
// encoding for them, and Postgres must not rank them).
func Finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}
