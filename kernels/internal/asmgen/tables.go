package main

import (
	"math"
	"slices"
)

// The AVX-512 GELU evaluates q = Phi(-a), a = |x| (clamped to geluTableMax),
// as 2^L(a) with L(a) = log2 Phi(-a) piecewise: k = round(2a) picks one of
// 32 intervals of width 1/2 (register-resident tables looked up with
// VPERMI2PS), and on each L = c0 + P(u), u = a - k/2 in [-1/4, 1/4], P of
// degree 4. c0 is a multiple of 1/32 near L at the interval's centre, so
// c0 and the small constant term of P together hold L's leading bits
// exactly, and 2^L is taken as 2^(n/32) * 2^r with n = round(32*L): the
// table gexp holds 2^(j/32), j = n mod 32, VSCALEFPS applies 2^floor(n/32),
// and |r| <= 1/64 leaves a degree-2 polynomial. The table gc0 stores c0 plus
// geluExpMagic, so one addition of P both rounds L to the grid of n/32 and
// puts n in the low mantissa bits (the index of gexp).
const (
	geluTableMax = 15 // Phi(-15) is below 2^-160: q underflows to 0
	geluEntries  = 32
	geluDeg      = 4
	// geluIdxMagic = 1.5*2^22: a+geluIdxMagic rounds a to a multiple of
	// 1/2, 2a mod 32 in its low mantissa bits.
	geluIdxMagic = 6291456
	// geluExpMagic = 1.5*2^18: s+geluExpMagic rounds s to a multiple of
	// 1/32, 32s mod 32 in its low mantissa bits.
	geluExpMagic = 393216
)

// log2PhiNeg is log2 Phi(-a) in float64.
func log2PhiNeg(a float64) float64 { return math.Log2(0.5 * math.Erfc(a/math.Sqrt2)) }

// geluTables returns the tables gc0 (c0 + geluExpMagic), gp0..gp4 (the
// coefficients of P), gexp (2^(j/32)) and, for the derivative, gm0, gml and
// gm1 (log2 of the normal density on each interval).
func geluTables() map[string][geluEntries]float32 {
	var tabs [geluDeg + 2][geluEntries]float32
	for k := 0; k < geluEntries; k++ {
		lo, hi := -0.25, 0.25
		if k == 0 {
			lo = 0
		}
		if 2*geluTableMax == k {
			hi = 0
		}
		c := chebFit(func(u float64) float64 { return log2PhiNeg(float64(k)/2 + u) }, lo, hi, geluDeg)
		c0 := math.Round(c[0]*32) / 32
		tabs[0][k] = float32(c0 + geluExpMagic)
		tabs[1][k] = float32(c[0] - c0)
		for j := 1; j <= geluDeg; j++ {
			tabs[j+1][k] = float32(c[j])
		}
	}
	// log2 phi(k/2 + u) = m0 + m1*u + m2*u*u exactly, m2 = -1/(2 ln 2) a
	// constant; m0 is split as c0 (a multiple of 1/32, stored plus
	// geluExpMagic) and a small remainder.
	var m0, ml, m1 [geluEntries]float32
	for k := range m0 {
		h := float64(k) / 2
		m := -h*h/(2*math.Ln2) - math.Log2(math.Sqrt(2*math.Pi))
		c0 := math.Round(m*32) / 32
		m0[k] = float32(c0 + geluExpMagic)
		ml[k] = float32(m - c0)
		m1[k] = float32(-h / math.Ln2)
	}
	var exp2 [geluEntries]float32
	for j := range exp2 {
		exp2[j] = float32(math.Exp2(float64(j) / 32))
	}
	return map[string][geluEntries]float32{
		"gc0": tabs[0], "gp0": tabs[1], "gp1": tabs[2], "gp2": tabs[3], "gp3": tabs[4], "gp4": tabs[5],
		"gexp": exp2, "gm0": m0, "gml": ml, "gm1": m1,
	}
}

// geluExp2Coeffs returns e1 and e2 of 2^r ~ 1 + r*(e1 + e2*r) on
// |r| <= 1/64, interpolating (2^r-1)/r at the Chebyshev nodes.
func geluExp2Coeffs() (e1, e2 float64) {
	f := func(r float64) float64 { return math.Expm1(r*math.Ln2) / r }
	r0, r1 := -1.0/64*math.Cos(math.Pi/4), 1.0/64*math.Cos(math.Pi/4)
	e2 = (f(r1) - f(r0)) / (r1 - r0)
	e1 = f(r0) - e2*r0
	return e1, e2
}

// table registers a float32 lookup table (32 entries for the AVX-512
// kernels' VPERMI2PS, 8 for the AVX2 kernels' VPERMPS) and returns its
// memory operand.
func (f *file) table(name string, vals []float32) string {
	if f.tables == nil {
		f.tables = map[string][]float32{}
	}
	if old, ok := f.tables[name]; ok && !slices.Equal(old, vals) {
		panic("table " + name + " redefined")
	}
	f.tables[name] = vals
	return name + "<>(SB)"
}

func (f *file) writeTables() {
	for _, name := range sortedKeys(f.tables) {
		vals := f.tables[name]
		f.printf("\n")
		for i, v := range vals {
			f.printf("DATA %s<>+%d(SB)/4, $0x%08x\n", name, 4*i, math.Float32bits(v))
		}
		f.printf("GLOBL %s<>(SB), RODATA|NOPTR, $%d\n", name, 4*len(vals))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

var geluE1, geluE2 = geluExp2Coeffs()
