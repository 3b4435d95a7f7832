package studyview

import (
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

// Objectives are a multi-objective study's complete trials in objective
// space, for its Pareto scatter.
type Objectives struct {
	// Metrics and Directions are the spec's objectives, in order.
	Metrics    []string `json:"metrics"`
	Directions []string `json:"directions"`
	// Points has one entry per complete trial with every value.
	Points []ObjectivePoint `json:"points"`
}

// ObjectivePoint is one trial's objective values; Front marks the trials no
// other trial dominates (non-domination rank 1 over all the objectives).
type ObjectivePoint struct {
	Trial      int    `json:"trial"`
	Activation string `json:"activation"`
	Values     []F    `json:"values"`
	Front      bool   `json:"front"`
}

// objectives returns the study's points in objective space, or nil when
// the spec lists no objectives.
func objectives(sp *spec.Spec, trials []store.TrialOverview) *Objectives {
	if !sp.MultiObjective() {
		return nil
	}
	o := &Objectives{Points: []ObjectivePoint{}}
	for _, x := range sp.Objectives {
		o.Metrics = append(o.Metrics, x.Metric)
		o.Directions = append(o.Directions, string(x.Direction))
	}
	var ys [][]float64
	for _, t := range trials {
		if t.Status != string(search.Complete) || len(t.ObjectiveValues) != len(sp.Objectives) {
			continue
		}
		p := ObjectivePoint{Trial: t.Trial, Activation: act(t.Activation)}
		y := make([]float64, len(t.ObjectiveValues))
		ok := true
		for i, v := range t.ObjectiveValues {
			if !finite(v) {
				ok = false
				break
			}
			p.Values = append(p.Values, F(*v))
			y[i] = *v
			if sp.Objectives[i].Direction == search.Maximize {
				y[i] = -y[i]
			}
		}
		if ok {
			o.Points = append(o.Points, p)
			ys = append(ys, y)
		}
	}
	for i, r := range search.ParetoRanks(ys) {
		o.Points[i].Front = r == 1
	}
	return o
}
