package search

import (
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// GP is Bayesian optimisation with a Gaussian process: a Matern 5/2 kernel
// with one length scale per parameter (automatic relevance determination)
// over the unit-cube encoding of the space (numeric parameters scaled to
// [0, 1], on a log scale for log_uniform; categorical parameters one-hot),
// and expected improvement as the acquisition.
//
// Until Startup trials have a finite objective it samples like Random. Then
// it fits the process to the scored trials (see scoreTrials: pruned trials
// count no better than the median complete one, diverged ones as the worst)
// with objectives standardised, chooses the length scales and the noise by
// maximising the marginal likelihood (the signal variance profiled out, a
// weak log-normal prior on each length scale) with a coordinate search over
// a fixed ladder of values, and proposes the candidate of highest expected
// improvement among random draws from the prior, perturbations of the best
// trials, and a local refinement of the best candidate.
//
// Pending and running trials take part with a constant lie, the best value
// observed so far (CL-min of Ginsbourger et al., 2010): the process then
// expects nothing better near them, so parallel suggestions spread out.
//
// Cost is bounded: the model sees at most gpMaxObservations trials (every
// pending one, then the best gpKeepBest by objective, then the newest), and
// the length scales are fitted on at most gpMaxFit of those, so a suggestion
// takes tens of milliseconds however long the study.
//
// Conditional parameters that are inactive encode as the middle of their
// range; the parent's one-hot coordinates tell the kernel the branches apart.
type GP struct {
	// Startup is the number of trials with a finite objective needed before
	// modelling (default 10).
	Startup int
}

// GP limits and defaults.
const (
	defaultGPStartup  = 10
	gpMaxObservations = 200
	gpKeepBest        = 50
	gpMaxFit          = 100
	gpRandomCands     = 256
	gpLocalParents    = 5
	gpLocalCands      = 32
	gpRefineRounds    = 3
	gpRefineCands     = 24
)

// Name implements Sampler.
func (GP) Name() string { return "gp" }

// Sample implements Sampler.
func (g GP) Sample(space *Space, history []Trial, dir Direction, rng *rand.Rand) (Config, error) {
	startup := g.Startup
	if startup <= 0 {
		startup = defaultGPStartup
	}
	scored, pending, finite := scoreTrials(history, dir)
	enc := newUnitEncoder(space, false)
	if finite < startup || enc.dim == 0 {
		return Random{}.Sample(space, history, dir, rng)
	}
	obs := gpSelect(scored, pending)
	m := fitGP(enc, obs)

	seen := make(map[string]bool, len(history))
	for _, t := range history {
		seen[t.Config.Hash()] = true
	}
	var best Config
	bestEI := math.Inf(-1)
	x := make([]float64, enc.dim)
	consider := func(c Config) {
		if seen[c.Hash()] {
			return
		}
		enc.encode(c, x)
		if ei := m.expectedImprovement(x); ei > bestEI || best == nil {
			best, bestEI = c, ei
		}
	}
	for range gpRandomCands {
		c, _ := Random{}.Sample(space, nil, dir, rng)
		consider(c)
	}
	// Perturbations of the best observed trials.
	ranked := append([]scoredTrial(nil), scored...)
	sort.SliceStable(ranked, func(i, j int) bool { return ranked[i].y < ranked[j].y })
	for i := 0; i < len(ranked) && i < gpLocalParents; i++ {
		for range gpLocalCands {
			consider(perturb(space, ranked[i].Config, 0.1, 0.2, rng))
		}
	}
	// Local refinement of the incumbent candidate.
	scale := 0.05
	for range gpRefineRounds {
		if best == nil {
			break
		}
		parent := best
		for range gpRefineCands {
			consider(perturb(space, parent, scale, 0.1, rng))
		}
		scale /= 2
	}
	if best == nil {
		return Random{}.Sample(space, history, dir, rng)
	}
	return best, nil
}

// gpObservation is one training point of the process.
type gpObservation struct {
	config Config
	y      float64 // minimised; NaN for a pending trial (filled by the lie)
}

// gpSelect returns the trials the model sees, in trial-number order: every
// pending trial (up to the cap), then the best gpKeepBest scored trials, then
// the newest scored ones, gpMaxObservations in all.
func gpSelect(scored []scoredTrial, pending []Trial) []gpObservation {
	type pick struct {
		number int
		obs    gpObservation
	}
	var picks []pick
	for _, t := range pending {
		if len(picks) == gpMaxObservations/2 {
			break
		}
		picks = append(picks, pick{t.Number, gpObservation{t.Config, math.NaN()}})
	}
	room := gpMaxObservations - len(picks)
	if len(scored) <= room {
		for _, s := range scored {
			picks = append(picks, pick{s.Number, gpObservation{s.Config, s.y}})
		}
	} else {
		byY := make([]int, len(scored))
		for i := range byY {
			byY[i] = i
		}
		sort.SliceStable(byY, func(a, b int) bool { return scored[byY[a]].y < scored[byY[b]].y })
		take := make([]bool, len(scored))
		for _, i := range byY[:gpKeepBest] {
			take[i] = true
		}
		left := room - gpKeepBest
		for i := len(scored) - 1; i >= 0 && left > 0; i-- {
			if !take[i] {
				take[i] = true
				left--
			}
		}
		for i, s := range scored {
			if take[i] {
				picks = append(picks, pick{s.Number, gpObservation{s.Config, s.y}})
			}
		}
	}
	sort.SliceStable(picks, func(i, j int) bool { return picks[i].number < picks[j].number })
	out := make([]gpObservation, len(picks))
	for i, p := range picks {
		out[i] = p.obs
	}
	return out
}

// gpModel is a fitted process: K = s2 (R + noise I) with R the Matern 5/2
// correlation under length scales ls, over standardised objectives.
type gpModel struct {
	x     [][]float64
	ls    []float64
	noise float64
	s2    float64
	u     blas64.Triangular // upper Cholesky factor of R + noise I
	alpha []float64         // (R + noise I)^-1 y
	best  float64           // best standardised observation (the incumbent)
	kbuf  []float64
}

// Length-scale and noise ladders of the coordinate search, in unit-cube
// coordinates and fractions of the signal variance.
var (
	gpScaleLadder = []float64{0.05, 0.15, 0.35, 0.7, 1.5, 4}
	gpNoiseLadder = []float64{1e-6, 1e-3, 1e-2, 0.1}
	gpScaleSteps  = []float64{0.4, 2.5}
)

const (
	gpMinScale  = 0.01
	gpMaxScale  = 20
	gpPriorMode = 0.5 // log-normal prior on each length scale: mode and spread
	gpPriorSD   = 1.5
)

func fitGP(enc *unitEncoder, obs []gpObservation) *gpModel {
	n := len(obs)
	x := make([][]float64, n)
	y := make([]float64, n)
	var mean, sq float64
	count := 0
	for i, o := range obs {
		x[i] = make([]float64, enc.dim)
		enc.encode(o.config, x[i])
		if !math.IsNaN(o.y) {
			mean += o.y
			count++
		}
	}
	mean /= float64(count)
	lie := math.Inf(1)
	for _, o := range obs {
		if !math.IsNaN(o.y) {
			sq += (o.y - mean) * (o.y - mean)
			lie = math.Min(lie, o.y)
		}
	}
	sd := math.Sqrt(sq / float64(count))
	if sd == 0 || math.IsNaN(sd) {
		sd = 1
	}
	best := math.Inf(1)
	for i, o := range obs {
		v := o.y
		if math.IsNaN(v) {
			v = lie
		}
		y[i] = (v - mean) / sd
		if !math.IsNaN(o.y) {
			best = math.Min(best, y[i])
		}
	}

	// Fit on a subset: the newest gpMaxFit points (obs are in number order).
	from := max(0, n-gpMaxFit)
	fx, fy := x[from:], y[from:]
	ls := make([]float64, enc.dim)
	setAll := func(v float64) {
		for k := range ls {
			ls[k] = v
		}
	}
	bestLL, bestNoise := math.Inf(-1), gpNoiseLadder[0]
	bestScale := gpScaleLadder[0]
	for _, s := range gpScaleLadder {
		setAll(s)
		for _, g := range gpNoiseLadder {
			if ll := gpLogLik(fx, fy, ls, g); ll > bestLL {
				bestLL, bestScale, bestNoise = ll, s, g
			}
		}
	}
	setAll(bestScale)
	// One length scale per parameter: a categorical parameter's one-hot
	// coordinates share theirs.
	for k := range enc.params {
		from, to := enc.offset[k], enc.dim
		if k+1 < len(enc.offset) {
			to = enc.offset[k+1]
		}
		set := func(v float64) {
			for j := from; j < to; j++ {
				ls[j] = v
			}
		}
		cur := ls[from]
		for _, f := range gpScaleSteps {
			set(clamp(cur*f, gpMinScale, gpMaxScale))
			if ll := gpLogLik(fx, fy, ls, bestNoise); ll > bestLL {
				bestLL, cur = ll, ls[from]
			}
		}
		set(cur)
	}
	for _, g := range gpNoiseLadder {
		if ll := gpLogLik(fx, fy, ls, g); ll > bestLL {
			bestLL, bestNoise = ll, g
		}
	}

	m := &gpModel{x: x, ls: ls, noise: bestNoise, best: best, kbuf: make([]float64, n)}
	// Larger noise until the matrix factorizes; the correlation matrix is
	// positive semi-definite, so a noise of 1 always does.
	ok := false
	for g := bestNoise; !ok && g <= 1; g *= 10 {
		m.noise = g
		m.u, ok = gpFactor(x, ls, g)
	}
	m.alpha = append([]float64(nil), y...)
	if ok {
		gpSolve(m.u, m.alpha)
	} else {
		clear(m.alpha)
	}
	m.s2 = math.Max(floatsDot(y, m.alpha)/float64(n), 1e-12)
	return m
}

// matern52 is the Matern 5/2 correlation of two points under length scales ls.
func matern52(a, b, ls []float64) float64 {
	r2 := 0.0
	for k := range a {
		d := (a[k] - b[k]) / ls[k]
		r2 += d * d
	}
	r := math.Sqrt(5 * r2)
	return (1 + r + r*r/3) * math.Exp(-r)
}

// gpFactor returns the upper Cholesky factor of R + noise I.
func gpFactor(x [][]float64, ls []float64, noise float64) (blas64.Triangular, bool) {
	n := len(x)
	a := blas64.Symmetric{Uplo: blas.Upper, N: n, Stride: n, Data: make([]float64, n*n)}
	for i := range n {
		a.Data[i*n+i] = 1 + noise
		for j := i + 1; j < n; j++ {
			a.Data[i*n+j] = matern52(x[i], x[j], ls)
		}
	}
	return lapack64.Potrf(a)
}

// gpSolve overwrites v with (UᵀU)^-1 v.
func gpSolve(u blas64.Triangular, v []float64) {
	vec := blas64.Vector{N: len(v), Inc: 1, Data: v}
	blas64.Trsv(blas.Trans, u, vec)
	blas64.Trsv(blas.NoTrans, u, vec)
}

// gpLogLik is the log marginal likelihood with the signal variance profiled
// out, plus the length scales' log prior; -Inf if the matrix is not
// positive definite.
func gpLogLik(x [][]float64, y, ls []float64, noise float64) float64 {
	n := len(x)
	u, ok := gpFactor(x, ls, noise)
	if !ok {
		return math.Inf(-1)
	}
	alpha := append([]float64(nil), y...)
	gpSolve(u, alpha)
	quad := math.Max(floatsDot(y, alpha), 1e-12)
	logDet := 0.0
	for i := range n {
		logDet += 2 * math.Log(u.Data[i*u.Stride+i])
	}
	ll := -0.5*float64(n)*math.Log(quad/float64(n)) - 0.5*logDet
	for _, l := range ls {
		z := (math.Log(l) - math.Log(gpPriorMode)) / gpPriorSD
		ll -= 0.5 * z * z
	}
	return ll
}

// predict returns the posterior mean and standard deviation at p.
func (m *gpModel) predict(p []float64) (mu, sd float64) {
	k := m.kbuf
	for i, xi := range m.x {
		k[i] = matern52(p, xi, m.ls)
	}
	mu = floatsDot(k, m.alpha)
	if m.u.N == 0 {
		return mu, math.Sqrt(m.s2)
	}
	// Var = 1 - kᵀ(UᵀU)^-1 k = 1 - |U^-ᵀ k|²: the latent function's
	// variance, without the noise.
	blas64.Trsv(blas.Trans, m.u, blas64.Vector{N: len(k), Inc: 1, Data: k})
	v := 1 - floatsDot(k, k)
	return mu, math.Sqrt(math.Max(v, 1e-12) * m.s2)
}

// expectedImprovement is E[max(best - f(p), 0)] under the posterior.
func (m *gpModel) expectedImprovement(p []float64) float64 {
	mu, sd := m.predict(p)
	d := m.best - mu
	z := d / sd
	cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
	pdf := math.Exp(-0.5*z*z) / math.Sqrt(2*math.Pi)
	return d*cdf + sd*pdf
}
