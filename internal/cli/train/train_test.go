package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/trainer"
)

func fakeIO() (*cmdutil.IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}, out, errOut
}

func parse(t *testing.T, args string) (*Options, error) {
	t.Helper()
	ios, _, _ := fakeIO()
	var got *Options
	cmd := NewCmdTrain(ios, func(o *Options) error { got = o; return nil })
	cmd.SetArgs(strings.Fields(args))
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	o, err := parse(t, "--dataset mnist --hidden 256,128 --activation leaky_relu --negative-slope 0.2 --elu-alpha 0.5 --prelu-init 0.1 "+
		"--init xavier_uniform --optimizer momentum --lr 0.05 --batch-size 64 --epochs 3 --seed 7 --threads 2 --output json "+
		"--nesterov --momentum 0.8 --weight-decay 0.001 --clip-norm 2 --lr-schedule cosine --warmup-epochs 1 --patience 2")
	if err != nil {
		t.Fatal(err)
	}
	want := trainer.Config{Dataset: "mnist", Model: trainer.MLP, Hidden: []int{256, 128}, Activation: trainer.LeakyReLU, NegativeSlope: 0.2,
		ELUAlpha: 0.5, PReLUInit: 0.1, Init: trainer.XavierUniform, Optimizer: trainer.Momentum, LearningRate: 0.05, Momentum: 0.8,
		Nesterov: true, WeightDecay: 0.001, ClipNorm: 2, LRSchedule: "cosine", WarmupEpochs: 1, StepEpochs: 1, StepGamma: 0.1,
		BatchSize: 64, Epochs: 3, Seed: 7, Threads: 2, Patience: 2}
	if !reflect.DeepEqual(o.Config, want) || o.Output != OutputJSON {
		t.Fatalf("config\n got %+v\nwant %+v (output %q)", o.Config, want, o.Output)
	}

	o, err = parse(t, "--dataset mnist --hidden 64x32 --activation swish --swish-beta learnable --dropout 0.2 --batch-norm before --normalize unit --init lecun_uniform")
	if err != nil {
		t.Fatal(err)
	}
	c := o.Config
	if len(c.Hidden) != 64 || c.Hidden[0] != 32 || c.Hidden[63] != 32 || !c.LearnSwishBeta || c.Dropout != 0.2 ||
		c.BatchNorm != trainer.BatchNormBefore || c.Normalize != trainer.NormalizeUnit || c.Init != trainer.LecunUniform {
		t.Fatalf("layer flags: %+v", c)
	}
	o, err = parse(t, "--activation swish --swish-beta 1.5")
	if err != nil || o.Config.SwishBeta != 1.5 || o.Config.LearnSwishBeta {
		t.Fatalf("--swish-beta 1.5: %+v, %v", o.Config, err)
	}

	o, err = parse(t, "--model cnn --dataset mnist")
	if err != nil {
		t.Fatal(err)
	}
	if o.Config.Model != trainer.CNN || !reflect.DeepEqual(o.Config.Conv, []int{16, 32}) || o.Config.Init != trainer.HeNormal || o.Output != OutputText {
		t.Fatalf("defaults: %+v", o.Config)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--hidden 256,x", "--hidden"},
		{"--activation softmax", "must be one of relu"},
		{"--init zeros", "--init"},
		{"--optimizer lbfgs", "--optimizer"},
		{"--output yaml", "--output"},
		{"--model rnn", "--model"},
		{"--lr -1", "--lr"},
		{"--batch-size 0", "--batch-size"},
		{"--epochs 100001", "epochs"},
		{"--dataset cifar", "dataset"},
		{"--negative-slope 2 --activation leaky_relu", "negative_slope"},
		{"--hidden 65x8", "at most 64"},
		{"--hidden 4xq", "LAYERSxWIDTH"},
		{"--dropout 1", "dropout"},
		{"--batch-norm middle", "--batch-norm"},
		{"--normalize minmax", "--normalize"},
		{"--normalize unit", "normalize"}, // spirals is not an image set
		{"--swish-beta fast --activation swish", "--swish-beta"},
		{"--swish-beta 2", "swish_beta"}, // relu
		{"--swish-beta 0 --activation swish", "swish_beta"},
	} {
		_, err := parse(t, tc.args)
		var ue *cmdutil.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
		if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%s: exit code %d, want %d", tc.args, cmdutil.ExitCode(err), cmdutil.ExitUsage)
		}
	}
}

