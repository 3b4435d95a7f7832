package search

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestParzenBandwidths(t *testing.T) {
	// Hand-computed: observations 0.1, 0.3, 0.8 on [0, 1] with the prior mean
	// 0.5 sort to 0.1 0.3 0.5 0.8 between the bounds 0 and 1. Neighbour
	// distances give 0.2 (the outermost kernel uses its inner neighbour), 0.2,
	// 0.3 and 0.3 for the last one (0.8-0.5); the magic clip's floor is
	// 1/min(100, 3+2) = 0.2. The prior kernel has sigma 1.
	p := newParzen([]float64{0.1, 0.3, 0.8}, []float64{1, 1, 1}, 0, 1, 0, 1)
	want := []float64{0.2, 0.2, 0.3, 1}
	for i, w := range want {
		if math.Abs(p.sigma[i]-w) > 1e-12 {
			t.Fatalf("sigmas = %v, want %v", p.sigma, want)
		}
	}
	if p.mu[3] != 0.5 {
		t.Fatalf("prior mean = %v, want 0.5", p.mu[3])
	}
	// Weights: three observations and the prior, 1 each.
	if math.Abs(p.cum[0]-0.25) > 1e-12 || math.Abs(p.cum[3]-1) > 1e-12 {
		t.Fatalf("cumulative weights = %v, want steps of 0.25", p.cum)
	}
}

func TestParzenDensityIntegratesToOne(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, step := range []float64{0, 1} {
		lo, hi := 2.0, 9.0
		obs := make([]float64, 30)
		for i := range obs {
			obs[i] = lo + math.Round(rng.Float64()*(hi-lo)*4)/4
			if step == 1 {
				obs[i] = math.Round(obs[i])
			}
		}
		p := newParzen(obs, tpeWeights(len(obs)), lo, hi, step, 1)
		buf := make([]float64, len(obs)+1)
		total := 0.0
		if step == 1 {
			for x := lo; x <= hi; x++ {
				total += math.Exp(p.logPDF(x, buf))
			}
		} else {
			const n = 200000
			h := (hi - lo) / n
			for i := range n {
				total += math.Exp(p.logPDF(lo+(float64(i)+0.5)*h, buf)) * h
			}
		}
		if math.Abs(total-1) > 1e-6 {
			t.Errorf("step %v: density integrates to %v, want 1", step, total)
		}
	}
}

// TestParzenSamplesFollowDensity draws from a discrete estimator and compares
// the frequencies with the masses it reports.
func TestParzenSamplesFollowDensity(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	p := newParzen([]float64{1, 1, 2, 7}, []float64{1, 1, 1, 1}, 0, 9, 1, 1)
	buf := make([]float64, 5)
	const n = 200000
	counts := make([]int, 10)
	for range n {
		x := p.sample(rng)
		if x != math.Round(x) || x < 0 || x > 9 {
			t.Fatalf("sample %v is not an integer in [0, 9]", x)
		}
		counts[int(x)]++
	}
	for k, c := range counts {
		want := math.Exp(p.logPDF(float64(k), buf))
		got := float64(c) / n
		if se := math.Sqrt(want * (1 - want) / n); math.Abs(got-want) > 5*se+1e-4 {
			t.Errorf("P(%d): sampled %.4f, density says %.4f", k, got, want)
		}
	}
}

func TestCategoricalParzen(t *testing.T) {
	// Optuna's rule by hand: 2 observations of choice 0 and 1 of choice 2, 3
	// choices, prior weight 1. Each observation kernel puts 1/4 on every
	// choice plus 1 on its own (row sum 1.75); the prior kernel is uniform;
	// mixture weights 1/4 each.
	c := newCategoricalParzen([]int{0, 0, 2}, []float64{1, 1, 1}, 3, 1)
	row := func(own bool) float64 {
		if own {
			return 1.25 / 1.75
		}
		return 0.25 / 1.75
	}
	want := []float64{
		0.25 * (row(true) + row(true) + row(false) + 1.0/3),
		0.25 * (row(false) + row(false) + row(false) + 1.0/3),
		0.25 * (row(false) + row(false) + row(true) + 1.0/3),
	}
	for j, w := range want {
		if got := math.Exp(c.logP[j]); math.Abs(got-w) > 1e-12 {
			t.Errorf("P(choice %d) = %v, want %v", j, got, w)
		}
	}
}

func TestTPEWeights(t *testing.T) {
	if w := tpeWeights(3); w[0] != 1 || w[2] != 1 {
		t.Fatalf("tpeWeights(3) = %v, want all 1", w)
	}
	w := tpeWeights(30) // ramp from 1/30 to 1 over the oldest 5, then 25 ones
	if math.Abs(w[0]-1.0/30) > 1e-12 || math.Abs(w[4]-1) > 1e-12 || w[5] != 1 || w[29] != 1 {
		t.Fatalf("tpeWeights(30) = %v", w)
	}
	for i := 1; i < 5; i++ {
		if w[i] <= w[i-1] {
			t.Fatalf("tpeWeights(30) ramp not increasing: %v", w[:5])
		}
	}
}

func TestLogNormalMassTails(t *testing.T) {
	tests := []struct{ a, b, want float64 }{
		{-math.Inf(1), math.Inf(1), 0},
		{0, math.Inf(1), math.Log(0.5)},
		{-1, 1, math.Log(0.6826894921370859)},
		{10, 11, math.Log(7.6198530241604696e-24 - 1.9106595744986828e-28)},
		{-11, -10, math.Log(7.6198530241604696e-24 - 1.9106595744986828e-28)},
	}
	for _, tt := range tests {
		if got := logNormalMass(tt.a, tt.b); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("logNormalMass(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
