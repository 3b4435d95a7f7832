package search

import (
	"fmt"
	"math"
)

// Function is a standard minimisation problem for samplers: its space, its
// value, its known minimum, and the standard deviation of the noise a
// benchmark adds to what the sampler sees (0 for none). The sampler tests
// and `make bench-search` use the same definitions.
type Function struct {
	Name   string
	Params []Param
	F      func(Config) float64
	Min    float64
	Noise  float64
}

func choices(vs ...string) []Value {
	out := make([]Value, len(vs))
	for i, v := range vs {
		out[i] = Str(v)
	}
	return out
}

func when(param string, v string) *Condition { return &Condition{Param: param, In: []Value{Str(v)}} }

// Branin is the Branin-Hoo function on [-5, 10] x [0, 15]; its minimum
// 0.397887 is reached at three points.
var Branin = Function{
	Name: "branin",
	Params: []Param{
		{Name: "x1", Kind: Float, Low: -5, High: 10},
		{Name: "x2", Kind: Float, Low: 0, High: 15},
	},
	F: func(c Config) float64 {
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
	Min: 0.397887,
}

// Hartmann6 is the six-dimensional Hartmann function on [0, 1]^6 (its
// parameters are named a to f); its minimum is -3.32237.
var Hartmann6 = Function{
	Name: "hartmann6",
	Params: func() []Param {
		ps := make([]Param, 6)
		for i := range ps {
			ps[i] = Param{Name: string(rune('a' + i)), Kind: Float, Low: 0, High: 1}
		}
		return ps
	}(),
	F: func(c Config) float64 {
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
				d := c[string(rune('a'+j))].Float() - P[i][j]*1e-4
				inner += A[i][j] * d * d
			}
			sum += alpha[i] * math.Exp(-inner)
		}
		return -sum
	},
	Min: -3.32237,
}

// Conditional is a function over a tree-shaped space, in the image of an
// activation study: a choice of "family" decides which parameters exist.
//   - quad:  1 + 4 (u - 0.3)^2,           u in [0, 1]
//   - log:   (log10(lr) + 2.5)^2 / 4,      lr log-uniform in [1e-5, 1]
//   - int:   0.5 + |k - 7| / 10,           k an integer in [1, 20]
//
// plus w^2 / 4 for a shared w in [-2, 2]. The minimum 0 is at family=log,
// lr=10^-2.5, w=0.
var Conditional = Function{
	Name: "conditional",
	Params: []Param{
		{Name: "family", Kind: Categorical, Choices: choices("quad", "log", "int")},
		{Name: "u", Kind: Float, Low: 0, High: 1, When: when("family", "quad")},
		{Name: "lr", Kind: LogFloat, Low: 1e-5, High: 1, When: when("family", "log")},
		{Name: "k", Kind: Int, Low: 1, High: 20, When: when("family", "int")},
		{Name: "w", Kind: Float, Low: -2, High: 2},
	},
	F: func(c Config) float64 {
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
	Min: 0,
}

// NoisyMixed is a training-like mixed space seen through noise (sd 0.1):
// the best learning rate depends on the optimizer; the minimum 0 is at
// adam, lr 1e-3, batch 64, slope 0.1, init he.
var NoisyMixed = Function{
	Name: "noisy-mixed",
	Params: []Param{
		{Name: "optimizer", Kind: Categorical, Choices: choices("sgd", "momentum", "adam")},
		{Name: "lr", Kind: LogFloat, Low: 1e-5, High: 1},
		{Name: "batch", Kind: Int, Low: 16, High: 512},
		{Name: "slope", Kind: Float, Low: 0, High: 0.5},
		{Name: "init", Kind: Categorical, Choices: choices("he", "xavier", "lecun")},
	},
	F: func(c Config) float64 {
		base := map[string]float64{"sgd": 0.3, "momentum": 0.15, "adam": 0}[c["optimizer"].String()]
		target := map[string]float64{"sgd": -1, "momentum": -1.5, "adam": -3}[c["optimizer"].String()]
		l := math.Log10(c["lr"].Float()) - target
		b := math.Log2(c["batch"].Float()) - 6
		s := c["slope"].Float() - 0.1
		init := map[string]float64{"he": 0, "xavier": 0.1, "lecun": 0.05}[c["init"].String()]
		return base + l*l/4 + b*b/16 + 2*s*s + init
	},
	Min:   0,
	Noise: 0.1,
}

// MultiFunction is a two-objective minimisation problem for multi-objective
// samplers: its space, its two values, and the hypervolume its Pareto
// front dominates below a reference point.
type MultiFunction struct {
	Name   string
	Params []Param
	F      func(Config) [2]float64
	// OptimalHypervolume is the hypervolume of the true Pareto front with
	// the reference point ref (each coordinate at least 1).
	OptimalHypervolume func(ref [2]float64) float64
}

// ZDT1 returns Zitzler, Deb and Thiele's first problem over n >= 2 inputs
// x1..xn in [0, 1]: f1 = x1 and f2 = g (1 - sqrt(x1 / g)) with g = 1 + 9
// mean(x2..xn). Its Pareto front is f2 = 1 - sqrt(f1), f1 in [0, 1],
// reached where x2..xn are 0; with a reference point (r1, r2), r1, r2 >= 1,
// it dominates r1 r2 - 1/3.
func ZDT1(n int) MultiFunction {
	params := make([]Param, n)
	for i := range params {
		params[i] = Param{Name: fmt.Sprintf("x%02d", i+1), Kind: Float, Low: 0, High: 1}
	}
	return MultiFunction{
		Name:   fmt.Sprintf("zdt1-%d", n),
		Params: params,
		F: func(c Config) [2]float64 {
			f1 := c[params[0].Name].Float()
			sum := 0.0
			for _, p := range params[1:] {
				sum += c[p.Name].Float()
			}
			g := 1 + 9*sum/float64(n-1)
			return [2]float64{f1, g * (1 - math.Sqrt(f1/g))}
		},
		OptimalHypervolume: func(ref [2]float64) float64 { return ref[0]*ref[1] - 1.0/3 },
	}
}
