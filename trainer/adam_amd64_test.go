//go:build !noasm

package trainer

import "testing"

// TestAdamAVXPath runs the reference comparison on the AVX (ymm) path too,
// which machines with AVX-512 would otherwise never take.
func TestAdamAVXPath(t *testing.T) {
	if !hasAVX {
		t.Skip("no AVX on this CPU")
	}
	saved := hasAVX512
	hasAVX512 = false
	defer func() { hasAVX512 = saved }()
	TestAdamStepMatchesGeneric(t)
}
