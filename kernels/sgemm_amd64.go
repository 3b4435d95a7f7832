//go:build amd64 && !noasm

package kernels

import "sync"

// kernelFunc is the signature of the generated micro-kernels: the
// mr x nr tile c = alpha*A*B + beta*c over kc steps, A read by rows or by
// columns with stride lda, B a packed nr-wide panel.
type kernelFunc func(kc int, a *float32, lda int, b, c *float32, ldc int, alpha, beta float32, mask uint32)

// narrowKernel is the signature of the transposed-tile kernels: the 32 x nc
// tile of alpha*op(A)*B for a transposed A and a narrow row-major B,
// written transposed into d (d[j*32+r]).
type narrowKernel func(kc int, a *float32, lda int, b *float32, ldb int, d *float32, alpha float32)

// gemmImpl is one register-blocked micro-kernel family.
type gemmImpl struct {
	mr, nr int
	masked bool       // the kernel stores partial widths itself
	rows   kernelFunc // A element (i,l) at a[i*lda+l]
	cols   kernelFunc // A element (i,l) at a[l*lda+i]
	packN  func(kc int, b *float32, ldb int, dst *float32)
}

var (
	gemm8x32AVX512 = &gemmImpl{mr: 8, nr: 32, masked: true,
		rows: sgemmKernelR8x32AVX512, cols: sgemmKernelC8x32AVX512, packN: sgemmPackN32AVX512}
	gemm16x16AVX512 = &gemmImpl{mr: 16, nr: 16, masked: true,
		rows: sgemmKernelR16x16AVX512, cols: sgemmKernelC16x16AVX512, packN: sgemmPackN16AVX512}
	gemm6x16AVX2 = &gemmImpl{mr: 6, nr: 16,
		rows: sgemmKernelR6x16AVX2, cols: sgemmKernelC6x16AVX2, packN: sgemmPackN16AVX2}
)

// Cache blocking: a kc x nr panel of B is reused from L1 across the row
// tiles of an mc x kc block of A, which stays in L2; B is packed kc x nc.
var (
	blockK = 256
	blockM = 256
	blockN = 1024
)

// gemmWork holds the packing buffers of one Sgemm call, pooled so a
// steady stream of products allocates nothing.
type gemmWork struct {
	b []float32 // packed B: ceil(nc/nr) panels of kc x nr
	a []float32 // an edge tile of A, packed by columns
	c []float32 // an edge tile of C
	d [32 * narrowMaxCols]float32
}

// narrowMaxCols is the widest C the transposed-tile kernels serve.
const narrowMaxCols = 14

