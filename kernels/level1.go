package kernels

import "fmt"

// AddBias adds bias[j] to every row of the rows x cols matrix c:
// c[i*ldc+j] += bias[j]. len(bias) must be cols.
func AddBias(c []float32, rows, cols, ldc int, bias []float32) {
	checkDims("AddBias", "rows, cols", rows, cols)
	checkMatrix("AddBias", "c", c, rows, cols, ldc)
	if len(bias) != cols {
		panicf("AddBias: len(bias) = %d, must equal cols = %d", len(bias), cols)
	}
	if cols == 0 {
		return
	}
	if g := narrowRows(rows, cols, ldc); g > 1 {
		// Contiguous narrow rows (a convolution's channels): g rows at a
		// time against the bias repeated g times, one vector pass each.
		var tile [narrowTile]float32
		for r := range g {
			copy(tile[r*cols:], bias)
		}
		t := tile[:g*cols]
		i := 0
		for ; i+g <= rows; i += g {
			axpyUnitary(1, t, c[i*cols:(i+g)*cols])
		}
		if i < rows {
			axpyUnitary(1, t[:(rows-i)*cols], c[i*cols:rows*cols])
		}
		return
	}
	for i := 0; i < rows; i++ {
		axpyUnitary(1, bias, c[i*ldc:i*ldc+cols])
	}
}

// narrowTile is the stack tile of AddBias and ColSums over narrow rows.
const narrowTile = 512

// narrowRows is how many rows AddBias and ColSums take at once: more than
// one only when the rows are contiguous (ld == cols) and narrow enough for
// a call per row to cost more than its arithmetic.
func narrowRows(rows, cols, ld int) int {
	if ld != cols || cols > 64 || rows < 2 {
		return 1
	}
	return min(rows, narrowTile/cols)
}

// ColSums overwrites dst with the column sums of the rows x cols matrix a:
// dst[j] = sum over i of a[i*lda+j]. len(dst) must be cols. Sums accumulate
// in float32 row by row, except that contiguous narrow rows (lda == cols <=
// 64) are summed in interleaved partial sums (row i into sum i mod g), added
// together at the end: the same order for the same rows and cols.
func ColSums(dst []float32, a []float32, rows, cols, lda int) {
	checkDims("ColSums", "rows, cols", rows, cols)
	checkMatrix("ColSums", "a", a, rows, cols, lda)
	if len(dst) != cols {
		panicf("ColSums: len(dst) = %d, must equal cols = %d", len(dst), cols)
	}
	clear(dst)
	if cols == 0 {
		return
	}
	if g := narrowRows(rows, cols, lda); g > 1 {
		var tile [narrowTile]float32
		t := tile[:g*cols]
		i := 0
		for ; i+g <= rows; i += g {
			axpyUnitary(1, a[i*cols:(i+g)*cols], t)
		}
		if i < rows {
			axpyUnitary(1, a[i*cols:rows*cols], t[:(rows-i)*cols])
		}
		for r := range g {
			axpyUnitary(1, t[r*cols:(r+1)*cols], dst)
		}
		return
	}
	for i := 0; i < rows; i++ {
		axpyUnitary(1, a[i*lda:i*lda+cols], dst)
	}
}

// CountZeroCols adds to counts[j] the number of rows i with a[i*lda+j] == 0
// (so -0 counts and NaN does not). len(counts) must be cols.
func CountZeroCols(counts []int32, a []float32, rows, cols, lda int) {
	checkDims("CountZeroCols", "rows, cols", rows, cols)
	checkMatrix("CountZeroCols", "a", a, rows, cols, lda)
	if len(counts) != cols {
		panicf("CountZeroCols: len(counts) = %d, must equal cols = %d", len(counts), cols)
	}
	if cols == 0 {
		return
	}
	for i := 0; i < rows; i++ {
		countZeros(counts, a[i*lda:i*lda+cols])
	}
}

// SoftmaxCrossEntropy computes, for each of the rows rows of logits (classes
// wide, row stride ld), p = softmax(row) with the row maximum subtracted, and
// returns the sum over rows of -log p[labels[i]] in float64. Unless grad is
// nil it also writes grad[i*ld+j] = (p[j] - onehot(labels[i])[j]) * scale,
// with the same shape and stride as logits; grad may alias logits. NaN or
// +Inf in a row makes the returned loss NaN. Each label must be in
// [0, classes).
func SoftmaxCrossEntropy(grad []float32, logits []float32, labels []int32, rows, classes, ld int, scale float32) float64 {
	const fn = "SoftmaxCrossEntropy"
	checkDims(fn, "rows, classes", rows, classes)
	if rows > 0 && classes == 0 {
		panicf("%s: classes = 0, must be >= 1 when rows = %d", fn, rows)
	}
	checkMatrix(fn, "logits", logits, rows, classes, ld)
	if grad != nil {
		checkMatrix(fn, "grad", grad, rows, classes, ld)
	}
	if len(labels) != rows {
		panicf("%s: len(labels) = %d, must equal rows = %d", fn, len(labels), rows)
	}
	for i, l := range labels {
		if l < 0 || int(l) >= classes {
			panic(fmt.Sprintf("kernels: %s: labels[%d] = %d, must be in [0, %d)", fn, i, l, classes))
		}
	}
	return softmaxCrossEntropy(grad, logits, labels, rows, classes, ld, scale)
}

// Axpy sets y[i] += alpha*x[i]. len(x) must equal len(y).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panicf("Axpy: len(x) = %d, must equal len(y) = %d", len(x), len(y))
	}
	axpyUnitary(alpha, x, y)
}

// Scale sets x[i] *= alpha.
func Scale(alpha float32, x []float32) { scaleUnitary(alpha, x) }

// Dot returns the sum of x[i]*y[i], accumulated in float32 (in several
// partial sums on the assembly paths). len(x) must equal len(y).
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panicf("Dot: len(x) = %d, must equal len(y) = %d", len(x), len(y))
	}
	return dotUnitary(x, y)
}

// SumSquares returns the sum of x[i]*x[i] accumulated in float64, for
// gradient norms that must not overflow or lose small terms.
func SumSquares(x []float32) float64 { return sumSquares(x) }
