package main

import (
	"fmt"
	"math"
)

// The AVX2 forward kernels of swish, sigmoid, tanh and GELU. A 256-bit FMA does
// half the work of a 512-bit one, so on a core with 512-bit datapaths the
// AVX2 kernels have half the arithmetic budget of the AVX-512 ones for the
// same time per element; these are built for the fewest multiply-pipe
// operations at the same accuracy:
//
//   - exp(z) in swish and sigmoid is 2^(k/8), one VPERMPS of an 8-entry
//     table and an integer add from the bits of the rounding constant (no
//     float-to-int conversion), times a cubic of the reduced argument
//     (expScaled64); in GELU's full-range path 2^n from the same bits times
//     a degree-5 polynomial;
//   - results that may be subnormal are computed 2^64 too large, where they
//     are normal, and scaled down by the last multiplication, so they round
//     once (the split 2^n1 * 2^n2 of expCore costs seven operations more);
//   - swish, sigmoid and tanh divide once: max(x, x*e) / (1+e),
//     (e or 1) / (1+e) and -m/(2+m), with no reciprocal to multiply by, and
//     swish selects with a max (an add-pipe operation) instead of a blend;
//   - GELU looks up 8-entry tables (VPERMPS) instead of dividing, and takes
//     a shorter path where every |x| of three vectors is below 6.43: see
//     geluAVX2 and geluFastAVX2.
//
// Lanes whose exponential is below every result that matters are masked
// to zero, so no clamp keeps the exponent in range there; NaN passes.
// Each runs as interleaved streams (ewKernel.streams): the chains are long,
// and one vector at a time left the core waiting on them. Swish and sigmoid
// run two streams of five registers, which leaves six constants in
// registers (three streams, with one, ran 13% slower); tanh and GELU's fast
// path run three.

const (
	// geluCap: for a >= 13.2, |x*Phi(-a)| is below the smallest normal
	// float32 (5.7e-39 at 13.2): the fit need not be accurate beyond.
	geluCap = 13.2
	// geluClamp: a is clamped to it, so the interval index stays in the
	// last interval; there q = 2^n*P with 2^n = 0 (n <= -165), exactly 0.
	geluClamp = 14.875
	// geluLnDeg is the degree of the polynomials of ln R on each interval.
	geluLnDeg = 5
	// expDeg is the degree of the polynomial of exp on |r| <= ln2/2.
	expDeg = 5
)

// geluBounds are the AVX2 GELU's intervals of a: those of v = a+1 by its
// exponent and first mantissa bit, [1, 1.5), [1.5, 2), [2, 3), ... [12, 16),
// so the interval's index is bits(v) >> 22 (mod 8: interval j is entry
// (j+6) mod 8 of the tables, as bits(1) >> 22 = 254). They are narrow
// where ln R bends most, near 0.
var geluBounds = [9]float64{0, 0.5, 1, 2, 3, 5, 7, 11, 15}

// lnMills is ln R(a), R(a) = Phi(-a) * exp(a*a/2), in float64.
func lnMills(a float64) float64 { return math.Log(0.5*math.Erfc(a/math.Sqrt2)) + a*a/2 }

// chebFit returns the monomial coefficients (in powers of u) of the
// polynomial of degree deg interpolating f at the Chebyshev nodes of
// [lo, hi].
func chebFit(f func(u float64) float64, lo, hi float64, deg int) []float64 {
	n := deg + 1
	m := make([][]float64, n)
	for i := range m {
		u := (lo+hi)/2 + (hi-lo)/2*math.Cos(math.Pi*(float64(i)+0.5)/float64(n))
		m[i] = make([]float64, n+1)
		for j := 0; j < n; j++ {
			m[i][j] = math.Pow(u, float64(j))
		}
		m[i][n] = f(u)
	}
	return solveN(m)
}

