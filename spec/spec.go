// Package spec parses and validates study specifications (YAML or JSON) and
// turns a suggested configuration into a trainer configuration.
//
// A spec that passes Parse is safe to start: every field has been checked and
// defaults have been filled in, so the stored form (Canonical) is complete.
package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("spec: invalid")

// Spec is a study specification. Field names follow the YAML format in the
// README; JSON uses the same names.
type Spec struct {
	Name    string `yaml:"name" json:"name"`
	Dataset string `yaml:"dataset" json:"dataset"`
	Model   Model  `yaml:"model" json:"model"`
	// Threads is the number of threads each trial trains with, 1 to
	// MaxThreads; 0 (unset, and left out of the canonical form so that the
	// hashes of specs without it do not change) means 1. A worker gives a
	// trial at most its share of the worker's cores (cores / concurrency),
	// so it may train with fewer.
	Threads   int       `yaml:"threads" json:"threads,omitempty"`
	Objective Objective `yaml:"objective" json:"objective"`
	// Objectives, when set, make the study multi-objective: 2 to
	// MaxObjectives metrics (ObjectiveMetrics), each with its direction.
	// Trials store one value per objective, and the search (nsga2, or a
	// sampler that does not read results) looks for the Pareto front.
	// Objective stays the metric early stopping and the ranking views use.
	Objectives []Objective          `yaml:"objectives" json:"objectives,omitempty"`
	Space      map[string]ParamSpec `yaml:"space" json:"space"`
	Search     Search               `yaml:"search" json:"search"`
	Schedule   Schedule             `yaml:"schedule" json:"schedule"`
	Optimizer  Optimizer            `yaml:"optimizer" json:"optimizer"`
	// KeepModels keeps the final weights of the study's best KeepModels
	// complete trials (by the objective) after they end, for `tunectl
	// export --model`; 0 (the default) keeps none. Workers with the
	// object-store checkpoint backend keep them.
	KeepModels int `yaml:"keep_models" json:"keep_models,omitempty"`
	// Enqueue lists configurations (parameter name to value, as in
	// space) the study runs first, each with the study's replicate seeds,
	// before the sampler proposes any: known baselines such as ReLU with
	// He initialisation. They count against max_trials, and the sampler
	// sees their results like any other.
	Enqueue []map[string]any `yaml:"enqueue" json:"enqueue,omitempty"`
}

// MaxKeepModels bounds keep_models.
const MaxKeepModels = 1000

// MaxEnqueue bounds enqueue.
const MaxEnqueue = 1000

// Model describes the network trained by every trial.
type Model struct {
	Kind trainer.ModelKind `yaml:"kind" json:"kind"`
	// Hidden lists the hidden layer sizes, 1 to MaxHidden of them; it is
	// left empty when the space searches hidden_layers and hidden_width.
	Hidden []int `yaml:"hidden" json:"hidden,omitempty"`
	// Conv lists the output channels of each 3x3 conv + 2x2 pool block of a
	// cnn (default [16, 32]); image datasets only.
	Conv []int `yaml:"conv" json:"conv,omitempty"`
	// Dropout, BatchNorm, Normalize and SwishBeta fix the space parameters
	// of the same names (dropout, batch_norm, normalize, swish_beta) for
	// every trial; a spec sets each either here or in the space. Unset,
	// the trainer's defaults apply: no dropout, no batch norm, standard
	// normalisation, swish beta 1. SwishBeta is a number or "learnable".
	Dropout   float64 `yaml:"dropout" json:"dropout,omitempty"`
	BatchNorm string  `yaml:"batch_norm" json:"batch_norm,omitempty"`
	Normalize string  `yaml:"normalize" json:"normalize,omitempty"`
	SwishBeta any     `yaml:"swish_beta" json:"swish_beta,omitempty"`
}

// fixed returns the model fields that fix a space parameter, by parameter
// name, for those set.
func (m *Model) fixed() map[string]any {
	f := map[string]any{}
	if m.Dropout != 0 {
		f["dropout"] = m.Dropout
	}
	if m.BatchNorm != "" {
		f["batch_norm"] = m.BatchNorm
	}
	if m.Normalize != "" {
		f["normalize"] = m.Normalize
	}
	if m.SwishBeta != nil {
		f["swish_beta"] = m.SwishBeta
	}
	return f
}

