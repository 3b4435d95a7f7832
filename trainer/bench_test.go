package trainer

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/kernels"
)

// BenchmarkTrainStep measures one training step of the MNIST MLP
// 784-256-128-10 (relu, shuffled batches of 128, one thread) per optimizer,
// with allocs/op. Its baseline, timed interleaved in the same run, is the
// step's matrix products computed densely (the floor of a dense
// implementation): dense_gemm/step is their time over the step's. Below 1,
// the rest of the step (gathering, activations, loss, update) is the
// trainer's overhead; above 1, the byte-input path (byteinput.go) saves more
// multiply-adds than everything else costs.
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
			// Shuffled batches, as in Train.
			perm := rand.New(rand.NewPCG(1, 2)).Perm(ds.Train.Len())
			steps := ds.Train.Len() / batch
			next := 0
			step := func() {
				for i := range idx {
					idx[i] = int32(perm[next*batch+i])
				}
				next = (next + 1) % steps
				st.step(&ds.Train, idx, 0.01)
			}
			for range 5 {
				step()
				gemms()
			}
			// Interleave baseline and step so both see the same machine load.
			var gemmTime time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				t0 := time.Now()
				gemms()
				gemmTime += time.Since(t0)
				b.StartTimer()
				step()
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(gemmTime.Seconds()/b.Elapsed().Seconds(), "dense_gemm/step")
		})
	}
}

// mnistBenchEnabled gates the full MNIST runs: they take minutes, so they
// run from scripts/bench-train.sh, not with every -bench.
func mnistBenchEnabled(b *testing.B) *Dataset {
	if os.Getenv("RELUTUNE_BENCH_MNIST") == "" {
		b.Skip("full MNIST runs: set RELUTUNE_BENCH_MNIST=1 (scripts/bench-train.sh does)")
	}
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		b.Fatal(err)
	}
	return ds
}

