package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on a metrics message, checked by the metrics sink's decoder
// (internal/controller) along with MaxEpoch, MaxAttempt and MaxWorkerBytes.
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

// IsStudyName reports whether s follows the study name rule of the spec
// and the studies table: ^[a-z0-9][a-z0-9-]{0,62}$.
func IsStudyName(s string) bool {
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
	c = c.WithDefaults()
	tok := strings.Split(subject, ".")
	if len(tok) != 6 || tok[0] != c.Prefix || tok[1] != "study" || tok[3] != "trial" || tok[5] != "metrics" {
		return "", 0, fmt.Errorf("%w: subject %.128q is not %s.study.<study>.trial.<trial>.metrics", ErrPoison, subject, c.Prefix)
	}
	study = tok[2]
	if !IsStudyName(study) {
		return "", 0, fmt.Errorf("%w: subject %.128q: study %.64q is not a study name (^[a-z0-9][a-z0-9-]{0,62}$)", ErrPoison, subject, study)
	}
	n, err := strconv.ParseInt(tok[4], 10, 32)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != tok[4] {
		return study, 0, fmt.Errorf("%w: subject %.128q: trial %.16q must be a number in [0, %d]", ErrPoison, subject, tok[4], 1<<31-1)
	}
	return study, int(n), nil
}
