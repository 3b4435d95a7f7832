package search

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestModelSamplersBeatRandom runs 10 studies of 40 sequential trials per
// test function with gp, cmaes and multivariate tpe and with random from
// the same seeds, and asserts that each wins on most seeds and has a lower
// mean regret. Measured here (wins of 10 on branin, hartmann6,
// conditional): gp 10, 10, 10; tpe+multivariate 8, 10, 10; cmaes 3, 8, 8.
// cmaes needs more trials than 40 on Branin (two dimensions, generations
// of 6), so it is held to its mean only there; docs/search.md has the
// full benchmark.
func TestModelSamplersBeatRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4800 trials")
	}
	const (
		trials = 40
		seeds  = 10
	)
	samplers := []Sampler{GP{}, TPE{Multivariate: true}, CMAES{}}
	for _, fn := range testFunctions {
		space := fn.space(t)
		random := make([]float64, seeds)
		for i := range random {
			_, random[i] = runStudy(t, Random{}, space, fn.f, trials, uint64(i+1))
		}
		for _, s := range samplers {
			name := s.Name()
			if tpe, ok := s.(TPE); ok && tpe.Multivariate {
				name += "+multivariate"
			}
			t.Run(fn.name+"/"+name, func(t *testing.T) {
				wins := 0
				var sum, sumRandom float64
				for i := range seeds {
					_, best := runStudy(t, s, space, fn.f, trials, uint64(i+1))
					if best < fn.min-1e-6 {
						t.Fatalf("seed %d: best %v below the known minimum %v", i+1, best, fn.min)
					}
					if best < random[i] {
						wins++
					}
					sum += best - fn.min
					sumRandom += random[i] - fn.min
				}
				t.Logf("wins %d/%d; mean regret %.4g, random %.4g", wins, seeds, sum/seeds, sumRandom/seeds)
				if sum >= sumRandom {
					t.Errorf("mean regret %.4g is not below random's %.4g", sum/seeds, sumRandom/seeds)
				}
				if wins < 7 && !(name == "cmaes" && fn.name == "branin") {
					t.Errorf("beats random on %d/%d seeds, want at least 7", wins, seeds)
				}
			})
		}
	}
}

// TestGPConstantLiar checks that pending trials push GP away, as
// TestTPEConstantLiar does for TPE.
func TestGPConstantLiar(t *testing.T) {
	space := branin.space(t)
	history, _ := runStudy(t, Random{}, space, branin.f, 30, 1)
	batch, err := Suggest(GP{}, space, history, Minimize, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	var alone []Config
	for seed := range uint64(8) {
		c, err := Suggest(GP{}, space, history, Minimize, 1, 100+seed)
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, c[0])
	}
	spread := func(cs []Config) float64 {
		sum := 0.0
		for i := range cs {
			for j := range i {
				sum += math.Hypot((cs[i]["x1"].Float()-cs[j]["x1"].Float())/15, (cs[i]["x2"].Float()-cs[j]["x2"].Float())/15)
			}
		}
		return sum / float64(len(cs)*(len(cs)-1)/2)
	}
	t.Logf("spread with pending %.3f, without %.3f", spread(batch), spread(alone))
	if a, b := spread(batch), spread(alone); a <= b {
		t.Fatalf("mean pairwise distance with pending trials %.3f, without %.3f: want larger with", a, b)
	}
}

// TestGPPosteriorInterpolates fits the process to a smooth function of one
// parameter and checks that its mean is close to the function between the
// observations and its uncertainty small there and larger far from them.
func TestGPPosteriorInterpolates(t *testing.T) {
	space := mustSpace(t, Param{Name: "x", Kind: Float, Low: 0, High: 1})
	f := func(x float64) float64 { return math.Sin(6 * x) }
	var obs []gpObservation
	for i := range 12 {
		x := float64(i) / 22 // observations on [0, 0.5] only
		obs = append(obs, gpObservation{Config{"x": Num(x)}, f(x)})
	}
	m := fitGP(newUnitEncoder(space, false), obs)
	// The model is in standardised units: compare through them.
	var mean, sq float64
	for _, o := range obs {
		mean += o.y
	}
	mean /= float64(len(obs))
	for _, o := range obs {
		sq += (o.y - mean) * (o.y - mean)
	}
	sd := math.Sqrt(sq / float64(len(obs)))
	for _, x := range []float64{0.07, 0.2, 0.33, 0.45} {
		mu, s := m.predict([]float64{x})
		if got := mu*sd + mean; math.Abs(got-f(x)) > 0.05 {
			t.Errorf("mean at %v = %.4f, want %.4f ± 0.05", x, got, f(x))
		}
		if s > 0.1 {
			t.Errorf("sd at %v = %.4f between observations, want < 0.1", x, s)
		}
	}
	_, near := m.predict([]float64{0.3})
	_, far := m.predict([]float64{0.95})
	if far <= 3*near {
		t.Errorf("sd far from the data %.4f, near %.4f: want far > 3 near", far, near)
	}
}