// Objective names the metric the search optimises.
type Objective struct {
	Metric    string           `yaml:"metric" json:"metric"`
	Direction search.Direction `yaml:"direction" json:"direction"`
}

// ParamSpec is one entry of the space: exactly one of the distributions,
// and optionally a condition.
type ParamSpec struct {
	Choice     []any          `yaml:"choice,omitempty" json:"choice,omitempty"`
	Uniform    []float64      `yaml:"uniform,omitempty" json:"uniform,omitempty"`
	LogUniform []float64      `yaml:"log_uniform,omitempty" json:"log_uniform,omitempty"`
	IntUniform []float64      `yaml:"int_uniform,omitempty" json:"int_uniform,omitempty"`
	When       map[string]any `yaml:"when,omitempty" json:"when,omitempty"`
}

// Search configures the sampler and the budget.
type Search struct {
	Algorithm       string `yaml:"algorithm" json:"algorithm"`
	MaxTrials       int    `yaml:"max_trials" json:"max_trials"`
	MaxFailedTrials int    `yaml:"max_failed_trials" json:"max_failed_trials"`
	Parallelism     int    `yaml:"parallelism" json:"parallelism"`
	Seed            uint64 `yaml:"seed" json:"seed"`
	Replicates      int    `yaml:"replicates" json:"replicates"`
	GridPoints      int    `yaml:"grid_points" json:"grid_points"`
	// Multivariate makes tpe model the parameters jointly (tpe only).
	Multivariate bool `yaml:"multivariate" json:"multivariate,omitempty"`
	// Deadline bounds the study's wall time, as a Go duration ("2h"); empty means none.
	Deadline string `yaml:"deadline" json:"deadline,omitempty"`
}

// Schedule configures early stopping and the epoch budget of a trial.
type Schedule struct {
	Kind      search.ScheduleKind `yaml:"kind" json:"kind"`
	MinEpochs int                 `yaml:"min_epochs" json:"min_epochs"`
	MaxEpochs int                 `yaml:"max_epochs" json:"max_epochs"`
	Reduction int                 `yaml:"reduction" json:"reduction"`
	// MinTrials and WarmupEpochs tune the median rule (defaults 5 and 0).
	MinTrials    int `yaml:"min_trials" json:"min_trials,omitempty"`
	WarmupEpochs int `yaml:"warmup_epochs" json:"warmup_epochs,omitempty"`
	// Patience stops a trial whose validation loss has not improved for
	// this many epochs (0: off).
	Patience int `yaml:"patience" json:"patience,omitempty"`
	// Brackets is hyperband's number of brackets (0: as many as
	// min_epochs, max_epochs and reduction allow).
	Brackets int `yaml:"brackets" json:"brackets,omitempty"`
	// Interval, Quantile, Perturb and ResampleProbability configure
	// kind pbt (population-based training; see search.PBT): the
	// population (search.max_trials trials) trains in generations of
	// Interval epochs up to max_epochs; after each, the bottom Quantile
	// copies a top-Quantile trial's weights and parameters and perturbs
	// them by a factor drawn from Perturb, or draws them afresh with
	// ResampleProbability. Defaults 0.25, [0.8, 1.2] and 0.25; Interval
	// is required.
	Interval            int       `yaml:"interval" json:"interval,omitempty"`
	Quantile            float64   `yaml:"quantile" json:"quantile,omitempty"`
	Perturb             []float64 `yaml:"perturb" json:"perturb,omitempty"`
	ResampleProbability *float64  `yaml:"resample_probability" json:"resample_probability,omitempty"`
}

// MaxPBTSteps bounds a pbt study's generations times its population: each
// member's generation is an activity in the study's workflow history, and
// the history must stay well inside Temporal's limits (50k events).
const MaxPBTSteps = 2000

// PBT returns the pbt scheduler's exploit/explore settings.
func (s *Spec) PBT() search.PBT {
	p := search.PBT{Quantile: s.Schedule.Quantile, Perturb: s.Schedule.Perturb}
	if s.Schedule.ResampleProbability != nil {
		p.ResampleProbability = *s.Schedule.ResampleProbability
	}
	return p
}