// solveN solves the n x (n+1) augmented system m by Gaussian elimination
// with partial pivoting.
func solveN(m [][]float64) []float64 {
	n := len(m)
	for col := 0; col < n; col++ {
		p := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		m[col], m[p] = m[p], m[col]
		for r := col + 1; r < n; r++ {
			f := m[r][col] / m[col][col]
			for j := col; j <= n; j++ {
				m[r][j] -= f * m[col][j]
			}
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := m[r][n]
		for j := r + 1; j < n; j++ {
			s -= m[r][j] * x[j]
		}
		x[r] = s / m[r][r]
	}
	return x
}

// expCoeffs returns the coefficients of exp(r) ~ sum c[j] r^j on
// |r| <= 0.35 (ln2/2 = 0.3466 and the rounding of the argument).
func expCoeffs() []float64 { return chebFit(math.Exp, -0.35, 0.35, expDeg) }

// geluLnTables returns the tables gl0..gl5 of the AVX2 GELU, whose entry
// for interval j holds the coefficients of ln R(a) in powers of
// u = v - gctr[j], v = a+1, gctr[j] the centre of the interval in v,
// fitted over the interval (the last up to geluClamp).
func geluLnTables() map[string][]float32 {
	var tabs [geluLnDeg + 1][8]float32
	var ctr [8]float32
	for j := 0; j < 8; j++ {
		lo, hi := geluBounds[j]+1, geluBounds[j+1]+1
		if j == 7 {
			hi = geluClamp + 1
		}
		c := float64(float32((geluBounds[j]+geluBounds[j+1])/2 + 1))
		coef := chebFit(func(u float64) float64 { return lnMills(c + u - 1) }, lo-c, hi-c, geluLnDeg)
		e := (j + 6) % 8
		ctr[e] = float32(c)
		for i := range coef {
			tabs[i][e] = float32(coef[i])
		}
	}
	m := map[string][]float32{"gctr": ctr[:]}
	for i := range tabs {
		m[geluLnName(i)] = tabs[i][:]
	}
	return m
}

func init() {
	for j, c := range exp8Coeffs() {
		constValues[exp8CoeffName(j)] = float32(c)
	}
	constValues["log2e8"] = float32(8 / math.Ln2)
	c8hi := float32(math.Ln2 / 8)
	constValues["c8hi"] = c8hi
	constValues["c8lo"] = float32(math.Ln2/8 - float64(c8hi))
	for j, c := range expCoeffs() {
		constValues[expCoeffName(j)] = float32(c)
	}
	for j, c := range geluFastExpCoeffs() {
		constValues[geluFastExpName(j)] = float32(c)
	}
	constBits["gfguard"] = ^uint32(0x4b400007) // round(a*k) >= 8, Inf or NaN
	constValues["gfk"] = geluFastK
	constValues["gclamp"] = geluClamp
	constValues["m64"] = 0x1p-64
	// Below z = -103.9, exp(z) is at most the smallest subnormal float32 and
	// is taken as 0: what it changes (sigmoid, or x*e in swish) is far below
	// the smallest normal float32.
	constValues["swlo"] = -103.9
	constBits["sc191"] = (127 + 64) << 23
}

func expCoeffName(j int) string { return "ex" + string(rune('0'+j)) }

// expConsts2 are the constants of the GELU's full-range exp, most used
// first; expConsts8 those of expScaled64.
var (
	expConsts2 = []string{"magic", "log2e", "ln2hi", "ln2lo", "ex0", "ex1", "ex2", "ex3", "ex4", "ex5", "sc191"}
	expConsts8 = []string{"magic", "log2e8", "c8hi", "c8lo", "e80", "e81", "e82", "e83"}
)

// expScaled64 sets dst = exp(z)*2^64 for z in [-131, 0] (and NaN to NaN),
// a normal float32 throughout; z may take any value where the caller masks
// the result. With k = round(z*8/ln2) (k + 1.5*2^23 in t0, its low bits k),
// exp(z) = 2^(k/8) * exp(r), |r| <= ln2/16: 2^(k/8)*2^64 is a VPERMPS of
// the 8-entry table e8t by k's low bits plus k shifted into the exponent
// (each entry has j<<20 taken off its bits, which the shift adds back), and
// exp(r) a cubic. r = z - k*ln2/8 in two steps, the first exact: k*c8hi
// is a multiple of 2^-27 and so is z where k is not 0, and |r| < 2^-4.
// Uses t0..t2; z and dst must not be among them, dst may be z.
func (e *ew) expScaled64(dst, z string) {
	t := e.t
	e.ins("VMOVUPS %s, %s", e.c("magic"), t[0])
	e.ins("VFMADD231PS %s, %s, %s", e.c("log2e8"), z, t[0]) // k + magic
	e.ins("VSUBPS %s, %s, %s", e.c("magic"), t[0], t[1])    // k
	e.ins("VMOVAPS %s, %s", z, t[2])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("c8hi"), t[1], t[2]) // z - k*c8hi, exact
	e.ins("VFNMADD231PS %s, %s, %s", e.c("c8lo"), t[1], t[2]) // r
	e.ins("VMOVUPS %s, %s", e.c(exp8CoeffName(exp8Deg)), t[1])
	for j := exp8Deg - 1; j >= 0; j-- {
		e.ins("VFMADD213PS %s, %s, %s", e.c(exp8CoeffName(j)), t[2], t[1])
	}
	e.ins("VPERMPS %s, %s, %s", e.f.table("e8t", exp8TableSet), t[0], t[2])
	e.ins("VPSLLD $20, %s, %s", t[0], t[0])
	e.ins("VPADDD %s, %s, %s", t[2], t[0], t[0]) // 2^(k/8) * 2^64
	e.ins("VMULPS %s, %s, %s", t[0], t[1], dst)
}

