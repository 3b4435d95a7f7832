package control

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/workflows"
)

// fakeTemporal knows one study workflow, that of "s1".
type fakeTemporal struct {
	status    workflows.StudyStatus
	updateErr error // returned by UpdateWorkflow
	getErr    error // returned by the handle's Get
	cancelErr error

	canceled []string
	updates  []client.UpdateWorkflowOptions
}

func (f *fakeTemporal) known(id string) error {
	if id != workflows.StudyWorkflowID("s1") {
		return serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return nil
}

func (f *fakeTemporal) CancelWorkflow(_ context.Context, id, _ string) error {
	if err := f.known(id); err != nil {
		return err
	}
	f.canceled = append(f.canceled, id)
	return f.cancelErr
}

func (f *fakeTemporal) UpdateWorkflow(_ context.Context, o client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error) {
	if err := f.known(o.WorkflowID); err != nil {
		return nil, err
	}
	f.updates = append(f.updates, o)
	if f.updateErr != nil {
		return nil, f.updateErr
	}
	return &fakeHandle{f: f, id: o.WorkflowID}, nil
}

type fakeHandle struct {
	f  *fakeTemporal
	id string
}

func (h *fakeHandle) WorkflowID() string { return h.id }
func (h *fakeHandle) RunID() string      { return "run" }
func (h *fakeHandle) UpdateID() string   { return "update" }
func (h *fakeHandle) Get(_ context.Context, v any) error {
	if h.f.getErr != nil {
		return h.f.getErr
	}
	*(v.(*workflows.StudyStatus)) = h.f.status
	return nil
}

func opts(tc StudyControl, study string) (*Options, *bytes.Buffer) {
	var out bytes.Buffer
	return &Options{
		IO:       &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}},
		Temporal: func(context.Context) (StudyControl, error) { return tc, nil },
		Study:    study,
	}, &out
}

func TestRunCancel(t *testing.T) {
	tc := &fakeTemporal{}
	o, out := opts(tc, "s1")
	if err := runCancel(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if len(tc.canceled) != 1 || tc.canceled[0] != "study-s1" {
		t.Fatalf("canceled %q, want [study-s1]", tc.canceled)
	}
	if want := "cancel requested for study s1; running trials stop within 30s\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

func TestRunStop(t *testing.T) {
	tc := &fakeTemporal{status: workflows.StudyStatus{Running: []int{3, 5}}}
	o, out := opts(tc, "s1")
	if err := runStop(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if len(tc.updates) != 1 || tc.updates[0].UpdateName != workflows.UpdateStop || len(tc.updates[0].Args) != 0 ||
		tc.updates[0].WaitForStage != client.WorkflowUpdateStageCompleted {
		t.Fatalf("updates %+v", tc.updates)
	}
	if want := "study s1 is stopping: 2 trial(s) still running, no new ones start\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

func TestRunExtend(t *testing.T) {
	tc := &fakeTemporal{status: workflows.StudyStatus{Budget: 70}}
	o, out := opts(tc, "s1")
	o.Trials = 50
	if err := runExtend(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if len(tc.updates) != 1 || tc.updates[0].UpdateName != workflows.UpdateAddTrials {
		t.Fatalf("updates %+v", tc.updates)
	}
	if args := tc.updates[0].Args; len(args) != 1 || args[0] != (workflows.AddTrialsRequest{Trials: 50}) {
		t.Fatalf("update args %v, want one AddTrialsRequest{50}", args)
	}
	if want := "study s1: budget is now 70 trials\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	runs := map[string]func(context.Context, *Options) error{"cancel": runCancel, "stop": runStop, "extend": runExtend}
	for verb, run := range runs {
		// A study without a workflow is named, with the Temporal error kept.
		o, out := opts(&fakeTemporal{}, "nope")
		o.Trials = 1
		err := run(ctx, o)
		var nf *serviceerror.NotFound
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "study nope: no workflow study-nope") || out.Len() != 0 {
			t.Errorf("%s unknown study: %v, printed %q", verb, err, out)
		}
		// A client that cannot connect.
		down := errors.New("dial 127.0.0.1:7233: refused")
		o.Temporal = func(context.Context) (StudyControl, error) { return nil, down }
		if err := run(ctx, o); !errors.Is(err, down) {
			t.Errorf("%s connect: %v", verb, err)
		}
	}
	rejected := errors.New("update rejected: study is not running")
	for verb, tc := range map[string]*fakeTemporal{
		"stop":   {updateErr: rejected},
		"extend": {getErr: rejected},
		"cancel": {cancelErr: rejected},
	} {
		o, out := opts(tc, "s1")
		o.Trials = 1
		err := runs[verb](ctx, o)
		if !errors.Is(err, rejected) || !strings.Contains(err.Error(), " study s1: ") || out.Len() != 0 {
			t.Errorf("%s: %v, printed %q; want the error with the study named", verb, err, out)
		}
	}
}

func TestFlags(t *testing.T) {
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
	for _, tc := range []struct {
		args   []string
		trials int
		usage  bool
	}{
		{args: []string{"cancel", "s1"}},
		{args: []string{"stop", "s1"}},
		{args: []string{"extend", "s1", "--trials", "5"}, trials: 5},
		{args: []string{"extend", "s1", "--trials", "0"}, usage: true},
		{args: []string{"cancel"}, usage: true},
		{args: []string{"stop", "a", "b"}, usage: true},
	} {
		var got *Options
		runF := func(_ context.Context, o *Options) error { got = o; return nil }
		cmd := map[string]func(*cmdutil.Factory, func(context.Context, *Options) error) *cobra.Command{
			"cancel": NewCmdCancel, "stop": NewCmdStop, "extend": NewCmdExtend,
		}[tc.args[0]](f, runF)
		cmd.SetArgs(tc.args[1:])
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tc.usage {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("%q: err %v, want a usage error", tc.args, err)
			}
			continue
		}
		if err != nil || got.Study != "s1" || got.Trials != tc.trials || got.Temporal == nil {
			t.Errorf("%q: err %v, options %+v", tc.args, err, got)
		}
	}
}
