package deletecmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// fake records the order in which the parts of a study are removed.
type fake struct {
	known, running bool
	calls          []string
	fail           string // the part whose removal fails
}

func (f *fake) step(name string) error {
	f.calls = append(f.calls, name)
	if f.fail == name {
		return errors.New(name + " unreachable")
	}
	return nil
}

func (f *fake) StudyByName(ctx context.Context, name string) (store.Study, error) {
	if !f.known {
		return store.Study{}, store.ErrNotFound
	}
	return store.Study{Name: name}, nil
}
func (f *fake) DeleteStudy(ctx context.Context, name string) (int64, error) { return 4, f.step("rows") }
func (f *fake) Running(ctx context.Context, study string) (bool, error)     { return f.running, nil }
func (f *fake) Delete(ctx context.Context, study string) (int, error)       { return 1, f.step("workflows") }
func (f *fake) Purge(ctx context.Context, study string) (uint64, error) {
	return 12, f.step("messages")
}

type objects struct{ f *fake }

func (o objects) DeleteStudy(ctx context.Context, study string) (int, error) {
	return 2, o.f.step("objects")
}

func run(f *fake) (string, error) {
	var out bytes.Buffer
	opts := &Options{
		IO:        &cmdutil.IOStreams{Out: &out, ErrOut: &out},
		Rows:      func(context.Context) (Rows, error) { return f, nil },
		Workflows: func(context.Context) (Workflows, error) { return f, nil },
		Messages:  func(context.Context) (Messages, error) { return f, nil },
		Objects:   func(context.Context) (Objects, error) { return objects{f}, nil },
		Study:     "s", Yes: true,
	}
	err := runDelete(context.Background(), opts)
	return out.String(), err
}

func TestDeleteRemovesTheRowsLast(t *testing.T) {
	f := &fake{known: true}
	out, err := run(f)
	if err != nil || strings.Join(f.calls, ",") != "workflows,messages,objects,rows" {
		t.Fatalf("calls %v, %v", f.calls, err)
	}
	if out != "deleted study s: 4 trials, 1 workflow executions, 12 messages, 2 checkpoints and models\n" {
		t.Fatalf("output %q", out)
	}
	// A part that cannot be removed stops the delete before the rows go,
	// so that it can be run again.
	f = &fake{known: true, fail: "objects"}
	if _, err := run(f); err == nil || !strings.Contains(err.Error(), "objects unreachable") || strings.Contains(strings.Join(f.calls, ","), "rows") {
		t.Fatalf("calls %v, %v", f.calls, err)
	}
}

func TestDeleteRefusesARunningStudy(t *testing.T) {
	f := &fake{known: true, running: true}
	if _, err := run(f); err == nil || !strings.Contains(err.Error(), "is running: cancel it first") || len(f.calls) != 0 {
		t.Fatalf("calls %v, %v", f.calls, err)
	}
}

func TestDeleteCommandNeedsYesAndAValidName(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"s"}, "add --yes"},
		{[]string{"Bad'Name", "--yes"}, "study:"},
	} {
		var out bytes.Buffer
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &out}}
		cmd := NewCmdDelete(f, func(context.Context, *Options) error { t.Fatal("ran"); return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
