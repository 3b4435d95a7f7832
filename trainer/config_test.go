package trainer

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseNames(t *testing.T) {
	for _, a := range Activations() {
		if got, err := ParseActivation(string(a)); err != nil || got != a {
			t.Errorf("ParseActivation(%q) = %q, %v", a, got, err)
		}
	}
	if got, _ := ParseActivation("silu"); got != Swish {
		t.Errorf("ParseActivation(silu) = %q, want swish", got)
	}
	for _, v := range Inits() {
		if got, err := ParseInit(string(v)); err != nil || got != v {
			t.Errorf("ParseInit(%q) = %q, %v", v, got, err)
		}
	}
	for _, v := range OptimizerKinds() {
		if got, err := ParseOptimizer(string(v)); err != nil || got != v {
			t.Errorf("ParseOptimizer(%q) = %q, %v", v, got, err)
		}
	}
	for name, fn := range map[string]func(string) error{
		"activation": func(s string) error { _, err := ParseActivation(s); return err },
		"init":       func(s string) error { _, err := ParseInit(s); return err },
		"optimizer":  func(s string) error { _, err := ParseOptimizer(s); return err },
	} {
		err := fn("bogus")
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `"bogus"`) || !strings.Contains(err.Error(), "must be one of") {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming the value and the allowed ones", name, err)
		}
	}
	if err := func() error { _, err := ParseActivation("x"); return err }(); !strings.Contains(err.Error(), "relu, leaky_relu, elu, prelu, swish, gelu, selu, tanh, sigmoid") {
		t.Errorf("activation error does not list the allowed values: %v", err)
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{Dataset: "mnist"}.WithDefaults()
	want := Config{Dataset: "mnist", Model: MLP, Hidden: []int{256, 128}, Activation: ReLU, NegativeSlope: 0.01, ELUAlpha: 1,
		PReLUInit: 0.25, Init: HeNormal, Optimizer: Adam, LearningRate: 1e-3, LRSchedule: ScheduleConstant,
		BatchSize: 128, Epochs: 10, StepEpochs: 3, StepGamma: 0.1}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := (Config{Activation: SELU}).WithDefaults().Init; got != LecunNormal {
		t.Errorf("selu default init %q", got)
	}
	if got := (Config{Activation: Tanh}).WithDefaults().Init; got != XavierNormal {
		t.Errorf("tanh default init %q", got)
	}
	if got := (Config{Optimizer: Momentum}).WithDefaults(); got.Momentum != 0.9 || got.LearningRate != 0.01 {
		t.Errorf("momentum defaults %+v", got)
	}
	if got := (Config{Optimizer: AdamW}).WithDefaults(); got.WeightDecay != 0.01 {
		t.Errorf("adamw default weight decay %v", got.WeightDecay)
	}
	if got := (Config{Model: CNN}).WithDefaults(); !reflect.DeepEqual(got.Conv, []int{16, 32}) || !reflect.DeepEqual(got.Hidden, []int{128}) {
		t.Errorf("cnn defaults %+v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{Dataset: "spirals"}.WithDefaults()
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"dataset", func(c *Config) { c.Dataset = "cifar" }},
		{"dataset", func(c *Config) { c.Dataset = "idx:onlyone" }},
		{"model", func(c *Config) { c.Model = "rnn" }},
		{"conv", func(c *Config) { c.Conv = []int{8} }},
		{"conv[0]", func(c *Config) { c.Model = CNN; c.Conv = []int{0} }},
		{"hidden", func(c *Config) { c.Hidden = []int{} }},
		{"hidden[1]", func(c *Config) { c.Hidden = []int{4, -2} }},
		{"activation", func(c *Config) { c.Activation = "softplus" }},
		{"negative_slope", func(c *Config) { c.NegativeSlope = 1.5 }},
		{"elu_alpha", func(c *Config) { c.ELUAlpha = -1 }},
		{"prelu_init", func(c *Config) { c.PReLUInit = -0.1 }},
		{"init", func(c *Config) { c.Init = "zeros" }},
		{"optimizer", func(c *Config) { c.Optimizer = "lbfgs" }},
		{"learning_rate", func(c *Config) { c.LearningRate = -1 }},
		{"momentum", func(c *Config) { c.Momentum = 1 }},
		{"nesterov", func(c *Config) { c.Nesterov = true }},
		{"weight_decay", func(c *Config) { c.WeightDecay = -0.1 }},
		{"clip_norm", func(c *Config) { c.ClipNorm = -1 }},
		{"lr_schedule", func(c *Config) { c.LRSchedule = "linear" }},
		{"warmup_epochs", func(c *Config) { c.WarmupEpochs = 11 }},
		{"step_gamma", func(c *Config) { c.StepGamma = 2 }},
		{"batch_size", func(c *Config) { c.BatchSize = 0 }},
		{"epochs", func(c *Config) { c.Epochs = -3 }},
		{"threads", func(c *Config) { c.Threads = -1 }},
		{"patience", func(c *Config) { c.Patience = -1 }},
		{"hidden", func(c *Config) { c.Hidden = make([]int, MaxHiddenLayers+1) }},
		{"dropout", func(c *Config) { c.Dropout = 1 }},
		{"dropout", func(c *Config) { c.Dropout = -0.1 }},
		{"batch_norm", func(c *Config) { c.BatchNorm = "during" }},
		{"normalize", func(c *Config) { c.Normalize = "minmax" }},
		{"normalize", func(c *Config) { c.Normalize = NormalizeUnit }}, // spirals is not an image set
		{"swish_beta", func(c *Config) { c.Activation = Swish; c.SwishBeta = -1 }},
		{"swish_beta", func(c *Config) { c.SwishBeta = 2 }}, // relu
		{"swish_beta", func(c *Config) { c.LearnSwishBeta = true }},
	}
	for _, tt := range tests {
		c := ok
		c.Hidden = append([]int(nil), ok.Hidden...)
		tt.edit(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig naming %s", tt.field, err, tt.field)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	deep := ok
	deep.Hidden = make([]int, MaxHiddenLayers)
	for i := range deep.Hidden {
		deep.Hidden[i] = 64
	}
	deep.Dropout, deep.BatchNorm, deep.Init = 0.5, BatchNormAfter, LecunUniform
	if err := deep.Validate(); err != nil {
		t.Errorf("%d hidden layers with dropout and batch norm: %v", MaxHiddenLayers, err)
	}
}

// TestExplicitDefaults: spelling out the defaults of the newer fields gives
// the same configuration (and JSON) as leaving them out.
func TestExplicitDefaults(t *testing.T) {
	a := Config{Dataset: "mnist"}.WithDefaults()
	b := Config{Dataset: "mnist", BatchNorm: BatchNormNone, Normalize: NormalizeStandard, SwishBeta: 1}.WithDefaults()
	if !reflect.DeepEqual(a, b) {
		t.Errorf("explicit defaults %+v, want %+v", b, a)
	}
	c := Config{Dataset: "mnist", Activation: Swish, LearnSwishBeta: true, SwishBeta: 1}.WithDefaults()
	if c.SwishBeta != 1 || c.Validate() != nil {
		t.Errorf("learnable swish beta starting at 1: %+v, %v", c, c.Validate())
	}
}

// TestConfigJSON checks the snake_case wire form survives a round trip.
func TestConfigJSON(t *testing.T) {
	c := Config{Dataset: "csv:/x.csv", Hidden: []int{3}, Activation: LeakyReLU, NegativeSlope: 0.2, Optimizer: Momentum,
		Nesterov: true, LearningRate: 0.1, Momentum: 0.8, BatchSize: 7, Epochs: 2, Seed: 1 << 60, ClipNorm: 5, LRSchedule: "cosine", WarmupEpochs: 1}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"dataset"`, `"negative_slope"`, `"learning_rate"`, `"batch_size"`, `"clip_norm"`, `"lr_schedule"`, `"warmup_epochs"`, `"seed"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}

// TestLearningRate checks warmup and the schedules at chosen steps.
func TestLearningRate(t *testing.T) {
	const spe = 10
	c := Config{LearningRate: 1, Epochs: 10, LRSchedule: ScheduleStep, StepEpochs: 3, StepGamma: 0.5}
	for step, want := range map[int]float64{0: 1, 29: 1, 30: 0.5, 60: 0.25, 99: 0.125} {
		if got := learningRate(c, step, spe); got != want {
			t.Errorf("step schedule at %d: %v, want %v", step, got, want)
		}
	}
	c = Config{LearningRate: 1, Epochs: 10, LRSchedule: ScheduleCosine, WarmupEpochs: 2}
	for step, want := range map[int]float64{0: 1.0 / 20, 9: 0.5, 19: 1, 20: 1, 60: 0.5, 100: 0} {
		if got := learningRate(c, step, spe); !close(got, want, 1e-12, 1e-12) {
			t.Errorf("cosine with warmup at %d: %v, want %v", step, got, want)
		}
	}
}

func TestParseModelKind(t *testing.T) {
	for _, k := range ModelKinds() {
		if got, err := ParseModelKind(string(k)); err != nil || got != k {
			t.Errorf("ParseModelKind(%q) = %q, %v", k, got, err)
		}
	}
	_, err := ParseModelKind("rnn")
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `"rnn"`) || !strings.Contains(err.Error(), "mlp, cnn") {
		t.Errorf("ParseModelKind(rnn): %v", err)
	}
}

func TestDatasetNameErrorReason(t *testing.T) {
	err := ValidateDatasetName("csv:../x.csv")
	var de *DatasetNameError
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalidConfig) || de.Name != "csv:../x.csv" || !strings.Contains(de.Reason, `path "../x.csv" leads out`) {
		t.Fatalf("got %#v (%v)", de, err)
	}
	if !IsImageDataset("idx:a,b") || !IsImageDataset("mnist") || IsImageDataset("spirals") || IsImageDataset("csv:a") {
		t.Error("IsImageDataset disagrees with the cnn's data sets")
	}
}