// PBTGenerations is the number of generations of a pbt study: max_epochs
// in steps of interval, the last one perhaps shorter.
func (s *Spec) PBTGenerations() int {
	if s.Schedule.Interval < 1 {
		return 0
	}
	return (s.Schedule.MaxEpochs + s.Schedule.Interval - 1) / s.Schedule.Interval
}

// SchedulerSpec returns the early-stopping scheduler's settings.
func (s *Spec) SchedulerSpec() search.SchedulerSpec {
	return search.SchedulerSpec{
		Kind: s.Schedule.Kind, MinEpochs: s.Schedule.MinEpochs, MaxEpochs: s.Schedule.MaxEpochs,
		Reduction: s.Schedule.Reduction, MinTrials: s.Schedule.MinTrials, WarmupEpochs: s.Schedule.WarmupEpochs,
		Brackets: s.Schedule.Brackets,
	}
}

// SamplerOptions returns the sampler's settings.
func (s *Spec) SamplerOptions() search.SamplerOptions {
	return search.SamplerOptions{GridPoints: s.Search.GridPoints, Multivariate: s.Search.Multivariate, Directions: s.Directions()}
}

// Optimizer configures the optimizer fields that the space does not search.
type Optimizer struct {
	Kind        string  `yaml:"kind" json:"kind"`
	Momentum    float64 `yaml:"momentum" json:"momentum,omitempty"`
	Nesterov    bool    `yaml:"nesterov" json:"nesterov,omitempty"`
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay,omitempty"`
	ClipNorm    float64 `yaml:"clip_norm" json:"clip_norm,omitempty"`
}

// Limits enforced by Validate.
const (
	MaxTrials      = 100000
	MaxParallelism = 1024
	MaxReplicates  = 100
	// MaxThreads bounds a trial's threads.
	MaxThreads     = 64
	MaxEpochs      = 1000
	MaxHiddenUnits = 8192
	// MaxHidden is the most hidden layers, model.hidden's or hidden_layers'.
	MaxHidden = trainer.MaxHiddenLayers
	// MaxConv is the most convolution blocks of a cnn, MaxChannels the
	// widest block.
	MaxConv     = 4
	MaxChannels = 512
	// MaxChoices is the longest choice list, and the longest list of
	// values a condition may name.
	MaxChoices = MaxEntries
	// MaxCorners bounds the configurations Validate checks (every choice
	// and both bounds of every range, combined as the conditions allow).
	MaxCorners = 100000
	// DefaultMaxTrialMemory is the default budget of one trial's estimated
	// peak memory.
	DefaultMaxTrialMemory int64 = 2 << 30
)

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// trialInfix separates a study's name from a trial number in workflow ids.
const trialInfix = "-trial-"

// ValidateName checks a study name: it becomes the workflow id
// study-<name>, its trials' ids study-<name>-trial-<n>, and a NATS subject
// token, so it is restricted to lower-case letters, digits and '-', and may
// not contain "-trial-" (the study "x-trial-3" would take the id of trial
// 3 of the study "x").
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return invalid("name", fmt.Sprintf("%q", name), "must match ^[a-z0-9][a-z0-9-]{0,62}$ (lower-case letters, digits and '-'; it becomes part of workflow ids and NATS subjects)")
	}
	if strings.Contains(name, trialInfix) {
		return invalid("name", fmt.Sprintf("%q", name), `must not contain "-trial-" (trial workflows are named study-<name>-trial-<n>, so this name could take another study's trial's id)`)
	}
	return nil
}

// Options adjust Validate.
type Options struct {
	// MaxTrialMemory is the budget of one trial's estimated peak memory
	// (the worst configuration of the space, the data set included), in
	// bytes: 0 means DefaultMaxTrialMemory, a negative value no limit.
	MaxTrialMemory int64
}

func (o Options) maxTrialMemory() int64 {
	if o.MaxTrialMemory == 0 {
		return DefaultMaxTrialMemory
	}
	return o.MaxTrialMemory
}

// Parse decodes a YAML or JSON spec, fills in defaults and validates it
// with the default Options.
func Parse(data []byte) (*Spec, error) { return ParseWith(data, Options{}) }

