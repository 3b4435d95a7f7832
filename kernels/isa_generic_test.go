//go:build !amd64 || noasm

package kernels

import "testing"

// forEachISA runs f once: this build has only the pure-Go kernels.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	t.Run("Go", f)
}