// TestGPBoundsTheHistory checks that the process sees at most
// gpMaxObservations trials, every pending one and the best ones among them.
func TestGPBoundsTheHistory(t *testing.T) {
	var scored []scoredTrial
	for i := range 1000 {
		y := float64((i * 7919) % 1000) // a permutation of 0..999
		scored = append(scored, scoredTrial{Trial: Trial{Number: i}, y: y})
	}
	pending := []Trial{{Number: 1000, State: Pending}, {Number: 1001, State: Pending}}
	obs := gpSelect(scored, pending)
	if len(obs) != gpMaxObservations {
		t.Fatalf("%d observations, want %d", len(obs), gpMaxObservations)
	}
	lies, best := 0, 0
	for _, o := range obs {
		switch {
		case math.IsNaN(o.y):
			lies++
		case o.y < gpKeepBest:
			best++
		}
	}
	if lies != len(pending) || best != gpKeepBest {
		t.Fatalf("%d pending and %d of the best %d kept; want %d and %d", lies, best, gpKeepBest, len(pending), gpKeepBest)
	}
}

// TestCMAESConverges checks the replayed strategy on a sphere in five
// dimensions: after 30 generations its suggestions cluster at the optimum.
func TestCMAESConverges(t *testing.T) {
	var ps []Param
	for i := range 5 {
		ps = append(ps, Param{Name: fmt.Sprintf("x%d", i), Kind: Float, Low: -1, High: 1})
	}
	space := mustSpace(t, ps...)
	sphere := func(c Config) float64 {
		s := 0.0
		for _, v := range c {
			d := v.Float() - 0.3
			s += d * d
		}
		return s
	}
	lambda := newCMAState(5).lambda
	_, best := runStudy(t, CMAES{}, space, sphere, 30*lambda, 3)
	if best > 1e-3 {
		t.Fatalf("best %.3g after %d trials, want < 1e-3", best, 30*lambda)
	}
}

// TestCMAESSamplesCategoricalsIndependently checks that cmaes draws every
// choice of a categorical parameter about equally often, whatever the
// results, and that its numeric parameters move.
func TestCMAESSamplesCategoricalsIndependently(t *testing.T) {
	space := mustSpace(t,
		Param{Name: "a", Kind: Categorical, Choices: []Value{Str("x"), Str("y")}},
		Param{Name: "u", Kind: Float, Low: 0, High: 1})
	f := func(c Config) float64 {
		v := c["u"].Float()
		if c["a"].String() == "y" {
			v += 10
		}
		return v
	}
	history, _ := runStudy(t, CMAES{}, space, f, 200, 4)
	ys := 0
	for _, tr := range history[100:] {
		if tr.Config["a"].String() == "y" {
			ys++
		}
	}
	if ys < 35 || ys > 65 {
		t.Fatalf("a=y in %d of the last 100 trials, want about 50", ys)
	}
}

func TestCMAESRefusesSpacesWithoutNumbers(t *testing.T) {
	space := mustSpace(t,
		Param{Name: "a", Kind: Categorical, Choices: []Value{Str("x"), Str("y")}},
		Param{Name: "f", Kind: Float, Low: 2, High: 2})
	if err := CheckSpace("cmaes", space); !errors.Is(err, ErrNoContinuous) {
		t.Fatalf("CheckSpace: %v, want ErrNoContinuous", err)
	}
	if _, err := Suggest(CMAES{}, space, nil, Minimize, 1, 1); !errors.Is(err, ErrNoContinuous) {
		t.Fatalf("Suggest: %v, want ErrNoContinuous", err)
	}
	for _, name := range []string{"gp", "tpe", "random"} {
		if err := CheckSpace(name, space); err != nil {
			t.Errorf("CheckSpace(%q): %v, want nil", name, err)
		}
	}
}

func TestReadsResults(t *testing.T) {
	for name, want := range map[string]bool{"tpe": true, "gp": true, "cmaes": true, "random": false, "sobol": false, "grid": false} {
		if got := ReadsResults(name); got != want {
			t.Errorf("ReadsResults(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestJointParzenDensityIntegratesToOne checks the multivariate estimator's
// density over a two-dimensional space with an integer and a float
// parameter by summing over the integers and integrating the float.
func TestJointParzenDensityIntegratesToOne(t *testing.T) {
	space := mustSpace(t,
		Param{Name: "k", Kind: Int, Low: 1, High: 4},
		Param{Name: "u", Kind: LogFloat, Low: 0.01, High: 1})
	rng := rand.New(rand.NewPCG(1, 2))
	var ts []Trial
	for i := range 6 {
		c, _ := Random{}.Sample(space, nil, Minimize, rng)
		ts = append(ts, Trial{Number: i, Config: c})
	}
	jp := newJointParzen(space, ts, 1)
	buf := make([]float64, len(jp.logW))
	const steps = 4000
	lo, hi := math.Log(0.01), math.Log(1.0)
	total := 0.0
	for k := 1; k <= 4; k++ {
		for i := range steps {
			x := lo + (float64(i)+0.5)*(hi-lo)/steps
			c := Config{"k": Num(float64(k)), "u": Num(math.Exp(x))}
			// The density is over log u: integrate in that variable.
			total += math.Exp(jp.logPDF(c, buf)) * (hi - lo) / steps
		}
	}
	if math.Abs(total-1) > 1e-3 {
		t.Fatalf("density integrates to %v, want 1", total)
	}
}
