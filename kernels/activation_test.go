package kernels

import (
	"fmt"
	"math"
	"testing"
)

// actCase describes one activation: its kernels, its float64 truth and the
// maximum error its kernels are allowed, as stated in the table below.
type actCase struct {
	name string
	fwd  func(dst, x []float32)
	bwd  func(dx, dy, x, y []float32)
	f    func(x float64) float64 // forward, exact
	df   func(x float64) float64 // derivative, exact
	// Forward error bound: |got-want| <= fwdRel*|want| + minNormal.
	fwdRel float64
	// Backward error bound: |got-want| <= bwdRel*|want| + bwdAbs*|dy|. bwdAbs
	// covers derivatives computed from the rounded forward output y.
	bwdRel, bwdAbs float64
}

const (
	minNormal32 = 0x1p-126
	ulp1        = 0x1p-23 // float32 spacing at 1
)

const (
	leakySlope = 0.01
	eluAlpha   = 1.3
	preluSlope = 0.2
)

func sigmoidTruth(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func phiTruth(x float64) float64     { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// activationCases is the table of activations and their maximum errors
// against float64 math over [-88, 88] plus the special values.
func activationCases() []actCase {
	return []actCase{
		{name: "relu", fwd: ReLU, bwd: ReLUBackward,
			f:  func(x float64) float64 { return max(x, 0) },
			df: func(x float64) float64 { return b2f(x > 0) }},
		{name: "leaky_relu",
			fwd: func(d, x []float32) { LeakyReLU(d, x, leakySlope) },
			bwd: func(dx, dy, x, y []float32) { LeakyReLUBackward(dx, dy, x, y, leakySlope) },
			f:   func(x float64) float64 { return leaky(x, leakySlope) },
			df:  func(x float64) float64 { return leakyD(x, leakySlope) }, fwdRel: ulp1, bwdRel: ulp1},
		{name: "prelu",
			fwd: func(d, x []float32) { PReLU(d, x, preluSlope) },
			bwd: func(dx, dy, x, y []float32) { PReLUBackward(dx, dy, x, y, preluSlope) },
			f:   func(x float64) float64 { return leaky(x, preluSlope) },
			df:  func(x float64) float64 { return leakyD(x, preluSlope) }, fwdRel: ulp1, bwdRel: ulp1},
		{name: "elu",
			fwd: func(d, x []float32) { ELU(d, x, eluAlpha) },
			bwd: func(dx, dy, x, y []float32) { ELUBackward(dx, dy, x, y, eluAlpha) },
			f: func(x float64) float64 {
				if x > 0 {
					return x
				}
				return float64(float32(eluAlpha)) * math.Expm1(x)
			},
			df: func(x float64) float64 {
				if x > 0 {
					return 1
				}
				return float64(float32(eluAlpha)) * math.Exp(x)
			},
			fwdRel: 2e-6, bwdRel: 2e-6, bwdAbs: 2 * ulp1 * eluAlpha},
		{name: "selu", fwd: SELU, bwd: SELUBackward,
			f: func(x float64) float64 {
				if x > 0 {
					return SELULambda * x
				}
				return SELULambda * SELUAlpha * math.Expm1(x)
			},
			df: func(x float64) float64 {
				if x > 0 {
					return SELULambda
				}
				return SELULambda * SELUAlpha * math.Exp(x)
			},
			fwdRel: 2e-6, bwdRel: 2e-6, bwdAbs: 4 * ulp1 * SELULambda * SELUAlpha},
		{name: "swish", fwd: Swish, bwd: SwishBackward,
			f: func(x float64) float64 { return x * sigmoidTruth(x) },
			df: func(x float64) float64 {
				s := sigmoidTruth(x)
				return s * (1 + x*(1-s))
			},
			fwdRel: 2e-6, bwdRel: 2e-6, bwdAbs: 4 * ulp1},
		{name: "gelu", fwd: GELU, bwd: GELUBackward,
			f: func(x float64) float64 { return x * phiTruth(x) },
			df: func(x float64) float64 {
				return phiTruth(x) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
			},
			fwdRel: 2e-6, bwdRel: 2e-6, bwdAbs: 4 * ulp1},
		{name: "sigmoid", fwd: Sigmoid, bwd: SigmoidBackward,
			f: sigmoidTruth,
			df: func(x float64) float64 {
				s := sigmoidTruth(x)
				return s * (1 - s)
			},
			fwdRel: 2e-6, bwdRel: 4e-6, bwdAbs: 2 * ulp1},
		{name: "tanh", fwd: Tanh, bwd: TanhBackward,
			f: math.Tanh,
			df: func(x float64) float64 {
				t := math.Tanh(x)
				return 1 - t*t
			},
			fwdRel: 2e-6, bwdRel: 4e-6, bwdAbs: 4 * ulp1},
		{name: "exp", fwd: Exp, f: math.Exp, fwdRel: 2e-6},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func leaky(x, s float64) float64 {
	if x < 0 {
		return float64(float32(s)) * x
	}
	return x
}

func leakyD(x, s float64) float64 {
	if x > 0 {
		return 1
	}
	return float64(float32(s))
}

// activationInputs returns n seeded inputs: uniform over [-88, 88], a
// uniform band near zero, and the special values.
func activationInputs(n int) []float32 {
	r := newRand(10)
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 1e-30, -1e-30, 1e-7, -1e-7,
		88, -88, 88.72, 89, -87.3, -87.4, -100, -103.9, -104, -150, 100, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), minNormal32, -minNormal32, 0.3465, -0.3466}
	xs := make([]float32, 0, n+len(special))
	xs = append(xs, special...)
	for i := 0; len(xs) < n; i++ {
		switch i % 3 {
		case 0, 1:
			xs = append(xs, uniform(r, -88, 88))
		default:
			xs = append(xs, uniform(r, -4, 4))
		}
	}
	return xs
}

func TestActivationForward(t *testing.T) { forEachISA(t, testActivationForward) }

func testActivationForward(t *testing.T) {
	xs := activationInputs(1 << 17)
	for _, ac := range activationCases() {
		t.Run(ac.name, func(t *testing.T) {
			dst, whole := guarded(len(xs), func(int) float32 { return 0 })
			ac.fwd(dst, xs)
			checkGuards(t, ac.name, whole)
			worst, at := 0.0, float32(0)
			for i, x := range xs {
				want := float64(float32(ac.f(float64(x))))
				got := float64(dst[i])
				if !sameFloat(got, want, ac.fwdRel+ulp1/2, minNormal32) {
					t.Fatalf("%s(%v) = %v, want %v", ac.name, x, got, want)
				}
				if e := relErr(got, ac.f(float64(x))); e > worst && !math.IsInf(want, 0) {
					worst, at = e, x
				}
			}
			t.Logf("%s forward: max relative error %.3g at x=%v (bound %.3g)", ac.name, worst, at, ac.fwdRel+ulp1/2)
		})
	}
}

func TestActivationForwardNaN(t *testing.T) { forEachISA(t, testActivationForwardNaN) }

func testActivationForwardNaN(t *testing.T) {
	for _, ac := range activationCases() {
		x := []float32{float32(math.NaN()), 1, float32(math.NaN())}
		dst := make([]float32, len(x))
		ac.fwd(dst, x)
		if !isNaN32(dst[0]) || !isNaN32(dst[2]) {
			t.Errorf("%s(NaN) = %v, want NaN", ac.name, dst)
		}
	}
}

// TestGELUTypicalRange checks GELU where activations usually are, |x| < 6,
// where the AVX2 kernel takes its fast path on every step of three vectors
// whose inputs all lie there: a dense sweep, the path's interval boundaries and
// limit from both sides, signed zeros and subnormals; then the same inputs
// with one lane in 40 replaced by a value outside the path (7, -7, NaN,
// -Inf), which sends the step that holds it to the full-range path, and
// lengths that leave a tail.
func TestGELUTypicalRange(t *testing.T) { forEachISA(t, testGELUTypicalRange) }

func testGELUTypicalRange(t *testing.T) {
	var xs []float32
	for i := -59999; i <= 59999; i++ {
		xs = append(xs, float32(i)*1e-4)
	}
	for _, b := range []float32{0.5, 1, 1.5, 2, 3, 4, 5, 6} {
		for _, v := range []float32{b, math.Nextafter32(b, 0), math.Nextafter32(b, 10)} {
			if v < 6 {
				xs = append(xs, v, -v)
			}
		}
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, minNormal32, -minNormal32, 1e-40, -1e-40)
	for len(xs)%16 != 0 {
		xs = append(xs, 0.25)
	}
	check := func(name string, xs []float32) {
		dst, whole := guarded(len(xs), func(int) float32 { return 0 })
		GELU(dst, xs)
		checkGuards(t, "gelu", whole)
		worst := 0.0
		for i, x := range xs {
			truth := float64(x) * phiTruth(float64(x))
			got := float64(dst[i])
			if !sameFloat(got, float64(float32(truth)), 2e-6+ulp1/2, minNormal32) {
				t.Fatalf("%s: gelu(%v) = %v, want %v", name, x, got, truth)
			}
			if x == 0 && math.Signbit(float64(x)) != math.Signbit(got) {
				t.Fatalf("%s: gelu(%v) = %v, want the sign of the zero kept", name, x, got)
			}
			worst = max(worst, relErr(got, truth))
		}
		t.Logf("%s: max relative error %.3g", name, worst)
	}
	check("|x| < 6", xs)
	check("|x| < 6, 8 fewer", xs[:len(xs)-8])
	check("|x| < 6, 16 fewer", xs[:len(xs)-16])
	for _, out := range []float32{7, -7, float32(math.NaN()), float32(math.Inf(-1))} {
		// One lane in 40, so some steps of the kernel hold one and some not.
		mixed := append([]float32(nil), xs...)
		for i := 0; i+40 <= len(mixed); i += 40 {
			mixed[i+(i/40)%40] = out
		}
		check(fmt.Sprintf("with %v", out), mixed)
	}
}

func TestActivationBackward(t *testing.T) { forEachISA(t, testActivationBackward) }

func testActivationBackward(t *testing.T) {
	xs := activationInputs(1 << 17)
	r := newRand(11)
	dy := make([]float32, len(xs))
	for i := range dy {
		dy[i] = uniform(r, -2, 2)
	}
	for _, ac := range activationCases() {
		if ac.bwd == nil {
			continue
		}
		t.Run(ac.name, func(t *testing.T) {
			y := make([]float32, len(xs))
			ac.fwd(y, xs)
			dx, whole := guarded(len(xs), func(int) float32 { return 0 })
			ac.bwd(dx, dy, xs, y)
			checkGuards(t, ac.name, whole)
			worst := 0.0 // in units of the tolerance's absolute part: |err| - rel*|want| over |dy|
			worstRel := 0.0
			for i, x := range xs {
				want := float64(dy[i]) * ac.df(float64(x))
				if math.IsInf(float64(x), 0) {
					continue // the derivative's limit, not its value, is defined there
				}
				got := float64(dx[i])
				tol := (ac.bwdRel+ulp1)*math.Abs(want) + ac.bwdAbs*math.Abs(float64(dy[i])) + minNormal32
				if !(math.Abs(got-want) <= tol) {
					t.Fatalf("%s backward at x=%v y=%v dy=%v: got %v, want %v (tol %.3g)", ac.name, x, y[i], dy[i], got, want, tol)
				}
				if dy[i] != 0 {
					worst = max(worst, math.Abs(got-want)/math.Abs(float64(dy[i])))
				}
				worstRel = max(worstRel, relErr(got, want))
			}
			t.Logf("%s backward: max |dx error|/|dy| %.3g, max relative error %.3g (bounds: %.3g relative + %.3g*|dy|)",
				ac.name, worst, worstRel, ac.bwdRel+ulp1, ac.bwdAbs)
		})
	}
}

// TestActivationAliasing checks that dst may alias x and dx may alias dy,
// over lengths that exercise every vector tail.
func TestActivationAliasing(t *testing.T) { forEachISA(t, testActivationAliasing) }

func testActivationAliasing(t *testing.T) {
	r := newRand(12)
	for _, ac := range activationCases() {
		for n := 0; n <= 70; n++ {
			x := make([]float32, n)
			dy := make([]float32, n)
			for i := range x {
				x[i], dy[i] = uniform(r, -5, 5), uniform(r, -1, 1)
			}
			want := make([]float32, n)
			ac.fwd(want, x)
			got := append([]float32(nil), x...)
			ac.fwd(got, got)
			if err := sameSlices(got, want); err != nil {
				t.Fatalf("%s n=%d in place: %v", ac.name, n, err)
			}
			if ac.bwd == nil {
				continue
			}
			wantDx := make([]float32, n)
			ac.bwd(wantDx, dy, x, want)
			gotDx := append([]float32(nil), dy...)
			ac.bwd(gotDx, gotDx, x, want)
			if err := sameSlices(gotDx, wantDx); err != nil {
				t.Fatalf("%s backward n=%d in place: %v", ac.name, n, err)
			}
		}
	}
}

func sameSlices(got, want []float32) error {
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return fmt.Errorf("element %d = %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

func relErr(got, want float64) float64 {
	if math.IsInf(want, 0) || math.IsNaN(want) || math.Abs(want) < minNormal32 {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestPReLUSlopeGradient(t *testing.T) { forEachISA(t, testPReLUSlopeGradient) }

func testPReLUSlopeGradient(t *testing.T) {
	r := newRand(13)
	for _, n := range []int{0, 1, 15, 16, 17, 100, 1000, 4099} {
		x, dy := make([]float32, n), make([]float32, n)
		var want, mag float64
		for i := range x {
			x[i], dy[i] = uniform(r, -3, 3), uniform(r, -1, 1)
			if x[i] < 0 {
				want += float64(dy[i]) * float64(x[i])
				mag += math.Abs(float64(dy[i]) * float64(x[i]))
			}
		}
		dx := make([]float32, n)
		got := PReLUBackward(dx, dy, x, make([]float32, n), preluSlope)
		if tol := float64(n+1) * ulp1 * mag; math.Abs(float64(got)-want) > tol+1e-30 {
			t.Errorf("n=%d: dSlope = %v, want %v (tol %.3g)", n, got, want, tol)
		}
	}
}

func TestActivationPanicsOnLengths(t *testing.T) {
	defer func() {
		if p := recover(); p == nil {
			t.Fatal("ReLUBackward with a short y did not panic")
		}
	}()
	ReLUBackward(make([]float32, 3), make([]float32, 3), make([]float32, 3), make([]float32, 2))
}
