package status

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func report(deadLetters int) Report {
	relu := "relu"
	mean, sd, lo, hi, best := 0.93, 0.02, 0.88, 0.98, 0.95
	msg := "worker lost"
	return Report{
		Study:       store.Study{Name: "relu-variants", Status: "running", Metric: "val_accuracy", Direction: "maximize"},
		Counts:      map[string]int{"complete": 3, "running": 1, "failed": 1},
		Activations: []store.ActivationStats{{Activation: &relu, N: 3, Mean: &mean, Stddev: &sd, CI95Low: &lo, CI95High: &hi, Best: &best, Trials: 3}},
		Failed:      []store.Trial{{Number: 4, Status: "failed", Error: &msg}},
		DeadLetters: deadLetters,
	}
}

func TestPrintGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		dead int
	}{{"status.table", 0}, {"status-dead-letters.table", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			Print(&cmdutil.IOStreams{Out: &buf}, report(tc.dead))
			golden := filepath.Join("testdata", tc.name)
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != string(want) {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
			if !strings.Contains(buf.String(), "dead letters: ") {
				t.Fatal("the dead letter count is missing")
			}
		})
	}
}
