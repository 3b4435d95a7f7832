package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// guardLen is the number of guard cells on each side of an output slice.
const guardLen = 17

// guardBits is a NaN payload no kernel produces, so any write to a guard
// cell is seen when the guards are checked bit for bit.
const guardBits = 0x7fc0_dead

// guarded returns a slice of n elements, filled by fill, sitting between two
// runs of guard cells in a larger backing array.
func guarded(n int, fill func(i int) float32) (inner, whole []float32) {
	whole = make([]float32, n+2*guardLen)
	g := math.Float32frombits(guardBits)
	for i := range whole {
		whole[i] = g
	}
	inner = whole[guardLen : guardLen+n : guardLen+n]
	for i := range inner {
		inner[i] = fill(i)
	}
	return inner, whole
}

// checkGuards fails the test if a guard cell of whole changed.
func checkGuards(t *testing.T, what string, whole []float32) {
	t.Helper()
	n := len(whole) - 2*guardLen
	for i, v := range whole {
		if i >= guardLen && i < guardLen+n {
			continue
		}
		if math.Float32bits(v) != guardBits {
			t.Fatalf("%s: guard cell %d (of %d data elements) overwritten with %v", what, i-guardLen, n, v)
		}
	}
}

// newRand returns the seeded generator every test uses.
func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// uniform returns a value uniformly in [lo, hi).
func uniform(r *rand.Rand, lo, hi float64) float32 { return float32(lo + (hi-lo)*r.Float64()) }

// isNaN32 reports whether v is a NaN.
func isNaN32(v float32) bool { return v != v }

// sameFloat reports whether got equals want within rel relative error, with
// absolute slack abs; NaNs equal NaNs and infinities must match exactly.
func sameFloat(got, want float64, rel, abs float64) bool {
	switch {
	case math.IsNaN(want) || math.IsNaN(got):
		return math.IsNaN(want) && math.IsNaN(got)
	case math.IsInf(want, 0) || math.IsInf(got, 0):
		return got == want
	}
	return math.Abs(got-want) <= rel*math.Abs(want)+abs
}
