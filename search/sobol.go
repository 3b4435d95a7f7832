package search

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// sobolBits is the precision of the sequence's coordinates: 2^32 points per
// dimension before the sequence repeats.
const sobolBits = 32

// sobolDims is the number of dimensions with direction numbers: dimension 1
// and the rows of the Joe-Kuo table.
const sobolDims = len(joeKuo) + 1

// sobolDirections[d][j] is the j-th direction number of dimension d as a
// 32-bit binary fraction.
var sobolDirections = buildSobolDirections()

func buildSobolDirections() [][sobolBits]uint32 {
	dirs := make([][sobolBits]uint32, sobolDims)
	for j := range sobolBits {
		dirs[0][j] = 1 << (sobolBits - 1 - j)
	}
	for d, row := range joeKuo {
		v := &dirs[d+1]
		s := int(row.s)
		for j := range sobolBits {
			if j < s {
				v[j] = row.m[j] << (sobolBits - 1 - j)
				continue
			}
			// Bratley and Fox's recurrence: v_j = a_1 v_(j-1) ^ ... ^
			// a_(s-1) v_(j-s+1) ^ v_(j-s) ^ (v_(j-s) >> s).
			x := v[j-s] ^ (v[j-s] >> s)
			for k := 1; k < s; k++ {
				if (row.a>>(s-1-k))&1 == 1 {
					x ^= v[j-k]
				}
			}
			v[j] = x
		}
	}
	return dirs
}

// sobolPoint returns coordinate dim (0-based, < sobolDims) of point index of
// the unscrambled sequence in Gray-code order (the order of Antonov and
// Saleev, in which every prefix of 2^m points is the same set as in natural
// order).
func sobolPoint(index uint32, dim int) uint32 {
	g := index ^ (index >> 1)
	v := &sobolDirections[dim]
	var x uint32
	for j := 0; g != 0; j, g = j+1, g>>1 {
		if g&1 == 1 {
			x ^= v[j]
		}
	}
	return x
}

// owenScramble applies a nested uniform (Owen) scramble to a 32-bit binary
// fraction: every bit is flipped by a hash of the bits above it, so the
// scrambled points keep the sequence's stratification. This is the hash-based
// construction of B. Burley, "Practical Hash-based Owen Scrambling", JCGT
// 9(4), 2020: a Laine-Karras permutation of the reversed bits.
func owenScramble(x, seed uint32) uint32 {
	x = bits.Reverse32(x)
	x += seed
	x ^= x * 0x6c50b47c
	x ^= x * 0xb82f1e52
	x ^= x * 0xc7afe638
	x ^= x * 0x8d22f6e6
	return bits.Reverse32(x)
}

// mix64 is the SplitMix64 finaliser, used to derive per-dimension seeds.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Sobol samples an Owen-scrambled Sobol sequence: a quasi-random sequence
// whose first n points cover the unit hypercube far more evenly than n
// independent draws. Each parameter of the space, conditional ones included,
// owns one dimension (in Space.Params order); a coordinate u in [0, 1) maps
// to Low + u (High - Low) for Float, to the same in log space for LogFloat,
// to Low + floor(u (High - Low + 1)) for Int and to choice floor(u n) for
// Categorical.
//
// The point index is the number of distinct configurations in the history,
// so a study walks the sequence in order, and a suggestion already in the
// history moves on to the next index. Seed selects the scramble; Suggest sets
// it from its own seed. The 32 bits of a coordinate are completed with
// pseudo-random low bits from the rng, as a full Owen scramble would, and
// parameters beyond the table's 128 dimensions are drawn uniformly.
type Sobol struct {
	Seed uint64
}

// Name implements Sampler.
func (Sobol) Name() string { return "sobol" }

func (s Sobol) withSeed(seed uint64) Sampler { return Sobol{Seed: seed} }

// sobolMaxSkip bounds how many sequence points Sample skips because they are
// already in the history before it falls back to a uniform draw.
const sobolMaxSkip = 64

// Sample implements Sampler.
func (s Sobol) Sample(space *Space, history []Trial, _ Direction, rng *rand.Rand) (Config, error) {
	seen := make(map[string]bool, len(history))
	for _, t := range history {
		seen[t.Config.Hash()] = true
	}
	index := uint64(len(seen))
	for skip := uint64(0); skip < sobolMaxSkip; skip++ {
		c := s.point(space, (index+skip)&math.MaxUint32, rng)
		if !seen[c.Hash()] {
			return c, nil
		}
	}
	return Random{}.Sample(space, history, "", rng)
}

// point maps point index of the scrambled sequence to a configuration.
func (s Sobol) point(space *Space, index uint64, rng *rand.Rand) Config {
	c := make(Config, len(space.Params()))
	for d, p := range space.Params() {
		var u float64
		if d < sobolDims {
			seed := uint32(mix64(s.Seed^mix64(uint64(d))) >> 32)
			x := owenScramble(sobolPoint(uint32(index), d), seed)
			u = (float64(x) + rng.Float64()) / (1 << sobolBits)
		} else {
			u = rng.Float64()
		}
		if !space.Active(p, c) {
			continue
		}
		c[p.Name] = FromUnit(p, u)
	}
	return c
}

// FromUnit maps u in [0, 1) to p's domain so that a uniform u gives p's prior
// distribution (log-uniform for LogFloat, equal mass per integer and per
// choice otherwise).
func FromUnit(p Param, u float64) Value {
	u = clamp(u, 0, math.Nextafter(1, 0))
	switch p.Kind {
	case Float:
		return Num(clamp(p.Low+u*(p.High-p.Low), p.Low, p.High))
	case LogFloat:
		lo, hi := math.Log(p.Low), math.Log(p.High)
		return Num(clamp(math.Exp(lo+u*(hi-lo)), p.Low, p.High))
	case Int:
		lo, hi := int64(p.Low), int64(p.High)
		return Num(float64(min(lo+int64(u*float64(hi-lo+1)), hi)))
	case Categorical:
		return p.Choices[min(int(u*float64(len(p.Choices))), len(p.Choices)-1)]
	}
	panic("search: unknown kind")
}
