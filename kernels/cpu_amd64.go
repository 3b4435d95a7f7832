//go:build !noasm

package kernels

import "golang.org/x/sys/cpu"

// The instruction sets the assembly kernels use, read once from CPUID.
// Tests clear useAVX512 to run the AVX2 kernels on an AVX-512 machine; the
// noavx512 build tag does the same for a whole binary (benchmarks of the
// AVX2 path on an AVX-512 CPU).
var (
	// useAVX512 selects the AVX-512 kernels (they need F and DQ).
	useAVX512 = !forceAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	// useSIMD is false on a CPU with neither AVX-512 nor AVX2+FMA, which
	// then runs the pure-Go loops.
	useSIMD = useAVX512 || (cpu.X86.HasAVX2 && cpu.X86.HasFMA)
)
