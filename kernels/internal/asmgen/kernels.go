package main

import "fmt"

// Comparison predicates of VCMPPS.
const (
	cmpEQ  = 0x00 // equal, ordered
	cmpLT  = 0x01 // less than, ordered
	cmpNGT = 0x0A // not greater than, unordered (true for NaN)
	cmpGT  = 0x0E // greater than, ordered
)

// expCore sets dst = exp(x) (or expm1(x) when m1) with the IEEE edges:
// x is clamped to [explo, exphi] with NaN passing through, so +Inf
// overflows to +Inf, -Inf underflows to 0, and NaN stays NaN. It uses
// t0..t3; x and dst must not be among them (dst may be x).
func (e *ew) expCore(dst, x string, m1 bool) {
	t := e.t
	if r := e.cr("exphi", t[0]); r == t[0] {
		e.ins("VMINPS %s, %s, %s", x, t[0], t[0])
	} else {
		e.ins("VMINPS %s, %s, %s", x, r, t[0])
	}
	e.ins("VMAXPS %s, %s, %s", t[0], e.cr("explo", t[1]), t[0])
	e.ins("VMOVUPS %s, %s", e.c("magic"), t[1])
	e.ins("VFMADD231PS %s, %s, %s", e.c("log2e"), t[0], t[1])
	e.ins("VSUBPS %s, %s, %s", e.c("magic"), t[1], t[1])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2hi"), t[1], t[0])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2lo"), t[1], t[0])
	e.polyScale(dst, m1)
}

// expm1Neg sets dst = expm1(x) for x <= 0 or NaN. On AVX2, x is first
// raised to -87: exp(-87) = 1.6e-38 is still a normal float32, and expm1
// of anything lower rounds to -1 all the same, so 2^n (n in [-126, 0]) is
// built in one step from its exponent bits, five instructions fewer than
// expCore's two-factor scaling, which exists for subnormal results of exp.
// AVX-512 uses expCore (VSCALEFPS costs one instruction). Uses t0..t3; x
// and dst must not be among them (dst may be x).
func (e *ew) expm1Neg(dst, x string) {
	if e.is512() {
		e.expCore(dst, x, true)
		return
	}
	e.expNormal(x, "expm1lo")
	t := e.t
	e.ins("VSUBPS %s, %s, %s", e.c("one"), t[1], dst)
	e.ins("VFMADD231PS %s, %s, %s", t[2], t[1], dst)
}

// expNormal is the AVX2 part of expm1Neg: with x
// raised to the constant lo (whose exp is a normal float32), it leaves
// 2^n in t1 and expm1(r) in t2, exp(x) = 2^n*(1+expm1(r)). Uses t0..t3.
func (e *ew) expNormal(x, lo string) {
	t := e.t
	if r := e.cr(lo, t[0]); r == t[0] {
		e.ins("VMAXPS %s, %s, %s", x, t[0], t[0]) // NaN passes: VMAXPS returns its first operand here
	} else {
		e.ins("VMAXPS %s, %s, %s", x, r, t[0])
	}
	e.ins("VMOVUPS %s, %s", e.c("magic"), t[1])
	e.ins("VFMADD231PS %s, %s, %s", e.c("log2e"), t[0], t[1])
	e.ins("VSUBPS %s, %s, %s", e.c("magic"), t[1], t[1])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2hi"), t[1], t[0])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2lo"), t[1], t[0])
	e.ins("VMOVUPS %s, %s", e.c("p0"), t[2])
	for _, p := range []string{"p1", "p2", "p3", "p4"} {
		e.ins("VFMADD213PS %s, %s, %s", e.c(p), t[0], t[2])
	}
	e.ins("VMULPS %s, %s, %s", t[0], t[0], t[3])
	e.ins("VFMADD213PS %s, %s, %s", t[0], t[3], t[2]) // t2 = expm1(r)
	e.ins("VCVTTPS2DQ %s, %s", t[1], t[1])
	e.ins("VPADDD %s, %s, %s", e.c("i127"), t[1], t[1])
	e.ins("VPSLLD $23, %s, %s", t[1], t[1]) // 2^n
}

