package controller

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/internal/telemetry/telemetrytest"
)

// TestSinkReportsMetrics runs the sink on a real stream with metrics on
// and scrapes them: the rows written in batches, their lag, the stream
// drained, and the one poison message counted as a dead letter.
func TestSinkReportsMetrics(t *testing.T) {
	cfg := testConfig(t)
	nc, js, err := events.Connect(process.Env(process.EnvNATSURL, process.DefaultNATSURL), "sink-metrics-test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), cfg.Stream)

	pub := events.NewPublisher(js, cfg)
	const epochs = 30
	for e := 1; e <= epochs; e++ {
		if err := pub.PublishMetrics(ctx, events.EpochMetrics{Study: "s", TrialID: 1, Trial: 1, Epoch: e, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	// Trial id 2 is trial 2 of study s, not trial 3: dead-lettered.
	if err := pub.PublishMetrics(ctx, events.EpochMetrics{Study: "s", TrialID: 2, Trial: 3, Epoch: 1, Attempt: 1}); err != nil {
		t.Fatal(err)
	}

	m := telemetry.New(telemetry.Controller)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	w := &fakeWriter{rows: map[[2]int64]store.MetricRow{}}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- (&Sink{JS: js, Config: cfg, Writer: w, Batch: 8, MaxWait: 50 * time.Millisecond, Metrics: m}).Run(sctx)
	}()
	var f telemetrytest.Families
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		f = telemetrytest.Scrape(t, srv.URL)
		rows, _ := f.Value("relutune_sink_rows_written_total")
		dead, _ := f.Value("relutune_sink_dead_letters_total")
		// The pending gauge follows the acks, read from the consumer's
		// state after them: wait for it too.
		pending, exported := f.Value("relutune_sink_pending_messages")
		if rows == epochs && dead == 1 && exported && pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if v, _ := f.Value("relutune_sink_rows_written_total"); v != epochs {
		t.Fatalf("rows written %v, want %d", v, epochs)
	}
	if v, _ := f.Value("relutune_sink_dead_letters_total"); v != 1 {
		t.Errorf("dead letters %v, want 1", v)
	}
	n, sum, _ := f.Histogram("relutune_sink_batch_rows")
	if sum != epochs || n < epochs/8 {
		t.Errorf("batches: %d holding %v rows; want at least %d batches (of at most 8) holding %d", n, sum, epochs/8, epochs)
	}
	if lag, _, _ := f.Histogram("relutune_sink_lag_seconds"); lag != n {
		t.Errorf("lag observed for %d batches, want one per batch (%d)", lag, n)
	}
	if v, ok := f.Value("relutune_sink_pending_messages"); !ok || v != 0 {
		t.Errorf("pending messages %v (exported %v), want 0 once the stream is drained", v, ok)
	}
}
