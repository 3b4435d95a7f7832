package controller

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

func ptr(x float64) *float64 { return &x }

func TestObjectiveValues(t *testing.T) {
	sp, err := spec.Parse([]byte(`name: mo
dataset: spirals
model: {kind: mlp, hidden: [8, 4]}
objectives:
  - {metric: val_accuracy}
  - {metric: epoch_seconds}
  - {metric: param_count}
  - {metric: test_accuracy}
space:
  activation: {choice: [relu, prelu]}
search: {algorithm: nsga2, max_trials: 4}
schedule: {max_epochs: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	shape, err := trainer.DatasetShape("spirals")
	if err != nil {
		t.Fatal(err)
	}
	params, _ := json.Marshal(search.Config{"activation": search.Str("relu")})
	in := store.ObjectiveInputs{
		Trial: store.Trial{Number: 3, Params: params, Seed: 1, Status: search.Complete, EpochsDone: 2,
			Objective: ptr(0.8), TestAccuracy: ptr(0.75)},
		Epochs: []store.TrialEpoch{
			{Epoch: 1, ValAccuracy: ptr(0.6), SamplesPerSec: ptr(float64(shape.Train))},     // 1 s
			{Epoch: 2, ValAccuracy: ptr(0.8), SamplesPerSec: ptr(float64(shape.Train) / 3)}, // 3 s
		},
	}
	got, err := ObjectiveValues(sp, in, &shape)
	if err != nil {
		t.Fatal(err)
	}
	// 2 inputs -> 8 -> 4 -> 3 classes: weights and biases.
	params1 := float64(2*8 + 8 + 8*4 + 4 + 4*3 + 3)
	want := []float64{0.8, 2, params1, 0.75}
	for i := range want {
		if got[i] == nil || math.Abs(*got[i]-want[i]) > 1e-9 {
			t.Fatalf("value %d (%s) = %v, want %v", i, sp.Objectives[i].Metric, deref2(got[i]), want[i])
		}
	}
	// PReLU adds one slope per hidden unit.
	prelu, _ := json.Marshal(search.Config{"activation": search.Str("prelu")})
	in.Trial.Params = prelu
	got, err = ObjectiveValues(sp, in, &shape)
	if err != nil || got[2] == nil || *got[2] <= params1 {
		t.Fatalf("prelu param count %v (%v), want more than relu's %v", deref2(got[2]), err, params1)
	}
	// Without the last epoch's row the objective stands in for its metric;
	// without a shape, the values that need it are unknown.
	in.Epochs = in.Epochs[:1]
	got, err = ObjectiveValues(sp, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] == nil || *got[0] != 0.8 || got[1] != nil || got[2] != nil {
		t.Fatalf("without the last epoch and the shape: %v %v %v", deref2(got[0]), got[1], got[2])
	}
}

func deref2(x *float64) any {
	if x == nil {
		return nil
	}
	return *x
}

func TestSamplerHistoryAveragesValues(t *testing.T) {
	params, _ := json.Marshal(search.Config{"activation": search.Str("relu")})
	other, _ := json.Marshal(search.Config{"activation": search.Str("elu")})
	rows := []store.Trial{
		{Number: 0, ConfigHash: "a", Params: params, Status: search.Complete, Objective: ptr(1), ObjectiveValues: []*float64{ptr(1), ptr(10)}},
		{Number: 1, ConfigHash: "a", Params: params, Status: search.Complete, Objective: ptr(3), ObjectiveValues: []*float64{ptr(3), ptr(20)}},
		{Number: 2, ConfigHash: "b", Params: other, Status: search.Complete, Objective: ptr(2), ObjectiveValues: []*float64{ptr(2), nil}},
	}
	h, err := samplerHistory(rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || len(h[0].Values) != 2 || h[0].Values[0] != 2 || h[0].Values[1] != 15 {
		t.Fatalf("history %+v: want config a with values [2 15]", h)
	}
	if h[1].Values != nil {
		t.Fatalf("config b with a missing value got values %v, want none", h[1].Values)
	}
}
