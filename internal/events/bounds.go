package events

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds on a metric message and the row stored from it. The metrics sink
// checks every message against them (and against the trial's own epoch budget) before anything
// reaches SQL, and the store checks them again before it writes.
const (
	// MaxAttempt is the highest attempt number a metric row may carry. It
	// is far above any retry policy in use (TrainTrial allows a few attempts,
	// and retries of infrastructure failures may add more): it bounds what
	// a message can claim, so one cannot fence out real attempts with an
	// attempt of 3e9. Raise it here, and only here, if a retry policy ever
	// needs more.
	MaxAttempt = 100
	// MaxEpoch is the highest epoch of any trial: the ceiling of a study's
	// schedule.max_epochs (spec.MaxEpochs). A trial's own bound is its
	// study's schedule.max_epochs.
	MaxEpoch = 1000
	// MaxWorkerBytes bounds a worker's name.
	MaxWorkerBytes = 256
	// MaxLayersBytes bounds the JSON of a row's per-layer diagnostics.
	MaxLayersBytes = 16 << 10
)

// CheckText checks that a text value fits a Postgres text column and a
// bound: valid UTF-8, no NUL byte, at most max bytes.
func CheckText(field, s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("%s is %d bytes, at most %d allowed", field, len(s), max)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%s %.64q must not contain a NUL byte", field, s)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %.64q must be valid UTF-8", field, s)
	}
	return nil
}
