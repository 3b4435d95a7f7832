package trainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"
)

// perturb sets every parameter that starts at a constant (batch-norm gamma
// and beta, swish beta) to a random value near it, so that the gradient
// check sees a general point, and fills the running statistics.
func perturb(n *network) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, b := range n.bns {
		for j := range b.units {
			n.params[b.gOff+j] = float32(0.5 + rng.Float64())
			n.params[b.bOff+j] = float32(rng.NormFloat64() * 0.3)
			n.running[b.runOff+j] = float32(rng.NormFloat64() * 0.2)
			n.running[b.runOff+b.units+j] = float32(0.5 + rng.Float64())
		}
	}
	for _, h := range n.hidden {
		if h.betaOff >= 0 {
			n.params[h.betaOff] = float32(0.5 + rng.Float64())
		}
	}
}

// TestLayerGradients checks batch normalisation (in training and in
// evaluation), dropout and swish with a fixed and a learnable beta against
// finite differences, alone and together, in MLPs and a CNN.
func TestLayerGradients(t *testing.T) {
	mlp := func(c Config) Config {
		c.Dataset, c.Hidden, c.Seed = "t", []int{6, 5}, 3
		return c
	}
	cases := []struct {
		name     string
		cfg      Config
		training bool
	}{
		{"bn-before/tanh", mlp(Config{BatchNorm: BatchNormBefore, Activation: Tanh}), true},
		{"bn-after/tanh", mlp(Config{BatchNorm: BatchNormAfter, Activation: Tanh}), true},
		{"bn-before/eval", mlp(Config{BatchNorm: BatchNormBefore, Activation: GELU}), false},
		{"bn-after/eval", mlp(Config{BatchNorm: BatchNormAfter, Activation: Sigmoid}), false},
		// GELU, not ReLU: with dropout a row often reaches a layer with every
		// input 0, so its pre-activation is the bias, exactly 0 at
		// initialisation, ReLU's kink, where a difference quotient is 1/2.
		{"dropout/gelu", mlp(Config{Dropout: 0.3, Activation: GELU}), true},
		{"dropout/eval", mlp(Config{Dropout: 0.3, Activation: ELU}), false},
		{"swish-beta-fixed", mlp(Config{Activation: Swish, SwishBeta: 1.7}), true},
		{"swish-beta-learnable", mlp(Config{Activation: Swish, LearnSwishBeta: true}), true},
		{"all/learnable-swish", mlp(Config{Activation: Swish, LearnSwishBeta: true, SwishBeta: 0.8, BatchNorm: BatchNormBefore, Dropout: 0.2}), true},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			// A step of 2e-3: batch norm over 8 rows curves the loss enough
			// that 1e-2 is off by a few percent, while float32 rounding
			// still stays well under the tolerance.
			for seed := range uint64(4) {
				cfg := tt.cfg
				cfg.Seed = seed + 3
				checkNetworkGradientMode(t, cfg, synthDataset("t", 8, 5, 3, seed+2), 8, 2e-3, tt.training, perturb)
			}
		})
	}
	// One seed for the CNN: with batch norm, the loss is rounded enough
	// that a smaller step is noise, and a larger one moves max-pooling
	// windows across ties (about one parameter in 500 over seeds 1-8).
	for _, bn := range []BatchNorm{BatchNormBefore, BatchNormAfter} {
		t.Run("cnn/"+string(bn), func(t *testing.T) {
			ds := synthImages("t", 3, 6, 6, 3, 1)
			cfg := Config{Dataset: "t", Model: CNN, Conv: []int{3, 2}, Hidden: []int{4}, Activation: Tanh, BatchNorm: bn, Seed: 1}
			checkNetworkGradientMode(t, cfg, ds, 3, 1e-3, true, perturb)
		})
	}
}

