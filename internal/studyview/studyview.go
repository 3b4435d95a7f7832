// Package studyview turns a study's stored rows into the series its charts
// draw: optimisation history, learning curves with a 95% band per
// activation, parallel coordinates, parameter importance, the activation x
// initialiser table, the slope sweep, per-layer dead fraction and
// saturation heatmaps, PReLU slopes, per-layer gradient norms and the
// Pareto front of objective against epoch time. The dashboard, `tunectl
// plot` and `tunectl report` draw from the same view, so every chart of a
// study says the same thing wherever it is shown.
package studyview

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/importance"
	"github.com/relutune/relutune/internal/stats"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

// F is a float64 that encodes NaN and infinities as JSON null.
type F float64

// MarshalJSON writes f, or null when it is not finite.
func (f F) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// NaN is a missing value.
var NaN = F(math.NaN())

// SlopeParams are the parameters of the slope sweep: the shape parameters
// of the activations that have one.
var SlopeParams = []string{"negative_slope", "elu_alpha", "prelu_init"}

// CurveMetrics are the per-epoch metrics whose curves the view carries.
var CurveMetrics = []string{"val_accuracy", "val_loss", "train_loss"}

// Study is everything the study page shows.
type Study struct {
	Overview store.StudyOverview   `json:"overview"`
	Params   []Param               `json:"params"`
	Trials   []store.TrialOverview `json:"trials"`
	History  []HistoryPoint        `json:"history"`
	// Curves maps each of CurveMetrics to its curves.
	Curves     map[string]Curves       `json:"curves"`
	Parallel   Parallel                `json:"parallel"`
	Importance []importance.Importance `json:"importance"`
	// ImportanceNote says why Importance is empty, when it is.
	ImportanceNote string        `json:"importance_note,omitempty"`
	ActInit        ActInit       `json:"act_init"`
	Slope          []SlopePoint  `json:"slope"`
	Dead           []Heatmap     `json:"dead"`
	Saturation     []Heatmap     `json:"saturation"`
	GradNorm       []LayerSeries `json:"grad_norm"`
	PReLU          []LayerSeries `json:"prelu"`
	Pareto         []ParetoPoint `json:"pareto"`
	// Objectives are the trials in objective space, for a study whose
	// spec lists objectives (nil otherwise).
	Objectives *Objectives `json:"objectives,omitempty"`
}

// Param is one parameter of the study's space.
type Param struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"` // uniform, log_uniform, int_uniform, choice
	Low     F        `json:"low"`
	High    F        `json:"high"`
	Choices []string `json:"choices,omitempty"`
	// When names the parameter this one depends on, if any.
	When string `json:"when,omitempty"`
}

// HistoryPoint is a complete trial in trial order with the best objective
// so far.
type HistoryPoint struct {
	Trial      int    `json:"trial"`
	Activation string `json:"activation"`
	Objective  F      `json:"objective"`
	Best       F      `json:"best"`
}

// Curves are a metric's learning curves: one per trial, and per activation
// the mean over its trials at each epoch with a 95% t interval.
type Curves struct {
	Trials []TrialCurve `json:"trials"`
	Mean   []Band       `json:"mean"`
}

// TrialCurve is one trial's values by epoch.
type TrialCurve struct {
	Trial      int    `json:"trial"`
	Activation string `json:"activation"`
	Epochs     []int  `json:"epochs"`
	Values     []F    `json:"values"`
}

// Band is a mean with its 95% confidence interval at each epoch.
type Band struct {
	Activation string `json:"activation"`
	Epochs     []int  `json:"epochs"`
	Mean       []F    `json:"mean"`
	Low        []F    `json:"low"`
	High       []F    `json:"high"`
	N          []int  `json:"n"`
}

// Parallel is the parallel-coordinates data: one row per complete trial,
// one column per parameter (categories by index, NaN when inactive), and
// the objective.
type Parallel struct {
	Axes      []Param `json:"axes"`
	Rows      [][]F   `json:"rows"`
	Objective []F     `json:"objective"`
	Trial     []int   `json:"trial"`
}

// ActInit is the mean objective of each activation x initialiser cell.
type ActInit struct {
	Activations []string `json:"activations"`
	Inits       []string `json:"inits"`
	Cells       []Cell   `json:"cells"`
}