func runOutput(t *testing.T, output string, args string) string {
	t.Helper()
	ios, out, _ := fakeIO()
	o, err := parse(t, args+" --output "+output)
	if err != nil {
		t.Fatal(err)
	}
	o.IO = ios
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestJSONOutput(t *testing.T) {
	s := runOutput(t, "json", "--dataset spirals --hidden 16,8 --activation prelu --epochs 3 --seed 2")
	sc := bufio.NewScanner(strings.NewReader(s))
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 4 {
		t.Fatalf("%d JSON objects, want 3 epochs and a summary:\n%s", len(lines), s)
	}
	for i, m := range lines[:3] {
		if m["epoch"] != float64(i+1) {
			t.Errorf("object %d has epoch %v", i, m["epoch"])
		}
		for _, k := range []string{"train_loss", "val_loss", "val_accuracy", "train_samples_per_sec", "lr"} {
			if _, ok := m[k].(float64); !ok {
				t.Errorf("epoch %d: %q missing or not a number", i+1, k)
			}
		}
		layers, _ := m["layers"].([]any)
		if len(layers) != 2 {
			t.Fatalf("epoch %d: %d layers, want 2", i+1, len(layers))
		}
		for _, l := range layers {
			for _, k := range []string{"dead_fraction", "saturation", "act_mean", "act_std", "grad_norm", "prelu_slope"} {
				if _, ok := l.(map[string]any)[k].(float64); !ok {
					t.Errorf("epoch %d: layer lacks %q", i+1, k)
				}
			}
		}
	}
	acc, ok := lines[3]["test_accuracy"].(float64)
	if !ok || acc < 0.5 || acc > 1 {
		t.Errorf("summary %v: want a test_accuracy in [0.5, 1]", lines[3])
	}
}

func TestTextOutput(t *testing.T) {
	s := runOutput(t, "text", "--dataset moons --hidden 8 --epochs 2")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want header, 2 epochs, summary:\n%s", len(lines), s)
	}
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "epoch") || !strings.Contains(lines[0], "val_acc") {
		t.Errorf("header %q", lines[0])
	}
	for i, l := range lines[1:3] {
		if f := strings.Fields(l); len(f) < 7 || f[0] != string(rune('1'+i)) || !strings.HasSuffix(f[3], "%") {
			t.Errorf("epoch line %q", l)
		}
	}
	if !strings.HasPrefix(lines[3], "test accuracy ") || !strings.Contains(lines[3], "after 2 epochs") {
		t.Errorf("summary %q", lines[3])
	}
}

func TestDivergedRun(t *testing.T) {
	ios, _, _ := fakeIO()
	o, err := parse(t, "--dataset spirals --hidden 64,64 --optimizer sgd --lr 10 --epochs 20")
	if err != nil {
		t.Fatal(err)
	}
	o.IO = ios
	err = Run(context.Background(), o)
	if !errors.Is(err, trainer.ErrDiverged) || !strings.Contains(err.Error(), "learning rate") {
		t.Fatalf("err = %v, want ErrDiverged with advice", err)
	}
}

// TestDataDir: csv: and idx: paths are read under --data-dir (else
// RELUTUNE_DATA_DIR, else the current directory) and may not leave it.
func TestDataDir(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	for i := range 40 {
		fmt.Fprintf(&csv, "%d,%d,%d\n", i, 40-i, i%2)
	}
	if err := os.WriteFile(filepath.Join(dir, "d.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	train := func(args string) error {
		t.Helper()
		o, err := parse(t, args+" --hidden 4 --epochs 1")
		if err != nil {
			return err
		}
		o.IO, _, _ = fakeIO()
		return Run(context.Background(), o)
	}
	if err := train("--data-dir " + dir + " --dataset csv:d.csv"); err != nil {
		t.Errorf("csv:d.csv under --data-dir: %v", err)
	}
	t.Setenv(trainer.EnvDataDir, dir)
	if err := train("--dataset csv:d.csv"); err != nil {
		t.Errorf("csv:d.csv under %s: %v", trainer.EnvDataDir, err)
	}
	if err := train("--data-dir " + t.TempDir() + " --dataset csv:" + filepath.Join(dir, "d.csv")); !errors.Is(err, trainer.ErrDataset) || !strings.Contains(err.Error(), "outside the data root") {
		t.Errorf("a file outside --data-dir: err = %v, want it refused", err)
	}
	err := train("--data-dir " + filepath.Join(dir, "missing") + " --dataset spirals")
	var ue *cmdutil.UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("a missing --data-dir: err = %v, want a usage error naming the flag", err)
	}
}
