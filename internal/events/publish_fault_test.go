package events_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/natstest"
)

func privateStream(t *testing.T) (*natstest.Server, *nats.Conn, jetstream.JetStream, events.Config) {
	t.Helper()
	srv := natstest.Start(t)
	nc, js, err := events.Connect(srv.URL, "publish-fault")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cfg := events.Config{Stream: "FAULT", Prefix: "fault"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	return srv, nc, js, cfg
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestPublishSurvivesARequestLostWithItsServer sends a publish to a frozen
// server, kills the server (the request dies with it) and starts it
// again. With a context whose deadline is a day away, like a trial's, the
// publish must still complete: its try times out and the retry, with the
// same message id, reaches the new server. Exactly one message is stored.
func TestPublishSurvivesARequestLostWithItsServer(t *testing.T) {
	srv, _, js, cfg := privateStream(t)
	pub := events.NewPublisher(js, cfg, events.WithTryTimeout(time.Second), events.WithLogger(quietLog()))
	ctx, cancel := context.WithTimeout(context.Background(), 24*time.Hour)
	defer cancel()
	m := events.EpochMetrics{Study: "s", Trial: 1, Epoch: 1, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.5)}}

	srv.Freeze()
	done := make(chan error, 1)
	go func() { done <- pub.PublishMetrics(ctx, m) }()
	time.Sleep(300 * time.Millisecond) // the request is on the frozen server's socket
	srv.Kill()
	time.Sleep(500 * time.Millisecond)
	srv.Restart()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("publish after the restart: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("publish still blocked 60s after its server was restarted: the lost request was never retried")
	}
	ids, err := natstest.MsgIDs(context.Background(), js, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	want := events.MetricsMsgID("s", 1, 0, 1, 1)
	if p, ok := events.ParseMetricsMsgID(want); !ok || p != (events.MetricsMsgIDParts{Study: "s", Trial: 1, Epoch: 1, Attempt: 1}) {
		t.Fatalf("ParseMetricsMsgID(%q) = %+v, %v", want, p, ok)
	}
	if len(ids) != 1 || ids[want] != 1 {
		t.Fatalf("stream holds %v, want exactly one %s", ids, want)
	}
}

// TestPublishToAFrozenServerEndsWithItsContext: while the server does not
// answer, a publish returns when its context ends, with an error that
// says so.
func TestPublishToAFrozenServerEndsWithItsContext(t *testing.T) {
	srv, _, js, cfg := privateStream(t)
	pub := events.NewPublisher(js, cfg, events.WithTryTimeout(200*time.Millisecond), events.WithLogger(quietLog()))
	srv.Freeze()
	defer srv.Thaw()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pub.PublishMetrics(ctx, events.EpochMetrics{Study: "s", Trial: 1, Epoch: 1, Attempt: 1})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("publish to a frozen server: %v, want one wrapping context.DeadlineExceeded", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("publish to a frozen server did not return after its context ended")
	}
}

// TestPublishDoesNotRetryWhatCannotSucceed: a message over the server's
// payload limit fails at once instead of being retried until the context
// ends.
func TestPublishDoesNotRetryWhatCannotSucceed(t *testing.T) {
	_, nc, js, cfg := privateStream(t)
	pub := events.NewPublisher(js, cfg, events.WithLogger(quietLog()))
	m := events.EpochMetrics{Study: "s", Trial: 1, Epoch: 1, Attempt: 1,
		Layers: make([]events.LayerStats, int(nc.MaxPayload()/50)+1)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pub.PublishMetrics(ctx, m) }()
	select {
	case err := <-done:
		if !errors.Is(err, nats.ErrMaxPayload) {
			t.Fatalf("oversized publish: %v, want nats.ErrMaxPayload", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("an oversized publish was retried instead of failing")
	}
}