// exp2part sets dst = exp(hi+lo) for hi <= 0 and a small lo, keeping the
// low part of the argument out of the rounding of hi+lo. It uses t0..t3.
func (e *ew) exp2part(dst, hi, lo string) {
	t := e.t
	if r := e.cr("explo", t[0]); r == t[0] {
		e.ins("VMAXPS %s, %s, %s", hi, t[0], t[0])
	} else {
		e.ins("VMAXPS %s, %s, %s", hi, r, t[0])
	}
	e.exp2partReduced(dst, lo)
}

// exp2partReduced is exp2part for hi already in t0 and within the range
// of exp.
func (e *ew) exp2partReduced(dst, lo string) {
	t := e.t
	e.ins("VADDPS %s, %s, %s", lo, t[0], t[1])
	e.ins("VMOVUPS %s, %s", e.c("magic"), t[2])
	e.ins("VFMADD231PS %s, %s, %s", e.c("log2e"), t[1], t[2])
	e.ins("VSUBPS %s, %s, %s", e.c("magic"), t[2], t[1])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2hi"), t[1], t[0])
	e.ins("VFNMADD231PS %s, %s, %s", e.c("ln2lo"), t[1], t[0])
	e.ins("VADDPS %s, %s, %s", lo, t[0], t[0])
	e.polyScale(dst, false)
}

// polyScale finishes exp or expm1 from the reduced argument r in t0 and
// the integer-valued n in t1: expm1(r) by a polynomial, then the
// scaling by 2^n (VSCALEFPS on AVX-512; on AVX2 two exponent-built powers
// of two, so results in the subnormal range round once and correctly).
func (e *ew) polyScale(dst string, m1 bool) {
	t := e.t
	e.ins("VMOVUPS %s, %s", e.c("p0"), t[2])
	for _, p := range []string{"p1", "p2", "p3", "p4"} {
		e.ins("VFMADD213PS %s, %s, %s", e.c(p), t[0], t[2])
	}
	e.ins("VMULPS %s, %s, %s", t[0], t[0], t[3])
	e.ins("VFMADD213PS %s, %s, %s", t[0], t[3], t[2]) // t2 = expm1(r)
	if e.is512() {
		if m1 {
			e.ins("VSCALEFPS %s, %s, %s", t[1], e.cr("one", t[0]), t[3]) // 2^n
			e.ins("VSUBPS %s, %s, %s", e.c("one"), t[3], dst)
			e.ins("VFMADD231PS %s, %s, %s", t[2], t[3], dst)
			return
		}
		e.ins("VADDPS %s, %s, %s", e.c("one"), t[2], t[2])
		e.ins("VSCALEFPS %s, %s, %s", t[1], t[2], dst)
		return
	}
	// n = n1 + n2 with n1 = n>>1, each 2^ni a normal number.
	e.ins("VCVTTPS2DQ %s, %s", t[1], t[1])
	e.ins("VPSRAD $1, %s, %s", t[1], t[3])
	e.ins("VPSUBD %s, %s, %s", t[3], t[1], t[1])
	e.ins("VPADDD %s, %s, %s", e.c("i127"), t[3], t[3])
	e.ins("VPSLLD $23, %s, %s", t[3], t[3])
	e.ins("VPADDD %s, %s, %s", e.c("i127"), t[1], t[1])
	e.ins("VPSLLD $23, %s, %s", t[1], t[1])
	if m1 {
		e.ins("VMULPS %s, %s, %s", t[1], t[3], t[3]) // 2^n
		e.ins("VSUBPS %s, %s, %s", e.c("one"), t[3], dst)
		e.ins("VFMADD231PS %s, %s, %s", t[2], t[3], dst)
		return
	}
	e.ins("VADDPS %s, %s, %s", e.c("one"), t[2], t[2])
	e.ins("VMULPS %s, %s, %s", t[3], t[2], t[2])
	e.ins("VMULPS %s, %s, %s", t[1], t[2], dst)
}

