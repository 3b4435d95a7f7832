// Package status implements `tunectl status`.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/relutune/relutune/search"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/workflows"
)

// StudyReader is what status reads from the store.
type StudyReader interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	StatusCounts(ctx context.Context, studyID int64) (map[string]int, error)
	ActivationSummary(ctx context.Context, study string) ([]store.ActivationStats, error)
	DeadLetterCount(ctx context.Context, study string) (int, error)
	Trials(ctx context.Context, studyID int64) ([]store.Trial, error)
	PendingMetrics(ctx context.Context, studyID int64) (rows, trials int, err error)
}

// LineageReader reads a pbt study's exploit steps; a StudyReader that
// has it gets them shown.
type LineageReader interface {
	Lineage(ctx context.Context, study string) ([]store.LineageStep, error)
}

// Options are status's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (StudyReader, error)
	// Temporal reads a running study's live state; when it fails the
	// report goes without it.
	Temporal func(context.Context) (cmdutil.WorkflowQuerier, error)
	Study    string
	Output   string
}

// Report is what status prints.
type Report struct {
	Study       store.Study             `json:"study"`
	Counts      map[string]int          `json:"counts"`
	Live        *workflows.StudyStatus  `json:"live,omitempty"`
	Activations []store.ActivationStats `json:"activations"`
	Failed      []store.Trial           `json:"failed_trials,omitempty"`
	// DeadLetters counts the study's metrics messages that the sink could
	// never store (see the dead_letters table).
	DeadLetters int `json:"dead_letters"`
	// PendingMetrics counts metric rows that trials reported but the
	// metrics sink has not stored yet.
	PendingMetrics *PendingMetrics `json:"pending_metrics,omitempty"`
	// Lineage lists a pbt study's exploit steps: which trial continued
	// from which trial's weights, when, with which parameters.
	Lineage []store.LineageStep `json:"lineage,omitempty"`
}

// PendingMetrics is how many metric rows have not landed, over how many trials.
type PendingMetrics struct {
	Rows   int `json:"rows"`
	Trials int `json:"trials"`
}

