package spec

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// DeadlineDuration parses search.deadline; zero means no deadline.
func (s *Spec) DeadlineDuration() (time.Duration, error) {
	if s.Search.Deadline == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s.Search.Deadline)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("deadline must be positive")
	}
	return d, nil
}

// paramDef describes a parameter the space may search: its type, the domain
// any distribution must stay inside (the trainer's range for the field it
// sets, less the value 0 where the trainer reads 0 as "default"), and how it
// sets the trainer config.
type paramDef struct {
	kinds   []search.Kind   // allowed distributions
	domain  interval        // numeric parameters
	integer bool            // numeric values must be whole numbers
	choices func() []string // categorical over names
	// valid, when set, replaces the domain and choices checks.
	valid func(v search.Value) error
	apply func(c *trainer.Config, v search.Value)
}

func batchNormNames() []string {
	var s []string
	for _, b := range trainer.BatchNorms() {
		s = append(s, string(b))
	}
	return s
}

func normalizeNames() []string {
	var s []string
	for _, n := range trainer.Normalizations() {
		s = append(s, string(n))
	}
	return s
}

// learnable is the swish_beta value that makes beta a trained parameter.
const learnable = "learnable"

// swishBetaDomain is the range of a fixed swish_beta.
var swishBetaDomain = interval{low: 0, high: 10, openLow: true}

func checkSwishBeta(v search.Value) error {
	if v.IsString() {
		if v.String() == learnable {
			return nil
		}
		return fmt.Errorf("is not allowed (allowed: a number in %s, or %s)", swishBetaDomain, learnable)
	}
	if err := swishBetaDomain.check(v.Float()); err != nil {
		return fmt.Errorf("%v, or be %s", err, learnable)
	}
	return nil
}

func activationNames() []string {
	var s []string
	for _, a := range trainer.Activations() {
		s = append(s, string(a))
	}
	return s
}

func initNames() []string {
	var s []string
	for _, a := range trainer.Inits() {
		s = append(s, string(a))
	}
	return s
}

func optimizerNames() []string {
	var s []string
	for _, a := range trainer.OptimizerKinds() {
		s = append(s, string(a))
	}
	return s
}

var numeric = []search.Kind{search.Float, search.LogFloat, search.Categorical}

var params = map[string]paramDef{
	"activation": {kinds: []search.Kind{search.Categorical}, choices: activationNames,
		apply: func(c *trainer.Config, v search.Value) { c.Activation = trainer.Activation(v.String()) }},
	"init": {kinds: []search.Kind{search.Categorical}, choices: initNames,
		apply: func(c *trainer.Config, v search.Value) { c.Init = trainer.Init(v.String()) }},
	"optimizer": {kinds: []search.Kind{search.Categorical}, choices: optimizerNames,
		apply: func(c *trainer.Config, v search.Value) { c.Optimizer = trainer.OptimizerKind(v.String()) }},
	"negative_slope": {kinds: numeric, domain: interval{low: 0, high: 1, openLow: true, openHigh: true},
		apply: func(c *trainer.Config, v search.Value) { c.NegativeSlope = v.Float() }},
	"elu_alpha": {kinds: numeric, domain: interval{low: 0, high: 10, openLow: true},
		apply: func(c *trainer.Config, v search.Value) { c.ELUAlpha = v.Float() }},
	"prelu_init": {kinds: numeric, domain: interval{low: 0, high: 1, openLow: true, openHigh: true},
		apply: func(c *trainer.Config, v search.Value) { c.PReLUInit = v.Float() }},
	"learning_rate": {kinds: numeric, domain: interval{low: 0, high: 10, openLow: true},
		apply: func(c *trainer.Config, v search.Value) { c.LearningRate = v.Float() }},
	"momentum": {kinds: numeric, domain: interval{low: 0, high: 0.999},
		apply: func(c *trainer.Config, v search.Value) { c.Momentum = v.Float() }},
	"weight_decay": {kinds: numeric, domain: interval{low: 0, high: 1, openHigh: true},
		apply: func(c *trainer.Config, v search.Value) { c.WeightDecay = v.Float() }},
	"batch_size": {kinds: []search.Kind{search.Int, search.Categorical}, domain: interval{low: 1, high: MaxBatchSize}, integer: true,
		apply: func(c *trainer.Config, v search.Value) { c.BatchSize = v.Int() }},
	// hidden_layers and hidden_width build model.hidden: that many layers
	// of that width. A spec defines both or neither.
	"hidden_layers": {kinds: []search.Kind{search.Int, search.Categorical}, domain: interval{low: 1, high: MaxHidden}, integer: true,
		apply: func(c *trainer.Config, v search.Value) {
			w := 0
			if len(c.Hidden) > 0 {
				w = c.Hidden[0]
			}
			c.Hidden = make([]int, v.Int())
			for i := range c.Hidden {
				c.Hidden[i] = w
			}
		}},
	"hidden_width": {kinds: []search.Kind{search.Int, search.Categorical}, domain: interval{low: 1, high: MaxHiddenUnits}, integer: true,
		apply: func(c *trainer.Config, v search.Value) {
			if len(c.Hidden) == 0 {
				c.Hidden = []int{0}
			}
			for i := range c.Hidden {
				c.Hidden[i] = v.Int()
			}
		}},
	"dropout": {kinds: numeric, domain: interval{low: 0, high: 1, openHigh: true},
		apply: func(c *trainer.Config, v search.Value) { c.Dropout = v.Float() }},
	"batch_norm": {kinds: []search.Kind{search.Categorical}, choices: batchNormNames,
		apply: func(c *trainer.Config, v search.Value) { c.BatchNorm = trainer.BatchNorm(v.String()) }},
	"normalize": {kinds: []search.Kind{search.Categorical}, choices: normalizeNames,
		apply: func(c *trainer.Config, v search.Value) { c.Normalize = trainer.Normalize(v.String()) }},
	// swish_beta applies to the trials whose activation is swish; the
	// others ignore it.
	"swish_beta": {kinds: numeric, domain: swishBetaDomain, valid: checkSwishBeta,
		apply: func(c *trainer.Config, v search.Value) {
			if v.IsString() {
				c.LearnSwishBeta = true
				return
			}
			c.SwishBeta = v.Float()
		}},
}