// ParseWith is Parse with options.
func ParseWith(data []byte, opts Options) (*Spec, error) {
	s, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if _, err := s.Check(opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Decode decodes a YAML or JSON spec and fills in defaults without
// validating the values. It refuses a document over MaxFileSize bytes, or
// one that exceeds MaxNodes, MaxDepth, MaxEntries or MaxScalar, before
// decoding it.
func Decode(data []byte) (*Spec, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: the file is %d bytes (at most %d allowed)", ErrInvalid, len(data), MaxFileSize)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file holds no document", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalid, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%w: the file holds more than one document", ErrInvalid)
	}
	if err := checkLimits(&doc); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "spec: "))
	}
	var s Spec
	if err := decodeStrict(&doc, &s); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(), "spec: "))
	}
	s.applyDefaults()
	return &s, nil
}

func (s *Spec) applyDefaults() {
	if s.Model.Kind == "" {
		s.Model.Kind = trainer.MLP
	}
	s.defaultObjectives()
	if s.Objective.Metric == "" {
		s.Objective.Metric = "val_accuracy"
	}
	if s.Objective.Direction == "" {
		s.Objective.Direction = search.Maximize
		if strings.HasSuffix(s.Objective.Metric, "loss") {
			s.Objective.Direction = search.Minimize
		}
	}
	if s.Search.Algorithm == "" {
		s.Search.Algorithm = "random"
	}
	if s.Search.Parallelism == 0 {
		s.Search.Parallelism = 1
	}
	if s.Search.Replicates == 0 {
		s.Search.Replicates = 1
	}
	if s.Schedule.Kind == "" {
		s.Schedule.Kind = search.SchedulerNone
	}
	if s.Schedule.MinEpochs == 0 {
		s.Schedule.MinEpochs = 1
	}
	if s.Schedule.Reduction == 0 {
		s.Schedule.Reduction = 3
	}
	if s.Optimizer.Kind == "" {
		s.Optimizer.Kind = "adam"
	}
	if s.Schedule.Kind == search.SchedulerPBT {
		if s.Schedule.Quantile == 0 {
			s.Schedule.Quantile = 0.25
		}
		if s.Schedule.Perturb == nil {
			s.Schedule.Perturb = []float64{0.8, 1.2}
		}
		if s.Schedule.ResampleProbability == nil {
			p := 0.25
			s.Schedule.ResampleProbability = &p
		}
	}
}

// invalid returns the error "spec: invalid: <field>: <value> <allowed>",
// the value shortened when it is long.
func invalid(field string, value any, allowed string) error {
	v := fmt.Sprint(value)
	if v == "" {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, field, allowed)
	}
	return fmt.Errorf("%w: %s: %s %s", ErrInvalid, field, clip(v), allowed)
}

// interval is a range of allowed numbers, for messages and checks.
type interval struct {
	low, high         float64
	openLow, openHigh bool
}

func (r interval) String() string {
	l, h := "[", "]"
	if r.openLow {
		l = "("
	}
	if r.openHigh {
		h = ")"
	}
	return fmt.Sprintf("%s%v, %v%s", l, r.low, r.high, h)
}

// check returns "must be in [a, b]" when x is outside r, and says that a
// NaN or an infinity is not a number at all.
func (r interval) check(x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("must be a finite number in %s", r)
	}
	lowOK := x >= r.low
	if r.openLow {
		lowOK = x > r.low
	}
	highOK := x <= r.high
	if r.openHigh {
		highOK = x < r.high
	}
	if !lowOK || !highOK {
		return fmt.Errorf("must be in %s", r)
	}
	return nil
}

func checkFloat(field string, x float64, r interval) error {
	if err := r.check(x); err != nil {
		return invalid(field, x, err.Error())
	}
	return nil
}

// Validate checks every field, and every configuration the space can
// produce, with the default Options. Parse calls it after filling in
// defaults.
func (s *Spec) Validate() error {
	_, err := s.Check(Options{})
	return err
}

// ValidateWith is Validate with options.
func (s *Spec) ValidateWith(opts Options) error {
	_, err := s.Check(opts)
	return err
}

