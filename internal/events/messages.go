package events

import (
	"math"
	"time"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
)

// EpochMetrics is the message a worker publishes after each epoch of a
// trial: who and where, the epoch's values (EpochValues, flattened into
// the message) and per-layer diagnostics. Non-finite values are null.
type EpochMetrics struct {
	Study      string `json:"study"`
	StudyID    int64  `json:"study_id"`
	Trial      int    `json:"trial"`
	TrialID    int64  `json:"trial_id"`
	Attempt    int    `json:"attempt"`
	Worker     string `json:"worker"`
	Epoch      int    `json:"epoch"`
	MaxEpochs  int    `json:"max_epochs"`
	Activation string `json:"activation,omitempty"`
	EpochValues
	Layers []LayerStats `json:"layers"`
	Time   time.Time    `json:"time"`
}

// TrialStatus is published when a trial's final status has been recorded.
type TrialStatus struct {
	Study      string       `json:"study"`
	Trial      int          `json:"trial"`
	TrialID    int64        `json:"trial_id"`
	Activation string       `json:"activation,omitempty"`
	Status     search.State `json:"status"`
	Objective  *float64     `json:"objective"`
	EpochsDone int          `json:"epochs_done"`
	Error      string       `json:"error,omitempty"`
	Time       time.Time    `json:"time"`
}

// LayerStats are one hidden layer's diagnostics in a message.
type LayerStats struct {
	DeadFraction *float64 `json:"dead_fraction"`
	Saturation   *float64 `json:"saturation"`
	ActMean      *float64 `json:"act_mean"`
	ActStd       *float64 `json:"act_std"`
	GradNorm     *float64 `json:"grad_norm"`
	PReLUSlope   *float64 `json:"prelu_slope,omitempty"`
}

// SetTrainerMetrics fills the metric fields of e from one trainer epoch,
// including the layer means stored as columns (dead fraction and
// saturation averaged over hidden layers, gradient norm as the L2 norm over
// layers).
func (e *EpochMetrics) SetTrainerMetrics(m trainer.EpochMetrics) {
	e.Epoch = m.Epoch
	e.TrainLoss = Finite(m.TrainLoss)
	e.ValLoss = Finite(m.ValLoss)
	e.ValAccuracy = Finite(m.ValAccuracy)
	e.SamplesPerSec = Finite(m.SamplesPerSec)
	e.LR = Finite(m.LR)
	e.Layers = make([]LayerStats, len(m.Layers))
	var dead, sat, g2 float64
	for i, l := range m.Layers {
		e.Layers[i] = LayerStats{
			DeadFraction: Finite(l.DeadFraction),
			Saturation:   Finite(l.Saturation),
			ActMean:      Finite(l.ActMean),
			ActStd:       Finite(l.ActStd),
			GradNorm:     Finite(l.GradNorm),
		}
		if l.PReLUSlope != nil {
			e.Layers[i].PReLUSlope = Finite(*l.PReLUSlope)
		}
		dead += l.DeadFraction
		sat += l.Saturation
		g2 += l.GradNorm * l.GradNorm
	}
	if n := float64(len(m.Layers)); n > 0 {
		e.DeadFraction = Finite(dead / n)
		e.Saturation = Finite(sat / n)
		e.GradNorm = Finite(math.Sqrt(g2))
	}
}
