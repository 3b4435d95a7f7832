package trainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// allocated sums the buffers newState and newProber allocate for cfg on ds,
// by the parts of Memory, from the network's own slices.
func allocated(t *testing.T, cfg Config, ds *Dataset) (params, grads, opt, acts, cols, work int64, rows int) {
	t.Helper()
	st, err := newState(cfg.WithDefaults(), ds)
	if err != nil {
		t.Fatal(err)
	}
	pr := newProber(st.net, ds)
	f := func(s []float32) int64 { return 4 * int64(len(s)) }
	n := st.net
	params = f(n.params)
	opt = f(st.opt.m) + f(st.opt.v)
	nets := []*network{n}
	if len(st.shards) > 1 {
		nets = append(nets, st.shards[1:]...) // shards[0] is n's buffers
	}
	for _, n := range nets {
		grads += f(n.grads)
		acts += f(n.x) + 4*int64(len(n.labels))
		for _, o := range n.outs {
			acts += f(o)
		}
		seen := map[*float32]bool{}
		for _, d := range n.douts {
			if !seen[&d[0]] {
				seen[&d[0]] = true
				acts += f(d)
			}
		}
		cols += f(n.cols) + f(n.convOut)
		for _, a := range n.poolArgs {
			acts += int64(len(a))
		}
		for _, b := range n.bnStats {
			work += f(b)
		}
		work += f(n.bnScale)
		if bi := n.bi; bi != nil {
			work += 8*int64(len(bi.words)) + 8*int64(cap(bi.runs)) + f(bi.xa) + f(bi.wa) + f(bi.dwa) + f(bi.bias) + f(bi.colsum) + f(bi.cdb)
		}
	}
	work += f(pr.gradAc) + 8*int64(len(pr.sums)) + f(n.running)
	for _, z := range pr.zeros {
		work += 4 * int64(len(z))
	}
	return params, grads, opt, acts, cols, work, n.capRows
}

// TestEstimateMatchesBuffers: the estimate counts exactly the buffers the
// trainer allocates, for every model, optimizer and input path.
func TestEstimateMatchesBuffers(t *testing.T) {
	floats := synthDataset("csv:x", 300, 20, 3, 1)
	bytes := byteDataset(300, 16, 16, 0.5, 2)
	images := synthImages("idx:a,b", 300, 12, 10, 4, 3)
	cases := []struct {
		name string
		cfg  Config
		ds   *Dataset
	}{
		{"mlp floats adam", Config{Dataset: "csv:x", Hidden: []int{64, 32}, BatchSize: 50}, floats},
		{"mlp floats sgd prelu", Config{Dataset: "csv:x", Hidden: []int{7}, Optimizer: SGD, Activation: PReLU, BatchSize: 2000}, floats},
		{"mlp bytes momentum", Config{Dataset: "idx:a,b", Hidden: []int{40, 30, 20}, Optimizer: Momentum, BatchSize: 64}, bytes},
		{"mlp bytes big batch", Config{Dataset: "idx:a,b", Hidden: []int{8}, BatchSize: 4096}, bytes},
		{"cnn floats", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{4, 6}, Hidden: []int{10}, BatchSize: 16}, images},
		{"cnn bytes adamw prelu", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{3, 5, 7}, Hidden: []int{9}, Optimizer: AdamW, Activation: PReLU, BatchSize: 8}, bytes},
		{"cnn bytes threads", Config{Dataset: "idx:a,b", Model: CNN, Hidden: []int{9}, Threads: 4, BatchSize: 2048}, bytes},
		{"mlp bytes bn dropout threads", Config{Dataset: "idx:a,b", Hidden: []int{12, 10}, BatchNorm: BatchNormBefore, Dropout: 0.2, Threads: 3, BatchSize: 96}, bytes},
		{"mlp floats bn after learnable swish", Config{Dataset: "csv:x", Hidden: []int{16}, BatchNorm: BatchNormAfter, Activation: Swish, LearnSwishBeta: true, BatchSize: 40}, floats},
		{"cnn floats bn dropout", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{4}, Hidden: []int{6}, BatchNorm: BatchNormBefore, Dropout: 0.5, BatchSize: 16}, images},
		{"cnn relu bn after", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{4, 5}, Hidden: []int{6}, Activation: ReLU, BatchNorm: BatchNormAfter, BatchSize: 16}, images},
		{"cnn relu dropout", Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{4, 5}, Hidden: []int{6}, Activation: ReLU, Dropout: 0.3, BatchSize: 16}, images},
		{"mlp 64 layers", Config{Dataset: "csv:x", Hidden: deep(64, 64), BatchNorm: BatchNormAfter, Dropout: 0.1, BatchSize: 128}, floats},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			m, err := EstimateMemory(tt.cfg, tt.ds.Shape())
			if err != nil {
				t.Fatal(err)
			}
			params, grads, opt, acts, cols, work, rows := allocated(t, tt.cfg, tt.ds)
			rest := m.Workspace - 4*int64(tt.ds.Train.Len()) - gemmWorkspace(max(tt.cfg.Threads, 1), mustLayout(t, tt.cfg, tt.ds).maxK)
			got := []int64{m.Params, m.Grads, m.Optimizer, m.Activations, m.Im2col, rest, int64(m.Rows)}
			want := []int64{params, grads, opt, acts, cols, work, int64(rows)}
			for i, name := range []string{"params", "grads", "optimizer", "activations", "im2col", "workspace", "rows"} {
				if got[i] != want[i] {
					t.Errorf("%s: estimate %d, allocated %d", name, got[i], want[i])
				}
			}
			if m.NumParams*4 != params {
				t.Errorf("NumParams %d, params vector %d bytes", m.NumParams, params)
			}
			if m.Dataset != tt.ds.Shape().Bytes() || m.Total() != m.Trial()+m.Dataset {
				t.Errorf("dataset %d, total %d, trial %d", m.Dataset, m.Total(), m.Trial())
			}
		})
	}
}

