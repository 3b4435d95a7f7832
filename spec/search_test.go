package spec

import (
	"errors"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

// searchSpec is a valid spec whose search and schedule lines are replaced.
func searchSpec(searchLine, scheduleLine string) string {
	return `name: s1
dataset: spirals
model: {kind: mlp, hidden: [8]}
space:
  activation: {choice: [relu, leaky_relu]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
` + searchLine + "\n" + scheduleLine + "\n"
}

func TestParseSearchAlgorithms(t *testing.T) {
	for _, tt := range []struct {
		search, schedule string
		multivariate     bool
		brackets         int
	}{
		{"search: {algorithm: gp, max_trials: 4}", "schedule: {max_epochs: 3}", false, 0},
		{"search: {algorithm: cmaes, max_trials: 4}", "schedule: {max_epochs: 3}", false, 0},
		{"search: {algorithm: tpe, multivariate: true, max_trials: 4}", "schedule: {max_epochs: 3}", true, 0},
		{"search: {algorithm: tpe, max_trials: 4}", "schedule: {kind: hyperband, max_epochs: 27}", false, 0},
		{"search: {algorithm: tpe, max_trials: 4}", "schedule: {kind: hyperband, max_epochs: 27, brackets: 2}", false, 2},
	} {
		s, err := Parse([]byte(searchSpec(tt.search, tt.schedule)))
		if err != nil {
			t.Fatalf("%s / %s: %v", tt.search, tt.schedule, err)
		}
		if got := s.SamplerOptions().Multivariate; got != tt.multivariate {
			t.Errorf("%s: multivariate %v, want %v", tt.search, got, tt.multivariate)
		}
		if _, err := search.NewSampler(s.Search.Algorithm, s.SamplerOptions()); err != nil {
			t.Errorf("%s: %v", tt.search, err)
		}
		if got := s.SchedulerSpec().Brackets; got != tt.brackets {
			t.Errorf("%s: brackets %d, want %d", tt.schedule, got, tt.brackets)
		}
		if _, err := search.NewScheduler(s.SchedulerSpec()); err != nil {
			t.Errorf("%s: %v", tt.schedule, err)
		}
		// The canonical form keeps the options.
		again, err := Parse(s.Canonical())
		if err != nil || again.Hash() != s.Hash() {
			t.Errorf("%s / %s: canonical round trip: %v", tt.search, tt.schedule, err)
		}
	}
}

func TestParseSearchRejects(t *testing.T) {
	onlyChoices := `name: s1
dataset: spirals
model: {kind: mlp, hidden: [8]}
space:
  activation: {choice: [relu, leaky_relu]}
search: {algorithm: cmaes, max_trials: 4}
schedule: {max_epochs: 3}
`
	for _, tt := range []struct {
		yaml string
		want []string // the field, the value and what is allowed
	}{
		{searchSpec("search: {algorithm: bayes, max_trials: 4}", "schedule: {max_epochs: 3}"),
			[]string{"search.algorithm", `"bayes"`, "cmaes, gp, grid, nsga2, random, sobol, tpe"}},
		{searchSpec("search: {algorithm: gp, multivariate: true, max_trials: 4}", "schedule: {max_epochs: 3}"),
			[]string{"search.multivariate", `"gp"`, "tpe only"}},
		{onlyChoices, []string{"search.algorithm", `"cmaes"`, "uniform, log_uniform or int_uniform"}},
		{searchSpec("search: {max_trials: 4}", "schedule: {kind: hyperband, max_epochs: 9, brackets: 4}"),
			[]string{"brackets", "4", "[1, 3]"}},
		{searchSpec("search: {max_trials: 4}", "schedule: {kind: asha, max_epochs: 9, brackets: 2}"),
			[]string{"brackets", "2", "hyperband only"}},
		{searchSpec("search: {max_trials: 4}", "schedule: {kind: bohb, max_epochs: 9}"),
			[]string{"schedule.kind", `"bohb"`, "hyperband"}},
	} {
		_, err := Parse([]byte(tt.yaml))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: got %v, want ErrInvalid", tt.want, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
	}
}