// Check validates s and reports what a study of it would run: the trials,
// the parameters, and the estimated peak memory of its most demanding
// configuration. The fields are checked group by group (name, dataset,
// model, objective, space, search, schedule, optimizer) and every group's
// first error is returned, joined; then every value the space can produce
// is checked against the trainer (each choice and both bounds of each
// range, combined as the conditions allow), and the largest batch with the
// widest model against opts.MaxTrialMemory.
func (s *Spec) Check(opts Options) (*Report, error) {
	var errs []error
	for _, check := range []func() error{
		func() error { return ValidateName(s.Name) },
		s.validateDataset,
		s.validateModel,
		s.validateObjective,
		s.validateObjectives,
		func() error { _, err := s.SearchSpace(); return err },
		s.validateSearch,
		s.validateSchedule,
		s.validateOptimizer,
		s.validateKeepModels,
		func() error { _, err := s.EnqueuedConfigs(); return err },
	} {
		if err := check(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s.checkSpace(opts)
}

func (s *Spec) validateDataset() error {
	if len(s.Dataset) > MaxScalar {
		return invalid("dataset", fmt.Sprintf("%q", s.Dataset), fmt.Sprintf("is %d bytes long (at most %d allowed)", len(s.Dataset), MaxScalar))
	}
	if err := trainer.ValidateDatasetName(s.Dataset); err != nil {
		reason := err.Error()
		var de *trainer.DatasetNameError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		return invalid("dataset", fmt.Sprintf("%q", s.Dataset), reason)
	}
	return nil
}

func (s *Spec) validateModel() error {
	switch s.Model.Kind {
	case trainer.MLP:
		if len(s.Model.Conv) > 0 {
			return invalid("model.conv", s.Model.Conv, "is only allowed for model.kind cnn")
		}
	case trainer.CNN:
		if !trainer.IsImageDataset(s.Dataset) {
			return invalid("model.kind", `"cnn"`, fmt.Sprintf("needs an image dataset (mnist, fashion-mnist, idx:...), not %q", clip(s.Dataset)))
		}
		if len(s.Model.Conv) > MaxConv {
			return invalid("model.conv", s.Model.Conv, fmt.Sprintf("must list 1 to %d blocks (empty means [16, 32])", MaxConv))
		}
		for i, c := range s.Model.Conv {
			if c < 1 || c > MaxChannels {
				return invalid(fmt.Sprintf("model.conv[%d]", i), c, fmt.Sprintf("must be in [1, %d]", MaxChannels))
			}
		}
	default:
		return invalid("model.kind", fmt.Sprintf("%q", s.Model.Kind), "is not a model (allowed: "+joinKinds(trainer.ModelKinds())+")")
	}
	_, searchedLayers := s.Space["hidden_layers"]
	_, searchedWidth := s.Space["hidden_width"]
	switch {
	case (searchedLayers || searchedWidth) && len(s.Model.Hidden) > 0:
		return invalid("model.hidden", s.Model.Hidden, "cannot be combined with space.hidden_layers and space.hidden_width, which set the hidden layers (allowed: one or the other; a fixed value in the space is a one-value choice)")
	case searchedLayers != searchedWidth:
		missing, other := "space.hidden_width", "hidden_layers"
		if searchedWidth {
			missing, other = "space.hidden_layers", "hidden_width"
		}
		return invalid(missing, "(missing)", fmt.Sprintf("must be defined with space.%s (a fixed value is a one-value choice such as {choice: [64]})", other))
	case searchedLayers:
		for _, name := range []string{"hidden_layers", "hidden_width"} {
			if len(s.Space[name].When) > 0 {
				return invalid("space."+name+".when", s.Space[name].When, "is not allowed: every trial needs its hidden layers")
			}
		}
	case len(s.Model.Hidden) == 0 || len(s.Model.Hidden) > MaxHidden:
		return invalid("model.hidden", s.Model.Hidden, fmt.Sprintf("must list 1 to %d layer sizes, or be left out when space.hidden_layers and space.hidden_width are defined", MaxHidden))
	}
	fixed := s.Model.fixed()
	for _, name := range slices.Sorted(maps.Keys(fixed)) {
		field := "model." + name
		if _, ok := s.Space[name]; ok {
			return invalid(field, fixed[name], fmt.Sprintf("cannot be combined with space.%s (allowed: one or the other)", name))
		}
		v, err := search.ValueOf(fixed[name])
		if err == nil {
			err = params[name].check(v)
		}
		if err != nil {
			return invalid(field, fixed[name], err.Error())
		}
	}
	for i, h := range s.Model.Hidden {
		if h < 1 || h > MaxHiddenUnits {
			return invalid(fmt.Sprintf("model.hidden[%d]", i), h, fmt.Sprintf("must be in [1, %d]", MaxHiddenUnits))
		}
	}
	return nil
}

func (s *Spec) validateObjective() error {
	if _, err := trainer.ParseMetric(s.Objective.Metric); err != nil {
		return invalid("objective.metric", fmt.Sprintf("%q", s.Objective.Metric), "is not a metric (allowed: val_accuracy, val_loss, train_loss)")
	}
	if s.Objective.Direction != search.Maximize && s.Objective.Direction != search.Minimize {
		return invalid("objective.direction", fmt.Sprintf("%q", s.Objective.Direction), "must be maximize or minimize")
	}
	return nil
}

func (s *Spec) validateSearch() error {
	if _, err := search.NewSampler(s.Search.Algorithm, search.SamplerOptions{}); err != nil {
		return invalid("search.algorithm", fmt.Sprintf("%q", s.Search.Algorithm), fmt.Sprintf("is not an algorithm (allowed: %s)", strings.Join(search.Algorithms(), ", ")))
	}
	if s.Search.Multivariate && s.Search.Algorithm != "tpe" {
		return invalid("search.multivariate", true, fmt.Sprintf("is a tpe option; algorithm %q has no multivariate mode (allowed: multivariate with tpe only)", s.Search.Algorithm))
	}
	if space, err := s.SearchSpace(); err == nil {
		if err := search.CheckSpace(s.Search.Algorithm, space); err != nil {
			return invalid("search.algorithm", fmt.Sprintf("%q", s.Search.Algorithm), fmt.Sprintf("cannot search this space: %v", err))
		}
	}
	if s.Search.MaxTrials < 1 || s.Search.MaxTrials > MaxTrials {
		return invalid("search.max_trials", s.Search.MaxTrials, fmt.Sprintf("must be in [1, %d]", MaxTrials))
	}
	if s.Search.MaxFailedTrials < 0 {
		return invalid("search.max_failed_trials", s.Search.MaxFailedTrials, "must be >= 0 (0 means no limit)")
	}
	if s.Search.Parallelism < 1 || s.Search.Parallelism > MaxParallelism {
		return invalid("search.parallelism", s.Search.Parallelism, fmt.Sprintf("must be in [1, %d]", MaxParallelism))
	}
	if s.Search.Replicates < 1 || s.Search.Replicates > MaxReplicates {
		return invalid("search.replicates", s.Search.Replicates, fmt.Sprintf("must be in [1, %d]", MaxReplicates))
	}
	if s.Threads < 0 || s.Threads > MaxThreads {
		return invalid("threads", s.Threads, fmt.Sprintf("must be in [1, %d] (threads per trial)", MaxThreads))
	}
	if s.Search.Seed > math.MaxInt64 {
		return invalid("search.seed", s.Search.Seed, "must be in [0, 9223372036854775807]")
	}
	if s.Search.GridPoints < 0 || s.Search.GridPoints > 100 {
		return invalid("search.grid_points", s.Search.GridPoints, "must be in [0, 100] (0 means 3)")
	}
	if _, err := s.DeadlineDuration(); err != nil {
		return invalid("search.deadline", fmt.Sprintf("%q", s.Search.Deadline), "must be a positive Go duration such as 90m or 2h")
	}
	return nil
}

func (s *Spec) validateSchedule() error {
	if _, err := search.ParseScheduleKind(string(s.Schedule.Kind)); err != nil {
		return invalid("schedule.kind", fmt.Sprintf("%q", s.Schedule.Kind), "is not a scheduler (allowed: "+joinKinds(search.SchedulerKinds())+")")
	}
	if s.Schedule.MaxEpochs < 1 || s.Schedule.MaxEpochs > MaxEpochs {
		return invalid("schedule.max_epochs", s.Schedule.MaxEpochs, fmt.Sprintf("must be in [1, %d]", MaxEpochs))
	}
	if s.Schedule.MinEpochs < 1 || s.Schedule.MinEpochs > s.Schedule.MaxEpochs {
		return invalid("schedule.min_epochs", s.Schedule.MinEpochs, fmt.Sprintf("must be in [1, max_epochs=%d]", s.Schedule.MaxEpochs))
	}
	if s.Schedule.Reduction < 2 || s.Schedule.Reduction > 100 {
		return invalid("schedule.reduction", s.Schedule.Reduction, "must be in [2, 100]")
	}
	if s.Schedule.MinTrials < 0 || s.Schedule.WarmupEpochs < 0 || s.Schedule.Patience < 0 {
		return invalid("schedule", fmt.Sprintf("min_trials %d, warmup_epochs %d, patience %d", s.Schedule.MinTrials, s.Schedule.WarmupEpochs, s.Schedule.Patience), "must all be >= 0")
	}
	if _, err := search.NewScheduler(s.SchedulerSpec()); err != nil {
		return fmt.Errorf("%w: schedule: %v", ErrInvalid, err)
	}
	return s.validatePBT()
}

// validatePBT checks the pbt fields: set only for kind pbt, and then
// consistent with the search settings.
func (s *Spec) validatePBT() error {
	sc := s.Schedule
	if sc.Kind != search.SchedulerPBT {
		if sc.Interval != 0 || sc.Quantile != 0 || sc.Perturb != nil || sc.ResampleProbability != nil {
			return invalid("schedule", fmt.Sprintf("kind %s", sc.Kind), "sets interval, quantile, perturb or resample_probability, which apply to kind pbt only")
		}
		return nil
	}
	if sc.Interval < 1 || sc.Interval > sc.MaxEpochs {
		return invalid("schedule.interval", sc.Interval, fmt.Sprintf("must be in [1, max_epochs=%d] (epochs per pbt generation)", sc.MaxEpochs))
	}
	if math.IsNaN(sc.Quantile) || sc.Quantile <= 0 || sc.Quantile > 0.5 {
		return invalid("schedule.quantile", sc.Quantile, "must be in (0, 0.5] (the fraction of the population replaced each generation)")
	}
	if len(sc.Perturb) < 1 || len(sc.Perturb) > 16 {
		return invalid("schedule.perturb", sc.Perturb, "must list 1 to 16 factors such as [0.8, 1.2]")
	}
	for i, f := range sc.Perturb {
		if err := checkFloat(fmt.Sprintf("schedule.perturb[%d]", i), f, interval{low: 0, high: 10, openLow: true}); err != nil {
			return err
		}
	}
	if err := checkFloat("schedule.resample_probability", *sc.ResampleProbability, interval{low: 0, high: 1}); err != nil {
		return err
	}
	if sc.Patience != 0 {
		return invalid("schedule.patience", sc.Patience, "must be 0 with kind pbt (a member stops only when the population does)")
	}
	if len(s.Objectives) > 0 {
		return invalid("objectives", fmt.Sprintf("%d metrics", len(s.Objectives)), "must be empty with schedule.kind pbt (a population is ranked by the single objective)")
	}
	if s.Search.Replicates != 1 {
		return invalid("search.replicates", s.Search.Replicates, "must be 1 with schedule.kind pbt (members copy each other's weights, so replicates would not stay independent)")
	}
	pop := s.Search.MaxTrials
	if pop < 2 {
		return invalid("search.max_trials", pop, "must be >= 2 with schedule.kind pbt (it is the population size)")
	}
	if steps := pop * s.PBTGenerations(); steps > MaxPBTSteps {
		return invalid("schedule", fmt.Sprintf("%d generations x population %d = %d", s.PBTGenerations(), pop, steps),
			fmt.Sprintf("must be at most %d (raise interval or lower max_trials: every member's generation is an activity in the study's history)", MaxPBTSteps))
	}
	if len(s.Enqueue) > pop {
		return invalid("enqueue", fmt.Sprintf("%d configurations", len(s.Enqueue)), fmt.Sprintf("at most the population (max_trials=%d) with schedule.kind pbt", pop))
	}
	return nil
}

func (s *Spec) validateOptimizer() error {
	if _, err := trainer.ParseOptimizer(s.Optimizer.Kind); err != nil {
		return invalid("optimizer.kind", fmt.Sprintf("%q", s.Optimizer.Kind), fmt.Sprintf("is not an optimizer (allowed: %s)", strings.Join(optimizerNames(), ", ")))
	}
	if err := checkFloat("optimizer.momentum", s.Optimizer.Momentum, interval{low: 0, high: 1, openHigh: true}); err != nil {
		return err
	}
	if err := checkFloat("optimizer.weight_decay", s.Optimizer.WeightDecay, interval{low: 0, high: 1, openHigh: true}); err != nil {
		return err
	}
	if math.IsNaN(s.Optimizer.ClipNorm) || math.IsInf(s.Optimizer.ClipNorm, 0) || s.Optimizer.ClipNorm < 0 {
		return invalid("optimizer.clip_norm", s.Optimizer.ClipNorm, "must be a finite number >= 0 (0 means no clipping)")
	}
	if _, searched := s.Space["optimizer"]; s.Optimizer.Nesterov && !searched && s.Optimizer.Kind != string(trainer.Momentum) {
		return invalid("optimizer.nesterov", true, fmt.Sprintf("needs optimizer.kind momentum, not %q", s.Optimizer.Kind))
	}
	return nil
}

func (s *Spec) validateKeepModels() error {
	if s.KeepModels < 0 || s.KeepModels > MaxKeepModels {
		return invalid("keep_models", s.KeepModels, fmt.Sprintf("must be in [0, %d] (the number of best complete trials whose final weights are kept)", MaxKeepModels))
	}
	return nil
}

// Canonical returns the spec's stored form: JSON with defaults filled in.
func (s *Spec) Canonical() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("spec: encoding a validated spec: %v", err))
	}
	return b
}

