package controller

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// BenchmarkMetricPipeline measures the metric path end to end: JetStream
// async publish of b.N epochs, then the sink moving them into Postgres,
// reported as rows/s of the sink alone (publishing excluded).
// Run: go test ./internal/events -run '^$' -bench MetricPipeline -benchtime 20000x
func BenchmarkMetricPipeline(b *testing.B) {
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		b.Skip("RELUTUNE_SKIP_INTEGRATION=1")
	}
	st, _ := testdb.New(b)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "bench", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	// Epochs stay within the study's budget (events.MaxEpoch for a spec
	// without a schedule): a longer run spreads over more trials.
	trials := max(100, b.N/events.MaxEpoch+1)
	var news []store.NewTrial
	for i := 0; i < trials; i++ {
		news = append(news, store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{}`), Seed: 1})
	}
	ts, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		b.Fatal(err)
	}
	tag := fmt.Sprintf("%d%06d", os.Getpid()%10000, rand.IntN(1_000_000))
	cfg := events.Config{Stream: "RELUTUNE_B_" + tag, Prefix: "tuneb" + tag}
	nc, js, err := events.Connect(process.Env(process.EnvNATSURL, process.DefaultNATSURL), "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		b.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), cfg.Stream)
	pub := events.NewPublisher(js, cfg)
	for i := 0; i < b.N; i++ {
		m := events.EpochMetrics{Study: "bench", Trial: i % trials, TrialID: ts[i%trials].ID, Epoch: i/trials + 1, Attempt: 1,
			Layers: []events.LayerStats{{DeadFraction: events.Finite(0.1)}}, EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.5), TrainLoss: events.Finite(0.1)}}
		if err := pub.PublishMetrics(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- (&Sink{JS: js, Config: cfg, Writer: st}).Run(sctx) }()
	for {
		var n, dead int
		if err := st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM trial_metrics), (SELECT count(*) FROM dead_letters)`).Scan(&n, &dead); err != nil {
			b.Fatal(err)
		}
		if dead > 0 {
			b.Fatalf("the sink dead-lettered %d valid messages", dead)
		}
		if n >= b.N {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
	stop()
	<-done
}
