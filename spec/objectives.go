package spec

import (
	"fmt"
	"strings"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// ObjectiveMetric names a value a multi-objective study optimises; the set
// is closed and ParseObjectiveMetric is the one place a name is matched.
type ObjectiveMetric string

// Objective metrics. The first three are measured on the last epoch the
// trial trained; TestAccuracy once after training; EpochSeconds is the mean
// training time of an epoch (the training split over the measured
// throughput, evaluation excluded); ParamCount is the model's number of
// parameters.
const (
	MetricValAccuracy  ObjectiveMetric = "val_accuracy"
	MetricValLoss      ObjectiveMetric = "val_loss"
	MetricTrainLoss    ObjectiveMetric = "train_loss"
	MetricTestAccuracy ObjectiveMetric = "test_accuracy"
	MetricEpochSeconds ObjectiveMetric = "epoch_seconds"
	MetricParamCount   ObjectiveMetric = "param_count"
)

// ObjectiveMetrics lists every objective metric.
func ObjectiveMetrics() []ObjectiveMetric {
	return []ObjectiveMetric{MetricValAccuracy, MetricValLoss, MetricTrainLoss, MetricTestAccuracy, MetricEpochSeconds, MetricParamCount}
}

// ParseObjectiveMetric returns the objective metric named s, or an error
// that lists the allowed names.
func ParseObjectiveMetric(s string) (ObjectiveMetric, error) {
	for _, m := range ObjectiveMetrics() {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("spec: %q is not an objective metric (allowed: %s)", s, joinKinds(ObjectiveMetrics()))
}

// DefaultDirection is the direction an objective that names none takes:
// maximize for the accuracies, minimize for the rest.
func (m ObjectiveMetric) DefaultDirection() search.Direction {
	if m == MetricValAccuracy || m == MetricTestAccuracy {
		return search.Maximize
	}
	return search.Minimize
}

// MaxObjectives bounds objectives.
const MaxObjectives = 4

// MultiObjective reports whether the spec lists objectives.
func (s *Spec) MultiObjective() bool { return len(s.Objectives) > 0 }

// Directions returns the directions of the spec's objectives, in order
// (nil for a single-objective spec).
func (s *Spec) Directions() []search.Direction {
	if len(s.Objectives) == 0 {
		return nil
	}
	out := make([]search.Direction, len(s.Objectives))
	for i, o := range s.Objectives {
		out[i] = o.Direction
	}
	return out
}

// defaultObjectives fills in the objectives' directions and, when the spec
// names no single objective, makes it the first objective the trainer
// measures every epoch (what early stopping and the ranking views use).
func (s *Spec) defaultObjectives() {
	for i := range s.Objectives {
		o := &s.Objectives[i]
		if o.Direction == "" {
			if m, err := ParseObjectiveMetric(o.Metric); err == nil {
				o.Direction = m.DefaultDirection()
			}
		}
	}
	if s.Objective.Metric != "" {
		return
	}
	for _, o := range s.Objectives {
		if _, err := trainer.ParseMetric(o.Metric); err == nil {
			s.Objective = o
			return
		}
	}
}

func (s *Spec) validateObjectives() error {
	if len(s.Objectives) == 0 {
		return nil
	}
	if len(s.Objectives) < 2 || len(s.Objectives) > MaxObjectives {
		return invalid("objectives", fmt.Sprintf("%d objectives", len(s.Objectives)),
			fmt.Sprintf("must list 2 to %d (a study with one uses objective)", MaxObjectives))
	}
	seen := map[string]int{}
	for i, o := range s.Objectives {
		field := fmt.Sprintf("objectives[%d]", i)
		if _, err := ParseObjectiveMetric(o.Metric); err != nil {
			return invalid(field+".metric", fmt.Sprintf("%q", clip(o.Metric)), "is not an objective metric (allowed: "+joinKinds(ObjectiveMetrics())+")")
		}
		if j, dup := seen[o.Metric]; dup {
			return invalid(field+".metric", fmt.Sprintf("%q", o.Metric), fmt.Sprintf("repeats objectives[%d] (each metric at most once)", j))
		}
		seen[o.Metric] = i
		if o.Direction != search.Maximize && o.Direction != search.Minimize {
			return invalid(field+".direction", fmt.Sprintf("%q", clip(string(o.Direction))), "must be maximize or minimize")
		}
	}
	if !search.MultiObjective(s.Search.Algorithm) {
		var ok []string
		for _, a := range search.Algorithms() {
			if search.MultiObjective(a) {
				ok = append(ok, a)
			}
		}
		return invalid("search.algorithm", fmt.Sprintf("%q", s.Search.Algorithm),
			fmt.Sprintf("optimises a single objective and cannot run a study with objectives (allowed with objectives: %s)", strings.Join(ok, ", ")))
	}
	return nil
}
