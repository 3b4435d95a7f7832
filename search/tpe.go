package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// TPE is the Tree-structured Parzen Estimator of Bergstra, Bardenet, Bengio
// and Kégl ("Algorithms for Hyper-Parameter Optimization", NeurIPS 2011), in
// the independent (univariate) form Optuna uses by default.
//
// Until Startup trials have a usable objective it samples like Random. Then
// it ranks the trials, calls the best gamma(n) of the n ranked ones good and
// the rest bad, fits one Parzen estimator l(x) to the good and one g(x) to
// the bad values of every parameter, draws Candidates values from l and keeps
// the one that maximises l(x)/g(x), parameter by parameter in Space.Params
// order.
//
// Which trials count:
//   - complete trials rank by objective (best first);
//   - pruned trials with an objective rank after every complete trial, those
//     that ran more epochs first, then by objective (Optuna's rule: a value
//     measured early is not comparable with a final one);
//   - diverged trials, and trials whose objective is NaN or infinite, are
//     bad: a region where training blows up is a region to avoid;
//   - pending and running trials are bad, a constant liar: the estimator g
//     grows around configurations already being evaluated, so suggestions
//     made in parallel spread out instead of piling onto the current optimum;
//   - failed and canceled trials say nothing about the objective and are
//     left out.
//
// Conditional parameters: the estimators of a parameter see only the trials
// in which it was active; with no such trial an estimator is the prior.
// Parameters are modelled independently of each other (the conditional
// structure only decides which are sampled).
//
// A configuration already in the history is not returned: TPE then draws from
// l(x) without the argmax, up to 8 times, and finally falls back to a prior
// draw, which happens in small discrete spaces once the model has converged.
type TPE struct {
	// Startup is the number of ranked trials needed before modelling
	// (default 10).
	Startup int
	// Candidates is the number of draws from l(x) per parameter (default 24).
	Candidates int
	// Gamma, if in (0, 1], makes the good group the best ceil(Gamma * n) of n
	// ranked trials; by default it is min(ceil(0.1 n), 25).
	Gamma float64
	// PriorWeight is the prior kernel's weight against 1 per observation
	// (default 1).
	PriorWeight float64
	// Multivariate models the parameters jointly (see jointParzen) instead
	// of one by one: each candidate is drawn from one good observation's
	// kernels in every dimension and scored by the joint densities.
	Multivariate bool
}

// TPE defaults, as in Optuna's TPESampler.
const (
	defaultTPEStartup    = 10
	defaultTPECandidates = 24
	tpeMaxGood           = 25 // cap of the default gamma
	tpeFlatWeights       = 25 // the newest observations keep weight 1
	tpeRedraws           = 8  // draws from l(x) after a duplicate argmax
)

// Name implements Sampler.
func (TPE) Name() string { return "tpe" }

func (t TPE) withDefaults() TPE {
	if t.Startup <= 0 {
		t.Startup = defaultTPEStartup
	}
	if t.Candidates <= 0 {
		t.Candidates = defaultTPECandidates
	}
	if t.PriorWeight <= 0 {
		t.PriorWeight = 1
	}
	return t
}

// nGood is the size of the good group among n ranked trials.
func (t TPE) nGood(n int) int {
	if t.Gamma > 0 && t.Gamma <= 1 {
		return min(int(math.Ceil(t.Gamma*float64(n))), n)
	}
	return min(int(math.Ceil(0.1*float64(n))), tpeMaxGood, n)
}

// Sample implements Sampler.
func (t TPE) Sample(space *Space, history []Trial, dir Direction, rng *rand.Rand) (Config, error) {
	t = t.withDefaults()
	good, bad, ranked := splitTrials(history, dir, t.nGood)
	if ranked < t.Startup {
		return Random{}.Sample(space, history, dir, rng)
	}
	if t.Multivariate {
		l, g := newJointParzen(space, good, t.PriorWeight), newJointParzen(space, bad, t.PriorWeight)
		for i := range tpeRedraws + 1 {
			if c := t.sampleJoint(space, l, g, rng, i == 0); !inHistory(c, history) {
				return c, nil
			}
		}
		return Random{}.Sample(space, history, dir, rng)
	}
	m := &tpeModel{tpe: t, space: space, good: good, bad: bad, params: make([]*tpeParam, len(space.Params()))}
	c := m.sample(rng, true)
	if !inHistory(c, history) {
		return c, nil
	}
	for range tpeRedraws {
		c = m.sample(rng, false)
		if !inHistory(c, history) {
			return c, nil
		}
	}
	return Random{}.Sample(space, history, dir, rng)
}

// splitTrials sorts history into TPE's good and bad groups (each ordered by
// trial number) and returns how many trials were ranked.
func splitTrials(history []Trial, dir Direction, nGood func(int) int) (good, bad []Trial, ranked int) {
	var complete, pruned []Trial
	for _, t := range history {
		switch t.State {
		case Complete, Pruned:
			if t.Objective == nil {
				continue
			}
			if o := *t.Objective; math.IsNaN(o) || math.IsInf(o, 0) {
				bad = append(bad, t)
			} else if t.State == Complete {
				complete = append(complete, t)
			} else {
				pruned = append(pruned, t)
			}
		case Diverged, Pending, Running:
			bad = append(bad, t)
		}
	}
	better := func(a, b Trial) bool {
		if *a.Objective != *b.Objective {
			return dir.Better(*a.Objective, *b.Objective)
		}
		return a.Number < b.Number
	}
	sort.SliceStable(complete, func(i, j int) bool { return better(complete[i], complete[j]) })
	sort.SliceStable(pruned, func(i, j int) bool {
		if pruned[i].Epochs != pruned[j].Epochs {
			return pruned[i].Epochs > pruned[j].Epochs
		}
		return better(pruned[i], pruned[j])
	})
	all := append(complete, pruned...)
	ranked = len(all)
	k := nGood(ranked)
	good = append(good, all[:k]...)
	bad = append(bad, all[k:]...)
	byNumber := func(ts []Trial) {
		sort.SliceStable(ts, func(i, j int) bool { return ts[i].Number < ts[j].Number })
	}
	byNumber(good)
	byNumber(bad)
	return good, bad, ranked
}