// NewCmdStatus returns the status command.
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{
		IO: f.IO,
		Studies: func(ctx context.Context) (StudyReader, error) {
			st, err := f.Store(ctx)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		Temporal: func(ctx context.Context) (cmdutil.WorkflowQuerier, error) {
			tc, err := f.Temporal(ctx)
			if err != nil {
				return nil, err
			}
			return tc, nil
		},
	}
	cmd := &cobra.Command{
		Use:   "status <study>",
		Short: "Show a study's progress, live workflow state and per-activation summary",
		Example: `  tunectl status relu-variants-mnist
  tunectl status relu-variants-mnist --output json`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if opts.Output != "table" && opts.Output != "json" {
				return cmdutil.Usagef("--output: %q is not a format (allowed: table, json)", opts.Output)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table, json")
	return cmd
}

func runStatus(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return err
	}
	fail := func(what string, err error) error {
		return fmt.Errorf("status of study %s: %s: %w", study.Name, what, err)
	}
	rep := Report{Study: study}
	if rep.Counts, err = st.StatusCounts(ctx, study.ID); err != nil {
		return fail("trial counts", err)
	}
	if rep.Activations, err = st.ActivationSummary(ctx, study.Name); err != nil {
		return fail("activation summary", err)
	}
	if rep.DeadLetters, err = st.DeadLetterCount(ctx, study.Name); err != nil {
		return fail("dead letters", err)
	}
	trials, err := st.Trials(ctx, study.ID)
	if err != nil {
		return fail("trials", err)
	}
	for _, t := range trials {
		if t.Status == search.Failed {
			rep.Failed = append(rep.Failed, t)
		}
	}
	if rows, n, err := st.PendingMetrics(ctx, study.ID); err != nil {
		return fail("pending metrics", err)
	} else if rows > 0 {
		rep.PendingMetrics = &PendingMetrics{Rows: rows, Trials: n}
	}
	if lr, ok := st.(LineageReader); ok {
		if rep.Lineage, err = lr.Lineage(ctx, study.Name); err != nil {
			return fail("lineage", err)
		}
	}
	if study.Status == search.StudyRunning {
		if tc, err := opts.Temporal(ctx); err == nil {
			if live, ok, err := cmdutil.QueryStudy(ctx, tc, study.Name); err == nil && ok {
				rep.Live = &live
			}
		}
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	Print(opts.IO, rep)
	return nil
}

// Print writes the human-readable report.
func Print(io *cmdutil.IOStreams, r Report) {
	w := io.Out
	fmt.Fprintf(w, "study %s: %s (metric %s, %s)\n", r.Study.Name, r.Study.Status, r.Study.Metric, r.Study.Direction)
	keys := make([]string, 0, len(r.Counts))
	total := 0
	for k, n := range r.Counts {
		keys = append(keys, k)
		total += n
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Counts[k]))
	}
	fmt.Fprintf(w, "trials: %d (%s)\n", total, strings.Join(parts, ", "))
	if r.DeadLetters > 0 {
		fmt.Fprintf(w, "dead letters: %d (metrics messages the sink could not store; reasons in the dead_letters table)\n", r.DeadLetters)
	} else {
		fmt.Fprintln(w, "dead letters: 0")
	}
	if p := r.PendingMetrics; p != nil && p.Rows > 0 {
		fmt.Fprintf(w, "metrics: %d rows of %d trials not stored yet (the metrics sink is behind)\n", p.Rows, p.Trials)
	}
	if r.Live != nil {
		fmt.Fprintf(w, "workflow: %s, budget %d, suggested %d, running %v, queued %d\n",
			r.Live.State, r.Live.Budget, r.Live.Suggested, r.Live.Running, r.Live.Queued)
		if b := r.Live.Best; b != nil && b.Objective != nil {
			fmt.Fprintf(w, "best so far: trial %d (%s) %.4f\n", b.Number, b.Activation, *b.Objective)
		}
	}
	if len(r.Activations) > 0 {
		fmt.Fprintln(w)
		t := cmdutil.Table{Header: []string{"ACTIVATION", "N", "MEAN", "STDDEV", "CI95", "BEST", "DIVERGED", "PRUNED"}}
		for _, a := range r.Activations {
			name := "-"
			if a.Activation != nil {
				name = *a.Activation
			}
			ci := "-"
			if a.CI95Low != nil && a.CI95High != nil {
				ci = fmt.Sprintf("[%.4f, %.4f]", *a.CI95Low, *a.CI95High)
			}
			t.Rows = append(t.Rows, []string{name, strconv.Itoa(a.N), cmdutil.FormatFloat(a.Mean), cmdutil.FormatFloat(a.Stddev),
				ci, cmdutil.FormatFloat(a.Best), strconv.Itoa(a.Diverged), strconv.Itoa(a.Pruned)})
		}
		_ = t.Render(w, "table")
	}
	if len(r.Lineage) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "pbt lineage (trial continued from the source's weights):")
		t := cmdutil.Table{Header: []string{"GEN", "EPOCH", "TRIAL", "SOURCE", "SOURCE_VALUE", "CHANGED"}}
		for _, l := range r.Lineage {
			t.Rows = append(t.Rows, []string{strconv.Itoa(l.Generation), strconv.Itoa(l.Epoch), strconv.Itoa(l.Target),
				strconv.Itoa(l.Source), cmdutil.FormatFloat(l.SourceValue), paramChanges(l.OldParams, l.NewParams)})
		}
		_ = t.Render(w, "table")
	}
	for _, f := range r.Failed {
		msg := ""
		if f.Error != nil {
			msg = *f.Error
		}
		fmt.Fprintf(w, "trial %d failed: %s\n", f.Number, msg)
	}
}

// paramChanges lists the parameters whose values differ between two JSON
// objects, as "name old->new", sorted by name.
func paramChanges(oldJSON, newJSON []byte) string {
	var o, n map[string]any
	if json.Unmarshal(oldJSON, &o) != nil || json.Unmarshal(newJSON, &n) != nil {
		return "-"
	}
	names := map[string]bool{}
	for k := range o {
		names[k] = true
	}
	for k := range n {
		names[k] = true
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		a, b := fmtParam(o[k]), fmtParam(n[k])
		if a != b {
			parts = append(parts, fmt.Sprintf("%s %s->%s", k, a, b))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func fmtParam(v any) string {
	switch x := v.(type) {
	case nil:
		return "-"
	case float64:
		return strconv.FormatFloat(x, 'g', 4, 64)
	}
	return fmt.Sprint(v)
}