// deep returns layers hidden sizes of width units.
func deep(layers, width int) []int {
	h := make([]int, layers)
	for i := range h {
		h[i] = width
	}
	return h
}

func mustLayout(t *testing.T, cfg Config, ds *Dataset) layout {
	t.Helper()
	l, err := layoutOf(cfg.WithDefaults(), ds.Shape())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestEstimateTracksHeap trains for an epoch and compares the bytes Train
// allocated (runtime.MemStats.TotalAlloc, the data set loaded before) with
// the estimate.
func TestEstimateTracksHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory distorts allocation counts")
	}
	cases := []struct {
		cfg Config
		ds  *Dataset
	}{
		{Config{Dataset: "csv:x", Hidden: []int{512, 512}, BatchSize: 1024, Epochs: 1}, synthDataset("csv:x", 1024, 64, 4, 1)},
		{Config{Dataset: "idx:a,b", Model: CNN, Conv: []int{16, 32}, Hidden: []int{64}, BatchSize: 256, Epochs: 1}, byteDataset(256, 28, 28, 0.3, 2)},
	}
	for _, tt := range cases {
		m, err := EstimateMemory(tt.cfg, tt.ds.Shape())
		if err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := Train(context.Background(), tt.cfg, tt.ds, Options{}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		measured := int64(after.TotalAlloc - before.TotalAlloc)
		ratio := float64(measured) / float64(m.Trial())
		t.Logf("%s %v: estimate %s, allocated %s (ratio %.3f)", tt.cfg.Model, tt.cfg.Hidden, FormatBytes(m.Trial()), FormatBytes(measured), ratio)
		if ratio < 0.85 || ratio > 1.2 {
			t.Errorf("%s: Train allocated %d bytes, estimate %d (ratio %.3f, want within [0.85, 1.2])", tt.cfg.Model, measured, m.Trial(), ratio)
		}
	}
}

