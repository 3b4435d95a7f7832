//go:build amd64 && !noasm

package kernels

// This file binds the kernels on amd64 to the assembly chosen from the CPU
// features (see cpu_amd64.go), falling back to the pure-Go loops on a CPU
// with neither AVX-512 nor AVX2+FMA.

func relu(dst, x []float32) {
	if useSIMD {
		reluSIMD(dst, x)
		return
	}
	reluGeneric(dst, x)
}

func reluBackward(dx, dy, x []float32) {
	if useSIMD {
		reluBackwardSIMD(dx, dy, x)
		return
	}
	reluBackwardGeneric(dx, dy, x)
}

func leakyReLU(dst, x []float32, slope float32) {
	if useSIMD {
		leakyReLUSIMD(dst, x, slope)
		return
	}
	leakyReLUGeneric(dst, x, slope)
}

func leakyReLUBackward(dx, dy, x []float32, slope float32) {
	if useSIMD {
		leakyReLUBackwardSIMD(dx, dy, x, slope)
		return
	}
	leakyReLUBackwardGeneric(dx, dy, x, slope)
}

func preluBackward(dx, dy, x []float32, slope float32) float32 {
	if useSIMD {
		return preluBackwardSIMD(dx, dy, x, slope)
	}
	return preluBackwardGeneric(dx, dy, x, slope)
}

func elu(dst, x []float32, alpha float32) {
	if useSIMD {
		eluScaledSIMD(dst, x, 1, alpha)
		return
	}
	eluGeneric(dst, x, alpha)
}

func eluBackward(dx, dy, x, y []float32, alpha float32) {
	if useSIMD {
		eluScaledBackwardSIMD(dx, dy, x, y, 1, alpha)
		return
	}
	eluBackwardGeneric(dx, dy, x, y, alpha)
}

func selu(dst, x []float32) {
	if useSIMD {
		eluScaledSIMD(dst, x, SELULambda, SELULambda*SELUAlpha)
		return
	}
	seluGeneric(dst, x)
}

func seluBackward(dx, dy, x, y []float32) {
	if useSIMD {
		eluScaledBackwardSIMD(dx, dy, x, y, SELULambda, SELULambda*SELUAlpha)
		return
	}
	seluBackwardGeneric(dx, dy, x, y)
}

func swish(dst, x []float32) {
	if useSIMD {
		swishSIMD(dst, x)
		return
	}
	swishGeneric(dst, x)
}

func swishBackward(dx, dy, x []float32) {
	if useSIMD {
		swishBackwardSIMD(dx, dy, x)
		return
	}
	swishBackwardGeneric(dx, dy, x)
}

func gelu(dst, x []float32) {
	if useSIMD {
		geluSIMD(dst, x)
		return
	}
	geluGeneric(dst, x)
}

func geluBackward(dx, dy, x []float32) {
	if useSIMD {
		geluBackwardSIMD(dx, dy, x)
		return
	}
	geluBackwardGeneric(dx, dy, x)
}

func sigmoid(dst, x []float32) {
	if useSIMD {
		sigmoidSIMD(dst, x)
		return
	}
	sigmoidGeneric(dst, x)
}

func sigmoidBackward(dx, dy, y []float32) {
	if useSIMD {
		sigmoidBackwardSIMD(dx, dy, y)
		return
	}
	sigmoidBackwardGeneric(dx, dy, y)
}

func tanh(dst, x []float32) {
	if useSIMD {
		tanhSIMD(dst, x)
		return
	}
	tanhGeneric(dst, x)
}

func tanhBackward(dx, dy, y []float32) {
	if useSIMD {
		tanhBackwardSIMD(dx, dy, y)
		return
	}
	tanhBackwardGeneric(dx, dy, y)
}

func exp(dst, x []float32) {
	if useSIMD {
		expSIMD(dst, x)
		return
	}
	expGeneric(dst, x)
}

func axpyUnitary(alpha float32, x, y []float32) {
	if useSIMD {
		axpySIMD(y[:len(x)], x, alpha)
		return
	}
	axpyGeneric(alpha, x, y)
}

func scaleUnitary(alpha float32, x []float32) {
	if useSIMD {
		scalSIMD(x, alpha)
		return
	}
	scaleGeneric(alpha, x)
}

func dotUnitary(x, y []float32) float32 {
	if useSIMD {
		return dotSIMD(x, y[:len(x)])
	}
	return dotGeneric(x, y)
}

