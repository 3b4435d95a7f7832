package top

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
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