// BenchmarkMNISTAccuracy trains the reference configuration once (use
// -benchtime 1x): MNIST 784-256-128-10, relu, he_normal, adam 1e-3, batch
// 128, 10 epochs, seed 1 (or RELUTUNE_BENCH_SEED); it reports the test
// accuracy in percent.
func BenchmarkMNISTAccuracy(b *testing.B) {
	ds := mnistBenchEnabled(b)
	seed := uint64(1)
	if s := os.Getenv("RELUTUNE_BENCH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("RELUTUNE_BENCH_SEED=%q: want an unsigned integer", s)
		}
		seed = v
	}
	cfg := Config{Dataset: "mnist", Hidden: []int{256, 128}, Activation: ReLU, Init: HeNormal, Optimizer: Adam,
		LearningRate: 1e-3, BatchSize: 128, Epochs: 10, Seed: seed, Threads: 1}
	for range b.N {
		var best float64
		res, err := Train(context.Background(), cfg, ds, Options{Report: func(_ context.Context, m EpochMetrics) error {
			best = max(best, m.SamplesPerSec)
			return nil
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*res.TestAccuracy, "test_acc_%")
		b.ReportMetric(100*res.Final.ValAccuracy, "val_acc_%")
		b.ReportMetric(best, "samples/s")
	}
}

// BenchmarkMNISTThroughput is the side-by-side figure for PyTorch's
// torch_mlp.py: epochs of the 784-256-128-10 relu MLP with sgd, batch 128,
// one thread; it reports the best epoch's training samples/s.
func BenchmarkMNISTThroughput(b *testing.B) {
	ds := mnistBenchEnabled(b)
	cfg := Config{Dataset: "mnist", Hidden: []int{256, 128}, Activation: ReLU, Optimizer: SGD, LearningRate: 0.01,
		BatchSize: 128, Epochs: 3, Seed: 1, Threads: 1}
	for range b.N {
		var best float64
		_, err := Train(context.Background(), cfg, ds, Options{Report: func(_ context.Context, m EpochMetrics) error {
			best = max(best, m.SamplesPerSec)
			return nil
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(best, "samples/s")
	}
}

// BenchmarkWorkerMemory runs trials one after another the way a worker does
// (the MLP and the CNN, several seeds, MNIST loaded once) and reports the
// process's peak resident memory in MiB (VmHWM). Target: under 300 MiB.
func BenchmarkWorkerMemory(b *testing.B) {
	ds := mnistBenchEnabled(b)
	for range b.N {
		for seed := uint64(1); seed <= 3; seed++ {
			for _, cfg := range []Config{
				{Dataset: "mnist", Hidden: []int{256, 128}, Epochs: 1, Seed: seed},
				{Dataset: "mnist", Model: CNN, Epochs: 1, Seed: seed},
			} {
				sub := *ds
				if cfg.Model == CNN { // a CNN epoch is slow: a fifth of the training set
					sub.Train = subsplit(ds.Train, 10000)
				}
				if _, err := Train(context.Background(), cfg, &sub, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			b.ReportMetric(float64(kb)/1024, "peak_rss_MiB")
		}
	}
}

// BenchmarkGather measures assembling one shuffled MNIST batch of 128
// (bytes decoded through the normalisation table), a per-step cost that
// PyTorch's reference benchmark, slicing a float tensor, does not pay.
func BenchmarkGather(b *testing.B) {
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		b.Fatal(err)
	}
	idx := make([]int32, 128)
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 128*784)
	lab := make([]int32, 128)
	b.ResetTimer()
	for range b.N {
		for i := range idx {
			idx[i] = int32(rng.IntN(50000))
		}
		ds.Train.gather(x, lab, idx, 784)
	}
}

// BenchmarkThreadScaling measures one trial's step with 2 threads against
// the same step with 1, on the networks of BenchmarkStep, the two states
// stepped in alternating blocks of 10 steps, so both see the same machine:
// on a shared or virtual machine whose speed drifts over seconds, two
// benchmarks run one after the other compare different machines. It reports
// each side's samples/s and their ratio, speedup (2 threads over 1).
func BenchmarkThreadScaling(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cfg   Config
		batch int
	}{
		{"cnn", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{16, 32}, Hidden: []int{128}}, 128},
		{"mlp1024", Config{Dataset: "idx:a,b", Hidden: []int{1024, 1024}}, 512},
	} {
		ds := synthImages("idx:a,b", 2048, 28, 28, 10, 1)
		b.Run(bc.name, func(b *testing.B) {
			var states [2]*state
			for i, threads := range []int{1, 2} {
				cfg := bc.cfg
				cfg.Optimizer, cfg.LearningRate, cfg.BatchSize, cfg.Threads, cfg.Seed = SGD, 0.01, bc.batch, threads, 1
				st, err := newState(cfg.WithDefaults(), ds)
				if err != nil {
					b.Fatal(err)
				}
				defer st.close()
				states[i] = st
			}
			perm := rand.New(rand.NewPCG(1, 2)).Perm(ds.Train.Len())
			idx := make([]int32, bc.batch)
			next := 0
			step := func(st *state) {
				for i := range idx {
					idx[i] = int32(perm[(next*bc.batch+i)%len(perm)])
				}
				next++
				st.step(&ds.Train, idx, 0.01)
			}
			for range 3 {
				step(states[0])
				step(states[1])
			}
			const block = 10
			var elapsed [2]time.Duration
			var steps [2]int
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += block {
				for j, st := range states {
					start := time.Now()
					for k := 0; k < block && i+k < b.N; k++ {
						step(st)
						steps[j]++
					}
					elapsed[j] += time.Since(start)
				}
			}
			one := float64(steps[0]*bc.batch) / elapsed[0].Seconds()
			two := float64(steps[1]*bc.batch) / elapsed[1].Seconds()
			b.ReportMetric(one, "threads1_samples/s")
			b.ReportMetric(two, "threads2_samples/s")
			b.ReportMetric(two/one, "speedup")
		})
	}
}

// BenchmarkStep measures one training step (sgd) of the networks the thread
// scaling figures use, per thread count: the CNN of torch_cnn.py (conv 16, 32,
// dense 128, batch 128) and a 784-1024-1024-10 MLP at batch 512, on random
// float images (no byte-input path, as in the PyTorch reference).
func BenchmarkStep(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cfg   Config
		batch int
	}{
		{"cnn", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{16, 32}, Hidden: []int{128}}, 128},
		{"mlp1024", Config{Dataset: "idx:a,b", Hidden: []int{1024, 1024}}, 512},
	} {
		ds := synthImages("idx:a,b", 2048, 28, 28, 10, 1)
		for _, threads := range []int{1, 2, 4} {
			b.Run(bc.name+"/threads="+strconv.Itoa(threads), func(b *testing.B) {
				cfg := bc.cfg
				cfg.Optimizer, cfg.LearningRate, cfg.BatchSize, cfg.Threads, cfg.Seed = SGD, 0.01, bc.batch, threads, 1
				st, err := newState(cfg.WithDefaults(), ds)
				if err != nil {
					b.Fatal(err)
				}
				defer st.close()
				perm := rand.New(rand.NewPCG(1, 2)).Perm(ds.Train.Len())
				idx := make([]int32, bc.batch)
				next := 0
				step := func() {
					for i := range idx {
						idx[i] = int32(perm[(next*bc.batch+i)%len(perm)])
					}
					next++
					st.step(&ds.Train, idx, 0.01)
				}
				for range 3 {
					step()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					step()
				}
				b.ReportMetric(float64(b.N*bc.batch)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkLayerOptions measures the training step of examples/deep64.yaml's
// network (MNIST, 64 hidden layers of 64, batch 64, adam, one thread) with
// each layer option, against the same network without it (relu, or swish
// with the kernel's beta 1 for the swish variants), the two stepped in turn
// in the same run: step/baseline is the option's time over the baseline's.
func BenchmarkLayerOptions(b *testing.B) {
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		b.Fatal(err)
	}
	hidden := make([]int, 64)
	for i := range hidden {
		hidden[i] = 64
	}
	base := Config{Dataset: "mnist", Hidden: hidden, BatchSize: 64, LearningRate: 2e-4, Threads: 1, Seed: 1}
	for _, bc := range []struct {
		name      string
		set       func(*Config)
		baseSwish bool
	}{
		{"dropout=0.1", func(c *Config) { c.Dropout = 0.1 }, false},
		{"batch_norm=before", func(c *Config) { c.BatchNorm = BatchNormBefore }, false},
		{"batch_norm=after", func(c *Config) { c.BatchNorm = BatchNormAfter }, false},
		{"swish_beta=1.5", func(c *Config) { c.Activation, c.SwishBeta = Swish, 1.5 }, true},
		{"swish_beta=learnable", func(c *Config) { c.Activation, c.LearnSwishBeta = Swish, true }, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bcfg := base
			if bc.baseSwish {
				bcfg.Activation = Swish
			}
			vcfg := bcfg
			bc.set(&vcfg)
			var states [2]*state
			for i, c := range []Config{bcfg, vcfg} {
				if states[i], err = newState(c.WithDefaults(), ds); err != nil {
					b.Fatal(err)
				}
			}
			perm := rand.New(rand.NewPCG(1, 2)).Perm(ds.Train.Len())
			idx := make([]int32, 64)
			next := 0
			step := func(st *state) {
				for i := range idx {
					idx[i] = int32(perm[(next*64+i)%len(perm)])
				}
				next++
				st.step(&ds.Train, idx, 2e-4)
			}
			for range 3 {
				step(states[0])
				step(states[1])
			}
			var baseTime time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				t0 := time.Now()
				step(states[0])
				baseTime += time.Since(t0)
				b.StartTimer()
				step(states[1])
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "samples/s")
			b.ReportMetric(b.Elapsed().Seconds()/baseTime.Seconds(), "step/baseline")
		})
	}
}

// BenchmarkCNNFusion measures the CNN step of BenchmarkStep (one thread)
// with the fused convolution blocks against the same network with separate
// conv, ReLU and pool ops, the baseline, alternating the two every 5 steps
// so both see the same machine: samples/s of each, and fused/separate.
func BenchmarkCNNFusion(b *testing.B) {
	ds := synthImages("idx:a,b", 1024, 28, 28, 10, 1)
	cfg := Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{16, 32}, Hidden: []int{128},
		Optimizer: SGD, LearningRate: 0.01, BatchSize: 128, Threads: 1, Seed: 1}
	states := make([]*state, 2)
	for i, fuse := range []bool{true, false} {
		saved := fuseConvs
		fuseConvs = fuse
		st, err := newState(cfg.WithDefaults(), ds)
		fuseConvs = saved
		if err != nil {
			b.Fatal(err)
		}
		defer st.close()
		states[i] = st
	}
	idx := make([]int32, 128)
	for i := range idx {
		idx[i] = int32(i)
	}
	for _, st := range states {
		st.step(&ds.Train, idx, 0.01)
	}
	var elapsed [2]time.Duration
	var steps [2]int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; {
		for j, st := range states {
			start := time.Now()
			for k := 0; k < 5 && i+k < b.N; k++ {
				st.step(&ds.Train, idx, 0.01)
				steps[j]++
			}
			elapsed[j] += time.Since(start)
		}
		i += 5
	}
	fused := float64(steps[0]*128) / elapsed[0].Seconds()
	separate := float64(steps[1]*128) / elapsed[1].Seconds()
	b.ReportMetric(fused, "fused_samples/s")
	b.ReportMetric(separate, "separate_samples/s")
	b.ReportMetric(fused/separate, "fused/separate")
}
