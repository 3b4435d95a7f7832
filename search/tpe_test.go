package search

import (
	"flag"
	"math"
	"math/rand/v2"
	"testing"
)

var tpeSeeds = flag.Int("tpeseeds", 20, "seeds per test function in TestTPEBeatsRandom")

// TestTPEBeatsRandom runs 20 studies of 50 sequential trials per test
// function with TPE and with Random from the same seeds (so both share their
// first 10, random, trials) and counts the seeds on which TPE's best is
// strictly lower. It also logs Sobol's count against Random, unasserted.
//
// Measured (go test ./search -run TestTPEBeatsRandom -v): TPE wins on 14/20
// seeds of Branin, 18/20 of Hartmann-6 and 18/20 of the conditional
// function. With -tpeseeds=200: 146/200, 168/200 and 185/200. Under the null
// hypothesis that TPE is no better than random, 14 or more wins of 20 has
// probability 0.058 for one function, and 50 or more of 60 for all three
// about 1e-7. The assertion is 70% of the seeds per function (14/20).
func TestTPEBeatsRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 9000 trials")
	}
	const trials = 50
	seeds := *tpeSeeds
	minWins := int(math.Ceil(0.7 * float64(seeds)))
	for _, fn := range testFunctions {
		t.Run(fn.name, func(t *testing.T) {
			space := fn.space(t)
			wins, sobolWins := 0, 0
			var sumTPE, sumRandom, sumSobol float64
			for seed := uint64(1); seed <= uint64(seeds); seed++ {
				_, bt := runStudy(t, TPE{}, space, fn.f, trials, seed)
				_, br := runStudy(t, Random{}, space, fn.f, trials, seed)
				_, bs := runStudy(t, Sobol{}, space, fn.f, trials, seed)
				if bt < fn.min-1e-6 || br < fn.min-1e-6 || bs < fn.min-1e-6 {
					t.Fatalf("seed %d: best %v / %v / %v below the known minimum %v", seed, bt, br, bs, fn.min)
				}
				if bt < br {
					wins++
				}
				if bs < br {
					sobolWins++
				}
				sumTPE += bt - fn.min
				sumRandom += br - fn.min
				sumSobol += bs - fn.min
			}
			n := float64(seeds)
			t.Logf("TPE beats random on %d/%d seeds, sobol on %d/%d; mean regret TPE %.4f, sobol %.4f, random %.4f",
				wins, seeds, sobolWins, seeds, sumTPE/n, sumSobol/n, sumRandom/n)
			if wins < minWins {
				t.Errorf("TPE beats random on %d/%d seeds, want at least %d", wins, seeds, minWins)
			}
			if sumTPE >= sumRandom {
				t.Errorf("TPE's mean regret %.4f is not below random's %.4f", sumTPE/n, sumRandom/n)
			}
		})
	}
}

// TestTPEUsesStartupThenModels checks the phases: the first Startup
// suggestions equal Random's from the same seed, the next do not.
func TestTPEUsesStartupThenModels(t *testing.T) {
	space := branin.space(t)
	tpeHist, _ := runStudy(t, TPE{Startup: 5}, space, branin.f, 8, 3)
	rndHist, _ := runStudy(t, Random{}, space, branin.f, 8, 3)
	for i := range 5 {
		if tpeHist[i].Config.Hash() != rndHist[i].Config.Hash() {
			t.Fatalf("start-up trial %d: TPE %v, random %v", i, tpeHist[i].Config, rndHist[i].Config)
		}
	}
	for i := 5; i < 8; i++ {
		if tpeHist[i].Config.Hash() == rndHist[i].Config.Hash() {
			t.Fatalf("trial %d after start-up equals random's %v", i, tpeHist[i].Config)
		}
	}
}

