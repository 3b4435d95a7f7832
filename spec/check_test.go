package spec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// edit returns valid with each old string replaced by the new one after it.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := valid
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("edit: %q is not in the spec", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

// addParam adds a line to the space of valid.
func addParam(t *testing.T, line string) string {
	return edit(t, "space:\n", "space:\n  "+line+"\n")
}

// TestErrorMessages: each error names the field, the value and what is
// allowed, exactly.
func TestErrorMessages(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		// Every value a space can produce is checked, not one sampled point.
		{"batch choice above the trainer's limit", addParam(t, "batch_size: {choice: [32, 65536]}"),
			"space.batch_size.choice[1]: 65536 must be in [1, 16384]"},
		{"batch range above the trainer's limit", addParam(t, "batch_size: {int_uniform: [32, 65536]}"),
			"space.batch_size.int_uniform: 65536 must be in [1, 16384]"},
		{"fractional batch", addParam(t, "batch_size: {choice: [32, 48.5]}"),
			"space.batch_size.choice[1]: 48.5 must be a whole number in [1, 16384]"},
		{"slope of 1", edit(t, "log_uniform: [0.01, 0.3]", "uniform: [0.01, 1]"),
			"space.negative_slope.uniform: 1 must be in (0, 1)"},
		{"weight decay of 1", addParam(t, "weight_decay: {choice: [0, 1]}"),
			"space.weight_decay.choice[1]: 1 must be in [0, 1)"},
		{"prelu init of 1", addParam(t, "prelu_init: {uniform: [0.1, 1]}"),
			"space.prelu_init.uniform: 1 must be in (0, 1)"},
		{"nan bound", edit(t, "[1.0e-3, 1.0e-1]", "[1.0e-3, .nan]"),
			"space.learning_rate.log_uniform: NaN must be a finite number in (0, 10]"},
		{"inf bound", addParam(t, "elu_alpha: {uniform: [0.5, .inf]}"),
			"space.elu_alpha.uniform: +Inf must be a finite number in (0, 10]"},
		{"nan choice", addParam(t, "momentum: {choice: [0.5, .nan]}"),
			"space.momentum.choice[1]: NaN must be a number or a string"},
		{"nan condition", edit(t, "when: {activation: leaky_relu}", "when: {activation: .nan}"),
			"space.negative_slope.when.activation: NaN must be a number or a string"},
		{"too many choices", addParam(t, "batch_size: {choice: ["+ints(1, 1001)+"]}"),
			"space.batch_size.choice (line 5): lists 1001 values (at most 1000 allowed)"},
		{"nesterov with adam in the space", addParam(t, "optimizer: {choice: [momentum, adam]}") + "optimizer: {kind: momentum, nesterov: true}\n",
			"space: configuration activation=relu learning_rate=0.001 optimizer=adam is not trainable: nesterov: true: needs optimizer momentum with momentum > 0"},
		// NaN and infinity in the fixed fields, never a panic.
		{"nan momentum", valid + "optimizer: {kind: momentum, momentum: .nan}\n",
			"optimizer.momentum: NaN must be a finite number in [0, 1)"},
		{"nan momentum overridden by the space", addParam(t, "momentum: {uniform: [0.5, 0.9]}") + "optimizer: {kind: momentum, momentum: .nan}\n",
			"optimizer.momentum: NaN must be a finite number in [0, 1)"},
		{"infinite weight decay", valid + "optimizer: {weight_decay: -.inf}\n",
			"optimizer.weight_decay: -Inf must be a finite number in [0, 1)"},
		{"weight decay of 1", valid + "optimizer: {weight_decay: 1}\n",
			"optimizer.weight_decay: 1 must be in [0, 1)"},
		{"nan clip norm", valid + "optimizer: {clip_norm: .nan}\n",
			"optimizer.clip_norm: NaN must be a finite number >= 0 (0 means no clipping)"},
		{"nesterov with adam", valid + "optimizer: {kind: adam, nesterov: true}\n",
			`optimizer.nesterov: true needs optimizer.kind momentum, not "adam"`},
		// Names.
		{"trial infix", edit(t, "name: s1", "name: x-trial-3"),
			`name: "x-trial-3" must not contain "-trial-" (trial workflows are named study-<name>-trial-<n>, so this name could take another study's trial's id)`},
		{"long name", edit(t, "name: s1", "name: "+strings.Repeat("a", 64)),
			`name: "` + strings.Repeat("a", 63) + `... must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and '-'; it becomes part of workflow ids and NATS subjects)`},
		{"long parameter name", addParam(t, strings.Repeat("p", 100)+": {uniform: [0, 1]}"),
			"space." + strings.Repeat("p", 64) + "...: is not a parameter (allowed: activation, batch_norm, batch_size, dropout, elu_alpha, hidden_layers, hidden_width, init, learning_rate, momentum, negative_slope, normalize, optimizer, prelu_init, swish_beta, weight_decay)"},
		// Model bounds.
		{"five conv blocks", edit(t, "dataset: spirals", "dataset: mnist", "kind: mlp, hidden: [8]", "kind: cnn, hidden: [8], conv: [1, 1, 1, 1, 1]"),
			"model.conv: [1 1 1 1 1] must list 1 to 4 blocks (empty means [16, 32])"},
		{"wide conv", edit(t, "dataset: spirals", "dataset: mnist", "kind: mlp, hidden: [8]", "kind: cnn, hidden: [8], conv: [513]"),
			"model.conv[0]: 513 must be in [1, 512]"},
		{"deep mlp", edit(t, "hidden: [8]", "hidden: ["+ints(1, 65)+"]"),
			"model.hidden: [1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 ... must list 1 to 64 layer sizes, or be left out when space.hidden_layers and space.hidden_width are defined"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if got, want := err.Error(), "spec: invalid: "+tt.want; got != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func ints(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		if i > from {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, i)
	}
	return b.String()
}

// TestAllErrorsReported: independent problems are all reported, one line each.
func TestAllErrorsReported(t *testing.T) {
	_, err := Parse([]byte(edit(t, "name: s1", "name: Bad", "{max_trials: 4}", "{max_trials: 0}") + "optimizer: {momentum: .inf}\n"))
	want := `spec: invalid: name: "Bad" must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and '-'; it becomes part of workflow ids and NATS subjects)
spec: invalid: search.max_trials: 0 must be in [1, 100000]
spec: invalid: optimizer.momentum: +Inf must be a finite number in [0, 1)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

const bigCNN = `name: big-cnn
dataset: mnist
model: {kind: cnn, conv: [512, 512, 512, 512], hidden: [8192]}
space:
  activation: {choice: [relu, tanh]}
  batch_size: {choice: [32, 16384]}
search: {max_trials: 4}
schedule: {max_epochs: 3}
`

// TestMemoryBudget: the spec whose trials would ask a worker for 26 GB
// blocks is refused, naming the estimate, the budget and what drives it.
func TestMemoryBudget(t *testing.T) {
	_, err := Parse([]byte(bigCNN))
	want := "spec: invalid: estimated peak memory 115.1 GiB per trial exceeds the budget of 2 GiB (--max-trial-memory); driven by batch_size=16384, model.hidden=[8192], model.conv=[512 512 512 512] (parameters 43.4 MiB, gradients 43.4 MiB, optimizer state 86.7 MiB, activations 114.8 GiB, im2col 3.4 MiB, workspace 45.6 MiB, dataset 52.6 MiB)"
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	// The same spec at batch 32 is within a 1 GiB budget; at a budget one
	// byte below its estimate it is refused.
	s, err := Decode([]byte(strings.Replace(bigCNN, "[32, 16384]", "[32]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(Options{MaxTrialMemory: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(Options{MaxTrialMemory: rep.Memory.Total() - 1}); err == nil || !strings.Contains(err.Error(), "exceeds the budget") {
		t.Fatalf("budget one byte short: %v", err)
	}
	if _, err := s.Check(Options{MaxTrialMemory: rep.Memory.Total()}); err != nil {
		t.Fatalf("budget exactly the estimate: %v", err)
	}
	// No budget: the report still says how much.
	big, err := Decode([]byte(bigCNN))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = big.Check(Options{MaxTrialMemory: -1})
	if err != nil || rep.Memory.Total() < 26<<30 || rep.Worst["batch_size"].Int() != 16384 {
		t.Fatalf("no budget: %+v, %v", rep, err)
	}
}

// TestWorstCase: the estimate is the maximum over every configuration the
// space can produce, with conditions and defaults.
func TestWorstCase(t *testing.T) {
	// Wide enough that the evaluation chunk (113 rows) is below the batch.
	base := edit(t, "hidden: [8]", "hidden: [8192, 8192, 8192]")
	cnn := edit(t, "dataset: spirals", "dataset: mnist", "kind: mlp, hidden: [8]", "kind: cnn, hidden: [16], conv: [64, 64]")
	cases := []struct {
		name      string
		base      string
		space     string
		optimizer string
		batch     int
		opt       trainer.OptimizerKind
		driver    string
	}{
		{"largest choice", "", "batch_size: {choice: [64, 2048, 512]}", "", 2048, trainer.Adam, "batch_size=2048"},
		{"upper bound", "", "batch_size: {int_uniform: [16, 3000]}", "", 3000, trainer.Adam, "batch_size=3000"},
		{"default when inactive", "", "batch_size: {choice: [16], when: {activation: relu}}", "", 128, trainer.Adam, "model.hidden=[8192 8192 8192]"},
		{"cnn default batch", cnn, "batch_size: {choice: [16], when: {activation: relu}}", "", 128, trainer.Adam, "batch_size=128 (default), model.hidden=[16], model.conv=[64 64]"},
		{"active branch larger", "", "batch_size: {choice: [4000], when: {activation: leaky_relu}}", "", 4000, trainer.Adam, "batch_size=4000"},
		{"optimizer state", "", "optimizer: {choice: [sgd, adam]}", "optimizer: {kind: sgd}\n", 128, trainer.Adam, "optimizer=adam"},
		{"fixed optimizer", "", "batch_size: {choice: [32]}", "optimizer: {kind: sgd}\n", 32, trainer.SGD, "model.hidden=[8192 8192 8192]"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			b := base
			if tt.base != "" {
				b = tt.base
			}
			s, err := Decode([]byte(strings.Replace(b, "space:\n", "space:\n  "+tt.space+"\n", 1) + tt.optimizer))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := s.Check(Options{MaxTrialMemory: -1})
			if err != nil {
				t.Fatal(err)
			}
			tc, err := s.TrialConfig(rep.Worst, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tc.BatchSize != tt.batch || tc.Optimizer != tt.opt {
				t.Errorf("worst configuration %s: batch %d, optimizer %s; want %d, %s", rep.Worst, tc.BatchSize, tc.Optimizer, tt.batch, tt.opt)
			}
			shape := mustShape(t, s.Dataset)
			want, err := trainer.EstimateMemory(tc, shape)
			if err != nil || want != rep.Memory {
				t.Errorf("report %v, estimate of the worst configuration %v (%v)", rep.Memory, want, err)
			}
			if !strings.Contains(strings.Join(rep.Drivers, ", "), tt.driver) {
				t.Errorf("drivers %v, want %q among them", rep.Drivers, tt.driver)
			}
			// No configuration the sampler draws needs more.
			space, _ := s.SearchSpace()
			rng := rand.New(rand.NewPCG(1, 0))
			for range 300 {
				c, err := search.Random{}.Sample(space, nil, search.Maximize, rng)
				if err != nil {
					t.Fatal(err)
				}
				tc, err := s.TrialConfig(c, 0)
				if err != nil {
					t.Fatalf("sampled %s: %v", c, err)
				}
				m, _ := trainer.EstimateMemory(tc, shape)
				if m.Total() > rep.Memory.Total() {
					t.Fatalf("sampled %s needs %d bytes, more than the worst case %d", c, m.Total(), rep.Memory.Total())
				}
			}
		})
	}
}

func mustShape(t *testing.T, name string) trainer.Shape {
	t.Helper()
	s, err := trainer.DatasetShape(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCorners: a range contributes its bounds, names all their values,
// numbers the extremes of each group of values that switch the same
// conditions, and a parameter is left out where its condition fails.
func TestCorners(t *testing.T) {
	space, err := search.NewSpace([]search.Param{
		{Name: "a", Kind: search.Categorical, Choices: []search.Value{search.Str("x"), search.Str("y")}},
		{Name: "b", Kind: search.Categorical, Choices: []search.Value{search.Num(8), search.Num(1), search.Num(4), search.Num(2), search.Num(16)}},
		{Name: "c", Kind: search.Float, Low: 0.5, High: 0.5, When: &search.Condition{Param: "b", In: []search.Value{search.Num(4)}}},
		{Name: "d", Kind: search.LogFloat, Low: 0.1, High: 1, When: &search.Condition{Param: "a", In: []search.Value{search.Str("y")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := eachCorner(space, func(c search.Config) error { got = append(got, c.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"a=x b=1", "a=x b=16", "a=x b=4 c=0.5",
		"a=y b=1 d=0.1", "a=y b=1 d=1", "a=y b=16 d=0.1", "a=y b=16 d=1", "a=y b=4 c=0.5 d=0.1", "a=y b=4 c=0.5 d=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("corners:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTooManyCorners: a space whose corners cannot all be checked is refused.
func TestTooManyCorners(t *testing.T) {
	var ps []search.Param
	for i := range 17 {
		ps = append(ps, search.Param{Name: fmt.Sprintf("p%d", i), Kind: search.Float, Low: 0, High: 1})
	}
	space, err := search.NewSpace(ps)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = eachCorner(space, func(search.Config) error { n++; return nil })
	if !errors.Is(err, errTooManyCorners) || n != MaxCorners {
		t.Fatalf("err %v after %d corners, want errTooManyCorners after %d", err, n, MaxCorners)
	}
}

// TestDomainsMatchTrainer: the ends of each numeric parameter's domain are
// the trainer's: the last allowed value trains, the next one out is refused
// by both.
func TestDomainsMatchTrainer(t *testing.T) {
	base := trainer.Config{Dataset: "spirals", Optimizer: trainer.Momentum}
	for name, def := range params {
		if def.choices != nil {
			continue
		}
		d := def.domain
		for _, x := range []float64{d.low, d.high} {
			open := (x == d.low && d.openLow) || (x == d.high && d.openHigh)
			inside := x
			if open {
				inside = math.Nextafter(x, (d.low+d.high)/2)
			}
			cfg := base
			cfg.Hidden = []int{8} // hidden_layers repeats the width it finds
			if name == "swish_beta" {
				cfg.Activation = trainer.Swish // the only activation it applies to
			}
			def.apply(&cfg, search.Num(inside))
			if err := cfg.WithDefaults().Validate(); err != nil {
				t.Errorf("%s = %v is in the spec's domain %s but the trainer refuses it: %v", name, inside, d, err)
			}
			outside := math.Nextafter(x, math.Inf(1))
			if x == d.low {
				outside = math.Nextafter(x, math.Inf(-1))
			}
			if open {
				outside = x
			}
			if def.check(search.Num(outside)) == nil {
				t.Errorf("%s = %v is outside %s but the spec accepts it", name, outside, d)
			}
		}
	}
}

// TestReportOfExample: the summary facts of the quickstart.
func TestReportOfExample(t *testing.T) {
	s, err := Decode([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// activation relu (1) and leaky_relu with both slope bounds (2), times both learning rates.
	if rep.Trials != 4 || rep.Replicates != 1 || rep.Checked != 6 || strings.Join(rep.Parameters, ",") != "activation,learning_rate,negative_slope" ||
		rep.Budget != DefaultMaxTrialMemory || rep.MemoryUnknown != "" || rep.Memory.Total() <= 0 {
		t.Fatalf("report %+v", rep)
	}
	// A data file this machine cannot read: valid, the memory not estimated.
	s.Dataset = "csv:/nonexistent/data.csv"
	rep, err = s.Check(Options{})
	if err != nil || !strings.Contains(rep.MemoryUnknown, "no such file") || rep.Memory.Total() != 0 {
		t.Fatalf("unreadable data: %+v, %v", rep, err)
	}
}

// TestDataFiles: "idx:" and "csv:" data sets are measured from their files
// when this machine has them: a CNN that pools the images away is refused,
// and the estimate counts the file's rows.
func TestDataFiles(t *testing.T) {
	dir := t.TempDir()
	img := make([]byte, 16+20*4*4)
	binary.BigEndian.PutUint32(img, 0x803)
	binary.BigEndian.PutUint32(img[4:], 20)
	binary.BigEndian.PutUint32(img[8:], 4)
	binary.BigEndian.PutUint32(img[12:], 4)
	lab := make([]byte, 8+20)
	binary.BigEndian.PutUint32(lab, 0x801)
	binary.BigEndian.PutUint32(lab[4:], 20)
	for i := range 20 {
		lab[8+i] = byte(i % 3)
	}
	imgPath, labPath := filepath.Join(dir, "img"), filepath.Join(dir, "lab")
	if err := os.WriteFile(imgPath, img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(labPath, lab, 0o644); err != nil {
		t.Fatal(err)
	}
	idx := edit(t, "dataset: spirals", "dataset: idx:"+imgPath+","+labPath, "kind: mlp, hidden: [8]", "kind: cnn, hidden: [8], conv: [1, 1, 1]")
	if _, err := Parse([]byte(idx)); err == nil || err.Error() != "spec: invalid: model: conv: [1 1 1]: block 2 would pool a 1x1 image; use fewer blocks" {
		t.Fatalf("got %v", err)
	}
	s, err := Parse([]byte(strings.Replace(idx, "conv: [1, 1, 1]", "conv: [1, 1]", 1)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(Options{})
	if err != nil || rep.Memory.Dataset != 20*16+20*4+4*256 {
		t.Fatalf("idx: %+v, %v", rep, err)
	}

	csv := filepath.Join(dir, "d.csv")
	var b strings.Builder
	for i := range 200 {
		fmt.Fprintf(&b, "%d,%d,%d,%d\n", i, i*2, i*3, i%4)
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = Parse([]byte(edit(t, "dataset: spirals", "dataset: csv:"+csv)))
	if err != nil {
		t.Fatal(err)
	}
	rep, err = s.Check(Options{})
	if err != nil || rep.Memory.Dataset != 200*3*4+200*4 || rep.MemoryUnknown != "" {
		t.Fatalf("csv: %+v, %v", rep, err)
	}
}