// exp8Deg is the degree of the polynomial of exp on |r| <= ln2/16.
const exp8Deg = 3

// exp8Coeffs are those of exp(r) on |r| <= ln2/16 (and rounding).
func exp8Coeffs() []float64 { return chebFit(math.Exp, -0.0435, 0.0435, exp8Deg) }

func exp8CoeffName(j int) string { return "e8" + string(rune('0'+j)) }

// exp8Table is expScaled64's table: 2^(j/8) * 2^64 (see pow8Table).
func exp8Table() []float32 { return pow8Table(64) }

// pow8Table returns the 8 entries 2^(j/8 + b) with j<<20 taken off their
// bits: a VPERMPS of it by the low bits of k + 1.5*2^23, plus those bits
// shifted left by 20, is 2^(k/8 + b).
func pow8Table(b float64) []float32 {
	t := make([]float32, 8)
	for j := range t {
		t[j] = math.Float32frombits(math.Float32bits(float32(math.Exp2(float64(j)/8+b))) - uint32(j)<<20)
	}
	return t
}

// expPoly sets dst = exp(r) ~ the degree-5 polynomial of r (Horner).
func (e *ew) expPoly(dst, r string) {
	e.ins("VMOVUPS %s, %s", e.c("ex5"), dst)
	for j := expDeg - 1; j >= 0; j-- {
		e.ins("VFMADD213PS %s, %s, %s", e.c(expCoeffName(j)), r, dst)
	}
}

// swishAVX2 stores max(x, x*e) / (1+e), e = exp(-|x|), at out; x
// and out are memory operands (streams). Uses t0..t4.
func (e *ew) swishAVX2(out, x string) {
	t := e.t
	e.ins("VORPS %s, %s, %s", x, e.cr("signmask", t[3]), t[3]) // z = -|x|
	e.ins("VCMPPS $0x05, %s, %s, %s", e.c("swlo"), t[3], t[4]) // z not < lo: e not 0 (NaN too)
	e.expScaled64(t[3], t[3])                                  // e*2^64
	e.ins("VANDPS %s, %s, %s", t[4], t[3], t[3])
	// max(x, min(x, 89)*e) is x*e below 0 (e <= 1) and x above; the clamp
	// keeps +Inf (e = 0) from making a NaN, while -Inf still does, as
	// x*sigmoid(x).
	e.ins("VMOVUPS %s, %s", x, t[4])
	e.ins("VMINPS %s, %s, %s", e.c("exphi"), t[4], t[4])
	e.ins("VMULPS %s, %s, %s", t[3], t[4], t[4])
	e.ins("VMULPS %s, %s, %s", e.c("m64"), t[4], t[4]) // min(x, 89)*e, rounded once
	e.ins("VMOVUPS %s, %s", e.c("one"), t[0])
	e.ins("VFMADD231PS %s, %s, %s", e.c("m64"), t[3], t[0]) // 1+e
	e.ins("VMOVUPS %s, %s", x, t[3])
	e.ins("VMAXPS %s, %s, %s", t[4], t[3], t[4]) // a NaN of the product wins
	e.ins("VDIVPS %s, %s, %s", t[0], t[4], t[4])
	e.ins("VMOVUPS %s, %s", t[4], out)
}

