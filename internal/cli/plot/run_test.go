package plot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

type fakeStore struct {
	pts    []store.CurvePoint
	err    error
	id     int64
	metric string
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if name != "s1" {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	return store.Study{ID: 5, Name: name}, nil
}

func (f *fakeStore) ActivationCurves(_ context.Context, id int64, metric string) ([]store.CurvePoint, error) {
	f.id, f.metric = id, metric
	return f.pts, f.err
}

func curves() []store.CurvePoint {
	return []store.CurvePoint{{Activation: "relu", Epoch: 1, Mean: 0.2}, {Activation: "relu", Epoch: 2, Mean: 0.1}, {Activation: "elu", Epoch: 1, Mean: 0.3}}
}

func runWith(t *testing.T, st *fakeStore, study, file string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts := &Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Study: study, Metric: "dead_fraction", Out: file,
		Studies: func(context.Context) (CurveReader, error) { return st, nil }}
	err := runPlot(context.Background(), opts)
	return out.String(), errOut.String(), err
}

func TestRunPlot(t *testing.T) {
	st := &fakeStore{pts: curves()}
	out, stderr, err := runWith(t, st, "s1", "-")
	if err != nil {
		t.Fatal(err)
	}
	if st.id != 5 || st.metric != "dead_fraction" {
		t.Fatalf("asked study %d metric %q", st.id, st.metric)
	}
	var want bytes.Buffer
	if err := SVG(&want, "s1: mean dead_fraction per activation", "dead_fraction", curves()); err != nil {
		t.Fatal(err)
	}
	if out != want.String() || stderr != "" {
		t.Fatalf("stdout differs from the chart, stderr %q", stderr)
	}

	file := filepath.Join(t.TempDir(), "dead.svg")
	out, stderr, err = runWith(t, &fakeStore{pts: curves()}, "s1", file)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || string(b) != want.String() || out != "" || stderr != "wrote "+file+"\n" {
		t.Fatalf("file %v, stdout %q, stderr %q", err, out, stderr)
	}
}

func TestRunPlotErrors(t *testing.T) {
	if _, _, err := runWith(t, &fakeStore{}, "nope", "-"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `study "nope"`) {
		t.Fatalf("unknown study: %v", err)
	}
	if _, _, err := runWith(t, &fakeStore{}, "s1", "-"); err == nil || err.Error() != "study s1 has no dead_fraction values yet" {
		t.Fatalf("no values: %v", err)
	}
	broken := errors.New("bad metric")
	out, _, err := runWith(t, &fakeStore{err: broken}, "s1", "-")
	if !errors.Is(err, broken) || err.Error() != "dead_fraction curves of study s1: bad metric" || out != "" {
		t.Fatalf("store error: %v, printed %q", err, out)
	}
	if _, _, err := runWith(t, &fakeStore{pts: curves()}, "s1", filepath.Join(t.TempDir(), "no", "such", "dir.svg")); err == nil {
		t.Fatal("an unwritable file gave no error")
	}
}
