package store_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
	"github.com/relutune/relutune/search"
)

// TestParetoFrontView stores a multi-objective study's trials with random
// objective values (maximize the first, minimize the second, with ties) and
// checks that the pareto_front view holds exactly the trials of rank 1 by
// search.ParetoRanks, that trials without every value are left out, and
// that the reader role can read it.
func TestParetoFrontView(t *testing.T) {
	st, url := testdb.New(t)
	ctx := context.Background()
	spec := []byte(`{"objectives":[{"metric":"val_accuracy","direction":"maximize"},{"metric":"epoch_seconds","direction":"minimize"}]}`)
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "mo", Spec: spec, SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	// A single-objective study beside it stays out of the views.
	if _, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "so", Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	var news []store.NewTrial
	for i := range n {
		news = append(news, store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{"activation":"relu"}`), Seed: 1})
	}
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	var ys [][]float64
	var nums []int
	for i, tr := range trials {
		status := search.Complete
		if i%10 == 9 {
			status = search.Failed
		}
		if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: tr.ID, Attempt: 1, Status: status, Objective: ptr(0.5), EpochsDone: 1}); err != nil {
			t.Fatal(err)
		}
		acc, sec := float64(rng.IntN(8))/8, float64(1+rng.IntN(8))
		vals := []*float64{ptr(acc), ptr(sec)}
		if i%10 == 4 {
			vals[1] = nil // not measured: never on the front
		}
		changed, err := st.SetObjectiveValues(ctx, tr.ID, vals)
		if err != nil {
			t.Fatal(err)
		}
		if changed != (status == search.Complete) {
			t.Fatalf("trial %d (%s): SetObjectiveValues changed %v", i, status, changed)
		}
		if status == search.Complete && i%10 != 4 {
			ys = append(ys, []float64{-acc, sec})
			nums = append(nums, i)
		}
	}
	// The first write wins.
	if changed, err := st.SetObjectiveValues(ctx, trials[0].ID, []*float64{ptr(1), ptr(0)}); err != nil || changed {
		t.Fatalf("second write: changed %v, %v", changed, err)
	}
	stored, err := st.TrialByID(ctx, trials[0].ID)
	if err != nil || len(stored.ObjectiveValues) != 2 || *stored.ObjectiveValues[1] == 0 {
		t.Fatalf("stored values %v, %v", stored.ObjectiveValues, err)
	}

	// ObjectiveInputs: the spec, the row, and the epochs up to epochs_done.
	acc := 0.5
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{
		{TrialID: trials[0].ID, Epoch: 1, Attempt: 1, Layers: []byte(`[]`), EpochValues: events.EpochValues{ValAccuracy: &acc, SamplesPerSec: ptr(100)}},
		{TrialID: trials[0].ID, Epoch: 2, Attempt: 1, Layers: []byte(`[]`), EpochValues: events.EpochValues{ValAccuracy: &acc}},
	}); err != nil {
		t.Fatal(err)
	}
	oi, err := st.ObjectiveInputs(ctx, trials[0].ID)
	if err != nil || !strings.Contains(string(oi.Spec), `"epoch_seconds"`) || oi.Trial.Number != 0 || len(oi.Epochs) != 1 || *oi.Epochs[0].SamplesPerSec != 100 {
		t.Fatalf("objective inputs %+v, %v: want the spec and epoch 1 only (epochs_done 1)", oi, err)
	}
	if _, err := st.ObjectiveInputs(ctx, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown trial: %v", err)
	}

	var want []int
	for i, r := range search.ParetoRanks(ys) {
		if r == 1 {
			want = append(want, nums[i])
		}
	}
	front, err := st.ParetoFront(ctx, "mo")
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, p := range front {
		got = append(got, p.Trial)
		if len(p.Metrics) != 2 || p.Metrics[1] != "epoch_seconds" || p.Directions[0] != "maximize" {
			t.Fatalf("front row %+v: metrics or directions wrong", p)
		}
	}
	sort.Ints(got)
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("front %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("front %v, want %v", got, want)
		}
	}
	if so, err := st.ParetoFront(ctx, "so"); err != nil || len(so) != 0 {
		t.Fatalf("single-objective study's front: %v, %v", so, err)
	}

	reader := testdb.ReaderURL(t, url)
	for _, view := range []string{"pareto_front", "trial_objectives"} {
		res, err := asReader(t, reader, "SELECT * FROM "+view, 5*time.Second)
		if err != nil || len(res.rows) == 0 {
			t.Errorf("%s as the reader: %d rows, %v", view, len(res.rows), err)
		}
	}
}