// TestDropoutMasks: the masks drop about the rate, scale the kept values,
// depend on the step, the layer and the row, are the same for a row
// whichever shard computes it, and evaluation drops nothing.
func TestDropoutMasks(t *testing.T) {
	cfg := Config{Dataset: "t", Hidden: []int{256}, Dropout: 0.3, Seed: 5}.WithDefaults()
	n, err := newNetwork(cfg, synthDataset("t", 4, 3, 2, 1), 64, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	d := &dropout{dim: 256, layer: 0, rate: 0.3}
	in := make([]float32, 64*256)
	for i := range in {
		in[i] = 1
	}
	out := make([]float32, len(in))
	n.training, n.step = true, 7
	d.forward(n, in, out, 64)
	zeros := 0
	for _, v := range out {
		switch v {
		case 0:
			zeros++
		case 1 / (1 - float32(0.3)):
		default:
			t.Fatalf("kept value %v, want 1/(1-0.3)", v)
		}
	}
	if frac := float64(zeros) / float64(len(out)); math.Abs(frac-0.3) > 0.02 {
		t.Errorf("dropped %.3f of the values, want 0.3", frac)
	}
	// Rows 32.. computed by a shard with row offset 32 match.
	shard := make([]float32, 32*256)
	n.rowOff = 32
	d.forward(n, in[:32*256], shard, 32)
	if !reflect.DeepEqual(shard, out[32*256:]) {
		t.Error("a shard's masks differ from the same rows of the whole batch")
	}
	n.rowOff = 0
	other := make([]float32, len(in))
	for _, change := range []func(){func() { n.step = 8 }, func() { n.step = 7; d.layer = 1 }} {
		change()
		d.forward(n, in, other, 64)
		if reflect.DeepEqual(other, out) {
			t.Error("masks did not change with the step or the layer")
		}
	}
	if reflect.DeepEqual(out[:256], out[256:512]) {
		t.Error("two rows have the same mask")
	}
	n.training = false
	d.forward(n, in, other, 64)
	if !reflect.DeepEqual(other, in) {
		t.Error("evaluation changed its input")
	}
}

// TestBatchNormStatistics: training normalises each unit to mean 0 and
// variance 1 (gamma 1, beta 0), the running statistics move 0.1 of the way
// to the batch's (unbiased variance), sharded batches combine to the whole
// batch's statistics, and evaluation uses the running ones.
func TestBatchNormStatistics(t *testing.T) {
	cfg := Config{Dataset: "t", Hidden: []int{4}, BatchNorm: BatchNormBefore, Seed: 5}.WithDefaults()
	n, err := newNetwork(cfg, synthDataset("t", 4, 3, 2, 1), 64, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	b := n.bns[0]
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 64*4)
	for i := range x {
		x[i] = float32(3 + 2*rng.NormFloat64() + float64(i%4))
	}
	y := make([]float32, len(x))
	n.training = true
	b.forward(n, x, y, 64)
	for j := range 4 {
		var s, sq, xs, xsq float64
		for r := range 64 {
			v := float64(y[r*4+j])
			s += v
			sq += v * v
			xs += float64(x[r*4+j])
			xsq += float64(x[r*4+j]) * float64(x[r*4+j])
		}
		if math.Abs(s/64) > 1e-5 || math.Abs(sq/64-1) > 1e-3 {
			t.Errorf("unit %d: mean %v, variance %v after normalising, want 0 and 1", j, s/64, sq/64)
		}
		mean, vr := xs/64, (xsq/64-(xs/64)*(xs/64))*64/63
		updateRunning(n.running, []*network{n}, n.bns)
		if !close(float64(n.running[j]), 0.1*mean, 1e-4, 1e-5) || !close(float64(n.running[4+j]), 0.9+0.1*vr, 1e-4, 1e-5) {
			t.Errorf("unit %d: running mean %v variance %v, want %v and %v", j, n.running[j], n.running[4+j], 0.1*mean, 0.9+0.1*vr)
		}
		copy(n.running, []float32{0, 0, 0, 0, 1, 1, 1, 1})
	}
	// Two shards of 40 and 24 rows give the whole batch's statistics.
	whole := append([]float32(nil), n.bnStats[0]...)
	s1 := n.shard(64)
	s2 := n.shard(64)
	s1.training, s2.training = true, true
	b.forward(s1, x[:40*4], y[:40*4], 40)
	b.forward(s2, x[40*4:], y[40*4:], 24)
	updateRunning(n.running, []*network{s1, s2}, n.bns)
	got := append([]float32(nil), n.running...)
	copy(n.running, []float32{0, 0, 0, 0, 1, 1, 1, 1})
	copy(n.bnStats[0], whole)
	n.bnCount = 64
	updateRunning(n.running, []*network{n}, n.bns)
	for i := range got {
		if !close(float64(got[i]), float64(n.running[i]), 1e-4, 1e-5) {
			t.Errorf("running statistic %d: %v from two shards, %v from the whole batch", i, got[i], n.running[i])
		}
	}
	// Evaluation: y = gamma*(x-rm)/sqrt(rv+eps)+beta.
	n.training = false
	b.forward(n, x, y, 64)
	for i, v := range x {
		j := i % 4
		want := (float64(v) - float64(n.running[j])) / math.Sqrt(float64(n.running[4+j])+bnEpsilon)
		if !close(float64(y[i]), want, 1e-5, 1e-5) {
			t.Fatalf("evaluation output %d: %v, want %v", i, y[i], want)
		}
	}
}

// TestNewLayersLearn: each new option trains a small network on spirals to
// high accuracy.
func TestNewLayersLearn(t *testing.T) {
	base := Config{Dataset: "spirals", Hidden: []int{32, 32}, Epochs: 20, BatchSize: 32, LearningRate: 0.01, Seed: 1}
	cases := map[string]func(*Config){
		"dropout":              func(c *Config) { c.Dropout = 0.1 },
		"batch-norm-before":    func(c *Config) { c.BatchNorm = BatchNormBefore },
		"batch-norm-after":     func(c *Config) { c.BatchNorm = BatchNormAfter },
		"swish-beta-2":         func(c *Config) { c.Activation, c.SwishBeta = Swish, 2 },
		"swish-beta-learnable": func(c *Config) { c.Activation, c.LearnSwishBeta = Swish, true },
		"lecun-uniform":        func(c *Config) { c.Init = LecunUniform },
	}
	ds := spirals(t, 1)
	for name, set := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			set(&cfg)
			ms, res := runMetrics(t, cfg, ds, Options{})
			if res.TestAccuracy < 0.9 {
				t.Errorf("test accuracy %.3f, want >= 0.9", res.TestAccuracy)
			}
			if cfg.LearnSwishBeta {
				b := ms[len(ms)-1].Layers[0].SwishBeta
				if b == nil || *b == 1 {
					t.Errorf("learnable swish beta not reported or not trained: %v", b)
				}
			}
		})
	}
}

