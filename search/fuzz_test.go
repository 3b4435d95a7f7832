package search

import (
	"errors"
	"math"
	"testing"
)

// fuzzNumbers are the bounds the fuzzer picks from: ordinary values, edges
// of the float range and non-finite values.
var fuzzNumbers = []float64{0, 1, -1, 0.5, 3, 7.5, 1e-9, 1e-300, 1e300, -1e300, math.MaxFloat64, -math.MaxFloat64,
	1 << 53, 1<<53 + 2, -(1 << 53), math.NaN(), math.Inf(1), math.Inf(-1), 100, 1e-3}

// paramsFromBytes decodes a fuzzer's bytes into up to 5 parameters, valid or
// not.
func paramsFromBytes(data []byte) []Param {
	i := 0
	next := func() int {
		if i >= len(data) {
			return 0
		}
		i++
		return int(data[i-1])
	}
	names := []string{"a", "b", "c", "d", "e", ""}
	n := 1 + next()%5
	params := make([]Param, 0, n)
	for range n {
		p := Param{Name: names[next()%len(names)], Kind: Kind(next() % 6)}
		p.Low = fuzzNumbers[next()%len(fuzzNumbers)]
		p.High = fuzzNumbers[next()%len(fuzzNumbers)]
		for range next() % 5 {
			if next()%2 == 0 {
				p.Choices = append(p.Choices, Num(float64(next()%4)))
			} else {
				p.Choices = append(p.Choices, Str(names[next()%3]))
			}
		}
		if c := next(); c%3 == 0 {
			cond := &Condition{Param: names[next()%len(names)]}
			for range next() % 3 {
				if next()%2 == 0 {
					cond.In = append(cond.In, Num(float64(next()%4)))
				} else {
					cond.In = append(cond.In, Str(names[next()%3]))
				}
			}
			p.When = cond
		}
		params = append(params, p)
	}
	return params
}

// continuous reports whether some parameter that can be active takes more
// than 2^20 values (floats representable between its bounds, or integers),
// so that no sampler may report the space exhausted after a few suggestions.
func continuous(s *Space) bool {
	// ordered maps floats to integers in the same order, adjacent floats to
	// adjacent integers.
	ordered := func(x float64) int64 {
		b := int64(math.Float64bits(x))
		if b < 0 {
			b = math.MinInt64 - b
		}
		return b
	}
	reachable := map[string]bool{}
	for _, p := range s.Params() { // parents come first
		if p.When != nil && (!reachable[p.When.Param] || len(p.When.In) == 0) {
			continue
		}
		reachable[p.Name] = true
		switch p.Kind {
		case Float, LogFloat:
			if uint64(ordered(p.High)-ordered(p.Low)) > 1<<20 {
				return true
			}
		case Int:
			if p.High-p.Low > 1<<20 {
				return true
			}
		}
	}
	return false
}

// FuzzSpaceSuggest checks the invariants of NewSpace and Suggest on
// arbitrary parameter lists: NewSpace accepts or fails with ErrInvalidSpace;
// on an accepted space every sampler's suggestions lie in the space, never
// repeat, are reproducible, and run out only in a finite space (grid: only
// after its last point).
func FuzzSpaceSuggest(f *testing.F) {
	f.Add([]byte{2, 0, 4, 0, 1, 1, 0, 3, 2, 1, 1, 0, 0}, uint64(1))
	f.Add([]byte{3, 0, 4, 0, 0, 3, 1, 0, 1, 1, 1, 2, 1, 2, 5, 1, 0, 0, 0, 0, 3, 0, 2, 1, 1, 2, 2, 2, 1, 0}, uint64(7))
	f.Add([]byte{1, 1, 2, 1, 4}, uint64(3))
	f.Add([]byte{4, 0, 3, 0, 4, 0, 1, 3, 2, 1, 1, 4, 9, 2, 0, 3, 3, 0, 1, 0, 0, 2, 14, 0}, uint64(9))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		space, err := NewSpace(paramsFromBytes(data))
		if err != nil {
			if !errors.Is(err, ErrInvalidSpace) {
				t.Fatalf("NewSpace error %v does not wrap ErrInvalidSpace", err)
			}
			return
		}
		for _, name := range Algorithms() {
			s, err := NewSampler(name, SamplerOptions{TPEStartup: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckSpace(name, space); err != nil {
				// Refused up front, and by the sampler too.
				if _, serr := Suggest(s, space, nil, Minimize, 1, seed); !errors.Is(err, ErrNoContinuous) || !errors.Is(serr, ErrNoContinuous) {
					t.Fatalf("%s: CheckSpace says %v, Suggest %v; want ErrNoContinuous from both", name, err, serr)
				}
				continue
			}
			var history []Trial
			seen := map[string]bool{}
			for len(history) < 12 {
				cs, err := Suggest(s, space, history, Minimize, 2, seed)
				again, err2 := Suggest(s, space, history, Minimize, 2, seed)
				if (err == nil) != (err2 == nil) || len(cs) != len(again) {
					t.Fatalf("%s: two identical calls disagree: %v / %v", name, err, err2)
				}
				for i, c := range cs {
					if c.Hash() != again[i].Hash() {
						t.Fatalf("%s: two identical calls suggest %v and %v", name, c, again[i])
					}
					if err := space.Contains(c); err != nil {
						t.Fatalf("%s: suggestion %v: %v", name, c, err)
					}
					if seen[c.Hash()] {
						t.Fatalf("%s: suggestion %v repeated", name, c)
					}
					seen[c.Hash()] = true
					obj := float64(len(history) % 5)
					history = append(history, Trial{Number: len(history), Config: c, State: Complete, Objective: &obj})
				}
				if errors.Is(err, ErrSpaceExhausted) {
					if g, ok := s.(Grid); ok {
						if g.Size(space) != len(history) {
							t.Fatalf("grid exhausted after %d of %d points", len(history), g.Size(space))
						}
					} else if continuous(space) {
						t.Fatalf("%s: space with a continuous parameter reported exhausted after %d", name, len(history))
					}
					break
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		}
	})
}