// recip sets dst = 1/d: VRCP14PS and one Newton step on AVX-512, VDIVPS on
// AVX2 (measured: VRCPPS, 12 bits, needs two Newton steps for swish's
// backward pass, and the five instructions were slower than VDIVPS). dst
// must differ from d and scratch.
func (e *ew) recip(dst, d, scratch string) {
	if e.is512() {
		e.ins("VRCP14PS %s, %s", d, dst)
		e.ins("VMOVUPS %s, %s", e.c("one"), scratch)
		e.ins("VFNMADD231PS %s, %s, %s", dst, d, scratch)
		e.ins("VFMADD231PS %s, %s, %s", scratch, dst, dst)
		return
	}
	e.ins("VMOVUPS %s, %s", e.c("one"), dst)
	e.ins("VDIVPS %s, %s, %s", d, dst, dst)
}

// signBlend sets dst = ifNeg where the sign bit of sgn is set, else ifPos.
func (e *ew) signBlend(dst, sgn, ifNeg, ifPos string) {
	if e.is512() {
		e.ins("VPMOVD2M %s, K1", sgn)
		e.ins("VBLENDMPS %s, %s, K1, %s", ifNeg, ifPos, dst)
		return
	}
	e.ins("VBLENDVPS %s, %s, %s, %s", sgn, ifNeg, ifPos, dst)
}

// cmpBlend sets dst = ifTrue where (a pred b), else ifFalse. b may be a
// memory operand; scratch is used on AVX2 only.
func (e *ew) cmpBlend(dst string, pred int, a, b, ifTrue, ifFalse, scratch string) {
	if e.is512() {
		e.ins("VCMPPS $0x%02X, %s, %s, K1", pred, b, a)
		e.ins("VBLENDMPS %s, %s, K1, %s", ifTrue, ifFalse, dst)
		return
	}
	e.ins("VCMPPS $0x%02X, %s, %s, %s", pred, b, a, scratch)
	e.ins("VBLENDVPS %s, %s, %s, %s", scratch, ifTrue, ifFalse, dst)
}

// sigmoidCore sets dst = 1/(1+exp(-x)) as q = 1/(1+exp(-|x|)) for x >= 0
// and exp(-|x|)*q for x < 0, so no intermediate overflows: the AVX-512
// sigmoid, and the swish backward pass on both ISAs. Uses t0..t5.
func (e *ew) sigmoidCore(dst, x string) {
	t := e.t
	e.ins("VORPS %s, %s, %s", e.c("signmask"), x, t[4]) // -|x|
	e.expCore(t[5], t[4], false)
	e.ins("VADDPS %s, %s, %s", e.c("one"), t[5], t[4])
	e.recip(t[0], t[4], t[1])
	e.ins("VMULPS %s, %s, %s", t[0], t[5], t[5])
	e.signBlend(dst, x, t[5], t[0])
}

// tanhCore sets dst = tanh(x) = sign(x) * -m/(2+m) with m = expm1(-2|x|),
// accurate in relative terms near zero. Uses t0..t5.
func (e *ew) tanhCore(dst, x string) {
	t := e.t
	e.ins("VORPS %s, %s, %s", e.c("signmask"), x, t[4])
	e.ins("VADDPS %s, %s, %s", t[4], t[4], t[4])
	e.expm1Neg(t[5], t[4])
	e.ins("VADDPS %s, %s, %s", e.c("two"), t[5], t[4])
	e.recip(t[0], t[4], t[1])
	e.ins("VMULPS %s, %s, %s", t[0], t[5], t[5])
	e.ins("VANDPS %s, %s, %s", e.c("absmask"), t[5], t[5])
	e.ins("VANDPS %s, %s, %s", e.c("signmask"), x, t[4])
	e.ins("VORPS %s, %s, %s", t[4], t[5], dst)
}

