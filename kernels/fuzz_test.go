package kernels

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzSgemm checks Sgemm against the float64 reference loop on shapes,
// transposes, paddings and scalars taken from the fuzzer's bytes.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint64(1))
	f.Add(uint8(67), uint8(33), uint8(17), uint8(3), uint8(5), uint8(1), uint64(2))
	f.Add(uint8(9), uint8(10), uint8(130), uint8(1), uint8(2), uint8(2), uint64(3))
	f.Add(uint8(16), uint8(64), uint8(8), uint8(2), uint8(7), uint8(0), uint64(4))
	f.Add(uint8(0), uint8(5), uint8(3), uint8(0), uint8(0), uint8(2), uint64(5))
	scalars := []float32{0, 1, -0.75, 2.5}
	f.Fuzz(func(t *testing.T, m, n, k, trans, pad, scal uint8, seed uint64) {
		r := newRand(seed)
		tc := sgemmCase{
			transA: trans&1 != 0, transB: trans&2 != 0,
			m: int(m % 100), n: int(n % 100), k: int(k % 150),
			alpha: scalars[scal%4], beta: scalars[(scal/4)%4],
			padA: int(pad % 3), padB: int(pad/3) % 3, padC: int(pad/9) % 3,
		}
		runSgemmCase(t, r, tc, Sgemm)
	})
}

// FuzzActivation checks every activation's forward pass on arbitrary
// float32 values (any bit pattern) against the stated error bounds, and
// that NaN maps to NaN.
func FuzzActivation(f *testing.F) {
	seed := func(vs ...float32) []byte {
		b := make([]byte, 4*len(vs))
		for i, v := range vs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	f.Add(seed(0, 1, -1, 88.7, -87.5, -103.9))
	f.Add(seed(float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-40, -1e-40))
	f.Add(seed(0.34657, -0.34657, 13.2, -13.2, 20, -20, 5.5, -5.5, 1e-8, -7))
	f.Add(seed(3.4e38, -3.4e38, 1.2e-38, -1.2e-38, 0.5, -0.5, 2, -2, 9, -9, 15, -15, 30, -30, 60, -60, 87))
	// 48 values below 6.43 in magnitude: the AVX2 GELU's fast path.
	typical := make([]float32, 48)
	for i := range typical {
		typical[i] = float32(i-24) * 0.267
	}
	typical[5], typical[17], typical[30] = 1e-40, float32(math.Copysign(0, -1)), 6.42
	f.Add(seed(typical...))
	cases := activationCases()
	f.Fuzz(func(t *testing.T, data []byte) {
		xs := make([]float32, len(data)/4)
		for i := range xs {
			xs[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		dst := make([]float32, len(xs))
		for _, ac := range cases {
			ac.fwd(dst, xs)
			for i, x := range xs {
				want := float64(float32(ac.f(float64(x))))
				if !sameFloat(float64(dst[i]), want, ac.fwdRel+ulp1/2, minNormal32) {
					t.Fatalf("%s(%v) = %v, want %v", ac.name, x, dst[i], want)
				}
			}
		}
	})
}
