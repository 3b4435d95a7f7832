package spec

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// layerSpec is a valid spec whose model and space lines are replaced.
func layerSpec(model, space string) string {
	return "name: s1\ndataset: mnist\nmodel: " + model + "\nspace:\n  activation: {choice: [relu, swish]}\n" + space +
		"search: {max_trials: 4}\nschedule: {max_epochs: 3}\n"
}

// TestLayerParameters: hidden_layers and hidden_width, dropout,
// batch_norm, normalize and swish_beta parse as space parameters or model
// fields, and reach the trainer config.
func TestLayerParameters(t *testing.T) {
	s, err := Parse([]byte(layerSpec("{kind: mlp, batch_norm: before, normalize: unit, swish_beta: learnable}",
		"  hidden_layers: {int_uniform: [2, 64]}\n  hidden_width: {choice: [32, 64]}\n  dropout: {uniform: [0, 0.5]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	c := search.Config{"activation": search.Str("swish"), "hidden_layers": search.Num(40), "hidden_width": search.Num(32), "dropout": search.Num(0.25)}
	tc, err := s.TrialConfig(c, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Hidden) != 40 || tc.Hidden[0] != 32 || tc.Hidden[39] != 32 || tc.Dropout != 0.25 ||
		tc.BatchNorm != trainer.BatchNormBefore || tc.Normalize != trainer.NormalizeUnit || !tc.LearnSwishBeta {
		t.Errorf("trainer config %+v", tc)
	}
	// swish_beta applies to swish trials only.
	c["activation"] = search.Str("relu")
	if tc, err = s.TrialConfig(c, 7); err != nil || tc.LearnSwishBeta || tc.SwishBeta != 0 {
		t.Errorf("relu trial: %+v, %v", tc, err)
	}
	// Searched swish_beta: numbers and "learnable" in one choice.
	s, err = Parse([]byte(layerSpec("{kind: mlp, hidden: [8]}",
		"  swish_beta: {choice: [0.5, 2, learnable], when: {activation: swish}}\n  batch_norm: {choice: [none, before, after]}\n  normalize: {choice: [standard, unit, none]}\n")))
	if err != nil {
		t.Fatal(err)
	}
	tc, err = s.TrialConfig(search.Config{"activation": search.Str("swish"), "swish_beta": search.Num(2), "batch_norm": search.Str("after"), "normalize": search.Str("none")}, 1)
	if err != nil || tc.SwishBeta != 2 || tc.BatchNorm != trainer.BatchNormAfter || tc.Normalize != trainer.NormalizeNone {
		t.Errorf("searched: %+v, %v", tc, err)
	}
	tc, err = s.TrialConfig(search.Config{"activation": search.Str("swish"), "swish_beta": search.Num(2), "batch_norm": search.Str("none"), "normalize": search.Str("standard")}, 1)
	if err != nil || tc.BatchNorm != "" || tc.Normalize != "" || !reflect.DeepEqual(tc.Hidden, []int{8}) {
		t.Errorf("defaults spelled out: %+v, %v", tc, err)
	}
}

// TestLayerParameterErrors: each mistake names the field, the value and
// what is allowed.
func TestLayerParameterErrors(t *testing.T) {
	cases := []struct {
		name, model, space string
		want               []string
	}{
		{"hidden and hidden_layers", "{kind: mlp, hidden: [8]}", "  hidden_layers: {choice: [4]}\n  hidden_width: {choice: [8]}\n",
			[]string{"model.hidden", "[8]", "cannot be combined with space.hidden_layers"}},
		{"width missing", "{kind: mlp}", "  hidden_layers: {choice: [4]}\n", []string{"space.hidden_width", "(missing)", "must be defined with space.hidden_layers"}},
		{"layers missing", "{kind: mlp}", "  hidden_width: {int_uniform: [8, 64]}\n", []string{"space.hidden_layers", "must be defined with space.hidden_width"}},
		{"too deep", "{kind: mlp}", "  hidden_layers: {int_uniform: [1, 65]}\n  hidden_width: {choice: [8]}\n", []string{"space.hidden_layers.int_uniform", "65", "must be in [1, 64]"}},
		{"too wide", "{kind: mlp}", "  hidden_layers: {choice: [2]}\n  hidden_width: {choice: [9000]}\n", []string{"space.hidden_width.choice[0]", "9000", "must be in [1, 8192]"}},
		{"fractional layers", "{kind: mlp}", "  hidden_layers: {choice: [2.5]}\n  hidden_width: {choice: [8]}\n", []string{"space.hidden_layers.choice[0]", "2.5", "whole number"}},
		{"conditional width", "{kind: mlp}", "  hidden_layers: {choice: [2]}\n  hidden_width: {choice: [8], when: {activation: relu}}\n", []string{"space.hidden_width.when", "not allowed"}},
		{"no hidden at all", "{kind: mlp}", "", []string{"model.hidden", "must list 1 to 64 layer sizes"}},
		{"dropout range", "{kind: mlp, hidden: [8]}", "  dropout: {uniform: [0, 1]}\n", []string{"space.dropout.uniform", "1", "must be in [0, 1)"}},
		{"model dropout", "{kind: mlp, hidden: [8], dropout: 1.5}", "", []string{"model.dropout", "1.5", "must be in [0, 1)"}},
		{"dropout twice", "{kind: mlp, hidden: [8], dropout: 0.1}", "  dropout: {uniform: [0, 0.5]}\n", []string{"model.dropout", "0.1", "cannot be combined with space.dropout"}},
		{"batch_norm name", "{kind: mlp, hidden: [8], batch_norm: middle}", "", []string{"model.batch_norm", "middle", "allowed: none, before, after"}},
		{"batch_norm choice", "{kind: mlp, hidden: [8]}", "  batch_norm: {choice: [before, inside]}\n", []string{"space.batch_norm.choice[1]", "inside", "allowed: none, before, after"}},
		{"normalize name", "{kind: mlp, hidden: [8], normalize: minmax}", "", []string{"model.normalize", "minmax", "allowed: standard, unit, none"}},
		{"swish_beta word", "{kind: mlp, hidden: [8], swish_beta: trainable}", "", []string{"model.swish_beta", "trainable", "learnable"}},
		{"swish_beta range", "{kind: mlp, hidden: [8]}", "  swish_beta: {uniform: [0, 2]}\n", []string{"space.swish_beta.uniform", "0", "must be in (0, 10]", "learnable"}},
		{"init name", "{kind: mlp, hidden: [8]}", "  init: {choice: [lecun_uniform, lecun_sideways]}\n", []string{"space.init.choice[1]", "lecun_sideways", "lecun_uniform"}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(layerSpec(tt.model, tt.space)))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to contain %q", err, w)
				}
			}
		})
	}
	// normalize unit on a data set that is not images is refused by the
	// check of the space's configurations.
	spec := strings.Replace(layerSpec("{kind: mlp, hidden: [8], normalize: unit}", ""), "dataset: mnist", "dataset: spirals", 1)
	if _, err := Parse([]byte(spec)); err == nil || !strings.Contains(err.Error(), "normalize") {
		t.Errorf("normalize unit on spirals: %v, want an error naming normalize", err)
	}
}

