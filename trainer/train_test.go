package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
)

// runMetrics trains and returns every epoch's metrics (throughput zeroed,
// the one wall-clock figure) and the result.
func runMetrics(t *testing.T, cfg Config, ds *Dataset, opts Options) ([]EpochMetrics, Result) {
	t.Helper()
	var ms []EpochMetrics
	opts.Report = func(_ context.Context, m EpochMetrics) error {
		m.SamplesPerSec = 0
		ms = append(ms, m)
		return nil
	}
	res, err := Train(context.Background(), cfg, ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	res.Final.SamplesPerSec = 0
	return ms, res
}

func spirals(t *testing.T, seed uint64) *Dataset {
	t.Helper()
	ds, err := LoadDataset("spirals", seed)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestSpiralsAccuracy is the smoke test: a small ReLU MLP learns spirals.
func TestSpiralsAccuracy(t *testing.T) {
	cfg := Config{Dataset: "spirals", Hidden: []int{32, 32}, Activation: ReLU, Epochs: 20, BatchSize: 32, LearningRate: 0.01, Seed: 1}
	ms, res := runMetrics(t, cfg, spirals(t, 1), Options{})
	if len(ms) != 20 || res.Epochs != 20 {
		t.Fatalf("%d epochs reported, result says %d, want 20", len(ms), res.Epochs)
	}
	if res.Final.ValAccuracy < 0.95 || res.TestAccuracy < 0.95 {
		t.Errorf("val accuracy %.3f, test accuracy %.3f, want >= 0.95", res.Final.ValAccuracy, res.TestAccuracy)
	}
	if ms[len(ms)-1].TrainLoss >= ms[0].TrainLoss {
		t.Errorf("train loss went from %v to %v", ms[0].TrainLoss, ms[len(ms)-1].TrainLoss)
	}
	for i, m := range ms {
		if m.Epoch != i+1 || len(m.Layers) != 2 || m.LR != 0.01 {
			t.Fatalf("epoch %d metrics: %+v", i+1, m)
		}
	}
}

// TestDeterminism: the same seed gives identical metrics, another seed different ones.
func TestDeterminism(t *testing.T) {
	cfg := Config{Dataset: "moons", Hidden: []int{16}, Activation: PReLU, Epochs: 3, BatchSize: 64, Seed: 4}
	ds, err := LoadDataset("moons", 4)
	if err != nil {
		t.Fatal(err)
	}
	a, ra := runMetrics(t, cfg, ds, Options{})
	b, rb := runMetrics(t, cfg, ds, Options{})
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		t.Fatalf("same seed, different runs:\n%+v\n%+v", a, b)
	}
	cfg.Seed = 5
	c, _ := runMetrics(t, cfg, ds, Options{})
	if reflect.DeepEqual(a, c) {
		t.Fatal("seeds 4 and 5 gave identical metrics")
	}
}

// TestResumeIdentity: resuming from the checkpoint of epoch k reproduces
// the uninterrupted run's later epochs and result exactly, for every
// optimizer (and schedules, clipping, decay, PReLU).
func TestResumeIdentity(t *testing.T) {
	ds := spirals(t, 2)
	base := Config{Dataset: "spirals", Hidden: []int{16, 16}, Epochs: 5, BatchSize: 64, Seed: 9}
	cases := map[string]Config{
		"sgd-step":           {Optimizer: SGD, Activation: ReLU, LRSchedule: ScheduleStep, StepEpochs: 2},
		"momentum-nesterov":  {Optimizer: Momentum, Nesterov: true, Activation: PReLU, WeightDecay: 1e-3, ClipNorm: 1},
		"adam-cosine-warmup": {Optimizer: Adam, Activation: Swish, LRSchedule: ScheduleCosine, WarmupEpochs: 1},
		"adamw":              {Optimizer: AdamW, Activation: ELU, Patience: 2},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := base
			cfg.Optimizer, cfg.Nesterov, cfg.Activation, cfg.LRSchedule = c.Optimizer, c.Nesterov, c.Activation, c.LRSchedule
			cfg.StepEpochs, cfg.WeightDecay, cfg.ClipNorm, cfg.WarmupEpochs, cfg.Patience = c.StepEpochs, c.WeightDecay, c.ClipNorm, c.WarmupEpochs, c.Patience
			ckpts := map[int][]byte{}
			full, fullRes := runMetrics(t, cfg, ds, Options{Checkpoint: func(epoch int, write func(io.Writer) error) error {
				var b bytes.Buffer
				if err := write(&b); err != nil {
					return err
				}
				ckpts[epoch] = b.Bytes()
				return nil
			}})
			if len(ckpts) != len(full) {
				t.Fatalf("%d checkpoints for %d epochs", len(ckpts), len(full))
			}
			for k := 1; k < len(full); k++ {
				rest, res := runMetrics(t, cfg, ds, Options{Resume: bytes.NewReader(ckpts[k])})
				if !reflect.DeepEqual(rest, full[k:]) {
					t.Fatalf("resumed after epoch %d:\n got %+v\nwant %+v", k, rest, full[k:])
				}
				if !reflect.DeepEqual(res, fullRes) {
					t.Fatalf("resumed after epoch %d: result %+v, want %+v", k, res, fullRes)
				}
			}
			// Resuming the last checkpoint trains nothing and returns the result.
			rest, res := runMetrics(t, cfg, ds, Options{Resume: bytes.NewReader(ckpts[len(full)])})
			if len(rest) != 0 || !reflect.DeepEqual(res, fullRes) {
				t.Fatalf("resume of the final checkpoint: %d epochs, result %+v, want %+v", len(rest), res, fullRes)
			}
		})
	}
}

