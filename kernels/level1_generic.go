package kernels

import "math"

// axpyGeneric is the reference loop:
//
//	for i, v := range x { y[i] += alpha * v }
func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// scaleGeneric is the reference loop:
//
//	for i := range x { x[i] *= alpha }
func scaleGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}

// dotGeneric is the reference loop:
//
//	for i, v := range x { s += v * y[i] }
func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// sumSquaresGeneric is the reference loop:
//
//	for _, v := range x { s += float64(v) * float64(v) }
func sumSquaresGeneric(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// countZerosGeneric is the reference loop:
//
//	for j, v := range a { if v == 0 { counts[j]++ } }
func countZerosGeneric(counts []int32, a []float32) {
	counts = counts[:len(a)]
	for j, v := range a {
		if v == 0 {
			counts[j]++
		}
	}
}

// softmaxCrossEntropyGeneric is the reference: for each row z with label t,
//
//	mx := max(z); lse := log(sum_j exp(z[j]-mx)); loss += lse - (z[t]-mx)
//	grad[j] = (exp(z[j]-mx-lse) - [j == t]) * scale
//
// with the exponentials and the loss in float64.
func softmaxCrossEntropyGeneric(grad []float32, logits []float32, labels []int32, rows, classes, ld int, scale float32) float64 {
	var loss float64
	for i := 0; i < rows; i++ {
		z := logits[i*ld : i*ld+classes]
		mx := z[0]
		nan := false
		for _, v := range z {
			if v > mx {
				mx = v
			}
			nan = nan || v != v
		}
		if nan {
			mx = float32(math.NaN())
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(float64(v) - float64(mx))
		}
		lse := math.Log(sum)
		t := int(labels[i])
		loss += lse - (float64(z[t]) - float64(mx))
		if grad == nil {
			continue
		}
		g := grad[i*ld : i*ld+classes]
		for j, v := range z {
			p := math.Exp(float64(v) - float64(mx) - lse)
			if j == t {
				p--
			}
			g[j] = float32(p * float64(scale))
		}
	}
	return loss
}
