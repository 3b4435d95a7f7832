package spec

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePBT(t *testing.T) {
	s, err := Parse([]byte(searchSpec("search: {max_trials: 4, parallelism: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2}")))
	if err != nil {
		t.Fatal(err)
	}
	p := s.PBT()
	if p.Quantile != 0.25 || len(p.Perturb) != 2 || p.Perturb[0] != 0.8 || p.Perturb[1] != 1.2 || p.ResampleProbability != 0.25 {
		t.Errorf("defaults: got %+v", p)
	}
	if err := p.Check(); err != nil {
		t.Errorf("defaults do not pass search.PBT.Check: %v", err)
	}
	if g := s.PBTGenerations(); g != 3 {
		t.Errorf("generations %d, want 3", g)
	}
	s, err = Parse([]byte(searchSpec("search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 7, interval: 3, quantile: 0.5, perturb: [0.5], resample_probability: 0}")))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.PBT(); p.Quantile != 0.5 || p.ResampleProbability != 0 || len(p.Perturb) != 1 || s.PBTGenerations() != 3 {
		t.Errorf("explicit settings: got %+v, %d generations", p, s.PBTGenerations())
	}
}

func TestParsePBTRejects(t *testing.T) {
	for _, tt := range []struct {
		search, schedule string
		want             []string
	}{
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6}", []string{"schedule.interval", "0", "[1, max_epochs=6]"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 7}", []string{"schedule.interval", "7"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, quantile: 0.75}", []string{"schedule.quantile", "0.75", "(0, 0.5]"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, quantile: -1}", []string{"schedule.quantile", "-1"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, perturb: []}", []string{"schedule.perturb", "1 to 16"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, perturb: [0.8, 0]}", []string{"schedule.perturb[1]", "0", "(0, 10]"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, resample_probability: 1.5}", []string{"schedule.resample_probability", "1.5", "[0, 1]"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2, patience: 2}", []string{"schedule.patience", "pbt"}},
		{"search: {max_trials: 4, replicates: 2}", "schedule: {kind: pbt, max_epochs: 6, interval: 2}", []string{"search.replicates", "2", "pbt"}},
		{"search: {max_trials: 1}", "schedule: {kind: pbt, max_epochs: 6, interval: 2}", []string{"search.max_trials", "1", "population"}},
		{"search: {max_trials: 1000, parallelism: 8}", "schedule: {kind: pbt, max_epochs: 100, interval: 1}", []string{"100 generations x population 1000", "2000"}},
		{"search: {max_trials: 4}", "schedule: {kind: asha, max_epochs: 6, interval: 2}", []string{"schedule", "pbt only"}},
		{"search: {max_trials: 4}", "schedule: {kind: pbt, max_epochs: 6, interval: 2}\nobjectives: [{metric: val_accuracy}, {metric: epoch_seconds}]", []string{"objectives", "2 metrics", "single objective"}},
	} {
		_, err := Parse([]byte(searchSpec(tt.search, tt.schedule)))
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tt.schedule, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tt.schedule, err, w)
			}
		}
	}
}
