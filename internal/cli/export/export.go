// Package export implements `tunectl export`: a study's trials or per-epoch
// metrics as JSON or CSV, for notebooks and spreadsheets.
package export

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
)

// StudyReader is what export reads from the store.
type StudyReader interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	Trials(ctx context.Context, studyID int64) ([]store.Trial, error)
	TrialMetrics(ctx context.Context, studyID int64) ([]store.MetricExport, error)
}

// Options are export's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (StudyReader, error)
	Study   string
	Metrics bool
	Output  string
}

// NewCmdExport returns the export command.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (StudyReader, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}}
	cmd := &cobra.Command{
		Use:   "export <study>",
		Short: "Export a study's trials (or, with --metrics, every epoch's metrics) as JSON or CSV",
		Example: `  tunectl export quickstart > trials.json
  tunectl export quickstart --metrics --output csv > epochs.csv`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if opts.Output != "json" && opts.Output != "csv" {
				return cmdutil.Usagef("--output: %q is not a format (allowed: json, csv)", opts.Output)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runExport(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Metrics, "metrics", false, "export per-epoch metrics instead of trials")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "json", "output format: json, csv")
	return cmd
}

func runExport(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return err
	}
	if opts.Metrics {
		ms, err := st.TrialMetrics(ctx, study.ID)
		if err != nil {
			return fmt.Errorf("metrics of study %s: %w", opts.Study, err)
		}
		return MetricsTable(ms).Render(opts.IO.Out, opts.Output)
	}
	ts, err := st.Trials(ctx, study.ID)
	if err != nil {
		return fmt.Errorf("trials of study %s: %w", opts.Study, err)
	}
	return TrialsTable(ts).Render(opts.IO.Out, opts.Output)
}

type trialRecord struct {
	store.Trial
	Params rawJSON `json:"params"`
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// TrialsTable renders trials.
func TrialsTable(ts []store.Trial) cmdutil.Table {
	t := cmdutil.Table{Header: []string{"number", "status", "objective", "epochs_done", "attempt", "replicate", "seed", "config_hash", "params", "error"}}
	recs := make([]trialRecord, 0, len(ts))
	for _, tr := range ts {
		errText := ""
		if tr.Error != nil {
			errText = *tr.Error
		}
		obj := ""
		if tr.Objective != nil {
			obj = fmt.Sprint(*tr.Objective)
		}
		t.Rows = append(t.Rows, []string{strconv.Itoa(tr.Number), string(tr.Status), obj, strconv.Itoa(tr.EpochsDone), strconv.Itoa(tr.Attempt),
			strconv.Itoa(tr.Replicate), fmt.Sprint(tr.Seed), tr.ConfigHash, string(tr.Params), errText})
		recs = append(recs, trialRecord{Trial: tr, Params: rawJSON(tr.Params)})
	}
	t.Records = recs
	return t
}

// MetricsTable renders per-epoch metrics.
func MetricsTable(ms []store.MetricExport) cmdutil.Table {
	header := []string{"trial", "epoch", "attempt"}
	for _, c := range events.EpochColumns {
		header = append(header, c.Name)
	}
	t := cmdutil.Table{Header: append(header, "layers")}
	if ms == nil {
		ms = []store.MetricExport{}
	}
	t.Records = ms
	f := func(p *float64) string {
		if p == nil {
			return ""
		}
		return fmt.Sprint(*p)
	}
	for _, m := range ms {
		row := []string{strconv.Itoa(m.Trial), strconv.Itoa(m.Epoch), strconv.Itoa(m.Attempt)}
		for _, c := range events.EpochColumns {
			row = append(row, f(*c.Of(&m.EpochValues)))
		}
		t.Rows = append(t.Rows, append(row, string(m.Layers)))
	}
	return t
}
