package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/search"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/workflows"
)

// fakeStore holds the study of report(), id 9; failOn names a method that
// returns errDB.
type fakeStore struct {
	rep    Report
	status string
	failOn string
	asked  []string
}

var errDB = errors.New("conn closed")

func (f *fakeStore) call(method string, id int64, name string) error {
	f.asked = append(f.asked, fmt.Sprintf("%s(%d%s)", method, id, name))
	if f.failOn == method {
		return errDB
	}
	return nil
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if name != f.rep.Study.Name {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	s := f.rep.Study
	s.ID, s.Status = 9, search.StudyState(f.status)
	return s, nil
}

func (f *fakeStore) StatusCounts(_ context.Context, id int64) (map[string]int, error) {
	return f.rep.Counts, f.call("StatusCounts", id, "")
}

func (f *fakeStore) ActivationSummary(_ context.Context, study string) ([]store.ActivationStats, error) {
	return f.rep.Activations, f.call("ActivationSummary", 0, study)
}

func (f *fakeStore) DeadLetterCount(_ context.Context, study string) (int, error) {
	return f.rep.DeadLetters, f.call("DeadLetterCount", 0, study)
}

func (f *fakeStore) Trials(_ context.Context, id int64) ([]store.Trial, error) {
	obj := 0.9
	ts := append([]store.Trial{{Number: 0, Status: "complete", Objective: &obj}}, f.rep.Failed...)
	return ts, f.call("Trials", id, "")
}

func (f *fakeStore) PendingMetrics(_ context.Context, id int64) (int, int, error) {
	return 12, 2, f.call("PendingMetrics", id, "")
}

// fakeTemporal answers for the workflow of "relu-variants" while open.
type fakeTemporal struct {
	live    workflows.StudyStatus
	closed  bool
	queried int
}

func (f *fakeTemporal) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	if id != workflows.StudyWorkflowID("relu-variants") {
		return nil, serviceerror.NewNotFound("no workflow " + id)
	}
	d := &client.WorkflowExecutionDescription{}
	if f.closed {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		d.WorkflowCloseTime = &t
	}
	return d, nil
}

func (f *fakeTemporal) QueryWorkflow(_ context.Context, id, _, query string, _ ...any) (converter.EncodedValue, error) {
	f.queried++
	if query != workflows.QueryStatus {
		return nil, fmt.Errorf("unknown query %q", query)
	}
	return liveValue{f.live}, nil
}

type liveValue struct{ st workflows.StudyStatus }

func (v liveValue) HasValue() bool { return true }
func (v liveValue) Get(p any) error {
	*(p.(*workflows.StudyStatus)) = v.st
	return nil
}

func liveStatus() workflows.StudyStatus {
	obj := 0.95
	return workflows.StudyStatus{Name: "relu-variants", State: "running", Budget: 20, Suggested: 6, Running: []int{4, 5}, Queued: 1,
		Best: &workflows.TrialResult{Number: 2, Activation: "relu", Objective: &obj}}
}

func runWith(t *testing.T, st StudyReader, tc cmdutil.WorkflowQuerier, tcErr error, study, output string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{
		IO:       &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}},
		Studies:  func(context.Context) (StudyReader, error) { return st, nil },
		Temporal: func(context.Context) (cmdutil.WorkflowQuerier, error) { return tc, tcErr },
		Study:    study,
		Output:   output,
	}
	err := runStatus(context.Background(), opts)
	return out.String(), err
}

func TestRunStatusLiveGolden(t *testing.T) {
	st := &fakeStore{rep: report(0), status: "running"}
	got, err := runWith(t, st, &fakeTemporal{live: liveStatus()}, nil, "relu-variants", "table")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "status-live.table")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	for _, want := range []string{"StatusCounts(9)", "Trials(9)", "PendingMetrics(9)", "ActivationSummary(0relu-variants)", "DeadLetterCount(0relu-variants)"} {
		if !strings.Contains(strings.Join(st.asked, " "), want) {
			t.Errorf("the store was not asked %s: %v", want, st.asked)
		}
	}
}

func TestRunStatusJSON(t *testing.T) {
	got, err := runWith(t, &fakeStore{rep: report(2), status: "running"}, &fakeTemporal{live: liveStatus()}, nil, "relu-variants", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal([]byte(got), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Study.Name != "relu-variants" || rep.DeadLetters != 2 || rep.Live == nil || rep.Live.Budget != 20 ||
		rep.PendingMetrics == nil || rep.PendingMetrics.Rows != 12 || len(rep.Failed) != 1 || rep.Failed[0].Number != 4 {
		t.Fatalf("report %+v", rep)
	}
}

// TestRunStatusWithoutLive checks that the live state is asked only of a
// running study, and that a Temporal that cannot answer leaves it out.
func TestRunStatusWithoutLive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		tc     *fakeTemporal
		tcErr  error
		asks   int
	}{
		{"finished study", "complete", &fakeTemporal{live: liveStatus()}, nil, 0},
		{"temporal down", "running", nil, errors.New("dial: refused"), 0},
		{"workflow closed", "running", &fakeTemporal{live: liveStatus(), closed: true}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q cmdutil.WorkflowQuerier
			if tc.tc != nil {
				q = tc.tc
			}
			got, err := runWith(t, &fakeStore{rep: report(0), status: tc.status}, q, tc.tcErr, "relu-variants", "table")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got, "workflow:") || !strings.Contains(got, "study relu-variants: "+tc.status) {
				t.Fatalf("got\n%s", got)
			}
			if tc.tc != nil && tc.tc.queried != tc.asks {
				t.Fatalf("queried %d times, want %d", tc.tc.queried, tc.asks)
			}
		})
	}
}

func TestRunStatusErrors(t *testing.T) {
	_, err := runWith(t, &fakeStore{rep: report(0)}, nil, nil, "nope", "table")
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `study "nope"`) {
		t.Fatalf("unknown study: %v", err)
	}
	for method, what := range map[string]string{
		"StatusCounts": "trial counts", "ActivationSummary": "activation summary", "DeadLetterCount": "dead letters",
		"Trials": "trials", "PendingMetrics": "pending metrics",
	} {
		out, err := runWith(t, &fakeStore{rep: report(0), status: "complete", failOn: method}, nil, nil, "relu-variants", "table")
		want := "status of study relu-variants: " + what + ": conn closed"
		if !errors.Is(err, errDB) || err.Error() != want || out != "" {
			t.Errorf("%s fails: %v, printed %q; want %q", method, err, out, want)
		}
	}
	down := errors.New("dial tcp: refused")
	opts := &Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}}, Study: "s",
		Studies: func(context.Context) (StudyReader, error) { return nil, down }}
	if err := runStatus(context.Background(), opts); !errors.Is(err, down) {
		t.Fatalf("open error: %v", err)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		output string
		usage  bool
	}{
		{args: []string{"s1"}, output: "table"},
		{args: []string{"s1", "-o", "json"}, output: "json"},
		{args: []string{"s1", "-o", "csv"}, usage: true},
		{args: nil, usage: true},
	} {
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
		var got *Options
		cmd := NewCmdStatus(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tc.usage {
			if cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("%q: err %v, want a usage error", tc.args, err)
			}
			continue
		}
		if err != nil || got.Study != "s1" || got.Output != tc.output || got.Studies == nil || got.Temporal == nil {
			t.Errorf("%q: err %v, options %+v", tc.args, err, got)
		}
	}
}
