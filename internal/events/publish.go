package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of a Publisher's retry loop.
const (
	// DefaultTryTimeout bounds one publish try: the request and the
	// stream's ack. A request sent to a server that died never gets its
	// reply, so without it a publish under a context with a far deadline
	// (a trial's is a day) would wait that long.
	DefaultTryTimeout = 5 * time.Second
	// DefaultMinBackoff and DefaultMaxBackoff bound the wait between tries;
	// it doubles from the first to the second.
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 2 * time.Second
)

// Publisher publishes trial messages to JetStream. Every publish is retried
// with the same Nats-Msg-Id until the stream acks it or the caller's
// context ends, each try under its own deadline, so a publish never hangs
// on a server that went away and never stores a message twice within the
// stream's duplicate window.
type Publisher struct {
	js         jetstream.JetStream
	cfg        Config
	tryTimeout time.Duration
	minBackoff time.Duration
	maxBackoff time.Duration
	log        *slog.Logger
}

// PublisherOption configures a Publisher.
type PublisherOption func(*Publisher)

// WithTryTimeout sets how long one publish try waits for the stream's ack
// (default DefaultTryTimeout; d <= 0 keeps the default).
func WithTryTimeout(d time.Duration) PublisherOption {
	return func(p *Publisher) {
		if d > 0 {
			p.tryTimeout = d
		}
	}
}

// WithBackoff sets the first and the longest wait between tries (defaults
// DefaultMinBackoff and DefaultMaxBackoff; a value <= 0 keeps its default,
// and max is raised to min when smaller).
func WithBackoff(min, max time.Duration) PublisherOption {
	return func(p *Publisher) {
		if min > 0 {
			p.minBackoff = min
		}
		if max > 0 {
			p.maxBackoff = max
		}
		if p.maxBackoff < p.minBackoff {
			p.maxBackoff = p.minBackoff
		}
	}
}

// WithLogger sets where retries are logged (default slog.Default()).
func WithLogger(log *slog.Logger) PublisherOption {
	return func(p *Publisher) {
		if log != nil {
			p.log = log
		}
	}
}

// NewPublisher returns a publisher on js using cfg's subjects.
func NewPublisher(js jetstream.JetStream, cfg Config, opts ...PublisherOption) *Publisher {
	p := &Publisher{
		js: js, cfg: cfg.WithDefaults(),
		tryTimeout: DefaultTryTimeout, minBackoff: DefaultMinBackoff, maxBackoff: DefaultMaxBackoff,
		log: slog.Default(),
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// MetricsMsgID is the Nats-Msg-Id of one epoch of one attempt of a trial.
// The trial's row id is in it too: a study deleted and submitted again
// under the same name has new rows, and its messages must not be dropped
// as duplicates of the old study's within the stream's duplicate window.
func MetricsMsgID(study string, trial int, trialID int64, epoch, attempt int) string {
	return fmt.Sprintf("%s/%d/%d/%d/%d", study, trial, trialID, epoch, attempt)
}

// MetricsMsgIDParts are the parts of a MetricsMsgID.
type MetricsMsgIDParts struct {
	Study                 string
	Trial, Epoch, Attempt int
	TrialID               int64
}

// ParseMetricsMsgID splits a MetricsMsgID; ok is false for any other id.
func ParseMetricsMsgID(id string) (p MetricsMsgIDParts, ok bool) {
	f := strings.Split(id, "/")
	if len(f) != 5 || f[0] == "" {
		return p, false
	}
	var err [4]error
	p.Study = f[0]
	p.Trial, err[0] = strconv.Atoi(f[1])
	p.TrialID, err[1] = strconv.ParseInt(f[2], 10, 64)
	p.Epoch, err[2] = strconv.Atoi(f[3])
	p.Attempt, err[3] = strconv.Atoi(f[4])
	for _, e := range err {
		if e != nil {
			return MetricsMsgIDParts{}, false
		}
	}
	return p, true
}

// PublishMetrics publishes one epoch and waits for the stream's ack. The
// message id (MetricsMsgID) lets JetStream drop a publisher's retry; the
// database's primary key is the real guarantee.
func (p *Publisher) PublishMetrics(ctx context.Context, m EpochMetrics) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("events: encode metrics: %w", err)
	}
	return p.publish(ctx, p.cfg.MetricsSubject(m.Study, m.Trial), MetricsMsgID(m.Study, m.Trial, m.TrialID, m.Epoch, m.Attempt), data)
}

// PublishStatus publishes a trial's recorded final status.
func (p *Publisher) PublishStatus(ctx context.Context, s TrialStatus) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("events: encode status: %w", err)
	}
	return p.publish(ctx, p.cfg.StatusSubject(s.Study, s.Trial), fmt.Sprintf("%s/%d/%d/status/%s", s.Study, s.Trial, s.TrialID, s.Status), data)
}

// publish sends data with message id until the stream acks it, ctx ends,
// or an error that no retry can fix. The error of a publish given up
// because ctx ended wraps both ctx.Err() and the last try's error.
func (p *Publisher) publish(ctx context.Context, subject, id string, data []byte) error {
	wait := p.minBackoff
	for try := 1; ; try++ {
		tctx, cancel := context.WithTimeout(ctx, p.tryTimeout)
		_, err := p.js.Publish(tctx, subject, data, jetstream.WithMsgID(id))
		cancel()
		if err == nil {
			if try > 1 {
				p.log.Info("published after retries", "msg_id", id, "tries", try)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("events: publish %s: gave up after %d tries: %w", id, try, errors.Join(ctx.Err(), err))
		}
		if !retryable(err) {
			return fmt.Errorf("events: publish %s: %w", id, err)
		}
		p.log.Warn("publish failed; retrying with the same message id", "msg_id", id, "try", try, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("events: publish %s: gave up after %d tries: %w", id, try, errors.Join(ctx.Err(), err))
		case <-t.C:
		}
		wait = min(2*wait, p.maxBackoff)
	}
}

// retryable reports whether another try of a publish can succeed: lost
// replies, a server away or restarting, and JetStream still recovering
// its streams can; a closed connection, a bad subject, an oversized
// message or a request the stream rejects cannot.
func retryable(err error) bool {
	switch {
	case errors.Is(err, nats.ErrConnectionClosed),
		errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, jetstream.ErrStreamMessageExceedsMaximum),
		errors.Is(err, jetstream.ErrMaxBytesExceeded),
		errors.Is(err, jetstream.ErrInvalidSubject):
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.Code >= 400 && apiErr.Code < 500 && apiErr.Code != 408 {
		return false
	}
	return true
}
