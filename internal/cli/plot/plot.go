// Package plot implements `tunectl plot`: a study's charts as PNG or SVG
// images drawn with gonum/plot (internal/plotkit).
package plot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/analyst"
	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/plotkit"
	"github.com/relutune/relutune/internal/studyview"
)

// Options are plot's inputs.
type Options struct {
	IO     *cmdutil.IOStreams
	Source func(context.Context) (studyview.Source, func(), error)
	Study  string
	Kind   string
	Metric string
	Format string // png, svg, or empty: from Out's extension
	Out    string
}

// NewCmdPlot returns the plot command.
func NewCmdPlot(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	var readerURL string
	opts := &Options{IO: f.IO, Source: func(ctx context.Context) (studyview.Source, func(), error) {
		r, err := analyst.Open(ctx, f, readerURL)
		if err != nil {
			return nil, nil, err
		}
		return r, r.Close, nil
	}}
	cmd := &cobra.Command{
		Use:   "plot <study>",
		Short: "Draw a study's chart as PNG or SVG",
		Long: `Draw one chart of a study as a PNG or SVG image (gonum/plot):

  history      objective of each complete trial and the best so far
  curves       learning curves, mean per activation with a 95% band (--metric)
  parallel     parallel coordinates of the parameters, coloured by objective
  slice        objective against each parameter
  importance   fANOVA parameter importance
  slope        objective against negative_slope, elu_alpha and prelu_init
  dead         dead-unit fraction per layer and epoch, per activation
  saturation   saturated-unit fraction per layer and epoch, per activation
  prelu        learned PReLU slopes per trial and layer
  pareto       objective against seconds per epoch, with the Pareto front

The format comes from --format, else from the --out file's extension; SVG
on standard output. Reads as the read-only relutune_reader role.`,
		Example: `  tunectl plot quickstart --kind curves -o curves.png
  tunectl plot quickstart --kind dead -o dead.svg
  tunectl plot relu-variants-mnist --kind curves --metric val_loss > loss.svg`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if err := resolveFormat(opts); err != nil {
				return err
			}
			if err := (plotkit.Options{Kind: opts.Kind, Format: opts.Format, Metric: opts.Metric}).Check(); err != nil {
				return cmdutil.Usagef("%s", strings.TrimPrefix(err.Error(), "plotkit: "))
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPlot(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Kind, "kind", "curves", strings.Join(plotkit.Kinds, ", "))
	cmd.Flags().StringVar(&opts.Metric, "metric", "val_accuracy", "metric of --kind curves: "+strings.Join(studyview.CurveMetrics, ", "))
	cmd.Flags().StringVar(&opts.Format, "format", "", "png or svg (default: the --out file's extension; svg on standard output)")
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "-", "file to write, - for standard output")
	analyst.AddReaderFlag(cmd, &readerURL)
	return cmd
}

// resolveFormat fills opts.Format from the output file's extension.
func resolveFormat(opts *Options) error {
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(opts.Out)), ".")
	switch {
	case opts.Format != "":
		opts.Format = strings.ToLower(opts.Format)
	case opts.Out == "-" || opts.Out == "":
		opts.Format = "svg"
	case ext == "png" || ext == "svg":
		opts.Format = ext
	default:
		return cmdutil.Usagef("--out %s: cannot tell the format from the extension %q (allowed: .png, .svg, or --format png|svg)", opts.Out, filepath.Ext(opts.Out))
	}
	return nil
}

func runPlot(ctx context.Context, opts *Options) error {
	src, done, err := opts.Source(ctx)
	if err != nil {
		return err
	}
	defer done()
	v, err := studyview.Load(ctx, src, opts.Study)
	if err != nil {
		return err
	}
	po := plotkit.Options{Kind: opts.Kind, Format: opts.Format, Metric: opts.Metric}
	if opts.Out == "" || opts.Out == "-" {
		return plotkit.Draw(opts.IO.Out, v, po)
	}
	file, err := os.Create(opts.Out)
	if err != nil {
		return err
	}
	err = plotkit.Draw(file, v, po)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(opts.Out)
		return fmt.Errorf("study %s: %w", opts.Study, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Out)
	return nil
}
