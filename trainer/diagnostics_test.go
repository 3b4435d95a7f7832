package trainer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/relutune/relutune/kernels"
)

func probeNet(t *testing.T, cfg Config, ds *Dataset, capRows int) *network {
	t.Helper()
	n, err := newNetwork(cfg.WithDefaults(), ds, capRows, rand.New(rand.NewPCG(1, streamInit)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDeadUnits(t *testing.T) {
	ds := spirals(t, 1)
	n := probeNet(t, Config{Dataset: "spirals", Hidden: []int{8, 8}}, ds, 1024)
	first := n.ops[0].(*dense)
	for j := range 3 { // three units with a hopeless bias never fire
		n.params[first.bOff+j] = -1e4
	}
	stats := newProber(n, ds).stats(&ds.Val)
	if got := stats[0].DeadFraction; got != 3.0/8 {
		t.Errorf("dead fraction %v, want 3/8", got)
	}
	if stats[0].Saturation != 0 {
		t.Errorf("relu saturation %v, want 0", stats[0].Saturation)
	}
}

func TestSaturation(t *testing.T) {
	ds := spirals(t, 1)
	for _, act := range []Activation{Sigmoid, Tanh} {
		n := probeNet(t, Config{Dataset: "spirals", Hidden: []int{16}, Activation: act}, ds, 1024)
		calm := newProber(n, ds).stats(&ds.Val)[0].Saturation
		first := n.ops[0].(*dense)
		kernels.Scale(1000, n.params[first.wOff:first.wOff+first.in*first.out])
		hot := newProber(n, ds).stats(&ds.Val)[0].Saturation
		if calm > 0.2 || hot < 0.9 {
			t.Errorf("%s: saturation %v at init, %v with weights x1000; want small, then >= 0.9", act, calm, hot)
		}
	}
}

// TestProbeStats checks the moments and gradient norms against a direct
// computation, and that chunking the probe batch does not change them.
func TestProbeStats(t *testing.T) {
	ds := spirals(t, 1)
	cfg := Config{Dataset: "spirals", Hidden: []int{12, 6}, Activation: PReLU}
	whole := probeNet(t, cfg, ds, 1024)
	chunked := probeNet(t, cfg, ds, 96)
	a := newProber(whole, ds).stats(&ds.Val)
	b := newProber(chunked, ds).stats(&ds.Val)
	for i := range a {
		for _, p := range [][2]float64{{a[i].ActMean, b[i].ActMean}, {a[i].ActStd, b[i].ActStd}, {a[i].GradNorm, b[i].GradNorm}} {
			if !close(p[0], p[1], 1e-4, 1e-7) {
				t.Errorf("layer %d: one chunk %+v, chunks of 96 %+v", i, a[i], b[i])
			}
		}
		if a[i].PReLUSlope == nil || *a[i].PReLUSlope != 0.25 {
			t.Errorf("layer %d: prelu slope %v, want 0.25", i, a[i].PReLUSlope)
		}
	}
	// Direct: forward all 1000 validation points at once.
	rows := ds.Val.Len()
	ds.Val.gatherRange(whole.x, whole.labels, 0, rows, 2)
	whole.forward(rows)
	whole.loss(rows, 1/float32(rows))
	whole.backward(rows)
	for i, h := range whole.hidden {
		y := whole.outs[h.act][:rows*h.units]
		var s, sq float64
		for _, v := range y {
			s += float64(v)
			sq += float64(v) * float64(v)
		}
		mean := s / float64(len(y))
		std := math.Sqrt(sq/float64(len(y)) - mean*mean)
		g := math.Sqrt(kernels.SumSquares(whole.grads[h.paramOff : h.paramOff+h.paramN]))
		if !close(a[i].ActMean, mean, 1e-6, 1e-9) || !close(a[i].ActStd, std, 1e-6, 1e-9) || !close(a[i].GradNorm, g, 1e-5, 1e-9) {
			t.Errorf("layer %d: stats %+v, direct mean %v std %v grad norm %v", i, a[i], mean, std, g)
		}
	}
}

// TestStepAllocatesNothing is the allocation guarantee of the training step.
func TestStepAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector; make test checks them without it")
	}
	for _, cfg := range []Config{
		{Dataset: "csv:x", Hidden: []int{32, 16}, Optimizer: Adam, ClipNorm: 1},
		{Dataset: "csv:x", Hidden: []int{32}, Activation: PReLU, Optimizer: Momentum, Nesterov: true, Momentum: 0.9, WeightDecay: 1e-4},
		{Dataset: "csv:x", Model: CNN, Conv: []int{4}, Hidden: []int{8}, Optimizer: SGD},
		{Dataset: "idx:a,b", Hidden: []int{32}, Optimizer: SGD}, // the byte-image fast path
		{Dataset: "idx:a,b", Hidden: []int{32, 16}, BatchNorm: BatchNormBefore, Dropout: 0.3},
		{Dataset: "csv:x", Hidden: []int{16}, BatchNorm: BatchNormAfter, Activation: Swish, LearnSwishBeta: true, Dropout: 0.1},
		{Dataset: "csv:x", Hidden: []int{16}, Activation: Swish, SwishBeta: 1.5, Threads: 2},
		{Dataset: "idx:a,b", Hidden: []int{16}, BatchNorm: BatchNormBefore, Dropout: 0.2, Threads: 2},
	} {
		ds := synthImages("csv:x", 64, 8, 8, 3, 1)
		if cfg.Dataset != ds.Name {
			ds = byteDataset(64, 12, 16, 0.3, 1)
		}
		st, err := newState(cfg.WithDefaults(), ds)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int32, 32)
		for i := range idx {
			idx[i] = int32(2 * i)
		}
		if a := testing.AllocsPerRun(20, func() { st.step(&ds.Train, idx, 1e-3) }); a != 0 {
			t.Errorf("%s %s %s: %v allocations per step, want 0", cfg.Dataset, cfg.Model, cfg.Optimizer, a)
		}
		if (st.net.bi != nil) != (ds.Train.bytes != nil) {
			t.Errorf("%s: byte-input path %v for a byte data set %v", cfg.Dataset, st.net.bi != nil, ds.Train.bytes != nil)
		}
	}
}

