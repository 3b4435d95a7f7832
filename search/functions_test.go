package search

import (
	"math"
	"testing"
)

// testFunction is a minimisation benchmark over a search space.
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

// branin is the Branin-Hoo function on [-5, 10] x [0, 15]; its minimum
// 0.397887 is reached at three points.
var branin = testFunction{
	name: "branin",
	space: func(t testing.TB) *Space {
		return mustSpace(t,
			Param{Name: "x1", Kind: Float, Low: -5, High: 10},
			Param{Name: "x2", Kind: Float, Low: 0, High: 15})
	},
	f: func(c Config) float64 {
		x1, x2 := c["x1"].Float(), c["x2"].Float()
		const (
			a  = 1
			b  = 5.1 / (4 * math.Pi * math.Pi)
			cc = 5 / math.Pi
			r  = 6
			s  = 10
			t  = 1 / (8 * math.Pi)
		)
		return a*math.Pow(x2-b*x1*x1+cc*x1-r, 2) + s*(1-t)*math.Cos(x1) + s
	},
	min: 0.397887,
}

// hartmann6 is the six-dimensional Hartmann function on [0, 1]^6; its
// minimum is -3.32237.
var hartmann6 = testFunction{
	name: "hartmann6",
	space: func(t testing.TB) *Space {
		ps := make([]Param, 6)
		for i := range ps {
			ps[i] = Param{Name: string(rune('a' + i)), Kind: Float, Low: 0, High: 1}
		}
		return mustSpace(t, ps...)
	},
	f: func(c Config) float64 {
		alpha := [4]float64{1.0, 1.2, 3.0, 3.2}
		A := [4][6]float64{
			{10, 3, 17, 3.5, 1.7, 8},
			{0.05, 10, 17, 0.1, 8, 14},
			{3, 3.5, 1.7, 10, 17, 8},
			{17, 8, 0.05, 10, 0.1, 14},
		}
		P := [4][6]float64{
			{1312, 1696, 5569, 124, 8283, 5886},
			{2329, 4135, 8307, 3736, 1004, 9991},
			{2348, 1451, 3522, 2883, 3047, 6650},
			{4047, 8828, 8732, 5743, 1091, 381},
		}
		sum := 0.0
		for i := range 4 {
			inner := 0.0
			for j := range 6 {
				x := c[string(rune('a'+j))].Float()
				d := x - P[i][j]*1e-4
				inner += A[i][j] * d * d
			}
			sum += alpha[i] * math.Exp(-inner)
		}
		return -sum
	},
	min: -3.32237,
}

// conditional is a function over a tree-shaped space, in the image of an
// activation study: a choice of "family" decides which parameters exist.
//   - quad:  1 + 4 (u - 0.3)^2,           u in [0, 1]
//   - log:   (log10(lr) + 2.5)^2 / 4,      lr log-uniform in [1e-5, 1]
//   - int:   0.5 + |k - 7| / 10,           k an integer in [1, 20]
//
// plus w^2 / 4 for a shared w in [-2, 2]. The minimum 0 is at family=log,
// lr=10^-2.5, w=0.
var conditional = testFunction{
	name: "conditional",
	space: func(t testing.TB) *Space {
		when := func(v string) *Condition { return &Condition{Param: "family", In: []Value{Str(v)}} }
		return mustSpace(t,
			Param{Name: "family", Kind: Categorical, Choices: []Value{Str("quad"), Str("log"), Str("int")}},
			Param{Name: "u", Kind: Float, Low: 0, High: 1, When: when("quad")},
			Param{Name: "lr", Kind: LogFloat, Low: 1e-5, High: 1, When: when("log")},
			Param{Name: "k", Kind: Int, Low: 1, High: 20, When: when("int")},
			Param{Name: "w", Kind: Float, Low: -2, High: 2})
	},
	f: func(c Config) float64 {
		w := c["w"].Float()
		base := 0.0
		switch c["family"].String() {
		case "quad":
			u := c["u"].Float()
			base = 1 + 4*(u-0.3)*(u-0.3)
		case "log":
			l := math.Log10(c["lr"].Float()) + 2.5
			base = l * l / 4
		case "int":
			base = 0.5 + math.Abs(c["k"].Float()-7)/10
		}
		return base + w*w/4
	},
	min: 0,
}

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
