package kernels

// SELU's constants (Klambauer et al., 2017), as float32.
const (
	SELUAlpha  = 1.6732632423543772848170429916717
	SELULambda = 1.0507009873554804934193349852946
)

var (
	fwdNames = []string{"x", "dst"}
	bwdNames = []string{"dy", "dx", "x", "y"}
)

func checkFwd(fn string, dst, x []float32) { checkSameLen(fn, len(x), fwdNames, x, dst) }

func checkBwd(fn string, dx, dy, x, y []float32) {
	checkSameLen(fn, len(dy), bwdNames, dy, dx, x, y)
}

// ReLU sets dst[i] = max(x[i], 0); NaN passes through. dst may alias x.
func ReLU(dst, x []float32) { checkFwd("ReLU", dst, x); relu(dst, x) }

// ReLUBackward sets dx[i] = dy[i] where x[i] > 0, else 0. dx may alias dy;
// y is not read but must have the length of the others.
func ReLUBackward(dx, dy, x, y []float32) {
	checkBwd("ReLUBackward", dx, dy, x, y)
	reluBackward(dx, dy, x)
}

// LeakyReLU sets dst[i] = slope*x[i] where x[i] < 0, else x[i]. dst may alias x.
func LeakyReLU(dst, x []float32, slope float32) {
	checkFwd("LeakyReLU", dst, x)
	leakyReLU(dst, x, slope)
}

// LeakyReLUBackward sets dx[i] = dy[i] where x[i] > 0, else slope*dy[i].
// dx may alias dy; y is not read.
func LeakyReLUBackward(dx, dy, x, y []float32, slope float32) {
	checkBwd("LeakyReLUBackward", dx, dy, x, y)
	leakyReLUBackward(dx, dy, x, slope)
}

// PReLU is the forward pass of a parametric ReLU with the learnable slope:
// the same function as LeakyReLU.
func PReLU(dst, x []float32, slope float32) {
	checkFwd("PReLU", dst, x)
	leakyReLU(dst, x, slope)
}

// PReLUBackward sets dx as LeakyReLUBackward does and returns the gradient
// of the slope, the sum over i with x[i] < 0 of dy[i]*x[i]. dx may alias dy.
func PReLUBackward(dx, dy, x, y []float32, slope float32) (dSlope float32) {
	checkBwd("PReLUBackward", dx, dy, x, y)
	return preluBackward(dx, dy, x, slope)
}

// ELU sets dst[i] = x[i] where x[i] > 0, else alpha*(exp(x[i])-1). dst may alias x.
func ELU(dst, x []float32, alpha float32) {
	checkFwd("ELU", dst, x)
	elu(dst, x, alpha)
}

// ELUBackward sets dx[i] = dy[i] where x[i] > 0, else dy[i]*(y[i]+alpha),
// which is dy*alpha*exp(x) computed from the forward output. dx may alias dy.
func ELUBackward(dx, dy, x, y []float32, alpha float32) {
	checkBwd("ELUBackward", dx, dy, x, y)
	eluBackward(dx, dy, x, y, alpha)
}

// SELU sets dst[i] = SELULambda*ELU(x[i], SELUAlpha). dst may alias x.
func SELU(dst, x []float32) {
	checkFwd("SELU", dst, x)
	selu(dst, x)
}

// SELUBackward sets dx[i] = SELULambda*dy[i] where x[i] > 0, else
// dy[i]*(y[i]+SELULambda*SELUAlpha). dx may alias dy.
func SELUBackward(dx, dy, x, y []float32) {
	checkBwd("SELUBackward", dx, dy, x, y)
	seluBackward(dx, dy, x, y)
}

// Swish sets dst[i] = x[i]*sigmoid(x[i]) (also called SiLU). dst may alias x.
func Swish(dst, x []float32) {
	checkFwd("Swish", dst, x)
	swish(dst, x)
}

// SwishBackward sets dx[i] = dy[i]*s*(1+x[i]*(1-s)) with s = sigmoid(x[i])
// recomputed from x. dx may alias dy; y is not read.
func SwishBackward(dx, dy, x, y []float32) {
	checkBwd("SwishBackward", dx, dy, x, y)
	swishBackward(dx, dy, x)
}

// GELU sets dst[i] = x[i]*Phi(x[i]) = 0.5*x*(1+erf(x/sqrt(2))), the exact
// (erf) form, not the tanh approximation. dst may alias x.
func GELU(dst, x []float32) {
	checkFwd("GELU", dst, x)
	gelu(dst, x)
}

// GELUBackward sets dx[i] = dy[i]*(Phi(x)+x*phi(x)), with Phi and phi the
// standard normal distribution and density at x[i]. dx may alias dy; y is
// not read.
func GELUBackward(dx, dy, x, y []float32) {
	checkBwd("GELUBackward", dx, dy, x, y)
	geluBackward(dx, dy, x)
}

// Sigmoid sets dst[i] = 1/(1+exp(-x[i])). dst may alias x.
func Sigmoid(dst, x []float32) {
	checkFwd("Sigmoid", dst, x)
	sigmoid(dst, x)
}

// SigmoidBackward sets dx[i] = dy[i]*y[i]*(1-y[i]). dx may alias dy; x is not read.
func SigmoidBackward(dx, dy, x, y []float32) {
	checkBwd("SigmoidBackward", dx, dy, x, y)
	sigmoidBackward(dx, dy, y)
}

// Tanh sets dst[i] = tanh(x[i]). dst may alias x.
func Tanh(dst, x []float32) {
	checkFwd("Tanh", dst, x)
	tanh(dst, x)
}

// TanhBackward sets dx[i] = dy[i]*(1-y[i]*y[i]). dx may alias dy; x is not read.
func TanhBackward(dx, dy, x, y []float32) {
	checkBwd("TanhBackward", dx, dy, x, y)
	tanhBackward(dx, dy, y)
}

// Exp sets dst[i] = exp(x[i]), with exp(+Inf) = +Inf, exp(-Inf) = 0,
// exp(NaN) = NaN, overflow to +Inf above about 88.72 and gradual underflow to
// subnormals and zero below about -87.34. dst may alias x.
func Exp(dst, x []float32) {
	checkFwd("Exp", dst, x)
	exp(dst, x)
}
