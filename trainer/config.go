package trainer

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns, and by
// Train when it is given an invalid configuration.
var ErrInvalidConfig = errors.New("trainer: invalid config")

// Activation names a hidden-layer activation function. The set is closed: use
// ParseActivation to turn user input into one.
type Activation string

// The activations the trainer implements.
const (
	ReLU      Activation = "relu"       // max(0, x)
	LeakyReLU Activation = "leaky_relu" // x < 0 ? negative_slope*x : x
	ELU       Activation = "elu"        // x > 0 ? x : alpha*(exp(x)-1)
	PReLU     Activation = "prelu"      // leaky_relu with a learnable slope per layer
	Swish     Activation = "swish"      // x*sigmoid(x), also called SiLU
	GELU      Activation = "gelu"       // 0.5*x*(1+erf(x/sqrt2))
	SELU      Activation = "selu"       // lambda*elu(x, alpha) with the self-normalising constants
	Tanh      Activation = "tanh"       // tanh(x)
	Sigmoid   Activation = "sigmoid"    // 1/(1+exp(-x))
)

// Activations returns every Activation in a fixed order.
func Activations() []Activation {
	return []Activation{ReLU, LeakyReLU, ELU, PReLU, Swish, GELU, SELU, Tanh, Sigmoid}
}

// ParseActivation returns the Activation named s ("silu" is accepted for swish).
// The error lists the allowed values.
func ParseActivation(s string) (Activation, error) {
	if s == "silu" {
		return Swish, nil
	}
	return parseName("activation", s, Activations())
}

