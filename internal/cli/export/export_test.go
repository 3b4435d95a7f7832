package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/cli/clitest"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeStore holds one study, id 42, named "s1".
type fakeStore struct {
	trials   []store.Trial
	metrics  []store.MetricExport
	err      error // returned by Trials and TrialMetrics
	askedFor int64 // the study id Trials or TrialMetrics was called with
	spec     string
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if name != "s1" {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	return store.Study{ID: 42, Name: name, Spec: []byte(f.spec)}, nil
}

func (f *fakeStore) Trials(_ context.Context, id int64) ([]store.Trial, error) {
	f.askedFor = id
	return f.trials, f.err
}

func (f *fakeStore) TrialMetrics(_ context.Context, id int64) ([]store.MetricExport, error) {
	f.askedFor = id
	return f.metrics, f.err
}

func fixture() *fakeStore {
	obj, loss, acc := 0.91, 0.25, 0.91
	msg := "loss is NaN"
	return &fakeStore{
		trials: []store.Trial{
			{Number: 0, Status: "complete", Objective: &obj, EpochsDone: 3, Attempt: 1, Seed: 7, ConfigHash: "c0", Params: []byte(`{"activation":"relu"}`)},
			{Number: 1, Status: "diverged", EpochsDone: 1, Attempt: 2, Replicate: 1, Seed: 8, ConfigHash: "c1", Params: []byte(`{"activation":"elu"}`), Error: &msg},
		},
		metrics: []store.MetricExport{
			{Trial: 0, Epoch: 1, Attempt: 1, Layers: json.RawMessage(`[{"dead":0.1}]`), EpochValues: events.EpochValues{TrainLoss: &loss, ValAccuracy: &acc}},
			{Trial: 0, Epoch: 2, Attempt: 1, Layers: json.RawMessage(`null`), EpochValues: events.EpochValues{ValLoss: &loss}},
		},
	}
}

func run(t *testing.T, st StudyReader, opts Options) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.IO = &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}
	opts.Studies = func(context.Context) (StudyReader, error) { return st, nil }
	err := runExport(context.Background(), &opts)
	return out.String(), err
}

func TestRunExportGolden(t *testing.T) {
	for _, tc := range []struct {
		name    string
		metrics bool
		output  string
	}{
		{"trials.json", false, "json"}, {"trials.csv", false, "csv"},
		{"metrics.json", true, "json"}, {"metrics.csv", true, "csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := fixture()
			got, err := run(t, st, Options{Study: "s1", Metrics: tc.metrics, Output: tc.output})
			if err != nil {
				t.Fatal(err)
			}
			if st.askedFor != 42 {
				t.Fatalf("read study id %d, want 42", st.askedFor)
			}
			golden := filepath.Join("testdata", tc.name)
			clitest.Golden(t, golden, got, *update)
		})
	}
}

func TestRunExportTrialsJSONKeepsParams(t *testing.T) {
	got, err := run(t, fixture(), Options{Study: "s1", Output: "json"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	if err := json.Unmarshal([]byte(got), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0]["params"].(map[string]any)["activation"] != "relu" || recs[1]["objective"] != nil {
		t.Fatalf("records %v", recs)
	}
}

func TestRunExportEmptyIsAnArray(t *testing.T) {
	for _, metrics := range []bool{false, true} {
		got, err := run(t, &fakeStore{}, Options{Study: "s1", Metrics: metrics, Output: "json"})
		if err != nil || strings.TrimSpace(got) != "[]" {
			t.Errorf("metrics=%v: %q, %v; want []", metrics, got, err)
		}
	}
}

func TestRunExportErrors(t *testing.T) {
	_, err := run(t, fixture(), Options{Study: "nope", Output: "json"})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `study "nope"`) {
		t.Fatalf("unknown study: %v", err)
	}
	broken := errors.New("connection reset")
	for _, tc := range []struct {
		metrics bool
		want    string
	}{{false, "trials of study s1: "}, {true, "metrics of study s1: "}} {
		st := fixture()
		st.err = broken
		out, err := run(t, st, Options{Study: "s1", Metrics: tc.metrics, Output: "csv"})
		if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), tc.want) || out != "" {
			t.Errorf("metrics=%v: %q, %v; want the store error under %q and no output", tc.metrics, out, err, tc.want)
		}
	}
	down := errors.New("dial tcp: refused")
	opts := &Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}}, Study: "s1", Output: "json",
		Studies: func(context.Context) (StudyReader, error) { return nil, down }}
	if err := runExport(context.Background(), opts); !errors.Is(err, down) {
		t.Fatalf("open error: %v", err)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		metrics bool
		output  string
		usage   bool
	}{
		{args: []string{"s1"}, output: "json"},
		{args: []string{"s1", "--metrics", "-o", "csv"}, metrics: true, output: "csv"},
		{args: []string{"s1", "-o", "table"}, usage: true},
		{args: []string{}, usage: true},
	} {
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
		var got *Options
		cmd := NewCmdExport(f, func(_ context.Context, o *Options) error { got = o; return nil })
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
		if err != nil || got.Study != "s1" || got.Metrics != tc.metrics || got.Output != tc.output || got.Studies == nil {
			t.Errorf("%q: err %v, options %+v", tc.args, err, got)
		}
	}
}

