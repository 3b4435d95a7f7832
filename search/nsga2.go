package search

import (
	"math"
	"math/rand/v2"
	"sort"
)

// NSGA2 is the elitist non-dominated sorting genetic algorithm (Deb et al.,
// 2002) for one or more objectives. It samples at random until Startup
// trials have finished with every objective value, then breeds each new
// configuration from the study's current parent population: the best
// Population finished trials, ranked by non-domination and, within the last
// front that fits, by crowding distance. Parents are picked by binary
// tournament; numeric parameters are crossed by simulated binary crossover
// (SBX) and mutated polynomially in the unit coordinates of unitEncoder
// (log scale for LogFloat, integers rounded on the way back), categorical
// ones by uniform crossover and resampling.
//
// Being stateless, it is the steady-state form of the algorithm: the parent
// population is recomputed from the whole history at every suggestion, so
// every finished trial competes with every other (the elitist (mu + lambda)
// selection of NSGA-II), and the suggestions depend only on the history
// and the random stream. With one objective it is a genetic algorithm
// with tournament selection.
type NSGA2 struct {
	// Population is the size of the parent population (default 16).
	Population int
	// Startup is the number of finished trials sampled at random before
	// the first generation (default 8).
	Startup int
	// Directions are the objectives' directions, in the order of
	// Trial.Values. Empty means one objective: Trial.Objective in the
	// direction Sample is given.
	Directions []Direction
}

// NSGA-II's operator settings: SBX with distribution index 20 applied with
// probability 0.9, polynomial mutation with index 20 at rate 1/numeric
// parameters, and categorical genes resampled at rate 1/parameters.
const (
	nsgaCrossoverProb = 0.9
	nsgaEtaCrossover  = 20.0
	nsgaEtaMutation   = 20.0
	// nsgaTries bounds how many children Sample breeds looking for one not
	// in the history before it falls back to a random configuration.
	nsgaTries = 16
)

// Name implements Sampler.
func (NSGA2) Name() string { return "nsga2" }

func (g NSGA2) population() int {
	if g.Population > 0 {
		return g.Population
	}
	return 16
}

func (g NSGA2) startup() int {
	if g.Startup > 0 {
		return g.Startup
	}
	return 8
}

// nsgaMember is a finished trial in minimisation form.
type nsgaMember struct {
	t     Trial
	y     []float64
	rank  int
	crowd float64
}

// Sample implements Sampler.
func (g NSGA2) Sample(space *Space, history []Trial, dir Direction, rng *rand.Rand) (Config, error) {
	members := g.scored(history, dir)
	if len(members) < g.startup() {
		return Random{}.Sample(space, history, dir, rng)
	}
	parents := selectParents(members, g.population())
	for range nsgaTries {
		a := tournament(parents, rng)
		b := tournament(parents, rng)
		c := breed(space, a.t.Config, b.t.Config, rng)
		if !inHistory(c, history) {
			return c, nil
		}
	}
	// The neighbourhood of the parents is used up: explore.
	return Random{}.Sample(space, history, dir, rng)
}

// scored returns the complete trials whose objective values are all finite,
// ordered by trial number, in minimisation form.
func (g NSGA2) scored(history []Trial, dir Direction) []*nsgaMember {
	var out []*nsgaMember
	for _, t := range history {
		if t.State != Complete {
			continue
		}
		y, ok := objectiveVector(t, g.Directions, dir)
		if !ok {
			continue
		}
		out = append(out, &nsgaMember{t: t, y: y})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].t.Number < out[j].t.Number })
	return out
}

// objectiveVector returns t's objective values to minimise: Values in
// dirs, or, when dirs is empty, the single Objective in dir. ok is false
// when a value is missing or not finite.
func objectiveVector(t Trial, dirs []Direction, dir Direction) (y []float64, ok bool) {
	if len(dirs) == 0 {
		if t.Objective == nil {
			return nil, false
		}
		dirs, y = []Direction{dir}, []float64{*t.Objective}
	} else {
		if len(t.Values) != len(dirs) {
			return nil, false
		}
		y = append([]float64(nil), t.Values...)
	}
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, false
		}
		if dirs[i] == Maximize {
			y[i] = -v
		}
	}
	return y, true
}

