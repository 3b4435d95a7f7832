package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Publisher publishes trial messages to JetStream.
type Publisher struct {
	js  jetstream.JetStream
	cfg Config
}

// NewPublisher returns a publisher on js using cfg's subjects.
func NewPublisher(js jetstream.JetStream, cfg Config) *Publisher {
	return &Publisher{js: js, cfg: cfg.withDefaults()}
}

// PublishMetrics publishes one epoch and waits for the stream's ack. The
// message id study/trial/epoch/attempt lets JetStream drop a publisher's
// retry; the database's primary key is the real guarantee.
func (p *Publisher) PublishMetrics(ctx context.Context, m EpochMetrics) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("events: encode metrics: %w", err)
	}
	id := fmt.Sprintf("%s/%d/%d/%d", m.Study, m.Trial, m.Epoch, m.Attempt)
	if _, err := p.js.Publish(ctx, p.cfg.MetricsSubject(m.Study, m.Trial), data, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("events: publish %s: %w", id, err)
	}
	return nil
}

// PublishStatus publishes a trial's recorded final status.
func (p *Publisher) PublishStatus(ctx context.Context, s TrialStatus) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("events: encode status: %w", err)
	}
	id := fmt.Sprintf("%s/%d/status/%s", s.Study, s.Trial, s.Status)
	if _, err := p.js.Publish(ctx, p.cfg.StatusSubject(s.Study, s.Trial), data, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("events: publish %s: %w", id, err)
	}
	return nil
}
