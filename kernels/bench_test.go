package kernels

import (
	"fmt"
	"testing"
	"time"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// benchShapes are exactly the shapes of the OpenBLAS reference program
// (../shared/bench/sgemm_openblas.c), so scripts/bench-kernels.sh can pair
// each BenchmarkSgemm with its line: squares, then the forward and backward
// products of a 784-256-128-10 MLP at batch 128.
var benchShapes = []struct{ m, n, k, ta, tb int }{
	{64, 64, 64, 0, 0}, {128, 128, 128, 0, 0}, {256, 256, 256, 0, 0}, {512, 512, 512, 0, 0}, {1024, 1024, 1024, 0, 0},
	{128, 256, 784, 0, 0}, {128, 128, 256, 0, 0}, {128, 10, 128, 0, 0},
	{784, 256, 128, 1, 0}, {256, 128, 128, 1, 0}, {128, 10, 128, 1, 0}, {128, 256, 128, 0, 1}, {128, 128, 10, 0, 1},
}

type gemmFunc func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

func benchGemm(b *testing.B, gemm gemmFunc) {
	for _, s := range benchShapes {
		name := fmt.Sprintf("m=%d,n=%d,k=%d,ta=%d,tb=%d", s.m, s.n, s.k, s.ta, s.tb)
		b.Run(name, func(b *testing.B) {
			r := newRand(30)
			a := make([]float32, s.m*s.k)
			bb := make([]float32, s.k*s.n)
			c := make([]float32, s.m*s.n)
			for i := range a {
				a[i] = uniform(r, -0.5, 0.5)
			}
			for i := range bb {
				bb[i] = uniform(r, -0.5, 0.5)
			}
			lda, ldb := s.k, s.n
			if s.ta == 1 {
				lda = s.m
			}
			if s.tb == 1 {
				ldb = s.k
			}
			ta, tb := s.ta == 1, s.tb == 1
			flop := 2 * float64(s.m) * float64(s.n) * float64(s.k)
			gemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n) // warm the pools
			b.ReportAllocs()
			b.ResetTimer()
			// Windows of about 2e8 flop, as in the reference program.
			rate := bestRate(b, flop, int(2e8/flop)+1, func() {
				gemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			})
			b.ReportMetric(rate/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkSgemm measures Sgemm, single-threaded, on the reference shapes.
func BenchmarkSgemm(b *testing.B) { benchGemm(b, Sgemm) }

// BenchmarkSgemmGonum measures gonum's blas32 Sgemm on the same shapes.
// gonum may split large products over goroutines; run with -cpu 1 to
// compare single-threaded.
func BenchmarkSgemmGonum(b *testing.B) {
	impl := blas32.Implementation()
	op := func(t bool) blas.Transpose {
		if t {
			return blas.Trans
		}
		return blas.NoTrans
	}
	benchGemm(b, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
		impl.Sgemm(op(ta), op(tb), m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
	})
}

// BenchmarkSgemmParallel measures SgemmParallel with two goroutines.
func BenchmarkSgemmParallel(b *testing.B) {
	benchGemm(b, func(ta, tb bool, m, n, k int, alpha float32, a []float32, lda int, bb []float32, ldb int, beta float32, c []float32, ldc int) {
		SgemmParallel(2, ta, tb, m, n, k, alpha, a, lda, bb, ldb, beta, c, ldc)
	})
}

// bestRate runs f b.N times in windows of window calls and returns the
// best rate of work per second over the windows. The OpenBLAS reference
// keeps the best of its repetitions too; on a shared machine the best
// window is the one least disturbed by other processes.
func bestRate(b *testing.B, work float64, window int, f func()) float64 {
	best := 0.0
	for i := 0; i < b.N; {
		start := time.Now()
		n := 0
		for ; n < window && i < b.N; n, i = n+1, i+1 {
			f()
		}
		if d := time.Since(start).Seconds(); d > 0 {
			best = max(best, work*float64(n)/d)
		}
	}
	return best
}

const benchElems = 1 << 20

// benchInputs returns activation inputs in [-6, 6] with a gradient.
func benchInputs() (x, dy []float32) {
	r := newRand(31)
	x, dy = make([]float32, benchElems), make([]float32, benchElems)
	for i := range x {
		x[i], dy[i] = uniform(r, -6, 6), uniform(r, -1, 1)
	}
	return x, dy
}

// benchPerElem runs f, one pass over benchElems elements, and reports the
// best pass in ns per element.
func benchPerElem(b *testing.B, f func()) {
	b.ReportAllocs()
	rate := bestRate(b, benchElems, 1, f)
	b.ReportMetric(1e9/rate, "ns/elem")
}

// BenchmarkActivation measures each activation's forward and backward pass
// over 1<<20 float32 in ns per element (best pass); compare with
// BenchmarkCopy.
func BenchmarkActivation(b *testing.B) {
	x, dy := benchInputs()
	y := make([]float32, benchElems)
	dx := make([]float32, benchElems)
	for _, ac := range activationCases() {
		ac.fwd(y, x)
		b.Run(ac.name+"/forward", func(b *testing.B) {
			benchPerElem(b, func() { ac.fwd(y, x) })
		})
		if ac.bwd == nil {
			continue
		}
		b.Run(ac.name+"/backward", func(b *testing.B) {
			benchPerElem(b, func() { ac.bwd(dx, dy, x, y) })
		})
	}
}

// BenchmarkGELUWide is GELU's forward pass on inputs uniform over
// [-12, 12]: on AVX2 most pairs of vectors then hold an |x| >= 6.43 and take
// the full-range path instead of the fast one (compare with
// BenchmarkActivation/gelu/forward, inputs over [-6, 6]).
func BenchmarkGELUWide(b *testing.B) {
	x, _ := benchInputs()
	for i := range x {
		x[i] *= 2
	}
	y := make([]float32, benchElems)
	benchPerElem(b, func() { GELU(y, x) })
}

// BenchmarkCopy is the memory-bound floor for the activations: copy of the
// same 1<<20 float32, in ns per element.
func BenchmarkCopy(b *testing.B) {
	x, _ := benchInputs()
	y := make([]float32, benchElems)
	benchPerElem(b, func() { copy(y, x) })
}
