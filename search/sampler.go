package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// State is a trial's lifecycle state, as stored.
type State string

// Trial states. Complete, Pruned, Diverged, Failed and Canceled are final.
const (
	Pending  State = "pending"
	Running  State = "running"
	Complete State = "complete"
	Pruned   State = "pruned"
	Diverged State = "diverged"
	Failed   State = "failed"
	Canceled State = "canceled"
)

// States lists every trial state, in lifecycle order.
func States() []State { return []State{Pending, Running, Complete, Pruned, Diverged, Failed, Canceled} }

// ParseState returns the trial state named s, or an error that lists the
// allowed names.
func ParseState(s string) (State, error) {
	for _, st := range States() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("search: trial state %q is not one of %v", s, States())
}

// StudyState is a study's lifecycle state, as stored and as the study
// workflow reports it.
type StudyState string

// Study states. Complete, Stopped, Canceled and Failed are final.
const (
	StudyRunning  StudyState = "running"
	StudyStopping StudyState = "stopping" // stop requested; running trials finish
	StudyComplete StudyState = "complete"
	StudyStopped  StudyState = "stopped"
	StudyCanceled StudyState = "canceled"
	StudyFailed   StudyState = "failed"
)

// StudyStates lists every study state.
func StudyStates() []StudyState {
	return []StudyState{StudyRunning, StudyStopping, StudyComplete, StudyStopped, StudyCanceled, StudyFailed}
}

// ParseStudyState returns the study state named s, or an error that lists
// the allowed names.
func ParseStudyState(s string) (StudyState, error) {
	for _, st := range StudyStates() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("search: study state %q is not one of %v", s, StudyStates())
}

// Final reports whether the study has ended.
func (s StudyState) Final() bool { return s != StudyRunning && s != StudyStopping && s != "" }

// Final reports whether no further change to the trial is expected.
func (s State) Final() bool {
	switch s {
	case Complete, Pruned, Diverged, Failed, Canceled:
		return true
	}
	return false
}

// Direction says whether the objective is maximised or minimised.
type Direction string

// Directions.
const (
	Maximize Direction = "maximize"
	Minimize Direction = "minimize"
)

// Better reports whether a is strictly better than b in direction d.
func (d Direction) Better(a, b float64) bool {
	if d == Minimize {
		return a < b
	}
	return a > b
}

// Trial is what a sampler sees of one past or running trial.
type Trial struct {
	Number    int
	Config    Config
	State     State
	Objective *float64 // nil unless Complete (or Pruned with an intermediate value)
	// Epochs is how many epochs the trial ran (0 if unknown). TPE ranks
	// pruned trials that got further as better.
	Epochs int
	// Values are the objective values of a multi-objective study, in the
	// order of its objectives (nil when unknown); multi-objective samplers
	// (nsga2) read them, the others read Objective.
	Values []float64
}

// Sampler suggests new configurations. Implementations must be pure: the
// result depends only on the arguments.
type Sampler interface {
	// Name is the algorithm's name in a study spec.
	Name() string
	// Sample proposes one configuration. rng is the only source of
	// randomness; history holds every trial of the study so far, including
	// configurations suggested earlier in the same call.
	Sample(space *Space, history []Trial, dir Direction, rng *rand.Rand) (Config, error)
}

// ErrSpaceExhausted is returned when no configuration that has not been
// tried is left (or none could be found).
var ErrSpaceExhausted = errors.New("search: space exhausted")

// ErrUnknownAlgorithm is returned by NewSampler for a name it does not know.
var ErrUnknownAlgorithm = errors.New("search: unknown algorithm")

// ErrInvalidOptions is wrapped by NewSampler's errors about SamplerOptions.
var ErrInvalidOptions = errors.New("search: invalid sampler options")

// Algorithms lists the sampler names NewSampler accepts.
func Algorithms() []string {
	return []string{"cmaes", "gp", "grid", "nsga2", "random", "sobol", "tpe"}
}

