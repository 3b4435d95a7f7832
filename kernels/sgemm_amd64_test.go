//go:build amd64 && !noasm

package kernels

import "testing"

// TestSgemmSmallBlocks shrinks the cache blocks so that random shapes
// cross every block boundary (k past blockK, m past blockM, n past blockN).
func TestSgemmSmallBlocks(t *testing.T) {
	saved := [3]int{blockK, blockM, blockN}
	defer func() { blockK, blockM, blockN = saved[0], saved[1], saved[2] }()
	blockK, blockM, blockN = 13, 20, 64
	forEachISA(t, func(t *testing.T) {
		r := newRand(4)
		for _, tc := range sgemmCases(r, 300) {
			runSgemmCase(t, r, tc, Sgemm)
		}
		for _, d := range [][3]int{{130, 200, 70}, {67, 129, 100}} {
			for _, ta := range []bool{false, true} {
				for _, tb := range []bool{false, true} {
					tc := sgemmCase{transA: ta, transB: tb, m: d[0], n: d[1], k: d[2], alpha: 0.5, beta: -1, padA: 3, padB: 1, padC: 2}
					runSgemmCase(t, r, tc, Sgemm)
				}
			}
		}
	})
}