// sigmoidAVX2 stores (x < 0 ? e : 1) / (1+e), e = exp(-|x|), at out; x
// and out are memory operands (streams). Uses t0..t4.
func (e *ew) sigmoidAVX2(out, x string) {
	t := e.t
	e.ins("VORPS %s, %s, %s", x, e.cr("signmask", t[3]), t[3])
	e.ins("VCMPPS $0x05, %s, %s, %s", e.c("swlo"), t[3], t[4])
	e.expScaled64(t[3], t[3])
	e.ins("VANDPS %s, %s, %s", t[4], t[3], t[3])
	e.ins("VMULPS %s, %s, %s", e.c("m64"), t[3], t[3]) // e
	e.ins("VMOVUPS %s, %s", e.c("one"), t[4])
	e.ins("VADDPS %s, %s, %s", t[4], t[3], t[0])
	e.ins("VMOVUPS %s, %s", x, t[2])
	e.ins("VBLENDVPS %s, %s, %s, %s", t[2], t[3], t[4], t[3])
	e.ins("VDIVPS %s, %s, %s", t[0], t[3], t[3])
	e.ins("VMOVUPS %s, %s", t[3], out)
}

// geluAVX2 stores x*Phi(x) at out (x and out memory operands: streams),
// from q = Phi(-a), a = |x|, as
//
//	q = exp(-a*a/2 + E),  E = ln R(a) = ln(Phi(-a)*exp(a*a/2)),
//
// where E, smooth (R is close to 1/(a*sqrt(2*pi)) for large a), is a
// polynomial of degree 5 on each of the intervals of geluBounds, its
// coefficients looked up with VPERMPS in 8-entry tables. a*a/2 is kept as
// an exact pair h + l, and the reduction subtracts n*ln2 from h before E
// and l are added, so the argument's rounding costs no more than that of
// E. q is built 2^64 too large and
// scaled down once, so it rounds correctly where it is subnormal; a is
// clamped to geluClamp, where q is 0. x*Phi(x) = x < 0 ? x*q : x - x*q.
// Uses t0..t5.
func (e *ew) geluAVX2(out, x string) {
	t := e.t
	r0, r1, r2, r3, r4, r5 := t[0], t[1], t[2], t[3], t[4], t[5]
	tab := func(name string) string { return e.f.table(name, geluLnTableSet[name]) }
	perm := func(dst string, j int) { e.ins("VPERMPS %s, %s, %s", tab(geluLnName(j)), r1, dst) }
	// a = min(|x|, geluClamp) in r0 (NaN becomes the clamp: x carries it).
	e.ins("VMOVUPS %s, %s", x, r0)
	e.ins("VANDPS %s, %s, %s", e.c("absmask"), r0, r0)
	e.ins("VMINPS %s, %s, %s", e.c("gclamp"), r0, r0)
	// The interval's index in r1, u = v - gctr[k] in r2, u*u in r3.
	e.ins("VADDPS %s, %s, %s", e.c("one"), r0, r2) // v
	e.ins("VPSRLD $22, %s, %s", r2, r1)
	e.ins("VPERMPS %s, %s, %s", tab("gctr"), r1, r4)
	e.ins("VSUBPS %s, %s, %s", r4, r2, r2)
	// E(u) by Horner in r4.
	perm(r4, geluLnDeg)
	for j := geluLnDeg - 1; j >= 0; j-- {
		perm(r5, j)
		e.ins("VFMADD213PS %s, %s, %s", r5, r2, r4)
	}
	// -a*a/2 = h + l exactly (h in r2, l in r3).
	e.ins("VMULPS %s, %s, %s", e.c("mhalf"), r0, r1) // -a/2
	e.ins("VMULPS %s, %s, %s", r1, r0, r2)
	e.ins("VMOVAPS %s, %s", r2, r3)
	e.ins("VFMSUB231PS %s, %s, %s", r1, r0, r3) // a*(-a/2) - h
	// n = round((h+E)*log2e) (n + magic in r0), r = (h - n*ln2hi) + (E+l - n*ln2lo) in r2.
	e.ins("VADDPS %s, %s, %s", r4, r2, r5)
	e.ins("VADDPS %s, %s, %s", r3, r4, r4)
	e.ins("VMOVUPS %s, %s", e.c("magic"), r0)
	e.ins("VFMADD231PS %s, %s, %s", e.c("log2e"), r5, r0)
	e.ins("VSUBPS %s, %s, %s", e.c("magic"), r0, r5)
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2hi"), r5, r2) // exact
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2lo"), r5, r4)
	e.ins("VADDPS %s, %s, %s", r4, r2, r2)
	// 2^n = 2^(n+64) * 2^-64 is exact (n >= -149; 0 below), and so is
	// min(x, clamp) * 2^n where it is normal: xs in r1. Clamping x from
	// above keeps x*Phi(x) = x - xs*exp(r) at +Inf.
	e.ins("VPSLLD $23, %s, %s", r0, r0)
	e.ins("VPADDD %s, %s, %s", e.c("sc191"), r0, r0)
	e.ins("VMULPS %s, %s, %s", e.c("m64"), r0, r0)
	e.ins("VMINPS %s, %s, %s", x, e.cr("gclamp", r1), r1)
	e.ins("VMULPS %s, %s, %s", r0, r1, r1)
	// exp(r) by Horner in r3, then x*q in r1.
	e.expPoly(r3, r2)
	e.ins("VMULPS %s, %s, %s", r3, r1, r1)
	// x < 0 ? x*q : x - x*q.
	e.ins("VMOVUPS %s, %s", x, r4)
	e.ins("VSUBPS %s, %s, %s", r1, r4, r5)
	e.ins("VBLENDVPS %s, %s, %s, %s", r4, r1, r5, r5)
	e.ins("VMOVUPS %s, %s", r5, out)
}

