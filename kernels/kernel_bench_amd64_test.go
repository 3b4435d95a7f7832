//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel measures each micro-kernel alone, operands in L1,
// as the ceiling the blocked Sgemm can approach.
func BenchmarkMicroKernel(b *testing.B) {
	impls := map[string]*gemmImpl{"8x32AVX512": gemm8x32AVX512, "16x16AVX512": gemm16x16AVX512, "6x16AVX2": gemm6x16AVX2}
	for _, name := range []string{"8x32AVX512", "16x16AVX512", "6x16AVX2"} {
		g := impls[name]
		if !useAVX512 && g.masked {
			continue
		}
		for _, kc := range []int{128, 256} {
			b.Run(fmt.Sprintf("%s/kc=%d", name, kc), func(b *testing.B) {
				a := make([]float32, kc*g.mr)
				p := make([]float32, kc*g.nr)
				c := make([]float32, g.mr*g.nr)
				for i := range a {
					a[i] = 1
				}
				rate := bestRate(b, 2*float64(g.mr*g.nr*kc), 200, func() {
					g.cols(kc, &a[0], g.mr, &p[0], &c[0], g.nr, 1, 0, colMask(g.nr))
				})
				b.ReportMetric(rate/1e9, "GFLOP/s")
			})
		}
	}
}
