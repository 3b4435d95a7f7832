//go:build !noasm

package trainer

import "golang.org/x/sys/cpu"

// The Adam update is the one per-parameter loop of a step that is not a
// kernels call; its square root and division are slow scalar instructions,
// so amd64 runs it 8 or 16 lanes wide. Results are bit-identical to
// adamStepGeneric (same operations in the same order, no fused multiply-add).

//go:noescape
func adamAVX512(w, grad, m, v *float32, n int, c *adamConsts)

//go:noescape
func adamAVX(w, grad, m, v *float32, n int, c *adamConsts)

var (
	hasAVX512 = cpu.X86.HasAVX512F
	hasAVX    = cpu.X86.HasAVX
)

func adamStep(w, g, m, v []float32, stepSize, invSqrtBC2 float32) {
	n := len(w)
	g, m, v = g[:n], m[:n], v[:n]
	c := newAdamConsts(stepSize, invSqrtBC2)
	done := 0
	switch {
	case hasAVX512 && n >= 16:
		done = n &^ 15
		adamAVX512(&w[0], &g[0], &m[0], &v[0], done, &c)
	case hasAVX && n >= 8:
		done = n &^ 7
		adamAVX(&w[0], &g[0], &m[0], &v[0], done, &c)
	}
	adamStepGeneric(w[done:], g[done:], m[done:], v[done:], stepSize, invSqrtBC2)
}