type fakeModels map[string][]byte

func (m fakeModels) GetModel(_ context.Context, study string, trial int) ([]byte, error) {
	b, ok := m[fmt.Sprintf("%s/%d", study, trial)]
	if !ok {
		return nil, ckptstore.ErrNotFound
	}
	return b, nil
}

func TestModelFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		trial int
		file  string
		usage string
	}{
		{args: []string{"--model", "s1", "7"}, trial: 7, file: "s1-trial-7.ckpt"},
		{args: []string{"--model", "s1", "0", "--file", "-"}, trial: 0, file: "-"},
		{args: []string{"--model", "s1"}, usage: "takes 2 argument(s), got 1"},
		{args: []string{"--model", "s1", "x"}, usage: `trial: "x" must be a trial number >= 0`},
		{args: []string{"--model", "s1", "-1"}, usage: "unknown shorthand flag"},
		{args: []string{"--model", "s1", "1", "--metrics"}, usage: "--model and --metrics: choose one"},
		{args: []string{"--model", "s1", "1", "--checkpoint-bucket", "a.b"}, usage: "--checkpoint-bucket"},
	} {
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
		var got *Options
		cmd := NewCmdExport(f, func(_ context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tc.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.Execute()
		if tc.usage != "" {
			if err == nil || !strings.Contains(err.Error(), tc.usage) {
				t.Errorf("%q: err %v, want %q", tc.args, err, tc.usage)
			}
			continue
		}
		if err != nil || !got.Model || got.Study != "s1" || got.Trial != tc.trial || got.File != tc.file || got.Bucket != ckptstore.DefaultBucket {
			t.Errorf("%q: err %v, options %+v", tc.args, err, got)
		}
	}
}

func TestRunExportModel(t *testing.T) {
	models := fakeModels{"s1/3": []byte("weights")}
	file := filepath.Join(t.TempDir(), "m.ckpt")
	var errOut bytes.Buffer
	opts := &Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &errOut}, Model: true, Study: "s1", Trial: 3, File: file,
		Bucket: "b", Models: func(context.Context, string) (ModelReader, error) { return models, nil }}
	if err := runExportModel(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "weights" {
		t.Fatalf("file holds %q, %v", b, err)
	}
	opts.Trial = 4
	err := runExportModel(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "study s1 trial 4 has no kept model in bucket b") {
		t.Fatalf("missing model: %v", err)
	}
}

func TestRunExportMultiObjective(t *testing.T) {
	v := func(xs ...float64) []*float64 {
		out := make([]*float64, len(xs))
		for i := range xs {
			out[i] = &xs[i]
		}
		return out
	}
	st := &fakeStore{spec: `{"objectives":[{"metric":"val_accuracy","direction":"maximize"},{"metric":"epoch_seconds","direction":"minimize"}]}`}
	for i, vals := range [][]*float64{v(0.9, 2), v(0.8, 1), v(0.7, 3), v(0.95, 5), {v(1)[0], nil}} {
		st.trials = append(st.trials, store.Trial{Number: i, Status: "complete", ConfigHash: "c", Params: []byte(`{}`), ObjectiveValues: vals})
	}
	st.trials = append(st.trials, store.Trial{Number: 5, Status: "failed", ConfigHash: "c", Params: []byte(`{}`)})
	out, err := run(t, st, Options{Study: "s1", Output: "json"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []struct {
		Number int        `json:"number"`
		Values []*float64 `json:"objective_values"`
		Rank   *int       `json:"pareto_rank"`
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	// 0, 1 and 3 are on the front; 2 is dominated by 1; 4 misses a value.
	want := map[int]int{0: 1, 1: 1, 2: 2, 3: 1}
	for _, r := range recs {
		w, ranked := want[r.Number]
		switch {
		case ranked && (r.Rank == nil || *r.Rank != w):
			t.Errorf("trial %d: rank %v, want %d", r.Number, r.Rank, w)
		case !ranked && r.Rank != nil:
			t.Errorf("trial %d: rank %d, want none", r.Number, *r.Rank)
		}
		if r.Number < 4 && len(r.Values) != 2 {
			t.Errorf("trial %d: values %v", r.Number, r.Values)
		}
	}
	csv, err := run(t, st, Options{Study: "s1", Output: "csv"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(csv, "\n")
	if !strings.HasSuffix(lines[0], ",objective_values,pareto_rank") || !strings.HasSuffix(lines[3], `"[0.7,3]",2`) {
		t.Fatalf("csv:\n%s", csv)
	}
}