// TestProbeStatsNewLayers: with batch norm, dropout and a learnable swish
// beta the diagnostics still report one entry per hidden layer, read the
// activation's output in evaluation mode (no dropout, running statistics),
// so they do not depend on the step, chunking or training mode the network
// was left in, and leave the running statistics alone.
func TestProbeStatsNewLayers(t *testing.T) {
	ds := spirals(t, 1)
	for _, bn := range []BatchNorm{BatchNormBefore, BatchNormAfter} {
		cfg := Config{Dataset: "spirals", Hidden: []int{12, 6, 5}, Activation: Swish, LearnSwishBeta: true, SwishBeta: 0.7, BatchNorm: bn, Dropout: 0.5}
		whole := probeNet(t, cfg, ds, 1024)
		chunked := probeNet(t, cfg, ds, 96)
		perturb(whole)
		perturb(chunked)
		running := append([]float32(nil), whole.running...)
		a := newProber(whole, ds).stats(&ds.Val)
		chunked.training, chunked.step = true, 99
		b := newProber(chunked, ds).stats(&ds.Val)
		if len(a) != 3 || len(b) != 3 {
			t.Fatalf("%s: %d and %d layer stats, want 3", bn, len(a), len(b))
		}
		for i := range a {
			for _, p := range [][2]float64{{a[i].ActMean, b[i].ActMean}, {a[i].ActStd, b[i].ActStd}, {a[i].GradNorm, b[i].GradNorm}, {a[i].DeadFraction, b[i].DeadFraction}} {
				if !close(p[0], p[1], 1e-4, 1e-7) {
					t.Errorf("%s layer %d: %+v, chunked after a training step %+v", bn, i, a[i], b[i])
				}
			}
			if a[i].SwishBeta == nil || *a[i].SwishBeta != float64(whole.params[whole.hidden[i].betaOff]) {
				t.Errorf("%s layer %d: swish beta %v", bn, i, a[i].SwishBeta)
			}
			if a[i].DeadFraction != 0 || a[i].GradNorm == 0 {
				t.Errorf("%s layer %d: dead %v, grad norm %v (dropout must not show as dead units)", bn, i, a[i].DeadFraction, a[i].GradNorm)
			}
		}
		for i := range running {
			if whole.running[i] != running[i] {
				t.Fatalf("%s: the diagnostics changed running statistic %d", bn, i)
			}
		}
	}
}
