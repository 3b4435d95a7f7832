package search

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// ErrNoContinuous is returned by cmaes for a space without a numeric
// parameter whose range is more than one point.
var ErrNoContinuous = errors.New("search: cmaes needs at least one uniform, log_uniform or int_uniform parameter with low < high; the space has only choices (use tpe, gp or random)")

// CMAES is the covariance matrix adaptation evolution strategy (Hansen,
// "The CMA Evolution Strategy: A Tutorial", 2016) with weighted
// recombination, over the numeric parameters in unit-cube coordinates (log
// scale for log_uniform; integers relaxed and rounded). Categorical
// parameters are sampled independently and uniformly.
//
// The sampler keeps no state: it replays the strategy over the history.
// The trials with a usable objective, in trial-number order, form
// consecutive generations of lambda = 4 + floor(3 ln n) trials, ranked as
// TPE ranks them (complete by objective, then pruned, then diverged); each
// full generation updates the mean, step size, paths and covariance from
// its trials' coordinates, treated as injected solutions (Hansen, "Injecting
// External Solutions Into CMA-ES", 2011: each step is clipped in Mahalanobis
// norm), so trials that the strategy did not propose itself, or proposed
// from an older distribution while earlier trials were still running, are
// used safely. A trial in which a conditional numeric parameter is inactive
// moves the mean along that coordinate not at all. The mean starts at the
// centre of the cube with step size 0.25.
//
// A new configuration is drawn from the current distribution, redrawn up to
// 16 times if it falls outside the cube (then clipped). If the draw repeats
// a configuration of the history it draws again, up to 8 times, then falls
// back to a prior draw.
type CMAES struct{}

// Name implements Sampler.
func (CMAES) Name() string { return "cmaes" }

const (
	cmaSigma0       = 0.25
	cmaBoundRedraws = 16
	cmaRedraws      = 8
)

// CheckSpace reports ErrNoContinuous for a space CMA-ES cannot search.
func (CMAES) CheckSpace(space *Space) error {
	if newUnitEncoder(space, true).dim == 0 {
		return ErrNoContinuous
	}
	return nil
}

// Sample implements Sampler.
func (s CMAES) Sample(space *Space, history []Trial, dir Direction, rng *rand.Rand) (Config, error) {
	enc := newUnitEncoder(space, true)
	if enc.dim == 0 {
		return nil, ErrNoContinuous
	}
	es := newCMAState(enc.dim)
	// Generations from the ranked trials, in number order.
	var usable []Trial
	for _, t := range history {
		switch t.State {
		case Complete, Pruned:
			if t.Objective != nil {
				usable = append(usable, t)
			}
		case Diverged:
			usable = append(usable, t)
		}
	}
	sort.SliceStable(usable, func(i, j int) bool { return usable[i].Number < usable[j].Number })
	x := make([]float64, enc.dim)
	for g := 0; g+es.lambda <= len(usable); g += es.lambda {
		gen := append([]Trial(nil), usable[g:g+es.lambda]...)
		sort.SliceStable(gen, func(i, j int) bool { return rankBefore(gen[i], gen[j], dir) })
		ys := make([][]float64, len(gen))
		for i, t := range gen {
			enc.encode(t.Config, x)
			ys[i] = es.step(x, t.Config, enc)
		}
		es.update(ys)
	}

	seen := make(map[string]bool, len(history))
	for _, t := range history {
		seen[t.Config.Hash()] = true
	}
	for range cmaRedraws {
		c := make(Config, len(space.Params()))
		u := es.draw(rng)
		for _, p := range space.Params() {
			if !space.Active(p, c) {
				continue
			}
			c[p.Name] = SampleUniform(p, rng)
		}
		ps := space.Params()
		for k, i := range enc.params {
			p := ps[i]
			if _, active := c[p.Name]; active {
				c[p.Name] = fromUnit(p, u[enc.offset[k]])
			}
		}
		if !seen[c.Hash()] {
			return c, nil
		}
	}
	return Random{}.Sample(space, history, dir, rng)
}