// Cell is one activation x initialiser summary.
type Cell struct {
	Activation string `json:"activation"`
	Init       string `json:"init"`
	N          int    `json:"n"`
	Mean       F      `json:"mean"`
	Low        F      `json:"low"`
	High       F      `json:"high"`
}

// SlopePoint is a complete trial's objective against one shape parameter.
type SlopePoint struct {
	Param      string `json:"param"`
	Activation string `json:"activation"`
	Trial      int    `json:"trial"`
	X          F      `json:"x"`
	Objective  F      `json:"objective"`
}

// Heatmap is, for one activation, a per-layer diagnostic averaged over
// its trials: Values[layer][epoch-1].
type Heatmap struct {
	Activation string `json:"activation"`
	Layers     int    `json:"layers"`
	Epochs     int    `json:"epochs"`
	Values     [][]F  `json:"values"`
}

// LayerSeries is one layer's diagnostic by epoch, for an activation
// (averaged over its trials) or for one trial.
type LayerSeries struct {
	Activation string `json:"activation"`
	Trial      int    `json:"trial"`
	Layer      int    `json:"layer"`
	Epochs     []int  `json:"epochs"`
	Values     []F    `json:"values"`
}

// ParetoPoint is a complete trial's objective and its training time per
// 1,000 samples (1000 / the worker's measured throughput): every trial of a
// study trains on the same data, so this is its epoch time divided by the
// training set's size. Front marks the trials no other trial beats on both.
type ParetoPoint struct {
	Trial        int    `json:"trial"`
	Activation   string `json:"activation"`
	SecondsPer1k F      `json:"seconds_per_1k"`
	Objective    F      `json:"objective"`
	Front        bool   `json:"front"`
}

// LayerStats is one hidden layer's diagnostics in a metric row's layers
// column (the JSON the workers publish).
type LayerStats struct {
	DeadFraction *float64 `json:"dead_fraction"`
	Saturation   *float64 `json:"saturation"`
	GradNorm     *float64 `json:"grad_norm"`
	PReLUSlope   *float64 `json:"prelu_slope"`
}

// maxLayers bounds the layers read from one metric row.
const maxLayers = 64

// Build assembles the view of one study from its overview, trials and
// metric rows (as store.Reader returns them).
func Build(ov store.StudyOverview, trials []store.TrialOverview, epochs []store.EpochRow) (*Study, error) {
	return BuildCached(ov, trials, epochs, nil)
}

// BuildCached is Build that takes the importances from cache when the
// study's complete trials have not changed since they were computed (nil:
// no cache).
func BuildCached(ov store.StudyOverview, trials []store.TrialOverview, epochs []store.EpochRow, cache *Cache) (*Study, error) {
	s := &Study{Overview: ov, Trials: trials, Curves: map[string]Curves{}}
	if s.Trials == nil {
		s.Trials = []store.TrialOverview{}
	}
	sp, err := spec.Decode(ov.Spec)
	if err != nil {
		return nil, fmt.Errorf("study %s: spec: %w", ov.Study, err)
	}
	space, err := sp.SearchSpace()
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", ov.Study, err)
	}
	s.Params = params(space)
	maximize := ov.Direction != "minimize"

	configs := make(map[int]search.Config, len(trials))
	for _, t := range trials {
		var c search.Config
		if err := json.Unmarshal(t.Params, &c); err != nil {
			return nil, fmt.Errorf("study %s: trial %d: params: %w", ov.Study, t.Trial, err)
		}
		configs[t.Trial] = c
	}
	complete := completeTrials(trials)

	s.History = history(complete, maximize)
	for _, m := range CurveMetrics {
		s.Curves[m] = curves(epochs, m)
	}
	s.Parallel = parallel(s.Params, complete, configs)
	s.Importance, s.ImportanceNote = cache.importances(ov.Study, space, complete, configs)
	s.ActInit = actInit(complete, configs)
	s.Slope = slope(complete, configs)
	layers := decodeLayers(epochs)
	s.Dead = heatmaps(epochs, layers, func(l LayerStats) *float64 { return l.DeadFraction })
	s.Saturation = heatmaps(epochs, layers, func(l LayerStats) *float64 { return l.Saturation })
	s.GradNorm = gradNorms(epochs, layers)
	s.PReLU = preluSlopes(epochs, layers)
	s.Pareto = pareto(complete, maximize)
	s.Objectives = objectives(sp, trials)
	return s, nil
}

