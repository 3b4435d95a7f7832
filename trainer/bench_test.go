package trainer

import (
	"testing"
	"time"

	"github.com/relutune/relutune/kernels"
)

// BenchmarkTrainStep measures one training step of the MNIST MLP
// 784-256-128-10 (relu, batch 128, one thread) per optimizer, with
// allocs/op. Its baseline, timed in the same run, is the step's matrix
// products alone (the floor any implementation pays): gemm_fraction is the
// share of the step they take, so 1 - gemm_fraction is the trainer's own
// overhead (gathering, activations, loss, update).
func BenchmarkTrainStep(b *testing.B) {
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, opt := range []OptimizerKind{SGD, Adam} {
		b.Run(string(opt), func(b *testing.B) {
			cfg := Config{Dataset: "mnist", Hidden: []int{256, 128}, Optimizer: opt, BatchSize: 128, Threads: 1, Seed: 1}.WithDefaults()
			st, err := newState(cfg, ds)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 128
			idx := make([]int32, batch)
			gemms := func() {
				n := st.net
				for _, o := range n.ops {
					if d, ok := o.(*dense); ok {
						w := n.params[d.wOff : d.wOff+d.in*d.out]
						kernels.Sgemm(false, false, batch, d.out, d.in, 1, n.x, d.in, w, d.out, 0, n.outs[0], d.out)
						kernels.Sgemm(true, false, d.in, d.out, batch, 1, n.x, d.in, n.outs[0], d.out, 0, n.grads[d.wOff:], d.out)
						if d.in != n.inDim {
							kernels.Sgemm(false, true, batch, d.in, d.out, 1, n.outs[0], d.out, w, d.out, 0, n.x, d.in)
						}
					}
				}
			}
			steps := ds.Train.Len() / batch
			next := 0
			step := func() {
				for i := range idx {
					idx[i] = int32(next*batch + i)
				}
				next = (next + 1) % steps
				st.step(&ds.Train, idx, 0.01)
			}
			for range 5 {
				step()
				gemms()
			}
			t0 := time.Now()
			for range b.N {
				gemms()
			}
			gemmTime := time.Since(t0)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(gemmTime.Seconds()/b.Elapsed().Seconds(), "gemm_fraction")
		})
	}
}
