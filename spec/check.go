package spec

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// Report is what Check found out about a valid spec: the size of the study
// and its most demanding trial.
type Report struct {
	// Trials is search.max_trials (replicates included), Replicates the
	// seeds per configuration.
	Trials, Replicates int
	// Parameters are the searched parameters, sorted.
	Parameters []string
	// Checked is the number of configurations checked against the trainer:
	// every choice and both ends of every range, combined as the
	// conditions allow.
	Checked int
	// Memory is the estimated peak memory of one trial of the most
	// demanding configuration, data set included; zero when MemoryUnknown
	// is set.
	Memory trainer.Memory
	// MemoryUnknown says why the memory could not be estimated here: a
	// data file this machine cannot read. The workers check the estimate
	// against their own limit once they have loaded the data.
	MemoryUnknown string
	// Worst is the most demanding configuration, Drivers the settings that
	// make it so ("batch_size=16384", "model.hidden=[8192]").
	Worst   search.Config
	Drivers []string
	// Budget is the memory budget it was checked against (<= 0: none).
	Budget int64
}

// errTooManyCorners stops the enumeration of corners.
var errTooManyCorners = errors.New("too many configurations")

// checkSpace checks every corner of the space against the trainer and the
// worst one against the memory budget. The fields it relies on are valid.
func (s *Spec) checkSpace(opts Options) (*Report, error) {
	space, err := s.SearchSpace()
	if err != nil {
		return nil, err
	}
	rep := &Report{Trials: s.Search.MaxTrials, Replicates: s.Search.Replicates, Parameters: s.Keys(), Budget: opts.maxTrialMemory()}
	shape, shapeErr := trainer.DatasetShape(s.Dataset)
	var worst trainer.Config
	err = eachCorner(space, func(c search.Config) error {
		rep.Checked++
		tc, err := s.trainerConfig(c, 0)
		if err != nil {
			return fmt.Errorf("%w: space: configuration %s is not trainable: %s", ErrInvalid, clip(c.String()), trimTrainer(err))
		}
		if shapeErr != nil {
			return nil
		}
		m, err := trainer.EstimateMemory(tc, shape)
		if err != nil {
			return fmt.Errorf("%w: model: %s", ErrInvalid, trimTrainer(err))
		}
		// Ties (small models evaluate in chunks larger than any batch) go
		// to the larger batch.
		if rep.Worst == nil || m.Total() > rep.Memory.Total() || m.Total() == rep.Memory.Total() && tc.BatchSize > worst.BatchSize {
			rep.Memory, rep.Worst, worst = m, maps.Clone(c), tc
		}
		return nil
	})
	if errors.Is(err, errTooManyCorners) {
		return nil, invalid("space", "", fmt.Sprintf("its choices, bounds and conditions combine into more than %d configurations to check; use fewer choices or conditions", MaxCorners))
	}
	if err != nil {
		return nil, err
	}
	if shapeErr != nil {
		rep.MemoryUnknown = shapeErr.Error()
		return rep, nil
	}
	rep.Drivers = s.drivers(rep.Worst, worst, rep.Memory)
	if rep.Budget > 0 && rep.Memory.Total() > rep.Budget {
		return nil, fmt.Errorf("%w: estimated peak memory %s per trial exceeds the budget of %s (--max-trial-memory); driven by %s (%s)",
			ErrInvalid, trainer.FormatBytes(rep.Memory.Total()), trainer.FormatBytes(rep.Budget), strings.Join(rep.Drivers, ", "), rep.Memory)
	}
	return rep, nil
}

func trimTrainer(err error) string {
	return strings.TrimPrefix(err.Error(), trainer.ErrInvalidConfig.Error()+": ")
}

