package validate_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/cli/root"
)

var update = flag.Bool("update", false, "rewrite golden files")

// tunectl runs the whole command tree, pointed at services that do not
// exist: validate must need none of them.
func tunectl(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	dead := []string{"--database-url", "postgres://postgres@127.0.0.1:1/none", "--nats-url", "nats://127.0.0.1:1", "--temporal-address", "127.0.0.1:1"}
	code := root.Execute(context.Background(), io, append(dead, args...))
	return code, out.String(), errOut.String()
}

func TestValidateSummary(t *testing.T) {
	for _, ex := range []string{"quickstart", "relu-variants-mnist"} {
		t.Run(ex, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", "examples", ex+".yaml")
			code, out, errOut := tunectl(t, "", "validate", path)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			golden := filepath.Join("testdata", ex+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Fatalf("output:\n%s\nwant (%s):\n%s", out, golden, want)
			}
		})
	}
}

const cnn = `name: big-cnn
dataset: mnist
model: {kind: cnn, conv: [512, 512, 512, 512], hidden: [8192]}
space:
  activation: {choice: [relu, tanh]}
  batch_size: {choice: [32, 16384]}
search: {max_trials: 4}
schedule: {max_epochs: 3}
`

func TestValidateRefuses(t *testing.T) {
	quick, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	q := string(quick)
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"memory", cnn, nil, 1,
			"tunectl: error: -: spec: invalid: estimated peak memory 115.1 GiB per trial exceeds the budget of 2 GiB (--max-trial-memory); driven by batch_size=16384, model.hidden=[8192], model.conv=[512 512 512 512] ("},
		{"memory under a custom budget", q, []string{"--max-trial-memory", "512KiB"}, 1,
			"exceeds the budget of 512 KiB (--max-trial-memory)"},
		{"every error, one per line", strings.Replace(strings.Replace(q, "name: quickstart", "name: x-trial-3", 1), "max_trials: 24", "max_trials: 0", 1), nil, 1,
			"tunectl: error: -: spec: invalid: name: \"x-trial-3\" must not contain \"-trial-\" (trial workflows are named study-<name>-trial-<n>, so this name could take another study's trial's id)\n-: spec: invalid: search.max_trials: 0 must be in [1, 100000]\n"},
		{"nan", strings.Replace(q, "optimizer: {kind: adam}", "optimizer: {kind: momentum, momentum: .nan}", 1), nil, 1, "optimizer.momentum: NaN must be a finite number in [0, 1)"},
		{"not a size", q, []string{"--max-trial-memory", "lots"}, 2, `invalid argument "lots" for "--max-trial-memory" flag: "lots" is not a memory size`},
		{"too large", strings.Repeat("#", 1<<20+1), nil, 1, "tunectl: error: read spec: -: spec: invalid: the file is larger than 1048576 bytes (at most 1048576 allowed)"},
		{"bad name flag", q, []string{"--name", "x-trial-1"}, 1, `name: "x-trial-1" must not contain "-trial-"`},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := tunectl(t, tt.stdin, append([]string{"validate", "-"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) || out != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr:\n%s\nwant it to contain:\n%s", code, tt.code, out, errOut, tt.want)
			}
		})
	}
	// A budget that fits passes, and says so.
	code, out, _ := tunectl(t, cnn, "validate", "-", "--max-trial-memory", "200GiB")
	if code != 0 || !strings.Contains(out, "peak memory:  115.1 GiB per trial (budget 200 GiB), at activation=tanh batch_size=16384") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
