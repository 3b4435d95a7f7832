// Package train implements `tunectl train`: one configuration trained
// locally, without the cluster, by the same code the study workers run.
package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/trainer"
)

// Options are the parsed flags of `tunectl train` and its dependencies.
type Options struct {
	IO *cmdutil.IOStreams
	// Config is the training configuration the flags describe (defaults
	// filled in and validated).
	Config trainer.Config
	// Output is "text" or "json".
	Output string
	// LoadDataset loads Config.Dataset: a trainer.Loader's Load, reading
	// csv: and idx: files under --data-dir, unless a test substitutes it.
	LoadDataset func(name string, seed uint64) (*trainer.Dataset, error)
}

// Output formats.
const (
	OutputText = "text"
	OutputJSON = "json"
)

// NewCmdTrain returns the `train` command. runF, when not nil, is called
// with the parsed options instead of training (tests use it).
func NewCmdTrain(ios *cmdutil.IOStreams, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: ios, LoadDataset: trainer.LoadDataset}
	var (
		hidden, conv                    string
		activation, initName, optimizer string
		model                           string
		dataDir                         string
		batchNorm, normalize, swishBeta string
		cfg                             trainer.Config
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train one configuration locally and print its per-epoch metrics",
		Long: `Train one configuration on this machine, without the cluster, with the same
code a study's workers run. Use it to sanity-check a configuration before a study.

Text output is a table of epochs; --output json prints one JSON object per epoch
(epoch, train_loss, val_loss, val_accuracy, train_samples_per_sec, lr, layers),
then one summary object with test_accuracy.`,
		Example: `  tunectl train --dataset mnist --hidden 256,128 --activation relu --epochs 10
  tunectl train --dataset mnist --hidden 64x64 --lr 2e-4 --batch-size 64 --epochs 5
  tunectl train --dataset mnist --hidden 8x128 --activation swish --swish-beta learnable --batch-norm before --dropout 0.1
  tunectl train --dataset spirals --hidden 64,64 --activation leaky_relu --negative-slope 0.1 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// WithDefaults reads 0 as "unset": an explicit 0 is an error here.
			for _, p := range []struct {
				flag string
				zero bool
			}{{"batch-size", cfg.BatchSize <= 0}, {"epochs", cfg.Epochs <= 0}, {"lr", cfg.LearningRate <= 0}} {
				if p.zero && cmd.Flags().Changed(p.flag) {
					return cmdutil.Usagef("--%s %s: must be > 0", p.flag, cmd.Flags().Lookup(p.flag).Value)
				}
			}
			var err error
			if cfg.Hidden, err = parseHidden(hidden); err != nil {
				return err
			}
			if cfg.Conv, err = parseInts("conv", conv); err != nil {
				return err
			}
			if cfg.Activation, err = trainer.ParseActivation(activation); err != nil {
				return flagError("activation", err)
			}
			if initName != "" {
				if cfg.Init, err = trainer.ParseInit(initName); err != nil {
					return flagError("init", err)
				}
			}
			if cfg.Optimizer, err = trainer.ParseOptimizer(optimizer); err != nil {
				return flagError("optimizer", err)
			}
			if cfg.BatchNorm, err = trainer.ParseBatchNorm(batchNorm); err != nil {
				return flagError("batch-norm", err)
			}
			if cfg.Normalize, err = trainer.ParseNormalize(normalize); err != nil {
				return flagError("normalize", err)
			}
			if cfg.SwishBeta, cfg.LearnSwishBeta, err = parseSwishBeta(swishBeta); err != nil {
				return err
			}
			switch model {
			case string(trainer.MLP), string(trainer.CNN):
				cfg.Model = trainer.ModelKind(model)
			default:
				return cmdutil.Usagef("--model %q: must be mlp or cnn", model)
			}
			if opts.Output != OutputText && opts.Output != OutputJSON {
				return cmdutil.Usagef("--output %q: must be text or json", opts.Output)
			}
			c := cfg.WithDefaults()
			if err := c.Validate(); err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			opts.Config = c
			// The same confinement and caps as a worker's, so that a path
			// that works here works in a study.
			dataOpts, err := trainer.DataOptionsFromEnv()
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if cmd.Flags().Changed("data-dir") {
				dataOpts.Root = dataDir
			}
			loader, err := trainer.NewLoader(dataOpts)
			if err != nil {
				return flagError("data-dir", err)
			}
			opts.LoadDataset = loader.Load
			if runF != nil {
				return runF(opts)
			}
			return Run(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dataset, "dataset", "spirals", "data set: spirals, moons, circles, mnist, fashion-mnist, csv:<path>, idx:<images>,<labels>")
	f.StringVar(&dataDir, "data-dir", "", "directory csv: and idx: paths are read under and may not leave (default $"+trainer.EnvDataDir+", else the current directory)")
	f.StringVar(&model, "model", "mlp", "architecture: mlp or cnn")
	f.StringVar(&conv, "conv", "", "cnn: output channels of each 3x3 conv+pool block, comma-separated (default 16,32)")
	f.StringVar(&hidden, "hidden", "", "hidden layer sizes, comma-separated, or LAYERSxWIDTH such as 64x64 (default 256,128; 128 for cnn)")
	f.StringVar(&activation, "activation", "relu", "relu, leaky_relu, elu, prelu, swish, gelu, selu, tanh, sigmoid")
	f.Float64Var(&cfg.NegativeSlope, "negative-slope", 0.01, "leaky_relu negative slope")
	f.Float64Var(&cfg.ELUAlpha, "elu-alpha", 1.0, "elu alpha")
	f.Float64Var(&cfg.PReLUInit, "prelu-init", 0.25, "prelu initial slope")
	f.StringVar(&initName, "init", "", "he_normal, he_uniform, xavier_normal, xavier_uniform, lecun_normal, lecun_uniform, orthogonal (default by activation)")
	f.Float64Var(&cfg.Dropout, "dropout", 0, "inverted dropout rate after each hidden activation, in [0, 1) (0: off)")
	f.StringVar(&batchNorm, "batch-norm", "none", "batch normalisation of the hidden layers: none, before or after the activation")
	f.StringVar(&normalize, "normalize", "standard", "image input scaling: standard (standardised), unit ([0, 1]) or none (raw bytes)")
	f.StringVar(&swishBeta, "swish-beta", "1", "swish's beta: a number in (0, 10], or learnable (one per layer, trained)")
	f.StringVar(&optimizer, "optimizer", "adam", "sgd, momentum, adam, adamw")
	f.Float64Var(&cfg.LearningRate, "lr", 0, "learning rate (default 1e-3 for adam/adamw, 1e-2 for sgd/momentum)")
	f.Float64Var(&cfg.Momentum, "momentum", 0, "momentum coefficient (default 0.9 for the momentum optimizer)")
	f.BoolVar(&cfg.Nesterov, "nesterov", false, "Nesterov momentum")
	f.Float64Var(&cfg.WeightDecay, "weight-decay", 0, "weight decay (default 0.01 for adamw)")
	f.Float64Var(&cfg.ClipNorm, "clip-norm", 0, "clip the gradient's global L2 norm to this (0: off)")
	f.StringVar(&cfg.LRSchedule, "lr-schedule", "constant", "constant, step or cosine")
	f.IntVar(&cfg.WarmupEpochs, "warmup-epochs", 0, "epochs of linear learning-rate warmup")
	f.IntVar(&cfg.BatchSize, "batch-size", 128, "batch size")
	f.IntVar(&cfg.Epochs, "epochs", 10, "epochs")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the initial weights and the data order")
	f.IntVar(&cfg.Threads, "threads", 1, "threads for matrix products")
	f.IntVar(&cfg.Patience, "patience", 0, "early stopping after this many epochs without a better val loss (0: off)")
	f.StringVarP(&opts.Output, "output", "o", OutputText, "output format: text or json")
	return cmd
}

func flagError(flag string, err error) error {
	return cmdutil.Usagef("--%s: %w", flag, err)
}

// parseHidden parses --hidden: "256,128", or "64x64" for 64 layers of 64
// units (empty means unset).
func parseHidden(s string) ([]int, error) {
	layers, width, ok := strings.Cut(strings.TrimSpace(s), "x")
	if !ok {
		return parseInts("hidden", s)
	}
	l, err1 := strconv.Atoi(layers)
	w, err2 := strconv.Atoi(width)
	if err1 != nil || err2 != nil || l < 1 || w < 1 {
		return nil, cmdutil.Usagef("--hidden %q: want LAYERSxWIDTH with positive integers such as 64x64, or sizes like 256,128", s)
	}
	if l > trainer.MaxHiddenLayers {
		return nil, cmdutil.Usagef("--hidden %q: %d layers: at most %d allowed", s, l, trainer.MaxHiddenLayers)
	}
	h := make([]int, l)
	for i := range h {
		h[i] = w
	}
	return h, nil
}

// parseSwishBeta parses --swish-beta: a number, or "learnable".
func parseSwishBeta(s string) (beta float64, learn bool, err error) {
	if s == "learnable" {
		return 0, true, nil
	}
	b, err := strconv.ParseFloat(s, 64)
	if err != nil || !(b > 0) {
		return 0, false, cmdutil.Usagef("--swish-beta %q: swish_beta must be a number in (0, 10] or learnable", s)
	}
	return b, false, nil
}

// parseInts parses "256,128" (empty means unset).
func parseInts(flag, s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 {
			return nil, cmdutil.Usagef("--%s %q: %q is not a positive integer; want sizes like 256,128", flag, s, p)
		}
		out = append(out, v)
	}
	return out, nil
}

// Summary is the last object `--output json` prints.
type Summary struct {
	Epochs          int     `json:"epochs"`
	TestAccuracy    float64 `json:"test_accuracy"`
	BestValLoss     float64 `json:"best_val_loss"`
	BestValAccuracy float64 `json:"best_val_accuracy"`
	FinalValLoss    float64 `json:"final_val_loss"`
	FinalValAcc     float64 `json:"final_val_accuracy"`
	EarlyStopped    bool    `json:"early_stopped"`
}

// Run loads the data set, trains, and prints each epoch and the summary.
func Run(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ds, err := opts.LoadDataset(opts.Config.Dataset, opts.Config.Seed)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	var p printer = &textPrinter{w: out}
	if opts.Output == OutputJSON {
		p = &jsonPrinter{enc: json.NewEncoder(out)}
	}
	res, err := trainer.Train(ctx, opts.Config, ds, trainer.Options{
		Report: func(_ context.Context, m trainer.EpochMetrics) error { return p.epoch(m) },
	})
	if err != nil {
		var de *trainer.DivergedError
		if errors.As(err, &de) {
			return fmt.Errorf("training diverged in epoch %d (loss %v): lower the learning rate or add --clip-norm: %w", de.Epoch, de.Loss, err)
		}
		return err
	}
	return p.summary(Summary{
		Epochs: res.Epochs, TestAccuracy: res.TestAccuracy,
		BestValLoss: res.BestValLoss, BestValAccuracy: res.BestValAccuracy,
		FinalValLoss: res.Final.ValLoss, FinalValAcc: res.Final.ValAccuracy,
		EarlyStopped: res.EarlyStopped,
	})
}

type printer interface {
	epoch(trainer.EpochMetrics) error
	summary(Summary) error
}

type jsonPrinter struct{ enc *json.Encoder }

func (p *jsonPrinter) epoch(m trainer.EpochMetrics) error { return p.enc.Encode(m) }
func (p *jsonPrinter) summary(s Summary) error            { return p.enc.Encode(s) }

type textPrinter struct {
	w      io.Writer
	header bool
}

func (p *textPrinter) epoch(m trainer.EpochMetrics) error {
	if !p.header {
		p.header = true
		if _, err := fmt.Fprintf(p.w, "%5s  %10s  %10s  %7s  %10s  %9s  %s\n", "epoch", "train_loss", "val_loss", "val_acc", "samples/s", "lr", "per layer: dead% sat% grad_norm"); err != nil {
			return err
		}
	}
	var layers []string
	for _, l := range m.Layers {
		s := fmt.Sprintf("%.1f/%.1f/%.3g", 100*l.DeadFraction, 100*l.Saturation, l.GradNorm)
		if l.PReLUSlope != nil {
			s += fmt.Sprintf(" a=%.3f", *l.PReLUSlope)
		}
		if l.SwishBeta != nil {
			s += fmt.Sprintf(" b=%.3f", *l.SwishBeta)
		}
		layers = append(layers, s)
	}
	_, err := fmt.Fprintf(p.w, "%5d  %10.4f  %10.4f  %6.2f%%  %10.0f  %9.3g  %s\n",
		m.Epoch, m.TrainLoss, m.ValLoss, 100*m.ValAccuracy, m.SamplesPerSec, m.LR, strings.Join(layers, "  "))
	return err
}

func (p *textPrinter) summary(s Summary) error {
	stopped := ""
	if s.EarlyStopped {
		stopped = ", stopped early"
	}
	_, err := fmt.Fprintf(p.w, "test accuracy %.2f%% after %d epochs%s (best val loss %.4f, best val accuracy %.2f%%)\n",
		100*s.TestAccuracy, s.Epochs, stopped, s.BestValLoss, 100*s.BestValAccuracy)
	return err
}
