// Package top implements `tunectl top`.
package top

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// RankingReader is what top reads from the store.
type RankingReader interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	Top(ctx context.Context, study string, limit int) ([]store.RankedTrial, error)
}

// Options are top's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (RankingReader, error)
	Study   string
	Limit   int
	Output  string
}

// NewCmdTop returns the top command.
func NewCmdTop(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (RankingReader, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}}
	cmd := &cobra.Command{
		Use:   "top <study>",
		Short: "Show a study's best completed trials (the trial_ranking view)",
		Example: `  tunectl top relu-variants-mnist
  tunectl top relu-variants-mnist -n 3 --output json
  tunectl top relu-variants-mnist --output csv > ranking.csv`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if opts.Limit < 0 {
				return cmdutil.Usagef("--limit: %d must be >= 0 (0 shows all)", opts.Limit)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTop(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 10, "how many trials to show (0 for all)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, json, csv")
	return cmd
}

func runTop(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	if _, err := st.StudyByName(ctx, opts.Study); err != nil {
		return err
	}
	trials, err := st.Top(ctx, opts.Study, opts.Limit)
	if err != nil {
		return fmt.Errorf("ranking of study %s: %w", opts.Study, err)
	}
	if len(trials) == 0 && opts.Output == "table" {
		fmt.Fprintf(opts.IO.Out, "study %s has no completed trials yet\n", opts.Study)
		return nil
	}
	return Table(trials).Render(opts.IO.Out, opts.Output)
}

// Table renders ranked trials.
func Table(trials []store.RankedTrial) cmdutil.Table {
	metric := "OBJECTIVE"
	if len(trials) > 0 {
		metric = strings.ToUpper(trials[0].Metric)
	}
	t := cmdutil.Table{
		Header:  []string{"RANK", "TRIAL", metric, "TEST_ACC", "ACTIVATION", "EPOCHS", "SEED", "PARAMS"},
		Records: trials,
	}
	if trials == nil {
		t.Records = []store.RankedTrial{}
	}
	for _, r := range trials {
		act := "-"
		if r.Activation != nil {
			act = *r.Activation
		}
		obj := r.Objective
		t.Rows = append(t.Rows, []string{
			strconv.Itoa(r.Rank), strconv.Itoa(r.Trial), cmdutil.FormatFloat(&obj), cmdutil.FormatFloat(r.TestAccuracy), act,
			strconv.Itoa(r.EpochsDone), fmt.Sprint(r.Seed), string(r.Params),
		})
	}
	return t
}
