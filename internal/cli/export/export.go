// Package export implements `tunectl export`: a study's trials or per-epoch
// metrics as JSON or CSV, for notebooks and spreadsheets, and with --model
// a kept trial's final weights from the checkpoint bucket.
package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

// ModelReader reads kept models (a *ckptstore.Store).
type ModelReader interface {
	GetModel(ctx context.Context, study string, trial int) ([]byte, error)
}

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

	// Model exports trial Trial's kept final weights to File ("-" for
	// standard output) from Bucket, read through Models.
	Model  bool
	Trial  int
	File   string
	Bucket string
	Models func(ctx context.Context, bucket string) (ModelReader, error)
}

// NewCmdExport returns the export command.
func NewCmdExport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (StudyReader, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}, Models: func(ctx context.Context, bucket string) (ModelReader, error) {
		js, err := f.JetStream()
		if err != nil {
			return nil, err
		}
		return ckptstore.New(js, ckptstore.Config{Bucket: bucket})
	}}
	cmd := &cobra.Command{
		Use:   "export <study> | export --model <study> <trial>",
		Short: "Export a study's trials (or, with --metrics, every epoch's metrics) as JSON or CSV, or a kept trial's final weights",
		Example: `  tunectl export quickstart > trials.json
  tunectl export quickstart --metrics --output csv > epochs.csv
  tunectl export --model quickstart 7 --file best.ckpt`,
		Args: func(cmd *cobra.Command, args []string) error {
			if opts.Model {
				return cmdutil.ExactArgs(2)(cmd, args)
			}
			return cmdutil.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if opts.Model {
				n, err := strconv.Atoi(args[1])
				if err != nil || n < 0 {
					return cmdutil.Usagef("trial: %q must be a trial number >= 0", args[1])
				}
				if opts.Metrics {
					return cmdutil.Usagef("--model and --metrics: choose one")
				}
				opts.Trial = n
				if opts.File == "" {
					opts.File = fmt.Sprintf("%s-trial-%d.ckpt", opts.Study, n)
				}
				if err := (ckptstore.Config{Bucket: opts.Bucket}).Validate(); err != nil {
					return cmdutil.Usagef("--checkpoint-bucket: %v", err)
				}
				if runF != nil {
					return runF(cmd.Context(), opts)
				}
				return runExportModel(cmd.Context(), opts)
			}
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
	cmd.Flags().BoolVar(&opts.Model, "model", false, "export the final weights (a relutune checkpoint) of a kept trial: <study> <trial>; see keep_models in the spec")
	cmd.Flags().StringVar(&opts.File, "file", "", "with --model: file to write, - for standard output (default <study>-trial-<n>.ckpt)")
	cmd.Flags().StringVar(&opts.Bucket, "checkpoint-bucket", ckptstore.DefaultBucket, "with --model: the workers' checkpoint bucket")
	return cmd
}

// runExportModel downloads a kept model; the file appears whole or not at
// all.
func runExportModel(ctx context.Context, opts *Options) error {
	mr, err := opts.Models(ctx, opts.Bucket)
	if err != nil {
		return err
	}
	data, err := mr.GetModel(ctx, opts.Study, opts.Trial)
	if errors.Is(err, ckptstore.ErrNotFound) {
		return fmt.Errorf("study %s trial %d has no kept model in bucket %s: models are kept for the best keep_models complete trials of a study whose spec sets keep_models, trained by workers with --checkpoint-backend objstore", opts.Study, opts.Trial, opts.Bucket)
	}
	if err != nil {
		return fmt.Errorf("model of study %s trial %d: %w", opts.Study, opts.Trial, err)
	}
	if opts.File == "-" {
		_, err := opts.IO.Out.Write(data)
		return err
	}
	if err := writeFileAtomic(opts.File, data); err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s (%d bytes): final weights of study %s trial %d\n", opts.File, len(data), opts.Study, opts.Trial)
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
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
	var sp spec.Spec
	if len(study.Spec) > 0 {
		if err := json.Unmarshal(study.Spec, &sp); err != nil {
			return fmt.Errorf("study %s: stored spec: %w", opts.Study, err)
		}
	}
	return TrialsTable(ts, sp.Directions()...).Render(opts.IO.Out, opts.Output)
}

type trialRecord struct {
	store.Trial
	Params rawJSON `json:"params"`
	// ParetoRank is the trial's non-domination rank among the study's
	// complete trials with every objective value (1: on the Pareto
	// front); multi-objective studies only.
	ParetoRank *int `json:"pareto_rank,omitempty"`
}

// ParetoRanks returns the non-domination rank of every complete trial of ts
// with a value for each of the objectives' directions, by trial number.
func ParetoRanks(ts []store.Trial, directions []search.Direction) map[int]int {
	var ys [][]float64
	var nums []int
	for _, tr := range ts {
		if tr.Status != search.Complete || len(tr.ObjectiveValues) != len(directions) || len(directions) == 0 {
			continue
		}
		y := make([]float64, len(directions))
		ok := true
		for i, v := range tr.ObjectiveValues {
			if v == nil {
				ok = false
				break
			}
			y[i] = *v
			if directions[i] == search.Maximize {
				y[i] = -y[i]
			}
		}
		if ok {
			ys = append(ys, y)
			nums = append(nums, tr.Number)
		}
	}
	out := make(map[int]int, len(nums))
	for i, r := range search.ParetoRanks(ys) {
		out[nums[i]] = r
	}
	return out
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// TrialsTable renders trials. For a multi-objective study (directions
// given, one per objective) every trial also has its objective_values and
// its pareto_rank (empty for trials not ranked).
func TrialsTable(ts []store.Trial, directions ...search.Direction) cmdutil.Table {
	t := cmdutil.Table{Header: []string{"number", "status", "objective", "epochs_done", "attempt", "replicate", "seed", "config_hash", "params", "error"}}
	multi := len(directions) > 0
	var ranks map[int]int
	if multi {
		t.Header = append(t.Header, "objective_values", "pareto_rank")
		ranks = ParetoRanks(ts, directions)
	}
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
		row := []string{strconv.Itoa(tr.Number), string(tr.Status), obj, strconv.Itoa(tr.EpochsDone), strconv.Itoa(tr.Attempt),
			strconv.Itoa(tr.Replicate), fmt.Sprint(tr.Seed), tr.ConfigHash, string(tr.Params), errText}
		rec := trialRecord{Trial: tr, Params: rawJSON(tr.Params)}
		if multi {
			vals, rank := "", ""
			if tr.ObjectiveValues != nil {
				b, err := json.Marshal(tr.ObjectiveValues)
				if err == nil {
					vals = string(b)
				}
			}
			if r, ok := ranks[tr.Number]; ok {
				rank = strconv.Itoa(r)
				rec.ParetoRank = &r
			}
			row = append(row, vals, rank)
		}
		t.Rows = append(t.Rows, row)
		recs = append(recs, rec)
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
