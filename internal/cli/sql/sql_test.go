package sql

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// parse runs the command's flag handling with fake IO and returns the
// options it would run with.
func parse(t *testing.T, stdin string, args ...string) (*Options, error) {
	t.Helper()
	io := &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	var got *Options
	cmd := NewCmdSQL(&cmdutil.Factory{IO: io}, func(_ context.Context, o *Options) error {
		got = o
		return nil
	})
	cmd.SetArgs(args)
	cmd.SetOut(io.Out)
	cmd.SetErr(io.ErrOut)
	err := cmd.Execute()
	return got, err
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		stdin   string
		output  string
		limit   int
		timeout time.Duration
		reader  string
		query   string
	}{
		{args: []string{"SELECT 1"}, output: "table", limit: DefaultTableLimit, timeout: 30 * time.Second, query: "SELECT 1"},
		{args: []string{"-o", "csv", "SELECT 1"}, output: "csv", limit: 0, timeout: 30 * time.Second, query: "SELECT 1"},
		{args: []string{"-o", "jsonl", "--limit", "5", "--timeout", "1s", "SELECT 1"}, output: "jsonl", limit: 5, timeout: time.Second, query: "SELECT 1"},
		{args: []string{"--limit", "20", "--reader-url", "postgres://r@h/d", "SELECT 1"}, output: "table", limit: 20, timeout: 30 * time.Second, reader: "postgres://r@h/d", query: "SELECT 1"},
		{args: []string{"-o", "json", "-"}, stdin: "SELECT * FROM trial_ranking\n", output: "json", timeout: 30 * time.Second, query: "SELECT * FROM trial_ranking\n"},
	} {
		o, err := parse(t, tc.stdin, tc.args...)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if o.Output != tc.output || o.Limit != tc.limit || o.Timeout != tc.timeout || o.ReaderURL != tc.reader || o.Query != tc.query {
			t.Errorf("%q: got output=%s limit=%d timeout=%v reader=%q query=%q", tc.args, o.Output, o.Limit, o.Timeout, o.ReaderURL, o.Query)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"-o", "yaml", "SELECT 1"}, "", `--output: "yaml" is not a format (allowed: table, csv, json, jsonl)`},
		{[]string{"--timeout", "2h", "SELECT 1"}, "", "--timeout: 2h0m0s is out of range (allowed: 1ms to 1h0m0s)"},
		{[]string{"--timeout", "0s", "SELECT 1"}, "", "--timeout: 0s is out of range"},
		{[]string{"--limit", "-1", "SELECT 1"}, "", "--limit: -1 is negative"},
		{[]string{"--limit", "0", "SELECT 1"}, "", "--limit: 0 is not allowed for a table"},
		{[]string{"--limit", "2000000", "SELECT 1"}, "", "--limit: 2000000 is not allowed for a table"},
		{[]string{"  "}, "", "the query is empty"},
		{[]string{"-"}, "", "the query is empty"},
		{[]string{"-"}, strings.Repeat("x", maxQueryBytes+1), "over 1048576 bytes"},
		{[]string{}, "", "takes 1 argument(s), got 0"},
	} {
		_, err := parse(t, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || cmdutil.ExitCode(err) != cmdutil.ExitUsage {
			t.Errorf("%.40q: %v; want a usage error with %q", tc.args, err, tc.want)
		}
	}
}

// feed passes a result through a writer as QueryAsReader would.
func feed(t *testing.T, format string, limit int, cols []string, rows ...[]any) (string, *writer) {
	t.Helper()
	var out bytes.Buffer
	w := newWriter(&out, format, limit)
	if err := w.Columns(cols); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		err := w.Row(r)
		if err == store.ErrStopRows {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	return out.String(), w
}

func TestWriterFormats(t *testing.T) {
	cols := []string{"activation", "n", "?column?", "?column?"}
	rows := [][]any{
		{"relu", int64(3), 0.5, nil},
		{"tanh, \"scaled\"", int64(2), math.NaN(), []byte("x")},
	}
	for _, tc := range []struct{ format, want string }{
		{"csv", "activation,n,?column?,?column?\nrelu,3,0.5,\n\"tanh, \"\"scaled\"\"\",2,NaN,x\n"},
		{"jsonl", `{"activation":"relu","n":3,"?column?":0.5,"?column?_2":null}` + "\n" +
			`{"activation":"tanh, \"scaled\"","n":2,"?column?":"NaN","?column?_2":"x"}` + "\n"},
		{"json", "[\n  " + `{"activation":"relu","n":3,"?column?":0.5,"?column?_2":null}` + ",\n  " +
			`{"activation":"tanh, \"scaled\"","n":2,"?column?":"NaN","?column?_2":"x"}` + "\n]\n"},
		{"table", "activation      n  ?column?  ?column?\nrelu            3  0.5       \ntanh, \"scaled\"  2  NaN       x\n"},
	} {
		got, w := feed(t, tc.format, 0, cols, rows...)
		if got != tc.want || w.truncated {
			t.Errorf("%s: got\n%q\nwant\n%q (truncated %v)", tc.format, got, tc.want, w.truncated)
		}
	}
	if got, _ := feed(t, "json", 0, []string{"a"}); got != "[]\n" {
		t.Errorf("json without rows: %q", got)
	}
}

func TestWriterLimit(t *testing.T) {
	rows := [][]any{{int64(1)}, {int64(2)}, {int64(3)}}
	got, w := feed(t, "csv", 2, []string{"g"}, rows...)
	if got != "g\n1\n2\n" || !w.truncated {
		t.Errorf("limit 2 of 3: %q truncated=%v", got, w.truncated)
	}
	got, w = feed(t, "csv", 3, []string{"g"}, rows...)
	if got != "g\n1\n2\n3\n" || w.truncated {
		t.Errorf("limit 3 of 3: %q truncated=%v", got, w.truncated)
	}
}

// TestWriterStreams checks that rows reach the output while the query runs:
// once flushEvery has passed, a row is written out before the next arrives.
func TestWriterStreams(t *testing.T) {
	var out bytes.Buffer
	w := newWriter(&out, "jsonl", 0)
	clock := time.Unix(0, 0)
	w.now = func() time.Time { return clock }
	if err := w.Columns([]string{"g"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Row([]any{int64(1)}); err != nil || out.Len() != 0 {
		t.Fatalf("first row, no time passed: %q %v; want it buffered", out.String(), err)
	}
	clock = clock.Add(flushEvery)
	if err := w.Row([]any{int64(2)}); err != nil || out.String() != "{\"g\":1}\n{\"g\":2}\n" {
		t.Fatalf("after %v: %q %v; want both rows written", flushEvery, out.String(), err)
	}
}