// TestDeep64Example trains the example's first configuration (its enqueue
// entry: 64 hidden ReLU layers of 64 units) from the spec on 20,000 MNIST
// training images for the spec's 5 epochs.
func TestDeep64Example(t *testing.T) {
	data, err := os.ReadFile("../examples/deep64.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	configs, err := s.EnqueuedConfigs()
	if err != nil || len(configs) == 0 {
		t.Fatalf("enqueued configurations: %v, %v", configs, err)
	}
	tc, err := s.TrialConfig(configs[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.Hidden) != 64 || tc.Hidden[0] != 64 || tc.Activation != trainer.ReLU || tc.Init != trainer.HeNormal {
		t.Fatalf("trainer config %+v, want 64 ReLU layers of 64 with he_normal", tc)
	}
	ds, err := trainer.LoadDataset(s.Dataset, tc.Seed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := trainer.Train(context.Background(), tc, ds.Subset(20000, 2000, 10000), trainer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != 5 || len(res.Final.Layers) != 64 || res.TestAccuracy <= 0.7 {
		t.Errorf("%d epochs, %d layers reported, test accuracy %.3f; want 5, 64 and > 0.7", res.Epochs, len(res.Final.Layers), res.TestAccuracy)
	}
	t.Logf("test accuracy %.3f", res.TestAccuracy)
}

// TestDeepSpaceMemory: the memory check covers the deepest and widest
// corner of hidden_layers x hidden_width and names them.
func TestDeepSpaceMemory(t *testing.T) {
	_, err := Parse([]byte(layerSpec("{kind: mlp}", "  hidden_layers: {int_uniform: [1, 64]}\n  hidden_width: {choice: [64, 8192]}\n")))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "hidden_layers=64, hidden_width=8192") {
		t.Fatalf("err = %v, want a memory error driven by hidden_layers=64, hidden_width=8192", err)
	}
	if _, err := Parse([]byte(layerSpec("{kind: mlp}", "  hidden_layers: {int_uniform: [1, 64]}\n  hidden_width: {choice: [64, 256]}\n"))); err != nil {
		t.Fatalf("64 layers of 256: %v", err)
	}
}
