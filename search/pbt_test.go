package search

import (
	"math"
	"reflect"
	"testing"
)

func pbtSpace(t *testing.T) *Space {
	t.Helper()
	sp, err := NewSpace([]Param{
		{Name: "activation", Kind: Categorical, Choices: []Value{Str("relu"), Str("leaky_relu")}},
		{Name: "learning_rate", Kind: LogFloat, Low: 1e-4, High: 1e-1},
		{Name: "negative_slope", Kind: Float, Low: 0.01, High: 0.3,
			When: &Condition{Param: "activation", In: []Value{Str("leaky_relu")}}},
		{Name: "weight_decay", Kind: Categorical, Choices: []Value{Num(0), Num(1e-4), Num(1e-3)}},
		{Name: "batch_size", Kind: Categorical, Choices: []Value{Num(32), Num(64)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func member(trial int, value float64, act string, lr float64) PBTMember {
	c := Config{"activation": Str(act), "learning_rate": Num(lr), "weight_decay": Num(1e-4), "batch_size": Num(32)}
	if act == "leaky_relu" {
		c["negative_slope"] = Num(0.1)
	}
	return PBTMember{Trial: trial, Value: value, Params: c}
}

func TestPBTExploitRanksAndCopies(t *testing.T) {
	sp := pbtSpace(t)
	p := PBT{Quantile: 0.25, Perturb: []float64{0.8, 1.2}}
	members := []PBTMember{
		member(0, 0.50, "relu", 0.01),
		member(1, 0.90, "leaky_relu", 0.02),
		member(2, 0.70, "relu", 0.03),
		member(3, 0.60, "relu", 0.04),
	}
	steps := p.Exploit(sp, members, Maximize, 7, 1)
	if len(steps) != 1 {
		t.Fatalf("got %d steps, want 1 (ceil(4*0.25))", len(steps))
	}
	s := steps[0]
	if s.Target != 0 || s.Source != 1 {
		t.Fatalf("got target %d source %d, want 0 from 1", s.Target, s.Source)
	}
	if !reflect.DeepEqual(s.Old, members[0].Params) {
		t.Errorf("old params %v, want the target's %v", s.Old, members[0].Params)
	}
	if got := s.New["activation"].String(); got != "leaky_relu" {
		t.Errorf("activation %q, want the source's leaky_relu", got)
	}
	if err := sp.Contains(s.New); err != nil {
		t.Errorf("new params outside the space: %v", err)
	}
	for _, name := range []string{"learning_rate", "negative_slope"} {
		old := members[1].Params[name].Float()
		got := s.New[name].Float()
		if r := got / old; math.Abs(r-0.8) > 1e-9 && math.Abs(r-1.2) > 1e-9 {
			t.Errorf("%s: %v is %v times the source's %v, want 0.8 or 1.2", name, got, r, old)
		}
	}
	if wd := s.New["weight_decay"].Float(); wd != 0 && wd != 1e-3 {
		t.Errorf("weight_decay %v: want a neighbouring choice of 1e-4", wd)
	}
	if s.New["batch_size"].Float() != 32 {
		t.Errorf("batch_size changed: %v", s.New["batch_size"])
	}
	// Minimizing turns the ranking around.
	steps = p.Exploit(sp, members, Minimize, 7, 1)
	if len(steps) != 1 || steps[0].Target != 1 || steps[0].Source != 0 {
		t.Fatalf("minimize: got %+v, want target 1 from 0", steps)
	}
}

func TestPBTExploitTiesAndNaN(t *testing.T) {
	sp := pbtSpace(t)
	p := PBT{Quantile: 0.5, Perturb: []float64{1}}
	members := []PBTMember{
		member(3, 0.5, "relu", 0.01),
		member(1, 0.5, "relu", 0.02),
		member(2, math.NaN(), "relu", 0.03),
		member(0, 0.5, "relu", 0.04),
	}
	// Ranked: 0, 1, 3 (tie by number), then the NaN 2: bottom {2, 3}, top {0, 1}.
	steps := p.Exploit(sp, members, Maximize, 1, 2)
	if len(steps) != 2 || steps[0].Target != 2 || steps[1].Target != 3 {
		t.Fatalf("got %+v, want targets 2 and 3", steps)
	}
	for _, s := range steps {
		if s.Source != 0 && s.Source != 1 {
			t.Errorf("target %d copies %d, want 0 or 1", s.Target, s.Source)
		}
		// A factor of 1 without resampling keeps the source's values.
		src := members[3].Params
		if s.Source == 1 {
			src = members[1].Params
		}
		if !reflect.DeepEqual(s.New, src) {
			t.Errorf("target %d: new %v, want the source's %v", s.Target, s.New, src)
		}
	}
	// All NaN: nothing to copy from.
	for i := range members {
		members[i].Value = math.NaN()
	}
	if steps := p.Exploit(sp, members, Maximize, 1, 2); len(steps) != 0 {
		t.Errorf("all NaN: got %+v, want no steps", steps)
	}
}

func TestPBTExploitDeterministic(t *testing.T) {
	sp := pbtSpace(t)
	p := PBT{Quantile: 0.25, Perturb: []float64{0.8, 1.2}, ResampleProbability: 0.5}
	var members []PBTMember
	for i := range 16 {
		members = append(members, member(i, float64((i*7)%16), "leaky_relu", 0.001*float64(i+1)))
	}
	a := p.Exploit(sp, members, Maximize, 42, 3)
	// The same inputs in another order give the same steps.
	rev := make([]PBTMember, len(members))
	for i, m := range members {
		rev[len(members)-1-i] = m
	}
	b := p.Exploit(sp, rev, Maximize, 42, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("order changed the result:\n%+v\n%+v", a, b)
	}
	if len(a) != 4 {
		t.Fatalf("got %d steps, want 4", len(a))
	}
	c := p.Exploit(sp, members, Maximize, 42, 4)
	if reflect.DeepEqual(a, c) {
		t.Errorf("generations 3 and 4 drew the same steps")
	}
	for _, s := range a {
		if err := sp.Contains(s.New); err != nil {
			t.Errorf("target %d: %v", s.Target, err)
		}
	}
}

func TestPBTResampleStaysInSpace(t *testing.T) {
	sp := pbtSpace(t)
	p := PBT{Quantile: 0.5, Perturb: []float64{0.5, 3}, ResampleProbability: 1}
	resampled := 0
	for seed := range uint64(50) {
		members := []PBTMember{member(0, 1, "leaky_relu", 0.1), member(1, 0, "relu", 1e-4)}
		for _, s := range p.Exploit(sp, members, Maximize, seed, 1) {
			if err := sp.Contains(s.New); err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if s.New["learning_rate"].Float() != 0.1 {
				resampled++
			}
		}
	}
	if resampled < 45 {
		t.Errorf("resample probability 1 changed the learning rate %d times of 50", resampled)
	}
}

func TestPBTCheck(t *testing.T) {
	ok := PBT{Quantile: 0.25, Perturb: []float64{0.8, 1.2}, ResampleProbability: 0.25}
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]PBT{
		"quantile 0":   {Quantile: 0, Perturb: []float64{1}},
		"quantile 0.6": {Quantile: 0.6, Perturb: []float64{1}},
		"no perturb":   {Quantile: 0.25},
		"perturb 0":    {Quantile: 0.25, Perturb: []float64{0}},
		"resample 1.5": {Quantile: 0.25, Perturb: []float64{1}, ResampleProbability: 1.5},
		"resample NaN": {Quantile: 0.25, Perturb: []float64{1}, ResampleProbability: math.NaN()},
		"perturb +Inf": {Quantile: 0.25, Perturb: []float64{math.Inf(1)}},
	} {
		if err := p.Check(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := ok.Replaced(4); got != 1 {
		t.Errorf("Replaced(4) = %d, want 1", got)
	}
	if got := (PBT{Quantile: 0.5}).Replaced(5); got != 2 {
		t.Errorf("Replaced(5) at 0.5 = %d, want 2", got)
	}
}