// geluPrep starts Phi(-|x|) on AVX2 as exp(-a*a/2) * Q(t), a = |x| capped
// at gelumax (beyond which the tail is 0), t = 1/(1+a/(2*sqrt2)) and Q a
// polynomial of degree 9 in t fitted to Phi(-a)*exp(a*a/2) (relative error
// below 5e-8 over [0, gelumax]). The exponential and the division are
// independent chains, and Q is evaluated by Estrin's scheme, so the
// dependency chain is about half that of exp(-z*z + E(t)) with a Horner
// polynomial E (Numerical Recipes' erfcc), which kept the AVX2 kernel
// latency-bound. It leaves exp(-a*a/2) in t7 and Q(t) in t1, and uses
// t0..t6.
func (e *ew) geluPrep(x string) {
	t := e.t
	e.ins("VANDPS %s, %s, %s", e.c("absmask"), x, t[4])
	if r := e.cr("gelumax", t[0]); r == t[0] {
		e.ins("VMINPS %s, %s, %s", t[4], t[0], t[4])
	} else {
		e.ins("VMINPS %s, %s, %s", t[4], r, t[4])
	}
	e.ins("VMULPS %s, %s, %s", t[4], t[4], t[5])
	e.ins("VMOVUPS %s, %s", t[5], t[6])
	e.ins("VFMSUB231PS %s, %s, %s", t[4], t[4], t[6]) // exact low part of a*a
	e.ins("VMULPS %s, %s, %s", e.c("mhalf"), t[5], t[5])
	e.ins("VMULPS %s, %s, %s", e.c("mhalf"), t[6], t[6])
	e.exp2part(t[7], t[5], t[6]) // exp(-a*a/2)
	e.ins("VMOVUPS %s, %s", e.c("one"), t[5])
	e.ins("VFMADD231PS %s, %s, %s", e.c("geluc"), t[4], t[5])
	e.ins("VMOVUPS %s, %s", e.c("one"), t[6])
	e.ins("VDIVPS %s, %s, %s", t[5], t[6], t[6]) // t
	// Q = (q0+q1 t) + t^2 (q2+q3 t) + t^4 ((q4+q5 t) + t^2 (q6+q7 t) + t^4 (q8+q9 t)).
	pair := func(dst string, i int) {
		e.ins("VMOVUPS %s, %s", e.c(fmt.Sprintf("gq%d", i+1)), dst)
		e.ins("VFMADD213PS %s, %s, %s", e.c(fmt.Sprintf("gq%d", i)), t[6], dst)
	}
	e.ins("VMULPS %s, %s, %s", t[6], t[6], t[0]) // t^2
	pair(t[1], 0)
	pair(t[2], 2)
	pair(t[3], 4)
	pair(t[5], 6)
	pair(t[4], 8)
	e.ins("VFMADD231PS %s, %s, %s", t[2], t[0], t[1]) // (q0..q3)
	e.ins("VFMADD231PS %s, %s, %s", t[5], t[0], t[3]) // (q4..q7)
	e.ins("VMULPS %s, %s, %s", t[0], t[0], t[0])      // t^4
	e.ins("VFMADD231PS %s, %s, %s", t[4], t[0], t[3])
	e.ins("VFMADD231PS %s, %s, %s", t[3], t[0], t[1]) // Q
}

// geluPhi sets dst = Phi(x) from q = Phi(-|x|): q for x < 0, 1-q otherwise.
// Uses t0.
func (e *ew) geluPhi(dst, x, q string) {
	e.ins("VSUBPS %s, %s, %s", q, e.cr("one", e.t[0]), dst)
	e.signBlend(dst, x, q, dst)
}

// geluTable sets t3 = Phi(x) from q = Phi(-|x|) = 2^L(|x|), L from the
// piecewise tables of tables.go (AVX-512 only), and with density also
// t5 = phi(x) = 2^M(|x|), M(a) = log2 of the normal density, a polynomial
// of degree 2 in u on each interval. Uses t0..t4, and t5, t6 with density.
func (e *ew) geluTable(x string, density bool) {
	t := e.t
	e.ins("VANDPS %s, %s, %s", e.c("absmask"), x, t[0])
	e.ins("VMINPS %s, %s, %s", e.c("gmax"), t[0], t[0])
	e.ins("VADDPS %s, %s, %s", e.c("gidxmagic"), t[0], t[1]) // round(2a) in the low bits
	e.ins("VSUBPS %s, %s, %s", e.c("gidxmagic"), t[1], t[2])
	e.ins("VSUBPS %s, %s, %s", t[2], t[0], t[2]) // u = a - k/2, exact
	e.lookup(t[3], "gp4", t[1])
	for _, c := range []string{"gp3", "gp2", "gp1", "gp0"} {
		e.lookup(t[4], c, t[1])
		e.ins("VFMADD213PS %s, %s, %s", t[4], t[2], t[3]) // P = P*u + c
	}
	if density {
		e.ins("VMOVUPS %s, %s", e.c("gm2"), t[5])
		for _, c := range []string{"gm1", "gml"} {
			e.lookup(t[4], c, t[1])
			e.ins("VFMADD213PS %s, %s, %s", t[4], t[2], t[5])
		}
		e.lookup(t[6], "gm0", t[1])
	}
	e.lookup(t[0], "gc0", t[1])
	e.exp2Table(t[3], t[0], t[1], t[2]) // q
	if density {
		e.exp2Table(t[5], t[6], t[1], t[2]) // phi(x)
	}
	e.ins("VCMPPS $0x%02X, %s, %s, K1", cmpGT, e.c("zero"), x)
	e.ins("VSUBPS %s, %s, K1, %s", t[3], e.cr("one", t[4]), t[3]) // Phi(x)
}

