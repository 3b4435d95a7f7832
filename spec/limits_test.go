package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// wideLaughs is a "billion laughs" document shaped to this schema: one
// parameter whose choice list repeats an alias m times, aliased by k more
// space entries, so decoding it naively makes k*m values.
func wideLaughs(k, m int) string {
	var b strings.Builder
	b.WriteString("name: laughs\ndataset: spirals\nmodel: {kind: mlp, hidden: [8]}\nspace:\n")
	b.WriteString("  activation: &p {choice: [&v relu" + strings.Repeat(", *v", m-1) + "]}\n")
	for i := range k {
		fmt.Fprintf(&b, "  k%d: *p\n", i)
	}
	b.WriteString("search: {max_trials: 1}\nschedule: {max_epochs: 1}\n")
	return b.String()
}

// nestedLaughs is the classic form: each list holds ten aliases of the
// previous one, ten levels deep (10^10 values).
func nestedLaughs() string {
	var b strings.Builder
	b.WriteString("name: laughs\ndataset: spirals\nmodel: {kind: mlp, hidden: [8]}\nspace:\n")
	b.WriteString("  activation: {choice: &a0 [relu" + strings.Repeat(", relu", 9) + "]}\n")
	for i, n := range []string{"init", "optimizer", "negative_slope", "elu_alpha", "prelu_init", "learning_rate", "momentum", "weight_decay", "batch_size"} {
		fmt.Fprintf(&b, "  %s: {choice: &a%d [*a%d%s]}\n", n, i+1, i, strings.Repeat(fmt.Sprintf(", *a%d", i), 9))
	}
	b.WriteString("search: {max_trials: 1}\nschedule: {max_epochs: 1}\n")
	return b.String()
}

func bigChoice(n int) string {
	return strings.Replace(valid, "space:\n", "space:\n  batch_size: {choice: ["+ints(1, n)+"]}\n", 1)
}

// TestDocumentLimits: documents that would take a worker's or the
// controller's memory or time are refused before they are decoded, with
// the place and the limit.
func TestDocumentLimits(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"file size", valid + "#" + strings.Repeat("x", MaxFileSize-len(valid)) + "\n",
			"the file is 1048578 bytes (at most 1048576 allowed)"},
		{"wide billion laughs", wideLaughs(900, 1000),
			"space.k48 (line 54): alias *p expands the document beyond 50000 YAML nodes (at most 50000 allowed)"},
		{"nested billion laughs", nestedLaughs(),
			"space.elu_alpha.choice[3] (line 9): alias *a3 expands the document beyond 50000 YAML nodes (at most 50000 allowed)"},
		{"60,000 choices", bigChoice(60000),
			"space.batch_size.choice (line 5): lists 60000 values (at most 1000 allowed)"},
		{"many keys", strings.Replace(valid, "space:\n", "space:\n"+strings.Repeat("  x: 1\n", 1001), 1),
			"space (line 5): has 1004 keys (at most 1000 allowed)"},
		{"long value", strings.Replace(valid, "name: s1", "name: "+strings.Repeat("a", 5000), 1),
			"name (line 1): a value of 5000 bytes (at most 4096 allowed)"},
		{"deep nesting", strings.Replace(valid, "name: s1", "name: "+strings.Repeat("[", 40)+strings.Repeat("]", 40), 1),
			"name" + strings.Repeat("[0]", 31) + " (line 1): nested more than 32 levels deep"},
		{"deep through an alias", strings.Replace(valid, "name: s1", "name: &d "+strings.Repeat("[", 20)+strings.Repeat("]", 20)+"\ndataset: "+strings.Repeat("[", 15)+"*d"+strings.Repeat("]", 15), 1),
			"dataset" + strings.Repeat("[0]", 15) + " (line 2): nested more than 32 levels deep (aliases expanded)"},
		{"alias cycle", strings.Replace(valid, "model: {kind: mlp, hidden: [8]}", "model: &m {kind: mlp, hidden: [8], conv: *m}", 1),
			"model.conv (line 3): alias *m refers to a value that contains it"},
		{"two documents", valid + "---\nname: s2\n", "the file holds more than one document"},
		{"empty", "", "the file holds no document"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse([]byte(tt.yaml))
			runtime.ReadMemStats(&after)
			if err == nil || !errors.Is(err, ErrInvalid) || err.Error() != "spec: invalid: "+tt.want {
				t.Fatalf("got  %v\nwant spec: invalid: %s", err, tt.want)
			}
			// Refused before decoding: no more than a few times the
			// document's own size is allocated (decoding the 60,000 choices
			// quadratically, or the laughs, took GBs and minutes).
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("refusing it allocated %d bytes", alloc)
			}
		})
	}
}

// TestAtTheLimits: a spec at every limit is accepted.
func TestAtTheLimits(t *testing.T) {
	s := bigChoice(1000)
	s = strings.Replace(s, "activation: {choice: [relu, leaky_relu]}", "activation: &acts {choice: [relu, leaky_relu]}", 1)
	s = strings.Replace(s, "model: {kind: mlp, hidden: [8]}", "model: {kind: mlp, hidden: ["+ints(1, MaxHidden)+"]}", 1)
	sp, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(sp.Space["batch_size"].Choice); got != 1000 {
		t.Fatalf("%d choices", got)
	}
}

// TestSeedCorpusShapes keeps the fuzz seed corpus in step with the limits:
// each named seed must still be refused for the reason it was added.
func TestSeedCorpusShapes(t *testing.T) {
	for file, want := range map[string]string{
		"FuzzValidate/billion-laughs":  "expands the document beyond 50000 YAML nodes",
		"FuzzValidate/nested-laughs":   "expands the document beyond 50000 YAML nodes",
		"FuzzValidate/nan-momentum":    "optimizer.momentum: NaN must be a finite number in [0, 1)",
		"FuzzValidate/huge-choice":     "lists 1500 values (at most 1000 allowed)",
		"FuzzValidate/cnn-26gb":        "estimated peak memory 115.1 GiB per trial exceeds the budget of 2 GiB",
		"FuzzValidate/batch-65536":     "space.batch_size.choice[1]: 65536 must be in [1, 16384]",
		"FuzzValidate/trial-name":      `name: "x-trial-3" must not contain "-trial-"`,
		"FuzzDecode/billion-laughs":    "expands the document beyond 50000 YAML nodes",
		"FuzzDecode/alias-cycle":       "refers to a value that contains it",
		"FuzzDecode/deep":              "nested more than 32 levels deep",
		"FuzzValidate/valid-cnn-mnist": "",
	} {
		data := readSeed(t, filepath.Join("testdata", "fuzz", file))
		_, err := Parse(data)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v, want it valid", file, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want %q", file, err, want)
		}
	}
}

// readSeed reads the []byte of a one-value fuzz corpus file.
func readSeed(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := parseCorpus(raw)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}