// TestTPEConditionalEstimators checks that a conditional parameter's
// estimators see only the trials in which it was active: with every good
// trial in branch "log" at lr near 1e-3, TPE's lr suggestions concentrate
// there, while branch "quad"'s u, seen only in bad trials, is not drawn to
// the values of those trials.
func TestTPEConditionalEstimators(t *testing.T) {
	space := conditional.space(t)
	var history []Trial
	add := func(c Config, obj float64) {
		history = append(history, Trial{Number: len(history), Config: c, State: Complete, Objective: &obj})
	}
	for i := range 10 {
		lr := 1e-3 * math.Pow(1.2, float64(i-5))
		add(Config{"family": Str("log"), "lr": Num(lr), "w": Num(0.1 * float64(i-5))}, 0.01*float64(i))
	}
	for i := range 90 {
		u := 0.9 + 0.001*float64(i)
		add(Config{"family": Str("quad"), "u": Num(u), "w": Num(1.5)}, 5+float64(i))
	}
	logBranch, near := 0, 0
	for seed := range uint64(20) {
		cs, err := Suggest(TPE{}, space, history, Minimize, 1, seed)
		if err != nil {
			t.Fatal(err)
		}
		c := cs[0]
		if c["family"].String() != "log" {
			continue
		}
		logBranch++
		if lr := c["lr"].Float(); lr > 1e-4 && lr < 1e-2 {
			near++
		}
	}
	if logBranch < 18 || near < logBranch-1 {
		t.Fatalf("%d of 20 suggestions in the good branch, %d of them with lr within 10x of 1e-3; want most", logBranch, near)
	}

	// u was active only in bad trials, so its l is the prior alone while its
	// g piles up on [0.9, 0.99]: the argmax avoids that interval (0 of 1000
	// draws when measured), to which a uniform draw gives 9% of its mass.
	good, bad, _ := splitTrials(history, Minimize, TPE{}.nGood)
	m := &tpeModel{tpe: TPE{}.withDefaults(), space: space, good: good, bad: bad, params: make([]*tpeParam, len(space.Params()))}
	rng := rand.New(rand.NewPCG(1, 2))
	for i, p := range space.Params() {
		if p.Name != "u" {
			continue
		}
		if n := len(internalValues(p, good)); n != 0 {
			t.Fatalf("u has %d good observations, want 0", n)
		}
		inBad := 0
		for range 1000 {
			if u := m.sampleParam(i, p, rng, true).Float(); u >= 0.9 && u <= 0.99 {
				inBad++
			}
		}
		if inBad > 10 {
			t.Fatalf("%d of 1000 draws of u in the bad trials' [0.9, 0.99], want almost none", inBad)
		}
	}
}

// TestTPERanksPrunedBelowComplete builds a history where the best objective
// belongs to a pruned trial that stopped early: TPE's good group must hold
// the complete trials first.
func TestTPERanksPrunedBelowComplete(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	c := func(x float64) Config { return Config{"x": Num(x)} }
	history := []Trial{
		{Number: 0, Config: c(0), State: Pruned, Objective: f(0.99), Epochs: 1},
		{Number: 1, Config: c(1), State: Complete, Objective: f(0.5), Epochs: 9},
		{Number: 2, Config: c(2), State: Complete, Objective: f(0.7), Epochs: 9},
		{Number: 3, Config: c(3), State: Pruned, Objective: f(0.2), Epochs: 3},
		{Number: 4, Config: c(4), State: Pruned, Objective: f(0.9), Epochs: 1},
		{Number: 5, Config: c(5), State: Diverged},
		{Number: 6, Config: c(6), State: Running},
		{Number: 7, Config: c(7), State: Failed},
		{Number: 8, Config: c(8), State: Complete, Objective: f(math.NaN())},
		{Number: 9, Config: c(9), State: Canceled, Objective: f(1)},
	}
	// Ranking (maximize): 2 (0.7), 1 (0.5), then pruned 3 (3 epochs),
	// then 0 (0.99) and 4 (0.9) at 1 epoch.
	good, bad, ranked := splitTrials(history, Maximize, func(int) int { return 3 })
	numbers := func(ts []Trial) []int {
		var out []int
		for _, t := range ts {
			out = append(out, t.Number)
		}
		return out
	}
	if ranked != 5 {
		t.Fatalf("ranked %d, want 5", ranked)
	}
	if got, want := numbers(good), []int{1, 2, 3}; !equalInts(got, want) {
		t.Fatalf("good %v, want %v", got, want)
	}
	if got, want := numbers(bad), []int{0, 4, 5, 6, 8}; !equalInts(got, want) {
		t.Fatalf("bad %v, want %v", got, want)
	}
}

func TestTPEDefaultGamma(t *testing.T) {
	tpe := TPE{}
	for n, want := range map[int]int{1: 1, 10: 1, 11: 2, 100: 10, 240: 24, 250: 25, 1000: 25} {
		if got := tpe.nGood(n); got != want {
			t.Errorf("nGood(%d) = %d, want %d", n, got, want)
		}
	}
	if got := (TPE{Gamma: 0.25}).nGood(10); got != 3 {
		t.Errorf("gamma 0.25: nGood(10) = %d, want 3", got)
	}
}
