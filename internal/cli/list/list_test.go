package list

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/cli/clitest"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeStore struct {
	studies []store.StudySummary
	err     error
}

func (f *fakeStore) ListStudies(context.Context) ([]store.StudySummary, error) {
	return f.studies, f.err
}

func summaries() []store.StudySummary {
	best := 0.9731
	created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	return []store.StudySummary{
		{Study: store.Study{Name: "relu-variants", Status: "running", Metric: "val_accuracy", CreatedAt: created}, Trials: 12, Complete: 9, Running: 2, Failed: 1, Best: &best},
		{Study: store.Study{Name: "quickstart", Status: "complete", Metric: "val_loss", CreatedAt: created.Add(time.Hour)}, Trials: 4, Complete: 4},
	}
}

func run(t *testing.T, st StudyLister, openErr error, output string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{
		IO:      &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}},
		Studies: func(context.Context) (StudyLister, error) { return st, openErr },
		Output:  output,
	}
	err := runList(context.Background(), opts)
	return out.String(), err
}

func TestRunListGolden(t *testing.T) {
	local := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = local })
	for _, format := range cmdutil.OutputFormats {
		t.Run(format, func(t *testing.T) {
			got, err := run(t, &fakeStore{studies: summaries()}, nil, format)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "list."+format)
			clitest.Golden(t, golden, got, *update)
		})
	}
}

func TestRunListEmptyJSON(t *testing.T) {
	got, err := run(t, &fakeStore{}, nil, "json")
	if err != nil {
		t.Fatal(err)
	}
	var v []any
	if err := json.Unmarshal([]byte(got), &v); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("no studies print %q, want an empty JSON array", got)
	}
}

func TestRunListErrors(t *testing.T) {
	down := errors.New("connection refused")
	if _, err := run(t, nil, down, "table"); !errors.Is(err, down) {
		t.Fatalf("open error: got %v", err)
	}
	out, err := run(t, &fakeStore{err: down}, nil, "table")
	if !errors.Is(err, down) || !strings.Contains(err.Error(), "list studies: ") {
		t.Fatalf("query error: got %v, want it wrapped with what failed", err)
	}
	if out != "" {
		t.Fatalf("printed %q on error", out)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{args: nil, want: "table"},
		{args: []string{"-o", "csv"}, want: "csv"},
		{args: []string{"--output", "yaml"}, usage: true},
		{args: []string{"extra"}, usage: true},
	} {
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}}
		var got *Options
		cmd := NewCmdList(f, func(_ context.Context, o *Options) error { got = o; return nil })
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
		if err != nil || got.Output != tc.want || got.Studies == nil {
			t.Errorf("%q: err %v, options %+v", tc.args, err, got)
		}
	}
}
