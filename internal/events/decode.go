package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/relutune/relutune/internal/records"
)

// Bounds on a metrics message, checked by DecodeMetricRow. The bounds of
// the row itself (epoch, attempt, worker) are records'.
const (
	// MaxMessageBytes bounds a metrics message. A real one is a few KiB
	// (a dozen numbers per hidden layer, and a spec allows at most 16).
	MaxMessageBytes = 64 << 10
	// MaxLayers bounds the per-layer diagnostics of one message.
	MaxLayers = 64
	// MaxActivationBytes bounds the activation's name.
	MaxActivationBytes = 64
)

// ErrPoison is wrapped by the error of a message that can never be stored,
// however often it is retried: the sink dead-letters it.
var ErrPoison = errors.New("events: message can never be stored")

// DecodedMetric is a metrics message that passed every check that needs
// no database: where its subject says it belongs, and the row to store.
type DecodedMetric struct {
	Study   string // the study named by the subject (and the body)
	Trial   int    // the trial number named by the subject (and the body)
	StudyID int64  // the body's study_id; 0 when absent
	Row     records.MetricRow
}

// isStudyName reports whether s follows the study name rule of the spec
// and the studies table: ^[a-z0-9][a-z0-9-]{0,62}$.
func isStudyName(s string) bool {
	if len(s) < 1 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// ParseMetricsSubject returns the study and trial number a metrics subject
// (<prefix>.study.<study>.trial.<trial>.metrics) names. The study must be a
// valid study name and the trial a canonical decimal number in [0, 2^31).
func (c Config) ParseMetricsSubject(subject string) (study string, trial int, err error) {
	c = c.withDefaults()
	tok := strings.Split(subject, ".")
	if len(tok) != 6 || tok[0] != c.Prefix || tok[1] != "study" || tok[3] != "trial" || tok[5] != "metrics" {
		return "", 0, fmt.Errorf("%w: subject %.128q is not %s.study.<study>.trial.<trial>.metrics", ErrPoison, subject, c.Prefix)
	}
	study = tok[2]
	if !isStudyName(study) {
		return "", 0, fmt.Errorf("%w: subject %.128q: study %.64q is not a study name (^[a-z0-9][a-z0-9-]{0,62}$)", ErrPoison, subject, study)
	}
	n, err := strconv.ParseInt(tok[4], 10, 32)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != tok[4] {
		return study, 0, fmt.Errorf("%w: subject %.128q: trial %.16q must be a number in [0, %d]", ErrPoison, subject, tok[4], 1<<31-1)
	}
	return study, int(n), nil
}

// DecodeMetricRow parses a metrics message published on subject and checks
// everything that needs no database: the message is at most
// MaxMessageBytes of JSON of the EpochMetrics shape; its study and trial
// are the subject's; trial_id > 0; epoch in [1, records.MaxEpoch]; attempt
// in [1, records.MaxAttempt]; worker and activation short, valid UTF-8
// without NUL; at most MaxLayers layers. A value too large for a float64 is
// non-finite, and stored as null like NaN and Inf. Every error wraps
// ErrPoison and names the field, its value and what is allowed.
//
// The trial's own epoch budget and the trial's identity (that trial_id is
// the subject's trial of the subject's study) are the sink's to check
// against Postgres: the message's max_epochs is not trusted.
func (c Config) DecodeMetricRow(subject string, data []byte) (DecodedMetric, error) {
	study, trial, err := c.ParseMetricsSubject(subject)
	if err != nil {
		return DecodedMetric{Study: study}, err
	}
	d := DecodedMetric{Study: study, Trial: trial}
	bad := func(format string, args ...any) (DecodedMetric, error) {
		return d, fmt.Errorf("%w: "+format, append([]any{ErrPoison}, args...)...)
	}
	if len(data) > MaxMessageBytes {
		return bad("message is %d bytes, at most %d allowed", len(data), MaxMessageBytes)
	}
	m, err := unmarshalMetrics(data)
	if err != nil {
		return bad("not a metrics message: %v", err)
	}
	switch {
	case m.Study != study:
		return bad("study %.64q in the message is not %q, the subject's", m.Study, study)
	case m.Trial != int64(trial):
		return bad("trial %d in the message is not %d, the subject's", m.Trial, trial)
	case m.TrialID <= 0:
		return bad("trial_id %d must be > 0", m.TrialID)
	case m.StudyID < 0:
		return bad("study_id %d must be >= 0", m.StudyID)
	case m.Epoch < 1 || m.Epoch > records.MaxEpoch:
		return bad("epoch %d must be in [1, %d]", m.Epoch, records.MaxEpoch)
	case m.Attempt < 1 || m.Attempt > records.MaxAttempt:
		return bad("attempt %d must be in [1, %d]", m.Attempt, records.MaxAttempt)
	case len(m.Layers) > MaxLayers:
		return bad("%d layers, at most %d allowed", len(m.Layers), MaxLayers)
	}
	if err := records.CheckText("worker", m.Worker, records.MaxWorkerBytes); err != nil {
		return bad("%v", err)
	}
	if err := records.CheckText("activation", m.Activation, MaxActivationBytes); err != nil {
		return bad("%v", err)
	}
	layers := m.Layers
	if layers == nil {
		layers = []LayerStats{} // "[]", never JSON null
	}
	lj, err := json.Marshal(layers)
	if err != nil {
		return bad("layers: %v", err)
	}
	d.StudyID = m.StudyID
	d.Row = records.MetricRow{
		TrialID: m.TrialID, Epoch: int(m.Epoch), Attempt: int(m.Attempt),
		TrainLoss: m.TrainLoss, ValLoss: m.ValLoss, ValAccuracy: m.ValAccuracy,
		DeadFraction: m.DeadFraction, Saturation: m.Saturation, GradNorm: m.GradNorm,
		SamplesPerSec: m.SamplesPerSec, LR: m.LR, Layers: lj, Worker: m.Worker,
	}
	if err := d.Row.Validate(); err != nil { // the store's own check, so nothing it would refuse gets past
		return bad("%v", err)
	}
	return d, nil
}

// metricFields is the part of EpochMetrics the sink reads, with integers
// wide enough that an out-of-range value is seen, not wrapped.
type metricFields[F any, L any] struct {
	Study         string `json:"study"`
	StudyID       int64  `json:"study_id"`
	Trial         int64  `json:"trial"`
	TrialID       int64  `json:"trial_id"`
	Attempt       int64  `json:"attempt"`
	Worker        string `json:"worker"`
	Epoch         int64  `json:"epoch"`
	Activation    string `json:"activation"`
	TrainLoss     F      `json:"train_loss"`
	ValLoss       F      `json:"val_loss"`
	ValAccuracy   F      `json:"val_accuracy"`
	SamplesPerSec F      `json:"train_samples_per_sec"`
	LR            F      `json:"lr"`
	DeadFraction  F      `json:"dead_fraction"`
	Saturation    F      `json:"saturation"`
	GradNorm      F      `json:"grad_norm"`
	Layers        []L    `json:"layers"`
}

// unmarshalMetrics decodes a message. Values are finite or nil: JSON
// cannot spell NaN or Inf, and a number beyond float64's range would be
// ±Inf, so it is nil, as every non-finite value is (see Finite). The
// common case decodes straight into pointers; only a message that fails
// that is decoded again with the tolerant wireFloat.
func unmarshalMetrics(data []byte) (metricFields[*float64, LayerStats], error) {
	var m metricFields[*float64, LayerStats]
	err := json.Unmarshal(data, &m)
	if err == nil {
		return m, nil
	}
	var w metricFields[wireFloat, wireLayer]
	if json.Unmarshal(data, &w) != nil {
		return m, err
	}
	m = metricFields[*float64, LayerStats]{
		Study: w.Study, StudyID: w.StudyID, Trial: w.Trial, TrialID: w.TrialID, Attempt: w.Attempt,
		Worker: w.Worker, Epoch: w.Epoch, Activation: w.Activation,
		TrainLoss: w.TrainLoss.ptr(), ValLoss: w.ValLoss.ptr(), ValAccuracy: w.ValAccuracy.ptr(),
		SamplesPerSec: w.SamplesPerSec.ptr(), LR: w.LR.ptr(), DeadFraction: w.DeadFraction.ptr(),
		Saturation: w.Saturation.ptr(), GradNorm: w.GradNorm.ptr(),
	}
	if w.Layers != nil {
		m.Layers = make([]LayerStats, len(w.Layers))
		for i, l := range w.Layers {
			m.Layers[i] = LayerStats{
				DeadFraction: l.DeadFraction.ptr(), Saturation: l.Saturation.ptr(), ActMean: l.ActMean.ptr(),
				ActStd: l.ActStd.ptr(), GradNorm: l.GradNorm.ptr(), PReLUSlope: l.PReLUSlope.ptr(),
			}
		}
	}
	return m, nil
}

type wireLayer struct {
	DeadFraction wireFloat `json:"dead_fraction"`
	Saturation   wireFloat `json:"saturation"`
	ActMean      wireFloat `json:"act_mean"`
	ActStd       wireFloat `json:"act_std"`
	GradNorm     wireFloat `json:"grad_norm"`
	PReLUSlope   wireFloat `json:"prelu_slope"`
}

// wireFloat is a JSON number or null. A number beyond float64's range
// would be ±Inf: it is null.
type wireFloat struct {
	x  float64
	ok bool
}

func (f *wireFloat) UnmarshalJSON(b []byte) error {
	*f = wireFloat{}
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		return fmt.Errorf("%.32s is not a number", b)
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil // ±Inf: null
		}
		return err
	}
	if !math.IsNaN(x) && !math.IsInf(x, 0) {
		*f = wireFloat{x: x, ok: true}
	}
	return nil
}

func (f wireFloat) ptr() *float64 {
	if !f.ok {
		return nil
	}
	x := f.x
	return &x
}
