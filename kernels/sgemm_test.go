package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sgemmNaive is the reference loop of sgemmGeneric, accumulated in float64.
// It also returns, per element of C, the magnitude sum used for the error
// bound: |alpha|*sum_l |opA(i,l)*opB(l,j)| + |beta*c|.
func sgemmNaive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) (want, mag []float64) {
	want = make([]float64, m*n)
	mag = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if alpha != 0 {
				for l := 0; l < k; l++ {
					ai, bi := i*lda+l, l*ldb+j
					if transA {
						ai = l*lda + i
					}
					if transB {
						bi = j*ldb + l
					}
					av, bv := a[ai], b[bi]
					s += float64(av) * float64(bv)
					sa += math.Abs(float64(av) * float64(bv))
				}
			}
			w := float64(alpha) * s
			mg := math.Abs(float64(alpha)) * sa
			if beta != 0 {
				cv := float64(c[i*ldc+j])
				w += float64(beta) * cv
				mg += math.Abs(float64(beta) * cv)
			}
			want[i*n+j], mag[i*n+j] = w, mg
		}
	}
	return want, mag
}

type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	padA, padB     int // extra elements per row beyond the stored width
	padC           int
}

func (tc sgemmCase) String() string {
	return fmt.Sprintf("m=%d,n=%d,k=%d,ta=%v,tb=%v,alpha=%v,beta=%v,pad=%d/%d/%d",
		tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.alpha, tc.beta, tc.padA, tc.padB, tc.padC)
}

// runSgemmCase runs one product through gemm on guarded operands and checks
// it against sgemmNaive. NaNs placed where BLAS semantics say a value is not
// read (C when beta == 0, A and B when alpha == 0) must not reach C.
func runSgemmCase(t *testing.T, r *rand.Rand, tc sgemmCase,
	gemm func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	t.Helper()
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = tc.k, tc.m
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = tc.n, tc.k
	}
	lda, ldb, ldc := max(ac+tc.padA, 1), max(bc+tc.padB, 1), max(tc.n+tc.padC, 1)
	nan := float32(math.NaN())
	fillMat := func(rows, cols, ld int, poison bool) func(int) float32 {
		return func(i int) float32 {
			if poison || i%ld >= cols {
				return nan // padding is never read
			}
			return uniform(r, -1, 1)
		}
	}
	a, _ := guarded(max((ar-1)*lda+ac, 0), fillMat(ar, ac, lda, tc.alpha == 0))
	b, _ := guarded(max((br-1)*ldb+bc, 0), fillMat(br, bc, ldb, tc.alpha == 0))
	c, wholeC := guarded(max((tc.m-1)*ldc+tc.n, 0), fillMat(tc.m, tc.n, ldc, tc.beta == 0))
	if tc.m == 0 || tc.n == 0 {
		c = c[:0]
	}
	want, mag := sgemmNaive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	pad := make([]float32, len(c))
	copy(pad, c)
	gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
	checkGuards(t, tc.String(), wholeC)
	const eps = 1.0 / (1 << 23)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc && i*ldc+j < len(c); j++ {
			got := c[i*ldc+j]
			if j >= tc.n {
				if math.Float32bits(got) != math.Float32bits(pad[i*ldc+j]) {
					t.Fatalf("%v: padding C[%d,%d] changed to %v", tc, i, j, got)
				}
				continue
			}
			w, mg := want[i*tc.n+j], mag[i*tc.n+j]
			tol := float64(tc.k+4)*eps*mg + 1e-30
			if d := math.Abs(float64(got) - w); !(d <= tol) {
				t.Fatalf("%v: C[%d,%d] = %v, want %v (|diff| %.3g > tol %.3g)", tc, i, j, got, w, d, tol)
			}
		}
	}
}

// sgemmCases returns the edge cases and a seeded sample of random shapes
// with m, n, k in 1..67, odd leading dimensions, both transposes and alpha
// and beta in {0, 1, other}.
func sgemmCases(r *rand.Rand, random int) []sgemmCase {
	var cases []sgemmCase
	scalars := []float32{0, 1, -0.75}
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, alpha := range scalars {
				for _, beta := range scalars {
					for _, d := range [][3]int{{1, 1, 1}, {0, 3, 2}, {3, 0, 2}, {3, 2, 0}, {6, 32, 1}, {7, 33, 5}, {14, 16, 9}, {67, 67, 67},
						{64, 10, 37}, {100, 14, 5}, {33, 1, 70}, {32, 15, 9}} {
						cases = append(cases, sgemmCase{ta, tb, d[0], d[1], d[2], alpha, beta, 0, 0, 0})
					}
				}
			}
		}
	}
	for range random {
		cases = append(cases, sgemmCase{
			transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
			m: 1 + r.IntN(67), n: 1 + r.IntN(67), k: 1 + r.IntN(67),
			alpha: scalars[r.IntN(3)], beta: scalars[r.IntN(3)],
			padA: r.IntN(3) * 1, padB: r.IntN(4), padC: r.IntN(3),
		})
	}
	return cases
}

func TestSgemm(t *testing.T) {
	forEachISA(t, func(t *testing.T) {
		r := newRand(1)
		for _, tc := range sgemmCases(r, 600) {
			runSgemmCase(t, r, tc, Sgemm)
		}
	})
}

func TestSgemmGenericMatchesNaive(t *testing.T) {
	r := newRand(2)
	for _, tc := range sgemmCases(r, 200) {
		runSgemmCase(t, r, tc, sgemmGeneric)
	}
}

func TestSgemmParallel(t *testing.T) {
	forEachISA(t, testSgemmParallel)
}

func testSgemmParallel(t *testing.T) {
	r := newRand(3)
	for _, threads := range []int{0, 1, 2, 3} {
		for _, d := range [][3]int{{300, 200, 150}, {20, 500, 300}, {129, 257, 64}, {5, 7, 3}} {
			for _, ta := range []bool{false, true} {
				tc := sgemmCase{transA: ta, transB: !ta, m: d[0], n: d[1], k: d[2], alpha: 1.5, beta: 0.5, padA: 1, padB: 2, padC: 3}
				runSgemmCase(t, r, tc, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
					SgemmParallel(threads, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				})
			}
		}
	}
}

func TestSgemmPanicsOnBadSizes(t *testing.T) {
	buf := make([]float32, 100)
	cases := []struct {
		name string
		call func()
	}{
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"short lda", func() { Sgemm(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"short lda transposed", func() { Sgemm(true, false, 3, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"short a", func() { Sgemm(false, false, 20, 2, 10, 1, buf, 10, buf, 2, 0, buf, 2) }},
		{"short ldc", func() { Sgemm(false, false, 2, 3, 2, 1, buf, 2, buf, 3, 0, buf, 2) }},
		{"short c", func() { Sgemm(false, false, 2, 3, 2, 1, buf, 2, buf, 3, 0, buf[:5], 3) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil {
					t.Fatal("no panic")
				}
				if s, ok := p.(string); !ok || len(s) < 9 || s[:9] != "kernels: " {
					t.Fatalf("panic %v, want a string starting with %q", p, "kernels: ")
				}
			}()
			tc.call()
		})
	}
}