func studySpace(specJSON []byte) (*search.Space, error) {
	sp, err := spec.Decode(specJSON)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return sp.SearchSpace()
}

func params(space *search.Space) []Param {
	var out []Param
	for _, p := range space.Params() {
		q := Param{Name: p.Name, Kind: p.Kind.String(), Low: F(p.Low), High: F(p.High)}
		for _, c := range p.Choices {
			q.Choices = append(q.Choices, c.String())
		}
		if p.When != nil {
			q.When = p.When.Param
		}
		if p.Kind == search.Categorical {
			q.Low, q.High = 0, F(len(p.Choices)-1)
		}
		out = append(out, q)
	}
	return out
}

func completeTrials(trials []store.TrialOverview) []store.TrialOverview {
	var out []store.TrialOverview
	for _, t := range trials {
		if t.Status == string(search.Complete) && t.Objective != nil && !math.IsNaN(*t.Objective) && !math.IsInf(*t.Objective, 0) {
			out = append(out, t)
		}
	}
	return out
}

func act(a *string) string {
	if a == nil {
		return ""
	}
	return *a
}

func history(complete []store.TrialOverview, maximize bool) []HistoryPoint {
	out := []HistoryPoint{}
	best := math.NaN()
	for _, t := range complete {
		v := *t.Objective
		if math.IsNaN(best) || (maximize && v > best) || (!maximize && v < best) {
			best = v
		}
		out = append(out, HistoryPoint{Trial: t.Trial, Activation: act(t.Activation), Objective: F(v), Best: F(best)})
	}
	return out
}

// metricOf is e's value of metric, a column of events.EpochColumns; nil
// for any other name.
func metricOf(e store.EpochRow, metric string) *float64 {
	for _, c := range events.EpochColumns {
		if c.Name == metric {
			return *c.Of(&e.EpochValues)
		}
	}
	return nil
}

func curves(epochs []store.EpochRow, metric string) Curves {
	c := Curves{Trials: []TrialCurve{}, Mean: []Band{}}
	byAct := map[string]map[int][]float64{}
	for _, e := range epochs {
		v := metricOf(e, metric)
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			continue
		}
		a := act(e.Activation)
		if n := len(c.Trials); n == 0 || c.Trials[n-1].Trial != e.Trial {
			c.Trials = append(c.Trials, TrialCurve{Trial: e.Trial, Activation: a})
		}
		tc := &c.Trials[len(c.Trials)-1]
		tc.Epochs = append(tc.Epochs, e.Epoch)
		tc.Values = append(tc.Values, F(*v))
		if byAct[a] == nil {
			byAct[a] = map[int][]float64{}
		}
		byAct[a][e.Epoch] = append(byAct[a][e.Epoch], *v)
	}
	for _, a := range sortedKeys(byAct) {
		b := Band{Activation: a}
		for _, ep := range sortedKeys(byAct[a]) {
			sum := stats.Summarize(byAct[a][ep])
			b.Epochs = append(b.Epochs, ep)
			b.Mean = append(b.Mean, F(sum.Mean))
			b.Low = append(b.Low, F(sum.Low))
			b.High = append(b.High, F(sum.High))
			b.N = append(b.N, sum.N)
		}
		c.Mean = append(c.Mean, b)
	}
	return c
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

func parallel(ps []Param, complete []store.TrialOverview, configs map[int]search.Config) Parallel {
	p := Parallel{Axes: ps, Rows: [][]F{}, Objective: []F{}, Trial: []int{}}
	for _, t := range complete {
		c := configs[t.Trial]
		row := make([]F, len(ps))
		for i, q := range ps {
			v, ok := c[q.Name]
			switch {
			case !ok:
				row[i] = NaN
			case q.Kind == search.Categorical.String():
				row[i] = NaN
				for k, ch := range q.Choices {
					if ch == v.String() {
						row[i] = F(k)
					}
				}
			default:
				row[i] = F(v.Float())
			}
		}
		p.Rows = append(p.Rows, row)
		p.Objective = append(p.Objective, F(*t.Objective))
		p.Trial = append(p.Trial, t.Trial)
	}
	return p
}

func importances(space *search.Space, complete []store.TrialOverview, configs map[int]search.Config) ([]importance.Importance, string) {
	var ts []importance.Trial
	for _, t := range complete {
		ts = append(ts, importance.Trial{Config: configs[t.Trial], Value: *t.Objective})
	}
	imps, err := importance.Evaluate(space, ts, importance.Options{})
	if err != nil {
		return []importance.Importance{}, err.Error()
	}
	return imps, ""
}