// Dominates reports whether a dominates b, both to be minimised: a is no
// worse in every objective and better in at least one.
func Dominates(a, b []float64) bool {
	better := false
	for i := range a {
		if a[i] > b[i] {
			return false
		}
		if a[i] < b[i] {
			better = true
		}
	}
	return better
}

// ParetoRanks returns the non-domination rank of every point (to be
// minimised): 1 for the points no other point dominates, 2 for those only
// rank-1 points dominate, and so on.
func ParetoRanks(ys [][]float64) []int {
	ms := make([]*nsgaMember, len(ys))
	for i, y := range ys {
		ms[i] = &nsgaMember{t: Trial{Number: i}, y: y}
	}
	sortFronts(ms, len(ms))
	ranks := make([]int, len(ys))
	for _, m := range ms {
		ranks[m.t.Number] = m.rank
	}
	return ranks
}

// sortFronts sets the rank of the members in the first fronts, until at
// least need members are ranked, and orders ms by rank (then by their
// objectives, lexicographically); members left unranked get rank 0 and
// come last. A point can only be dominated by one before it in
// lexicographic order, so each front is found by one scan that checks
// candidates against the front found so far.
func sortFronts(ms []*nsgaMember, need int) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i].y, ms[j].y
		for k := range a {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	rest := ms
	ranked := 0
	for rank := 1; len(rest) > 0 && ranked < need; rank++ {
		var front, others []*nsgaMember
		for _, m := range rest {
			dominated := false
			for _, f := range front {
				if Dominates(f.y, m.y) {
					dominated = true
					break
				}
			}
			if dominated {
				others = append(others, m)
				continue
			}
			m.rank = rank
			front = append(front, m)
		}
		copy(rest, front)
		copy(rest[len(front):], others)
		rest = rest[len(front):]
		ranked += len(front)
	}
	for i := range rest {
		rest[i].rank = 0
	}
}

// selectParents returns the n best of ms by NSGA-II's survival rule: whole
// fronts in rank order, and from the front that does not fit, the members
// with the largest crowding distance. Every returned member carries its
// rank and the crowding distance within its front.
func selectParents(ms []*nsgaMember, n int) []*nsgaMember {
	ms = append([]*nsgaMember(nil), ms...)
	sortFronts(ms, n)
	var out []*nsgaMember
	for i := 0; i < len(ms) && len(out) < n; {
		j := i
		if ms[i].rank == 0 {
			break // unranked: never reached, sortFronts ranked n
		}
		for j < len(ms) && ms[j].rank == ms[i].rank {
			j++
		}
		front := ms[i:j]
		crowding(front)
		if len(out)+len(front) > n {
			sort.SliceStable(front, func(a, b int) bool { return front[a].crowd > front[b].crowd })
			front = front[:n-len(out)]
		}
		out = append(out, front...)
		i = j
	}
	return out
}

// crowding sets the crowding distance of every member of one front: the
// sum over objectives of the normalised gap between its neighbours, with
// the extremes of each objective at infinity.
func crowding(front []*nsgaMember) {
	for i := range front {
		front[i].crowd = 0
	}
	if len(front) == 0 {
		return
	}
	idx := make([]int, len(front))
	for k := range front[0].y {
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return front[idx[a]].y[k] < front[idx[b]].y[k] })
		lo, hi := front[idx[0]].y[k], front[idx[len(idx)-1]].y[k]
		front[idx[0]].crowd = math.Inf(1)
		front[idx[len(idx)-1]].crowd = math.Inf(1)
		if hi == lo {
			continue
		}
		for i := 1; i < len(idx)-1; i++ {
			front[idx[i]].crowd += (front[idx[i+1]].y[k] - front[idx[i-1]].y[k]) / (hi - lo)
		}
	}
}

// tournament picks two members at random and returns the better: lower
// rank, then larger crowding distance, then the earlier trial.
func tournament(ps []*nsgaMember, rng *rand.Rand) *nsgaMember {
	a, b := ps[rng.IntN(len(ps))], ps[rng.IntN(len(ps))]
	switch {
	case a.rank != b.rank:
		if a.rank < b.rank {
			return a
		}
		return b
	case a.crowd != b.crowd:
		if a.crowd > b.crowd {
			return a
		}
		return b
	case b.t.Number < a.t.Number:
		return b
	}
	return a
}