// rankBefore orders trials best first as TPE ranks them: complete trials by
// objective, then pruned ones (more epochs first, then by objective), then
// diverged trials and non-finite objectives; ties by number.
func rankBefore(a, b Trial, dir Direction) bool {
	class := func(t Trial) int {
		switch {
		case t.Objective == nil || math.IsNaN(*t.Objective) || math.IsInf(*t.Objective, 0):
			return 2
		case t.State == Pruned:
			return 1
		}
		return 0
	}
	ca, cb := class(a), class(b)
	switch {
	case ca != cb:
		return ca < cb
	case ca == 1 && a.Epochs != b.Epochs:
		return a.Epochs > b.Epochs
	case ca < 2 && *a.Objective != *b.Objective:
		return dir.Better(*a.Objective, *b.Objective)
	}
	return a.Number < b.Number
}

// cmaState is the strategy's state and its constants.
type cmaState struct {
	n, lambda, mu          int
	weights                []float64
	mueff, cc, cs, c1, cmu float64
	damps, chiN            float64
	mean, pc, ps           []float64
	sigma                  float64
	c                      *mat.SymDense
	b                      *mat.Dense // eigenvectors of c
	d                      []float64  // square roots of c's eigenvalues
	generation             int
	invSqrt                *mat.Dense // c^(-1/2)
}

func newCMAState(n int) *cmaState {
	lambda := 4 + int(3*math.Log(float64(n)))
	mu := lambda / 2
	w := make([]float64, mu)
	sum := 0.0
	for i := range w {
		w[i] = math.Log(float64(mu)+0.5) - math.Log(float64(i+1))
		sum += w[i]
	}
	sq := 0.0
	for i := range w {
		w[i] /= sum
		sq += w[i] * w[i]
	}
	mueff := 1 / sq
	nf := float64(n)
	es := &cmaState{n: n, lambda: lambda, mu: mu, weights: w, mueff: mueff, sigma: cmaSigma0}
	es.cc = (4 + mueff/nf) / (nf + 4 + 2*mueff/nf)
	es.cs = (mueff + 2) / (nf + mueff + 5)
	es.c1 = 2 / ((nf+1.3)*(nf+1.3) + mueff)
	es.cmu = math.Min(1-es.c1, 2*(mueff-2+1/mueff)/((nf+2)*(nf+2)+mueff))
	es.damps = 1 + 2*math.Max(0, math.Sqrt((mueff-1)/(nf+1))-1) + es.cs
	es.chiN = math.Sqrt(nf) * (1 - 1/(4*nf) + 1/(21*nf*nf))
	es.mean = make([]float64, n)
	for i := range es.mean {
		es.mean[i] = 0.5
	}
	es.pc = make([]float64, n)
	es.ps = make([]float64, n)
	es.c = mat.NewSymDense(n, nil)
	for i := range n {
		es.c.SetSym(i, i, 1)
	}
	es.decompose()
	return es
}

// decompose refreshes b, d and c^(-1/2) from c.
func (es *cmaState) decompose() {
	var eig mat.EigenSym
	if !eig.Factorize(es.c, true) {
		// Not expected for a symmetric matrix; restart the shape.
		for i := range es.n {
			for j := range i + 1 {
				v := 0.0
				if i == j {
					v = 1
				}
				es.c.SetSym(i, j, v)
			}
		}
		eig.Factorize(es.c, true)
	}
	vals := eig.Values(nil)
	es.b = mat.NewDense(es.n, es.n, nil)
	eig.VectorsTo(es.b)
	es.d = make([]float64, es.n)
	inv := mat.NewDense(es.n, es.n, nil)
	for k, v := range vals {
		es.d[k] = math.Sqrt(math.Max(v, 1e-20))
	}
	for i := range es.n {
		for j := range es.n {
			s := 0.0
			for k := range es.n {
				s += es.b.At(i, k) * es.b.At(j, k) / es.d[k]
			}
			inv.Set(i, j, s)
		}
	}
	es.invSqrt = inv
}