// MultiObjective reports whether the named algorithm can run a study with
// several objectives: nsga2 ranks trials by Pareto dominance, and random,
// grid and sobol do not read results at all. tpe, gp and cmaes model one
// objective and cannot.
func MultiObjective(name string) bool {
	switch name {
	case "nsga2", "random", "grid", "sobol":
		return true
	}
	return false
}

// ReadsResults reports whether the named algorithm's suggestions depend on
// the objectives of earlier trials (tpe, gp, cmaes, nsga2), not only on how many
// there are. Callers that want reproducible studies feed such samplers a
// history that does not depend on timing (see workflows' suggestion lag).
func ReadsResults(name string) bool {
	switch name {
	case "tpe", "gp", "cmaes", "nsga2":
		return true
	}
	return false
}

// CheckSpace reports whether the named algorithm can search space: cmaes
// needs a numeric parameter (ErrNoContinuous); the others search any space.
func CheckSpace(name string, space *Space) error {
	if name == "cmaes" {
		return CMAES{}.CheckSpace(space)
	}
	return nil
}

// NewSampler returns the sampler with the given name.
func NewSampler(name string, opts SamplerOptions) (Sampler, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if opts.Multivariate && name != "tpe" {
		return nil, fmt.Errorf("%w: multivariate: true is a tpe option; algorithm %q has none (allowed with: tpe)", ErrInvalidOptions, name)
	}
	if len(opts.Directions) > 0 && !MultiObjective(name) {
		return nil, fmt.Errorf("%w: algorithm %q optimises a single objective; a study with objectives needs one of nsga2, random, grid, sobol", ErrInvalidOptions, name)
	}
	for i, d := range opts.Directions {
		if d != Maximize && d != Minimize {
			return nil, fmt.Errorf("%w: objectives[%d].direction: %q must be maximize or minimize", ErrInvalidOptions, i, d)
		}
	}
	switch name {
	case "random":
		return Random{}, nil
	case "grid":
		return Grid{Points: opts.GridPoints}, nil
	case "sobol":
		return Sobol{}, nil
	case "tpe":
		return TPE{
			Startup:      opts.TPEStartup,
			Candidates:   opts.TPECandidates,
			Gamma:        opts.TPEGamma,
			PriorWeight:  opts.TPEPriorWeight,
			Multivariate: opts.Multivariate,
		}, nil
	case "gp":
		return GP{}, nil
	case "cmaes":
		return CMAES{}, nil
	case "nsga2":
		return NSGA2{Population: opts.NSGA2Population, Startup: opts.NSGA2Startup, Directions: opts.Directions}, nil
	}
	return nil, fmt.Errorf("%w %q (allowed: %v)", ErrUnknownAlgorithm, name, Algorithms())
}

// SamplerOptions tunes samplers; zero values mean defaults.
type SamplerOptions struct {
	// GridPoints is the number of grid points per numeric parameter (default 3).
	GridPoints int
	// TPEStartup is the number of finished trials with an objective that
	// tpe waits for, sampling at random, before it models (default 10).
	TPEStartup int
	// TPECandidates is the number of candidates tpe draws from l(x) for
	// every parameter (default 24).
	TPECandidates int
	// TPEGamma, if set, puts the best ceil(TPEGamma * n) of n ranked trials
	// in tpe's good group; by default the group holds min(ceil(0.1 n), 25).
	TPEGamma float64
	// TPEPriorWeight is the weight of the prior component of every Parzen
	// estimator, against 1 for each observation (default 1).
	TPEPriorWeight float64
	// Multivariate makes tpe model the parameters jointly (tpe only).
	Multivariate bool
	// NSGA2Population is nsga2's parent population (default 16).
	NSGA2Population int
	// NSGA2Startup is the number of finished trials nsga2 samples at
	// random before it breeds (default 8).
	NSGA2Startup int
	// Directions are the directions of a multi-objective study's
	// objectives, in the order of Trial.Values; empty for a study with one
	// objective. Only multi-objective algorithms accept them.
	Directions []Direction
}

