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
	if got.Spec.Name != "renamed" || got.Spec.Search.MaxTrials != 8 {
		t.Fatalf("spec %+v", got.Spec)
	}

	// An invalid spec never reaches the action that talks to the services.
	bad := strings.Replace(string(example), "max_trials: 8", "max_trials: -3", 1)
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
