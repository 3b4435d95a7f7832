package search

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGoldenSuggestions pins every sampler's output for a fixed study
// (conformanceSpace, seed 7, 40 trials in batches of 2): a change to a
// sampler that changes what it suggests shows up here. Rewrite the files
// with go test ./search -run TestGoldenSuggestions -update, and say why in
// the commit.
func TestGoldenSuggestions(t *testing.T) {
	space := conformanceSpace(t)
	for _, name := range conformanceNames() {
		t.Run(name, func(t *testing.T) {
			s := conformanceSampler(t, name)
			history, err := simulateStudy(t, s, space, 40, 2, 7, nil)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			fmt.Fprintf(&b, "# %s on conformanceSpace, seed 7, 40 trials in batches of 2\n", name)
			for _, tr := range history {
				fmt.Fprintf(&b, "%d %s\n", tr.Number, tr.Config)
			}
			path := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
				for i := range min(len(gl), len(wl)) {
					if gl[i] != wl[i] {
						t.Fatalf("%s: line %d\n got: %s\nwant: %s", path, i+1, gl[i], wl[i])
					}
				}
				t.Fatalf("%s: %d lines, want %d", path, len(gl), len(wl))
			}
		})
	}
}
