package spec

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

const multi = `name: mo
dataset: spirals
model: {kind: mlp, hidden: [8]}
objectives:
  - {metric: val_accuracy, direction: maximize}
  - {metric: epoch_seconds}
space:
  activation: {choice: [relu, tanh]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {algorithm: nsga2, max_trials: 4}
schedule: {max_epochs: 3}
`

func TestParseObjectives(t *testing.T) {
	s, err := Parse([]byte(multi))
	if err != nil {
		t.Fatal(err)
	}
	if !s.MultiObjective() {
		t.Fatal("MultiObjective() = false")
	}
	if got, want := s.Directions(), []search.Direction{search.Maximize, search.Minimize}; !slices.Equal(got, want) {
		t.Fatalf("directions %v, want %v (epoch_seconds defaults to minimize)", got, want)
	}
	if s.Objective.Metric != "val_accuracy" || s.Objective.Direction != search.Maximize {
		t.Fatalf("single objective %+v, want the first trainer metric of objectives", s.Objective)
	}
	if got := s.SamplerOptions().Directions; len(got) != 2 {
		t.Fatalf("sampler options directions %v", got)
	}
	again, err := Parse(s.Canonical())
	if err != nil || again.Hash() != s.Hash() {
		t.Fatalf("canonical form: %v, hash %s vs %s", err, again.Hash(), s.Hash())
	}
	// A single-objective spec's canonical form does not mention objectives,
	// so the hashes of existing studies stay.
	one, err := Parse([]byte(valid))
	if err != nil || strings.Contains(string(one.Canonical()), "objectives") {
		t.Fatalf("single-objective canonical form: %v\n%s", err, one.Canonical())
	}
	// Objectives that the trainer does not measure per epoch leave the
	// single objective at its default.
	s2, err := Parse([]byte(strings.Replace(multi, "{metric: val_accuracy, direction: maximize}", "{metric: param_count}", 1)))
	if err != nil || s2.Objective.Metric != "val_accuracy" || s2.Directions()[0] != search.Minimize {
		t.Fatalf("param_count + epoch_seconds: %v, objective %+v, directions %v", err, s2.Objective, s2.Directions())
	}
}

func TestParseObjectivesRejects(t *testing.T) {
	objectives := "objectives:\n  - {metric: val_accuracy, direction: maximize}\n  - {metric: epoch_seconds}\n"
	tests := []struct {
		name, from, to, want string
	}{
		{"unknown metric", "{metric: epoch_seconds}", "{metric: flops}",
			`objectives[1].metric: "flops" is not an objective metric (allowed: val_accuracy, val_loss, train_loss, test_accuracy, epoch_seconds, param_count)`},
		{"bad direction", "{metric: epoch_seconds}", "{metric: epoch_seconds, direction: down}",
			`objectives[1].direction: "down" must be maximize or minimize`},
		{"repeated metric", "{metric: epoch_seconds}", "{metric: val_accuracy}",
			`objectives[1].metric: "val_accuracy" repeats objectives[0]`},
		{"one objective", objectives, "objectives:\n  - {metric: val_accuracy}\n",
			"objectives: 1 objectives must list 2 to 4"},
		{"five objectives", objectives, "objectives: [{metric: val_accuracy}, {metric: val_loss}, {metric: train_loss}, {metric: param_count}, {metric: epoch_seconds}]\n",
			"objectives: 5 objectives must list 2 to 4"},
		{"tpe", "algorithm: nsga2", "algorithm: tpe",
			`search.algorithm: "tpe" optimises a single objective and cannot run a study with objectives (allowed with objectives: grid, nsga2, random, sobol)`},
		{"gp", "algorithm: nsga2", "algorithm: gp", `search.algorithm: "gp" optimises a single objective`},
		{"cmaes", "algorithm: nsga2", "algorithm: cmaes", `search.algorithm: "cmaes" optimises a single objective`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(multi, "objectives:\n  - {metric: val_accuracy, direction: maximize}\n  - {metric: epoch_seconds}\n", objectives, 1)
			if !strings.Contains(src, tt.from) {
				t.Fatalf("test spec lacks %q", tt.from)
			}
			_, err := Parse([]byte(strings.Replace(src, tt.from, tt.to, 1)))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// Samplers that do not read results accept objectives.
	for _, alg := range []string{"random", "grid", "sobol"} {
		if _, err := Parse([]byte(strings.Replace(multi, "algorithm: nsga2", "algorithm: "+alg, 1))); err != nil {
			t.Errorf("%s with objectives: %v", alg, err)
		}
	}
}
