package search

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// conformanceSpace has every kind of parameter, a two-level condition and a
// degenerate range.
func conformanceSpace(t testing.TB) *Space {
	when := func(p string, vs ...Value) *Condition { return &Condition{Param: p, In: vs} }
	return mustSpace(t,
		Param{Name: "activation", Kind: Categorical, Choices: []Value{Str("relu"), Str("leaky_relu"), Str("elu"), Str("tanh")}},
		Param{Name: "negative_slope", Kind: LogFloat, Low: 0.001, High: 0.3, When: when("activation", Str("leaky_relu"))},
		Param{Name: "elu_alpha", Kind: Float, Low: 0.1, High: 2, When: when("activation", Str("elu"))},
		Param{Name: "learning_rate", Kind: LogFloat, Low: 1e-4, High: 1e-1},
		Param{Name: "batch_size", Kind: Categorical, Choices: []Value{Num(32), Num(64), Num(128)}},
		Param{Name: "depth", Kind: Int, Low: 1, High: 4},
		Param{Name: "optimizer", Kind: Categorical, Choices: []Value{Str("sgd"), Str("momentum")}},
		Param{Name: "momentum", Kind: Float, Low: 0.9, High: 0.9, When: when("optimizer", Str("momentum"))},
		Param{Name: "nesterov", Kind: Categorical, Choices: []Value{Str("yes"), Str("no")}, When: when("optimizer", Str("momentum"))},
	)
}

// conformanceObjective is a loss over conformanceSpace with some structure
// for model-based samplers to find.
func conformanceObjective(c Config) float64 {
	l := math.Log10(c["learning_rate"].Float()) + 2.5
	loss := l*l + math.Abs(c["depth"].Float()-3)/4
	switch c["activation"].String() {
	case "leaky_relu":
		loss -= 0.2 + 0.1*math.Log10(c["negative_slope"].Float())/3
	case "elu":
		loss += math.Abs(c["elu_alpha"].Float()-1) / 5
	case "tanh":
		loss += 0.5
	}
	if c["optimizer"].String() == "momentum" {
		loss -= 0.1
	}
	return loss
}

// conformanceNames lists every algorithm, tpe's multivariate mode as
// "tpe+multivariate", and nsga2 with two objectives as "nsga2+objectives".
func conformanceNames() []string {
	return append(Algorithms(), "tpe+multivariate", "nsga2+objectives")
}

