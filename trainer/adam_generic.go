//go:build noasm || !amd64

package trainer

func adamStep(w, g, m, v []float32, stepSize, invSqrtBC2 float32) {
	adamStepGeneric(w, g, m, v, stepSize, invSqrtBC2)
}