// TestEstimateLargeCNN: the CNN whose first block's buffers alone are 13 GB is
// refused by Train before anything is allocated, by default and with a
// smaller limit, with an error naming the estimate and the limit.
func TestEstimateLargeCNN(t *testing.T) {
	cfg := Config{Dataset: "mnist", Model: CNN, Conv: []int{512, 512, 512, 512}, Hidden: []int{8192}, BatchSize: 16384, Epochs: 1}
	m, err := EstimateMemory(cfg, mnistShape)
	if err != nil {
		t.Fatal(err)
	}
	// The first block's pooled output and its gradient, 16384 x 14 x 14 x
	// 512 floats each (with ReLU the block is fused: its convolution's
	// output exists one chunk of samples at a time).
	if first := int64(16384) * 14 * 14 * 512 * 4; m.Activations < 2*first {
		t.Fatalf("estimate %v does not cover the %d-byte first output", m, first)
	}
	ds := byteDataset(20, 28, 28, 0.5, 1)
	ds.Name, ds.Classes = "mnist", 10
	reported := false
	opts := Options{Report: func(context.Context, EpochMetrics) error { reported = true; return nil }}
	_, err = Train(context.Background(), cfg, ds, opts)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "exceeds the limit 16 GiB") || reported {
		t.Fatalf("default limit: err = %v (reported %v)", err, reported)
	}
	small := Config{Dataset: "mnist", Hidden: []int{256}, BatchSize: 128, Epochs: 1}
	sm, err := EstimateMemory(small, ds.Shape())
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxMemory = sm.Trial() - 1
	_, err = Train(context.Background(), small, ds, opts)
	want := fmt.Sprintf("estimated memory %s (", FormatBytes(sm.Trial()))
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want) || reported {
		t.Fatalf("limit one byte short: err = %v, want it to contain %q", err, want)
	}
	opts.MaxMemory = sm.Trial()
	if _, err := Train(context.Background(), small, ds, opts); err != nil || !reported {
		t.Fatalf("limit exactly the estimate: err = %v (reported %v)", err, reported)
	}
}

func TestEstimateRejects(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		s    Shape
		want string
	}{
		{"invalid config", Config{Dataset: "spirals", BatchSize: 1 << 20}, Shape{Features: 2, Classes: 3}, "batch_size: 1048576: must be in [1, 16384]"},
		{"cnn on points", Config{Dataset: "spirals", Model: CNN}, Shape{Features: 2, Classes: 3}, `model: "cnn": the data set is not an image data set`},
		{"too many pools", Config{Dataset: "mnist", Model: CNN, Conv: []int{1, 1, 1, 1}}, Shape{Features: 16, Classes: 3, Height: 4, Width: 4, Channels: 1}, "block 2 would pool a 1x1 image"},
		{"one class", Config{Dataset: "spirals"}, Shape{Features: 2, Classes: 1}, "need at least 1 feature and 2 classes"},
		{"inconsistent image", Config{Dataset: "mnist"}, Shape{Features: 5, Classes: 3, Height: 2, Width: 2, Channels: 1}, "2x2x1 images but 5 features"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EstimateMemory(tt.cfg, tt.s)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidConfig containing %q", err, tt.want)
			}
		})
	}
}

// TestEstimateDeepBound: the widest model Validate allows at the deepest
// (64 layers of 16384 units, about 17 billion parameters) is estimated in
// the tens of GiB and refused by the default limit before anything is
// allocated, and batch norm and dropout raise the estimate.
func TestEstimateDeepBound(t *testing.T) {
	widest := Config{Dataset: "mnist", Hidden: deep(MaxHiddenLayers, maxLayerWidth), BatchNorm: BatchNormBefore, Dropout: 0.5}
	m, err := EstimateMemory(widest, mnistShape)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumParams < int64(MaxHiddenLayers-1)*maxLayerWidth*maxLayerWidth || m.Trial() < 4*4*m.NumParams {
		t.Errorf("%d x %d: %d parameters, %s", MaxHiddenLayers, maxLayerWidth, m.NumParams, FormatBytes(m.Trial()))
	}
	if err := CheckMemory(widest, mnistShape, DefaultMaxMemory); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("CheckMemory of %s: %v, want ErrInvalidConfig", FormatBytes(m.Trial()), err)
	}
	plain := Config{Dataset: "mnist", Hidden: deep(MaxHiddenLayers, 64)}
	a, _ := EstimateMemory(plain, mnistShape)
	plain.BatchNorm, plain.Dropout = BatchNormAfter, 0.1
	b, _ := EstimateMemory(plain, mnistShape)
	if b.Activations <= a.Activations || b.NumParams != a.NumParams+2*64*MaxHiddenLayers {
		t.Errorf("batch norm and dropout: activations %d -> %d, parameters %d -> %d", a.Activations, b.Activations, a.NumParams, b.NumParams)
	}
}

