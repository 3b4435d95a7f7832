package sql

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/cli/clitest"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeReader streams cols and rows, then returns err; it honours
// store.ErrStopRows as QueryAsReader does.
type fakeReader struct {
	cols []string
	rows [][]any
	err  error // after the rows
	got  store.ReaderQuery
	sent int
}

func (f *fakeReader) Query(_ context.Context, q store.ReaderQuery, sink store.RowSink) error {
	f.got = q
	if err := sink.Columns(f.cols); err != nil {
		return err
	}
	for _, r := range f.rows {
		f.sent++
		if err := sink.Row(r); errors.Is(err, store.ErrStopRows) {
			return nil
		} else if err != nil {
			return err
		}
	}
	return f.err
}

func result() *fakeReader {
	return &fakeReader{
		cols: []string{"activation", "n", "mean", "ci95_low"},
		rows: [][]any{{"relu", int64(3), 0.9267, 0.8641}, {"tanh", int64(3), 0.8767, nil}, {"elu", int64(1), 0.5, nil}},
	}
}

func runWith(t *testing.T, rd ResultReader, output string, limit int) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts := &Options{
		IO:      &cmdutil.IOStreams{Out: &out, ErrOut: &errOut},
		Reader:  func(context.Context) (ResultReader, error) { return rd, nil },
		Query:   "SELECT activation, n, mean, ci95_low FROM activation_summary",
		Output:  output,
		Timeout: 7 * time.Second,
		Limit:   limit,
	}
	err := runSQL(context.Background(), opts)
	return out.String(), errOut.String(), err
}

func TestRunSQLGolden(t *testing.T) {
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			rd := result()
			got, stderr, err := runWith(t, rd, format, 0)
			if err != nil || stderr != "" {
				t.Fatalf("%v %q", err, stderr)
			}
			if rd.got.SQL != "SELECT activation, n, mean, ci95_low FROM activation_summary" || rd.got.Timeout != 7*time.Second {
				t.Fatalf("ran %+v", rd.got)
			}
			golden := filepath.Join("testdata", "result."+format)
			clitest.Golden(t, golden, got, *update)
		})
	}
}

func TestRunSQLLimit(t *testing.T) {
	rd := result()
	out, stderr, err := runWith(t, rd, "csv", 2)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "\n") != 3 || strings.Contains(out, "\nelu,") {
		t.Fatalf("printed\n%s\nwant the header and 2 rows", out)
	}
	if stderr != "tunectl: output truncated to the first 2 rows (--limit)\n" {
		t.Fatalf("stderr %q", stderr)
	}
	if rd.sent != 3 {
		t.Fatalf("the reader sent %d rows; the third should have stopped it", rd.sent)
	}
}

func TestRunSQLErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"login", fmt.Errorf("%w: password authentication failed", store.ErrReaderConnect), "; tunectl sql logs in with --reader-url or RELUTUNE_READER_URL"},
		{"timeout", fmt.Errorf("%w: canceling statement due to statement timeout", store.ErrQuery), "; --timeout sets the limit"},
		{"refused", fmt.Errorf("%w: permission denied for table trials", store.ErrQuery), "permission denied for table trials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := result()
			rd.err = tc.err
			out, _, err := runWith(t, rd, "json", 0)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want it to wrap %v and contain %q", err, tc.err, tc.want)
			}
			// Rows streamed before the error stay, and the array is left
			// open so that no parser takes them for the whole result.
			if !strings.Contains(out, `"activation":"elu"`) || strings.HasSuffix(strings.TrimSpace(out), "]") {
				t.Fatalf("printed %q", out)
			}
		})
	}
	bad := cmdutil.Usagef("--reader-url: no user")
	opts := &Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}}, Output: "csv",
		Reader: func(context.Context) (ResultReader, error) { return nil, bad }}
	if err := runSQL(context.Background(), opts); !errors.Is(err, bad) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
		t.Fatalf("reader URL error: %v", err)
	}
}
