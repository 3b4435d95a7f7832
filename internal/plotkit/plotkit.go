// Package plotkit draws a study's charts as static PNG or SVG images with
// gonum/plot (gonum.org/v1/plot: the Gonum project's plotting library, pure
// Go, with nice tick marks, legends and vector and raster back ends), for
// `tunectl plot`. It draws from the same studyview.Study as the dashboard,
// so a chart says the same thing in a paper as on the page.
package plotkit

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"sort"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/relutune/relutune/internal/studyview"
)

// Kinds are the charts Draw makes.
var Kinds = []string{"history", "curves", "parallel", "slice", "importance", "slope", "dead", "saturation", "prelu", "pareto"}

// Formats are the image formats Draw writes.
var Formats = []string{"png", "svg"}

// ErrNoData is returned when the study has nothing to draw for a kind yet.
var ErrNoData = errors.New("plotkit: nothing to draw")

// Options choose what Draw draws.
type Options struct {
	Kind   string
	Format string
	// Metric is the per-epoch metric of the curves kind (default
	// val_accuracy; see studyview.CurveMetrics).
	Metric string
}

// Check validates o.
func (o Options) Check() error {
	if !contains(Kinds, o.Kind) {
		return fmt.Errorf("plotkit: kind %q is not a chart (allowed: %s)", o.Kind, strings.Join(Kinds, ", "))
	}
	if !contains(Formats, o.Format) {
		return fmt.Errorf("plotkit: format %q is not an image format (allowed: %s)", o.Format, strings.Join(Formats, ", "))
	}
	if o.Metric != "" && !contains(studyview.CurveMetrics, o.Metric) {
		return fmt.Errorf("plotkit: metric %q has no curves (allowed: %s)", o.Metric, strings.Join(studyview.CurveMetrics, ", "))
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// figure is one or more plots laid out in a grid.
type figure struct {
	plots [][]*plot.Plot
	w, h  vg.Length
}

// Draw writes the chart o.Kind of study v to w as o.Format.
func Draw(w io.Writer, v *studyview.Study, o Options) error {
	if o.Metric == "" {
		o.Metric = "val_accuracy"
	}
	if err := o.Check(); err != nil {
		return err
	}
	c := newColors(v)
	var fig figure
	var err error
	switch o.Kind {
	case "history":
		fig, err = history(v, c)
	case "curves":
		fig, err = curves(v, c, o.Metric)
	case "parallel":
		fig, err = parallel(v)
	case "slice":
		fig, err = slice(v, c)
	case "importance":
		fig, err = importanceBars(v)
	case "slope":
		fig, err = slope(v, c)
	case "dead":
		fig, err = heatmaps(v, v.Dead, "dead fraction")
	case "saturation":
		fig, err = heatmaps(v, v.Saturation, "saturation")
	case "prelu":
		fig, err = prelu(v, c)
	case "pareto":
		fig, err = pareto(v, c)
	}
	if err != nil {
		return err
	}
	return fig.write(w, o.Format)
}

func (f figure) write(w io.Writer, format string) error {
	var canvas vg.CanvasWriterTo
	switch format {
	case "svg":
		canvas = vgsvg.New(f.w, f.h)
	default:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.w, f.h), vgimg.UseDPI(144))}
	}
	dc := draw.New(canvas)
	if len(f.plots) == 1 && len(f.plots[0]) == 1 {
		f.plots[0][0].Draw(dc)
	} else {
		rows, cols := len(f.plots), len(f.plots[0])
		t := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
			PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
		canvases := plot.Align(f.plots, t, dc)
		for i := range f.plots {
			for j, p := range f.plots[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}
	_, err := canvas.WriteTo(w)
	return err
}

func single(p *plot.Plot) figure {
	return figure{plots: [][]*plot.Plot{{p}}, w: 8 * vg.Inch, h: 5 * vg.Inch}
}

// grid lays ps out in rows of at most cols plots, each about 4 x 3 inches.
func grid(ps []*plot.Plot, cols int) figure {
	cols = min(cols, len(ps))
	rows := (len(ps) + cols - 1) / cols
	out := make([][]*plot.Plot, rows)
	for i := range out {
		out[i] = make([]*plot.Plot, cols)
		for j := range out[i] {
			if k := i*cols + j; k < len(ps) {
				out[i][j] = ps[k]
			}
		}
	}
	return figure{plots: out, w: vg.Length(cols) * 4.2 * vg.Inch, h: vg.Length(rows) * 3.2 * vg.Inch}
}

var tableau = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xff, 0x7f, 0x0e, 0xff}, {0x2c, 0xa0, 0x2c, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x94, 0x67, 0xbd, 0xff},
	{0x8c, 0x56, 0x4b, 0xff}, {0xe3, 0x77, 0xc2, 0xff}, {0x7f, 0x7f, 0x7f, 0xff}, {0xbc, 0xbd, 0x22, 0xff}, {0x17, 0xbe, 0xcf, 0xff},
}

