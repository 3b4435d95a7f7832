// Package report implements `tunectl report`: one self-contained HTML file
// with a study's charts and tables.
package report

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/analyst"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/dashboard"
	"github.com/relutune/relutune/internal/studyview"
)

// Options are report's inputs.
type Options struct {
	IO         *cmdutil.IOStreams
	Source     func(context.Context) (studyview.Source, func(), error)
	TemporalUI string
	Namespace  string
	Study      string
	Out        string
	Now        func() time.Time
}

// NewCmdReport returns the report command.
func NewCmdReport(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	var readerURL string
	opts := &Options{IO: f.IO, Now: time.Now, Source: func(ctx context.Context) (studyview.Source, func(), error) {
		r, err := analyst.Open(ctx, f, readerURL)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Close, nil
	}}
	cmd := &cobra.Command{
		Use:   "report <study>",
		Short: "Write a study's charts and tables as one self-contained HTML file",
		Long: `Write one HTML file with the study's summary, trial table and every chart
of its dashboard page (history, learning curves with 95% bands, parallel
coordinates, parameter importance, activation x initialiser table, slope
sweep, dead-unit and saturation heatmaps, PReLU slopes, gradient norms,
Pareto front). Its script, style sheet, data and the charting library are
inside the file: it opens from disk, offline, attached to a paper or a pull
request.`,
		Example: `  tunectl report quickstart -o report.html`,
		Args:    cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			opts.TemporalUI, opts.Namespace = f.TemporalUI, f.Conn.TemporalNamespace
			if opts.Out == "" {
				return cmdutil.Usagef("--out: a file name is required")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runReport(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "report.html", "file to write, - for standard output")
	analyst.AddReaderFlag(cmd, &readerURL)
	return cmd
}

func runReport(ctx context.Context, opts *Options) error {
	src, done, err := opts.Source(ctx)
	if err != nil {
		return err
	}
	defer done()
	v, err := studyview.Load(ctx, src, opts.Study)
	if err != nil {
		return err
	}
	links := dashboard.New(dashboard.Options{TemporalUI: opts.TemporalUI, Namespace: opts.Namespace}).StudyLinks(opts.Study, v.Trials)
	if opts.Out == "-" {
		return dashboard.WriteReport(opts.IO.Out, v, links, opts.Now())
	}
	file, err := os.Create(opts.Out)
	if err != nil {
		return err
	}
	err = dashboard.WriteReport(file, v, links, opts.Now())
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", opts.Out, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Out)
	return nil
}
