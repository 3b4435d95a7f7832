package trainer

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"
)

// TestParallelStepMatchesSerial: a step split over shards (each with its
// own buffers and gradient, summed afterwards) updates the parameters as
// the single-threaded step does, up to rounding, for the dense and byte
// input paths, a CNN, PReLU's slope, clipping and a last batch smaller
// than the rest.
func TestParallelStepMatchesSerial(t *testing.T) {
	images := synthImages("idx:a,b", 96, 8, 8, 3, 1)
	bytes := byteDataset(96, 12, 16, 0.3, 2)
	for _, tt := range []struct {
		name string
		cfg  Config
		ds   *Dataset
		rows int
	}{
		{"mlp floats adam", Config{Dataset: "idx:a,b", Hidden: []int{24, 16}, Optimizer: Adam}, images, 64},
		{"mlp bytes prelu clip", Config{Dataset: "idx:a,b", Hidden: []int{32}, Activation: PReLU, ClipNorm: 0.05, Optimizer: Momentum}, bytes, 64},
		{"cnn sgd", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{4, 8}, Hidden: []int{12}, Optimizer: SGD}, images, 64},
		{"cnn short batch", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{8}, Hidden: []int{6}, Optimizer: AdamW, WeightDecay: 0.01}, images, 37},
	} {
		for _, threads := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/threads=%d", tt.name, threads), func(t *testing.T) {
				cfg := tt.cfg
				cfg.BatchSize, cfg.Seed = 64, 5
				serial, err := newState(cfg.WithDefaults(), tt.ds)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Threads = threads
				par, err := newState(cfg.WithDefaults(), tt.ds)
				if err != nil {
					t.Fatal(err)
				}
				defer par.close()
				if len(par.shards) != threads {
					t.Fatalf("%d shards for %d threads", len(par.shards), threads)
				}
				idx := make([]int32, tt.rows)
				for i := range idx {
					idx[i] = int32((7 * i) % tt.ds.Train.Len())
				}
				for step := range 3 {
					ls := serial.step(&tt.ds.Train, idx, 0.05)
					lp := par.step(&tt.ds.Train, idx, 0.05)
					if math.Abs(ls-lp) > 1e-4*math.Abs(ls) {
						t.Fatalf("step %d: loss %v with %d threads, %v with one", step, lp, threads, ls)
					}
				}
				worst := 0.0
				for i, p := range serial.net.params {
					d := math.Abs(float64(p - par.net.params[i]))
					worst = max(worst, d/(1e-3+math.Abs(float64(p))))
				}
				if worst > 1e-4 {
					t.Fatalf("parameters after 3 steps differ by up to %.3g (relative) from the single-threaded run", worst)
				}
			})
		}
	}
}

// TestTrainStopsItsThreads: Train's worker goroutines end with it.
func TestTrainStopsItsThreads(t *testing.T) {
	ds := synthDataset("csv:x", 256, 10, 3, 1)
	before := runtime.NumGoroutine()
	cfg := Config{Dataset: "csv:x", Hidden: []int{16}, BatchSize: 64, Epochs: 2, Threads: 4}
	if _, err := Train(context.Background(), cfg, ds, Options{}); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines after Train, %d before", runtime.NumGoroutine(), before)
}
