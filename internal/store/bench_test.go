package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// BenchmarkWriteMetrics compares the sink's batched write (COPY into
// staging, one INSERT .. ON CONFLICT) with the row-at-a-time autocommit
// insert it replaces, in rows/s. Run: go test ./internal/store -run '^$'
// -bench WriteMetrics.
func BenchmarkWriteMetrics(b *testing.B) {
	st, _ := testdb.New(b)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "bench", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	var news []store.NewTrial
	for i := 0; i < 100; i++ {
		news = append(news, store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{}`), Seed: 1})
	}
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		b.Fatal(err)
	}
	v := 0.5
	epoch := 0
	rows := func(b *testing.B, n int) []store.MetricRow {
		out := make([]store.MetricRow, n)
		for i := range out {
			if i%len(trials) == 0 {
				epoch++
			}
			if epoch > events.MaxEpoch { // past every trial's budget: go on with new trials
				for j := range news {
					news[j].Number += len(news)
				}
				if trials, err = st.InsertTrials(ctx, s.ID, news); err != nil {
					b.Fatal(err)
				}
				epoch = 1
			}
			out[i] = store.MetricRow{TrialID: trials[i%len(trials)].ID, Epoch: epoch, Attempt: 1, Layers: []byte(`[{"dead_fraction":0.1}]`), EpochValues: events.EpochValues{ValAccuracy: &v, TrainLoss: &v}}
		}
		return out
	}
	b.Run("batch=500", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if _, err := st.WriteMetrics(ctx, rows(b, 500)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(500*b.N)/time.Since(start).Seconds(), "rows/s")
	})
	b.Run("row-at-a-time", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			for _, r := range rows(b, 500) {
				if _, err := st.Pool().Exec(ctx, `INSERT INTO trial_metrics (trial_id, epoch, attempt, val_accuracy, train_loss, layers)
					VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, r.TrialID, r.Epoch, r.Attempt, r.ValAccuracy, r.TrainLoss, string(r.Layers)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(500*b.N)/time.Since(start).Seconds(), "rows/s")
	})
}