// parseName returns the element of all spelled s, or an error naming the
// field, the value and the allowed values.
func parseName[T ~string](field, s string, all []T) (T, error) {
	for _, v := range all {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: %s %q: must be one of %s", ErrInvalidConfig, field, s, joinNames(all))
}

// Init names a weight initialiser. Biases always start at zero. For a layer
// with fan_in inputs and fan_out outputs (for a 3x3 convolution fan_in is
// 9*input channels and fan_out 9*output channels) the weights are drawn with
// the variance below; a uniform initialiser draws from U(-a, a) with
// a = sqrt(3*variance), which has the same variance.
type Init string

// The initialisers the trainer implements.
const (
	// HeNormal draws N(0, gain²/fan_in) with gain² = 2/(1+s²), where s is the
	// negative slope for leaky_relu, the initial slope for prelu, and 0
	// otherwise (He et al. 2015; PyTorch's kaiming_normal_ in fan_in mode).
	HeNormal Init = "he_normal"
	// HeUniform draws U(-a, a) with the HeNormal variance.
	HeUniform Init = "he_uniform"
	// XavierNormal draws N(0, 2/(fan_in+fan_out)), gain 1 (Glorot & Bengio 2010).
	XavierNormal Init = "xavier_normal"
	// XavierUniform draws U(-a, a) with the XavierNormal variance.
	XavierUniform Init = "xavier_uniform"
	// LecunNormal draws N(0, 1/fan_in), the initialiser SELU is designed for.
	LecunNormal Init = "lecun_normal"
	// LecunUniform draws U(-a, a) with the LecunNormal variance.
	LecunUniform Init = "lecun_uniform"
	// Orthogonal makes each weight matrix (viewed as fan_in x outputs) a
	// (semi-)orthogonal matrix with gain 1: the QR factor of a Gaussian matrix,
	// sign-corrected so it is uniformly distributed (Saxe et al. 2014). Each
	// entry then has variance 1/max(fan_in, outputs).
	Orthogonal Init = "orthogonal"
)

// Inits returns every Init in a fixed order.
func Inits() []Init {
	return []Init{HeNormal, HeUniform, XavierNormal, XavierUniform, LecunNormal, LecunUniform, Orthogonal}
}

// ParseInit returns the Init named s. The error lists the allowed values.
func ParseInit(s string) (Init, error) { return parseName("init", s, Inits()) }

// OptimizerKind names an optimizer.
type OptimizerKind string

// The optimizers the trainer implements. Their updates follow PyTorch's
// torch.optim classes of the same name (Adam's betas 0.9, 0.999, eps 1e-8).
const (
	SGD      OptimizerKind = "sgd"      // w -= lr*g
	Momentum OptimizerKind = "momentum" // v = mu*v + g; w -= lr*v (Nesterov: w -= lr*(g + mu*v))
	Adam     OptimizerKind = "adam"     // weight decay, if any, is added to the gradient (L2)
	AdamW    OptimizerKind = "adamw"    // weight decay is decoupled: w -= lr*wd*w
)

// OptimizerKinds returns every OptimizerKind in a fixed order.
func OptimizerKinds() []OptimizerKind { return []OptimizerKind{SGD, Momentum, Adam, AdamW} }

// ParseOptimizer returns the OptimizerKind named s. The error lists the allowed values.
func ParseOptimizer(s string) (OptimizerKind, error) {
	return parseName("optimizer", s, OptimizerKinds())
}

// BatchNorm says where a hidden layer normalises its units over the batch.
type BatchNorm string

// The batch-normalisation placements. A normalised unit is scaled and
// shifted by a learnable gamma (initially 1) and beta (initially 0); training
// normalises with the batch's mean and (biased) variance and keeps running
// averages (momentum 0.1, the variance unbiased) that evaluation uses.
const (
	BatchNormNone   BatchNorm = "none"   // no normalisation (the default)
	BatchNormBefore BatchNorm = "before" // between the layer's affine map and its activation
	BatchNormAfter  BatchNorm = "after"  // after the activation (before dropout)
)

// BatchNorms returns every BatchNorm in a fixed order.
func BatchNorms() []BatchNorm { return []BatchNorm{BatchNormNone, BatchNormBefore, BatchNormAfter} }

// ParseBatchNorm returns the BatchNorm named s. The error lists the allowed values.
func ParseBatchNorm(s string) (BatchNorm, error) { return parseName("batch_norm", s, BatchNorms()) }

// Normalize says how image inputs are scaled before the first layer.
type Normalize string

// The input normalisations. They apply to image data sets (bytes); the
// features of generated and CSV data sets are used as loaded (CSV columns
// standardised), which only NormalizeStandard accepts.
const (
	// NormalizeStandard scales pixels to [0, 1], then standardises them
	// with the training split's mean and standard deviation (the default).
	NormalizeStandard Normalize = "standard"
	// NormalizeUnit scales pixels to [0, 1] (byte/255).
	NormalizeUnit Normalize = "unit"
	// NormalizeNone feeds the raw byte values (0 to 255).
	NormalizeNone Normalize = "none"
)

// Normalizations returns every Normalize in a fixed order.
func Normalizations() []Normalize {
	return []Normalize{NormalizeStandard, NormalizeUnit, NormalizeNone}
}

// ParseNormalize returns the Normalize named s. The error lists the allowed values.
func ParseNormalize(s string) (Normalize, error) { return parseName("normalize", s, Normalizations()) }

// ModelKind names a network architecture.
type ModelKind string

// The architectures the trainer implements.
const (
	// MLP is a stack of dense layers: Hidden sizes, then the output layer.
	MLP ModelKind = "mlp"
	// CNN is, for image datasets, one block per entry of Conv (3x3 convolution,
	// stride 1, zero padding 1, activation, 2x2 max pooling), then dense layers
	// of the Hidden sizes and the output layer.
	CNN ModelKind = "cnn"
)

// ModelKinds returns every ModelKind in a fixed order.
func ModelKinds() []ModelKind { return []ModelKind{MLP, CNN} }

// ParseModelKind returns the ModelKind named s. The error lists the allowed values.
func ParseModelKind(s string) (ModelKind, error) { return parseName("model", s, ModelKinds()) }

// Learning-rate schedules. Every schedule is applied per step, after a linear
// warmup from lr/(warmup steps) to lr over WarmupEpochs.
const (
	ScheduleConstant = "constant" // lr
	ScheduleStep     = "step"     // lr * gamma^floor(epoch/step_epochs), epoch counted from 0
	ScheduleCosine   = "cosine"   // lr * (1+cos(pi*t/T))/2 over the steps after warmup
)

// LRSchedules returns the schedule names Config.LRSchedule accepts.
func LRSchedules() []string { return []string{ScheduleConstant, ScheduleStep, ScheduleCosine} }

// Config is one training configuration. The zero value of a field means "use
// the default" (see WithDefaults). It is JSON-serialisable and travels inside
// workflow payloads.
type Config struct {
	// Dataset is "spirals", "moons", "circles", "mnist", "fashion-mnist",
	// "csv:<path>" or "idx:<images>,<labels>" (see LoadDataset).
	Dataset string `json:"dataset"`
	// Model is "mlp" (default) or "cnn".
	Model ModelKind `json:"model,omitempty"`
	// Conv is the number of output channels of each convolution block of a CNN
	// (default [16, 32]); must be empty for an MLP.
	Conv []int `json:"conv,omitempty"`
	// Hidden is the size of each hidden dense layer, at most MaxHiddenLayers
	// of them (default [256, 128] for an MLP, [128] for a CNN).
	Hidden []int `json:"hidden,omitempty"`
	// Activation of every hidden layer (default relu).
	Activation Activation `json:"activation,omitempty"`
	// NegativeSlope of leaky_relu (default 0.01).
	NegativeSlope float64 `json:"negative_slope,omitempty"`
	// ELUAlpha of elu (default 1.0).
	ELUAlpha float64 `json:"elu_alpha,omitempty"`
	// PReLUInit is the initial slope of prelu (default 0.25).
	PReLUInit float64 `json:"prelu_init,omitempty"`
	// SwishBeta is the beta of swish, x*sigmoid(beta*x) (0 means 1); with
	// LearnSwishBeta it is the initial value of each hidden layer's own
	// beta, trained with the weights.
	SwishBeta float64 `json:"swish_beta,omitempty"`
	// LearnSwishBeta makes swish's beta a learnable scalar per hidden layer.
	LearnSwishBeta bool `json:"learn_swish_beta,omitempty"`
	// Dropout is the rate of inverted dropout after each hidden layer's
	// activation (and batch normalisation), in [0, 1); 0 disables it.
	// Evaluation never drops.
	Dropout float64 `json:"dropout,omitempty"`
	// BatchNorm places batch normalisation in the hidden layers ("" means none).
	BatchNorm BatchNorm `json:"batch_norm,omitempty"`
	// Normalize is the input scaling of image data sets ("" means standard).
	Normalize Normalize `json:"normalize,omitempty"`
	// Init is the weight initialiser (default lecun_normal for selu,
	// xavier_normal for tanh and sigmoid, he_normal otherwise).
	Init Init `json:"init,omitempty"`
	// Optimizer (default adam).
	Optimizer OptimizerKind `json:"optimizer,omitempty"`
	// LearningRate (default 1e-3 for adam and adamw, 1e-2 for sgd and momentum).
	LearningRate float64 `json:"learning_rate,omitempty"`
	// Momentum coefficient of the momentum optimizer (default 0.9).
	Momentum float64 `json:"momentum,omitempty"`
	// Nesterov selects Nesterov momentum.
	Nesterov bool `json:"nesterov,omitempty"`
	// WeightDecay applies to weight matrices and convolution kernels, not to
	// biases or PReLU slopes (default 0; 0.01 for adamw).
	WeightDecay float64 `json:"weight_decay,omitempty"`
	// ClipNorm, when > 0, rescales the gradient so its global L2 norm is at most ClipNorm.
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// LRSchedule is "constant" (default), "step" or "cosine".
	LRSchedule string `json:"lr_schedule,omitempty"`
	// WarmupEpochs of linear learning-rate warmup (default 0).
	WarmupEpochs int `json:"warmup_epochs,omitempty"`
	// StepEpochs is the period of the step schedule (default max(1, Epochs/3)).
	StepEpochs int `json:"step_epochs,omitempty"`
	// StepGamma is the factor of the step schedule (default 0.1).
	StepGamma float64 `json:"step_gamma,omitempty"`
	// BatchSize (default 128).
	BatchSize int `json:"batch_size,omitempty"`
	// Epochs (default 10).
	Epochs int `json:"epochs,omitempty"`
	// Seed determines initial weights and data order (and generated data).
	Seed uint64 `json:"seed"`
	// Threads for matrix products; 0 or 1 means single-threaded.
	Threads int `json:"threads,omitempty"`
	// Patience: stop when the validation loss has not improved for this many
	// epochs; 0 disables early stopping.
	Patience int `json:"patience,omitempty"`
}

// MaxHiddenLayers is the most hidden dense layers a model may have.
const MaxHiddenLayers = 64

// Limits that Validate enforces.
const (
	maxLayerWidth = 1 << 14
	maxLayers     = MaxHiddenLayers
	maxBatch      = 1 << 14
	maxEpochs     = 100000
	maxThreads    = 256
)

// WithDefaults returns c with every zero field set to its default. The
// fields whose zero value is their default (SwishBeta, Dropout, BatchNorm,
// Normalize) are left at zero, and an explicit default (swish_beta 1,
// batch_norm none, normalize standard) is turned into zero, so that a
// configuration has one JSON form and checkpoints written before these
// fields existed still match.
func (c Config) WithDefaults() Config {
	if c.SwishBeta == 1 && !c.LearnSwishBeta {
		c.SwishBeta = 0
	}
	if c.BatchNorm == BatchNormNone {
		c.BatchNorm = ""
	}
	if c.Normalize == NormalizeStandard {
		c.Normalize = ""
	}
	if c.Model == "" {
		c.Model = MLP
	}
	if c.Model == CNN && len(c.Conv) == 0 {
		c.Conv = []int{16, 32}
	}
	if c.Hidden == nil {
		if c.Model == CNN {
			c.Hidden = []int{128}
		} else {
			c.Hidden = []int{256, 128}
		}
	}
	if c.Activation == "" {
		c.Activation = ReLU
	}
	if c.NegativeSlope == 0 {
		c.NegativeSlope = 0.01
	}
	if c.ELUAlpha == 0 {
		c.ELUAlpha = 1.0
	}
	if c.PReLUInit == 0 {
		c.PReLUInit = 0.25
	}
	if c.Init == "" {
		switch c.Activation {
		case SELU:
			c.Init = LecunNormal
		case Tanh, Sigmoid:
			c.Init = XavierNormal
		default:
			c.Init = HeNormal
		}
	}
	if c.Optimizer == "" {
		c.Optimizer = Adam
	}
	if c.LearningRate == 0 {
		switch c.Optimizer {
		case SGD, Momentum:
			c.LearningRate = 1e-2
		default:
			c.LearningRate = 1e-3
		}
	}
	if c.Momentum == 0 && c.Optimizer == Momentum {
		c.Momentum = 0.9
	}
	if c.WeightDecay == 0 && c.Optimizer == AdamW {
		c.WeightDecay = 0.01
	}
	if c.LRSchedule == "" {
		c.LRSchedule = ScheduleConstant
	}
	if c.BatchSize == 0 {
		c.BatchSize = 128
	}
	if c.Epochs == 0 {
		c.Epochs = 10
	}
	if c.StepEpochs == 0 {
		c.StepEpochs = max(1, c.Epochs/3)
	}
	if c.StepGamma == 0 {
		c.StepGamma = 0.1
	}
	return c
}

// Validate reports the first field that is out of range, naming the field,
// its value and what is allowed. The error wraps ErrInvalidConfig. Validate
// checks c as given; call it on c.WithDefaults() to accept zero fields.
func (c Config) Validate() error {
	bad := func(field string, value any, allowed string) error {
		return fmt.Errorf("%w: %s: %v: %s", ErrInvalidConfig, field, value, allowed)
	}
	if err := ValidateDatasetName(c.Dataset); err != nil {
		return err
	}
	switch c.Model {
	case MLP:
		if len(c.Conv) != 0 {
			return bad("conv", c.Conv, "must be empty for model mlp")
		}
	case CNN:
		if len(c.Conv) == 0 || len(c.Conv) > 4 {
			return bad("conv", c.Conv, "a cnn needs 1 to 4 convolution blocks")
		}
		for i, ch := range c.Conv {
			if ch < 1 || ch > 512 {
				return bad(fmt.Sprintf("conv[%d]", i), ch, "must be in [1, 512]")
			}
		}
	default:
		return bad("model", fmt.Sprintf("%q", c.Model), "must be one of "+joinNames(ModelKinds()))
	}
	if len(c.Hidden) > maxLayers {
		return bad("hidden", c.Hidden, fmt.Sprintf("at most %d layers", maxLayers))
	}
	if c.Model == MLP && len(c.Hidden) == 0 {
		return bad("hidden", c.Hidden, "an mlp needs at least one hidden layer")
	}
	for i, h := range c.Hidden {
		if h < 1 || h > maxLayerWidth {
			return bad(fmt.Sprintf("hidden[%d]", i), h, fmt.Sprintf("must be in [1, %d]", maxLayerWidth))
		}
	}
	if _, err := ParseActivation(string(c.Activation)); err != nil {
		return err
	}
	if !finite(c.NegativeSlope) || c.NegativeSlope < 0 || c.NegativeSlope >= 1 {
		return bad("negative_slope", c.NegativeSlope, "must be in [0, 1)")
	}
	if !finite(c.ELUAlpha) || c.ELUAlpha <= 0 || c.ELUAlpha > 10 {
		return bad("elu_alpha", c.ELUAlpha, "must be in (0, 10]")
	}
	if !finite(c.PReLUInit) || c.PReLUInit < 0 || c.PReLUInit >= 1 {
		return bad("prelu_init", c.PReLUInit, "must be in [0, 1)")
	}
	if !finite(c.SwishBeta) || c.SwishBeta < 0 || c.SwishBeta > 10 {
		return bad("swish_beta", c.SwishBeta, "must be in (0, 10] (0 means 1)")
	}
	if (c.SwishBeta != 0 || c.LearnSwishBeta) && c.Activation != Swish {
		return bad("swish_beta", c.SwishBeta, fmt.Sprintf("applies to activation swish only, not %q", c.Activation))
	}
	if !finite(c.Dropout) || c.Dropout < 0 || c.Dropout >= 1 {
		return bad("dropout", c.Dropout, "must be in [0, 1)")
	}
	if c.BatchNorm != "" {
		if _, err := ParseBatchNorm(string(c.BatchNorm)); err != nil {
			return err
		}
	}
	if c.Normalize != "" {
		if _, err := ParseNormalize(string(c.Normalize)); err != nil {
			return err
		}
		if c.Normalize != NormalizeStandard && !IsImageDataset(c.Dataset) {
			return bad("normalize", fmt.Sprintf("%q", c.Normalize), fmt.Sprintf("applies to image data sets only; %q is used as loaded (allowed: standard)", c.Dataset))
		}
	}
	if _, err := ParseInit(string(c.Init)); err != nil {
		return err
	}
	if _, err := ParseOptimizer(string(c.Optimizer)); err != nil {
		return err
	}
	if !finite(c.LearningRate) || c.LearningRate <= 0 || c.LearningRate > 10 {
		return bad("learning_rate", c.LearningRate, "must be in (0, 10]")
	}
	if !finite(c.Momentum) || c.Momentum < 0 || c.Momentum >= 1 {
		return bad("momentum", c.Momentum, "must be in [0, 1)")
	}
	if c.Nesterov && (c.Optimizer != Momentum || c.Momentum == 0) {
		return bad("nesterov", c.Nesterov, "needs optimizer momentum with momentum > 0")
	}
	if !finite(c.WeightDecay) || c.WeightDecay < 0 || c.WeightDecay >= 1 {
		return bad("weight_decay", c.WeightDecay, "must be in [0, 1)")
	}
	if !finite(c.ClipNorm) || c.ClipNorm < 0 {
		return bad("clip_norm", c.ClipNorm, "must be >= 0 (0 disables clipping)")
	}
	switch c.LRSchedule {
	case ScheduleConstant, ScheduleStep, ScheduleCosine:
	default:
		return bad("lr_schedule", fmt.Sprintf("%q", c.LRSchedule), "must be one of "+strings.Join(LRSchedules(), ", "))
	}
	if c.Epochs < 1 || c.Epochs > maxEpochs {
		return bad("epochs", c.Epochs, fmt.Sprintf("must be in [1, %d]", maxEpochs))
	}
	if c.WarmupEpochs < 0 || c.WarmupEpochs > c.Epochs {
		return bad("warmup_epochs", c.WarmupEpochs, fmt.Sprintf("must be in [0, epochs=%d]", c.Epochs))
	}
	if c.StepEpochs < 1 {
		return bad("step_epochs", c.StepEpochs, "must be >= 1")
	}
	if !finite(c.StepGamma) || c.StepGamma <= 0 || c.StepGamma > 1 {
		return bad("step_gamma", c.StepGamma, "must be in (0, 1]")
	}
	if c.BatchSize < 1 || c.BatchSize > maxBatch {
		return bad("batch_size", c.BatchSize, fmt.Sprintf("must be in [1, %d]", maxBatch))
	}
	if c.Threads < 0 || c.Threads > maxThreads {
		return bad("threads", c.Threads, fmt.Sprintf("must be in [0, %d]", maxThreads))
	}
	if c.Patience < 0 {
		return bad("patience", c.Patience, "must be >= 0 (0 disables early stopping)")
	}
	return nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func joinNames[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}
