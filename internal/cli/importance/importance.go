// Package importance implements `tunectl importance`: how much each
// parameter explains a study's objective, by fANOVA over its complete
// trials (internal/importance).
package importance

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/analyst"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	fanova "github.com/relutune/relutune/internal/importance"
	"github.com/relutune/relutune/internal/studyview"
)

// Options are importance's inputs.
type Options struct {
	IO     *cmdutil.IOStreams
	Source func(context.Context) (studyview.Source, func(), error)
	Study  string
	Output string
	Trees  int
	Seed   uint64
}

// NewCmdImportance returns the importance command.
func NewCmdImportance(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	var readerURL string
	opts := &Options{IO: f.IO, Source: func(ctx context.Context) (studyview.Source, func(), error) {
		r, err := analyst.Open(ctx, f, readerURL)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Close, nil
	}}
	cmd := &cobra.Command{
		Use:   "importance <study>",
		Short: "Rank a study's parameters by how much of the objective they explain (fANOVA)",
		Long: `Fit a random forest to the study's complete trials and decompose its
prediction by functional ANOVA (fANOVA): each parameter's importance is the
share of the objective's variance over the search space that the parameter
explains on its own, normalised to sum to 1. STD is its spread over the
forest's trees; ACTIVE counts the trials that set the parameter (conditional
parameters are set only when their condition holds).

Reads as the read-only relutune_reader role.`,
		Example: `  tunectl importance quickstart
  tunectl importance quickstart --output json`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if opts.Trees < 1 || opts.Trees > fanova.MaxTrees {
				return cmdutil.Usagef("--trees: %d out of range (allowed: 1 to %d)", opts.Trees, fanova.MaxTrees)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runImportance(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "table, json or csv")
	cmd.Flags().IntVar(&opts.Trees, "trees", 64, "trees in the forest")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 0, "seed of the forest's bootstrap samples")
	analyst.AddReaderFlag(cmd, &readerURL)
	return cmd
}

func runImportance(ctx context.Context, opts *Options) error {
	src, done, err := opts.Source(ctx)
	if err != nil {
		return err
	}
	defer done()
	imps, err := Compute(ctx, src, opts.Study, fanova.Options{Trees: opts.Trees, Seed: opts.Seed})
	if err != nil {
		return err
	}
	t := cmdutil.Table{Header: []string{"PARAM", "IMPORTANCE", "STD", "ACTIVE"}, Records: imps}
	for _, i := range imps {
		t.Rows = append(t.Rows, []string{i.Param, strconv.FormatFloat(i.Importance, 'f', 4, 64), strconv.FormatFloat(i.Std, 'f', 4, 64), strconv.Itoa(i.Active)})
	}
	return t.Render(opts.IO.Out, opts.Output)
}

// Compute reads a study's complete trials from src and returns the
// importance of each parameter of its space.
func Compute(ctx context.Context, src studyview.Source, study string, o fanova.Options) ([]fanova.Importance, error) {
	ov, err := src.StudyOverview(ctx, study)
	if err != nil {
		return nil, err
	}
	trials, err := src.TrialOverviews(ctx, study, -1)
	if err != nil {
		return nil, err
	}
	space, ts, err := studyview.ImportanceInput(ov, trials)
	if err != nil {
		return nil, err
	}
	imps, err := fanova.Evaluate(space, ts, o)
	if err != nil {
		return nil, fmt.Errorf("study %s (%d complete trials): %w", study, len(ts), err)
	}
	return imps, nil
}
