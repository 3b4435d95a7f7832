package trainer

import (
	"math/rand/v2"
	"testing"
)

// byteDataset is a byte-image data set whose images are 0 outside a random
// window, like MNIST's border, with pixels set with probability p inside.
func byteDataset(n, h, w int, p float64, seed uint64) *Dataset {
	rng := rand.New(rand.NewPCG(seed, 9))
	pix := make([]uint8, n*h*w)
	labs := make([]int32, n)
	for i := range n {
		for y := 2; y < h-2; y++ {
			for x := 3; x < w-1; x++ {
				if rng.Float64() < p {
					pix[i*h*w+y*w+x] = uint8(1 + rng.IntN(255))
				}
			}
		}
		labs[i] = int32(rng.IntN(4))
	}
	lut := pixelLUT(pix)
	s := Split{n: n, bytes: pix, lut: lut, labels: labs}
	return &Dataset{Name: "idx:a,b", Features: h * w, Classes: 4, Height: h, Width: w, Channels: 1, Train: s, Val: s, Test: s}
}

// TestByteInputMatchesDense: the sparse-column first layer computes the same
// logits and gradients as the dense path.
func TestByteInputMatchesDense(t *testing.T) {
	for _, p := range []float64{0, 0.2, 1} {
		ds := byteDataset(40, 12, 16, p, 1)
		for _, act := range []Activation{ReLU, PReLU} {
			cfg := Config{Dataset: ds.Name, Hidden: []int{24, 8}, Activation: act}.WithDefaults()
			n, err := newNetwork(cfg, ds, 32, rand.New(rand.NewPCG(1, streamInit)))
			if err != nil {
				t.Fatal(err)
			}
			if n.bi == nil {
				t.Fatal("no byte-input path for a byte data set")
			}
			idx := []int32{3, 1, 4, 15, 9, 26, 5, 35, 8, 39, 7, 0}
			rows := len(idx)
			ds.Train.gather(n.x, n.labels, idx, n.inDim)
			n.forward(rows)
			logits := append([]float32(nil), n.logits(rows)...)
			n.loss(rows, 1/float32(rows))
			n.backward(rows)
			grads := append([]float32(nil), n.grads...)

			clear(n.grads)
			n.bi.forward(n, &ds.Train, idx)
			for i, v := range n.logits(rows) {
				if !close(float64(v), float64(logits[i]), 1e-5, 1e-5) {
					t.Fatalf("p=%v %s: logit %d: %v, dense %v", p, act, i, v, logits[i])
				}
			}
			n.loss(rows, 1/float32(rows))
			n.bi.backward(n, &ds.Train, rows)
			for i, g := range n.grads {
				if !close(float64(g), float64(grads[i]), 1e-4, 1e-6) {
					t.Fatalf("p=%v %s: gradient %d: %v, dense %v", p, act, i, g, grads[i])
				}
			}
			if p == 0.2 && (n.bi.ka == 0 || n.bi.ka == n.inDim || len(n.bi.runs) < 2) {
				t.Fatalf("p=0.2: %d active columns in %d runs; want some of %d in several runs", n.bi.ka, len(n.bi.runs), n.inDim)
			}
		}
	}
}