// tanhAVX2 stores tanh(x) = sign(x) * -m/(2+m), m = expm1(-2|x|), at out
// (x and out memory operands: streams), dividing once. Uses t0..t4.
func (e *ew) tanhAVX2(out, x string) {
	t := e.t
	e.ins("VMOVUPS %s, %s", x, t[4])
	e.ins("VORPS %s, %s, %s", e.c("signmask"), t[4], t[4])
	e.ins("VADDPS %s, %s, %s", t[4], t[4], t[4]) // -2|x|
	e.expm1Neg(t[4], t[4])                       // m
	e.ins("VADDPS %s, %s, %s", e.c("two"), t[4], t[0])
	e.ins("VMOVUPS %s, %s", x, t[1])
	e.ins("VANDNPS %s, %s, %s", e.c("signmask"), t[1], t[1]) // the sign bit where x >= 0
	e.ins("VXORPS %s, %s, %s", t[1], t[4], t[4])             // m <= 0: -m where x >= 0
	e.ins("VDIVPS %s, %s, %s", t[0], t[4], t[4])
	e.ins("VMOVUPS %s, %s", t[4], out)
}

func geluLnName(j int) string { return "gl" + string(rune('0'+j)) }

var (
	swish2Consts   = append([]string{"signmask", "swlo", "m64", "one", "exphi"}, expConsts8...)
	gelu2Consts    = append([]string{"absmask", "gclamp", "magic", "one", "mhalf", "m64"}, without(expConsts2, "magic")...)
	geluLnTableSet = geluLnTables()
)

