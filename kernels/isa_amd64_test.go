//go:build amd64 && !noasm

package kernels

import "testing"

// forEachISA runs f once per instruction set this CPU supports, so the
// AVX2 kernels are tested on an AVX-512 machine too, and once with the
// assembly disabled.
func forEachISA(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	saved512, savedSIMD := useAVX512, useSIMD
	defer func() { useAVX512, useSIMD = saved512, savedSIMD }()
	type variant struct {
		name       string
		avx512, on bool
	}
	var vs []variant
	if saved512 {
		vs = append(vs, variant{"AVX512", true, true})
	}
	if savedSIMD {
		vs = append(vs, variant{"AVX2", false, true})
	}
	vs = append(vs, variant{"Go", false, false})
	for _, v := range vs {
		useAVX512, useSIMD = v.avx512, v.on
		t.Run(v.name, f)
	}
}
