package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// SchedulerPBT is population-based training (Jaderberg et al., "Population
// Based Training of Neural Networks", 2017): the population trains in
// synchronous generations of PBT.Interval epochs; after each, the bottom
// quantile copies the weights and parameters of a top-quantile member
// (exploit) and perturbs or resamples the parameters PBT may change
// (explore). Within a generation no trial is stopped early.
const SchedulerPBT ScheduleKind = "pbt"

// PBTMutable lists the parameters PBT's explore step changes: those that
// can differ between the weights' source and the trial that continues
// from them without changing the network's shape. Every other parameter
// (activation, batch size, initialisation, optimizer) is copied from the
// source unchanged.
var PBTMutable = []string{"learning_rate", "negative_slope", "elu_alpha", "prelu_init", "weight_decay"}

// PBT holds the settings of population-based training's exploit/explore
// step.
type PBT struct {
	// Quantile is the fraction of the population, in (0, 0.5], that
	// copies another member each generation, and the fraction it copies
	// from.
	Quantile float64
	// Perturb lists the factors explore multiplies a parameter by, one
	// drawn uniformly for each parameter (e.g. [0.8, 1.2]).
	Perturb []float64
	// ResampleProbability is the chance, for each parameter, that explore
	// draws it afresh from the space instead of perturbing it.
	ResampleProbability float64
}

// PBTMember is one trial's standing at the end of a generation.
type PBTMember struct {
	Trial int `json:"trial"`
	// Value is the study's objective at the generation's last epoch; NaN
	// when the trial has none (it diverged), which ranks it last.
	Value  float64 `json:"value"`
	Params Config  `json:"params"`
}

// PBTStep is one exploit/explore decision: Target continues from Source's
// weights with parameters New (it trained with Old).
type PBTStep struct {
	Target int    `json:"target"`
	Source int    `json:"source"`
	Old    Config `json:"old"`
	New    Config `json:"new"`
}

// Check validates the settings.
func (p PBT) Check() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%w: pbt.%s: %v %s", ErrInvalidSchedule, field, v, allowed)
	}
	if math.IsNaN(p.Quantile) || p.Quantile <= 0 || p.Quantile > 0.5 {
		return bad("quantile", p.Quantile, "must be in (0, 0.5] (the fraction replaced each generation, and the fraction copied from)")
	}
	if len(p.Perturb) < 1 || len(p.Perturb) > 16 {
		return bad("perturb", p.Perturb, "must list 1 to 16 factors")
	}
	for i, f := range p.Perturb {
		if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 10 {
			return bad(fmt.Sprintf("perturb[%d]", i), f, "must be in (0, 10]")
		}
	}
	if math.IsNaN(p.ResampleProbability) || p.ResampleProbability < 0 || p.ResampleProbability > 1 {
		return bad("resample_probability", p.ResampleProbability, "must be in [0, 1]")
	}
	return nil
}

// Replaced is how many of a population of n copy another member each
// generation: ceil(n * Quantile), at most n/2.
func (p PBT) Replaced(n int) int {
	k := int(math.Ceil(float64(n)*p.Quantile - 1e-9))
	return min(k, n/2)
}

// Exploit decides one generation's exploit and explore steps. members are
// ranked by Value in direction dir, NaN last and ties by trial number; the
// bottom Replaced(n) each copy a member of the top Replaced(n), drawn from
// a generator seeded with (seed, generation), and explore from its
// parameters. The result, ordered by target, depends only on its
// arguments. A member whose value is NaN is always replaced when the
// population has a finite member to copy.
func (p PBT) Exploit(space *Space, members []PBTMember, dir Direction, seed uint64, generation int) []PBTStep {
	ranked := slices.Clone(members)
	slices.SortStableFunc(ranked, func(a, b PBTMember) int {
		an, bn := math.IsNaN(a.Value), math.IsNaN(b.Value)
		switch {
		case an && !bn:
			return 1
		case bn && !an:
			return -1
		case !an && dir.Better(a.Value, b.Value):
			return -1
		case !an && dir.Better(b.Value, a.Value):
			return 1
		}
		return a.Trial - b.Trial
	})
	k := p.Replaced(len(ranked))
	var top []PBTMember
	for _, m := range ranked[:k] {
		if !math.IsNaN(m.Value) {
			top = append(top, m)
		}
	}
	if len(top) == 0 {
		return nil
	}
	bottom := slices.Clone(ranked[len(ranked)-k:])
	slices.SortFunc(bottom, func(a, b PBTMember) int { return a.Trial - b.Trial })
	rng := rand.New(rand.NewPCG(seed, uint64(generation)))
	steps := make([]PBTStep, 0, len(bottom))
	for _, m := range bottom {
		src := top[rng.IntN(len(top))]
		steps = append(steps, PBTStep{Target: m.Trial, Source: src.Trial, Old: m.Params, New: p.explore(space, src.Params, rng)})
	}
	return steps
}

// explore returns a copy of c with each mutable parameter it holds either
// drawn afresh from the space (with probability ResampleProbability) or
// multiplied by one of the Perturb factors and kept inside the space. A
// choice moves to the neighbouring choice in the factor's direction.
func (p PBT) explore(space *Space, c Config, rng *rand.Rand) Config {
	out := make(Config, len(c))
	for k, v := range c {
		out[k] = v
	}
	for _, name := range PBTMutable {
		v, ok := c[name]
		if !ok || v.IsString() {
			continue
		}
		param, ok := space.Param(name)
		if !ok {
			continue
		}
		// Both draws are made for every parameter, so that one
		// parameter's outcome does not shift the next one's.
		resample := rng.Float64() < p.ResampleProbability
		factor := p.Perturb[rng.IntN(len(p.Perturb))]
		u := rng.Float64()
		if resample {
			out[name] = drawParam(param, u)
		} else {
			out[name] = perturbParam(param, v, factor)
		}
	}
	return out
}

// drawParam maps u in [0, 1) to a value of the numeric parameter p.
func drawParam(p Param, u float64) Value {
	switch p.Kind {
	case Float:
		return Num(p.Low + u*(p.High-p.Low))
	case LogFloat:
		return Num(math.Exp(math.Log(p.Low) + u*(math.Log(p.High)-math.Log(p.Low))))
	case Int:
		return Num(math.Min(p.High, p.Low+math.Floor(u*(p.High-p.Low+1))))
	case Categorical:
		return p.Choices[min(int(u*float64(len(p.Choices))), len(p.Choices)-1)]
	}
	return Num(p.Low)
}

// perturbParam multiplies v by factor and keeps it inside p's range; a
// choice moves to its neighbour in order of value.
func perturbParam(p Param, v Value, factor float64) Value {
	switch p.Kind {
	case Categorical:
		nums := make([]float64, 0, len(p.Choices))
		for _, c := range p.Choices {
			if !c.IsString() {
				nums = append(nums, c.Float())
			}
		}
		slices.Sort(nums)
		i, _ := slices.BinarySearch(nums, v.Float())
		switch {
		case factor > 1 && i+1 < len(nums):
			i++
		case factor < 1 && i > 0:
			i--
		}
		if i >= len(nums) {
			return v
		}
		return Num(nums[i])
	case Int:
		return Num(math.Max(p.Low, math.Min(p.High, math.Round(v.Float()*factor))))
	}
	return Num(math.Max(p.Low, math.Min(p.High, v.Float()*factor)))
}
