package search

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// bruteRanks is the definition of the non-domination rank: a point's rank
// is 1 + the longest chain of points dominating it.
func bruteRanks(ys [][]float64) []int {
	ranks := make([]int, len(ys))
	for left, rank := len(ys), 1; left > 0; rank++ {
		var front []int
		for i := range ys {
			if ranks[i] != 0 {
				continue
			}
			dominated := false
			for j := range ys {
				if (ranks[j] == 0 || ranks[j] == rank) && j != i && Dominates(ys[j], ys[i]) {
					dominated = true
					break
				}
			}
			if !dominated {
				front = append(front, i)
			}
		}
		for _, i := range front {
			ranks[i] = rank
		}
		left -= len(front)
	}
	return ranks
}

func TestParetoRanksMatchDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n, m := 1+rng.IntN(40), 1+rng.IntN(3)
		ys := make([][]float64, n)
		for i := range ys {
			ys[i] = make([]float64, m)
			for k := range ys[i] {
				// Few distinct values, so ties and equal points happen.
				ys[i][k] = float64(rng.IntN(6))
			}
		}
		got, want := ParetoRanks(ys), bruteRanks(ys)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("case %d: point %d %v: rank %d, want %d (points %v)", trial, i, ys[i], got[i], want[i], ys)
			}
		}
	}
}

