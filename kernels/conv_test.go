package kernels

import (
	"fmt"
	"testing"
)

// im2colNaive is Im2col3x3 from its definition.
func im2colNaive(in []float32, rows, h, w, c int) []float32 {
	cols := make([]float32, rows*h*w*9*c)
	for s := range rows {
		for y := range h {
			for x := range w {
				row := cols[((s*h+y)*w+x)*9*c:]
				for ky := range 3 {
					for kx := range 3 {
						iy, ix := y+ky-1, x+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						copy(row[(3*ky+kx)*c:(3*ky+kx+1)*c], in[((s*h+iy)*w+ix)*c:])
					}
				}
			}
		}
	}
	return cols
}

// col2imNaive is Col2im3x3 from its definition: the scatter-add of every
// entry of cols to the input element it came from.
func col2imNaive(cols []float32, rows, h, w, c int) []float32 {
	d := make([]float32, rows*h*w*c)
	for s := range rows {
		for y := range h {
			for x := range w {
				row := cols[((s*h+y)*w+x)*9*c:]
				for ky := range 3 {
					for kx := range 3 {
						iy, ix := y+ky-1, x+kx-1
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						for j := range c {
							d[((s*h+iy)*w+ix)*c+j] += row[(3*ky+kx)*c+j]
						}
					}
				}
			}
		}
	}
	return d
}

func TestIm2col3x3(t *testing.T) { forEachISA(t, testIm2col3x3) }

func testIm2col3x3(t *testing.T) {
	r := newRand(5)
	for _, d := range [][4]int{{1, 1, 1, 1}, {2, 5, 4, 3}, {1, 3, 3, 8}, {2, 6, 5, 16}, {1, 1, 7, 8}, {1, 2, 2, 16}, {3, 7, 9, 24}, {2, 14, 14, 16}, {0, 3, 3, 8}, {1, 4, 4, 0}} {
		rows, h, w, c := d[0], d[1], d[2], d[3]
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			in := make([]float32, rows*h*w*c)
			for i := range in {
				in[i] = uniform(r, -1, 1)
			}
			want := im2colNaive(in, rows, h, w, c)
			cols, whole := guarded(len(want), func(int) float32 { return 9 })
			Im2col3x3(cols, in, rows, h, w, c)
			checkGuards(t, "Im2col3x3", whole)
			for i := range want {
				if cols[i] != want[i] {
					t.Fatalf("Im2col3x3: cols[%d] = %v, want %v", i, cols[i], want[i])
				}
			}
			g := make([]float32, len(want))
			for i := range g {
				// Small integers: the sums are exact in any order.
				g[i] = float32(r.IntN(9) - 4)
			}
			wantD := col2imNaive(g, rows, h, w, c)
			dIn, wholeD := guarded(len(in), func(int) float32 { return 9 })
			Col2im3x3(dIn, g, rows, h, w, c)
			checkGuards(t, "Col2im3x3", wholeD)
			for i := range wantD {
				if dIn[i] != wantD[i] {
					t.Fatalf("Col2im3x3: dIn[%d] = %v, want %v", i, dIn[i], wantD[i])
				}
			}
		})
	}
}

func TestIm2col3x3Panics(t *testing.T) {
	for name, f := range map[string]func(){
		"short in":   func() { Im2col3x3(make([]float32, 9*16), make([]float32, 15), 1, 4, 4, 1) },
		"short cols": func() { Im2col3x3(make([]float32, 9*16-1), make([]float32, 16), 1, 4, 4, 1) },
		"short dIn":  func() { Col2im3x3(make([]float32, 15), make([]float32, 9*16), 1, 4, 4, 1) },
		"long cols":  func() { Col2im3x3(make([]float32, 16), make([]float32, 9*16+1), 1, 4, 4, 1) },
		"negative":   func() { Im2col3x3(nil, nil, 1, -4, 4, 1) },
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
