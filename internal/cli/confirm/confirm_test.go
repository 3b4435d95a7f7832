package confirm

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

func testSpec(t *testing.T, direction string) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse([]byte(`name: c
dataset: spirals
model: {hidden: [4]}
objective: {metric: val_accuracy, direction: ` + direction + `}
space:
  activation: {choice: [relu, tanh, elu]}
search: {algorithm: grid, max_trials: 6, parallelism: 1, seed: 9, replicates: 2}
schedule: {max_epochs: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// trial builds a stored trial of the given activation.
func trial(t *testing.T, number, replicate int, act string, seed int64, obj float64, status search.State) store.Trial {
	t.Helper()
	p := search.Config{"activation": search.Str(act)}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	o := obj
	return store.Trial{Number: number, ConfigHash: p.Hash(), Params: b, Replicate: replicate, Seed: seed, Status: status, Objective: &o}
}

func TestPlanPicksTheBestOnFreshSeeds(t *testing.T) {
	trials := []store.Trial{
		trial(t, 0, 0, "relu", 1, 0.90, search.Complete),
		trial(t, 1, 1, "relu", 2, 0.80, search.Complete), // relu 0.85
		trial(t, 2, 0, "tanh", 1, 0.95, search.Complete),
		trial(t, 3, 1, "tanh", 2, 0.93, search.Complete), // tanh 0.94
		trial(t, 4, 0, "elu", 1, 0.99, search.Failed),    // not complete: not counted
		trial(t, 5, 1, "elu", 2, 0.70, search.Complete),  // elu 0.70
	}
	for _, tc := range []struct {
		direction string
		want      []string
	}{{"maximize", []string{"tanh", "relu"}}, {"minimize", []string{"elu", "relu"}}} {
		p, err := NewPlan(testSpec(t, tc.direction), trials, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range p.Configs {
			got = append(got, c.Activation)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: top configurations %v, want %v", tc.direction, got, tc.want)
		}
		if p.First != 6 || len(p.Seeds) != 3 || len(p.Given) != 6 {
			t.Fatalf("%s: plan first %d, seeds %v, %d given; want 6, 3 seeds, 6 given", tc.direction, p.First, p.Seeds, len(p.Given))
		}
		used := map[int64]bool{1: true, 2: true}
		for i, g := range p.Given {
			if used[int64(g.Seed)] {
				t.Errorf("given trial %d reuses seed %d", i, g.Seed)
			}
			if g.Seed != p.Seeds[i%3] || g.Replicate != 2+i%3 {
				t.Errorf("given trial %d: seed %d replicate %d; want seed %d (paired), replicate %d", i, g.Seed, g.Replicate, p.Seeds[i%3], 2+i%3)
			}
			if g.Params.Hash() != p.Configs[i/3].Hash {
				t.Errorf("given trial %d is not configuration %d", i, i/3)
			}
		}
	}
	if _, err := NewPlan(testSpec(t, "maximize"), trials[4:5], 2, 3); err == nil || !strings.Contains(err.Error(), "no complete trial") {
		t.Errorf("a study without complete trials: %v", err)
	}
}

func TestAnalyzeFindsSignificantSwaps(t *testing.T) {
	sp := testSpec(t, "maximize")
	old := []store.Trial{
		trial(t, 0, 0, "tanh", 1, 0.95, search.Complete),
		trial(t, 1, 0, "relu", 1, 0.90, search.Complete),
	}
	p, err := NewPlan(sp, old, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	confirmWith := func(tanh, relu []float64) Report {
		trials := append([]store.Trial{}, old...)
		n := p.First
		for i, s := range p.Seeds {
			trials = append(trials, trial(t, n, 1+i, "tanh", int64(s), tanh[i], search.Complete),
				trial(t, n+1, 1+i, "relu", int64(s), relu[i], search.Complete))
			n += 2
		}
		// A trial of the same configuration from before the plan never counts.
		trials = append(trials, trial(t, 1, 0, "relu", int64(p.Seeds[0]), 0.01, search.Complete))
		return Analyze(p, trials, search.Maximize)
	}
	var buf bytes.Buffer
	held := confirmWith([]float64{0.95, 0.96, 0.94, 0.95}, []float64{0.90, 0.91, 0.89, 0.90})
	if !held.Holds || len(held.Swaps) != 0 || held.Rows[0].NewRank != 1 {
		t.Fatalf("same order: %+v", held)
	}
	if err := held.Write(&buf); err != nil || !strings.Contains(buf.String(), "the ranking holds: same order") {
		t.Fatalf("report %q, %v", buf.String(), err)
	}
	// relu beats tanh on every seed by about 0.05: a significant swap.
	swapped := confirmWith([]float64{0.90, 0.91, 0.89, 0.90}, []float64{0.95, 0.955, 0.945, 0.96})
	if swapped.Holds || len(swapped.Swaps) != 1 || !swapped.Swaps[0].Significant || swapped.Rows[1].NewRank != 1 {
		t.Fatalf("swap: %+v", swapped)
	}
	if d := swapped.Swaps[0].Diff; d.N != 4 || d.Mean < 0.04 || d.Mean > 0.06 {
		t.Fatalf("paired difference %+v, want 4 seeds, about 0.05", d)
	}
	buf.Reset()
	if err := swapped.Write(&buf); err != nil || !strings.Contains(buf.String(), "#2 relu now ahead of #1 tanh") ||
		!strings.Contains(buf.String(), "the ranking does not hold") {
		t.Fatalf("report %q, %v", buf.String(), err)
	}
	// A swap by noise: relu ahead on average, not on every seed.
	noisy := confirmWith([]float64{0.90, 0.95, 0.89, 0.96}, []float64{0.95, 0.90, 0.96, 0.90})
	if !noisy.Holds || len(noisy.Swaps) != 1 || noisy.Swaps[0].Significant {
		t.Fatalf("noisy swap: %+v", noisy)
	}
	buf.Reset()
	_ = noisy.Write(&buf)
	if !strings.Contains(buf.String(), "holds within noise") {
		t.Fatalf("report %q", buf.String())
	}
}