// TestNormalizeInputs: unit and none decode MNIST bytes as byte/255 and the
// raw byte, standard leaves the data set's table, and each trains.
func TestNormalizeInputs(t *testing.T) {
	full, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	sub := *full
	sub.Train = subsplit(full.Train, 3000)
	sub.Val = subsplit(full.Val, 500)
	sub.Test = subsplit(full.Test, 500)
	if normalized(&sub, NormalizeStandard) != &sub || normalized(&sub, "") != &sub {
		t.Error("standard normalisation copied the data set")
	}
	for _, tt := range []struct {
		norm Normalize
		want float32 // decoded 255
		acc  float64 // raw bytes give logits in the hundreds: learning, slowly
	}{{NormalizeUnit, 1, 0.8}, {NormalizeNone, 255, 0.5}} {
		t.Run(string(tt.norm), func(t *testing.T) {
			d := normalized(&sub, tt.norm)
			if d.Train.lut[255] != tt.want || d.Test.lut[0] != 0 || sub.Train.lut[0] == 0 {
				t.Fatalf("decoding table: 255 -> %v (want %v), 0 -> %v; the shared set's 0 -> %v", d.Train.lut[255], tt.want, d.Test.lut[0], sub.Train.lut[0])
			}
			_, res := runMetrics(t, Config{Dataset: "mnist", Hidden: []int{64}, Epochs: 2, Normalize: tt.norm, Seed: 1}, &sub, Options{})
			if res.TestAccuracy < tt.acc {
				t.Errorf("test accuracy %.3f, want >= %v", res.TestAccuracy, tt.acc)
			}
		})
	}
	if err := (Config{Dataset: "spirals", Normalize: NormalizeUnit}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "normalize") {
		t.Errorf("normalize unit on spirals: %v, want an error naming normalize", err)
	}
}

// TestResumeIdentityNewLayers: dropout, batch norm (its running statistics
// in a version-2 checkpoint) and a learnable swish beta resume bit-for-bit,
// single- and multi-threaded.
func TestResumeIdentityNewLayers(t *testing.T) {
	ds := synthDataset("csv:r", 256, 12, 3, 4)
	for name, cfg := range map[string]Config{
		"dropout-bn":        {Dropout: 0.2, BatchNorm: BatchNormBefore},
		"bn-after-swish":    {BatchNorm: BatchNormAfter, Activation: Swish, LearnSwishBeta: true},
		"dropout-bn-thread": {Dropout: 0.2, BatchNorm: BatchNormAfter, Threads: 2},
		"dropout-only":      {Dropout: 0.5},
	} {
		t.Run(name, func(t *testing.T) {
			cfg.Dataset, cfg.Hidden, cfg.Epochs, cfg.BatchSize, cfg.Seed = "csv:r", []int{32, 16}, 3, 64, 6
			var ckpt []byte
			full, fullRes := runMetrics(t, cfg, ds, Options{Checkpoint: func(epoch int, write func(io.Writer) error) error {
				if epoch == 1 {
					var b bytes.Buffer
					err := write(&b)
					ckpt = b.Bytes()
					return err
				}
				return nil
			}})
			wantVersion := byte(1)
			if cfg.BatchNorm != "" {
				wantVersion = 2
			}
			if ckpt[7] != wantVersion {
				t.Errorf("checkpoint format version %d, want %d", ckpt[7], wantVersion)
			}
			rest, res := runMetrics(t, cfg, ds, Options{Resume: bytes.NewReader(ckpt)})
			if !reflect.DeepEqual(rest, full[1:]) || !reflect.DeepEqual(res, fullRes) {
				t.Fatalf("resumed run differs:\n got %+v\nwant %+v", rest, full[1:])
			}
		})
	}
}