// TestEstimateMonotone: more rows, wider layers or a stateful optimizer
// never lower the estimate.
func TestEstimateMonotone(t *testing.T) {
	est := func(c Config) int64 {
		m, err := EstimateMemory(c, mnistShape)
		if err != nil {
			t.Fatal(err)
		}
		return m.Total()
	}
	base := Config{Dataset: "mnist", Model: CNN, Conv: []int{8, 16}, Hidden: []int{64}, BatchSize: 64, Optimizer: SGD}
	prev := est(base)
	for _, step := range []func(*Config){
		func(c *Config) { c.BatchSize = 2048 },
		func(c *Config) { c.Hidden = []int{512} },
		func(c *Config) { c.Conv = []int{8, 64} },
		func(c *Config) { c.Optimizer = Momentum },
		func(c *Config) { c.Optimizer = Adam },
		func(c *Config) { c.Activation = PReLU },
	} {
		step(&base)
		if got := est(base); got <= prev {
			t.Fatalf("%+v: estimate %d, not above %d", base, got, prev)
		} else {
			prev = got
		}
	}
}

func TestDatasetShape(t *testing.T) {
	for _, name := range []string{"spirals", "moons", "circles"} {
		ds, err := LoadDataset(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DatasetShape(name)
		if err != nil || got != ds.Shape() {
			t.Errorf("%s: shape %+v (%v), loaded %+v", name, got, err, ds.Shape())
		}
	}
	// The files lie in temporary directories: load them through a loader
	// whose data root is the file system root.
	loader, err := NewLoader(DataOptions{Root: "/"})
	if err != nil {
		t.Fatal(err)
	}
	for _, gz := range []bool{false, true} {
		img, lab := writeIDX(t, t.TempDir(), 30, 4, 3, gz)
		name := "idx:" + img + "," + lab
		ds, err := loader.Load(name, 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DatasetShape(name)
		if err != nil || got != ds.Shape() {
			t.Errorf("idx gz %v: shape %+v (%v), loaded %+v", gz, got, err, ds.Shape())
		}
	}
	dir := t.TempDir()
	var sb strings.Builder
	sb.WriteString("# comment\nx1,x2,x3,label\n")
	for i := range 101 {
		fmt.Fprintf(&sb, "%d,%d,%d,%d\n", i, 2*i+1, i%7, i%5)
	}
	path := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := loader.Load("csv:"+path, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DatasetShape("csv:" + path); err != nil || got != ds.Shape() {
		t.Errorf("csv: shape %+v (%v), loaded %+v", got, err, ds.Shape())
	}
	// Devices and directories are never read.
	for _, name := range []string{"csv:/dev/zero", "idx:/dev/zero,/dev/zero", "csv:" + dir} {
		if _, err := DatasetShape(name); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: err = %v, want not a regular file", name, err)
		}
	}
	if _, err := DatasetShape("csv:" + filepath.Join(dir, "missing.csv")); !errors.Is(err, ErrDataset) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestMNISTShape: the shape DatasetShape knows without loading is the
// loaded one.
func TestMNISTShape(t *testing.T) {
	ds, err := LoadDataset("mnist", 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := ds.Shape(); got != mnistShape {
		t.Fatalf("loaded mnist %+v, DatasetShape says %+v", got, mnistShape)
	}
}

func TestBytes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
	}{
		{"2GiB", 2 << 30}, {"512MiB", 512 << 20}, {"4 GiB", 4 << 30}, {"1.5gib", 3 << 29}, {"1048576", 1 << 20},
		{"10KB", 10000}, {"3mb", 3e6}, {"1TiB", 1 << 40}, {"7B", 7},
	} {
		if got, err := ParseBytes(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "GiB", "2 GiBs", "-1GiB", "0", "1e3", "NaN", "2..5GiB", "99999999999TiB", "0.1B"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, want an error", in, got)
		}
	}
	for _, tt := range []struct {
		in   int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1 KiB"}, {2 << 30, "2 GiB"}, {28346784153, "26.4 GiB"}, {1536 << 20, "1.5 GiB"},
	} {
		if got := FormatBytes(tt.in); got != tt.want {
			t.Errorf("FormatBytes(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
