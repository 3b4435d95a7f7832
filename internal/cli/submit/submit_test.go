package submit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
)

func run(t *testing.T, stdin string, args ...string) (*Options, error) {
	t.Helper()
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
	var got *Options
	cmd := NewCmdSubmit(f, func(ctx context.Context, o *Options) error { got = o; return nil })
	cmd.SetArgs(args)
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(context.Background())
	return got, err
}

func TestSubmitParsesBeforeAnythingElse(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(t, string(example), "-", "--name", "renamed")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.Name != "renamed" || got.Spec.Search.MaxTrials != 24 {
		t.Fatalf("spec %+v", got.Spec)
	}

	// An invalid spec never reaches the action that talks to the services.
	bad := strings.Replace(string(example), "max_trials: 24", "max_trials: -3", 1)
	got, err = run(t, bad, "-")
	if err == nil || got != nil {
		t.Fatalf("invalid spec reached the action (err %v)", err)
	}
	if !strings.Contains(err.Error(), "search.max_trials: -3 must be in [1, 100000]") {
		t.Fatalf("error %q does not name field, value and bound", err)
	}
	if cmdutil.ExitCode(err) != cmdutil.ExitError {
		t.Fatalf("exit code %d, want 1", cmdutil.ExitCode(err))
	}
	if _, err := run(t, string(example), "-", "--name", "Bad Name"); err == nil || !strings.Contains(err.Error(), `name: "Bad Name" must match`) {
		t.Fatalf("--name is not validated: %v", err)
	}
	if _, err := run(t, ""); cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("no argument: exit %d, want 2", cmdutil.ExitCode(err))
	}
}

// TestSubmitChecksLikeValidate: the memory budget, NaN fields, every value
// of the space and the name rules stop a spec before the action that
// talks to the services; --max-trial-memory moves the budget.
func TestSubmitChecksLikeValidate(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	q := string(example)
	for _, tt := range []struct {
		name, spec string
		args       []string
		want       string
	}{
		{"budget", q, []string{"--max-trial-memory", "1MiB"}, "exceeds the budget of 1 MiB (--max-trial-memory); driven by evaluation chunks of 1024 rows"},
		{"nan momentum", strings.Replace(q, "optimizer: {kind: adam}", "optimizer: {kind: momentum, momentum: .nan}", 1) + "", nil, "optimizer.momentum: NaN must be a finite number in [0, 1)"},
		{"batch beyond the trainer", strings.Replace(q, "batch_size: {choice: [32, 64]}", "batch_size: {choice: [32, 65536]}", 1), nil, "space.batch_size.choice[1]: 65536 must be in [1, 16384]"},
		{"trial-like name", q, []string{"--name", "quickstart-trial-3"}, `name: "quickstart-trial-3" must not contain "-trial-"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, tt.spec, append([]string{"-"}, tt.args...)...)
			if err == nil || got != nil || !strings.Contains(err.Error(), tt.want) || cmdutil.ExitCode(err) != cmdutil.ExitError {
				t.Fatalf("reached the action: %v; err %v, want it to contain %q", got != nil, err, tt.want)
			}
		})
	}
	got, err := run(t, q, "-", "--max-trial-memory", "2MiB")
	if err != nil || got.MaxTrialMemory != 2<<20 || got.Report == nil || got.Report.Memory.Total() > 2<<20 || got.Report.Checked != 56 {
		t.Fatalf("within the budget: %v, %+v", err, got)
	}
}
