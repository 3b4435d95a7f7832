package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/relutune/relutune/internal/events"
)

// ErrInvalidMetric is wrapped by the errors of MetricRow.Validate.
var ErrInvalidMetric = errors.New("invalid metric row")

// ErrRejected is wrapped by a store error that no retry can fix: Postgres
// refused the data itself (a data exception or an integrity violation), or
// a row failed Validate. A batch rejected this way holds at least one row
// that can never be written; connection and other transient errors never
// wrap it.
var ErrRejected = errors.New("store: rows rejected")

// Validate checks the row against the bounds of package events: trial id positive,
// epoch in [1, events.MaxEpoch], attempt in [1, events.MaxAttempt], the worker's name
// short valid UTF-8 without NUL, every value finite or nil, and the layers
// a bounded JSON array (whose syntax Postgres checks). The error names the
// field, its value and what is allowed.
func (r *MetricRow) Validate() error {
	switch {
	case r.TrialID <= 0:
		return fmt.Errorf("%w: trial_id %d must be > 0", ErrInvalidMetric, r.TrialID)
	case r.Epoch < 1 || r.Epoch > events.MaxEpoch:
		return fmt.Errorf("%w: epoch %d must be in [1, %d]", ErrInvalidMetric, r.Epoch, events.MaxEpoch)
	case r.Attempt < 1 || r.Attempt > events.MaxAttempt:
		return fmt.Errorf("%w: attempt %d must be in [1, %d]", ErrInvalidMetric, r.Attempt, events.MaxAttempt)
	}
	if err := events.CheckText("worker", r.Worker, events.MaxWorkerBytes); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMetric, err)
	}
	for _, c := range events.EpochColumns {
		if v := *c.Of(&r.EpochValues); v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			return fmt.Errorf("%w: %s %v must be finite or null", ErrInvalidMetric, c.Name, *v)
		}
	}
	if r.Layers != nil {
		if len(r.Layers) > events.MaxLayersBytes {
			return fmt.Errorf("%w: layers are %d bytes of JSON, at most %d allowed", ErrInvalidMetric, len(r.Layers), events.MaxLayersBytes)
		}
		// Postgres parses the JSON itself and refuses what is not JSON (a
		// data exception: rejected too); \u0000 it refuses in jsonb, and
		// an array of numbers never needs it.
		if len(r.Layers) == 0 || r.Layers[0] != '[' || bytes.Contains(r.Layers, []byte(`\u0000`)) {
			return fmt.Errorf("%w: layers %.40q must be a JSON array without \\u0000", ErrInvalidMetric, r.Layers)
		}
	}
	return nil
}

// TrialRef is what the metrics sink checks a message against: the stored
// trial's study and number, and its epoch budget.
type TrialRef struct {
	ID        int64
	StudyID   int64
	Study     string // the study's name
	Number    int
	MaxEpochs int // the study's schedule.max_epochs (events.MaxEpoch when the spec has none)
}

// DeadLetter is a message the metrics sink can never store, kept for
// inspection instead of being retried forever.
type DeadLetter struct {
	Subject   string
	Study     string // the study named by the subject; "" when it names none
	Reason    string
	Data      []byte // the message body (the store keeps at most MaxDeadLetterBytes)
	Stream    string // where the message was, so a redelivery is stored once
	StreamSeq uint64
}

// MaxDeadLetterBytes bounds the body a dead letter keeps.
const MaxDeadLetterBytes = 64 << 10