// colors gives each activation of the study its colour, the same in every
// chart (and the same order as the dashboard's).
type colors map[string]color.RGBA

func newColors(v *studyview.Study) colors {
	set := map[string]bool{}
	for _, t := range v.Trials {
		if t.Activation != nil {
			set[*t.Activation] = true
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	c := colors{}
	for i, n := range names {
		c[n] = tableau[i%len(tableau)]
	}
	return c
}

func (c colors) of(act string) color.RGBA {
	if col, ok := c[act]; ok {
		return col
	}
	return color.RGBA{0x33, 0x33, 0x33, 0xff}
}

func (c colors) names() []string {
	ns := make([]string, 0, len(c))
	for n := range c {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func fade(c color.RGBA, alpha uint8) color.NRGBA {
	return color.NRGBA{c.R, c.G, c.B, alpha}
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(14)
	return p
}

func finite(f studyview.F) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

func scatter(xys plotter.XYs, col color.Color, r vg.Length) (*plotter.Scatter, error) {
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	s.GlyphStyle.Color = col
	s.GlyphStyle.Radius = r
	s.GlyphStyle.Shape = draw.CircleGlyph{}
	return s, nil
}

func line(xys plotter.XYs, col color.Color, width vg.Length) (*plotter.Line, error) {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.LineStyle.Color = col
	l.LineStyle.Width = width
	return l, nil
}

func noData(kind, why string) error { return fmt.Errorf("%w: %s: %s", ErrNoData, kind, why) }

func history(v *studyview.Study, c colors) (figure, error) {
	if len(v.History) == 0 {
		return figure{}, noData("history", "no complete trial yet")
	}
	p := newPlot(v.Overview.Study+": optimisation history", "trial", v.Overview.Metric)
	byAct := map[string]plotter.XYs{}
	var best plotter.XYs
	for _, h := range v.History {
		byAct[h.Activation] = append(byAct[h.Activation], plotter.XY{X: float64(h.Trial), Y: float64(h.Objective)})
		best = append(best, plotter.XY{X: float64(h.Trial), Y: float64(h.Best)})
	}
	for _, a := range c.names() {
		if xys := byAct[a]; len(xys) > 0 {
			s, err := scatter(xys, c.of(a), vg.Points(3))
			if err != nil {
				return figure{}, err
			}
			p.Add(s)
			p.Legend.Add(a, s)
		}
	}
	l, err := line(best, color.Black, vg.Points(1.5))
	if err != nil {
		return figure{}, err
	}
	l.StepStyle = plotter.PostStep
	p.Add(l)
	p.Legend.Add("best so far", l)
	return single(p), nil
}

func curves(v *studyview.Study, c colors, metric string) (figure, error) {
	cv := v.Curves[metric]
	if len(cv.Mean) == 0 {
		return figure{}, noData("curves", "no "+metric+" recorded yet")
	}
	p := newPlot(v.Overview.Study+": "+metric+", mean per activation with 95% CI (clipped to the trials' range)", "epoch", metric)
	// Keep the legend off the end of the curves: losses fall, accuracy rises.
	p.Legend.Top = strings.HasSuffix(metric, "loss")
	// A band from two or three trials can be far wider than anything
	// observed (t quantiles of 4 to 13): clip it to the trials' range.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, t := range cv.Trials {
		for _, y := range t.Values {
			lo, hi = math.Min(lo, float64(y)), math.Max(hi, float64(y))
		}
	}
	clip := func(y studyview.F) float64 { return math.Min(hi, math.Max(lo, float64(y))) }
	for _, t := range cv.Trials {
		var xys plotter.XYs
		for i, e := range t.Epochs {
			xys = append(xys, plotter.XY{X: float64(e), Y: float64(t.Values[i])})
		}
		l, err := line(xys, fade(c.of(t.Activation), 40), vg.Points(0.6))
		if err != nil {
			return figure{}, err
		}
		p.Add(l)
	}
	for _, b := range cv.Mean {
		var mean, upper, lower plotter.XYs
		for i, e := range b.Epochs {
			if finite(b.Mean[i]) {
				mean = append(mean, plotter.XY{X: float64(e), Y: float64(b.Mean[i])})
			}
			if finite(b.Low[i]) && finite(b.High[i]) {
				upper = append(upper, plotter.XY{X: float64(e), Y: clip(b.High[i])})
				lower = append(lower, plotter.XY{X: float64(e), Y: clip(b.Low[i])})
			}
		}
		if len(upper) >= 2 {
			band := append(plotter.XYs{}, upper...)
			for i := len(lower) - 1; i >= 0; i-- {
				band = append(band, lower[i])
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return figure{}, err
			}
			poly.Color = fade(c.of(b.Activation), 50)
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		if len(mean) > 0 {
			l, err := line(mean, c.of(b.Activation), vg.Points(2))
			if err != nil {
				return figure{}, err
			}
			p.Add(l)
			p.Legend.Add(b.Activation, l)
		}
	}
	return single(p), nil
}

// axisOf maps a parameter's values onto [0, 1] for parallel coordinates,
// with labels for its ends.
func axisOf(a studyview.Param) (func(float64) float64, string, string) {
	lo, hi := float64(a.Low), float64(a.High)
	switch a.Kind {
	case "choice":
		n := float64(len(a.Choices) - 1)
		if n == 0 {
			n = 1
		}
		return func(x float64) float64 { return x / n }, a.Choices[0], a.Choices[len(a.Choices)-1]
	case "log_uniform":
		return func(x float64) float64 { return (math.Log(x) - math.Log(lo)) / (math.Log(hi) - math.Log(lo)) }, fmt.Sprintf("%.3g", lo), fmt.Sprintf("%.3g", hi)
	}
	if hi == lo {
		hi = lo + 1
	}
	return func(x float64) float64 { return (x - lo) / (hi - lo) }, fmt.Sprintf("%.3g", lo), fmt.Sprintf("%.3g", hi)
}

func parallel(v *studyview.Study) (figure, error) {
	pc := v.Parallel
	if len(pc.Rows) == 0 {
		return figure{}, noData("parallel", "no complete trial yet")
	}
	p := newPlot(v.Overview.Study+": parallel coordinates (colour: "+v.Overview.Metric+")", "", "scaled value")
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, o := range pc.Objective {
		lo, hi = math.Min(lo, float64(o)), math.Max(hi, float64(o))
	}
	cmap := moreland.SmoothBlueRed()
	cmap.SetMin(lo)
	cmap.SetMax(math.Max(hi, lo+1e-12))
	scales := make([]func(float64) float64, len(pc.Axes))
	var names []string
	var ends plotter.XYLabels
	for i, a := range pc.Axes {
		f, l, h := axisOf(a)
		scales[i] = f
		names = append(names, a.Name)
		if a.Kind == "choice" {
			for k, ch := range a.Choices {
				ends.XYs = append(ends.XYs, plotter.XY{X: float64(i), Y: f(float64(k))})
				ends.Labels = append(ends.Labels, ch)
			}
			continue
		}
		ends.XYs = append(ends.XYs, plotter.XY{X: float64(i), Y: 0}, plotter.XY{X: float64(i), Y: 1})
		ends.Labels = append(ends.Labels, l, h)
	}
	names = append(names, v.Overview.Metric)
	ends.XYs = append(ends.XYs, plotter.XY{X: float64(len(pc.Axes)), Y: 0}, plotter.XY{X: float64(len(pc.Axes)), Y: 1})
	ends.Labels = append(ends.Labels, fmt.Sprintf("%.4g", lo), fmt.Sprintf("%.4g", hi))
	// Worst first, so the best trials are drawn on top.
	order := make([]int, len(pc.Rows))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return pc.Objective[order[a]] < pc.Objective[order[b]] })
	if v.Overview.Direction == "minimize" {
		for i, j := 0, len(order)-1; i < j; i, j = i+1, j-1 {
			order[i], order[j] = order[j], order[i]
		}
	}
	for _, r := range order {
		var xys plotter.XYs
		for i, x := range pc.Rows[r] {
			if finite(x) {
				xys = append(xys, plotter.XY{X: float64(i), Y: scales[i](float64(x))})
			}
		}
		o := float64(pc.Objective[r])
		xys = append(xys, plotter.XY{X: float64(len(pc.Axes)), Y: (o - lo) / math.Max(hi-lo, 1e-12)})
		col, err := cmap.At(o)
		if err != nil {
			col = color.Gray{0x80}
		}
		l, err := line(xys, col, vg.Points(1))
		if err != nil {
			return figure{}, err
		}
		p.Add(l)
	}
	labels, err := plotter.NewLabels(ends)
	if err != nil {
		return figure{}, err
	}
	for i := range labels.TextStyle {
		labels.TextStyle[i].Font.Size = vg.Points(7)
		labels.TextStyle[i].XAlign = draw.XCenter
	}
	p.Add(labels)
	p.NominalX(names...)
	p.Y.Min, p.Y.Max = -0.08, 1.08
	fig := single(p)
	fig.w = vg.Length(max(8, len(names)+1)) * vg.Inch
	return fig, nil
}

func slice(v *studyview.Study, c colors) (figure, error) {
	if len(v.Parallel.Rows) == 0 {
		return figure{}, noData("slice", "no complete trial yet")
	}
	var ps []*plot.Plot
	for i, a := range v.Parallel.Axes {
		p := newPlot(a.Name, a.Name, v.Overview.Metric)
		p.Legend.Top = false
		byAct := map[string]plotter.XYs{}
		for r, row := range v.Parallel.Rows {
			if !finite(row[i]) {
				continue
			}
			act := ""
			for _, t := range v.Trials {
				if t.Trial == v.Parallel.Trial[r] && t.Activation != nil {
					act = *t.Activation
				}
			}
			byAct[act] = append(byAct[act], plotter.XY{X: float64(row[i]), Y: float64(v.Parallel.Objective[r])})
		}
		for _, act := range c.names() {
			if xys := byAct[act]; len(xys) > 0 {
				s, err := scatter(xys, fade(c.of(act), 200), vg.Points(2.5))
				if err != nil {
					return figure{}, err
				}
				p.Add(s)
			}
		}
		switch a.Kind {
		case "choice":
			var ticks plot.ConstantTicks
			for k, ch := range a.Choices {
				ticks = append(ticks, plot.Tick{Value: float64(k), Label: ch})
			}
			p.X.Tick.Marker = ticks
			p.X.Min, p.X.Max = -0.5, float64(len(a.Choices))-0.5
		case "log_uniform":
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		}
		ps = append(ps, p)
	}
	return grid(ps, 3), nil
}

func importanceBars(v *studyview.Study) (figure, error) {
	if len(v.Importance) == 0 {
		why := v.ImportanceNote
		if why == "" {
			why = "not enough complete trials"
		}
		return figure{}, noData("importance", why)
	}
	var names []string
	var vals plotter.Values
	for i := len(v.Importance) - 1; i >= 0; i-- {
		names = append(names, v.Importance[i].Param)
		vals = append(vals, v.Importance[i].Importance)
	}
	p := newPlot(v.Overview.Study+": parameter importance (fANOVA)", "share of the objective's variance", "")
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return figure{}, err
	}
	bars.Horizontal = true
	bars.Color = color.RGBA{0x4c, 0x72, 0xb0, 0xff}
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalY(names...)
	p.X.Min = 0
	fig := single(p)
	fig.h = vg.Length(1.5+0.35*float64(len(names))) * vg.Inch
	return fig, nil
}

func slope(v *studyview.Study, c colors) (figure, error) {
	var ps []*plot.Plot
	for _, param := range studyview.SlopeParams {
		byAct := map[string]plotter.XYs{}
		for _, s := range v.Slope {
			if s.Param == param {
				byAct[s.Activation] = append(byAct[s.Activation], plotter.XY{X: float64(s.X), Y: float64(s.Objective)})
			}
		}
		if len(byAct) == 0 {
			continue
		}
		p := newPlot(param, param, v.Overview.Metric)
		for _, act := range c.names() {
			if xys := byAct[act]; len(xys) > 0 {
				s, err := scatter(xys, c.of(act), vg.Points(3))
				if err != nil {
					return figure{}, err
				}
				p.Add(s)
				p.Legend.Add(act, s)
			}
		}
		for _, q := range v.Params {
			if q.Name == param && q.Kind == "log_uniform" {
				p.X.Scale = plot.LogScale{}
				p.X.Tick.Marker = plot.LogTicks{Prec: -1}
			}
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return figure{}, noData("slope", "no complete trial set "+strings.Join(studyview.SlopeParams, ", "))
	}
	return grid(ps, 3), nil
}

// layerGrid is a heatmap's values as gonum's GridXYZ: columns are epochs,
// rows layers.
type layerGrid struct{ h studyview.Heatmap }

func (g layerGrid) Dims() (c, r int)   { return g.h.Epochs, g.h.Layers }
func (g layerGrid) Z(c, r int) float64 { return float64(g.h.Values[r][c]) }
func (g layerGrid) X(c int) float64    { return float64(c + 1) }
func (g layerGrid) Y(r int) float64    { return float64(r + 1) }

func heatmaps(v *studyview.Study, hs []studyview.Heatmap, what string) (figure, error) {
	if len(hs) == 0 {
		return figure{}, noData(what, "no per-layer diagnostics recorded yet")
	}
	var ps []*plot.Plot
	pal := moreland.Kindlmann()
	pal.SetMin(0)
	pal.SetMax(1)
	for _, h := range hs {
		if h.Epochs == 0 || h.Layers == 0 {
			continue
		}
		p := newPlot(h.Activation+": "+what, "epoch", "layer")
		hm := plotter.NewHeatMap(layerGrid{h}, palette.Reverse(pal).Palette(64))
		hm.Min, hm.Max = 0, 1
		hm.NaN = color.Transparent
		p.Add(hm)
		var ticks plot.ConstantTicks
		for l := 1; l <= h.Layers; l++ {
			ticks = append(ticks, plot.Tick{Value: float64(l), Label: fmt.Sprint(l)})
		}
		p.Y.Tick.Marker = ticks
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return figure{}, noData(what, "no per-layer diagnostics recorded yet")
	}
	fig := grid(ps, 3)
	// A colour key: 0 (light) to 1 (dark).
	key := newPlot(what+" scale", "value", "")
	key.HideY()
	xs := studyview.Heatmap{Epochs: 11, Layers: 1, Values: [][]studyview.F{make([]studyview.F, 11)}}
	for i := range xs.Values[0] {
		xs.Values[0][i] = studyview.F(float64(i) / 10)
	}
	kh := plotter.NewHeatMap(keyGrid{xs}, palette.Reverse(pal).Palette(64))
	kh.Min, kh.Max = 0, 1
	key.Add(kh)
	last := fig.plots[len(fig.plots)-1]
	placed := false
	for j := range last {
		if last[j] == nil {
			last[j] = key
			placed = true
			break
		}
	}
	if !placed {
		row := make([]*plot.Plot, len(last))
		row[0] = key
		fig.plots = append(fig.plots, row)
		fig.h += 3.2 * vg.Inch
	}
	return fig, nil
}

// keyGrid places a colour key's cells at 0, 0.1, ..., 1.
type keyGrid struct{ h studyview.Heatmap }

func (g keyGrid) Dims() (c, r int)   { return g.h.Epochs, g.h.Layers }
func (g keyGrid) Z(c, r int) float64 { return float64(g.h.Values[r][c]) }
func (g keyGrid) X(c int) float64    { return float64(c) / 10 }
func (g keyGrid) Y(r int) float64    { return float64(r) }

func prelu(v *studyview.Study, c colors) (figure, error) {
	if len(v.PReLU) == 0 {
		return figure{}, noData("prelu", "no PReLU trial reported slopes")
	}
	p := newPlot(v.Overview.Study+": learned PReLU slopes", "epoch", "slope")
	dashes := [][]vg.Length{nil, {vg.Points(4), vg.Points(2)}, {vg.Points(1), vg.Points(2)}}
	seen := map[int]bool{}
	for _, s := range v.PReLU {
		var xys plotter.XYs
		for i, e := range s.Epochs {
			xys = append(xys, plotter.XY{X: float64(e), Y: float64(s.Values[i])})
		}
		l, err := line(xys, c.of(s.Activation), vg.Points(1))
		if err != nil {
			return figure{}, err
		}
		l.LineStyle.Dashes = dashes[s.Layer%len(dashes)]
		p.Add(l)
		if !seen[s.Layer] {
			seen[s.Layer] = true
			p.Legend.Add(fmt.Sprintf("layer %d", s.Layer+1), l)
		}
	}
	return single(p), nil
}

func pareto(v *studyview.Study, c colors) (figure, error) {
	if len(v.Pareto) == 0 {
		return figure{}, noData("pareto", "no complete trial with a measured throughput")
	}
	p := newPlot(v.Overview.Study+": "+v.Overview.Metric+" against training time", "seconds per 1,000 training samples (epoch time / training set size)", v.Overview.Metric)
	byAct := map[string]plotter.XYs{}
	var front plotter.XYs
	for _, q := range v.Pareto {
		xy := plotter.XY{X: float64(q.SecondsPer1k), Y: float64(q.Objective)}
		byAct[q.Activation] = append(byAct[q.Activation], xy)
		if q.Front {
			front = append(front, xy)
		}
	}
	sort.Slice(front, func(i, j int) bool { return front[i].X < front[j].X })
	for _, act := range c.names() {
		if xys := byAct[act]; len(xys) > 0 {
			s, err := scatter(xys, c.of(act), vg.Points(3))
			if err != nil {
				return figure{}, err
			}
			p.Add(s)
			p.Legend.Add(act, s)
		}
	}
	l, err := line(front, color.Black, vg.Points(1.2))
	if err != nil {
		return figure{}, err
	}
	l.LineStyle.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	l.StepStyle = plotter.PostStep
	p.Add(l)
	p.Legend.Add("Pareto front", l)
	return single(p), nil
}
