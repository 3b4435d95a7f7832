package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestInitVariance draws each initialiser's weights for a 400x300 layer and
// checks the sample mean and variance against the theory in Init's docs.
func TestInitVariance(t *testing.T) {
	const fanIn, out = 400, 300
	tests := []struct {
		init  Init
		slope float64
		want  float64
	}{
		{HeNormal, 0, 2.0 / fanIn},
		{HeNormal, 0.2, 2 / (1 + 0.04) / fanIn},
		{HeUniform, 0, 2.0 / fanIn},
		{XavierNormal, 0, 2.0 / (fanIn + out)},
		{XavierUniform, 0, 2.0 / (fanIn + out)},
		{LecunNormal, 0, 1.0 / fanIn},
		{LecunUniform, 0, 1.0 / fanIn},
		{Orthogonal, 0, 1.0 / fanIn},
	}
	for _, tt := range tests {
		t.Run(string(tt.init), func(t *testing.T) {
			w := make([]float32, fanIn*out)
			initWeights(w, tt.init, fanIn, out, out, tt.slope, rand.New(rand.NewPCG(1, 2)))
			var s, sq float64
			for _, v := range w {
				s += float64(v)
				sq += float64(v) * float64(v)
			}
			n := float64(len(w))
			mean, variance := s/n, sq/n-(s/n)*(s/n)
			// The sample variance of 120,000 draws has a relative standard
			// error of about 0.4%; allow 3%.
			if math.Abs(variance/tt.want-1) > 0.03 {
				t.Errorf("variance %.6g, want %.6g", variance, tt.want)
			}
			if math.Abs(mean) > 4*math.Sqrt(tt.want/n) {
				t.Errorf("mean %.3g, want 0 within %.3g", mean, 4*math.Sqrt(tt.want/n))
			}
			if tt.init == HeUniform || tt.init == XavierUniform || tt.init == LecunUniform {
				a := float32(math.Sqrt(3 * tt.want))
				for _, v := range w {
					if v < -a || v > a {
						t.Fatalf("%v outside [-%v, %v]", v, a, a)
					}
				}
			}
		})
	}
}

// TestOrthogonal checks that the orthogonal initialiser's columns (tall
// matrix) or rows (wide matrix) are orthonormal.
func TestOrthogonal(t *testing.T) {
	for _, shape := range [][2]int{{50, 20}, {20, 50}, {30, 30}} {
		rows, cols := shape[0], shape[1]
		w := make([]float32, rows*cols)
		orthogonal(w, rows, cols, rand.New(rand.NewPCG(3, 4)))
		at := func(i, j int) float64 { return float64(w[i*cols+j]) }
		k, n := cols, rows // columns orthonormal
		get := func(v, i int) float64 { return at(i, v) }
		if rows < cols {
			k, n = rows, cols
			get = func(v, i int) float64 { return at(v, i) }
		}
		for a := range k {
			for b := range k {
				var d float64
				for i := range n {
					d += get(a, i) * get(b, i)
				}
				want := 0.0
				if a == b {
					want = 1
				}
				if math.Abs(d-want) > 1e-5 {
					t.Fatalf("%dx%d: <v%d, v%d> = %v, want %v", rows, cols, a, b, d, want)
				}
			}
		}
	}
}

// TestInitBiasesAndPReLU checks that biases start at zero and PReLU slopes
// at PReLUInit, and that He uses the leaky slope.
func TestInitBiasesAndPReLU(t *testing.T) {
	cfg := Config{Dataset: "t", Hidden: []int{8, 8}, Activation: PReLU, PReLUInit: 0.3}.WithDefaults()
	n, err := newNetwork(cfg, synthDataset("t", 4, 5, 3, 1), 4, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range n.segs {
		if s.decay {
			continue
		}
		for _, v := range n.params[s.off : s.off+s.n] {
			if s.n == 1 {
				if v != float32(0.3) {
					t.Errorf("prelu slope %v, want 0.3", v)
				}
			} else if v != 0 {
				t.Errorf("bias %v, want 0", v)
			}
		}
	}
	if got, want := heSlope(cfg), 0.3; got != want {
		t.Errorf("He slope for prelu %v, want %v", got, want)
	}
}
