package main

import (
	"math"

	"github.com/relutune/relutune/search"
)

// function is a minimisation benchmark: its space, its value, its known
// minimum and the standard deviation of the noise added to what the
// sampler sees.
type function struct {
	params []search.Param
	f      func(search.Config) float64
	min    float64
	noise  float64
}

func when(param string, vs ...string) *search.Condition {
	c := &search.Condition{Param: param}
	for _, v := range vs {
		c.In = append(c.In, search.Str(v))
	}
	return c
}

func choices(vs ...string) []search.Value {
	out := make([]search.Value, len(vs))
	for i, v := range vs {
		out[i] = search.Str(v)
	}
	return out
}

// The functions, as search's tests define Branin, Hartmann-6 and the
// conditional one (search/functions_test.go), plus a noisy mixed one.
var functions = map[string]function{
	// Branin-Hoo on [-5, 10] x [0, 15].
	"branin": {
		params: []search.Param{
			{Name: "x1", Kind: search.Float, Low: -5, High: 10},
			{Name: "x2", Kind: search.Float, Low: 0, High: 15},
		},
		f: func(c search.Config) float64 {
			x1, x2 := c["x1"].Float(), c["x2"].Float()
			b, cc, t := 5.1/(4*math.Pi*math.Pi), 5/math.Pi, 1/(8*math.Pi)
			return math.Pow(x2-b*x1*x1+cc*x1-6, 2) + 10*(1-t)*math.Cos(x1) + 10
		},
		min: 0.397887,
	},
	// Hartmann-6 on [0, 1]^6.
	"hartmann6": {
		params: func() []search.Param {
			ps := make([]search.Param, 6)
			for i := range ps {
				ps[i] = search.Param{Name: string(rune('a' + i)), Kind: search.Float, Low: 0, High: 1}
			}
			return ps
		}(),
		f: func(c search.Config) float64 {
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
		min: -3.32237,
	},
	// A tree-shaped space: family decides which parameter exists.
	"conditional": {
		params: []search.Param{
			{Name: "family", Kind: search.Categorical, Choices: choices("quad", "log", "int")},
			{Name: "u", Kind: search.Float, Low: 0, High: 1, When: when("family", "quad")},
			{Name: "lr", Kind: search.LogFloat, Low: 1e-5, High: 1, When: when("family", "log")},
			{Name: "k", Kind: search.Int, Low: 1, High: 20, When: when("family", "int")},
			{Name: "w", Kind: search.Float, Low: -2, High: 2},
		},
		f: func(c search.Config) float64 {
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
	},
	// A training-like mixed space with noise (sd 0.1): the best learning
	// rate depends on the optimizer; minimum 0 at adam, lr 1e-3, batch 64,
	// slope 0.1, init he.
	"noisy-mixed": {
		params: []search.Param{
			{Name: "optimizer", Kind: search.Categorical, Choices: choices("sgd", "momentum", "adam")},
			{Name: "lr", Kind: search.LogFloat, Low: 1e-5, High: 1},
			{Name: "batch", Kind: search.Int, Low: 16, High: 512},
			{Name: "slope", Kind: search.Float, Low: 0, High: 0.5},
			{Name: "init", Kind: search.Categorical, Choices: choices("he", "xavier", "lecun")},
		},
		f: func(c search.Config) float64 {
			base := map[string]float64{"sgd": 0.3, "momentum": 0.15, "adam": 0}[c["optimizer"].String()]
			target := map[string]float64{"sgd": -1, "momentum": -1.5, "adam": -3}[c["optimizer"].String()]
			l := math.Log10(c["lr"].Float()) - target
			b := math.Log2(c["batch"].Float()) - 6
			s := c["slope"].Float() - 0.1
			init := map[string]float64{"he": 0, "xavier": 0.1, "lecun": 0.05}[c["init"].String()]
			return base + l*l/4 + b*b/16 + 2*s*s + init
		},
		min:   0,
		noise: 0.1,
	},
}