// exp2Table sets p = 2^(c0+p) for c (a register) holding c0 + gexpmagic, c0
// a multiple of 1/32, and |p| small enough that c0+p rounds to the grid of
// 1/32 with an exact remainder (AVX-512 only). Uses c, s1 and s2.
func (e *ew) exp2Table(p, c, s1, s2 string) {
	e.ins("VADDPS %s, %s, %s", p, c, s1)                // n/32 + magic, n = round(32*(c0+p))
	e.ins("VSUBPS %s, %s, %s", c, s1, c)                // n/32 - c0, exact
	e.ins("VSUBPS %s, %s, %s", c, p, p)                 // r = c0 + p - n/32, exact, |r| <= 1/64
	e.ins("VSUBPS %s, %s, %s", e.c("gexpmagic"), s1, c) // n/32
	e.lookup(s2, "gexp", s1)                            // 2^((n mod 32)/32)
	e.ins("VMOVUPS %s, %s", e.c("ge2"), s1)
	e.ins("VFMADD213PS %s, %s, %s", e.c("ge1"), p, s1)
	e.ins("VMULPS %s, %s, %s", s2, p, p)
	e.ins("VFMADD213PS %s, %s, %s", s2, s1, p) // 2^(c0 + p - floor(n/32))
	e.ins("VSCALEFPS %s, %s, %s", c, p, p)
}

var (
	swishConsts   = append(append([]string{}, expConsts...), "signmask")
	tanhConsts    = append(append([]string{}, expConsts...), "signmask", "absmask", "two", "expm1lo")
	gelu512Consts = []string{"absmask", "gmax", "gidxmagic", "gexpmagic", "ge1", "ge2", "one", "zero", "gm2"}
	geluConsts    = append([]string{"absmask", "magic", "one", "gq0", "gq1", "gq2", "gq3", "gq4", "gq5", "gq6", "gq7", "gq8", "gq9"},
		append(without(without(expConsts, "magic"), "one"), "gelumax", "mhalf", "geluc", "invsqrt2pi")...)
)

