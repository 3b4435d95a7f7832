package search

import (
	"math"
	"testing"
)

// testFunction is a Function with its space built for a test.
type testFunction struct {
	name  string
	space func(t testing.TB) *Space
	f     func(Config) float64
	min   float64 // known global minimum
}

func mustSpace(t testing.TB, params ...Param) *Space {
	t.Helper()
	s, err := NewSpace(params)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func asTest(fn Function) testFunction {
	return testFunction{name: fn.Name, space: func(t testing.TB) *Space { return mustSpace(t, fn.Params...) }, f: fn.F, min: fn.Min}
}

var (
	branin      = asTest(Branin)
	hartmann6   = asTest(Hartmann6)
	conditional = asTest(Conditional)
)

var testFunctions = []testFunction{branin, hartmann6, conditional}

func TestFunctionMinima(t *testing.T) {
	tests := []struct {
		fn testFunction
		at Config
	}{
		{branin, Config{"x1": Num(math.Pi), "x2": Num(2.275)}},
		{branin, Config{"x1": Num(-math.Pi), "x2": Num(12.275)}},
		{hartmann6, Config{"a": Num(0.20169), "b": Num(0.150011), "c": Num(0.476874), "d": Num(0.275332), "e": Num(0.311652), "f": Num(0.6573)}},
		{conditional, Config{"family": Str("log"), "lr": Num(math.Pow(10, -2.5)), "w": Num(0)}},
	}
	for _, tt := range tests {
		if got := tt.fn.f(tt.at); math.Abs(got-tt.fn.min) > 1e-5 {
			t.Errorf("%s(%v) = %v, want %v", tt.fn.name, tt.at, got, tt.fn.min)
		}
		if err := tt.fn.space(t).Contains(tt.at); err != nil {
			t.Errorf("%s: %v", tt.fn.name, err)
		}
	}
}

// runStudy runs trials sequential trials of sampler s on fn and returns the
// history and the best objective found.
func runStudy(t testing.TB, s Sampler, space *Space, f func(Config) float64, trials int, seed uint64) ([]Trial, float64) {
	t.Helper()
	var history []Trial
	best := math.Inf(1)
	for len(history) < trials {
		cs, err := Suggest(s, space, history, Minimize, 1, seed)
		if err != nil {
			t.Fatalf("%s: trial %d: %v", s.Name(), len(history), err)
		}
		obj := f(cs[0])
		best = math.Min(best, obj)
		history = append(history, Trial{Number: len(history), Config: cs[0], State: Complete, Objective: &obj})
	}
	return history, best
}
