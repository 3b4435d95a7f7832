//go:build !amd64 || noasm

package kernels

// This file binds the kernels to their pure-Go reference loops, for the
// noasm build tag and for architectures without assembly kernels.

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func relu(dst, x []float32)                     { reluGeneric(dst, x) }
func reluBackward(dx, dy, x []float32)          { reluBackwardGeneric(dx, dy, x) }
func leakyReLU(dst, x []float32, slope float32) { leakyReLUGeneric(dst, x, slope) }
func leakyReLUBackward(dx, dy, x []float32, slope float32) {
	leakyReLUBackwardGeneric(dx, dy, x, slope)
}
func preluBackward(dx, dy, x []float32, slope float32) float32 {
	return preluBackwardGeneric(dx, dy, x, slope)
}
func elu(dst, x []float32, alpha float32)               { eluGeneric(dst, x, alpha) }
func eluBackward(dx, dy, x, y []float32, alpha float32) { eluBackwardGeneric(dx, dy, x, y, alpha) }
func selu(dst, x []float32)                             { seluGeneric(dst, x) }
func seluBackward(dx, dy, x, y []float32)               { seluBackwardGeneric(dx, dy, x, y) }
func swish(dst, x []float32)                            { swishGeneric(dst, x) }
func swishBackward(dx, dy, x []float32)                 { swishBackwardGeneric(dx, dy, x) }
func gelu(dst, x []float32)                             { geluGeneric(dst, x) }
func geluBackward(dx, dy, x []float32)                  { geluBackwardGeneric(dx, dy, x) }
func sigmoid(dst, x []float32)                          { sigmoidGeneric(dst, x) }
func sigmoidBackward(dx, dy, y []float32)               { sigmoidBackwardGeneric(dx, dy, y) }
func tanh(dst, x []float32)                             { tanhGeneric(dst, x) }
func tanhBackward(dx, dy, y []float32)                  { tanhBackwardGeneric(dx, dy, y) }
func exp(dst, x []float32)                              { expGeneric(dst, x) }
func axpyUnitary(alpha float32, x, y []float32)         { axpyGeneric(alpha, x, y) }
func scaleUnitary(alpha float32, x []float32)           { scaleGeneric(alpha, x) }
func dotUnitary(x, y []float32) float32                 { return dotGeneric(x, y) }
func sumSquares(x []float32) float64                    { return sumSquaresGeneric(x) }
func countZeros(counts []int32, a []float32)            { countZerosGeneric(counts, a) }
func softmaxCrossEntropy(grad []float32, logits []float32, labels []int32, rows, classes, ld int, scale float32) float64 {
	return softmaxCrossEntropyGeneric(grad, logits, labels, rows, classes, ld, scale)
}

func maxPool2Row(out, r0, r1 []float32, ow, c int) { maxPool2RowGeneric(out, r0, r1, ow, c) }
func maxPool2RowBackward(d0, d1, g, r0, r1 []float32, ow, c int) {
	maxPool2RowBackwardGeneric(d0, d1, g, r0, r1, ow, c)
}
func maxPool2RowArg(out []float32, arg []uint8, r0, r1 []float32, ow, c int) {
	maxPool2RowArgGeneric(out, arg, r0, r1, ow, c)
}
func maxPool2RowBackwardArg(d0, d1, g []float32, arg []uint8, ow, c int) {
	maxPool2RowBackwardArgGeneric(d0, d1, g, arg, ow, c)
}
func im2colRow3x3(dst []float32, src *[3][]float32, w, c int) { im2colRow3x3Generic(dst, src, w, c) }
func col2imRow3x3(dst []float32, src *[3][]float32, w, c int) { col2imRow3x3Generic(dst, src, w, c) }