// without returns xs less the element x.
func without(xs []string, x string) []string {
	var out []string
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

func ewKernels() []*ewKernel {
	return []*ewKernel{
		{name: "relu", doc: "dst[i] = max(x[i], 0), NaN passing", out: "dst", ins: []string{"x"},
			consts: []string{"zero"}, temps: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				e.ins("VMAXPS %s, %s, %s", in[0], e.cr("zero", e.t[0]), out)
			}},
		{name: "reluBackward", doc: "dx[i] = x[i] > 0 ? dy[i] : 0", out: "dx", ins: []string{"dy", "x"},
			consts: []string{"zero"}, temps: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				dy, x := in[0], in[1]
				if e.is512() {
					e.ins("VCMPPS $0x%02X, %s, %s, K1", cmpGT, e.c("zero"), x)
					e.ins("VMOVAPS.Z %s, K1, %s", dy, out)
					return
				}
				e.ins("VCMPPS $0x%02X, %s, %s, %s", cmpGT, e.c("zero"), x, e.t[0])
				e.ins("VANDPS %s, %s, %s", dy, e.t[0], out)
			}},
		{name: "leakyReLU", doc: "dst[i] = x[i] < 0 ? slope*x[i] : x[i]", out: "dst", ins: []string{"x"},
			scalars: []string{"slope"}, consts: []string{"zero"}, temps: 2, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				x, slope := in[0], e.sc["slope"]
				if e.is512() {
					e.ins("VCMPPS $0x%02X, %s, %s, K1", cmpLT, e.c("zero"), x)
					e.ins("VMOVAPS %s, %s", x, out)
					e.ins("VMULPS %s, %s, K1, %s", slope, x, out)
					return
				}
				e.ins("VMULPS %s, %s, %s", slope, x, e.t[0])
				e.ins("VCMPPS $0x%02X, %s, %s, %s", cmpLT, e.c("zero"), x, e.t[1])
				e.ins("VBLENDVPS %s, %s, %s, %s", e.t[1], e.t[0], x, out)
			}},
		{name: "leakyReLUBackward", doc: "dx[i] = x[i] > 0 ? dy[i] : slope*dy[i]", out: "dx", ins: []string{"dy", "x"},
			scalars: []string{"slope"}, consts: []string{"zero"}, temps: 2, unroll: 4,
			body: func(e *ew, in []string, out string, u int) { leakyBackwardBody(e, in[0], in[1], out) }},
		{name: "preluBackward", doc: "leakyReLUBackward that also returns the sum of dy[i]*x[i] over x[i] < 0",
			out: "dx", ins: []string{"dy", "x"}, scalars: []string{"slope"}, ret: "float32",
			consts: []string{"zero"}, temps: 2, accs: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				dy, x := in[0], in[1]
				if e.is512() {
					e.ins("VCMPPS $0x%02X, %s, %s, K2", cmpLT, e.c("zero"), x)
					e.ins("VFMADD231PS %s, %s, K2, %s", x, dy, e.acc(u, 0))
				} else {
					e.ins("VMULPS %s, %s, %s", x, dy, e.t[0])
					e.ins("VCMPPS $0x%02X, %s, %s, %s", cmpLT, e.c("zero"), x, e.t[1])
					e.ins("VANDPS %s, %s, %s", e.t[0], e.t[1], e.t[0])
					e.ins("VADDPS %s, %s, %s", e.t[0], e.acc(u, 0), e.acc(u, 0))
				}
				leakyBackwardBody(e, dy, x, out)
			}},
		{name: "exp", doc: "dst[i] = exp(x[i])", out: "dst", ins: []string{"x"},
			consts: expConsts, temps: 4, unroll: 2,
			body: func(e *ew, in []string, out string, u int) { e.expCore(out, in[0], false) }},
		{name: "eluScaled", doc: "dst[i] = x[i] > 0 ? scale*x[i] : alpha*expm1(x[i])", out: "dst", ins: []string{"x"},
			scalars: []string{"scale", "alpha"}, consts: append(append([]string{"zero"}, expConsts...), "expm1lo"), temps: 6, unroll: 2,
			body: func(e *ew, in []string, out string, u int) {
				x, t := in[0], e.t
				if r := e.cr("zero", t[4]); r == t[4] {
					e.ins("VMINPS %s, %s, %s", x, t[4], t[4])
				} else {
					e.ins("VMINPS %s, %s, %s", x, r, t[4])
				}
				e.expm1Neg(t[5], t[4])
				e.ins("VMULPS %s, %s, %s", e.sc["alpha"], t[5], t[5])
				e.ins("VMULPS %s, %s, %s", e.sc["scale"], x, t[4])
				e.cmpBlend(out, cmpGT, x, e.c("zero"), t[4], t[5], t[0])
			}},
		{name: "eluScaledBackward", doc: "dx[i] = x[i] > 0 ? scale*dy[i] : dy[i]*(y[i]+c)", out: "dx", ins: []string{"dy", "x", "y"},
			scalars: []string{"scale", "c"}, consts: []string{"zero"}, temps: 3, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				dy, x, y, t := in[0], in[1], in[2], e.t
				e.ins("VADDPS %s, %s, %s", e.sc["c"], y, t[0])
				e.ins("VMULPS %s, %s, %s", dy, t[0], t[0])
				e.ins("VMULPS %s, %s, %s", e.sc["scale"], dy, t[1])
				e.cmpBlend(out, cmpGT, x, e.c("zero"), t[1], t[0], t[2])
			}},
		{name: "sigmoid", doc: "dst[i] = 1/(1+exp(-x[i]))", out: "dst", ins: []string{"x"},
			consts: swish2Consts, consts512: swishConsts, temps: 5, temps512: 6, unroll: 2, streams: true,
			body: func(e *ew, in []string, out string, u int) {
				if e.is512() {
					e.sigmoidCore(out, in[0])
					return
				}
				e.sigmoidAVX2(out, in[0])
			}},
		{name: "sigmoidBackward", doc: "dx[i] = dy[i]*y[i]*(1-y[i])", out: "dx", ins: []string{"dy", "y"},
			consts: []string{"one"}, temps: 2, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				dy, y, t := in[0], in[1], e.t
				e.ins("VSUBPS %s, %s, %s", y, e.cr("one", t[0]), t[1])
				e.ins("VMULPS %s, %s, %s", y, t[1], t[1])
				e.ins("VMULPS %s, %s, %s", dy, t[1], out)
			}},
		{name: "tanh", doc: "dst[i] = tanh(x[i])", out: "dst", ins: []string{"x"},
			consts: tanhConsts, temps: 5, temps512: 6, unroll: 3, unroll512: 2, streams: true,
			body: func(e *ew, in []string, out string, u int) {
				if e.is512() {
					e.tanhCore(out, in[0])
					return
				}
				e.tanhAVX2(out, in[0])
			}},
		{name: "tanhBackward", doc: "dx[i] = dy[i]*(1-y[i]*y[i])", out: "dx", ins: []string{"dy", "y"},
			consts: []string{"one"}, temps: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				dy, y, t := in[0], in[1], e.t
				e.ins("VMOVUPS %s, %s", e.c("one"), t[0])
				e.ins("VFNMADD231PS %s, %s, %s", y, y, t[0])
				e.ins("VMULPS %s, %s, %s", dy, t[0], out)
			}},
		{name: "swish", doc: "dst[i] = x[i]*sigmoid(x[i])", out: "dst", ins: []string{"x"},
			consts: swish2Consts, consts512: swishConsts, temps: 5, temps512: 7, unroll: 2, streams: true,
			body: func(e *ew, in []string, out string, u int) {
				if !e.is512() {
					e.swishAVX2(out, in[0])
					return
				}
				e.sigmoidCore(e.t[6], in[0])
				e.ins("VMULPS %s, %s, %s", e.t[6], in[0], out)
			}},
		{name: "swishBackward", doc: "dx[i] = dy[i]*s*(1+x[i]*(1-s)) with s = sigmoid(x[i])", out: "dx", ins: []string{"dy", "x"},
			consts: swishConsts, temps: 7, unroll: 2,
			body: func(e *ew, in []string, out string, u int) {
				dy, x, t := in[0], in[1], e.t
				e.sigmoidCore(t[6], x)
				e.ins("VSUBPS %s, %s, %s", t[6], e.cr("one", t[0]), t[5])
				e.ins("VFMADD213PS %s, %s, %s", e.c("one"), x, t[5])
				e.ins("VMULPS %s, %s, %s", t[6], t[5], t[5])
				e.ins("VMULPS %s, %s, %s", dy, t[5], out)
			}},
		{name: "gelu", doc: "dst[i] = x[i]*Phi(x[i])", out: "dst", ins: []string{"x"},
			consts: gelu2Consts, consts512: gelu512Consts, temps: 6, temps512: 8, unroll: 2, streams: true,
			fastAVX2: func(e *ew, in []string, out string) { e.geluFastAVX2(out, in[0]) }, guard: "gfguard",
			fastUnroll: 3, fastTemps: 5,
			tables: []string{"gc0", "gp0", "gp1", "gp2", "gp3", "gp4", "gexp"},
			body: func(e *ew, in []string, out string, u int) {
				x, t := in[0], e.t
				if e.is512() {
					e.geluTable(x, false)
					e.ins("VMULPS %s, %s, %s", t[3], x, out)
					return
				}
				e.geluAVX2(out, x)
			}},
		{name: "geluBackward", doc: "dx[i] = dy[i]*(Phi(x[i]) + x[i]*phi(x[i]))", out: "dx", ins: []string{"dy", "x"},
			consts: geluConsts, consts512: gelu512Consts, temps: 8, temps512: 7, unroll: 2,
			tables: []string{"gc0", "gp0", "gp1", "gp2", "gp3", "gp4", "gexp", "gm0", "gml", "gm1"},
			body: func(e *ew, in []string, out string, u int) {
				dy, x, t := in[0], in[1], e.t
				if e.is512() {
					e.geluTable(x, true)
					e.ins("VFMADD231PS %s, %s, %s", x, t[5], t[3])
					e.ins("VMULPS %s, %s, %s", dy, t[3], out)
					return
				}
				e.geluPrep(x)
				e.ins("VMULPS %s, %s, %s", t[7], t[1], t[1]) // Phi(-|x|)
				e.geluPhi(t[5], x, t[1])
				e.ins("VMULPS %s, %s, %s", x, t[7], t[7])
				e.ins("VFMADD231PS %s, %s, %s", e.c("invsqrt2pi"), t[7], t[5])
				e.ins("VMULPS %s, %s, %s", dy, t[5], out)
			}},
		{name: "axpy", doc: "y[i] += alpha*x[i]", out: "y", ins: []string{"y", "x"},
			scalars: []string{"alpha"}, temps: 0, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				e.ins("VMOVUPS %s, %s", in[0], out)
				e.ins("VFMADD231PS %s, %s, %s", e.sc["alpha"], in[1], out)
			}},
		{name: "scal", doc: "x[i] *= alpha", out: "x", ins: []string{"x"},
			scalars: []string{"alpha"}, temps: 0, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				e.ins("VMULPS %s, %s, %s", e.sc["alpha"], in[0], out)
			}},
		{name: "dot", doc: "the sum of x[i]*y[i] in float32 lanes", ins: []string{"x", "y"},
			ret: "float32", temps: 1, accs: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				e.ins("VFMADD231PS %s, %s, %s", in[0], in[1], e.acc(u, 0))
			}},
		{name: "sumSquares", doc: "the sum of x[i]*x[i] in float64 lanes", ins: []string{"x"},
			ret: "float64", temps: 2, accs: 2, unroll: 2, noLoad: true,
			body: func(e *ew, in []string, out string, u int) {
				half := e.s.bytes / 2
				base := u * e.s.bytes
				ptr := in[0][len(fmt.Sprint(base)):] // "(REG)"
				for h := 0; h < 2; h++ {
					e.ins("VCVTPS2PD %d%s, %s", base+h*half, ptr, e.t[h])
					e.ins("VFMADD231PD %s, %s, %s", e.t[h], e.t[h], e.acc(u, h))
				}
			}},
		{name: "countZeros", doc: "counts[i] += 1 where a[i] == 0", out: "counts", ins: []string{"counts", "a"},
			ints: []string{"counts"}, consts: []string{"zero", "ione"}, temps: 1, unroll: 4,
			body: func(e *ew, in []string, out string, u int) {
				counts, a := in[0], in[1]
				if e.is512() {
					e.ins("VCMPPS $0x%02X, %s, %s, K1", cmpEQ, e.c("zero"), a)
					e.ins("VMOVUPS %s, %s", counts, out)
					e.ins("VPADDD %s, %s, K1, %s", e.c("ione"), out, out)
					return
				}
				e.ins("VCMPPS $0x%02X, %s, %s, %s", cmpEQ, e.c("zero"), a, e.t[0])
				e.ins("VPSUBD %s, %s, %s", e.t[0], counts, out)
			}},
	}
}

// leakyBackwardBody sets out = x > 0 ? dy : slope*dy (NaN x takes the slope).
func leakyBackwardBody(e *ew, dy, x, out string) {
	slope := e.sc["slope"]
	if e.is512() {
		e.ins("VCMPPS $0x%02X, %s, %s, K1", cmpNGT, e.c("zero"), x)
		e.ins("VMOVAPS %s, %s", dy, out)
		e.ins("VMULPS %s, %s, K1, %s", slope, dy, out)
		return
	}
	e.ins("VMULPS %s, %s, %s", slope, dy, e.t[0])
	e.ins("VCMPPS $0x%02X, %s, %s, %s", cmpGT, e.c("zero"), x, e.t[1])
	e.ins("VBLENDVPS %s, %s, %s, %s", e.t[1], dy, e.t[0], out)
}
