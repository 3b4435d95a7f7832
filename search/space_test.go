package search

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func testSpace(t *testing.T) *Space {
	t.Helper()
	s, err := NewSpace([]Param{
		{Name: "negative_slope", Kind: LogFloat, Low: 0.001, High: 0.3, When: &Condition{Param: "activation", In: []Value{Str("leaky_relu")}}},
		{Name: "activation", Kind: Categorical, Choices: []Value{Str("relu"), Str("leaky_relu"), Str("tanh")}},
		{Name: "learning_rate", Kind: LogFloat, Low: 1e-4, High: 1e-1},
		{Name: "batch_size", Kind: Categorical, Choices: []Value{Num(32), Num(64)}},
		{Name: "depth", Kind: Int, Low: 1, High: 3},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSpaceOrdersParentsFirst(t *testing.T) {
	s := testSpace(t)
	var got []string
	for _, p := range s.Params() {
		got = append(got, p.Name)
	}
	want := []string{"activation", "batch_size", "depth", "learning_rate", "negative_slope"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestNewSpaceRejects(t *testing.T) {
	tests := []struct {
		name  string
		param []Param
	}{
		{"log low zero", []Param{{Name: "lr", Kind: LogFloat, Low: 0, High: 1}}},
		{"low above high", []Param{{Name: "x", Kind: Float, Low: 2, High: 1}}},
		{"int bounds", []Param{{Name: "x", Kind: Int, Low: 0.5, High: 3}}},
		{"empty choice", []Param{{Name: "x", Kind: Categorical}}},
		{"duplicate choice", []Param{{Name: "x", Kind: Categorical, Choices: []Value{Num(1), Num(1)}}}},
		{"unknown parent", []Param{{Name: "x", Kind: Float, High: 1, When: &Condition{Param: "y", In: []Value{Str("a")}}}}},
		{"numeric parent", []Param{
			{Name: "y", Kind: Float, High: 1},
			{Name: "x", Kind: Float, High: 1, When: &Condition{Param: "y", In: []Value{Num(1)}}},
		}},
		{"value not a choice", []Param{
			{Name: "y", Kind: Categorical, Choices: []Value{Str("a")}},
			{Name: "x", Kind: Float, High: 1, When: &Condition{Param: "y", In: []Value{Str("b")}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSpace(tt.param)
			if !errors.Is(err, ErrInvalidSpace) {
				t.Fatalf("got %v, want ErrInvalidSpace", err)
			}
		})
	}
}

// TestDuplicateChoices: the set-based duplicate check agrees with Equal:
// -0 and 0 are the same number, "1" and 1 are different values, and the
// duplicate far down a long list is found.
func TestDuplicateChoices(t *testing.T) {
	long := make([]Value, 0, 60001)
	for i := range 60000 {
		long = append(long, Num(float64(i)))
	}
	for _, tt := range []struct {
		name    string
		choices []Value
		dup     string
	}{
		{"signed zero", []Value{Num(0), Num(math.Copysign(0, -1))}, "choice -0 is listed twice"},
		{"string and number", []Value{Str("1"), Num(1)}, ""},
		{"strings", []Value{Str("a"), Str("b"), Str("a")}, "choice a is listed twice"},
		{"long list", append(long, Num(59999)), "choice 59999 is listed twice"},
		{"long distinct", long, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSpace([]Param{{Name: "x", Kind: Categorical, Choices: tt.choices}})
			if tt.dup == "" && err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if tt.dup != "" && (!errors.Is(err, ErrInvalidSpace) || !strings.Contains(err.Error(), tt.dup)) {
				t.Fatalf("got %v, want %q", err, tt.dup)
			}
		})
	}
}

func TestSuggestDeterministicDistinctInSpace(t *testing.T) {
	s := testSpace(t)
	for _, name := range Algorithms() {
		t.Run(name, func(t *testing.T) {
			smp, err := NewSampler(name, SamplerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a, err := Suggest(smp, s, nil, Maximize, 20, 7)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Suggest(smp, s, nil, Maximize, 20, 7)
			seen := map[string]bool{}
			for i := range a {
				if a[i].Hash() != b[i].Hash() {
					t.Fatalf("suggestion %d differs between identical calls: %v vs %v", i, a[i], b[i])
				}
				if err := s.Contains(a[i]); err != nil {
					t.Fatalf("suggestion %v: %v", a[i], err)
				}
				if seen[a[i].Hash()] {
					t.Fatalf("suggestion %v repeated", a[i])
				}
				seen[a[i].Hash()] = true
			}
		})
	}
}

func TestGridExhausts(t *testing.T) {
	s, err := NewSpace([]Param{
		{Name: "a", Kind: Categorical, Choices: []Value{Str("x"), Str("y")}},
		{Name: "b", Kind: Float, Low: 0, High: 1, When: &Condition{Param: "a", In: []Value{Str("y")}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g := Grid{Points: 3}
	if got, want := g.Size(s), 4; got != want { // a=x, and a=y with 3 values of b
		t.Fatalf("Size = %d, want %d", got, want)
	}
	got, err := Suggest(g, s, nil, Maximize, 5, 1)
	if !errors.Is(err, ErrSpaceExhausted) || len(got) != 4 {
		t.Fatalf("got %d configs, err %v; want 4 and ErrSpaceExhausted", len(got), err)
	}
}

func TestConfigHashIgnoresInsertionOrder(t *testing.T) {
	a := Config{"x": Num(1), "y": Str("relu")}
	b := Config{"y": Str("relu"), "x": Num(1.0)}
	if a.Hash() != b.Hash() {
		t.Fatal("equal configs hash differently")
	}
	c := Config{"x": Num(2), "y": Str("relu")}
	if a.Hash() == c.Hash() {
		t.Fatal("different configs hash equally")
	}
}

func TestReplicateSeedsPairedAndDistinct(t *testing.T) {
	a, b := ReplicateSeeds(7, 3), ReplicateSeeds(7, 3)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("seeds not reproducible")
		}
		if int64(a[i]) < 0 {
			t.Fatal("seed does not fit a bigint")
		}
	}
	if a[0] == a[1] || a[1] == a[2] {
		t.Fatalf("replicate seeds collide: %v", a)
	}
}

// jsonHash is the definition Config.Hash implements: SHA-256 of
// encoding/json's bytes.
func jsonHash(t testing.TB, c Config) string {
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func TestConfigHashMatchesJSON(t *testing.T) {
	configs := []Config{
		{},
		{"learning_rate": Num(0.001), "activation": Str("relu"), "batch_size": Num(64)},
		{"x": Num(1e-7), "y": Num(math.Copysign(0, -1)), "z": Num(1e21), "w": Num(123456789012345680000)},
		{"a": Str("<&>"), "b": Str(`quote " and \ backslash`), "c": Str("tab\there"), "d": Str("é ü 中文")},
		{"line sep \u2028": Str("\u2029"), "bad utf8": Str("\xff\xfe"), "ctl": Str("\x00\x1f\x7f")},
		{"Z": Num(1), "a": Num(2), "_": Num(3), "ä": Num(4), "1": Num(5)},
	}
	for _, c := range configs {
		if got, want := c.Hash(), jsonHash(t, c); got != want {
			t.Errorf("%v: Hash %s, encoding/json gives %s", c, got, want)
		}
	}
}

func FuzzConfigHashMatchesJSON(f *testing.F) {
	f.Add("lr", "relu", 0.5, true)
	f.Add("a<b", "\u2028", -1e-300, false)
	f.Fuzz(func(t *testing.T, k, s string, x float64, str bool) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		c := Config{k: Num(x), k + "_": Str(s)}
		if str {
			c[s] = Num(-x)
		}
		if got, want := c.Hash(), jsonHash(t, c); got != want {
			t.Fatalf("%q: Hash %s, encoding/json gives %s", c, got, want)
		}
	})
}

// TestSuggestIndependentOfBatching checks that suggesting n configurations
// at once gives the same ones as suggesting them one by one, for the
// samplers whose proposals do not depend on results: so the trials of a
// study do not depend on how many workers ran it or when trials finished.
func TestSuggestIndependentOfBatching(t *testing.T) {
	s := testSpace(t)
	for _, name := range []string{"random", "sobol", "grid"} {
		t.Run(name, func(t *testing.T) {
			smp, err := NewSampler(name, SamplerOptions{})
			if err != nil {
				t.Fatal(err)
			}
			batch, err := Suggest(smp, s, nil, Maximize, 5, 9)
			if err != nil {
				t.Fatal(err)
			}
			var hist []Trial
			for i := 0; i < 5; i++ {
				one, err := Suggest(smp, s, hist, Maximize, 1, 9)
				if err != nil {
					t.Fatal(err)
				}
				if one[0].Hash() != batch[i].Hash() {
					t.Fatalf("suggestion %d: one at a time %v, in a batch %v", i, one[0], batch[i])
				}
				hist = append(hist, Trial{Number: i, Config: one[0], State: Running})
			}
		})
	}
}
