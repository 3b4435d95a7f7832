package compare

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/cli/clitest"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

type fakeStore struct {
	direction string
	means     []store.SeedMean
	err       error
}

func (f *fakeStore) StudyByName(_ context.Context, name string) (store.Study, error) {
	if name != "s1" {
		return store.Study{}, fmt.Errorf("%w: study %q", store.ErrNotFound, name)
	}
	return store.Study{ID: 1, Name: name, Direction: f.direction}, nil
}

func (f *fakeStore) ActivationSeedMeans(_ context.Context, study string) ([]store.SeedMean, error) {
	if study != "s1" {
		return nil, fmt.Errorf("asked for %q", study)
	}
	return f.means, f.err
}

func seedMeans() []store.SeedMean {
	return []store.SeedMean{
		{Activation: "relu", Seed: 1, N: 1, Mean: 0.95}, {Activation: "relu", Seed: 2, N: 1, Mean: 0.90}, {Activation: "relu", Seed: 3, N: 1, Mean: 0.93},
		{Activation: "tanh", Seed: 1, N: 1, Mean: 0.90}, {Activation: "tanh", Seed: 2, N: 1, Mean: 0.86}, {Activation: "tanh", Seed: 3, N: 1, Mean: 0.87},
	}
}

func runWith(t *testing.T, st *fakeStore, study, output string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Study: study, Output: output,
		Studies: func(context.Context) (SeedMeansReader, error) { return st, nil }}
	err := runCompare(context.Background(), opts)
	return out.String(), err
}

func TestRunCompareGolden(t *testing.T) {
	for _, format := range cmdutil.OutputFormats {
		t.Run(format, func(t *testing.T) {
			got, err := runWith(t, &fakeStore{direction: "maximize", means: seedMeans()}, "s1", format)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "compare."+format)
			clitest.Golden(t, golden, got, *update)
		})
	}
}

// TestRunCompareDirection checks that the study's direction decides who
// is better.
func TestRunCompareDirection(t *testing.T) {
	got, err := runWith(t, &fakeStore{direction: "minimize", means: seedMeans()}, "s1", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "tanh better") || strings.Contains(got, "relu better") {
		t.Fatalf("minimising, got\n%s", got)
	}
}

func TestRunCompareErrors(t *testing.T) {
	if _, err := runWith(t, &fakeStore{}, "nope", "table"); !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `study "nope"`) {
		t.Fatalf("unknown study: %v", err)
	}
	broken := errors.New("view missing")
	out, err := runWith(t, &fakeStore{err: broken}, "s1", "table")
	if !errors.Is(err, broken) || err.Error() != "seed means of study s1: view missing" || out != "" {
		t.Fatalf("store error: %v, printed %q", err, out)
	}
}