// drivers names the settings behind the memory estimate m of the
// configuration c (trainer config tc): those of the parts that make up a
// quarter of it or more.
func (s *Spec) drivers(c search.Config, tc trainer.Config, m trainer.Memory) []string {
	total := m.Total()
	big := func(b int64) bool { return 4*b >= total }
	var d []string
	if big(m.Activations + m.Im2col + m.Workspace) {
		bs := fmt.Sprintf("batch_size=%d", tc.BatchSize)
		if _, ok := c["batch_size"]; !ok {
			bs += " (default)"
		}
		if m.Rows > tc.BatchSize {
			// Small models evaluate in chunks larger than the batch.
			bs = fmt.Sprintf("evaluation chunks of %d rows", m.Rows)
		}
		d = append(d, bs)
	}
	if big(m.Params + m.Grads + m.Optimizer + m.Activations + m.Im2col) {
		if _, ok := c["hidden_layers"]; ok && len(tc.Hidden) > 0 {
			d = append(d, fmt.Sprintf("hidden_layers=%d, hidden_width=%d", len(tc.Hidden), tc.Hidden[0]))
		} else {
			d = append(d, fmt.Sprintf("model.hidden=%v", tc.Hidden))
		}
		if tc.Model == trainer.CNN {
			d = append(d, fmt.Sprintf("model.conv=%v", tc.Conv))
		}
	}
	if big(m.Optimizer) {
		if _, ok := c["optimizer"]; ok {
			d = append(d, "optimizer="+string(tc.Optimizer))
		} else {
			d = append(d, "optimizer.kind="+string(tc.Optimizer))
		}
	}
	if big(m.Dataset) {
		d = append(d, "dataset="+clip(s.Dataset))
	}
	return d
}

// eachCorner calls fn with every corner of the space: parameters in
// sampling order (parents first), each active one taking each of its
// candidate values, an inactive one left out. A range's candidates are its
// bounds, a choice's are its names, or for numbers the smallest and the
// largest of each group of choices that switch the same conditions on. The
// trainer's checks on a number are ranges and the memory grows with the
// batch size, so the corners stand for every configuration the space holds.
func eachCorner(space *search.Space, fn func(search.Config) error) error {
	ps := space.Params()
	cands := make([][]search.Value, len(ps))
	for i, p := range ps {
		cands[i] = candidates(space, p)
	}
	n := 0
	c := search.Config{}
	var rec func(i int) error
	rec = func(i int) error {
		if i == len(ps) {
			if n++; n > MaxCorners {
				return errTooManyCorners
			}
			return fn(c)
		}
		p := ps[i]
		if !space.Active(p, c) {
			return rec(i + 1)
		}
		for _, v := range cands[i] {
			c[p.Name] = v
			if err := rec(i + 1); err != nil {
				return err
			}
		}
		delete(c, p.Name)
		return nil
	}
	return rec(0)
}

func candidates(space *search.Space, p search.Param) []search.Value {
	if p.Kind != search.Categorical {
		if p.Low == p.High {
			return []search.Value{search.Num(p.Low)}
		}
		return []search.Value{search.Num(p.Low), search.Num(p.High)}
	}
	// The conditions on p: a number's group is the set it switches on.
	var conds []map[search.Value]bool
	for _, q := range space.Params() {
		if q.When != nil && q.When.Param == p.Name {
			in := make(map[search.Value]bool, len(q.When.In))
			for _, v := range q.When.In {
				in[v] = true
			}
			conds = append(conds, in)
		}
	}
	type span struct{ lo, hi float64 }
	groups := map[string]*span{}
	var order []string
	var out []search.Value
	for _, v := range p.Choices {
		if v.IsString() {
			out = append(out, v)
			continue
		}
		var key strings.Builder
		for _, in := range conds {
			if in[v] {
				key.WriteByte('1')
			} else {
				key.WriteByte('0')
			}
		}
		x := v.Float()
		if g, ok := groups[key.String()]; ok {
			g.lo, g.hi = min(g.lo, x), max(g.hi, x)
		} else {
			groups[key.String()] = &span{x, x}
			order = append(order, key.String())
		}
	}
	for _, k := range order {
		g := groups[k]
		out = append(out, search.Num(g.lo))
		if g.hi != g.lo {
			out = append(out, search.Num(g.hi))
		}
	}
	return out
}
