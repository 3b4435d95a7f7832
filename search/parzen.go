package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// parzen is a one-dimensional Parzen estimator: a weighted mixture of normal
// kernels truncated to [low, high], one kernel per observation plus a prior
// kernel centred on the interval with the interval's width as its bandwidth.
// With step > 0 it is discrete: kernels live on [low-step/2, high+step/2]
// and the mass of x is that of [x-step/2, x+step/2].
type parzen struct {
	mu, sigma []float64
	logW      []float64 // log weight minus log normaliser, per kernel
	cum       []float64 // cumulative weights, for drawing a kernel
	low, high float64   // truncation bounds (widened by step/2 when discrete)
	step      float64
}

const log2Pi = 1.8378770664093453 // log(2π)

// newParzen builds the estimator of observations obs (in the sampler's
// internal space: log for LogFloat) with per-observation weights w (same
// length as obs, not necessarily normalised). low and high are the domain's
// bounds, step is 1 for integers and 0 for continuous parameters.
//
// The bandwidths follow Optuna's univariate TPE (v3-v4): each kernel's sigma
// is the larger distance to its neighbours among the sorted observations and
// the prior mean (the outermost kernels use their inner neighbour only),
// clipped to [(high-low)/min(100, n+2), high-low] where n is the number of
// observations ("magic clip"). The prior kernel has sigma high-low.
func newParzen(obs, w []float64, low, high, step, priorWeight float64) *parzen {
	low -= step / 2
	high += step / 2
	width := high - low
	n := len(obs)
	prior := 0.5*low + 0.5*high // low+high may overflow

	mus := make([]float64, n+1)
	copy(mus, obs)
	mus[n] = prior
	sigmas := make([]float64, n+1)
	if n > 0 {
		order := make([]int, n+1)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return mus[order[a]] < mus[order[b]] })
		ext := make([]float64, n+3) // low, sorted mus, high
		ext[0], ext[n+2] = low, high
		for i, k := range order {
			ext[i+1] = mus[k]
		}
		sorted := make([]float64, n+1)
		for i := range sorted {
			sorted[i] = math.Max(ext[i+1]-ext[i], ext[i+2]-ext[i+1])
		}
		// Optuna's consider_endpoints=False: the outermost kernels ignore
		// the distance to the bound.
		sorted[0] = ext[2] - ext[1]
		sorted[n] = ext[n+1] - ext[n]
		minSigma := width / math.Min(100, float64(n+2))
		for i, k := range order {
			sigmas[k] = clamp(sorted[i], minSigma, width)
		}
	}
	sigmas[n] = width

	weights := make([]float64, n+1)
	copy(weights, w)
	weights[n] = priorWeight
	if n == 0 {
		weights[n] = 1
	}
	total := 0.0
	for _, x := range weights {
		total += x
	}
	p := &parzen{mu: mus, sigma: sigmas, logW: make([]float64, n+1), cum: make([]float64, n+1), low: low, high: high, step: step}
	acc := 0.0
	for i := range weights {
		acc += weights[i] / total
		p.cum[i] = acc
		a, b := (low-mus[i])/sigmas[i], (high-mus[i])/sigmas[i]
		norm := logNormalMass(a, b)
		if step == 0 {
			norm += math.Log(sigmas[i]) + 0.5*log2Pi
		}
		p.logW[i] = math.Log(weights[i]/total) - norm
	}
	return p
}

// sample draws one value: a kernel by weight, then a truncated normal draw
// from it, rounded to the step for discrete estimators.
func (p *parzen) sample(rng *rand.Rand) float64 {
	u := rng.Float64()
	k := min(sort.Search(len(p.cum), func(i int) bool { return p.cum[i] > u }), len(p.cum)-1)
	x := sampleTruncNormal(p.mu[k], p.sigma[k], p.low, p.high, rng)
	if p.step > 0 {
		lo, hi := p.low+p.step/2, p.high-p.step/2
		x = clamp(lo+math.Round((x-lo)/p.step)*p.step, lo, hi)
	}
	return x
}

