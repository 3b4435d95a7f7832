package trainer

import (
	"errors"
	"fmt"
)

// Metric names an objective a study can optimise: one of the values Train
// reports after every epoch. The set is closed; ParseMetric is the one
// place a name is matched.
type Metric string

// Objective metrics.
const (
	ValAccuracy Metric = "val_accuracy"
	ValLoss     Metric = "val_loss"
	TrainLoss   Metric = "train_loss"
)

// DefaultMetric is the objective of a spec that names none.
const DefaultMetric = ValAccuracy

// Metrics lists every objective metric.
var Metrics = []Metric{ValAccuracy, ValLoss, TrainLoss}

// ErrUnknownMetric is wrapped by ParseMetric's error.
var ErrUnknownMetric = errors.New("unknown metric")

// ParseMetric returns the metric named s; the error names s and the
// allowed names.
func ParseMetric(s string) (Metric, error) {
	for _, m := range Metrics {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not a metric (allowed: val_accuracy, val_loss, train_loss)", ErrUnknownMetric, s)
}

// Of returns the metric's value in one epoch's metrics. ok is false for a
// metric outside the set.
func (m Metric) Of(e EpochMetrics) (v float64, ok bool) {
	switch m {
	case ValAccuracy:
		return e.ValAccuracy, true
	case ValLoss:
		return e.ValLoss, true
	case TrainLoss:
		return e.TrainLoss, true
	}
	return 0, false
}

// Minimized reports whether smaller values of the metric are better
// (the losses), the direction a spec that names none takes.
func (m Metric) Minimized() bool { return m == ValLoss || m == TrainLoss }
