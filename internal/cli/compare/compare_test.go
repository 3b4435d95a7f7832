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
	// Minimising flips who is better.
	for _, p := range Pairs(means, false) {
		if p.A == "tanh" && p.B == "relu" && p.Verdict != "tanh better" {
			t.Fatalf("minimize: %+v", p)
		}
	}
}
