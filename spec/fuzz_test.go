package spec

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// The seed corpora live in testdata/fuzz/FuzzDecode and
// testdata/fuzz/FuzzValidate: the billion-laughs documents, NaN momentum,
// a huge choice list, the CNN whose trials would need 187 GiB, and the
// inputs the fuzzers found.

// FuzzDecode: decoding never panics, refuses what exceeds the limits, and
// wraps ErrInvalid.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(`{"name":"x","dataset":"moons","model":{"hidden":[4]},"space":{"activation":{"choice":["relu"]}},"search":{"max_trials":1},"schedule":{"max_epochs":1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if len(data) > MaxFileSize {
			t.Fatalf("a %d-byte document was decoded", len(data))
		}
		if len(s.Space) > MaxEntries || len(s.Model.Hidden) > MaxEntries || len(s.Model.Conv) > MaxEntries {
			t.Fatalf("a list over %d entries was decoded", MaxEntries)
		}
		for name, p := range s.Space {
			if len(p.Choice) > MaxEntries || len(name) > MaxScalar {
				t.Fatalf("space.%s: %d choices, name of %d bytes", clip(name), len(p.Choice), len(name))
			}
		}
	})
}

// FuzzValidate: whatever is accepted satisfies the invariants a study
// relies on: its name cannot be another workflow's, every configuration
// the space produces trains, none needs more memory than the budget, and
// its stored form parses back to the same spec.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(bigCNN))
	f.Add([]byte(layerSpec("{kind: mlp, batch_norm: after, swish_beta: 1.5}",
		"  hidden_layers: {int_uniform: [1, 64]}\n  hidden_width: {choice: [16, 64]}\n  dropout: {uniform: [0, 0.5]}\n  normalize: {choice: [standard, unit, none]}\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if strings.Contains(s.Name, "-trial-") {
			t.Fatalf("name %q accepted", s.Name)
		}
		rep, err := s.Check(Options{})
		if err != nil {
			t.Fatalf("Parse accepted what Check refuses: %v", err)
		}
		if rep.MemoryUnknown == "" && rep.Memory.Total() > DefaultMaxTrialMemory {
			t.Fatalf("accepted with an estimate of %d bytes", rep.Memory.Total())
		}
		space, err := s.SearchSpace()
		if err != nil {
			t.Fatal(err)
		}
		shape, shapeErr := trainer.DatasetShape(s.Dataset)
		rng := rand.New(rand.NewPCG(s.Search.Seed, 1))
		for range 20 {
			c, err := search.Random{}.Sample(space, nil, s.Objective.Direction, rng)
			if err != nil {
				t.Fatal(err)
			}
			tc, err := s.TrialConfig(c, 1)
			if err != nil {
				t.Fatalf("sampled configuration %s does not train: %v", c, err)
			}
			if shapeErr == nil {
				m, err := trainer.EstimateMemory(tc, shape)
				if err != nil || m.Total() > rep.Memory.Total() {
					t.Fatalf("sampled configuration %s needs %d bytes (%v), the worst case says %d", c, m.Total(), err, rep.Memory.Total())
				}
			}
		}
		s2, err := Parse(s.Canonical())
		if err != nil {
			t.Fatalf("canonical form of a valid spec is rejected: %v", err)
		}
		if s.Hash() != s2.Hash() {
			t.Fatal("hash changed across canonical round trip")
		}
	})
}

// parseCorpus reads a fuzz corpus file holding one []byte value.
func parseCorpus(raw []byte) ([]byte, error) {
	s, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n")
	if !ok {
		return nil, fmt.Errorf("not a fuzz corpus file")
	}
	s = strings.TrimSpace(s)
	s, ok1 := strings.CutPrefix(s, "[]byte(")
	s, ok2 := strings.CutSuffix(s, ")")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("not a single []byte value")
	}
	v, err := strconv.Unquote(s)
	return []byte(v), err
}
