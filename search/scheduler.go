package search

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Scheduler decides when a running trial stops early. Like a Sampler it is
// pure and stateless: the caller keeps the values trials reported and hands
// them in, so a decision can be replayed after any restart.
type Scheduler interface {
	// Name is the scheduler's kind in a study spec.
	Name() string
	// Rung reports whether epoch (1-based) is a decision point.
	Rung(epoch int) bool
	// Continue decides whether a trial that reached epoch with value should
	// go on, given the values every trial (including this one) has reported
	// at that epoch so far, in direction dir. It is only meaningful at a
	// rung. A NaN value never continues; NaN peers are ignored.
	Continue(epoch int, value float64, peers []float64, dir Direction) bool
}

// SchedulerSpec selects and tunes a scheduler; zero values mean defaults.
type SchedulerSpec struct {
	// Kind is "none", "asha", "median", "hyperband" or "pbt" ("" means
	// "none").
	Kind ScheduleKind
	// MinEpochs is ASHA's first rung (default 1).
	MinEpochs int
	// MaxEpochs is the full budget of a trial: ASHA's rungs lie below it and
	// the median rule stops deciding at it. Required for "asha"; 0 means no
	// limit for "median".
	MaxEpochs int
	// Reduction is ASHA's factor between rungs and the inverse of the
	// fraction that continues (default 3).
	Reduction int
	// MinTrials is how many values (this trial's included) the median rule
	// needs at an epoch before it stops anything (default 5).
	MinTrials int
	// WarmupEpochs is how many epochs the median rule lets every trial run
	// (default 0).
	WarmupEpochs int
	// Brackets is Hyperband's number of brackets (default and most: as
	// many as MinEpochs, MaxEpochs and Reduction allow).
	Brackets int
}

// ScheduleKind names an early-stopping scheduler, as a study spec spells it.
type ScheduleKind string

// Scheduler kinds.
const (
	SchedulerNone   ScheduleKind = "none"
	SchedulerASHA   ScheduleKind = "asha"
	SchedulerMedian ScheduleKind = "median"
	// SchedulerHyperband runs ASHA brackets side by side (see Hyperband).
	SchedulerHyperband ScheduleKind = "hyperband"
)

// SchedulerKinds lists the kinds NewScheduler accepts.
func SchedulerKinds() []ScheduleKind {
	return []ScheduleKind{SchedulerNone, SchedulerASHA, SchedulerMedian, SchedulerHyperband, SchedulerPBT}
}

// ParseScheduleKind returns the kind spelled s. The error, which wraps
// ErrInvalidSchedule, names the value and the allowed kinds.
func ParseScheduleKind(s string) (ScheduleKind, error) {
	for _, k := range SchedulerKinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: kind: %q is not one of %v", ErrInvalidSchedule, s, SchedulerKinds())
}

// Scheduler defaults.
const (
	defaultReduction       = 3
	defaultMedianMinTrials = 5
)

// ErrInvalidSchedule is wrapped by every NewScheduler error.
var ErrInvalidSchedule = errors.New("search: invalid schedule")

