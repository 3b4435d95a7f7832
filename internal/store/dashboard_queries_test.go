package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

// TestConfigRankingCI checks the 95% interval of a configuration's mean
// over its replicates: 0.90, 0.92 and 0.94 have mean 0.92, standard
// deviation 0.02 and t(2) = 4.303, so the half-width is 4.303 * 0.02 / √3.
// A configuration with one replicate has no interval.
func TestConfigRankingCI(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "ci", Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	var news []store.NewTrial
	for i, hash := range []string{"a", "a", "a", "b"} {
		news = append(news, store.NewTrial{Number: i, ConfigHash: hash, Params: []byte(`{"activation":"relu"}`), Replicate: i % 3, Seed: int64(i % 3)})
	}
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []float64{0.90, 0.92, 0.94, 0.5} {
		if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[i].ID, Attempt: 1, Status: "complete", Objective: &v, EpochsDone: 1}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := st.Pool().Query(ctx, `SELECT config_hash, ci95_low, ci95_high FROM config_ranking WHERE study = 'ci' ORDER BY rank`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string][2]*float64{}
	for rows.Next() {
		var hash string
		var lo, hi *float64
		if err := rows.Scan(&hash, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		got[hash] = [2]*float64{lo, hi}
	}
	half := 4.303 * 0.02 / math.Sqrt(3)
	a := got["a"]
	if a[0] == nil || a[1] == nil || math.Abs(*a[0]-(0.92-half)) > 1e-9 || math.Abs(*a[1]-(0.92+half)) > 1e-9 {
		t.Errorf("config a: interval %v, want 0.92 ± %.5f", a, half)
	}
	if b := got["b"]; b[0] != nil || b[1] != nil {
		t.Errorf("config b (one replicate): interval %v, want none", b)
	}
}

// TestReaderSeesTheDashboardViews logs in as the reader and reads the
// views the dashboard needs; the base tables stay closed to it.
func TestReaderSeesTheDashboardViews(t *testing.T) {
	_, url := testdb.New(t)
	ctx := context.Background()
	r, err := store.OpenReader(ctx, testdb.ReaderURL(t, url))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.StudyOverviews(ctx); err != nil {
		t.Errorf("study_overview: %v", err)
	}
	if _, err := r.TrialOverviews(ctx, "none", -1); err != nil {
		t.Errorf("trial_overview: %v", err)
	}
	if _, err := r.EpochRows(ctx, "none", -1); err != nil {
		t.Errorf("epoch_metrics: %v", err)
	}
	var res collectSink
	err = store.QueryAsReader(ctx, testdb.ReaderURL(t, url), store.ReaderQuery{SQL: "SELECT * FROM trials", Timeout: 5 * time.Second}, &res)
	if err == nil {
		t.Error("the reader read the trials table")
	}
}

type collectSink struct{ n int }

func (c *collectSink) Columns([]string) error { return nil }
func (c *collectSink) Row([]any) error        { c.n++; return nil }