// TestResumeRejects damaged checkpoints and checkpoints of another config.
func TestResumeRejects(t *testing.T) {
	ds := spirals(t, 2)
	cfg := Config{Dataset: "spirals", Hidden: []int{8}, Epochs: 2, Seed: 1}
	var ckpt []byte
	runMetrics(t, cfg, ds, Options{Checkpoint: func(epoch int, write func(io.Writer) error) error {
		var b bytes.Buffer
		err := write(&b)
		ckpt = b.Bytes()
		return err
	}})
	damaged := append([]byte(nil), ckpt...)
	damaged[len(damaged)-20] ^= 1
	other := cfg
	other.Hidden = []int{9}
	otherLR := cfg
	otherLR.LearningRate = 0.5
	for name, tc := range map[string]struct {
		cfg  Config
		data []byte
	}{
		"damaged":          {cfg, damaged},
		"truncated":        {cfg, ckpt[:len(ckpt)/2]},
		"not a checkpoint": {cfg, []byte("hello, world")},
		"other model":      {other, ckpt},
		"other lr":         {otherLR, ckpt},
	} {
		_, err := Train(context.Background(), tc.cfg, ds, Options{Resume: bytes.NewReader(tc.data)})
		if !errors.Is(err, ErrCheckpoint) {
			t.Errorf("%s: err = %v, want ErrCheckpoint", name, err)
		}
	}
}

// TestDivergence: a NaN/Inf loss ends training with a *DivergedError.
func TestDivergence(t *testing.T) {
	t.Run("huge inputs", func(t *testing.T) {
		ds := synthDataset("csv:huge", 64, 4, 3, 1)
		for i := range ds.Train.floats {
			ds.Train.floats[i] *= 1e38 // sums of these overflow float32
		}
		res, err := Train(context.Background(), Config{Dataset: "csv:huge", Hidden: []int{8}, Epochs: 2, Seed: 1}, ds, Options{})
		if _, jerr := json.Marshal(res); jerr != nil || res.Epochs != 0 {
			t.Errorf("result of a run that diverged in epoch 1: %+v, JSON error %v", res, jerr)
		}
		var de *DivergedError
		if !errors.Is(err, ErrDiverged) || !errors.As(err, &de) || de.Epoch != 1 {
			t.Fatalf("err = %v, want a DivergedError in epoch 1", err)
		}
		if !math.IsNaN(de.Loss) && !math.IsInf(de.Loss, 0) {
			t.Fatalf("diverged loss %v is finite", de.Loss)
		}
	})
	t.Run("learning rate", func(t *testing.T) {
		_, err := Train(context.Background(), Config{Dataset: "spirals", Hidden: []int{64, 64}, Optimizer: SGD, LearningRate: 10, Epochs: 20, Seed: 1}, spirals(t, 1), Options{})
		if !errors.Is(err, ErrDiverged) {
			t.Fatalf("sgd with lr 10: err = %v, want ErrDiverged", err)
		}
	})
}