// MaxBatchSize is the largest batch the trainer accepts.
const MaxBatchSize = 16384

// Parameters lists the names a space may use.
func Parameters() []string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SearchSpace builds the typed search space, checking every entry against
// the parameter it sets.
func (s *Spec) SearchSpace() (*search.Space, error) {
	if len(s.Space) == 0 {
		return nil, invalid("space", "{}", fmt.Sprintf("must define at least one parameter (allowed: %s)", strings.Join(Parameters(), ", ")))
	}
	var ps []search.Param
	for _, name := range s.Keys() {
		p, err := buildParam(name, s.Space[name])
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	if _, ok := s.Space["activation"]; !ok {
		return nil, invalid("space.activation", "(missing)", "must be defined: relutune compares activations")
	}
	sp, err := search.NewSpace(ps)
	if err != nil {
		return nil, fmt.Errorf("%w: space.%s", ErrInvalid, strings.TrimPrefix(err.Error(), search.ErrInvalidSpace.Error()+": "))
	}
	return sp, nil
}

func buildParam(name string, ps ParamSpec) (search.Param, error) {
	field := "space." + clip(name)
	def, ok := params[name]
	if !ok {
		return search.Param{}, invalid(field, "", fmt.Sprintf("is not a parameter (allowed: %s)", strings.Join(Parameters(), ", ")))
	}
	p := search.Param{Name: name}
	set := 0
	bounds := func(key string, kind search.Kind, b []float64) error {
		set++
		if len(b) != 2 {
			return invalid(field+"."+key, b, "must be [low, high]")
		}
		p.Kind, p.Low, p.High = kind, b[0], b[1]
		return nil
	}
	if ps.Choice != nil {
		set++
		p.Kind = search.Categorical
		if len(ps.Choice) > MaxChoices {
			return p, invalid(field+".choice", fmt.Sprintf("(%d values)", len(ps.Choice)), fmt.Sprintf("lists too many values (at most %d allowed)", MaxChoices))
		}
		for i, c := range ps.Choice {
			v, err := search.ValueOf(c)
			if err != nil {
				return p, invalid(fmt.Sprintf("%s.choice[%d]", field, i), c, "must be a number or a string")
			}
			p.Choices = append(p.Choices, v)
		}
		if len(p.Choices) == 0 {
			return p, invalid(field+".choice", "[]", "must list at least one value")
		}
	}
	if ps.Uniform != nil {
		if err := bounds("uniform", search.Float, ps.Uniform); err != nil {
			return p, err
		}
	}
	if ps.LogUniform != nil {
		if err := bounds("log_uniform", search.LogFloat, ps.LogUniform); err != nil {
			return p, err
		}
	}
	if ps.IntUniform != nil {
		if err := bounds("int_uniform", search.Int, ps.IntUniform); err != nil {
			return p, err
		}
	}
	if set != 1 {
		return p, invalid(field, "", "must set exactly one of choice, uniform, log_uniform, int_uniform")
	}
	allowedKind := false
	var kinds []string
	for _, k := range def.kinds {
		kinds = append(kinds, k.String())
		allowedKind = allowedKind || k == p.Kind
	}
	if !allowedKind {
		return p, invalid(field+"."+p.Kind.String(), "", "is not allowed for this parameter (allowed: "+strings.Join(kinds, ", ")+")")
	}
	key := field + "." + p.Kind.String()
	if p.Kind == search.Categorical {
		for i, v := range p.Choices {
			if err := def.check(v); err != nil {
				return p, invalid(fmt.Sprintf("%s[%d]", key, i), v, err.Error())
			}
		}
	} else {
		if p.Low > p.High {
			return p, invalid(key, fmt.Sprintf("[%v, %v]", p.Low, p.High), "must have low <= high")
		}
		for _, b := range []float64{p.Low, p.High} {
			if err := def.check(search.Num(b)); err != nil {
				return p, invalid(key, b, err.Error())
			}
		}
		if p.Kind == search.LogFloat && p.Low <= 0 {
			return p, invalid(key, p.Low, "low must be > 0")
		}
		if p.Kind == search.Int && (p.Low != math.Trunc(p.Low) || p.High != math.Trunc(p.High)) {
			return p, invalid(key, fmt.Sprintf("[%v, %v]", p.Low, p.High), "must be integers")
		}
	}
	if len(ps.When) > 0 {
		if len(ps.When) != 1 {
			return p, invalid(field+".when", ps.When, "must name exactly one parameter")
		}
		for parent, raw := range ps.When {
			var in []search.Value
			items, isList := raw.([]any)
			if !isList {
				items = []any{raw}
			}
			if len(items) > MaxChoices {
				return p, invalid(field+".when."+clip(parent), fmt.Sprintf("(%d values)", len(items)), fmt.Sprintf("lists too many values (at most %d allowed)", MaxChoices))
			}
			for _, it := range items {
				v, err := search.ValueOf(it)
				if err != nil {
					return p, invalid(field+".when."+clip(parent), it, "must be a number or a string")
				}
				in = append(in, v)
			}
			p.When = &search.Condition{Param: parent, In: in}
		}
	}
	return p, nil
}

func (d paramDef) check(v search.Value) error {
	if d.valid != nil {
		return d.valid(v)
	}
	if d.choices != nil {
		names := d.choices()
		for _, n := range names {
			if v.IsString() && v.String() == n {
				return nil
			}
		}
		return fmt.Errorf("is not allowed (allowed: %s)", strings.Join(names, ", "))
	}
	if v.IsString() {
		return fmt.Errorf("must be a number")
	}
	x := v.Float()
	if err := d.domain.check(x); err != nil {
		return err
	}
	if d.integer && x != math.Trunc(x) {
		return fmt.Errorf("must be a whole number in %s", d.domain)
	}
	return nil
}

// TrialConfig turns one suggested configuration into the trainer config of
// a trial with the given seed: the spec gives the model, the data and the
// optimizer's fixed settings, the configuration the searched values.
func (s *Spec) TrialConfig(c search.Config, seed uint64) (trainer.Config, error) {
	tc, err := s.trainerConfig(c, seed)
	if err != nil {
		return tc, fmt.Errorf("%w: configuration %s: %v", ErrInvalid, c, err)
	}
	return tc, nil
}

func (s *Spec) trainerConfig(c search.Config, seed uint64) (trainer.Config, error) {
	tc := trainer.Config{
		Dataset:     s.Dataset,
		Model:       s.Model.Kind,
		Conv:        append([]int(nil), s.Model.Conv...),
		Hidden:      append([]int(nil), s.Model.Hidden...),
		Optimizer:   trainer.OptimizerKind(s.Optimizer.Kind),
		Momentum:    s.Optimizer.Momentum,
		Nesterov:    s.Optimizer.Nesterov,
		WeightDecay: s.Optimizer.WeightDecay,
		ClipNorm:    s.Optimizer.ClipNorm,
		Epochs:      s.Schedule.MaxEpochs,
		Patience:    s.Schedule.Patience,
		Seed:        seed,
		Threads:     max(s.Threads, 1),
		// Learning rate, batch size, init and the rest not searched take
		// the trainer's defaults (see trainer.Config.WithDefaults).
	}
	fixed := s.Model.fixed()
	for _, name := range sortedKeys(fixed) {
		v, err := search.ValueOf(fixed[name])
		if err != nil {
			return tc, fmt.Errorf("model.%s: %v", name, err)
		}
		params[name].apply(&tc, v)
	}
	for _, name := range sortedKeys(c) {
		def, ok := params[name]
		if !ok {
			return tc, fmt.Errorf("sets unknown parameter %q", clip(name))
		}
		def.apply(&tc, c[name])
	}
	if tc.Activation != trainer.Swish {
		tc.SwishBeta, tc.LearnSwishBeta = 0, false
	}
	tc = tc.WithDefaults()
	return tc, tc.Validate()
}

func sortedKeys[V any](c map[string]V) []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