// NewScheduler validates spec and returns its scheduler.
func NewScheduler(spec SchedulerSpec) (Scheduler, error) {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%w: %s.%s: %v %s", ErrInvalidSchedule, spec.Kind, field, v, allowed)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"min_epochs", spec.MinEpochs}, {"max_epochs", spec.MaxEpochs}, {"reduction", spec.Reduction},
		{"min_trials", spec.MinTrials}, {"warmup_epochs", spec.WarmupEpochs}, {"brackets", spec.Brackets},
	} {
		if f.v < 0 {
			return nil, bad(f.name, f.v, "must be >= 0")
		}
	}
	if spec.Brackets != 0 && spec.Kind != SchedulerHyperband {
		return nil, bad("brackets", spec.Brackets, "applies to kind hyperband only")
	}
	switch spec.Kind {
	case "", SchedulerNone, SchedulerPBT:
		// PBT stops no trial: its generations are run by the study
		// (see PBT).
		return None{}, nil
	case SchedulerASHA, SchedulerHyperband:
		a := ASHA{MinEpochs: spec.MinEpochs, MaxEpochs: spec.MaxEpochs, Reduction: spec.Reduction}
		if a.MinEpochs == 0 {
			a.MinEpochs = 1
		}
		if a.Reduction == 0 {
			a.Reduction = defaultReduction
		}
		switch {
		case spec.MaxEpochs == 0:
			return nil, bad("max_epochs", spec.MaxEpochs, "must be set (>= 1)")
		case a.Reduction < 2:
			return nil, bad("reduction", a.Reduction, "must be >= 2")
		case a.MinEpochs > a.MaxEpochs:
			return nil, bad("min_epochs", a.MinEpochs, fmt.Sprintf("must be <= max_epochs %d", a.MaxEpochs))
		}
		if spec.Kind == SchedulerASHA {
			return a, nil
		}
		h := Hyperband{MinEpochs: a.MinEpochs, MaxEpochs: a.MaxEpochs, Reduction: a.Reduction, Brackets: spec.Brackets}
		if most := h.MaxBrackets(); h.Brackets > most {
			return nil, bad("brackets", h.Brackets, fmt.Sprintf("must be in [1, %d] (0 means %d): min_epochs %d, max_epochs %d and reduction %d allow %d", most, most, a.MinEpochs, a.MaxEpochs, a.Reduction, most))
		}
		return h.norm(), nil
	case SchedulerMedian:
		m := Median{MinTrials: spec.MinTrials, WarmupEpochs: spec.WarmupEpochs, MaxEpochs: spec.MaxEpochs}
		if m.MinTrials == 0 {
			m.MinTrials = defaultMedianMinTrials
		}
		if m.MaxEpochs > 0 && m.WarmupEpochs >= m.MaxEpochs {
			return nil, bad("warmup_epochs", m.WarmupEpochs, fmt.Sprintf("must be < max_epochs %d", m.MaxEpochs))
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: kind: %q is not one of %v", ErrInvalidSchedule, spec.Kind, SchedulerKinds())
}

// None never stops a trial early.
type None struct{}

// Name implements Scheduler.
func (None) Name() string { return string(SchedulerNone) }

// Rung implements Scheduler: no epoch is a decision point.
func (None) Rung(int) bool { return false }

// Continue implements Scheduler: always true.
func (None) Continue(int, float64, []float64, Direction) bool { return true }

// ASHA is asynchronous successive halving (Li et al., "A System for Massively
// Parallel Hyperparameter Tuning", MLSys 2020) over epochs. Its rungs are
// the epochs MinEpochs * Reduction^i below MaxEpochs. A trial reaching a rung
// continues if it is among the best k of the values recorded at that rung so
// far, where k = floor(n / Reduction) for n values, and at least 1: the first
// trials at a rung continue only if they are the best yet, as in Optuna's
// successive halving pruner (trials are stopped, never paused and resumed).
// Ties continue.
type ASHA struct {
	MinEpochs, MaxEpochs, Reduction int
}

// Name implements Scheduler.
func (ASHA) Name() string { return string(SchedulerASHA) }

// norm applies the defaults to a zero MinEpochs or Reduction, so that a
// literal ASHA{} cannot loop.
func (a ASHA) norm() ASHA {
	a.MinEpochs = max(a.MinEpochs, 1)
	if a.Reduction < 2 {
		a.Reduction = defaultReduction
	}
	return a
}

// Rungs returns the rung epochs in increasing order.
func (a ASHA) Rungs() []int {
	a = a.norm()
	var out []int
	for e := a.MinEpochs; e < a.MaxEpochs; e *= a.Reduction {
		out = append(out, e)
		if e > math.MaxInt/a.Reduction {
			break
		}
	}
	return out
}

// Rung implements Scheduler.
func (a ASHA) Rung(epoch int) bool {
	a = a.norm()
	if epoch < a.MinEpochs || epoch >= a.MaxEpochs {
		return false
	}
	for e := a.MinEpochs; e <= epoch; e *= a.Reduction {
		if e == epoch {
			return true
		}
		if e > math.MaxInt/a.Reduction {
			break
		}
	}
	return false
}

// Continue implements Scheduler.
func (a ASHA) Continue(epoch int, value float64, peers []float64, dir Direction) bool {
	if math.IsNaN(value) {
		return false
	}
	n, better := 0, 0
	for _, p := range peers {
		if math.IsNaN(p) {
			continue
		}
		n++
		if dir.Better(p, value) {
			better++
		}
	}
	k := max(n/a.norm().Reduction, 1)
	return better < k
}

// Median is the median stopping rule (Golovin et al., "Google Vizier",
// KDD 2017, as in Optuna's MedianPruner): after WarmupEpochs, at every epoch,
// a trial stops if its value is strictly worse than the median of the values
// reported at that epoch (its own included), once at least MinTrials of them
// are in.
type Median struct {
	MinTrials, WarmupEpochs, MaxEpochs int
}

// Name implements Scheduler.
func (Median) Name() string { return string(SchedulerMedian) }

// Rung implements Scheduler.
func (m Median) Rung(epoch int) bool {
	return epoch > m.WarmupEpochs && (m.MaxEpochs <= 0 || epoch < m.MaxEpochs)
}

// Continue implements Scheduler.
func (m Median) Continue(epoch int, value float64, peers []float64, dir Direction) bool {
	if math.IsNaN(value) {
		return false
	}
	vs := make([]float64, 0, len(peers))
	for _, p := range peers {
		if !math.IsNaN(p) {
			vs = append(vs, p)
		}
	}
	if len(vs) < max(m.MinTrials, 1) {
		return true
	}
	sort.Float64s(vs)
	med := vs[len(vs)/2]
	if len(vs)%2 == 0 {
		med = (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
	}
	return !dir.Better(med, value)
}
