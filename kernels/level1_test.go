package kernels

import (
	"math"
	"testing"
)

func TestAxpyScaleDotSumSquares(t *testing.T) { forEachISA(t, testAxpyScaleDotSumSquares) }

func testAxpyScaleDotSumSquares(t *testing.T) {
	r := newRand(20)
	for n := 0; n <= 300; n += 1 + n/8 {
		x := make([]float32, n)
		for i := range x {
			x[i] = uniform(r, -2, 2)
		}
		y, whole := guarded(n, func(int) float32 { return uniform(r, -2, 2) })
		y0 := append([]float32(nil), y...)

		Axpy(-0.5, x, y)
		checkGuards(t, "Axpy", whole)
		for i := range y {
			if want := y0[i] + -0.5*x[i]; !sameFloat(float64(y[i]), float64(want), ulp1, 0) {
				t.Fatalf("Axpy n=%d: y[%d] = %v, want %v", n, i, y[i], want)
			}
		}

		copy(y, y0)
		Scale(3, y)
		checkGuards(t, "Scale", whole)
		for i := range y {
			if want := 3 * y0[i]; y[i] != want {
				t.Fatalf("Scale n=%d: x[%d] = %v, want %v", n, i, y[i], want)
			}
		}

		var dot, mag, ss float64
		for i := range x {
			dot += float64(x[i]) * float64(y0[i])
			mag += math.Abs(float64(x[i]) * float64(y0[i]))
			ss += float64(x[i]) * float64(x[i])
		}
		if got := Dot(x, y0); math.Abs(float64(got)-dot) > float64(n+1)*ulp1*mag {
			t.Fatalf("Dot n=%d = %v, want %v", n, got, dot)
		}
		if got := SumSquares(x); math.Abs(got-ss) > 1e-12*ss {
			t.Fatalf("SumSquares n=%d = %v, want %v", n, got, ss)
		}
	}
}

func TestSumSquaresDoesNotOverflow(t *testing.T) {
	x := []float32{3e30, 4e30, math.MaxFloat32}
	want := 9e60 + 16e60 + float64(math.MaxFloat32)*math.MaxFloat32
	if got := SumSquares(x); math.IsInf(got, 0) || math.Abs(got-want) > 1e-6*want {
		t.Fatalf("SumSquares = %v, want %v", got, want)
	}
}

func TestAddBiasColSumsCountZeroCols(t *testing.T) { forEachISA(t, testAddBiasColSumsCountZeroCols) }

func testAddBiasColSumsCountZeroCols(t *testing.T) {
	r := newRand(21)
	for _, d := range [][3]int{{1, 1, 1}, {3, 5, 7}, {7, 16, 16}, {10, 33, 35}, {64, 67, 70}, {100, 16, 16}, {77, 10, 10}, {40, 64, 64}, {0, 5, 5}, {5, 0, 1}} {
		rows, cols, ld := d[0], d[1], d[2]
		size := max((rows-1)*ld+cols, 0)
		if rows == 0 || cols == 0 {
			size = 0
		}
		a, wholeA := guarded(size, func(i int) float32 {
			if r.IntN(3) == 0 {
				return 0
			}
			return uniform(r, -1, 1)
		})
		a0 := append([]float32(nil), a...)
		bias := make([]float32, cols)
		for j := range bias {
			bias[j] = uniform(r, -1, 1)
		}

		AddBias(a, rows, cols, ld, bias)
		checkGuards(t, "AddBias", wholeA)
		for i := 0; i < rows; i++ {
			for j := 0; j < ld && i*ld+j < len(a); j++ {
				want := a0[i*ld+j]
				if j < cols {
					want += bias[j]
				}
				if a[i*ld+j] != want {
					t.Fatalf("AddBias %v: c[%d,%d] = %v, want %v", d, i, j, a[i*ld+j], want)
				}
			}
		}

		sums, wholeS := guarded(cols, func(int) float32 { return 42 })
		ColSums(sums, a0, rows, cols, ld)
		checkGuards(t, "ColSums", wholeS)
		counts := make([]int32, cols)
		for j := range counts {
			counts[j] = 5
		}
		CountZeroCols(counts, a0, rows, cols, ld)
		for j := 0; j < cols; j++ {
			var want, mag float64
			var zeros int32 = 5
			for i := 0; i < rows; i++ {
				v := a0[i*ld+j]
				want += float64(v)
				mag += math.Abs(float64(v))
				if v == 0 {
					zeros++
				}
			}
			if math.Abs(float64(sums[j])-want) > float64(rows+1)*ulp1*mag {
				t.Fatalf("ColSums %v: dst[%d] = %v, want %v", d, j, sums[j], want)
			}
			if counts[j] != zeros {
				t.Fatalf("CountZeroCols %v: counts[%d] = %d, want %d", d, j, counts[j], zeros)
			}
		}
	}
}