func (o SamplerOptions) validate() error {
	bad := func(field string, v any, allowed string) error {
		return fmt.Errorf("%w: %s: %v %s", ErrInvalidOptions, field, v, allowed)
	}
	switch {
	case o.GridPoints < 0:
		return bad("grid_points", o.GridPoints, "must be >= 0 (0 means 3)")
	case o.TPEStartup < 0:
		return bad("tpe.n_startup_trials", o.TPEStartup, "must be >= 0 (0 means 10)")
	case o.TPECandidates < 0:
		return bad("tpe.n_ei_candidates", o.TPECandidates, "must be >= 0 (0 means 24)")
	case math.IsNaN(o.TPEGamma) || o.TPEGamma < 0 || o.TPEGamma > 1:
		return bad("tpe.gamma", o.TPEGamma, "must be in (0, 1] (0 means min(ceil(0.1 n), 25))")
	case o.NSGA2Population < 0 || o.NSGA2Population == 1:
		return bad("nsga2.population", o.NSGA2Population, "must be >= 2 (0 means 16)")
	case o.NSGA2Startup < 0:
		return bad("nsga2.n_startup_trials", o.NSGA2Startup, "must be >= 0 (0 means 8)")
	case math.IsNaN(o.TPEPriorWeight) || math.IsInf(o.TPEPriorWeight, 0) || o.TPEPriorWeight < 0:
		return bad("tpe.prior_weight", o.TPEPriorWeight, "must be a finite number >= 0 (0 means 1)")
	}
	return nil
}

// studySeeded is implemented by samplers whose sequence depends on the study
// seed itself rather than on the per-call random stream (sobol's scramble);
// Suggest hands them its seed.
type studySeeded interface {
	withSeed(seed uint64) Sampler
}

// maxDraws bounds how many times Suggest redraws to avoid a duplicate.
const maxDraws = 200

// Suggest asks s for n new configurations, distinct from each other and from
// every configuration in history. The k-th new configuration draws from a
// random stream derived from seed and its position len(history)+k, so a
// retried call after a restart returns the same configurations, and asking
// for several at once gives the same ones as asking one at a time (with the
// earlier ones pending in history). Samplers that need the study seed itself
// (sobol) get seed.
func Suggest(s Sampler, space *Space, history []Trial, dir Direction, n int, seed uint64) ([]Config, error) {
	if sd, ok := s.(studySeeded); ok {
		s = sd.withSeed(seed)
	}
	seen := make(map[string]bool, len(history)+n)
	for _, t := range history {
		seen[t.Config.Hash()] = true
	}
	hist := append([]Trial(nil), history...)
	out := make([]Config, 0, n)
	for len(out) < n {
		var c Config
		found := false
		// Each position in the study has its own random stream, so asking
		// for two configurations at once gives the same ones as asking
		// twice: suggestions do not depend on how trials finish in time.
		rng := rand.New(rand.NewPCG(seed, uint64(len(hist))^0x9e3779b97f4a7c15))
		for draw := 0; draw < maxDraws; draw++ {
			var err error
			c, err = s.Sample(space, hist, dir, rng)
			if err != nil {
				return out, err
			}
			if err := space.Contains(c); err != nil {
				return out, fmt.Errorf("search: %s suggested %v outside the space: %w", s.Name(), c, err)
			}
			if !seen[c.Hash()] {
				found = true
				break
			}
		}
		if !found {
			return out, ErrSpaceExhausted
		}
		seen[c.Hash()] = true
		out = append(out, c)
		hist = append(hist, Trial{Number: len(hist), Config: c, State: Pending})
	}
	return out, nil
}

// Random samples every active parameter independently and uniformly (log-
// uniformly for LogFloat).
type Random struct{}

// Name implements Sampler.
func (Random) Name() string { return "random" }

// Sample implements Sampler.
func (Random) Sample(space *Space, _ []Trial, _ Direction, rng *rand.Rand) (Config, error) {
	c := make(Config, len(space.Params()))
	for _, p := range space.Params() {
		if !space.Active(p, c) {
			continue
		}
		c[p.Name] = SampleUniform(p, rng)
	}
	return c, nil
}

