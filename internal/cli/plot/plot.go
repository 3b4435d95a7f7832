// Package plot implements `tunectl plot`: learning curves per activation as
// an SVG chart.
package plot

import (
	"context"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/store"
)

// CurveReader is what plot reads from the store.
type CurveReader interface {
	StudyByName(ctx context.Context, name string) (store.Study, error)
	ActivationCurves(ctx context.Context, studyID int64, metric string) ([]store.CurvePoint, error)
}

// Options are plot's inputs.
type Options struct {
	IO      *cmdutil.IOStreams
	Studies func(context.Context) (CurveReader, error)
	Study   string
	Metric  string
	Out     string
}

// NewCmdPlot returns the plot command.
func NewCmdPlot(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Studies: func(ctx context.Context) (CurveReader, error) {
		st, err := f.Store(ctx)
		if err != nil {
			return nil, err
		}
		return st, nil
	}}
	cmd := &cobra.Command{
		Use:   "plot <study>",
		Short: "Plot a metric's mean learning curve per activation as SVG",
		Long: `Plot, for each activation, the mean of a metric over the study's trials at
every epoch, as an SVG line chart (open it in a browser). Dead-unit fraction,
saturation and gradient norm show why an activation won or lost.`,
		Example: `  tunectl plot quickstart -o curves.svg
  tunectl plot relu-variants-mnist --metric dead_fraction -o dead.svg`,
		Args: cmdutil.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Study = args[0]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runPlot(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Metric, "metric", "val_accuracy", "one of "+strings.Join(store.CurveMetrics(), ", "))
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "-", "file to write, - for standard output")
	return cmd
}

func runPlot(ctx context.Context, opts *Options) error {
	st, err := opts.Studies(ctx)
	if err != nil {
		return err
	}
	study, err := st.StudyByName(ctx, opts.Study)
	if err != nil {
		return err
	}
	pts, err := st.ActivationCurves(ctx, study.ID, opts.Metric)
	if err != nil {
		return fmt.Errorf("%s curves of study %s: %w", opts.Metric, opts.Study, err)
	}
	if len(pts) == 0 {
		return fmt.Errorf("study %s has no %s values yet", opts.Study, opts.Metric)
	}
	title := opts.Study + ": mean " + opts.Metric + " per activation"
	if opts.Out == "" || opts.Out == "-" {
		return SVG(opts.IO.Out, title, opts.Metric, pts)
	}
	file, err := os.Create(opts.Out)
	if err != nil {
		return err
	}
	err = SVG(file, title, opts.Metric, pts)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", opts.Out, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s\n", opts.Out)
	return nil
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// SVG draws one line per activation.
func SVG(w io.Writer, title, ylabel string, pts []store.CurvePoint) error {
	const width, height, left, right, top, bottom = 760.0, 440.0, 70.0, 150.0, 40.0, 50.0
	series := map[string][]store.CurvePoint{}
	var names []string
	minY, maxY, maxX := math.Inf(1), math.Inf(-1), 1
	for _, p := range pts {
		if _, ok := series[p.Activation]; !ok {
			names = append(names, p.Activation)
		}
		series[p.Activation] = append(series[p.Activation], p)
		minY, maxY = math.Min(minY, p.Mean), math.Max(maxY, p.Mean)
		maxX = max(maxX, p.Epoch)
	}
	sort.Strings(names)
	if maxY == minY {
		maxY, minY = maxY+0.5, minY-0.5
	}
	pad := (maxY - minY) * 0.05
	nonNegative := minY >= 0
	minY, maxY = minY-pad, maxY+pad
	if nonNegative && minY < 0 {
		minY = 0
	}
	px := func(e int) float64 { return left + (width-left-right)*float64(e-1)/math.Max(float64(maxX-1), 1) }
	py := func(v float64) float64 { return top + (height-top-bottom)*(maxY-v)/(maxY-minY) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="15">%s</text>`+"\n", left, html.EscapeString(title))
	// Axes and ticks.
	fmt.Fprintf(&b, `<path d="M%.1f %.1f V%.1f H%.1f" stroke="black" fill="none"/>`+"\n", left, top, height-bottom, width-right)
	for i := 0; i <= 4; i++ {
		v := minY + (maxY-minY)*float64(i)/4
		y := py(v)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%.4g</text>`+"\n",
			left, y, width-right, y, left-6, y+4, v)
	}
	step := max(1, (maxX+9)/10)
	for e := 1; e <= maxX; e += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", px(e), height-bottom+18, e)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">epoch</text>`+"\n", (left+width-right)/2, height-12)
	fmt.Fprintf(&b, `<text x="16" y="%.1f" transform="rotate(-90 16 %.1f)" text-anchor="middle">%s</text>`+"\n", (top+height-bottom)/2, (top+height-bottom)/2, html.EscapeString(ylabel))
	for i, n := range names {
		color := palette[i%len(palette)]
		var d strings.Builder
		for j, p := range series[n] {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f ", cmd, px(p.Epoch), py(p.Mean))
		}
		fmt.Fprintf(&b, `<path d="%s" stroke="%s" stroke-width="2" fill="none"/>`+"\n", strings.TrimSpace(d.String()), color)
		ly := top + 18*float64(i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
			width-right+12, ly, width-right+32, ly, color, width-right+38, ly+4, html.EscapeString(n))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