// TestCheckpointVersions: a checkpoint without batch norm is written in
// format 1 and loads; one claiming running statistics the model lacks, or
// lacking those it has, is refused.
func TestCheckpointVersions(t *testing.T) {
	ds := synthDataset("csv:r", 64, 6, 3, 4)
	write := func(cfg Config) []byte {
		st, err := newState(cfg.WithDefaults(), ds)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := st.write(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	plain := Config{Dataset: "csv:r", Hidden: []int{8}, Seed: 1}
	bn := plain
	bn.BatchNorm = BatchNormBefore
	old := write(plain)
	if !bytes.Equal(old[:8], checkpointMagic[:]) {
		t.Fatalf("magic %q, want format 1", old[:8])
	}
	st, _ := newState(plain.WithDefaults(), ds)
	if err := st.restore(bytes.NewReader(old)); err != nil {
		t.Fatalf("format 1: %v", err)
	}
	st, _ = newState(bn.WithDefaults(), ds)
	if err := st.restore(bytes.NewReader(old)); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("format 1 checkpoint into a batch-norm model: %v, want ErrCheckpoint", err)
	}
	if err := st.restore(bytes.NewReader(write(bn))); err != nil {
		t.Fatalf("format 2: %v", err)
	}
	// A checkpoint whose config spells the defaults out still resumes.
	explicit := plain
	explicit.BatchNorm, explicit.Normalize, explicit.SwishBeta = BatchNormNone, NormalizeStandard, 1
	st, _ = newState(plain.WithDefaults(), ds)
	if err := st.restore(bytes.NewReader(write(explicit))); err != nil {
		t.Fatalf("explicit defaults: %v", err)
	}
}

// TestSubset: a subset holds the first examples of each split.
func TestSubset(t *testing.T) {
	ds := synthDataset("t", 10, 3, 2, 1)
	sub := ds.Subset(4, 20, 0)
	if sub.Train.Len() != 4 || sub.Val.Len() != 10 || sub.Test.Len() != 0 {
		t.Fatalf("subset sizes %d, %d, %d; want 4, 10, 0", sub.Train.Len(), sub.Val.Len(), sub.Test.Len())
	}
	x := make([]float32, 4*3)
	lab := make([]int32, 4)
	sub.Train.gatherRange(x, lab, 0, 4, 3)
	if !reflect.DeepEqual(x, ds.Train.floats[:12]) || !reflect.DeepEqual(lab, ds.Train.labels[:4]) {
		t.Error("subset examples differ from the first ones")
	}
}

// TestResumeVersion1Checkpoint resumes a checkpoint written by the trainer
// before the format had a version 2 (epoch 1 of a 3-epoch prelu run on
// spirals) and finishes with the result that trainer recorded for the
// uninterrupted run (testdata/checkpoint-v1.*; to rounding, since the file
// was written on the assembly path).
func TestResumeVersion1Checkpoint(t *testing.T) {
	ckpt, err := os.ReadFile("testdata/checkpoint-v1.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/checkpoint-v1.result.json")
	if err != nil {
		t.Fatal(err)
	}
	var want Result
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dataset: "spirals", Hidden: []int{8, 8}, Activation: PReLU, Epochs: 3, BatchSize: 64, Seed: 3}
	ms, got := runMetrics(t, cfg, spirals(t, 3), Options{Resume: bytes.NewReader(ckpt)})
	if len(ms) != 2 || got.Epochs != 3 {
		t.Fatalf("resumed %d epochs to epoch %d, want 2 to 3", len(ms), got.Epochs)
	}
	for _, p := range [][2]float64{{got.TestAccuracy, want.TestAccuracy}, {got.Final.ValLoss, want.Final.ValLoss},
		{got.Final.TrainLoss, want.Final.TrainLoss}, {got.BestValAccuracy, want.BestValAccuracy}} {
		if !close(p[0], p[1], 1e-4, 1e-6) {
			t.Errorf("resumed result %+v, recorded %+v", got, want)
			break
		}
	}
}
