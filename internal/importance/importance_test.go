package importance

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/relutune/relutune/search"
)

func mustSpace(t *testing.T, ps ...search.Param) *search.Space {
	t.Helper()
	s, err := search.NewSpace(ps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sample draws n uniform configurations of space and scores them with f.
func sample(space *search.Space, n int, seed uint64, f func(search.Config) float64) []Trial {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Trial
	for range n {
		c := search.Config{}
		for _, p := range space.Params() {
			if !space.Active(p, c) {
				continue
			}
			switch p.Kind {
			case search.Categorical:
				c[p.Name] = p.Choices[rng.IntN(len(p.Choices))]
			case search.LogFloat:
				c[p.Name] = search.Num(math.Exp(math.Log(p.Low) + rng.Float64()*(math.Log(p.High)-math.Log(p.Low))))
			default:
				c[p.Name] = search.Num(p.Low + rng.Float64()*(p.High-p.Low))
			}
		}
		out = append(out, Trial{Config: c, Value: f(c)})
	}
	return out
}

func byName(imps []Importance) map[string]float64 {
	m := map[string]float64{}
	for _, i := range imps {
		m[i.Param] = i.Importance
	}
	return m
}

// TestKnownImportance checks fANOVA against functions whose main-effect
// variances are known in closed form.
func TestKnownImportance(t *testing.T) {
	u := func(name string) search.Param { return search.Param{Name: name, Kind: search.Float, Low: 0, High: 1} }
	tests := []struct {
		name  string
		space []search.Param
		f     func(search.Config) float64
		// want: exact normalised importances of the additive function.
		want map[string]float64
		tol  float64
	}{
		{
			// Var(3a) = 9/12, Var(b) = 1/12, c unused: 0.9, 0.1, 0.
			name:  "additive linear",
			space: []search.Param{u("a"), u("b"), u("c")},
			f:     func(c search.Config) float64 { return 3*c["a"].Float() + c["b"].Float() },
			want:  map[string]float64{"a": 0.9, "b": 0.1, "c": 0},
			tol:   0.05,
		},
		{
			// Categories 0, 0, 3 (variance 2) plus a uniform on [0, 2]
			// (variance 1/3): 6/7 and 1/7.
			name: "categorical plus numeric",
			space: []search.Param{
				{Name: "act", Kind: search.Categorical, Choices: []search.Value{search.Str("relu"), search.Str("tanh"), search.Str("elu")}},
				{Name: "x", Kind: search.Float, Low: 0, High: 2},
			},
			f: func(c search.Config) float64 {
				v := c["x"].Float()
				if c["act"].String() == "elu" {
					v += 3
				}
				return v
			},
			want: map[string]float64{"act": 6.0 / 7, "x": 1.0 / 7},
			tol:  0.06,
		},
		{
			// Uniform in log(lr) over [-4, 0]·ln 10: the objective is linear
			// in log10(lr), so the batch size, whose effect is ten times
			// smaller in spread, gets about 1/101 of the variance.
			name: "log scale",
			space: []search.Param{
				{Name: "lr", Kind: search.LogFloat, Low: 1e-4, High: 1},
				{Name: "bs", Kind: search.Float, Low: 0, High: 4},
			},
			f: func(c search.Config) float64 {
				return math.Log10(c["lr"].Float()) + 0.1*c["bs"].Float()
			},
			// Var(log10 lr) = 16/12, Var(0.1 bs) = 0.16/12.
			want: map[string]float64{"lr": 16 / 16.16, "bs": 0.16 / 16.16},
			tol:  0.03,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			space := mustSpace(t, tc.space...)
			imps, err := Evaluate(space, sample(space, 400, 3, tc.f), Options{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			got := byName(imps)
			t.Logf("importances: %v", got)
			for name, want := range tc.want {
				if math.Abs(got[name]-want) > tc.tol {
					t.Errorf("importance of %s = %.3f, want %.3f ± %.2f (all: %v)", name, got[name], want, tc.tol, got)
				}
			}
			var sum float64
			for _, v := range got {
				sum += v
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("importances sum to %v, want 1", sum)
			}
			for i := 1; i < len(imps); i++ {
				if imps[i].Importance > imps[i-1].Importance {
					t.Errorf("not sorted: %v", imps)
				}
			}
		})
	}
}

// TestLinearLog measures a log-uniform parameter on its own scale, as
// Optuna does: for x uniform on (0, 1], Var(log10 x) = 1/ln(10)^2, so the
// learning rate's share falls from 16/16.16 to 0.1886/(0.1886+0.0133).
func TestLinearLog(t *testing.T) {
	space := mustSpace(t,
		search.Param{Name: "lr", Kind: search.LogFloat, Low: 1e-4, High: 1},
		search.Param{Name: "bs", Kind: search.Float, Low: 0, High: 4},
	)
	// Uniform on the linear scale, so the forest sees the measure's bulk.
	rng := rand.New(rand.NewPCG(8, 1))
	var trials []Trial
	for range 600 {
		lr, bs := 1e-4+rng.Float64()*(1-1e-4), 4*rng.Float64()
		trials = append(trials, Trial{Config: search.Config{"lr": search.Num(lr), "bs": search.Num(bs)}, Value: math.Log10(lr) + 0.1*bs})
	}
	imps, err := Evaluate(space, trials, Options{Seed: 1, LinearLog: true})
	if err != nil {
		t.Fatal(err)
	}
	vlr := 1 / (math.Ln10 * math.Ln10)
	want := vlr / (vlr + 0.16/12)
	if got := byName(imps)["lr"]; math.Abs(got-want) > 0.03 {
		t.Errorf("lr importance on the linear measure = %.3f, want %.3f ± 0.03", got, want)
	}
}

// TestConditional: a slope that exists only for leaky_relu and drives the
// objective there must outrank a parameter that does nothing, and a
// parameter that is never set is reported with importance 0.
func TestConditional(t *testing.T) {
	acts := []search.Value{search.Str("relu"), search.Str("leaky_relu")}
	space := mustSpace(t,
		search.Param{Name: "activation", Kind: search.Categorical, Choices: acts},
		search.Param{Name: "slope", Kind: search.Float, Low: 0, High: 1,
			When: &search.Condition{Param: "activation", In: []search.Value{search.Str("leaky_relu")}}},
		search.Param{Name: "noise", Kind: search.Float, Low: 0, High: 1},
	)
	trials := sample(space, 300, 5, func(c search.Config) float64 {
		if s, ok := c["slope"]; ok {
			return 0.5 + 2*s.Float()
		}
		return 0.5 + 1
	})
	imps, err := Evaluate(space, trials, Options{Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := byName(imps)
	if got["slope"] < 0.5 || got["noise"] > 0.05 {
		t.Errorf("importances %v: want slope >= 0.5 and noise <= 0.05", got)
	}
	for _, imp := range imps {
		if imp.Param == "slope" && (imp.Active == 0 || imp.Active == len(trials)) {
			t.Errorf("slope active in %d of %d trials: want some but not all", imp.Active, len(trials))
		}
	}
}

func TestDeterministic(t *testing.T) {
	space := mustSpace(t, search.Param{Name: "a", Kind: search.Float, Low: 0, High: 1}, search.Param{Name: "b", Kind: search.Float, Low: 0, High: 1})
	trials := sample(space, 50, 9, func(c search.Config) float64 { return c["a"].Float() * c["b"].Float() })
	first, err := Evaluate(space, trials, Options{Seed: 4, Trees: 8})
	if err != nil {
		t.Fatal(err)
	}
	again, err := Evaluate(space, trials, Options{Seed: 4, Trees: 8})
	if err != nil {
		t.Fatal(err)
	}
	for i := range first {
		if first[i] != again[i] {
			t.Fatalf("same seed, different results: %v vs %v", first, again)
		}
	}
}

func TestErrors(t *testing.T) {
	space := mustSpace(t, search.Param{Name: "a", Kind: search.Float, Low: 0, High: 1})
	one := []Trial{{Config: search.Config{"a": search.Num(0.5)}, Value: 1}}
	if _, err := Evaluate(space, one, Options{}); !errors.Is(err, ErrTooFewTrials) {
		t.Errorf("one trial: err = %v, want ErrTooFewTrials", err)
	}
	flat := []Trial{{Config: search.Config{"a": search.Num(0.1)}, Value: 1}, {Config: search.Config{"a": search.Num(0.9)}, Value: 1}}
	if _, err := Evaluate(space, flat, Options{}); !errors.Is(err, ErrNoVariance) {
		t.Errorf("flat: err = %v, want ErrNoVariance", err)
	}
	nan := []Trial{{Config: search.Config{"a": search.Num(0.1)}, Value: math.NaN()}, {Config: search.Config{"a": search.Num(0.9)}, Value: 1}}
	if _, err := Evaluate(space, nan, Options{}); err == nil {
		t.Error("NaN value: no error")
	}
	out := []Trial{{Config: search.Config{"a": search.Num(2)}, Value: 0}, {Config: search.Config{"a": search.Num(0.9)}, Value: 1}}
	if _, err := Evaluate(space, out, Options{}); err == nil {
		t.Error("value outside the space: no error")
	}
	if _, err := Evaluate(space, flat, Options{Trees: -1}); err == nil {
		t.Error("trees -1: no error")
	}
}

func TestSpearman(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		// Ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): 0.9487.
		{[]float64{1, 2, 2, 3}, []float64{1, 2, 3, 4}, 0.9486832980505138},
	}
	for _, tc := range tests {
		if got := Spearman(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("Spearman(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if got := Spearman([]float64{1, 1}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("no spread: %v, want NaN", got)
	}
}
