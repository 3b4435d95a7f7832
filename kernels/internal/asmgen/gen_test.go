package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestGeneratedFilesUpToDate fails when the committed assembly of package
// kernels differs from what the generator writes now: run go generate.
func TestGeneratedFilesUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sgemm_amd64.s", "elementwise_amd64.s", "asm_decl_amd64.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("kernels/%s is stale: run go generate ./kernels/", name)
		}
	}
}

// TestGeluTablesFit checks the piecewise fit of log2 Phi(-a) the AVX-512
// GELU uses, in float64 with the float32 coefficients, against math.
func TestGeluTablesFit(t *testing.T) {
	tabs := geluTables()
	worst := 0.0
	for i := 0; i <= 100000; i++ {
		a := geluTableMax * float64(i) / 100000
		k := int(math.Round(2 * a))
		u := a - float64(k)/2
		p := float64(tabs["gp4"][k])
		for _, c := range []string{"gp3", "gp2", "gp1", "gp0"} {
			p = p*u + float64(tabs[c][k])
		}
		got := float64(tabs["gc0"][k]) - geluExpMagic + p
		worst = max(worst, abs(got-log2PhiNeg(a)))
	}
	if worst > 3e-7 {
		t.Fatalf("max error of the tables %.3g, want <= 3e-7", worst)
	}
	t.Logf("max absolute error of log2 Phi(-a) from the tables: %.3g", worst)
}

