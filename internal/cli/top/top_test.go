package top

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

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

func rows() []store.RankedTrial {
	relu, elu := "relu", "elu"
	testAcc := 0.9688
	return []store.RankedTrial{
		{Rank: 1, Trial: 3, Activation: &relu, Params: json.RawMessage(`{"activation":"relu","learning_rate":0.01}`), Seed: 7, Objective: 0.975, Metric: "val_accuracy", EpochsDone: 10, TestAccuracy: &testAcc},
		{Rank: 2, Trial: 0, Activation: &elu, Params: json.RawMessage(`{"activation":"elu","learning_rate":0.003}`), Seed: 7, Objective: 0.9612, Metric: "val_accuracy", EpochsDone: 10},
	}
}

func TestRenderGolden(t *testing.T) {
	for _, format := range cmdutil.OutputFormats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Table(rows()).Render(&buf, format); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "top."+format)
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
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		args    []string
		want    Options
		wantErr bool
		usage   bool
	}{
		{args: []string{"s1"}, want: Options{Study: "s1", Limit: 10, Output: "table"}},
		{args: []string{"s1", "-n", "3", "--output", "json"}, want: Options{Study: "s1", Limit: 3, Output: "json"}},
		{args: []string{"s1", "--output", "yaml"}, wantErr: true, usage: true},
		{args: []string{}, wantErr: true, usage: true},
		{args: []string{"s1", "-n", "-1"}, wantErr: true, usage: true},
	}
	for _, tt := range tests {
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
		var got *Options
		cmd := NewCmdTop(f, func(ctx context.Context, o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		err := cmd.ExecuteContext(context.Background())
		if (err != nil) != tt.wantErr {
			t.Fatalf("%v: err %v, wantErr %v", tt.args, err, tt.wantErr)
		}
		if err != nil {
			if tt.usage && cmdutil.ExitCode(err) != cmdutil.ExitUsage {
				t.Errorf("%v: exit code %d, want %d", tt.args, cmdutil.ExitCode(err), cmdutil.ExitUsage)
			}
			continue
		}
		if got.Study != tt.want.Study || got.Limit != tt.want.Limit || got.Output != tt.want.Output {
			t.Errorf("%v: got %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

type fakeStore struct {
	front  []store.ParetoTrial
	spec   string
	trials []store.RankedTrial
	err    error
	asked  string
	limit  int
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if name != "s1" {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	return store.Study{ID: 1, Name: name, Spec: []byte(f.spec), Metric: "val_accuracy"}, nil
}

func (f *fakeStore) ParetoFront(_ context.Context, study string) ([]store.ParetoTrial, error) {
	f.asked = study
	return f.front, f.err
}

func (f *fakeStore) Top(_ context.Context, study string, limit int) ([]store.RankedTrial, error) {
	f.asked, f.limit = study, limit
	return f.trials, f.err
}

func runWith(t *testing.T, st *fakeStore, study, output string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Study: study, Limit: 3, Output: output,
		Studies: func(context.Context) (RankingReader, error) { return st, nil }}
	err := runTop(context.Background(), opts)
	return out.String(), err
}

func TestRunTop(t *testing.T) {
	st := &fakeStore{trials: rows()}
	got, err := runWith(t, st, "s1", "table")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "top.table"))
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) || st.asked != "s1" || st.limit != 3 {
		t.Fatalf("asked %q limit %d, printed\n%s", st.asked, st.limit, got)
	}
	got, err = runWith(t, &fakeStore{}, "s1", "table")
	if err != nil || got != "study s1 has no completed trials yet\n" {
		t.Fatalf("no trials: %q, %v", got, err)
	}
	got, err = runWith(t, &fakeStore{}, "s1", "json")
	if err != nil || strings.TrimSpace(got) != "[]" {
		t.Fatalf("no trials as JSON: %q, %v", got, err)
	}
}

func TestRunTopErrors(t *testing.T) {
	if _, err := runWith(t, &fakeStore{}, "nope", "table"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `study "nope"`) {
		t.Fatalf("unknown study: %v", err)
	}
	broken := errors.New("timeout")
	out, err := runWith(t, &fakeStore{err: broken}, "s1", "table")
	if !errors.Is(err, broken) || err.Error() != "ranking of study s1: timeout" || out != "" {
		t.Fatalf("store error: %v, printed %q", err, out)
	}
}

func paretoRows() []store.ParetoTrial {
	relu, gelu := "relu", "gelu"
	mk := func(trial int, act *string, acc, sec float64, dom int) store.ParetoTrial {
		return store.ParetoTrial{Trial: trial, Activation: act, Params: json.RawMessage(`{"activation":"` + *act + `"}`), Seed: 7,
			Values: []*float64{&acc, &sec}, Metrics: []string{"val_accuracy", "epoch_seconds"}, Directions: []string{"maximize", "minimize"}, Dominates: dom}
	}
	// In the view's order (ascending values); top shows best accuracy first.
	return []store.ParetoTrial{mk(4, &relu, 0.91, 0.0123, 5), mk(9, &gelu, 0.96, 0.0456, 2)}
}

func TestRunTopPareto(t *testing.T) {
	st := &fakeStore{front: paretoRows(), spec: `{"objectives":[{"metric":"val_accuracy"},{"metric":"epoch_seconds"}]}`}
	var out bytes.Buffer
	opts := &Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Study: "s1", Limit: 10, Output: "table", Pareto: true,
		Studies: func(context.Context) (RankingReader, error) { return st, nil }}
	if err := runTop(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "pareto.table")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "VAL_ACCURACY (MAX)") || !strings.Contains(lines[0], "EPOCH_SECONDS (MIN)") || !strings.HasPrefix(lines[1], "9 ") {
		t.Fatalf("header or order wrong (want the best accuracy, trial 9, first):\n%s", out.String())
	}

	// JSON carries the values and the metrics.
	out.Reset()
	opts.Output = "json"
	if err := runTop(context.Background(), opts); err != nil || !strings.Contains(out.String(), `"objective_values"`) {
		t.Fatalf("json: %v\n%s", err, out.String())
	}

	// A single-objective study has no front to show.
	single := &fakeStore{spec: `{"objective":{"metric":"val_accuracy"}}`}
	opts.Studies = func(context.Context) (RankingReader, error) { return single, nil }
	if err := runTop(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "--pareto needs a study whose spec lists objectives") {
		t.Fatalf("single-objective study: %v", err)
	}
}