// The AVX2 GELU's fast path. Activations are almost always well inside
// |x| < 6 (a standard normal leaves it once in 500 million draws), and
// there q = Phi(-a) is at least 1e-9, so neither the subnormal scaling nor
// the exact square of the full-range kernel is needed. Each step of three
// vectors whose every |x| is below 6.43 (and none NaN) takes it, in three
// interleaved streams; any other step runs geluAVX2, so every input keeps
// the full-range accuracy.
//
// On each of 8 intervals of a, r = round(a*7/6) (one FMA with the rounding
// constant, whose bits are also the guard),
// s8 = 8*log2(q) - K is u*P(u), u = a - c, P of degree 3: the centre c is
// a float32 where 8*log2(Phi(-c)) is within 2e-6 of the integer K, so the
// polynomial needs no constant term. Then, with M = 1.5*2^23 + K,
//
//	km = u*P + M        (its low bits: the integer k = K + round(u*P))
//	f  = u*P - (km - M) (|f| <= 1/2, one rounding)
//	q  = 2^(k/8) * 2^(f/8)
//
// 2^(k/8) is T[k mod 8] * 2^(k>>3), built from km's bits by one VPERMPS and
// one integer add; 2^(f/8) is a cubic. x*Phi(x) = max(x, 0) - a*q, by one
// fused multiply-add.
const (
	geluFastDeg  = 3 // degree of P
	geluFastExp2 = 3 // degree of 2^(f/8) on |f| <= 1/2
)

// geluFastBounds are the fast path's intervals of a, in table order: entry
// r holds the a with round(a*geluFastK) = r, up to 7.5/geluFastK = 6.43.
var geluFastBounds = func() (b [8][2]float64) {
	for r := range b {
		b[r] = [2]float64{max(0, (float64(r)-0.5)/geluFastK), (float64(r) + 0.5) / geluFastK}
	}
	return b
}()

const geluFastK = 7.0 / 6

// log2PhiNeg8 is 8*log2(Phi(-a)) in float64.
func log2PhiNeg8(a float64) float64 { return 8 * math.Log2(0.5*math.Erfc(a/math.Sqrt2)) }

// geluFastCentre returns a float32 c in [lo, hi) where 8*log2(Phi(-c)) is
// within 2e-6 of an integer K, trading that distance against the distance
// from the interval's middle, and K: it
// looks at the 2048 float32 values around each point of the middle 60% of
// the interval where the function crosses an integer.
func geluFastCentre(lo, hi float64) (c float32, K float64) {
	m0, m1 := lo+0.2*(hi-lo), lo+0.8*(hi-lo)
	mid, best := (lo+hi)/2, math.Inf(1)
	for k := math.Ceil(log2PhiNeg8(m1)); k <= math.Floor(log2PhiNeg8(m0)); k++ {
		x0, x1 := m0, m1 // decreasing: log2PhiNeg8(x0) >= k >= log2PhiNeg8(x1)
		for range 64 {
			if m := (x0 + x1) / 2; log2PhiNeg8(m) > k {
				x0 = m
			} else {
				x1 = m
			}
		}
		cc := float32(x0)
		for range 1024 {
			cc = math.Nextafter32(cc, 0)
		}
		for range 2048 {
			d := math.Abs(log2PhiNeg8(float64(cc)) - k)
			// Each 1e-6 of d weighs as much as 5% of the interval off the middle.
			if score := math.Abs(float64(cc)-mid)/(hi-lo) + d/1e-6*0.05; d <= 2e-6 && score < best {
				best, c, K = score, cc, k
			}
			cc = math.Nextafter32(cc, 8)
		}
	}
	if math.IsInf(best, 1) {
		panic(fmt.Sprintf("geluFastCentre: no centre within 2e-6 of an integer in [%v, %v)", lo, hi))
	}
	return c, K
}

// geluFastTables returns the fast path's tables: gfc (centres), gfm (M),
// gf0..gf3 (P's coefficients) and gft (T[j] = 2^(j/8) with j<<20
// subtracted from its bits, which the shifted km adds back).
func geluFastTables() map[string][]float32 {
	m := map[string][]float32{}
	for _, name := range []string{"gfc", "gfm"} {
		m[name] = make([]float32, 8)
	}
	m["gft"] = pow8Table(0)
	for i := 0; i <= geluFastDeg; i++ {
		m[geluFastName(i)] = make([]float32, 8)
	}
	for j, b := range geluFastBounds {
		c, K := geluFastCentre(b[0], b[1])
		cf := float64(c)
		d0 := log2PhiNeg8(cf) - K
		// P(u) = (s8(u) - d0)/u; d0, at most 2e-6, is left out (2e-7 of q).
		coef := chebFit(func(u float64) float64 { return (log2PhiNeg8(cf+u) - K - d0) / u }, b[0]-cf, b[1]-cf, geluFastDeg)
		for i, v := range coef {
			m[geluFastName(i)][j] = float32(v)
		}
		m["gfc"][j] = c
		m["gfm"][j] = float32(12582912 + K)
	}
	return m
}