func actInit(complete []store.TrialOverview, configs map[int]search.Config) ActInit {
	vals := map[[2]string][]float64{}
	acts, inits := map[string]bool{}, map[string]bool{}
	for _, t := range complete {
		c := configs[t.Trial]
		a, i := act(t.Activation), "default"
		if v, ok := c["init"]; ok {
			i = v.String()
		}
		acts[a], inits[i] = true, true
		vals[[2]string{a, i}] = append(vals[[2]string{a, i}], *t.Objective)
	}
	out := ActInit{Activations: sortedKeys(acts), Inits: sortedKeys(inits), Cells: []Cell{}}
	for _, a := range out.Activations {
		for _, i := range out.Inits {
			xs, ok := vals[[2]string{a, i}]
			if !ok {
				continue
			}
			s := stats.Summarize(xs)
			out.Cells = append(out.Cells, Cell{Activation: a, Init: i, N: s.N, Mean: F(s.Mean), Low: F(s.Low), High: F(s.High)})
		}
	}
	return out
}

func slope(complete []store.TrialOverview, configs map[int]search.Config) []SlopePoint {
	out := []SlopePoint{}
	for _, name := range SlopeParams {
		for _, t := range complete {
			if v, ok := configs[t.Trial][name]; ok && !v.IsString() {
				out = append(out, SlopePoint{Param: name, Activation: act(t.Activation), Trial: t.Trial, X: F(v.Float()), Objective: F(*t.Objective)})
			}
		}
	}
	return out
}

// decodeLayers parses each metric row's layers column; rows whose column
// does not parse get no layers.
func decodeLayers(epochs []store.EpochRow) [][]LayerStats {
	out := make([][]LayerStats, len(epochs))
	for i, e := range epochs {
		var ls []LayerStats
		if json.Unmarshal(e.Layers, &ls) == nil {
			if len(ls) > maxLayers {
				ls = ls[:maxLayers]
			}
			out[i] = ls
		}
	}
	return out
}

func finite(p *float64) bool { return p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) }