var gemmWorkPool = sync.Pool{New: func() any { return new(gemmWork) }}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if !useSIMD {
		sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	w := gemmWorkPool.Get().(*gemmWork)
	defer gemmWorkPool.Put(w)
	if useAVX512 && !transB && n <= narrowMaxCols && m >= 32 {
		// A product with few columns, such as a last layer's output X*W
		// or weight gradient H^T*dZ: vectors run along the rows of C so
		// every lane is used.
		m32 := m &^ 31
		sgemmNarrow(w, transA, m32, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		if m32 == m {
			return
		}
		m, c = m-m32, c[m32*ldc:]
		if transA {
			a = a[m32:]
		} else {
			a = a[m32*lda:]
		}
	}
	g := gemm6x16AVX2
	if useAVX512 {
		g = gemm8x32AVX512
		if n <= 16 {
			g = gemm16x16AVX512
		}
	}
	g.run(w, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmNarrow computes C = alpha*op(A)*B + beta*C for m a multiple of 32
// and 1 <= n <= narrowMaxCols with the transposed-tile kernels, merging
// each transposed tile into C. A row-major A is transposed 32 rows at a
// time into w.a first.
func sgemmNarrow(w *gemmWork, transA bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	kern := sgemmNarrowKernelsAVX512[n]
	d := w.d[:32*n]
	if !transA {
		w.a = grow(w.a, 32*k)
	}
	for i0 := 0; i0 < m; i0 += 32 {
		if transA {
			kern(k, &a[i0], lda, &b[0], ldb, &d[0], alpha)
		} else {
			packTransposed(w.a, a[i0*lda:], lda, 32, k)
			kern(k, &w.a[0], 32, &b[0], ldb, &d[0], alpha)
		}
		for r := 0; r < 32; r++ {
			ci := c[(i0+r)*ldc : (i0+r)*ldc+n]
			if beta == 0 {
				for j := range ci {
					ci[j] = d[j*32+r]
				}
				continue
			}
			for j := range ci {
				ci[j] = d[j*32+r] + beta*ci[j]
			}
		}
	}
}

func (g *gemmImpl) run(w *gemmWork, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	mr, nr := g.mr, g.nr
	bm := max(blockM/mr, 1) * mr // whole row tiles per block of A
	kcMax := min(blockK, k)
	ncMax := min(blockN, (n+nr-1)/nr*nr)
	w.b = grow(w.b, kcMax*ncMax)
	w.a = grow(w.a, kcMax*mr)
	w.c = grow(w.c, mr*nr)
	for jc := 0; jc < n; jc += blockN {
		nc := min(blockN, n-jc)
		for pc := 0; pc < k; pc += blockK {
			kc := min(blockK, k-pc)
			for jp := 0; jp*nr < nc; jp++ {
				j0 := jc + jp*nr
				g.packB(transB, b, ldb, pc, j0, kc, min(nr, n-j0), w.b[jp*kc*nr:(jp+1)*kc*nr])
			}
			bk := beta
			if pc > 0 {
				bk = 1
			}
			for ic := 0; ic < m; ic += bm {
				mc := min(bm, m-ic)
				for jp := 0; jp*nr < nc; jp++ {
					j0 := jc + jp*nr
					wd := min(nr, n-j0)
					panel := &w.b[jp*kc*nr]
					for ir := 0; ir < mc; ir += mr {
						i0 := ic + ir
						h := min(mr, mc-ir)
						if h == mr && (wd == nr || g.masked) {
							if transA {
								g.cols(kc, &a[pc*lda+i0], lda, panel, &c[i0*ldc+j0], ldc, alpha, bk, colMask(wd))
							} else {
								g.rows(kc, &a[i0*lda+pc], lda, panel, &c[i0*ldc+j0], ldc, alpha, bk, colMask(wd))
							}
							continue
						}
						g.edge(w, transA, i0, h, pc, kc, wd, alpha, a, lda, panel, bk, c[i0*ldc+j0:], ldc)
					}
				}
			}
		}
	}
}

// colMask returns the mask of the first w columns of a tile.
func colMask(w int) uint32 { return uint32(1<<w - 1) }

// edge computes a tile with fewer than mr rows or (for unmasked kernels)
// fewer than nr columns through the work buffers: A packed with zero rows,
// the tile computed into w.c, then merged into C.
func (g *gemmImpl) edge(w *gemmWork, transA bool, i0, h, pc, kc, wd int, alpha float32, a []float32, lda int,
	panel *float32, beta float32, c []float32, ldc int) {
	mr, nr := g.mr, g.nr
	if h == mr {
		if transA {
			g.cols(kc, &a[pc*lda+i0], lda, panel, &w.c[0], nr, alpha, 0, colMask(nr))
		} else {
			g.rows(kc, &a[i0*lda+pc], lda, panel, &w.c[0], nr, alpha, 0, colMask(nr))
		}
	} else {
		// A's h rows padded with zero rows to mr, copied in A's own layout
		// (whole runs, not element by element: a product with fewer rows
		// than a tile, such as a 9 x 16 convolution weight gradient over
		// thousands of pixels, is nothing but edge tiles).
		ap := w.a[:kc*mr]
		if transA {
			for l := 0; l < kc; l++ {
				row := ap[l*mr : l*mr+mr]
				copy(row, a[(pc+l)*lda+i0:(pc+l)*lda+i0+h])
				clear(row[h:])
			}
			g.cols(kc, &ap[0], mr, panel, &w.c[0], nr, alpha, 0, colMask(nr))
		} else {
			for i := 0; i < mr; i++ {
				row := ap[i*kc : (i+1)*kc]
				if i < h {
					copy(row, a[(i0+i)*lda+pc:(i0+i)*lda+pc+kc])
				} else {
					clear(row)
				}
			}
			g.rows(kc, &ap[0], kc, panel, &w.c[0], nr, alpha, 0, colMask(nr))
		}
	}
	for i := 0; i < h; i++ {
		ci := c[i*ldc : i*ldc+wd]
		ti := w.c[i*nr : i*nr+wd]
		if beta == 0 {
			copy(ci, ti)
			continue
		}
		for j, v := range ti {
			ci[j] = v + beta*ci[j]
		}
	}
}

// packTransposed sets dst[l*rows+r] = src[r*ld+l] for r < rows (a
// multiple of 8) and l < k.
func packTransposed(dst, src []float32, ld, rows, k int) {
	k8 := k &^ 7
	if k8 > 0 {
		sgemmPackTAVX(k8, &src[0], ld, &dst[0], rows)
	}
	for l := k8; l < k; l++ {
		row := dst[l*rows : l*rows+rows]
		for r := range row {
			row[r] = src[r*ld+l]
		}
	}
}

// packB packs op(B)[pc:pc+kc, j0:j0+wd] into dst as kc rows of nr floats,
// zero-filling columns past wd.
func (g *gemmImpl) packB(transB bool, b []float32, ldb, pc, j0, kc, wd int, dst []float32) {
	nr := g.nr
	if !transB {
		if wd == nr {
			g.packN(kc, &b[pc*ldb+j0], ldb, &dst[0])
			return
		}
		for l := 0; l < kc; l++ {
			row := dst[l*nr : l*nr+nr]
			copy(row, b[(pc+l)*ldb+j0:(pc+l)*ldb+j0+wd])
			clear(row[wd:])
		}
		return
	}
	if wd == nr {
		packTransposed(dst, b[j0*ldb+pc:], ldb, nr, kc)
		return
	}
	for l := 0; l < kc; l++ {
		row := dst[l*nr : l*nr+nr]
		for j := range row {
			if j < wd {
				row[j] = b[(j0+j)*ldb+pc+l]
			} else {
				row[j] = 0
			}
		}
	}
}