func conformanceSampler(t testing.TB, name string) Sampler {
	t.Helper()
	opts := SamplerOptions{}
	if name == "grid" {
		opts.GridPoints = 10 // enough points for 200 suggestions
	}
	if n, ok := strings.CutSuffix(name, "+multivariate"); ok {
		name, opts.Multivariate = n, true
	}
	if n, ok := strings.CutSuffix(name, "+objectives"); ok {
		name, opts.Directions = n, []Direction{Minimize, Maximize}
	}
	s, err := NewSampler(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != name {
		t.Fatalf("NewSampler(%q).Name() = %q", name, s.Name())
	}
	return s
}

// simulateStudy runs a study of n suggestions in batches of parallel, as a
// workflow would: every batch is suggested with the previous batch still
// pending, then the previous batch finishes. Trials end in every final state
// so that samplers see all of them; finished trials carry two objective
// values, the objective and the depth. It returns the suggestions in order.
func simulateStudy(t testing.TB, s Sampler, space *Space, n, parallel int, seed uint64, check func(history []Trial, c Config)) ([]Trial, error) {
	var history []Trial
	finish := func(from, to int) {
		for i := from; i < to; i++ {
			tr := &history[i]
			if tr.State != Pending {
				continue
			}
			obj := conformanceObjective(tr.Config)
			switch tr.Number % 11 {
			case 3:
				tr.State = Failed
			case 5:
				tr.State, tr.Objective = Diverged, nil
				continue
			case 7, 8:
				tr.State, tr.Epochs = Pruned, 1+tr.Number%3
				obj += 0.5
			case 9:
				tr.State = Canceled
				continue
			default:
				tr.State, tr.Epochs = Complete, 3
			}
			tr.Objective = &obj
			tr.Values = []float64{obj, tr.Config["depth"].Float()}
		}
	}
	for len(history) < n {
		batch := min(parallel, n-len(history))
		cs, err := Suggest(s, space, history, Minimize, batch, seed)
		for _, c := range cs {
			if check != nil {
				check(history, c)
			}
			history = append(history, Trial{Number: len(history), Config: c, State: Pending})
		}
		if err != nil {
			return history, err
		}
		// Every earlier batch finishes; the one just suggested stays in
		// flight while the next is suggested.
		finish(0, len(history)-batch)
	}
	return history, nil
}

func TestSamplerConformance(t *testing.T) {
	space := conformanceSpace(t)
	for _, name := range conformanceNames() {
		t.Run(name, func(t *testing.T) {
			s := conformanceSampler(t, name)
			seen := map[string]int{}
			check := func(history []Trial, c Config) {
				t.Helper()
				if err := space.Contains(c); err != nil {
					t.Fatalf("suggestion %d %v: %v", len(history), c, err)
				}
				if i, dup := seen[c.Hash()]; dup {
					t.Fatalf("suggestion %d %v repeats suggestion %d", len(history), c, i)
				}
				seen[c.Hash()] = len(history)
			}
			history, err := simulateStudy(t, s, space, 200, 4, 11, check)
			if err != nil {
				t.Fatalf("after %d suggestions: %v", len(history), err)
			}
			if len(seen) != 200 {
				t.Fatalf("%d distinct suggestions, want 200", len(seen))
			}

			// Determinism: the same study again gives the same suggestions.
			again, err := simulateStudy(t, s, space, 200, 4, 11, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range history {
				if history[i].Config.Hash() != again[i].Config.Hash() {
					t.Fatalf("suggestion %d differs between identical runs: %v vs %v", i, history[i].Config, again[i].Config)
				}
			}

			// The history's order does not matter, only its content.
			for _, at := range []int{5, 60, 199} {
				h := history[:at]
				rev := make([]Trial, len(h))
				for i := range h {
					rev[len(h)-1-i] = h[i]
				}
				a, err1 := Suggest(s, space, h, Minimize, 2, 3)
				b, err2 := Suggest(s, space, rev, Minimize, 2, 3)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				for i := range a {
					if a[i].Hash() != b[i].Hash() {
						t.Fatalf("history of %d: reversing it changes suggestion %d: %v vs %v", at, i, a[i], b[i])
					}
				}
			}

			// A different seed gives a different study (grid is seed-free).
			if name != "grid" {
				other, err := simulateStudy(t, s, space, 20, 4, 12, nil)
				if err != nil {
					t.Fatal(err)
				}
				same := 0
				for i := range other {
					if other[i].Config.Hash() == history[i].Config.Hash() {
						same++
					}
				}
				if same == len(other) {
					t.Fatal("seeds 11 and 12 give the same suggestions")
				}
			}
		})
	}
}

// TestSamplersExhaustSmallSpaces checks that every sampler finds every point
// of a small discrete space, then reports ErrSpaceExhausted, with and
// without results in the history.
func TestSamplersExhaustSmallSpaces(t *testing.T) {
	space := mustSpace(t,
		Param{Name: "a", Kind: Categorical, Choices: []Value{Str("x"), Str("y"), Str("z")}},
		Param{Name: "k", Kind: Int, Low: 1, High: 3},
		Param{Name: "f", Kind: Float, Low: 2, High: 2},
		Param{Name: "b", Kind: Categorical, Choices: []Value{Num(0), Num(1)}, When: &Condition{Param: "a", In: []Value{Str("z")}}},
	)
	const size = 3 + 3 + 6 // a=x and a=y: 3 each; a=z: 3 x 2
	samplers := []Sampler{Random{}, Grid{}, Sobol{}, TPE{}, TPE{Startup: 2, Candidates: 4},
		TPE{Multivariate: true}, TPE{Startup: 2, Candidates: 4, Multivariate: true}, GP{}, GP{Startup: 2}, CMAES{},
		NSGA2{}, NSGA2{Startup: 2, Population: 4}, NSGA2{Startup: 2, Directions: []Direction{Maximize, Minimize}}}
	for _, s := range samplers {
		for _, sequential := range []bool{true, false} {
			var history []Trial
			for len(history) < size {
				batch := size
				if sequential {
					batch = 1
				}
				cs, err := Suggest(s, space, history, Maximize, batch, 5)
				if err != nil {
					t.Fatalf("%s (sequential %v): after %d: %v", s.Name(), sequential, len(history), err)
				}
				for _, c := range cs {
					if err := space.Contains(c); err != nil {
						t.Fatalf("%s: %v: %v", s.Name(), c, err)
					}
					obj := float64(c["k"].Int())
					history = append(history, Trial{Number: len(history), Config: c, State: Complete, Objective: &obj, Values: []float64{obj, -obj}})
				}
			}
			seen := map[string]bool{}
			for _, tr := range history {
				seen[tr.Config.Hash()] = true
			}
			if len(seen) != size {
				t.Fatalf("%s: %d distinct of %d", s.Name(), len(seen), size)
			}
			if _, err := Suggest(s, space, history, Maximize, 1, 5); !errors.Is(err, ErrSpaceExhausted) {
				t.Fatalf("%s: after the whole space: got %v, want ErrSpaceExhausted", s.Name(), err)
			}
		}
	}
}

// TestTPEConstantLiar checks that pending trials push TPE away: with the
// same finished trials, a batch of 8 parallel suggestions spreads more than
// 8 suggestions made as if nothing were in flight would.
func TestTPEConstantLiar(t *testing.T) {
	space := branin.space(t)
	history, _ := runStudy(t, Random{}, space, branin.f, 30, 1)
	batch, err := Suggest(TPE{}, space, history, Minimize, 8, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Without the liar: each suggestion from the same finished history,
	// with different seeds (so only the model's randomness differs).
	var alone []Config
	for seed := range uint64(8) {
		c, err := Suggest(TPE{}, space, history, Minimize, 1, 100+seed)
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, c[0])
	}
	spread := func(cs []Config) float64 {
		sum := 0.0
		for i := range cs {
			for j := range i {
				dx := (cs[i]["x1"].Float() - cs[j]["x1"].Float()) / 15
				dy := (cs[i]["x2"].Float() - cs[j]["x2"].Float()) / 15
				sum += math.Hypot(dx, dy)
			}
		}
		return sum / float64(len(cs)*(len(cs)-1)/2)
	}
	t.Logf("spread with pending %.3f, without %.3f", spread(batch), spread(alone))
	if a, b := spread(batch), spread(alone); a <= b {
		t.Fatalf("mean pairwise distance with pending trials %.3f, without %.3f: want larger with", a, b)
	}
}

func TestNewSamplerRejects(t *testing.T) {
	tests := []struct {
		name  string
		opts  SamplerOptions
		field string
	}{
		{"tpe", SamplerOptions{TPEStartup: -1}, "tpe.n_startup_trials"},
		{"tpe", SamplerOptions{TPECandidates: -3}, "tpe.n_ei_candidates"},
		{"tpe", SamplerOptions{TPEGamma: 1.5}, "tpe.gamma"},
		{"tpe", SamplerOptions{TPEGamma: math.NaN()}, "tpe.gamma"},
		{"tpe", SamplerOptions{TPEPriorWeight: -1}, "tpe.prior_weight"},
		{"grid", SamplerOptions{GridPoints: -2}, "grid_points"},
		{"gp", SamplerOptions{Multivariate: true}, "multivariate"},
		{"cmaes", SamplerOptions{Multivariate: true}, "multivariate"},
	}
	for _, tt := range tests {
		_, err := NewSampler(tt.name, tt.opts)
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%+v: got %v, want ErrInvalidOptions", tt.opts, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: error %q does not name %s", tt.opts, err, tt.field)
		}
	}
	if _, err := NewSampler("bayes", SamplerOptions{}); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm: got %v", err)
	}
}