// geluModel is the AVX-512 GELU of kernels.go step by step in float32
// arithmetic (FMAs rounded once), so its accuracy can be checked densely.
func geluModel(tabs map[string][geluEntries]float32, x float32) float32 {
	e1, e2 := geluExp2Coeffs()
	fma := func(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
	a := min(float32(math.Abs(float64(x))), geluTableMax)
	idx := a + geluIdxMagic
	kf := idx - geluIdxMagic
	u := a - kf
	k := math.Float32bits(idx) & 31
	p := tabs["gp4"][k]
	for _, c := range []string{"gp3", "gp2", "gp1", "gp0"} {
		p = fma(p, u, tabs[c][k])
	}
	c0 := tabs["gc0"][k]
	t2 := c0 + p
	d := t2 - c0
	r := p - d
	nf := t2 - geluExpMagic
	tj := tabs["gexp"][math.Float32bits(t2)&31]
	q := fma(float32(e2), r, float32(e1))
	res := fma(r*tj, q, tj)
	phi := float32(math.Ldexp(float64(res), int(math.Floor(float64(nf)))))
	if x > 0 {
		phi = 1 - phi
	}
	return x * phi
}

// TestGeluModel checks geluModel against x*Phi(x) in float64 over a dense
// grid of [-16, 16], where the exact value is a normal float32; the kernels'
// bound is 2e-6.
func TestGeluModel(t *testing.T) {
	tabs := geluTables()
	worst, at := 0.0, float32(0)
	for i := -1600000; i <= 1600000; i++ {
		x := float32(float64(i) / 100000)
		want := float64(x) * 0.5 * math.Erfc(-float64(x)/math.Sqrt2)
		if math.Abs(want) < 0x1p-126 {
			continue
		}
		if e := abs(float64(geluModel(tabs, x))-want) / abs(want); e > worst {
			worst, at = e, x
		}
	}
	// The largest errors are near x = -13, where q is a subnormal float32
	// (2^-20 relative spacing) and x*q is still normal.
	if worst > 1.5e-6 {
		t.Fatalf("max relative error %.3g at x=%v, want <= 1.5e-6", worst, at)
	}
	t.Logf("max relative error %.3g at x=%v", worst, at)
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestGeluQFit checks the polynomial of the AVX2 GELU, Q(t) = Phi(-a) *
// exp(a*a/2) with t = 1/(1+a/(2*sqrt2)), in float64 with the float32
// coefficients, against math over [0, gelumax].
func TestGeluQFit(t *testing.T) {
	worst := 0.0
	for i := 0; i <= 100000; i++ {
		a := float64(constValues["gelumax"]) * float64(i) / 100000
		tt := 1 / (1 + a*float64(constValues["geluc"]))
		q := 0.0
		for k := 9; k >= 0; k-- {
			q = q*tt + float64(constValues[fmt.Sprintf("gq%d", k)])
		}
		want := 0.5 * math.Erfc(a/math.Sqrt2) * math.Exp(a*a/2)
		worst = max(worst, abs(q-want)/want)
	}
	if worst > 2e-7 {
		t.Fatalf("max relative error of Q %.3g, want <= 2e-7", worst)
	}
	t.Logf("max relative error of Q: %.3g", worst)
}

// TestGeluLnTablesFit checks the AVX2 GELU's piecewise fit of ln R(a),
// R(a) = Phi(-a)*exp(a*a/2), in float64 with the float32 coefficients and
// the interval and centre the kernel computes, against math: its error is
// the relative error it adds to Phi(-a).
func TestGeluLnTablesFit(t *testing.T) {
	tabs := geluLnTables()
	worst, at := 0.0, 0.0
	for i := 0; i <= 200000; i++ {
		a := geluCap * float64(i) / 200000
		v := float32(a + 1)
		k := math.Float32bits(v) >> 22 & 7
		u := float64(v - tabs["gctr"][k])
		p := float64(tabs[geluLnName(geluLnDeg)][k])
		for j := geluLnDeg - 1; j >= 0; j-- {
			p = p*u + float64(tabs[geluLnName(j)][k])
		}
		// v rounds a: compare at the a the kernel's u stands for.
		if e := abs(p - lnMills(float64(v)-1)); e > worst {
			worst, at = e, a
		}
	}
	if worst > 8e-7 {
		t.Fatalf("max error of ln R from the tables %.3g at a=%.4g, want <= 8e-7", worst, at)
	}
	t.Logf("max absolute error of ln R from the AVX2 tables: %.3g at a=%.4g", worst, at)
}

// TestExpCoeffs checks the degree-5 exp polynomial of the AVX2 kernels
// over the reduced range.
func TestExpCoeffs(t *testing.T) {
	worst := polyRelErr(expCoeffs(), math.Exp, 0.35)
	if worst > 2e-7 {
		t.Fatalf("max relative error of the exp polynomial %.3g, want <= 2e-7", worst)
	}
	t.Logf("max relative error of the exp polynomial: %.3g", worst)
}

// TestGeluFastTables checks the AVX2 GELU fast path's tables in float64:
// each centre's 8*log2(Phi(-c)) is within 2e-6 of its integer, the entry
// round(a*k) picks is the interval fitted for a, and u*P(u) with the
// float32 coefficients gives 8*log2(Phi(-a)) - K within 1.2e-5 (1e-6 of q)
// over [0, 6.43); and the cubic of 2^(f/8) is within 6e-8 of it.
func TestGeluFastTables(t *testing.T) {
	tabs := geluFastTables()
	k := float64(float32(geluFastK))
	worst, at := 0.0, 0.0
	for i := 0; i < 200000; i++ {
		a := 7.5 / geluFastK * float64(i) / 200000
		a = float64(float32(a))
		r := int(math.RoundToEven(float64(float32(a * k))))
		if r > 7 {
			continue
		}
		c := float64(tabs["gfc"][r])
		K := float64(tabs["gfm"][r]) - 12582912
		if i%1000 == 0 {
			if d := abs(log2PhiNeg8(c) - K); d > 2e-6 {
				t.Fatalf("entry %d: 8*log2(Phi(-%v)) is %.3g from %v", r, c, d, K)
			}
		}
		b := geluFastBounds[r]
		if a < b[0]-1e-6 || a > b[1]+1e-6 {
			t.Fatalf("a=%v picks entry %d, fitted over [%v, %v)", a, r, b[0], b[1])
		}
		u := a - c
		p := float64(tabs[geluFastName(geluFastDeg)][r])
		for j := geluFastDeg - 1; j >= 0; j-- {
			p = p*u + float64(tabs[geluFastName(j)][r])
		}
		if e := abs(u*p - (log2PhiNeg8(a) - K)); e > worst {
			worst, at = e, a
		}
	}
	if worst > 1.2e-5 {
		t.Fatalf("max error of 8*log2(q) from the tables %.3g at a=%.4g, want <= 1.2e-5", worst, at)
	}
	t.Logf("max absolute error of 8*log2(q) from the fast tables: %.3g at a=%.4g", worst, at)
	worst = polyRelErr(geluFastExpCoeffs(), func(f float64) float64 { return math.Exp2(f / 8) }, 0.51)
	if worst > 6e-8 {
		t.Fatalf("2^(f/8) cubic: max relative error %.3g, want <= 6e-8", worst)
	}
}

// TestExp8 checks expScaled64's cubic of exp over |r| <= ln2/16 and its
// table of 2^(j/8)*2^64, and that c8hi + c8lo is ln2/8.
func TestExp8(t *testing.T) {
	if worst := polyRelErr(exp8Coeffs(), math.Exp, 0.0435); worst > 6e-8 {
		t.Fatalf("exp cubic: max relative error %.3g, want <= 6e-8", worst)
	}
	for j, v := range exp8Table() {
		got := math.Float32frombits(math.Float32bits(v) + uint32(j)<<20)
		if want := math.Exp2(float64(j)/8 + 64); abs(float64(got)/want-1) > 6e-8 {
			t.Errorf("entry %d: %v, want %v", j, got, want)
		}
	}
	if d := abs(float64(constValues["c8hi"]) + float64(constValues["c8lo"]) - math.Ln2/8); d > 1e-15 {
		t.Errorf("c8hi + c8lo is %.3g from ln2/8", d)
	}
}

// polyRelErr is the largest relative error against f of the polynomial with
// coefficients c (in increasing powers, each rounded to float32, evaluated
// in float64) over 2001 points of [-r, r].
func polyRelErr(c []float64, f func(float64) float64, r float64) float64 {
	worst := 0.0
	for i := -1000; i <= 1000; i++ {
		x := r * float64(i) / 1000
		p := 0.0
		for j := len(c) - 1; j >= 0; j-- {
			p = p*x + float64(float32(c[j]))
		}
		worst = max(worst, abs(p/f(x)-1))
	}
	return worst
}
