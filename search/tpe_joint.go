package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// jointParzen is the multivariate Parzen estimator of multivariate TPE
// (Falkner et al., "BOHB", ICML 2018; Optuna's multivariate=True): one
// component per observation plus a prior component, each a product of
// one-dimensional kernels, so that the estimator sees how the parameters
// vary together. An observation in which a parameter was inactive uses the
// prior kernel for it.
//
// Numeric kernels are truncated normals with Scott's-rule bandwidth,
// 0.2 n^(-1/(d+4)) times the range, clipped below at range/min(100, n+2)
// (Optuna's multivariate rule); the prior kernel is centred with the range
// as its bandwidth. A categorical kernel puts mass 1 on its observation's
// choice plus priorWeight/(n+1) on every choice; the prior's is uniform.
type jointParzen struct {
	params []jointParam
	logW   []float64 // normalised component weights
	cum    []float64
}

type jointParam struct {
	p         Param
	index     int       // into space.Params()
	low, high float64   // truncation bounds, internal scale (widened by step/2)
	step      float64   // 1 for Int
	mu, sigma []float64 // numeric: per component
	logNorm   []float64 // numeric: per component log normaliser
	logP      [][]float64
	cumP      [][]float64
}

func newJointParzen(space *Space, ts []Trial, priorWeight float64) *jointParzen {
	n := len(ts)
	w := tpeWeights(n)
	weights := append(append([]float64(nil), w...), priorWeight)
	if n == 0 {
		weights[0] = 1
	}
	total := 0.0
	for _, x := range weights {
		total += x
	}
	jp := &jointParzen{logW: make([]float64, n+1), cum: make([]float64, n+1)}
	acc := 0.0
	for i, x := range weights {
		acc += x / total
		jp.cum[i] = acc
		jp.logW[i] = math.Log(x / total)
	}
	var dims int
	for _, p := range space.Params() {
		if p.Kind == Categorical || p.Low < p.High {
			dims++
		}
	}
	for idx, p := range space.Params() {
		if p.Kind != Categorical && p.Low == p.High {
			continue
		}
		e := jointParam{p: p, index: idx}
		if p.Kind == Categorical {
			k := len(p.Choices)
			fill := priorWeight / float64(n+1)
			e.logP = make([][]float64, n+1)
			e.cumP = make([][]float64, n+1)
			for i := range n + 1 {
				probs := make([]float64, k)
				j := -1
				if i < n {
					j = choiceIndex(p, ts[i].Config)
				}
				if j < 0 {
					for c := range probs {
						probs[c] = 1 / float64(k)
					}
				} else {
					for c := range probs {
						probs[c] = fill / (1 + fill*float64(k))
					}
					probs[j] += 1 / (1 + fill*float64(k))
				}
				e.logP[i], e.cumP[i] = make([]float64, k), make([]float64, k)
				a := 0.0
				for c, pr := range probs {
					e.logP[i][c] = math.Log(pr)
					a += pr
					e.cumP[i][c] = a
				}
			}
			jp.params = append(jp.params, e)
			continue
		}
		lo, hi := p.Low, p.High
		switch p.Kind {
		case LogFloat:
			lo, hi = math.Log(lo), math.Log(hi)
		case Int:
			e.step = 1
		}
		e.low, e.high = lo-e.step/2, hi+e.step/2
		width := e.high - e.low
		sigma := 0.2 * math.Pow(float64(max(n, 1)), -1/(float64(dims)+4)) * width
		sigma = clamp(sigma, width/math.Min(100, float64(n+2)), width)
		e.mu, e.sigma, e.logNorm = make([]float64, n+1), make([]float64, n+1), make([]float64, n+1)
		for i := range n + 1 {
			mu, s := 0.5*e.low+0.5*e.high, width
			if i < n {
				if v, ok := ts[i].Config[p.Name]; ok && p.Check(v) == nil {
					mu, s = v.Float(), sigma
					if p.Kind == LogFloat {
						mu = math.Log(mu)
					}
				}
			}
			e.mu[i], e.sigma[i] = mu, s
			norm := logNormalMass((e.low-mu)/s, (e.high-mu)/s)
			if e.step == 0 {
				norm += math.Log(s) + 0.5*log2Pi
			}
			e.logNorm[i] = norm
		}
		jp.params = append(jp.params, e)
	}
	return jp
}

func choiceIndex(p Param, c Config) int {
	v, ok := c[p.Name]
	if !ok {
		return -1
	}
	for j, ch := range p.Choices {
		if ch.Equal(v) {
			return j
		}
	}
	return -1
}

// sample draws one configuration: a component by weight, then every active
// parameter from that component's kernel.
func (jp *jointParzen) sample(space *Space, rng *rand.Rand) Config {
	u := rng.Float64()
	comp := min(sort.Search(len(jp.cum), func(i int) bool { return jp.cum[i] > u }), len(jp.cum)-1)
	c := make(Config, len(space.Params()))
	next := 0
	for idx, p := range space.Params() {
		var e *jointParam
		if next < len(jp.params) && jp.params[next].index == idx {
			e = &jp.params[next]
			next++
		}
		if !space.Active(p, c) {
			continue
		}
		if e == nil {
			c[p.Name] = Num(p.Low) // a single-point range
			continue
		}
		if p.Kind == Categorical {
			r := rng.Float64() * e.cumP[comp][len(p.Choices)-1]
			j := sort.Search(len(p.Choices), func(k int) bool { return e.cumP[comp][k] > r })
			c[p.Name] = p.Choices[min(j, len(p.Choices)-1)]
			continue
		}
		x := sampleTruncNormal(e.mu[comp], e.sigma[comp], e.low, e.high, rng)
		if e.step > 0 {
			x = math.Round(x)
		}
		c[p.Name] = fromInternal(p, x)
	}
	return c
}

// logPDF returns the log density of c over its active parameters; buf is
// scratch space of at least len(jp.logW).
func (jp *jointParzen) logPDF(c Config, buf []float64) float64 {
	terms := buf[:len(jp.logW)]
	copy(terms, jp.logW)
	for k := range jp.params {
		e := &jp.params[k]
		v, ok := c[e.p.Name]
		if !ok {
			continue
		}
		if e.p.Kind == Categorical {
			j := choiceIndex(e.p, c)
			if j < 0 {
				continue
			}
			for i := range terms {
				terms[i] += e.logP[i][j]
			}
			continue
		}
		x := v.Float()
		if e.p.Kind == LogFloat {
			x = math.Log(x)
		}
		for i := range terms {
			s := e.sigma[i]
			if e.step == 0 {
				z := (x - e.mu[i]) / s
				terms[i] += -0.5*z*z - e.logNorm[i]
			} else {
				terms[i] += logNormalMass((x-0.5-e.mu[i])/s, (x+0.5-e.mu[i])/s) - e.logNorm[i]
			}
		}
	}
	return logSumExp(terms)
}

// sampleJoint is multivariate TPE's proposal: Candidates draws from l, the
// one maximising l(x)/g(x); with argmax false, a single draw from l.
func (t TPE) sampleJoint(space *Space, l, g *jointParzen, rng *rand.Rand, argmax bool) Config {
	n := 1
	if argmax {
		n = t.Candidates
	}
	buf := make([]float64, max(len(l.logW), len(g.logW)))
	var best Config
	bestScore := math.Inf(-1)
	for k := range n {
		c := l.sample(space, rng)
		if n == 1 {
			return c
		}
		s := l.logPDF(c, buf) - g.logPDF(c, buf)
		if k == 0 || s > bestScore {
			best, bestScore = c, s
		}
	}
	return best
}
