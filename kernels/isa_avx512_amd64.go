//go:build !noasm && !noavx512

package kernels

// forceAVX2 is set by the noavx512 build tag.
const forceAVX2 = false
