package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
)

// DecodedMetric is a metrics message that passed every check that needs
// no database: where its subject says it belongs, and the row to store.
type DecodedMetric struct {
	Study   string // the study named by the subject (and the body)
	Trial   int    // the trial number named by the subject (and the body)
	StudyID int64  // the body's study_id; 0 when absent
	Row     store.MetricRow
}

// DecodeMetricRow parses a metrics message published on subject and checks
// everything that needs no database: the message is at most
// events.MaxMessageBytes of JSON of the events.EpochMetrics shape; its study and trial
// are the subject's; trial_id > 0; epoch in [1, events.MaxEpoch]; attempt
// in [1, events.MaxAttempt]; worker and activation short, valid UTF-8
// without NUL; at most events.MaxLayers layers. A value too large for a float64 is
// non-finite, and stored as null like NaN and Inf. Every error wraps
// events.ErrPoison and names the field, its value and what is allowed.
//
// The trial's own epoch budget and the trial's identity (that trial_id is
// the subject's trial of the subject's study) are the sink's to check
// against Postgres: the message's max_epochs is not trusted.
//
// The common message is read by a one-pass decoder (decodeFast) that
// declines anything unusual, which is then decoded by encoding/json; both
// give the same result.
func DecodeMetricRow(c events.Config, subject string, data []byte) (DecodedMetric, error) {
	study, trial, err := c.ParseMetricsSubject(subject)
	if err != nil {
		return DecodedMetric{Study: study}, err
	}
	d := DecodedMetric{Study: study, Trial: trial}
	bad := func(format string, args ...any) (DecodedMetric, error) {
		return d, fmt.Errorf("%w: "+format, append([]any{events.ErrPoison}, args...)...)
	}
	if len(data) > events.MaxMessageBytes {
		return bad("message is %d bytes, at most %d allowed", len(data), events.MaxMessageBytes)
	}
	m, lj, nLayers, fast := decodeFast(data)
	if !fast {
		var err error
		if m, err = unmarshalMetrics(data); err != nil {
			return bad("not a metrics message: %v", err)
		}
		nLayers = len(m.Layers)
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
	case m.Epoch < 1 || m.Epoch > events.MaxEpoch:
		return bad("epoch %d must be in [1, %d]", m.Epoch, events.MaxEpoch)
	case m.Attempt < 1 || m.Attempt > events.MaxAttempt:
		return bad("attempt %d must be in [1, %d]", m.Attempt, events.MaxAttempt)
	case nLayers > events.MaxLayers:
		return bad("%d layers, at most %d allowed", nLayers, events.MaxLayers)
	}
	if err := events.CheckText("worker", m.Worker, events.MaxWorkerBytes); err != nil {
		return bad("%v", err)
	}
	if err := events.CheckText("activation", m.Activation, events.MaxActivationBytes); err != nil {
		return bad("%v", err)
	}
	if !fast {
		layers := m.Layers
		if layers == nil {
			layers = []events.LayerStats{} // "[]", never JSON null
		}
		var err error
		if lj, err = json.Marshal(layers); err != nil {
			return bad("layers: %v", err)
		}
	}
	d.StudyID = m.StudyID
	d.Row = store.MetricRow{
		TrialID: m.TrialID, Epoch: int(m.Epoch), Attempt: int(m.Attempt),
		EpochValues: m.EpochValues, Layers: lj, Worker: m.Worker,
	}
	if err := d.Row.Validate(); err != nil { // the store's own check, so nothing it would refuse gets past
		return bad("%v", err)
	}
	return d, nil
}

// metricIdentity is who and where a metrics message says it is from, with
// integers wide enough that an out-of-range value is seen, not wrapped.
type metricIdentity struct {
	Study      string `json:"study"`
	StudyID    int64  `json:"study_id"`
	Trial      int64  `json:"trial"`
	TrialID    int64  `json:"trial_id"`
	Attempt    int64  `json:"attempt"`
	Worker     string `json:"worker"`
	Epoch      int64  `json:"epoch"`
	Activation string `json:"activation"`
}

// metricFields is the part of events.EpochMetrics the sink reads.
type metricFields struct {
	metricIdentity
	events.EpochValues
	// LegacySamplesPerSec is samples_per_sec under the name older workers
	// gave it (events.LegacySamplesPerSecKey).
	LegacySamplesPerSec *float64            `json:"train_samples_per_sec"`
	Layers              []events.LayerStats `json:"layers"`
}

// unmarshalMetrics decodes a message. Values are finite or nil: JSON
// cannot spell NaN or Inf, and a number beyond float64's range would be
// ±Inf, so it is nil, as every non-finite value is (see events.Finite). The
// common case decodes straight into pointers; only a message that fails
// that is decoded again with the tolerant wireFloat, value by value along
// events.EpochColumns.
func unmarshalMetrics(data []byte) (metricFields, error) {
	var m metricFields
	err := json.Unmarshal(data, &m)
	if err != nil {
		m, err = unmarshalTolerant(data, err)
	}
	if m.SamplesPerSec == nil {
		m.SamplesPerSec = m.LegacySamplesPerSec
	}
	return m, err
}

// unmarshalTolerant decodes a message whose values overflow float64: the
// identity fields strictly, each value as a wireFloat. strictErr is
// returned when even that fails.
func unmarshalTolerant(data []byte, strictErr error) (metricFields, error) {
	var w struct {
		metricIdentity
		Layers []wireLayer `json:"layers"`
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &w) != nil || json.Unmarshal(data, &raw) != nil {
		return metricFields{}, strictErr
	}
	value := func(key string) (*float64, bool) {
		b, ok := raw[key]
		if !ok {
			return nil, true
		}
		var f wireFloat
		if f.UnmarshalJSON(b) != nil {
			return nil, false
		}
		return f.ptr(), true
	}
	m := metricFields{metricIdentity: w.metricIdentity}
	var ok bool
	if m.LegacySamplesPerSec, ok = value(events.LegacySamplesPerSecKey); !ok {
		return metricFields{}, strictErr
	}
	for _, c := range events.EpochColumns {
		if *c.Of(&m.EpochValues), ok = value(c.Name); !ok {
			return metricFields{}, strictErr
		}
	}
	if w.Layers != nil {
		m.Layers = make([]events.LayerStats, len(w.Layers))
		for i, l := range w.Layers {
			m.Layers[i] = events.LayerStats{
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
