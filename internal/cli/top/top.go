// Package top implements `tunectl top`.
package top

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
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
	ParetoFront(ctx context.Context, study string) ([]store.ParetoTrial, error)
}

// Options are top's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (RankingReader, error)
	Study   string
	Limit   int
	Output  string
	// Pareto shows the Pareto front of a multi-objective study (the
	// pareto_front view) instead of the ranking.
	Pareto bool
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
		Short: "Show a study's best completed trials (the trial_ranking view), or with --pareto its Pareto front",
		Example: `  tunectl top relu-variants-mnist
  tunectl top relu-variants-mnist -n 3 --output json
  tunectl top relu-variants-mnist --output csv > ranking.csv
  tunectl top --pareto accuracy-vs-speed`,
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
	cmd.Flags().BoolVar(&opts.Pareto, "pareto", false, "show the Pareto front of a multi-objective study (trials no other trial dominates), best first by its first objective")
	return cmd
}

func runTop(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return err
	}
	if opts.Pareto {
		return runPareto(ctx, opts, st, study)
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

// runPareto prints the study's Pareto front, best first by its first
// objective.
func runPareto(ctx context.Context, opts *Options, st RankingReader, study store.Study) error {
	var sp struct {
		Objectives []struct {
			Metric string `json:"metric"`
		} `json:"objectives"`
	}
	if len(study.Spec) > 0 {
		if err := json.Unmarshal(study.Spec, &sp); err != nil {
			return fmt.Errorf("study %s: stored spec: %w", opts.Study, err)
		}
		if len(sp.Objectives) == 0 {
			return fmt.Errorf("study %s has a single objective (%s): --pareto needs a study whose spec lists objectives", opts.Study, study.Metric)
		}
	}
	front, err := st.ParetoFront(ctx, opts.Study)
	if err != nil {
		return fmt.Errorf("pareto front of study %s: %w", opts.Study, err)
	}
	SortFront(front)
	if opts.Limit > 0 && len(front) > opts.Limit {
		front = front[:opts.Limit]
	}
	if len(front) == 0 && opts.Output == "table" {
		fmt.Fprintf(opts.IO.Out, "study %s has no completed trials with every objective value yet\n", opts.Study)
		return nil
	}
	return ParetoTable(front).Render(opts.IO.Out, opts.Output)
}

// SortFront orders front best first by its first objective, in that
// objective's direction, then by trial number.
func SortFront(front []store.ParetoTrial) {
	sort.SliceStable(front, func(i, j int) bool {
		a, b := front[i], front[j]
		if len(a.Values) > 0 && len(b.Values) > 0 && a.Values[0] != nil && b.Values[0] != nil && *a.Values[0] != *b.Values[0] {
			if len(a.Directions) > 0 && a.Directions[0] == "maximize" {
				return *a.Values[0] > *b.Values[0]
			}
			return *a.Values[0] < *b.Values[0]
		}
		return a.Trial < b.Trial
	})
}

// ParetoTable renders a Pareto front: one column per objective, headed by
// its metric and direction.
func ParetoTable(front []store.ParetoTrial) cmdutil.Table {
	header := []string{"TRIAL"}
	if len(front) > 0 {
		for i, m := range front[0].Metrics {
			dir := ""
			if i < len(front[0].Directions) {
				dir = map[string]string{"maximize": " (MAX)", "minimize": " (MIN)"}[front[0].Directions[i]]
			}
			header = append(header, strings.ToUpper(m)+dir)
		}
	}
	t := cmdutil.Table{
		Header:  append(header, "DOMINATES", "ACTIVATION", "SEED", "PARAMS"),
		Records: front,
	}
	if front == nil {
		t.Records = []store.ParetoTrial{}
	}
	for _, r := range front {
		act := "-"
		if r.Activation != nil {
			act = *r.Activation
		}
		row := []string{strconv.Itoa(r.Trial)}
		for _, v := range r.Values {
			row = append(row, formatValue(v))
		}
		row = append(row, strconv.Itoa(r.Dominates), act, fmt.Sprint(r.Seed), string(r.Params))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// formatValue prints an objective value with six significant digits, so
// accuracies, seconds and parameter counts all read naturally.
func formatValue(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'g', 6, 64)
}
