// Package kernels holds the float32 numeric kernels relutune trains on: a
// row-major Sgemm, the element-wise forward and backward passes of every
// activation, bias add, softmax cross-entropy and the small reductions the
// trainer needs.
//
// Every exported function checks its arguments once, panicking with a
// "kernels: " message that names the argument, its value and what is
// allowed, and then calls an unchecked kernel. On amd64 the kernels are
// AVX-512 or AVX2+FMA assembly chosen at run time from the CPU's features;
// under the noasm build tag and on other architectures they are the pure-Go
// loops in the *_generic.go files, whose doc comments state the reference
// semantics the assembly is tested against.
//
// Slices are float32 and row-major; a leading dimension (lda, ldb, ldc, ld) is
// the distance between the starts of consecutive rows.
package kernels
