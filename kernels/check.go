package kernels

import (
	"fmt"
	"slices"
)

// panicf panics with a message prefixed by the package name.
func panicf(format string, args ...any) {
	panic(fmt.Sprintf("kernels: "+format, args...))
}

// checkSameLen panics unless every named slice has length n.
func checkSameLen(fn string, n int, names []string, slices ...[]float32) {
	for i, s := range slices {
		if len(s) != n {
			panicf("%s: len(%s) = %d, must equal len(%s) = %d", fn, names[i], len(s), names[0], n)
		}
	}
}

// checkMatrix panics unless s can hold a rows x cols matrix with row stride ld.
func checkMatrix(fn, name string, s []float32, rows, cols, ld int) {
	if ld < max(1, cols) {
		panicf("%s: leading dimension of %s is %d, must be >= max(1, %d)", fn, name, ld, cols)
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panicf("%s: len(%s) = %d, a %dx%d matrix with stride %d needs >= %d", fn, name, len(s), rows, cols, ld, need)
	}
}

// checkDims panics if any dimension is negative.
func checkDims(fn string, names string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			badDims(fn, names, slices.Clone(dims))
		}
	}
}

// badDims is checkDims' panic, apart so that dims does not escape.
func badDims(fn, names string, dims []int) {
	panicf("%s: dimensions (%s) = %v, must be >= 0", fn, names, dims)
}