func geluFastName(j int) string { return "gf" + string(rune('0'+j)) }

// geluFastExpCoeffs are those of 2^(f/8) on |f| <= 1/2 (and rounding).
func geluFastExpCoeffs() []float64 {
	return chebFit(func(f float64) float64 { return math.Exp2(f / 8) }, -0.51, 0.51, geluFastExp2)
}

func geluFastExpName(j int) string { return "gfe" + string(rune('0'+j)) }

// geluFastAVX2 writes the fast path for one vector (x and out memory
// operands) as a head (a in t0; in t1 the entry plus 1.5*2^23, a guard bit
// set where the fast path does not hold), fastGuardMark, and the rest.
// Uses t0..t4.
func (e *ew) geluFastAVX2(out, x string) {
	t := e.t
	tab := func(name string) string { return e.f.table(name, geluFastTableSet[name]) }
	e.ins("VANDPS %s, %s, %s", x, e.c("absmask"), t[0]) // a
	e.ins("VMOVUPS %s, %s", e.cmem("magic"), t[1])
	e.ins("VFMADD231PS %s, %s, %s", e.cmem("gfk"), t[0], t[1]) // round(a*k) + magic: the entry
	e.f.text.WriteString(fastGuardMark + "\n")
	e.ins("VPERMPS %s, %s, %s", tab("gfc"), t[1], t[2])
	e.ins("VSUBPS %s, %s, %s", t[2], t[0], t[2]) // u = a - c, exact
	e.ins("VPERMPS %s, %s, %s", tab(geluFastName(geluFastDeg)), t[1], t[3])
	for j := geluFastDeg - 1; j >= 0; j-- {
		e.ins("VPERMPS %s, %s, %s", tab(geluFastName(j)), t[1], t[4])
		e.ins("VFMADD213PS %s, %s, %s", t[4], t[2], t[3])
	}
	e.ins("VPERMPS %s, %s, %s", tab("gfm"), t[1], t[4])
	e.ins("VMOVAPS %s, %s", t[4], t[1])
	e.ins("VFMADD231PS %s, %s, %s", t[3], t[2], t[1]) // km = u*P + M
	e.ins("VSUBPS %s, %s, %s", t[4], t[1], t[4])      // km - M, exact
	e.ins("VFMSUB213PS %s, %s, %s", t[4], t[2], t[3]) // f = u*P - (km - M)
	e.ins("VMOVUPS %s, %s", e.cmem(geluFastExpName(geluFastExp2)), t[4])
	for j := geluFastExp2 - 1; j >= 0; j-- {
		e.ins("VFMADD213PS %s, %s, %s", e.cmem(geluFastExpName(j)), t[3], t[4])
	}
	e.ins("VPERMPS %s, %s, %s", tab("gft"), t[1], t[2])
	e.ins("VPSLLD $20, %s, %s", t[1], t[1])
	e.ins("VPADDD %s, %s, %s", t[2], t[1], t[1]) // 2^(k/8)
	e.ins("VMULPS %s, %s, %s", t[1], t[0], t[0]) // a*2^(k/8)
	e.ins("VXORPS %s, %s, %s", t[2], t[2], t[2])
	e.ins("VMAXPS %s, %s, %s", x, t[2], t[1])          // max(x, 0), -0 kept
	e.ins("VFNMADD231PS %s, %s, %s", t[4], t[0], t[1]) // max(x, 0) - a*q, rounded once
	e.ins("VMOVUPS %s, %s", t[1], out)
}

var (
	geluFastTableSet = geluFastTables()
	exp8TableSet     = exp8Table()
)
