// Package importance measures how much each parameter of a search space
// explains a study's objective, by fANOVA: a random forest fitted to the
// complete trials, whose trees' predictions are decomposed into a
// functional ANOVA (Hutter, Hoos and Leyton-Brown, "An Efficient Approach
// for Assessing Hyperparameter Importance", ICML 2014). A parameter's
// importance is the share of the prediction's variance, over the search
// space, that its main effect explains, averaged over the trees and
// normalised to sum to 1 over the parameters, as Optuna's
// FanovaImportanceEvaluator reports it.
//
// The marginal is taken under the space's own measure: log-uniform
// parameters on the log scale, integers and floats on their own scale, each
// category with equal weight. Conditional parameters (`when`) are handled
// by giving the trials where the parameter is inactive a region of their
// own just below its range (numbers), weighted by the share of such
// trials, or a category of their own (choices); the forest can then tell
// the inactive trials apart, and the decomposition still covers every
// trial. Parameters with a single value are reported with importance 0.
package importance

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/relutune/relutune/search"
)

// ErrTooFewTrials is returned when fewer than MinTrials trials are given.
var ErrTooFewTrials = errors.New("importance: too few complete trials")

// ErrNoVariance is returned when the objective does not vary over the
// trials, so no parameter explains anything.
var ErrNoVariance = errors.New("importance: the objective is the same in every trial")

// MinTrials is the fewest trials Evaluate accepts.
const MinTrials = 2

// maxCategories bounds the categories of one parameter (a split's left set
// is a 64-bit mask; one is kept for inactive trials).
const maxCategories = 63

// Trial is one complete trial: its configuration and objective.
type Trial struct {
	Config search.Config
	Value  float64
}

// Options tune the forest. Zero values take the defaults, which are
// Optuna's: 64 trees of depth at most 64, nodes of 2 or more trials split,
// leaves of 1 trial or more.
type Options struct {
	Trees           int
	MaxDepth        int
	MinSamplesSplit int
	MinSamplesLeaf  int
	Seed            uint64
	// LinearLog measures log-uniform parameters on their own scale rather
	// than the log scale, as Optuna's evaluator does; for comparisons with
	// it. The forest is the same either way (splits depend only on order);
	// the marginals weigh the range differently.
	LinearLog bool
}

// Bounds of Options.
const (
	MaxTrees = 1024
	MaxDepth = 256
)

func (o *Options) fill() error {
	if o.Trees == 0 {
		o.Trees = 64
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = 64
	}
	if o.MinSamplesSplit == 0 {
		o.MinSamplesSplit = 2
	}
	if o.MinSamplesLeaf == 0 {
		o.MinSamplesLeaf = 1
	}
	switch {
	case o.Trees < 1 || o.Trees > MaxTrees:
		return fmt.Errorf("importance: trees %d out of range (allowed: 1 to %d)", o.Trees, MaxTrees)
	case o.MaxDepth < 1 || o.MaxDepth > MaxDepth:
		return fmt.Errorf("importance: max depth %d out of range (allowed: 1 to %d)", o.MaxDepth, MaxDepth)
	case o.MinSamplesSplit < 2:
		return fmt.Errorf("importance: min samples split %d out of range (allowed: 2 or more)", o.MinSamplesSplit)
	case o.MinSamplesLeaf < 1:
		return fmt.Errorf("importance: min samples leaf %d out of range (allowed: 1 or more)", o.MinSamplesLeaf)
	}
	return nil
}

// Importance is one parameter's result.
type Importance struct {
	Param string `json:"param"`
	// Importance is the parameter's share of the explained variance,
	// normalised so the parameters' importances sum to 1.
	Importance float64 `json:"importance"`
	// Fraction is the mean over the trees of the share of the prediction's
	// variance that the parameter's main effect explains, before
	// normalisation; Std is its standard deviation over the trees.
	Fraction float64 `json:"fraction"`
	Std      float64 `json:"std"`
	// Active is how many of the trials set the parameter.
	Active int `json:"active"`
}

