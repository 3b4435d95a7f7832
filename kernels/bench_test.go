package kernels

import (
	"fmt"
	"testing"

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
			gemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n) // warm the pools
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				gemm(ta, tb, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
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

func reportPerElem(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchElems, "ns/elem")
}

// BenchmarkActivation measures each activation's forward and backward pass
// over 1<<20 float32 in ns per element; compare with BenchmarkCopy.
func BenchmarkActivation(b *testing.B) {
	x, dy := benchInputs()
	y := make([]float32, benchElems)
	dx := make([]float32, benchElems)
	for _, ac := range activationCases() {
		ac.fwd(y, x)
		b.Run(ac.name+"/forward", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				ac.fwd(y, x)
			}
			reportPerElem(b)
		})
		if ac.bwd == nil {
			continue
		}
		b.Run(ac.name+"/backward", func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				ac.bwd(dx, dy, x, y)
			}
			reportPerElem(b)
		})
	}
}

// BenchmarkCopy is the memory-bound floor for the activations: copy of the
// same 1<<20 float32, in ns per element.
func BenchmarkCopy(b *testing.B) {
	x, _ := benchInputs()
	y := make([]float32, benchElems)
	for range b.N {
		copy(y, x)
	}
	reportPerElem(b)
}