// Hash identifies the spec: submitting a spec with the same name and hash
// again is a no-op; the same name with another hash is an error.
func (s *Spec) Hash() string {
	sum := sha256.Sum256(s.Canonical())
	return hex.EncodeToString(sum[:16])
}

// Keys returns the names of the space's parameters, sorted.
func (s *Spec) Keys() []string {
	keys := make([]string, 0, len(s.Space))
	for k := range s.Space {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// joinKinds lists typed names as "a, b, c".
func joinKinds[T ~string](kinds []T) string {
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// EnqueuedConfigs returns the enqueue list as configurations of the search
// space, each checked against it (every value in its parameter's range or
// choices, conditional parameters exactly where they apply).
func (s *Spec) EnqueuedConfigs() ([]search.Config, error) {
	if len(s.Enqueue) == 0 {
		return nil, nil
	}
	if len(s.Enqueue) > MaxEnqueue {
		return nil, invalid("enqueue", fmt.Sprintf("%d configurations", len(s.Enqueue)), fmt.Sprintf("at most %d allowed", MaxEnqueue))
	}
	space, err := s.SearchSpace()
	if err != nil {
		return nil, err
	}
	return ConfigsOf(space, s.Enqueue, "enqueue")
}

// ConfigsOf turns raw parameter maps (from YAML or JSON) into
// configurations of space; field names the list in errors.
func ConfigsOf(space *search.Space, raw []map[string]any, field string) ([]search.Config, error) {
	out := make([]search.Config, 0, len(raw))
	for i, m := range raw {
		c := search.Config{}
		for _, name := range slices.Sorted(maps.Keys(m)) {
			if _, ok := space.Param(name); !ok {
				return nil, invalid(fmt.Sprintf("%s[%d].%s", field, i, name), m[name], "is not a parameter of the space")
			}
			v, err := search.ValueOf(m[name])
			if err != nil {
				return nil, invalid(fmt.Sprintf("%s[%d].%s", field, i, name), m[name], err.Error())
			}
			c[name] = v
		}
		if err := space.Contains(c); err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), c, err.Error())
		}
		out = append(out, c)
	}
	return out, nil
}
