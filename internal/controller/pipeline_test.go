package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// BenchmarkIngest measures the metric path end to end next to the
// database's own rate, in one run: b.N epochs written straight to Postgres
// by store.WriteMetrics in batches of the sink's size (COPY into staging,
// one merge; the ceiling of the path), then the same number published to
// JetStream and moved into Postgres by the sink (publishing excluded),
// with 1 and 2 writers. It reports both rates and sink/copy: the sink's
// rate is its steady state, between 10% and 90% of the rows committed;
// sink_whole_rows/s is from its start to the last row.
// Run: go test ./internal/controller -run '^$' -bench Ingest -benchtime 40000x
func BenchmarkIngest(b *testing.B) {
	if os.Getenv("RELUTUNE_SKIP_INTEGRATION") == "1" {
		b.Skip("RELUTUNE_SKIP_INTEGRATION=1")
	}
	const batch = 2000
	for _, writers := range []int{1, 2} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			st, _ := testdb.New(b)
			ctx := context.Background()
			// Two studies with fresh (trial, epoch) keys: one for the
			// reference write, one for the sink.
			newStudy := func(name string) []store.Trial {
				s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: name, Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
				if err != nil {
					b.Fatal(err)
				}
				// Epochs stay within the study's budget (events.MaxEpoch
				// for a spec without a schedule).
				trials := max(100, b.N/events.MaxEpoch+1)
				news := make([]store.NewTrial, trials)
				for i := range news {
					news[i] = store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{}`), Seed: 1}
				}
				ts, err := st.InsertTrials(ctx, s.ID, news)
				if err != nil {
					b.Fatal(err)
				}
				return ts
			}
			metric := func(study string, ts []store.Trial, i int) events.EpochMetrics {
				return events.EpochMetrics{Study: study, Trial: i % len(ts), TrialID: ts[i%len(ts)].ID, Epoch: i/len(ts) + 1, Attempt: 1,
					Layers: []events.LayerStats{{DeadFraction: events.Finite(0.1)}}, EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.5), TrainLoss: events.Finite(0.1)}}
			}
			tag := fmt.Sprintf("%d%06d", os.Getpid()%10000, rand.IntN(1_000_000))
			cfg := events.Config{Stream: "RELUTUNE_B_" + tag, Prefix: "tuneb" + tag}.WithDefaults()

			// The reference: the rows the sink would decode, written
			// directly, once before the sink and once after (on two studies
			// of their own), so that both sides see the database as full as
			// the sink does on average; the better of the two counts.
			reference := func(name string) float64 {
				ref := newStudy(name)
				rows := make([]store.MetricRow, b.N)
				for i := range rows {
					m := metric(name, ref, i)
					data, err := json.Marshal(m)
					if err != nil {
						b.Fatal(err)
					}
					d, err := DecodeMetricRow(cfg, cfg.MetricsSubject(m.Study, m.Trial), data)
					if err != nil {
						b.Fatal(err)
					}
					rows[i] = d.Row
				}
				start := time.Now()
				for lo := 0; lo < len(rows); lo += batch {
					if _, err := st.WriteMetrics(ctx, rows[lo:min(lo+batch, len(rows))]); err != nil {
						b.Fatal(err)
					}
				}
				return float64(b.N) / time.Since(start).Seconds()
			}
			b.ResetTimer()
			copyRate := reference("ref1")
			b.StopTimer()

			ts := newStudy("bench")
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
				if err := pub.PublishMetrics(ctx, metric("bench", ts, i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			start := time.Now()
			sctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			// The sink tells the rows of each write it has acked, after
			// their commit. The rate is taken between 10% and 90% of the
			// rows, the steady state of a backlog (the start includes
			// creating the consumer, and the last batches wait out the
			// stream running dry); the whole run is reported too. Counting
			// in the sink leaves the cores to the sink, the NATS server
			// and Postgres (polling the consumer's info every 10 ms
			// throttled the server).
			var acked atomic.Int64
			var t10, t90 atomic.Int64 // UnixNano when 10% and 90% of the rows were acked
			var n10, n90 atomic.Int64
			all := make(chan struct{})
			sink := &Sink{JS: js, Config: cfg, Writer: st, Batch: batch, Writers: writers, acked: func(rows int) {
				n := acked.Add(int64(rows))
				now := time.Now().UnixNano()
				if n >= int64(b.N)/10 && t10.CompareAndSwap(0, now) {
					n10.Store(n)
				}
				if n >= int64(b.N)*9/10 && t90.CompareAndSwap(0, now) {
					n90.Store(n)
				}
				if n >= int64(b.N) && n-int64(rows) < int64(b.N) {
					close(all)
				}
			}}
			go func() { done <- sink.Run(sctx) }()
			<-all
			wholeRate := float64(b.N) / time.Since(start).Seconds()
			sinkRate := float64(n90.Load()-n10.Load()) / time.Duration(t90.Load()-t10.Load()).Seconds()
			b.StopTimer()
			stop()
			<-done
			after := reference("ref2")
			copyRate = max(copyRate, after)
			var n, dead int
			if err := st.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM trial_metrics), (SELECT count(*) FROM dead_letters)`).Scan(&n, &dead); err != nil {
				b.Fatal(err)
			}
			if n != 3*b.N || dead != 0 {
				b.Fatalf("%d metric rows and %d dead letters after the sink, want %d and 0", n, dead, 3*b.N)
			}
			b.ReportMetric(copyRate, "copy_rows/s")
			b.ReportMetric(sinkRate, "sink_rows/s")
			b.ReportMetric(wholeRate, "sink_whole_rows/s")
			b.ReportMetric(sinkRate/copyRate, "sink/copy")
		})
	}
}
