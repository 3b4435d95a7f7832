package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

// objectiveWait bounds how long Record waits for a complete trial's metric
// rows before it computes the objective values from what has landed: the
// sink stores them asynchronously, usually within milliseconds.
const objectiveWait = 10 * time.Second

// shapes caches data set shapes by name: a CSV set's shape is measured by
// reading the whole file.
type shapes struct {
	mu sync.Mutex
	m  map[string]trainer.Shape
}

func (c *shapes) get(name string) (trainer.Shape, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[name]; ok {
		return s, nil
	}
	s, err := trainer.DatasetShape(name)
	if err != nil {
		return s, err
	}
	if c.m == nil {
		c.m = map[string]trainer.Shape{}
	}
	c.m[name] = s
	return s, nil
}

// recordObjectiveValues stores a complete trial's objective values when its
// study is multi-objective, once its metric rows have landed (or after
// objectiveWait, from those that have).
func (a *Activities) recordObjectiveValues(ctx context.Context, trialID int64) error {
	deadline := time.Now().Add(objectiveWait)
	for {
		in, err := a.Store.ObjectiveInputs(ctx, trialID)
		if err != nil {
			return err
		}
		var sp spec.Spec
		if err := json.Unmarshal(in.Spec, &sp); err != nil {
			return fmt.Errorf("trial %d: stored spec: %w", trialID, err)
		}
		if !sp.MultiObjective() || in.Trial.Status != search.Complete || in.Trial.ObjectiveValues != nil {
			return nil
		}
		if len(in.Epochs) < in.Trial.EpochsDone && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		var shape *trainer.Shape
		if s, err := a.shapes.get(sp.Dataset); err == nil {
			shape = &s
		} else if a.Log != nil {
			a.Log.Warn("objective values: data set shape unknown here", "dataset", sp.Dataset, "trial_id", trialID, "err", err)
		}
		values, err := ObjectiveValues(&sp, in, shape)
		if err != nil {
			return err
		}
		_, err = a.Store.SetObjectiveValues(ctx, trialID, values)
		return err
	}
}

// ObjectiveValues computes a trial's value of each of sp's objectives, in
// order, from its stored row and epochs and the data set's shape (nil when
// unknown): the last epoch's val_accuracy, val_loss and train_loss (the
// trial's objective when that row is missing and the metric is the
// study's objective), the stored test accuracy, the mean over epochs of the
// training split's size over the measured throughput, and the model's
// parameter count for the trial's configuration. A value that cannot be
// measured is nil.
func ObjectiveValues(sp *spec.Spec, in store.ObjectiveInputs, shape *trainer.Shape) ([]*float64, error) {
	t := in.Trial
	var last *store.TrialEpoch
	if n := len(in.Epochs); n > 0 && in.Epochs[n-1].Epoch == t.EpochsDone {
		last = &in.Epochs[n-1]
	}
	out := make([]*float64, len(sp.Objectives))
	for i, o := range sp.Objectives {
		m, err := spec.ParseObjectiveMetric(o.Metric)
		if err != nil {
			return nil, err
		}
		var v *float64
		switch m {
		case spec.MetricValAccuracy, spec.MetricValLoss, spec.MetricTrainLoss:
			if last != nil {
				v = map[spec.ObjectiveMetric]*float64{
					spec.MetricValAccuracy: last.ValAccuracy, spec.MetricValLoss: last.ValLoss, spec.MetricTrainLoss: last.TrainLoss,
				}[m]
			} else if o.Metric == sp.Objective.Metric {
				v = t.Objective
			}
		case spec.MetricTestAccuracy:
			v = t.TestAccuracy
		case spec.MetricEpochSeconds:
			if shape != nil && shape.Train > 0 {
				sum, n := 0.0, 0
				for _, e := range in.Epochs {
					if e.SamplesPerSec != nil && *e.SamplesPerSec > 0 {
						sum += float64(shape.Train) / *e.SamplesPerSec
						n++
					}
				}
				if n > 0 {
					x := sum / float64(n)
					v = &x
				}
			}
		case spec.MetricParamCount:
			if shape != nil {
				var c search.Config
				if err := json.Unmarshal(t.Params, &c); err != nil {
					return nil, fmt.Errorf("trial %d: stored params: %w", t.Number, err)
				}
				tc, err := sp.TrialConfig(c, uint64(t.Seed))
				if err != nil {
					return nil, fmt.Errorf("trial %d: %w", t.Number, err)
				}
				mem, err := trainer.EstimateMemory(tc, *shape)
				if err != nil {
					return nil, fmt.Errorf("trial %d: %w", t.Number, err)
				}
				x := float64(mem.NumParams)
				v = &x
			}
		}
		out[i] = finite(v)
	}
	return out, nil
}