func sumSquares(x []float32) float64 {
	if useSIMD {
		return sumSquaresSIMD(x)
	}
	return sumSquaresGeneric(x)
}

func countZeros(counts []int32, a []float32) {
	if useSIMD {
		countZerosSIMD(counts[:len(a)], a)
		return
	}
	countZerosGeneric(counts, a)
}

func softmaxCrossEntropy(grad []float32, logits []float32, labels []int32, rows, classes, ld int, scale float32) float64 {
	return softmaxCrossEntropyGeneric(grad, logits, labels, rows, classes, ld, scale)
}

// The pooling kernels need whole vectors of channels (c a multiple of 8);
// bounds are checked here, before the assembly reads or writes.
func maxPool2Row(out, r0, r1 []float32, ow, c int) {
	if !useSIMD || c%8 != 0 || ow == 0 {
		maxPool2RowGeneric(out, r0, r1, ow, c)
		return
	}
	_, _, _ = out[ow*c-1], r0[2*ow*c-1], r1[2*ow*c-1]
	maxPool2RowAVX2(&out[0], &r0[0], &r1[0], ow, c)
}

func maxPool2RowBackward(d0, d1, g, r0, r1 []float32, ow, c int) {
	if !useSIMD || c%8 != 0 || ow == 0 {
		maxPool2RowBackwardGeneric(d0, d1, g, r0, r1, ow, c)
		return
	}
	_, _, _, _, _ = d0[2*ow*c-1], d1[2*ow*c-1], g[ow*c-1], r0[2*ow*c-1], r1[2*ow*c-1]
	maxPool2RowBackwardAVX2(&d0[0], &d1[0], &g[0], &r0[0], &r1[0], ow, c)
}

func maxPool2RowArg(out []float32, arg []uint8, r0, r1 []float32, ow, c int) {
	if !useSIMD || c%8 != 0 || ow == 0 {
		maxPool2RowArgGeneric(out, arg, r0, r1, ow, c)
		return
	}
	_, _, _, _ = out[ow*c-1], arg[ow*c-1], r0[2*ow*c-1], r1[2*ow*c-1]
	maxPool2RowArgAVX2(&out[0], &arg[0], &r0[0], &r1[0], ow, c)
}

func maxPool2RowBackwardArg(d0, d1, g []float32, arg []uint8, ow, c int) {
	if !useSIMD || c%8 != 0 || ow == 0 {
		maxPool2RowBackwardArgGeneric(d0, d1, g, arg, ow, c)
		return
	}
	_, _, _, _ = d0[2*ow*c-1], d1[2*ow*c-1], g[ow*c-1], arg[ow*c-1]
	maxPool2RowBackwardArgAVX2(&d0[0], &d1[0], &g[0], &arg[0], ow, c)
}

// The 3x3 im2col kernels run the interior pixels of a row (all three
// columns of the neighbourhood inside the image) in assembly, whole
// vectors of channels (c a multiple of 8); the two edge pixels in Go.
func im2colRow3x3(dst []float32, src *[3][]float32, w, c int) {
	if !useSIMD || c%8 != 0 || w < 3 {
		im2colRow3x3Generic(dst, src, w, c)
		return
	}
	k := 9 * c
	im2colPixel(dst[:k], src, 0, w, c)
	im2colPixel(dst[(w-1)*k:w*k], src, w-1, w, c)
	var p [3]*float32
	for ky, r := range src {
		if r != nil {
			_ = r[w*c-1]
			p[ky] = &r[0]
		}
	}
	_ = dst[w*k-1]
	im2colRow3x3AVX2(&dst[k], p[0], p[1], p[2], w-2, c)
}

func col2imRow3x3(dst []float32, src *[3][]float32, w, c int) {
	if !useSIMD || c%8 != 0 || w < 3 {
		col2imRow3x3Generic(dst, src, w, c)
		return
	}
	col2imPixel(dst[:c], src, 0, w, c)
	col2imPixel(dst[(w-1)*c:w*c], src, w-1, w, c)
	// The rows present, first: the sum does not depend on the order.
	var p [3]*float32
	nv := 0
	for ky, r := range src {
		if r != nil {
			_ = r[w*9*c-1]
			p[nv] = &r[(2+3*ky)*c]
			nv++
		}
	}
	for i := nv; i < 3; i++ {
		p[i] = p[0]
	}
	_ = dst[w*c-1]
	col2imRow3x3AVX2(&dst[c], p[0], p[1], p[2], nv, w-2, c)
}