// TestCancel: cancelling the context stops training between batches.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	epochs := 0
	res, err := Train(ctx, Config{Dataset: "spirals", Hidden: []int{8}, Epochs: 5, Seed: 1}, spirals(t, 1), Options{
		Report: func(context.Context, EpochMetrics) error { epochs++; cancel(); return nil },
	})
	if !errors.Is(err, context.Canceled) || epochs != 1 || res.Epochs != 1 {
		t.Fatalf("err = %v after %d epochs (result %d), want context.Canceled after 1", err, epochs, res.Epochs)
	}
}

// TestReportErrorStops: a Report error ends training and is wrapped.
func TestReportErrorStops(t *testing.T) {
	stop := errors.New("stop here")
	_, err := Train(context.Background(), Config{Dataset: "spirals", Hidden: []int{8}, Epochs: 5, Seed: 1}, spirals(t, 1), Options{
		Report: func(_ context.Context, m EpochMetrics) error {
			if m.Epoch == 2 {
				return stop
			}
			return nil
		},
	})
	if !errors.Is(err, stop) {
		t.Fatalf("err = %v, want it to wrap %v", err, stop)
	}
}

// TestEarlyStopping: with a learning rate this high on noisy data the
// validation loss stops improving and patience ends the run.
func TestEarlyStopping(t *testing.T) {
	ds := synthDataset("csv:noise", 256, 4, 3, 1) // labels are pure noise
	res, err := Train(context.Background(), Config{Dataset: "csv:noise", Hidden: []int{64}, Epochs: 50, Patience: 2, LearningRate: 0.01, Seed: 1}, ds, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.EarlyStopped || res.Epochs >= 50 {
		t.Fatalf("early stopped %v after %d epochs, want a stop before 50", res.EarlyStopped, res.Epochs)
	}
	if res.BestValLoss >= res.Final.ValLoss {
		t.Fatalf("best val loss %v not below the final %v", res.BestValLoss, res.Final.ValLoss)
	}
}

// TestTrainRejectsInvalidConfig checks Train validates and names the field.
func TestTrainRejectsInvalidConfig(t *testing.T) {
	_, err := Train(context.Background(), Config{Dataset: "spirals", BatchSize: -1}, spirals(t, 1), Options{})
	if !errors.Is(err, ErrInvalidConfig) || !bytes.Contains([]byte(err.Error()), []byte("batch_size")) {
		t.Fatalf("err = %v, want ErrInvalidConfig naming batch_size", err)
	}
	_, err = Train(context.Background(), Config{Dataset: "moons"}, spirals(t, 1), Options{})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("mismatched data set: err = %v, want ErrInvalidConfig", err)
	}
	_, err = Train(context.Background(), Config{Dataset: "spirals", Model: CNN}, spirals(t, 1), Options{})
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("cnn on points: err = %v, want ErrInvalidConfig", err)
	}
}

