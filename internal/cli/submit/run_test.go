package submit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

type fakeStore struct {
	study store.Study
	err   error
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if f.err != nil {
		return store.Study{}, f.err
	}
	if name != f.study.Name {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	return f.study, nil
}

// fakeTemporal holds at most one workflow; hashes[i] is the spec hash
// that the i-th DescribeWorkflow finds in its memo ("" for none).
type fakeTemporal struct {
	hashes     []string
	execErr    error
	describes  int
	started    []client.StartWorkflowOptions
	startedArg []any
}

func (f *fakeTemporal) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	i := f.describes
	f.describes++
	if i >= len(f.hashes) || f.hashes[i] == "" {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	p, err := converter.GetDefaultDataConverter().ToPayload(f.hashes[i])
	if err != nil {
		return nil, err
	}
	d := &client.WorkflowExecutionDescription{}
	d.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	d.Memo = &commonpb.Memo{Fields: map[string]*commonpb.Payload{memoSpecHash: p}}
	return d, nil
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, wf any, args ...any) (client.WorkflowRun, error) {
	if f.execErr != nil {
		return nil, f.execErr
	}
	f.started = append(f.started, o)
	f.startedArg = append([]any{wf}, args...)
	return fakeRun{id: o.ID}, nil
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

func quickstart(t *testing.T) *spec.Spec {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spec.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func runWith(t *testing.T, st *fakeStore, tc *fakeTemporal) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{
		IO:           &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}},
		Studies:      func(context.Context) (StudyFinder, error) { return st, nil },
		Temporal:     func(context.Context) (StudyStarter, error) { return tc, nil },
		StudiesQueue: "studies-q",
		TrialsQueue:  "trials-q",
		TemporalUI:   "http://ui:8233",
		Namespace:    "ns",
		Spec:         quickstart(t),
	}
	err := runSubmit(context.Background(), opts)
	return out.String(), err
}

func TestRunSubmitStarts(t *testing.T) {
	sp := quickstart(t)
	tc := &fakeTemporal{hashes: []string{"", sp.Hash()}}
	out, err := runWith(t, &fakeStore{}, tc)
	if err != nil {
		t.Fatal(err)
	}
	if len(tc.started) != 1 {
		t.Fatalf("started %d workflows", len(tc.started))
	}
	o := tc.started[0]
	if o.ID != "study-quickstart" || o.TaskQueue != "studies-q" || o.Memo[memoSpecHash] != sp.Hash() {
		t.Fatalf("start options %+v", o)
	}
	if tc.startedArg[0] != workflows.StudyWorkflowName {
		t.Fatalf("started %v", tc.startedArg[0])
	}
	in, ok := tc.startedArg[1].(workflows.StudyInput)
	if !ok || in.TrialsQueue != "trials-q" || in.Spec.Hash() != sp.Hash() {
		t.Fatalf("input %+v", tc.startedArg[1])
	}
	for _, want := range []string{
		"submitted study quickstart (workflow study-quickstart, run run-1)\n",
		fmt.Sprintf("  %d trials, %s search, parallelism %d", sp.Search.MaxTrials, sp.Search.Algorithm, sp.Search.Parallelism),
		"follow it: tunectl watch quickstart\n",
		"Temporal UI: http://ui:8233/namespaces/ns/workflows/study-quickstart\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRunSubmitAgain(t *testing.T) {
	sp := quickstart(t)
	for _, tc := range []struct {
		name    string
		st      *fakeStore
		tc      *fakeTemporal
		out     string
		wantErr string
	}{
		{"stored, same spec", &fakeStore{study: store.Study{Name: "quickstart", SpecHash: sp.Hash(), Status: "running"}}, &fakeTemporal{},
			"study quickstart was already submitted (status running); nothing to do\n", ""},
		{"stored, other spec", &fakeStore{study: store.Study{Name: "quickstart", SpecHash: "other"}}, &fakeTemporal{},
			"", `study "quickstart" already exists with a different spec (stored other, this ` + sp.Hash() + `); choose another name`},
		{"started, same spec", &fakeStore{}, &fakeTemporal{hashes: []string{sp.Hash()}},
			"study quickstart was already submitted (workflow Running)\n", ""},
		{"started, other spec", &fakeStore{}, &fakeTemporal{hashes: []string{"other"}},
			"", `study "quickstart" already exists with a different spec (workflow study-quickstart has other`},
		{"raced by another spec", &fakeStore{}, &fakeTemporal{hashes: []string{"", "other"}},
			"", `study "quickstart" was submitted concurrently with a different spec (other)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runWith(t, tc.st, tc.tc)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err %v, want %q", err, tc.wantErr)
			}
			if out != tc.out {
				t.Fatalf("printed %q, want %q", out, tc.out)
			}
			if tc.out != "" && len(tc.tc.started) != 0 {
				t.Fatal("started a workflow for a study already submitted")
			}
		})
	}
}

func TestRunSubmitErrors(t *testing.T) {
	down := errors.New("conn refused")
	out, err := runWith(t, &fakeStore{err: down}, &fakeTemporal{})
	if !errors.Is(err, down) || err.Error() != "look up study quickstart: conn refused" || out != "" {
		t.Fatalf("store error: %v, printed %q", err, out)
	}
	tc := &fakeTemporal{execErr: errors.New("namespace ns not found")}
	out, err = runWith(t, &fakeStore{}, tc)
	if !errors.Is(err, tc.execErr) || err.Error() != "start study quickstart: namespace ns not found" || out != "" {
		t.Fatalf("start error: %v, printed %q", err, out)
	}
}
