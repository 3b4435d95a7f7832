package studyview

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/spec"
)

func TestObjectivesFront(t *testing.T) {
	sp, err := spec.Parse([]byte(`name: mo
dataset: spirals
model: {kind: mlp, hidden: [8]}
objectives: [{metric: val_accuracy, direction: maximize}, {metric: epoch_seconds, direction: minimize}]
space:
  activation: {choice: [relu, tanh]}
search: {algorithm: nsga2, max_trials: 8}
schedule: {max_epochs: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	v := func(xs ...float64) []*float64 {
		out := make([]*float64, len(xs))
		for i := range xs {
			out[i] = &xs[i]
		}
		return out
	}
	relu := "relu"
	trials := []store.TrialOverview{
		{Trial: 0, Activation: &relu, Status: "complete", ObjectiveValues: v(0.9, 2)},
		{Trial: 1, Activation: &relu, Status: "complete", ObjectiveValues: v(0.8, 1)},
		{Trial: 2, Activation: &relu, Status: "complete", ObjectiveValues: v(0.7, 3)}, // dominated by 0 and 1
		{Trial: 3, Activation: &relu, Status: "complete", ObjectiveValues: []*float64{v(1)[0], nil}},
		{Trial: 4, Activation: &relu, Status: "failed"},
	}
	o := objectives(sp, trials)
	if o == nil || len(o.Points) != 3 || strings.Join(o.Metrics, ",") != "val_accuracy,epoch_seconds" || o.Directions[1] != "minimize" {
		t.Fatalf("objectives %+v", o)
	}
	for _, p := range o.Points {
		if want := p.Trial != 2; p.Front != want {
			t.Errorf("trial %d: front %v, want %v", p.Trial, p.Front, want)
		}
	}
	b, err := json.Marshal(o)
	if err != nil || !strings.Contains(string(b), `"values":[0.9,2]`) {
		t.Fatalf("JSON %s, %v", b, err)
	}
	single, err := spec.Parse([]byte(`name: so
dataset: spirals
model: {kind: mlp, hidden: [8]}
space:
  activation: {choice: [relu, tanh]}
search: {algorithm: nsga2, max_trials: 8}
schedule: {max_epochs: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	if objectives(single, trials) != nil {
		t.Fatal("a single-objective study has objectives")
	}
}