// layerMeans averages value over the rows of each group at each layer and
// epoch: result[group][layer][epoch] = values.
func layerMeans(epochs []store.EpochRow, layers [][]LayerStats, group func(store.EpochRow) string, value func(LayerStats) *float64) map[string]map[int]map[int][]float64 {
	out := map[string]map[int]map[int][]float64{}
	for i, e := range epochs {
		for l, ls := range layers[i] {
			v := value(ls)
			if !finite(v) {
				continue
			}
			g := group(e)
			if out[g] == nil {
				out[g] = map[int]map[int][]float64{}
			}
			if out[g][l] == nil {
				out[g][l] = map[int][]float64{}
			}
			out[g][l][e.Epoch] = append(out[g][l][e.Epoch], *v)
		}
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func heatmaps(epochs []store.EpochRow, layers [][]LayerStats, value func(LayerStats) *float64) []Heatmap {
	out := []Heatmap{}
	m := layerMeans(epochs, layers, func(e store.EpochRow) string { return act(e.Activation) }, value)
	for _, a := range sortedKeys(m) {
		h := Heatmap{Activation: a}
		for l, byEpoch := range m[a] {
			h.Layers = max(h.Layers, l+1)
			for ep := range byEpoch {
				h.Epochs = max(h.Epochs, ep)
			}
		}
		h.Values = make([][]F, h.Layers)
		for l := range h.Values {
			h.Values[l] = make([]F, h.Epochs)
			for ep := range h.Values[l] {
				h.Values[l][ep] = NaN
				if xs := m[a][l][ep+1]; len(xs) > 0 {
					h.Values[l][ep] = F(mean(xs))
				}
			}
		}
		out = append(out, h)
	}
	return out
}

func series(m map[int][]float64) (eps []int, vals []F) {
	for _, ep := range sortedKeys(m) {
		eps = append(eps, ep)
		vals = append(vals, F(mean(m[ep])))
	}
	return eps, vals
}

func gradNorms(epochs []store.EpochRow, layers [][]LayerStats) []LayerSeries {
	out := []LayerSeries{}
	m := layerMeans(epochs, layers, func(e store.EpochRow) string { return act(e.Activation) }, func(l LayerStats) *float64 { return l.GradNorm })
	for _, a := range sortedKeys(m) {
		for _, l := range sortedKeys(m[a]) {
			eps, vals := series(m[a][l])
			out = append(out, LayerSeries{Activation: a, Trial: -1, Layer: l, Epochs: eps, Values: vals})
		}
	}
	return out
}

func preluSlopes(epochs []store.EpochRow, layers [][]LayerStats) []LayerSeries {
	out := []LayerSeries{}
	acts := map[int]string{}
	m := layerMeans(epochs, layers, func(e store.EpochRow) string {
		acts[e.Trial] = act(e.Activation)
		return strconv.Itoa(e.Trial)
	}, func(l LayerStats) *float64 { return l.PReLUSlope })
	var trials []int
	for k := range m {
		n, _ := strconv.Atoi(k)
		trials = append(trials, n)
	}
	sort.Ints(trials)
	for _, t := range trials {
		byLayer := m[strconv.Itoa(t)]
		for _, l := range sortedKeys(byLayer) {
			eps, vals := series(byLayer[l])
			out = append(out, LayerSeries{Activation: acts[t], Trial: t, Layer: l, Epochs: eps, Values: vals})
		}
	}
	return out
}

func pareto(complete []store.TrialOverview, maximize bool) []ParetoPoint {
	out := []ParetoPoint{}
	for _, t := range complete {
		if !finite(t.SamplesPerSec) || *t.SamplesPerSec <= 0 {
			continue
		}
		out = append(out, ParetoPoint{Trial: t.Trial, Activation: act(t.Activation), SecondsPer1k: F(1000 / *t.SamplesPerSec), Objective: F(*t.Objective)})
	}
	better := func(a, b float64) bool {
		if maximize {
			return a > b
		}
		return a < b
	}
	for i := range out {
		front := true
		for j := range out {
			if i == j {
				continue
			}
			oi, oj := float64(out[i].Objective), float64(out[j].Objective)
			ti, tj := float64(out[i].SecondsPer1k), float64(out[j].SecondsPer1k)
			// j dominates i: no worse on both, better on one.
			if !better(oi, oj) && tj <= ti && (better(oj, oi) || tj < ti) {
				front = false
				break
			}
		}
		out[i].Front = front
	}
	return out
}

// Source is where Load reads a study; a *store.Reader is one.
type Source interface {
	StudyOverview(ctx context.Context, study string) (store.StudyOverview, error)
	TrialOverviews(ctx context.Context, study string, trial int) ([]store.TrialOverview, error)
	EpochRows(ctx context.Context, study string, trial int) ([]store.EpochRow, error)
}

// Load reads a study from src and builds its view.
func Load(ctx context.Context, src Source, study string) (*Study, error) {
	return LoadCached(ctx, src, study, nil)
}

// LoadCached is Load with BuildCached's cache.
func LoadCached(ctx context.Context, src Source, study string, cache *Cache) (*Study, error) {
	ov, err := src.StudyOverview(ctx, study)
	if err != nil {
		return nil, err
	}
	trials, err := src.TrialOverviews(ctx, study, -1)
	if err != nil {
		return nil, err
	}
	epochs, err := src.EpochRows(ctx, study, -1)
	if err != nil {
		return nil, err
	}
	return BuildCached(ov, trials, epochs, cache)
}

// SpaceParams returns the parameters of a stored spec's search space.
func SpaceParams(specJSON []byte) ([]Param, error) {
	space, err := studySpace(specJSON)
	if err != nil {
		return nil, err
	}
	return params(space), nil
}

// ImportanceInput returns a study's search space and its complete trials
// as fANOVA takes them.
func ImportanceInput(ov store.StudyOverview, trials []store.TrialOverview) (*search.Space, []importance.Trial, error) {
	space, err := studySpace(ov.Spec)
	if err != nil {
		return nil, nil, fmt.Errorf("study %s: %w", ov.Study, err)
	}
	var ts []importance.Trial
	for _, t := range completeTrials(trials) {
		var c search.Config
		if err := json.Unmarshal(t.Params, &c); err != nil {
			return nil, nil, fmt.Errorf("study %s: trial %d: params: %w", ov.Study, t.Trial, err)
		}
		ts = append(ts, importance.Trial{Config: c, Value: *t.Objective})
	}
	return space, ts, nil
}