func TestDominates(t *testing.T) {
	tests := []struct {
		a, b []float64
		want bool
	}{
		{[]float64{1, 1}, []float64{2, 2}, true},
		{[]float64{1, 2}, []float64{1, 3}, true},
		{[]float64{1, 2}, []float64{1, 2}, false},
		{[]float64{1, 3}, []float64{2, 2}, false},
		{[]float64{2, 2}, []float64{1, 1}, false},
	}
	for _, tt := range tests {
		if got := Dominates(tt.a, tt.b); got != tt.want {
			t.Errorf("Dominates(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSelectParentsKeepsExtremesOfSplitFront(t *testing.T) {
	// One front of 5 points on a line; 3 survive: the two extremes (infinite
	// crowding) and the one with the widest gap between its neighbours.
	var ms []*nsgaMember
	for i, x := range []float64{0, 0.1, 0.5, 0.55, 1} {
		ms = append(ms, &nsgaMember{t: Trial{Number: i}, y: []float64{x, 1 - x}})
	}
	// A dominated point never survives over front members.
	ms = append(ms, &nsgaMember{t: Trial{Number: 9}, y: []float64{2, 2}})
	got := selectParents(ms, 3)
	nums := map[int]bool{}
	for _, m := range got {
		nums[m.t.Number] = true
		if m.rank != 1 {
			t.Errorf("trial %d has rank %d, want 1", m.t.Number, m.rank)
		}
	}
	// Gaps: point 1 (0.1): 0.5-0 = 0.5; point 2 (0.5): 0.55-0.1 = 0.45;
	// point 3 (0.55): 1-0.5 = 0.5, tie with point 1, broken by order.
	if !nums[0] || !nums[4] || len(got) != 3 {
		t.Fatalf("survivors %v, want the extremes 0 and 4 and one more", nums)
	}
	if nums[2] || nums[9] {
		t.Fatalf("survivors %v include the most crowded point 2 or the dominated 9", nums)
	}
}

func TestHypervolume2D(t *testing.T) {
	ref := [2]float64{1, 1}
	tests := []struct {
		pts  [][2]float64
		want float64
	}{
		{nil, 0},
		{[][2]float64{{0, 0}}, 1},
		{[][2]float64{{0.5, 0.5}}, 0.25},
		{[][2]float64{{0.5, 0.5}, {0.6, 0.6}}, 0.25},                    // dominated point adds nothing
		{[][2]float64{{0, 0.5}, {0.5, 0}}, 0.75},                        // union of two rectangles
		{[][2]float64{{0.5, 0}, {0, 0.5}, {0.25, 0.25}}, 0.75 + 1.0/16}, // order does not matter
		{[][2]float64{{2, 0}, {0, 2}}, 0},                               // outside the box
	}
	for _, tt := range tests {
		if got := Hypervolume2D(tt.pts, ref); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Hypervolume2D(%v) = %v, want %v", tt.pts, got, tt.want)
		}
	}
	// A dense sample of ZDT1's true front approaches its optimal hypervolume.
	var front [][2]float64
	for i := 0; i <= 10000; i++ {
		f1 := float64(i) / 10000
		front = append(front, [2]float64{f1, 1 - math.Sqrt(f1)})
	}
	ref = [2]float64{1.1, 1.1}
	if got, want := Hypervolume2D(front, ref), ZDT1(2).OptimalHypervolume(ref); math.Abs(got-want) > 1e-3 {
		t.Errorf("ZDT1 front hypervolume %v, want %v", got, want)
	}
}

func TestOperatorsStayInUnitInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 10000 {
		a, b := rng.Float64(), rng.Float64()
		if c := sbx(a, b, rng); c < 0 || c > 1 || math.IsNaN(c) {
			t.Fatalf("sbx(%v, %v) = %v", a, b, c)
		}
		if c := polynomialMutation(a, rng); c < 0 || c > 1 || math.IsNaN(c) {
			t.Fatalf("polynomialMutation(%v) = %v", a, c)
		}
	}
	for _, edge := range []float64{0, 1} {
		if c := polynomialMutation(edge, rng); c < 0 || c > 1 {
			t.Fatalf("polynomialMutation(%v) = %v", edge, c)
		}
	}
}

// zdt1Study runs trials suggestions of s on fn one at a time and returns
// the hypervolume of what it found below ref.
func zdt1Study(t testing.TB, s Sampler, fn MultiFunction, trials int, seed uint64, ref [2]float64) float64 {
	t.Helper()
	space := mustSpace(t, fn.Params...)
	var history []Trial
	var pts [][2]float64
	for len(history) < trials {
		cs, err := Suggest(s, space, history, Minimize, 1, seed)
		if err != nil {
			t.Fatalf("%s: trial %d: %v", s.Name(), len(history), err)
		}
		f := fn.F(cs[0])
		pts = append(pts, f)
		history = append(history, Trial{Number: len(history), Config: cs[0], State: Complete, Values: []float64{f[0], f[1]}})
	}
	return Hypervolume2D(pts, ref)
}

// zdt1Ref is the reference point of the ZDT1 comparisons: loose enough in
// f2 that random search's points count too.
var zdt1Ref = [2]float64{1.1, 11}

func TestNSGA2BeatsRandomOnZDT1(t *testing.T) {
	fn := ZDT1(5)
	nsga := NSGA2{Directions: []Direction{Minimize, Minimize}}
	var sumN, sumR float64
	for seed := range uint64(5) {
		sumN += zdt1Study(t, nsga, fn, 150, seed, zdt1Ref)
		sumR += zdt1Study(t, Random{}, fn, 150, seed, zdt1Ref)
	}
	opt := fn.OptimalHypervolume(zdt1Ref)
	t.Logf("mean hypervolume: nsga2 %.4f, random %.4f, optimum %.4f", sumN/5, sumR/5, opt)
	if sumN <= sumR {
		t.Fatalf("nsga2's mean hypervolume %.4f is not above random's %.4f", sumN/5, sumR/5)
	}
	if sumN/5 > opt+1e-9 {
		t.Fatalf("hypervolume %.4f above the optimum %.4f", sumN/5, opt)
	}
}

// TestNSGA2SingleObjective checks the degenerate case: with no directions
// it breeds from the best trials by Objective, so its later suggestions
// score better on Branin than random search's.
func TestNSGA2SingleObjective(t *testing.T) {
	space := branin.space(t)
	late := func(h []Trial) float64 {
		sum := 0.0
		for _, tr := range h[60:] {
			sum += *tr.Objective
		}
		return sum / float64(len(h)-60)
	}
	var ga, rs float64
	for seed := range uint64(5) {
		hg, _ := runStudy(t, NSGA2{}, space, branin.f, 120, seed)
		hr, _ := runStudy(t, Random{}, space, branin.f, 120, seed)
		ga += late(hg) / 5
		rs += late(hr) / 5
	}
	t.Logf("mean objective of trials 60-119: nsga2 %.3f, random %.3f", ga, rs)
	if ga >= rs/2 {
		t.Fatalf("nsga2's late trials score %.3f on average, random's %.3f: want under half", ga, rs)
	}
}

// TestNSGA2ReadsValues checks that the second objective matters: the same
// history with the values' directions swapped gives other suggestions.
func TestNSGA2ReadsValues(t *testing.T) {
	fn := ZDT1(3)
	space := mustSpace(t, fn.Params...)
	var history []Trial
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 40 {
		c, _ := Random{}.Sample(space, nil, Minimize, rng)
		f := fn.F(c)
		history = append(history, Trial{Number: i, Config: c, State: Complete, Values: []float64{f[0], f[1]}})
	}
	a, err := Suggest(NSGA2{Directions: []Direction{Minimize, Minimize}}, space, history, Minimize, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Suggest(NSGA2{Directions: []Direction{Minimize, Maximize}}, space, history, Minimize, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(a) == fmt.Sprint(b) {
		t.Fatal("flipping the second objective's direction did not change the suggestions")
	}
	// Trials whose values do not match the objectives are not ranked: with
	// only those, nsga2 is still in its random start-up.
	bad := make([]Trial, len(history))
	for i, tr := range history {
		tr.Values = tr.Values[:1]
		bad[i] = tr
	}
	c1, _ := Suggest(NSGA2{Directions: []Direction{Minimize, Minimize}}, space, bad, Minimize, 1, 9)
	c2, _ := Suggest(Random{}, space, bad, Minimize, 1, 9)
	if c1[0].Hash() != c2[0].Hash() {
		t.Fatalf("with no usable values nsga2 suggested %v, random %v: want the random start-up", c1[0], c2[0])
	}
}

func TestNewSamplerObjectives(t *testing.T) {
	dirs := []Direction{Maximize, Minimize}
	for _, name := range Algorithms() {
		_, err := NewSampler(name, SamplerOptions{Directions: dirs})
		if MultiObjective(name) && err != nil {
			t.Errorf("%s with two objectives: %v", name, err)
		}
		if !MultiObjective(name) && err == nil {
			t.Errorf("%s with two objectives: no error", name)
		}
	}
	if _, err := NewSampler("nsga2", SamplerOptions{Directions: []Direction{"up"}}); err == nil {
		t.Error("direction up: no error")
	}
	if _, err := NewSampler("nsga2", SamplerOptions{NSGA2Population: 1}); err == nil {
		t.Error("population 1: no error")
	}
}

// BenchmarkZDT1Hypervolume compares nsga2 with random search, the baseline
// run in the same process, on ZDT1 with 5 inputs: 5 seeds x 150 trials.
// It reports each one's mean hypervolume below two reference points, the
// loose zdt1Ref (1.1, 11), where random search's points count too, and the
// customary (1.1, 1.1), near the true front; with the ratio to random and
// the fraction of the optimum.
func BenchmarkZDT1Hypervolume(b *testing.B) {
	fn := ZDT1(5)
	refs := []struct {
		name string
		ref  [2]float64
	}{{"loose", zdt1Ref}, {"tight", [2]float64{1.1, 1.1}}}
	for _, r := range refs {
		b.Run(r.name, func(b *testing.B) {
			opt := fn.OptimalHypervolume(r.ref)
			for b.Loop() {
				var hvN, hvR float64
				for seed := range uint64(5) {
					hvN += zdt1Study(b, NSGA2{Directions: []Direction{Minimize, Minimize}}, fn, 150, seed, r.ref) / 5
					hvR += zdt1Study(b, Random{}, fn, 150, seed, r.ref) / 5
				}
				b.ReportMetric(hvN, "hv-nsga2")
				b.ReportMetric(hvR, "hv-random")
				b.ReportMetric(opt, "hv-optimum")
				b.ReportMetric(hvN/hvR, "x-random")
				b.ReportMetric(hvN/opt, "nsga2-of-optimum")
				b.ReportMetric(hvR/opt, "random-of-optimum")
			}
		})
	}
}
