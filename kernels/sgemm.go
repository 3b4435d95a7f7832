package kernels

import "sync"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices, where
// op(X) is X, or X^T when the matching trans flag is set; op(A) is m x k,
// op(B) is k x n and C is m x n. lda, ldb and ldc are the row strides of the
// matrices as stored (A is k x m when transA). As in BLAS, beta == 0 overwrites
// C without reading it and alpha == 0 does not read A or B. It runs on the
// calling goroutine; sgemmGeneric's doc comment is the reference loop.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm("Sgemm", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmParallel is Sgemm split over up to threads goroutines when the product
// is large enough to pay for them; threads <= 1 is exactly Sgemm. Each
// goroutine computes a disjoint block of C, so the result does not depend on
// threads.
func SgemmParallel(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm("SgemmParallel", transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if threads <= 1 {
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmParallel(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkSgemm(fn string, transA, transB bool, m, n, k int, a []float32, lda int,
	b []float32, ldb int, c []float32, ldc int) {
	checkDims(fn, "m, n, k", m, n, k)
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix(fn, "a", a, ar, ac, lda)
	checkMatrix(fn, "b", b, br, bc, ldb)
	checkMatrix(fn, "c", c, m, n, ldc)
}

// parallelMinFlops is the smallest product, in multiply-adds, that
// SgemmParallel splits: below it goroutine start-up costs more than it saves.
const parallelMinFlops = 1 << 21

// sgemmParallel splits C into blocks of whole rows (or, when C is short and
// wide, of whole columns) and runs sgemm on each block in its own goroutine.
func sgemmParallel(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	const grain = 32 // rows or columns per block at least, a multiple of every micro-tile
	work := m * n * max(k, 1)
	parts := min(threads, work/parallelMinFlops+1)
	byRows := m >= n
	dim := n
	if byRows {
		dim = m
	}
	parts = min(parts, (dim+grain-1)/grain)
	if parts <= 1 {
		sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	step := (dim + parts - 1) / parts
	step = (step + grain - 1) / grain * grain
	var wg sync.WaitGroup
	for lo := 0; lo < dim; lo += step {
		hi := min(lo+step, dim)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			if byRows {
				var as []float32
				if transA {
					as = a[lo:]
				} else {
					as = a[lo*lda:]
				}
				sgemm(transA, transB, hi-lo, n, k, alpha, as, lda, b, ldb, beta, c[lo*ldc:], ldc)
				return
			}
			var bs []float32
			if transB {
				bs = b[lo*ldb:]
			} else {
				bs = b[lo:]
			}
			sgemm(transA, transB, m, hi-lo, k, alpha, a, lda, bs, ldb, beta, c[lo:], ldc)
		}(lo, hi)
	}
	wg.Wait()
}