// breed returns a child of configurations a and b. Parameters are visited
// in the space's order, so a condition's parameter is set before the
// parameters it activates; a parameter active in the child but in neither
// parent is drawn from its prior, one active in only one parent is
// inherited from it.
func breed(space *Space, a, b Config, rng *rand.Rand) Config {
	params := space.Params()
	numeric, cross := 0, rng.Float64() < nsgaCrossoverProb
	for _, p := range params {
		if p.Kind != Categorical && p.Low != p.High {
			numeric++
		}
	}
	pMut := 1 / float64(max(numeric, 1))
	pFlip := 1 / float64(len(params))
	c := make(Config, len(params))
	for _, p := range params {
		if !space.Active(p, c) {
			continue
		}
		va, okA := a[p.Name]
		vb, okB := b[p.Name]
		okA = okA && p.Check(va) == nil
		okB = okB && p.Check(vb) == nil
		switch {
		case !okA && !okB:
			c[p.Name] = SampleUniform(p, rng)
			continue
		case !okA:
			va = vb
		case !okB:
			vb = va
		}
		if p.Kind == Categorical {
			v := va
			if cross && rng.Float64() < 0.5 {
				v = vb
			}
			if rng.Float64() < pFlip {
				v = p.Choices[rng.IntN(len(p.Choices))]
			}
			c[p.Name] = v
			continue
		}
		if p.Low == p.High {
			c[p.Name] = va
			continue
		}
		u := toUnit(p, va.Float())
		if cross {
			u = sbx(u, toUnit(p, vb.Float()), rng)
		}
		if rng.Float64() < pMut {
			u = polynomialMutation(u, rng)
		}
		c[p.Name] = fromUnit(p, u)
	}
	return c
}

// sbx returns one child of x1 and x2 in [0, 1] by simulated binary crossover
// bounded to [0, 1] (Deb and Agrawal's form), or x1 for half of the genes.
func sbx(x1, x2 float64, rng *rand.Rand) float64 {
	if rng.Float64() >= 0.5 || math.Abs(x1-x2) < 1e-14 {
		return x1
	}
	y1, y2 := math.Min(x1, x2), math.Max(x1, x2)
	r := rng.Float64()
	spread := func(beta float64) float64 {
		alpha := 2 - math.Pow(beta, -(nsgaEtaCrossover+1))
		if r <= 1/alpha {
			return math.Pow(r*alpha, 1/(nsgaEtaCrossover+1))
		}
		return math.Pow(1/(2-r*alpha), 1/(nsgaEtaCrossover+1))
	}
	c1 := 0.5 * (y1 + y2 - spread(1+2*y1/(y2-y1))*(y2-y1))
	c2 := 0.5 * (y1 + y2 + spread(1+2*(1-y2)/(y2-y1))*(y2-y1))
	if rng.Float64() < 0.5 {
		return clamp(c1, 0, 1)
	}
	return clamp(c2, 0, 1)
}

// polynomialMutation moves u in [0, 1] by Deb's bounded polynomial
// mutation.
func polynomialMutation(u float64, rng *rand.Rand) float64 {
	r := rng.Float64()
	pow := 1 / (nsgaEtaMutation + 1)
	var dq float64
	if r < 0.5 {
		v := 2*r + (1-2*r)*math.Pow(u, nsgaEtaMutation+1)
		dq = math.Pow(v, pow) - 1
	} else {
		v := 2*(1-r) + 2*(r-0.5)*math.Pow(1-u, nsgaEtaMutation+1)
		dq = 1 - math.Pow(v, pow)
	}
	return clamp(u+dq, 0, 1)
}

// Hypervolume2D returns the area that the points (both objectives to be
// minimised) dominate within the box below ref. Points outside the box
// add nothing.
func Hypervolume2D(points [][2]float64, ref [2]float64) float64 {
	ps := make([][2]float64, 0, len(points))
	for _, p := range points {
		if p[0] < ref[0] && p[1] < ref[1] {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if ps[i][0] != ps[j][0] {
			return ps[i][0] < ps[j][0]
		}
		return ps[i][1] < ps[j][1]
	})
	hv, best := 0.0, ref[1]
	for i, p := range ps {
		if p[1] >= best {
			continue
		}
		next := ref[0]
		for _, q := range ps[i+1:] {
			if q[1] < p[1] {
				next = q[0]
				break
			}
		}
		hv += (next - p[0]) * (ref[1] - p[1])
		best = p[1]
	}
	return hv
}