// SampleUniform draws one value of p from its prior.
func SampleUniform(p Param, rng *rand.Rand) Value {
	switch p.Kind {
	case Float:
		return Num(clamp(p.Low+rng.Float64()*(p.High-p.Low), p.Low, p.High))
	case LogFloat:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return Num(clamp(math.Exp(lo+rng.Float64()*(hi-lo)), p.Low, p.High))
	case Int:
		// Integer arithmetic: bounds up to ±2^53 are exact, their
		// difference as a float64 may not be.
		lo := int64(p.Low)
		return Num(float64(lo + rng.Int64N(int64(p.High)-lo+1)))
	case Categorical:
		return p.Choices[rng.IntN(len(p.Choices))]
	}
	panic("search: unknown kind")
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// Grid walks the Cartesian product of every choice and Points evenly spaced
// values of every numeric parameter (log-spaced for LogFloat), in a fixed
// order, skipping points already in the history. Inactive conditional
// parameters collapse, so no configuration repeats.
type Grid struct{ Points int }

// Name implements Sampler.
func (Grid) Name() string { return "grid" }

// Sample implements Sampler.
func (g Grid) Sample(space *Space, history []Trial, _ Direction, _ *rand.Rand) (Config, error) {
	seen := make(map[string]bool, len(history))
	for _, t := range history {
		seen[t.Config.Hash()] = true
	}
	var found Config
	g.walk(space, 0, Config{}, func(c Config) bool {
		if seen[c.Hash()] {
			return true
		}
		found = c
		return false
	})
	if found == nil {
		return nil, ErrSpaceExhausted
	}
	return found, nil
}

// Size returns the number of distinct grid points.
func (g Grid) Size(space *Space) int {
	n := 0
	g.walk(space, 0, Config{}, func(Config) bool { n++; return true })
	return n
}

func (g Grid) walk(space *Space, i int, c Config, visit func(Config) bool) bool {
	params := space.Params()
	if i == len(params) {
		out := make(Config, len(c))
		for k, v := range c {
			out[k] = v
		}
		return visit(out)
	}
	p := params[i]
	if !space.Active(p, c) {
		return g.walk(space, i+1, c, visit)
	}
	for _, v := range g.values(p) {
		c[p.Name] = v
		if !g.walk(space, i+1, c, visit) {
			delete(c, p.Name)
			return false
		}
	}
	delete(c, p.Name)
	return true
}

func (g Grid) values(p Param) []Value {
	n := g.Points
	if n <= 0 {
		n = 3
	}
	switch p.Kind {
	case Categorical:
		return p.Choices
	case Int:
		span := int(p.High-p.Low) + 1
		if span < n {
			n = span
		}
	}
	if n == 1 || p.Low == p.High {
		return []Value{Num(gridPoint(p, 0.5))}
	}
	vs := make([]Value, 0, n)
	for i := 0; i < n; i++ {
		v := Num(gridPoint(p, float64(i)/float64(n-1)))
		if len(vs) > 0 && vs[len(vs)-1].Equal(v) {
			continue
		}
		vs = append(vs, v)
	}
	return vs
}

func gridPoint(p Param, t float64) float64 {
	switch p.Kind {
	case LogFloat:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return clamp(math.Exp(lo+t*(hi-lo)), p.Low, p.High)
	case Int:
		lo, hi := int64(p.Low), int64(p.High)
		return float64(min(lo+int64(math.Round(t*float64(hi-lo))), hi))
	}
	// Clamped: with bounds of very different magnitude the sum can round
	// outside them.
	return clamp(p.Low+t*(p.High-p.Low), p.Low, p.High)
}

// ReplicateSeeds returns the k paired seeds of a study: replicate r of every
// configuration trains with seeds[r], so all configurations see the same data
// orders and initial random streams.
func ReplicateSeeds(studySeed uint64, k int) []uint64 {
	seeds := make([]uint64, k)
	for r := range seeds {
		h := fnv.New64a()
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], studySeed)
		binary.LittleEndian.PutUint64(b[8:], uint64(r))
		h.Write(b[:])
		seeds[r] = h.Sum64() >> 1 // keep it positive as a Postgres bigint
	}
	return seeds
}