// logPDF returns the log density (log mass for discrete estimators) at x.
// buf is scratch space of at least len(p.mu).
func (p *parzen) logPDF(x float64, buf []float64) float64 {
	terms := buf[:len(p.mu)]
	for i, mu := range p.mu {
		s := p.sigma[i]
		if p.step == 0 {
			z := (x - mu) / s
			terms[i] = p.logW[i] - 0.5*z*z
		} else {
			terms[i] = p.logW[i] + logNormalMass((x-p.step/2-mu)/s, (x+p.step/2-mu)/s)
		}
	}
	return logSumExp(terms)
}

// logNormalMass returns log(Φ(b) - Φ(a)) for a <= b, computed from the tail
// on the side away from the mean so that kernels far from [a, b] do not
// round to zero before they must.
func logNormalMass(a, b float64) float64 {
	switch {
	case a >= 0:
		return math.Log(0.5 * (math.Erfc(a/math.Sqrt2) - math.Erfc(b/math.Sqrt2)))
	case b <= 0:
		return math.Log(0.5 * (math.Erfc(-b/math.Sqrt2) - math.Erfc(-a/math.Sqrt2)))
	}
	return math.Log1p(-0.5 * (math.Erfc(-a/math.Sqrt2) + math.Erfc(b/math.Sqrt2)))
}

// sampleTruncNormal draws from N(mu, sigma²) truncated to [lo, hi] by
// inverting the CDF, working in the tail away from the mean for accuracy.
func sampleTruncNormal(mu, sigma, lo, hi float64, rng *rand.Rand) float64 {
	a, b := (lo-mu)/sigma, (hi-mu)/sigma
	flip := a > 0 // both bounds above the mean: sample the mirrored lower tail
	if flip {
		a, b = -b, -a
	}
	// Lower-tail CDF values are accurate: Φ(x) = erfc(-x/√2)/2.
	pa, pb := 0.5*math.Erfc(-a/math.Sqrt2), 0.5*math.Erfc(-b/math.Sqrt2)
	u := pa + rng.Float64()*(pb-pa)
	z := -math.Sqrt2 * math.Erfcinv(2*u)
	if math.IsNaN(z) || math.IsInf(z, 0) {
		z = clamp(0, a, b)
	}
	z = clamp(z, a, b)
	if flip {
		z = -z
	}
	return clamp(mu+sigma*z, lo, hi)
}

// logSumExp returns log(Σ exp(x_i)), ignoring -Inf terms.
func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		if x > m {
			m = x
		}
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// categoricalParzen is the categorical counterpart: every observation is a
// kernel putting mass 1 on its choice plus priorWeight/(n+1) on every choice;
// the prior kernel is uniform (Optuna's rule). The mixture collapses to one
// probability per choice.
type categoricalParzen struct {
	logP []float64
	cum  []float64
}

func newCategoricalParzen(obs []int, w []float64, k int, priorWeight float64) *categoricalParzen {
	probs := make([]float64, k)
	n := len(obs)
	if n == 0 {
		for i := range probs {
			probs[i] = 1 / float64(k)
		}
	} else {
		total := priorWeight
		for _, x := range w {
			total += x
		}
		fill := priorWeight / float64(n+1)
		rowSum := 1 + fill*float64(k)
		for i, c := range obs {
			wi := w[i] / total / rowSum
			for j := range probs {
				probs[j] += wi * fill
			}
			probs[c] += wi
		}
		for j := range probs {
			probs[j] += priorWeight / total / float64(k)
		}
	}
	cp := &categoricalParzen{logP: make([]float64, k), cum: make([]float64, k)}
	acc := 0.0
	for j, p := range probs {
		cp.logP[j] = math.Log(p)
		acc += p
		cp.cum[j] = acc
	}
	return cp
}

func (c *categoricalParzen) sample(rng *rand.Rand) int {
	u := rng.Float64() * c.cum[len(c.cum)-1]
	for j, x := range c.cum {
		if u < x {
			return j
		}
	}
	return len(c.cum) - 1
}
