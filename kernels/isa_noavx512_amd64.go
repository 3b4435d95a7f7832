//go:build !noasm && noavx512

package kernels

// forceAVX2 is set by the noavx512 build tag: the AVX2 kernels run even on
// an AVX-512 CPU.
const forceAVX2 = true