// Evaluate returns the importance of every parameter of space over trials,
// most important first. Each trial's configuration must belong to space and
// its value must be finite.
func Evaluate(space *search.Space, trials []Trial, opts Options) ([]Importance, error) {
	if err := opts.fill(); err != nil {
		return nil, err
	}
	if len(trials) < MinTrials {
		return nil, fmt.Errorf("%w: %d (need at least %d)", ErrTooFewTrials, len(trials), MinTrials)
	}
	y := make([]float64, len(trials))
	for i, t := range trials {
		if math.IsNaN(t.Value) || math.IsInf(t.Value, 0) {
			return nil, fmt.Errorf("importance: trial %d: value %v is not finite", i, t.Value)
		}
		if err := space.Contains(t.Config); err != nil {
			return nil, fmt.Errorf("importance: trial %d: %w", i, err)
		}
		y[i] = t.Value
	}
	if constant(y, seq(len(y))) {
		return nil, ErrNoVariance
	}

	var feats []feature
	var names []string
	active := map[string]int{}
	var single []string
	x := make([][]float64, len(trials))
	for _, p := range space.Params() {
		n := 0
		for _, t := range trials {
			if _, ok := t.Config[p.Name]; ok {
				n++
			}
		}
		active[p.Name] = n
		if n == 0 || singleValued(p) {
			single = append(single, p.Name)
			continue
		}
		f, col, err := encode(p, trials, n, opts.LinearLog)
		if err != nil {
			return nil, err
		}
		feats = append(feats, f)
		names = append(names, p.Name)
		for i := range x {
			x[i] = append(x[i], col[i])
		}
	}

	out := make([]Importance, 0, len(names)+len(single))
	if len(feats) > 0 {
		fractions := make([][]float64, len(feats))
		rng := rand.New(rand.NewPCG(opts.Seed, 0x9e3779b97f4a7c15))
		tp := treeParams{maxDepth: opts.MaxDepth, minSamplesSplit: opts.MinSamplesSplit, minSamplesLeaf: opts.MinSamplesLeaf}
		idx := make([]int, len(trials))
		for range opts.Trees {
			for i := range idx {
				idx[i] = rng.IntN(len(trials))
			}
			d := decompose(growTree(feats, x, y, idx, tp, rng), feats)
			if d.variance <= 0 {
				continue
			}
			for j := range feats {
				fractions[j] = append(fractions[j], math.Max(d.marginalVariance(feats, j), 0)/d.variance)
			}
		}
		var sum float64
		for j, name := range names {
			m, s := meanStd(fractions[j])
			out = append(out, Importance{Param: name, Fraction: m, Std: s, Active: active[name]})
			sum += m
		}
		for i := range out {
			if sum > 0 {
				out[i].Importance = out[i].Fraction / sum
			}
		}
	}
	for _, name := range single {
		out = append(out, Importance{Param: name, Active: active[name]})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Importance > out[b].Importance })
	return out, nil
}

func singleValued(p search.Param) bool {
	if p.Kind == search.Categorical {
		return len(p.Choices) < 2
	}
	return p.Low == p.High
}

// encode returns the feature for p and its column over trials, of which
// nActive set p; linearLog keeps log-uniform parameters on their own scale.
func encode(p search.Param, trials []Trial, nActive int, linearLog bool) (feature, []float64, error) {
	col := make([]float64, len(trials))
	inactive := len(trials) - nActive
	if p.Kind == search.Categorical {
		k := len(p.Choices)
		if inactive > 0 {
			k++ // the inactive trials' own category, the last
		}
		if k > maxCategories {
			return feature{}, nil, fmt.Errorf("importance: %s: %d choices (allowed: at most %d)", p.Name, len(p.Choices), maxCategories-1)
		}
		for i, t := range trials {
			v, ok := t.Config[p.Name]
			if !ok {
				col[i] = float64(k - 1)
				continue
			}
			for c, choice := range p.Choices {
				if choice.Equal(v) {
					col[i] = float64(c)
				}
			}
		}
		return feature{name: p.Name, categorical: true, k: k}, col, nil
	}
	scale := func(v float64) float64 { return v }
	if p.Kind == search.LogFloat && !linearLog {
		scale = math.Log
	}
	lo, hi := scale(p.Low), scale(p.High)
	f := feature{name: p.Name, lo: lo, hi: hi}
	imputed := lo
	if inactive > 0 {
		share := float64(inactive) / float64(len(trials))
		f.lo = lo - (hi-lo)*share/(1-share)
		imputed = (f.lo + lo) / 2
	}
	for i, t := range trials {
		if v, ok := t.Config[p.Name]; ok {
			col[i] = scale(v.Float())
		} else {
			col[i] = imputed
		}
	}
	return f, col, nil
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func meanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}
