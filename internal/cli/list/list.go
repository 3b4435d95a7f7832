// Package list implements `tunectl list`.
package list

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// StudyLister is what list reads from the store.
type StudyLister interface {
	ListStudies(ctx context.Context) ([]store.StudySummary, error)
}

// Options are list's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (StudyLister, error)
	Output  string
}

// NewCmdList returns the list command.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (StudyLister, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List studies with their trial counts and best objective",
		Example: "  tunectl list\n  tunectl list --output json",
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, json, csv")
	return cmd
}

func runList(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	studies, err := st.ListStudies(ctx)
	if err != nil {
		return fmt.Errorf("list studies: %w", err)
	}
	return Table(studies).Render(opts.IO.Out, opts.Output)
}

// Table renders studies.
func Table(studies []store.StudySummary) cmdutil.Table {
	t := cmdutil.Table{
		Header:  []string{"NAME", "STATUS", "TRIALS", "COMPLETE", "ACTIVE", "FAILED", "METRIC", "BEST", "CREATED"},
		Records: studies,
	}
	if studies == nil {
		t.Records = []store.StudySummary{}
	}
	for _, s := range studies {
		t.Rows = append(t.Rows, []string{
			s.Name, string(s.Status), strconv.Itoa(s.Trials), strconv.Itoa(s.Complete), strconv.Itoa(s.Running), strconv.Itoa(s.Failed),
			s.Metric, cmdutil.FormatFloat(s.Best), s.CreatedAt.Local().Format("2006-01-02 15:04:05"),
		})
	}
	return t
}