// softmaxCENaive is the textbook softmax cross-entropy in float64.
func softmaxCENaive(logits []float32, labels []int32, rows, classes, ld int, scale float32) (loss float64, grad []float64) {
	grad = make([]float64, rows*classes)
	for i := 0; i < rows; i++ {
		z := logits[i*ld : i*ld+classes]
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - mx)
		}
		for j, v := range z {
			p := math.Exp(float64(v)-mx) / s
			if j == int(labels[i]) {
				loss -= math.Log(p)
				p--
			}
			grad[i*classes+j] = p * float64(scale)
		}
	}
	return loss, grad
}

func TestSoftmaxCrossEntropy(t *testing.T) { forEachISA(t, testSoftmaxCrossEntropy) }

func testSoftmaxCrossEntropy(t *testing.T) {
	r := newRand(22)
	for _, d := range [][3]int{{1, 1, 1}, {1, 10, 10}, {128, 10, 10}, {7, 17, 19}, {3, 100, 101}, {2, 3, 3}} {
		rows, classes, ld := d[0], d[1], d[2]
		logits, _ := guarded((rows-1)*ld+classes, func(int) float32 { return uniform(r, -30, 30) })
		labels := make([]int32, rows)
		for i := range labels {
			labels[i] = int32(r.IntN(classes))
		}
		grad, whole := guarded(len(logits), func(int) float32 { return 7 })
		const scale = 1.0 / 128
		got := SoftmaxCrossEntropy(grad, logits, labels, rows, classes, ld, scale)
		checkGuards(t, "SoftmaxCrossEntropy", whole)
		want, wantGrad := softmaxCENaive(logits, labels, rows, classes, ld, scale)
		if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Fatalf("%v: loss = %v, want %v", d, got, want)
		}
		if got2 := SoftmaxCrossEntropy(nil, logits, labels, rows, classes, ld, scale); got2 != got {
			t.Fatalf("%v: loss without grad = %v, with grad %v", d, got2, got)
		}
		for i := 0; i < rows; i++ {
			for j := 0; j < ld && i*ld+j < len(grad); j++ {
				g := grad[i*ld+j]
				if j >= classes {
					if g != 7 {
						t.Fatalf("%v: padding grad[%d,%d] changed to %v", d, i, j, g)
					}
					continue
				}
				if w := wantGrad[i*classes+j]; math.Abs(float64(g)-w) > 1e-6*scale {
					t.Fatalf("%v: grad[%d,%d] = %v, want %v", d, i, j, g, w)
				}
			}
		}
	}
}

func TestSoftmaxCrossEntropyNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, row := range [][]float32{{1, nan, 2}, {nan, 1, 2}, {1, 2, inf}, {inf, 1, 2}} {
		if got := SoftmaxCrossEntropy(nil, row, []int32{0}, 1, 3, 3, 1); !math.IsNaN(got) {
			t.Errorf("loss of %v = %v, want NaN", row, got)
		}
	}
	if got := SoftmaxCrossEntropy(nil, []float32{1e30, -1e30}, []int32{0}, 1, 2, 2, 1); got != 0 {
		t.Errorf("loss of a certain prediction = %v, want 0", got)
	}
}

func TestSoftmaxCrossEntropyPanicsOnLabel(t *testing.T) {
	defer func() {
		if p := recover(); p == nil {
			t.Fatal("label out of range did not panic")
		}
	}()
	SoftmaxCrossEntropy(nil, make([]float32, 6), []int32{0, 3}, 2, 3, 3, 1)
}
