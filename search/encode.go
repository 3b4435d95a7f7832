package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// unitEncoder maps configurations into the unit cube, the coordinates the
// model-based samplers (gp, cmaes) work in: one coordinate per numeric
// parameter, on a log scale for LogFloat, and, unless numericOnly, one per
// choice of a categorical parameter (one-hot). Parameters whose range is a
// single point take no coordinate. A parameter that is inactive in a
// configuration encodes as 0.5 (numeric) or all zeros (categorical).
type unitEncoder struct {
	space  *Space
	params []int // indexes into space.Params() of the encoded parameters
	offset []int // first coordinate of each encoded parameter
	dim    int
}

func newUnitEncoder(space *Space, numericOnly bool) *unitEncoder {
	e := &unitEncoder{space: space}
	for i, p := range space.Params() {
		width := 1
		switch {
		case p.Kind == Categorical && numericOnly:
			continue
		case p.Kind == Categorical:
			if len(p.Choices) < 2 {
				continue
			}
			width = len(p.Choices)
		case p.Low == p.High:
			continue
		}
		e.params = append(e.params, i)
		e.offset = append(e.offset, e.dim)
		e.dim += width
	}
	return e
}

// encode writes c's coordinates into x (len e.dim).
func (e *unitEncoder) encode(c Config, x []float64) {
	ps := e.space.Params()
	for k, i := range e.params {
		p, off := ps[i], e.offset[k]
		v, ok := c[p.Name]
		if p.Kind == Categorical {
			for j := range p.Choices {
				x[off+j] = 0
				if ok && p.Choices[j].Equal(v) {
					x[off+j] = 1
				}
			}
			continue
		}
		x[off] = 0.5
		if ok && !v.IsString() {
			x[off] = toUnit(p, v.Float())
		}
	}
}

// toUnit maps a numeric value of p into [0, 1].
func toUnit(p Param, v float64) float64 {
	lo, hi := p.Low, p.High
	if p.Kind == LogFloat {
		lo, hi, v = math.Log(lo), math.Log(hi), math.Log(v)
	}
	if p.Kind == Int {
		// Each integer owns an equal share of [0, 1].
		lo, hi = lo-0.5, hi+0.5
	}
	return clamp((v-lo)/(hi-lo), 0, 1)
}

// fromUnit maps u in [0, 1] back into p's domain.
func fromUnit(p Param, u float64) Value {
	u = clamp(u, 0, 1)
	switch p.Kind {
	case LogFloat:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return Num(clamp(math.Exp(lo+u*(hi-lo)), p.Low, p.High))
	case Int:
		lo, hi := p.Low-0.5, p.High+0.5
		return Num(clamp(math.Round(lo+u*(hi-lo)), p.Low, p.High))
	}
	return Num(clamp(p.Low+u*(p.High-p.Low), p.Low, p.High))
}

// perturb returns a neighbour of c: every active numeric parameter moves by
// a normal step of scale (in unit coordinates), every categorical one takes
// a random choice with probability flip, and parameters that become active
// are drawn from their prior.
func perturb(space *Space, c Config, scale, flip float64, rng *rand.Rand) Config {
	out := make(Config, len(c))
	for _, p := range space.Params() {
		if !space.Active(p, out) {
			continue
		}
		v, ok := c[p.Name]
		switch {
		case !ok || p.Check(v) != nil:
			out[p.Name] = SampleUniform(p, rng)
		case p.Kind == Categorical:
			if rng.Float64() < flip {
				v = p.Choices[rng.IntN(len(p.Choices))]
			}
			out[p.Name] = v
		case p.Low == p.High:
			out[p.Name] = v
		default:
			out[p.Name] = fromUnit(p, toUnit(p, v.Float())+scale*rng.NormFloat64())
		}
	}
	return out
}

// scoredTrial is a trial with a usable objective, in minimisation form.
type scoredTrial struct {
	Trial
	y float64
}

// scoreTrials returns the trials a model-based sampler learns from, ordered
// by trial number, with y the objective to minimise: complete trials score
// their objective; pruned trials theirs, but never better than the median
// of the complete ones (a value measured early is not a final one);
// diverged trials and non-finite objectives score the worst finite value.
// Pending and running trials are returned apart, as is the number of trials
// with a finite objective. Failed and canceled trials are left out.
func scoreTrials(history []Trial, dir Direction) (scored []scoredTrial, pending []Trial, finite int) {
	sign := 1.0
	if dir == Maximize {
		sign = -1
	}
	var complete []float64
	for _, t := range history {
		if t.State == Complete && t.Objective != nil && !math.IsNaN(*t.Objective) && !math.IsInf(*t.Objective, 0) {
			complete = append(complete, sign**t.Objective)
		}
	}
	sort.Float64s(complete)
	median := math.Inf(-1)
	if len(complete) > 0 {
		median = complete[len(complete)/2]
	}
	worst := math.Inf(-1)
	var bad []Trial
	for _, t := range history {
		switch t.State {
		case Complete, Pruned:
			if t.Objective == nil {
				continue
			}
			o := *t.Objective
			if math.IsNaN(o) || math.IsInf(o, 0) {
				bad = append(bad, t)
				continue
			}
			y := sign * o
			if t.State == Pruned {
				y = math.Max(y, median)
			}
			worst = math.Max(worst, y)
			scored = append(scored, scoredTrial{Trial: t, y: y})
			finite++
		case Diverged:
			bad = append(bad, t)
		case Pending, Running:
			pending = append(pending, t)
		}
	}
	if finite > 0 {
		for _, t := range bad {
			scored = append(scored, scoredTrial{Trial: t, y: worst})
		}
	}
	sort.SliceStable(scored, func(i, j int) bool { return scored[i].Number < scored[j].Number })
	sort.SliceStable(pending, func(i, j int) bool { return pending[i].Number < pending[j].Number })
	return scored, pending, finite
}
