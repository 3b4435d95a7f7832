package kernels

// sgemmGeneric is the pure-Go Sgemm. Its result equals, up to the order of
// float32 rounding, the reference loop
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for l := 0; l < k; l++ {
//				s += opA(i, l) * opB(l, j) // opA(i,l) = a[i*lda+l], or a[l*lda+i] if transA
//			}
//			if beta == 0 {
//				c[i*ldc+j] = alpha * s
//			} else {
//				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//			}
//		}
//	}
//
// except that alpha == 0 (or k == 0) only scales C by beta. The loops are
// ordered so that the innermost one walks memory contiguously.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	scaleC(m, n, beta, c, ldc)
	if alpha == 0 || k == 0 {
		return
	}
	switch {
	case !transA && !transB:
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			for l, av := range a[i*lda : i*lda+k] {
				axpyGeneric(alpha*av, b[l*ldb:l*ldb+n], ci)
			}
		}
	case transA && !transB:
		for l := 0; l < k; l++ {
			bl := b[l*ldb : l*ldb+n]
			for i, av := range a[l*lda : l*lda+m] {
				axpyGeneric(alpha*av, bl, c[i*ldc:i*ldc+n])
			}
		}
	case !transA && transB:
		for i := 0; i < m; i++ {
			ai := a[i*lda : i*lda+k]
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				ci[j] += alpha * dotGeneric(ai, b[j*ldb:j*ldb+k])
			}
		}
	default: // transA && transB: C[i,j] += alpha * sum_l A[l,i]*B[j,l]
		for i := 0; i < m; i++ {
			ci := c[i*ldc : i*ldc+n]
			for j := range ci {
				bj := b[j*ldb : j*ldb+k]
				var s float32
				for l, bv := range bj {
					s += a[l*lda+i] * bv
				}
				ci[j] += alpha * s
			}
		}
	}
}

// scaleC sets C = beta*C, writing zeros without reading C when beta == 0.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
			continue
		}
		for j := range ci {
			ci[j] *= beta
		}
	}
}
