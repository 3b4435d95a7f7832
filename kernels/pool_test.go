package kernels

import (
	"fmt"
	"math"
	"testing"
)

// poolNaive is 2x2 max pooling and its gradient, written from the
// definitions: the maximum of each window, and its gradient to the window's
// first element equal to the maximum.
func poolNaive(in, dOut []float32, rows, h, w, c int) (out, dIn []float32) {
	oh, ow := h/2, w/2
	out = make([]float32, rows*oh*ow*c)
	dIn = make([]float32, len(in))
	at := func(s, y, x, j int) int { return ((s*h+y)*w+x)*c + j }
	for s := range rows {
		for y := range oh {
			for x := range ow {
				for j := range c {
					idx := []int{at(s, 2*y, 2*x, j), at(s, 2*y, 2*x+1, j), at(s, 2*y+1, 2*x, j), at(s, 2*y+1, 2*x+1, j)}
					m := float32(math.Inf(-1))
					nan := false
					for _, i := range idx {
						nan = nan || isNaN32(in[i])
						m = max(m, in[i])
					}
					o := ((s*oh+y)*ow+x)*c + j
					if nan {
						out[o] = float32(math.NaN())
						continue
					}
					out[o] = m
					for _, i := range idx {
						if in[i] == m {
							dIn[i] = dOut[o]
							break
						}
					}
				}
			}
		}
	}
	return out, dIn
}

func TestMaxPool2(t *testing.T) { forEachISA(t, testMaxPool2) }

func testMaxPool2(t *testing.T) {
	r := newRand(31)
	for _, d := range [][4]int{{1, 2, 2, 1}, {2, 4, 6, 8}, {3, 5, 7, 16}, {2, 6, 4, 3}, {1, 28, 28, 16}, {2, 14, 14, 32}, {1, 3, 3, 24}, {0, 4, 4, 8}, {2, 1, 5, 8}} {
		rows, h, w, c := d[0], d[1], d[2], d[3]
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			n := rows * h * w * c
			// Few distinct values, zeros among them, so windows have ties.
			in := make([]float32, n)
			for i := range in {
				in[i] = float32(r.IntN(5) - 2)
			}
			nOut := rows * (h / 2) * (w / 2) * c
			dOut := make([]float32, nOut)
			for i := range dOut {
				dOut[i] = uniform(r, -1, 1)
			}
			if n > 0 && c >= 8 {
				in[n/2] = float32(math.NaN())
			}
			wantOut, wantDIn := poolNaive(in, dOut, rows, h, w, c)
			out, wholeOut := guarded(nOut, func(int) float32 { return 7 })
			MaxPool2(out, in, rows, h, w, c)
			checkGuards(t, "MaxPool2", wholeOut)
			for i := range out {
				if out[i] != wantOut[i] && !(isNaN32(out[i]) && isNaN32(wantOut[i])) {
					t.Fatalf("MaxPool2: out[%d] = %v, want %v", i, out[i], wantOut[i])
				}
			}
			// The gradient's tie-breaking is checked where no window holds a NaN.
			if n > 0 && c >= 8 {
				in[n/2] = 0
				_, wantDIn = poolNaive(in, dOut, rows, h, w, c)
			}
			// MaxPool2Arg: the same output, and an arg whose gradient is
			// MaxPool2Backward's.
			if n > 0 && c >= 8 {
				in[n/2] = float32(math.NaN())
			}
			outA, wholeOutA := guarded(nOut, func(int) float32 { return 7 })
			arg := make([]uint8, nOut+2)
			arg[0], arg[nOut+1] = 0xee, 0xee
			MaxPool2Arg(outA, arg[1:nOut+1], in, rows, h, w, c)
			checkGuards(t, "MaxPool2Arg", wholeOutA)
			if arg[0] != 0xee || arg[nOut+1] != 0xee {
				t.Fatalf("MaxPool2Arg wrote outside arg")
			}
			for i := range outA {
				if outA[i] != wantOut[i] && !(isNaN32(outA[i]) && isNaN32(wantOut[i])) {
					t.Fatalf("MaxPool2Arg: out[%d] = %v, want %v", i, outA[i], wantOut[i])
				}
				if arg[i+1] > 3 {
					t.Fatalf("MaxPool2Arg: arg[%d] = %d, want 0..3", i, arg[i+1])
				}
			}
			if n > 0 && c >= 8 {
				in[n/2] = 0
				MaxPool2Arg(outA, arg[1:nOut+1], in, rows, h, w, c)
			}
			dInA, wholeDInA := guarded(n, func(int) float32 { return 7 })
			MaxPool2BackwardArg(dInA, dOut, arg[1:nOut+1], rows, h, w, c)
			checkGuards(t, "MaxPool2BackwardArg", wholeDInA)
			for i := range dInA {
				if dInA[i] != wantDIn[i] {
					t.Fatalf("MaxPool2BackwardArg: dIn[%d] = %v, want %v", i, dInA[i], wantDIn[i])
				}
			}
			dIn, wholeDIn := guarded(n, func(int) float32 { return 7 })
			MaxPool2Backward(dIn, dOut, in, rows, h, w, c)
			checkGuards(t, "MaxPool2Backward", wholeDIn)
			for i := range dIn {
				if dIn[i] != wantDIn[i] {
					t.Fatalf("MaxPool2Backward: dIn[%d] = %v, want %v", i, dIn[i], wantDIn[i])
				}
			}
		})
	}
}

func TestMaxPool2Panics(t *testing.T) {
	for name, f := range map[string]func(){
		"short in":   func() { MaxPool2(make([]float32, 4), make([]float32, 15), 1, 4, 4, 1) },
		"short out":  func() { MaxPool2(make([]float32, 3), make([]float32, 16), 1, 4, 4, 1) },
		"short dIn":  func() { MaxPool2Backward(make([]float32, 15), make([]float32, 4), make([]float32, 16), 1, 4, 4, 1) },
		"negative c": func() { MaxPool2(nil, nil, 1, 4, 4, -1) },
		"short arg":  func() { MaxPool2Arg(make([]float32, 4), make([]uint8, 3), make([]float32, 16), 1, 4, 4, 1) },
		"arg dOut":   func() { MaxPool2BackwardArg(make([]float32, 16), make([]float32, 4), make([]uint8, 3), 1, 4, 4, 1) },
		"arg dIn":    func() { MaxPool2BackwardArg(make([]float32, 15), make([]float32, 4), make([]uint8, 4), 1, 4, 4, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
