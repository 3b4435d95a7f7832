package compare

import (
	"math"
	"testing"

	"github.com/relutune/relutune/internal/store"
)

func TestPairsPairedBySeed(t *testing.T) {
	means := []store.SeedMean{
		// relu beats tanh by about 0.05 on every seed; elu ties relu.
		{Activation: "relu", Seed: 1, Mean: 0.95}, {Activation: "relu", Seed: 2, Mean: 0.90}, {Activation: "relu", Seed: 3, Mean: 0.93},
		{Activation: "tanh", Seed: 1, Mean: 0.90}, {Activation: "tanh", Seed: 2, Mean: 0.86}, {Activation: "tanh", Seed: 3, Mean: 0.87},
		{Activation: "elu", Seed: 1, Mean: 0.94}, {Activation: "elu", Seed: 2, Mean: 0.92}, {Activation: "elu", Seed: 3, Mean: 0.92},
		{Activation: "gelu", Seed: 9, Mean: 0.5},
	}
	pairs := Pairs(means, true)
	find := func(a, b string) Pair {
		for _, p := range pairs {
			if p.A == a && p.B == b {
				return p
			}
			if p.A == b && p.B == a { // equal means: either order
				p.A, p.B, p.Diff = a, b, -p.Diff
				if p.Low != nil {
					lo, hi := -*p.High, -*p.Low
					p.Low, p.High = &lo, &hi
				}
				return p
			}
		}
		t.Fatalf("no pair %s/%s in %+v", a, b, pairs)
		return Pair{}
	}
	rt := find("relu", "tanh")
	if rt.Pairs != 3 || math.Abs(rt.Diff-0.05) > 1e-9 || rt.Verdict != "relu better" || *rt.Low <= 0 {
		t.Fatalf("relu vs tanh: %+v", rt)
	}
	re := find("relu", "elu")
	if re.Verdict != "no significant difference" || *re.Low > 0 || *re.High < 0 {
		t.Fatalf("relu vs elu: %+v", re)
	}
	if g := find("tanh", "gelu"); g.Pairs != 0 || g.Verdict != "no shared seeds" {
		t.Fatalf("unpaired: %+v", g)
	}
	// Two seeds with identical differences give a zero-width interval, but
	// no verdict.
	two := Pairs([]store.SeedMean{
		{Activation: "a", Seed: 1, Mean: 0.9}, {Activation: "a", Seed: 2, Mean: 0.8},
		{Activation: "b", Seed: 1, Mean: 0.8}, {Activation: "b", Seed: 2, Mean: 0.7},
	}, true)
	if len(two) != 1 || two[0].Low == nil || two[0].Verdict != "need 3+ seeds for a verdict" {
		t.Fatalf("two seeds: %+v", two)
	}
	// Minimising flips who is better.
	for _, p := range Pairs(means, false) {
		if p.A == "tanh" && p.B == "relu" && p.Verdict != "tanh better" {
			t.Fatalf("minimize: %+v", p)
		}
	}
}
