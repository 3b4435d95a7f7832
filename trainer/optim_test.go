package trainer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamStepMatchesGeneric: the vectorised Adam update is bit-identical
// to the reference loop, tails included.
func TestAdamStepMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 8, 15, 16, 17, 33, 1000} {
		mk := func(scale float64) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(rng.NormFloat64() * scale)
			}
			return s
		}
		w, g, m := mk(1), mk(0.1), mk(0.01)
		v := mk(1e-4)
		for i := range v {
			v[i] = float32(math.Abs(float64(v[i])))
		}
		w2, m2, v2 := append([]float32(nil), w...), append([]float32(nil), m...), append([]float32(nil), v...)
		for range 3 {
			adamStep(w, g, m, v, 1e-3, 1.3)
			adamStepGeneric(w2, g, m2, v2, 1e-3, 1.3)
		}
		for i := range w {
			if w[i] != w2[i] || m[i] != m2[i] || v[i] != v2[i] {
				t.Fatalf("n=%d, i=%d: w %v/%v m %v/%v v %v/%v", n, i, w[i], w2[i], m[i], m2[i], v[i], v2[i])
			}
		}
	}
}

// TestOptimizerUpdates checks one or two steps of each optimizer against
// torch.optim's update rules computed in float64.
func TestOptimizerUpdates(t *testing.T) {
	segs := []segment{{off: 0, n: 2, decay: true}, {off: 2, n: 1, decay: false}}
	w0 := []float64{1, -2, 0.5}
	grads := [][]float64{{0.1, 0.2, -0.3}, {-0.05, 0.4, 0.1}}
	const lr, mu, wd = 0.1, 0.9, 0.01
	run := func(c Config) []float32 {
		o := newOptimizer(c, 3, segs)
		w := []float32{1, -2, 0.5}
		for _, g := range grads {
			g32 := []float32{float32(g[0]), float32(g[1]), float32(g[2])}
			o.update(w, g32, lr)
		}
		return w
	}
	want := map[string][]float64{}
	{ // sgd with L2 decay on the weights only
		w := append([]float64(nil), w0...)
		for _, g := range grads {
			for i := range w {
				gi := g[i]
				if i < 2 {
					gi += wd * w[i]
				}
				w[i] -= lr * gi
			}
		}
		want["sgd"] = w
	}
	{ // nesterov momentum
		w := append([]float64(nil), w0...)
		v := make([]float64, 3)
		for _, g := range grads {
			for i := range w {
				v[i] = mu*v[i] + g[i]
				w[i] -= lr * (g[i] + mu*v[i])
			}
		}
		want["nesterov"] = w
	}
	adam := func(decoupled bool) []float64 {
		w := append([]float64(nil), w0...)
		m, v := make([]float64, 3), make([]float64, 3)
		for step, g := range grads {
			t := float64(step + 1)
			for i := range w {
				gi := g[i]
				if decoupled && i < 2 {
					w[i] *= 1 - lr*wd
				}
				m[i] = 0.9*m[i] + 0.1*gi
				v[i] = 0.999*v[i] + 0.001*gi*gi
				mh := m[i] / (1 - math.Pow(0.9, t))
				vh := v[i] / (1 - math.Pow(0.999, t))
				w[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
			}
		}
		return w
	}
	want["adam"], want["adamw"] = adam(false), adam(true)
	got := map[string][]float32{
		"sgd":      run(Config{Optimizer: SGD, WeightDecay: wd}),
		"nesterov": run(Config{Optimizer: Momentum, Momentum: mu, Nesterov: true}),
		"adam":     run(Config{Optimizer: Adam}),
		"adamw":    run(Config{Optimizer: AdamW, WeightDecay: wd}),
	}
	for name, w := range want {
		for i := range w {
			if !close(float64(got[name][i]), w[i], 1e-5, 1e-6) {
				t.Errorf("%s: w[%d] = %v, want %v", name, i, got[name][i], w[i])
			}
		}
	}
}