// step returns a trial's step (x - mean) / sigma, with coordinates of
// inactive parameters set to zero and its Mahalanobis norm clipped.
func (es *cmaState) step(x []float64, c Config, enc *unitEncoder) []float64 {
	y := make([]float64, es.n)
	ps := enc.space.Params()
	for k, i := range enc.params {
		if _, ok := c[ps[i].Name]; ok {
			j := enc.offset[k]
			y[j] = (x[j] - es.mean[j]) / es.sigma
		}
	}
	norm := mat.Norm(es.mulInvSqrt(y), 2)
	limit := math.Sqrt(float64(es.n)) + 2*float64(es.n)/float64(es.n+2)
	if norm > limit {
		for j := range y {
			y[j] *= limit / norm
		}
	}
	return y
}

func (es *cmaState) mulInvSqrt(y []float64) *mat.VecDense {
	var out mat.VecDense
	out.MulVec(es.invSqrt, mat.NewVecDense(es.n, y))
	return &out
}

// update applies one generation, ys ranked best first.
func (es *cmaState) update(ys [][]float64) {
	n := es.n
	yw := make([]float64, n)
	for i := range es.mu {
		for j := range n {
			yw[j] += es.weights[i] * ys[i][j]
		}
	}
	for j := range n {
		es.mean[j] = clamp(es.mean[j]+es.sigma*yw[j], 0, 1)
	}
	z := es.mulInvSqrt(yw)
	csn := math.Sqrt(es.cs * (2 - es.cs) * es.mueff)
	for j := range n {
		es.ps[j] = (1-es.cs)*es.ps[j] + csn*z.AtVec(j)
	}
	es.generation++
	psNorm := math.Sqrt(floatsDot(es.ps, es.ps))
	hsig := 0.0
	if psNorm/math.Sqrt(1-math.Pow(1-es.cs, 2*float64(es.generation)))/es.chiN < 1.4+2/(float64(n)+1) {
		hsig = 1
	}
	ccn := math.Sqrt(es.cc * (2 - es.cc) * es.mueff)
	for j := range n {
		es.pc[j] = (1-es.cc)*es.pc[j] + hsig*ccn*yw[j]
	}
	keep := 1 - es.c1 - es.cmu + (1-hsig)*es.c1*es.cc*(2-es.cc)
	for i := range n {
		for j := range i + 1 {
			v := keep*es.c.At(i, j) + es.c1*es.pc[i]*es.pc[j]
			for k := range es.mu {
				v += es.cmu * es.weights[k] * ys[k][i] * ys[k][j]
			}
			es.c.SetSym(i, j, v)
		}
	}
	es.sigma *= math.Exp(math.Min(1, (es.cs/es.damps)*(psNorm/es.chiN-1)))
	es.sigma = clamp(es.sigma, 1e-8, 1)
	es.decompose()
}

// draw samples the distribution, redrawing points outside the unit cube.
func (es *cmaState) draw(rng *rand.Rand) []float64 {
	x := make([]float64, es.n)
	z := make([]float64, es.n)
	for try := 0; ; try++ {
		for k := range z {
			z[k] = es.d[k] * rng.NormFloat64()
		}
		inside := true
		for i := range x {
			s := 0.0
			for k := range z {
				s += es.b.At(i, k) * z[k]
			}
			x[i] = es.mean[i] + es.sigma*s
			if x[i] < 0 || x[i] > 1 {
				inside = false
			}
		}
		if inside || try == cmaBoundRedraws {
			break
		}
	}
	for i := range x {
		x[i] = clamp(x[i], 0, 1)
	}
	return x
}

func floatsDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