// TestMetricsJSON checks the wire names of EpochMetrics.
func TestMetricsJSON(t *testing.T) {
	s := 0.25
	b, err := json.Marshal(EpochMetrics{Epoch: 1, Layers: []LayerStats{{PReLUSlope: &s}}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"epoch", "train_loss", "val_loss", "val_accuracy", "train_samples_per_sec", "lr", "layers"} {
		if _, ok := m[k]; !ok {
			t.Errorf("EpochMetrics JSON lacks %q: %s", k, b)
		}
	}
	layer := m["layers"].([]any)[0].(map[string]any)
	for _, k := range []string{"dead_fraction", "saturation", "act_mean", "act_std", "grad_norm", "prelu_slope"} {
		if _, ok := layer[k]; !ok {
			t.Errorf("LayerStats JSON lacks %q: %s", k, b)
		}
	}
}

// TestResumeIdentityCNN: the same for the CNN (convolution and pooling
// state is all recomputed; only parameters and Adam's moments carry over).
func TestResumeIdentityCNN(t *testing.T) {
	ds := synthImages("csv:img", 96, 8, 8, 3, 5)
	cfg := Config{Dataset: "csv:img", Model: CNN, Conv: []int{4, 4}, Hidden: []int{8}, Activation: PReLU, Epochs: 3, BatchSize: 16, Seed: 2}
	var ckpt []byte
	full, fullRes := runMetrics(t, cfg, ds, Options{Checkpoint: func(epoch int, write func(io.Writer) error) error {
		if epoch != 1 {
			return nil
		}
		var b bytes.Buffer
		err := write(&b)
		ckpt = b.Bytes()
		return err
	}})
	rest, res := runMetrics(t, cfg, ds, Options{Resume: bytes.NewReader(ckpt)})
	if !reflect.DeepEqual(rest, full[1:]) || !reflect.DeepEqual(res, fullRes) {
		t.Fatalf("resumed CNN differs:\n got %+v\nwant %+v", rest, full[1:])
	}
}

// TestDeterminismThreads: a multi-threaded run is reproducible too.
func TestDeterminismThreads(t *testing.T) {
	ds := synthDataset("csv:t", 512, 300, 4, 1)
	cfg := Config{Dataset: "csv:t", Hidden: []int{512, 256}, Epochs: 2, BatchSize: 256, Threads: 2, Seed: 3}
	a, _ := runMetrics(t, cfg, ds, Options{})
	b, _ := runMetrics(t, cfg, ds, Options{})
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two runs with 2 threads differ:\n%+v\n%+v", a, b)
	}
}

// TestStopAfterSuspendsAndResumes: a run suspended after epoch 2, then
// resumed from its last checkpoint, reports the epochs and result of the
// run that never stopped; resuming at or past StopAfter trains nothing.
func TestStopAfterSuspendsAndResumes(t *testing.T) {
	ds := spirals(t, 3)
	cfg := Config{Dataset: "spirals", Hidden: []int{16}, Activation: ReLU, Epochs: 4, BatchSize: 64, Seed: 7}
	full, fullRes := runMetrics(t, cfg, ds, Options{})
	var last []byte
	save := func(_ int, write func(io.Writer) error) error {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			return err
		}
		last = b.Bytes()
		return nil
	}
	first, res := runMetrics(t, cfg, ds, Options{StopAfter: 2, Checkpoint: save})
	if !res.Suspended || res.Epochs != 2 || len(first) != 2 || res.TestAccuracy != 0 {
		t.Fatalf("suspended run: result %+v after %d epochs, want suspended after 2", res, len(first))
	}
	again, res := runMetrics(t, cfg, ds, Options{StopAfter: 2, Resume: bytes.NewReader(last)})
	if !res.Suspended || len(again) != 0 || res.Epochs != 2 {
		t.Fatalf("resumed at StopAfter: result %+v after %d epochs, want suspended at once", res, len(again))
	}
	rest, res := runMetrics(t, cfg, ds, Options{Resume: bytes.NewReader(last)})
	if got := append(first, rest...); !reflect.DeepEqual(got, full) || !reflect.DeepEqual(res, fullRes) {
		t.Fatalf("suspended and resumed:\n got %+v %+v\nwant %+v %+v", got, res, full, fullRes)
	}
	// StopAfter at or past the last epoch finishes normally.
	_, res = runMetrics(t, cfg, ds, Options{StopAfter: 4})
	if res.Suspended || !reflect.DeepEqual(res, fullRes) {
		t.Fatalf("StopAfter = Epochs: result %+v, want %+v", res, fullRes)
	}
}