// tpeWeights are Optuna's default observation weights, oldest first: 1 for
// fewer than 25 observations, otherwise a ramp from 1/n to 1 over the oldest
// n-25 and 1 for the newest 25.
func tpeWeights(n int) []float64 {
	w := make([]float64, n)
	ramp := n - tpeFlatWeights
	for i := range w {
		switch {
		case i >= ramp || ramp <= 0:
			w[i] = 1
		case ramp == 1:
			w[i] = 1 / float64(n)
		default:
			w[i] = 1/float64(n) + float64(i)*(1-1/float64(n))/float64(ramp-1)
		}
	}
	return w
}

// tpeModel builds the estimators of each parameter on first use, so the
// children of branches not taken cost nothing.
type tpeModel struct {
	tpe       TPE
	space     *Space
	good, bad []Trial
	params    []*tpeParam
}

type tpeParam struct {
	good, bad   *parzen
	cgood, cbad *categoricalParzen
	buf         []float64
}

func (m *tpeModel) sample(rng *rand.Rand, argmax bool) Config {
	c := make(Config, len(m.space.Params()))
	for i, p := range m.space.Params() {
		if !m.space.Active(p, c) {
			continue
		}
		c[p.Name] = m.sampleParam(i, p, rng, argmax)
	}
	return c
}

func (m *tpeModel) sampleParam(i int, p Param, rng *rand.Rand, argmax bool) Value {
	if p.Kind != Categorical && p.Low == p.High {
		return Num(p.Low)
	}
	if m.params[i] == nil {
		m.params[i] = m.fit(p)
	}
	e := m.params[i]
	n := 1
	if argmax {
		n = m.tpe.Candidates
	}
	if p.Kind == Categorical {
		best, bestScore := 0, math.Inf(-1)
		for k := range n {
			j := e.cgood.sample(rng)
			s := e.cgood.logP[j] - e.cbad.logP[j]
			if k == 0 || s > bestScore {
				best, bestScore = j, s
			}
		}
		return p.Choices[best]
	}
	best, bestScore := 0.0, math.Inf(-1)
	for k := range n {
		x := e.good.sample(rng)
		if n == 1 {
			best = x
			break
		}
		s := e.good.logPDF(x, e.buf) - e.bad.logPDF(x, e.buf)
		if k == 0 || s > bestScore {
			best, bestScore = x, s
		}
	}
	return fromInternal(p, best)
}

// fit builds the good and bad estimators of parameter p.
func (m *tpeModel) fit(p Param) *tpeParam {
	e := &tpeParam{}
	if p.Kind == Categorical {
		gi := choiceIndexes(p, m.good)
		bi := choiceIndexes(p, m.bad)
		e.cgood = newCategoricalParzen(gi, tpeWeights(len(gi)), len(p.Choices), m.tpe.PriorWeight)
		e.cbad = newCategoricalParzen(bi, tpeWeights(len(bi)), len(p.Choices), m.tpe.PriorWeight)
		return e
	}
	lo, hi, step := p.Low, p.High, 0.0
	switch p.Kind {
	case LogFloat:
		lo, hi = math.Log(lo), math.Log(hi)
	case Int:
		step = 1
	}
	g, b := internalValues(p, m.good), internalValues(p, m.bad)
	e.good = newParzen(g, tpeWeights(len(g)), lo, hi, step, m.tpe.PriorWeight)
	e.bad = newParzen(b, tpeWeights(len(b)), lo, hi, step, m.tpe.PriorWeight)
	e.buf = make([]float64, max(len(g), len(b))+1)
	return e
}

// internalValues returns p's values in the trials where it was set and lies
// in its domain, in TPE's internal scale (log for LogFloat).
func internalValues(p Param, ts []Trial) []float64 {
	var out []float64
	for _, t := range ts {
		v, ok := t.Config[p.Name]
		if !ok || p.Check(v) != nil {
			continue
		}
		x := v.Float()
		if p.Kind == LogFloat {
			x = math.Log(x)
		}
		out = append(out, x)
	}
	return out
}

func choiceIndexes(p Param, ts []Trial) []int {
	var out []int
	for _, t := range ts {
		v, ok := t.Config[p.Name]
		if !ok {
			continue
		}
		for j, c := range p.Choices {
			if c.Equal(v) {
				out = append(out, j)
				break
			}
		}
	}
	return out
}

// fromInternal maps an internal-scale value back into p's domain.
func fromInternal(p Param, x float64) Value {
	switch p.Kind {
	case LogFloat:
		x = math.Exp(x)
	case Int:
		x = math.Round(x)
	}
	return Num(clamp(x, p.Low, p.High))
}

// inHistory reports whether some trial of history has configuration c.
func inHistory(c Config, history []Trial) bool {
	for _, t := range history {
		if configEqual(c, t.Config) {
			return true
		}
	}
	return false
}

func configEqual(a, b Config) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}
