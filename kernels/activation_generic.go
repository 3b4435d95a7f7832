package kernels

import "math"

// The exp-based reference loops compute in float64 with package math and
// round once to float32, so they are within half an ulp of the exact value.

// reluGeneric is the reference loop:
//
//	for i, v := range x { if v < 0 { v = 0 }; dst[i] = v }
func reluGeneric(dst, x []float32) {
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		dst[i] = v
	}
}

// reluBackwardGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dx[i] = dy[i] } else { dx[i] = 0 } }
func reluBackwardGeneric(dx, dy, x []float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = 0
		}
	}
}

// leakyReLUGeneric is the reference loop:
//
//	for i, v := range x { if v < 0 { v *= slope }; dst[i] = v }
func leakyReLUGeneric(dst, x []float32, slope float32) {
	for i, v := range x {
		if v < 0 {
			v *= slope
		}
		dst[i] = v
	}
}

// leakyReLUBackwardGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dx[i] = dy[i] } else { dx[i] = slope * dy[i] } }
func leakyReLUBackwardGeneric(dx, dy, x []float32, slope float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = slope * dy[i]
		}
	}
}

// preluBackwardGeneric is leakyReLUBackwardGeneric that also returns
//
//	for i, v := range x { if v < 0 { dSlope += dy[i] * v } }
//
// accumulated in float64.
func preluBackwardGeneric(dx, dy, x []float32, slope float32) float32 {
	var s float64
	for i, v := range x {
		g := dy[i]
		if v < 0 {
			s += float64(g * v)
		}
		if v > 0 {
			dx[i] = g
		} else {
			dx[i] = slope * g
		}
	}
	return float32(s)
}

// eluGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dst[i] = v } else { dst[i] = alpha * float32(math.Expm1(float64(v))) } }
func eluGeneric(dst, x []float32, alpha float32) {
	for i, v := range x {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = float32(float64(alpha) * math.Expm1(float64(v)))
		}
	}
}

// eluBackwardGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dx[i] = dy[i] } else { dx[i] = dy[i] * (y[i] + alpha) } }
func eluBackwardGeneric(dx, dy, x, y []float32, alpha float32) {
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = dy[i] * (y[i] + alpha)
		}
	}
}

// seluGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dst[i] = λ*v } else { dst[i] = λ*α*expm1(v) } }
func seluGeneric(dst, x []float32) {
	for i, v := range x {
		if v > 0 {
			dst[i] = float32(SELULambda * float64(v))
		} else {
			dst[i] = float32(SELULambda * SELUAlpha * math.Expm1(float64(v)))
		}
	}
}

// seluBackwardGeneric is the reference loop:
//
//	for i, v := range x { if v > 0 { dx[i] = λ*dy[i] } else { dx[i] = dy[i]*(y[i]+λ*α) } }
func seluBackwardGeneric(dx, dy, x, y []float32) {
	const la = float32(SELULambda * SELUAlpha)
	for i, v := range x {
		if v > 0 {
			dx[i] = SELULambda * dy[i]
		} else {
			dx[i] = dy[i] * (y[i] + la)
		}
	}
}

func sigmoid64(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// swishGeneric is the reference loop:
//
//	for i, v := range x { dst[i] = v * sigmoid(v) }
func swishGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(float64(v) * sigmoid64(float64(v)))
	}
}

// swishBackwardGeneric is the reference loop:
//
//	for i, v := range x { s := sigmoid(v); dx[i] = dy[i] * s * (1 + v*(1-s)) }
func swishBackwardGeneric(dx, dy, x []float32) {
	for i, v := range x {
		w := float64(v)
		s := sigmoid64(w)
		dx[i] = float32(float64(dy[i]) * s * (1 + w*(1-s)))
	}
}

// phi64 is the standard normal cumulative distribution, accurate in
// relative terms in both tails.
func phi64(v float64) float64 { return 0.5 * math.Erfc(-v/math.Sqrt2) }

// geluGeneric is the reference loop:
//
//	for i, v := range x { dst[i] = v * 0.5 * erfc(-v/sqrt(2)) }
func geluGeneric(dst, x []float32) {
	for i, v := range x {
		w := float64(v)
		dst[i] = float32(w * phi64(w))
	}
}

// geluBackwardGeneric is the reference loop:
//
//	for i, v := range x { dx[i] = dy[i] * (Phi(v) + v*exp(-v*v/2)/sqrt(2*pi)) }
func geluBackwardGeneric(dx, dy, x []float32) {
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		w := float64(v)
		dx[i] = float32(float64(dy[i]) * (phi64(w) + w*invSqrt2Pi*math.Exp(-0.5*w*w)))
	}
}

// sigmoidGeneric is the reference loop:
//
//	for i, v := range x { dst[i] = 1 / (1 + exp(-v)) }
func sigmoidGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(sigmoid64(float64(v)))
	}
}

// sigmoidBackwardGeneric is the reference loop:
//
//	for i, s := range y { dx[i] = dy[i] * s * (1 - s) }
func sigmoidBackwardGeneric(dx, dy, y []float32) {
	for i, s := range y {
		dx[i] = dy[i] * s * (1 - s)
	}
}

// tanhGeneric is the reference loop:
//
//	for i, v := range x { dst[i] = tanh(v) }
func tanhGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Tanh(float64(v)))
	}
}

// tanhBackwardGeneric is the reference loop:
//
//	for i, t := range y { dx[i] = dy[i] * (1 - t*t) }
func tanhBackwardGeneric(dx, dy, y []float32) {
	for i, t := range y {
		dx[i] = dy[i] * (1 - t*t)
	}
}

// expGeneric is the reference loop:
//
//	for i, v := range x { dst[i] = exp(v) }
func expGeneric(dst, x []float32) {
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v)))
	}
}
