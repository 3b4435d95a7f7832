package store

import (
	"github.com/relutune/relutune/internal/events"

	"errors"
	"time"

	"github.com/relutune/relutune/search"
)

// Errors the store returns, tested with errors.Is.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrSpecConflict = errors.New("store: a study with this name exists with a different spec")
)

// Study is a row of the studies table.
type Study struct {
	ID         int64             `json:"id"`
	Name       string            `json:"name"`
	Spec       []byte            `json:"-"`
	SpecHash   string            `json:"spec_hash"`
	Metric     string            `json:"metric"`
	Direction  string            `json:"direction"`
	Status     search.StudyState `json:"status"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
}

// NewStudy is what CreateStudy stores.
type NewStudy struct {
	Name      string
	Spec      []byte // canonical JSON
	SpecHash  string
	Metric    string
	Direction string
}

// NewTrial is a suggested trial to store as pending.
type NewTrial struct {
	Number     int
	ConfigHash string
	Params     []byte // JSON object
	Replicate  int
	Seed       int64
}

// Trial is a row of the trials table.
type Trial struct {
	ID         int64        `json:"id"`
	StudyID    int64        `json:"study_id"`
	Number     int          `json:"number"`
	ConfigHash string       `json:"config_hash"`
	Params     []byte       `json:"-"`
	Replicate  int          `json:"replicate"`
	Seed       int64        `json:"seed"`
	Status     search.State `json:"status"`
	Objective  *float64     `json:"objective"`
	// TestAccuracy is the accuracy on the test split after training.
	TestAccuracy *float64   `json:"test_accuracy,omitempty"`
	EpochsDone   int        `json:"epochs_done"`
	Attempt      int        `json:"attempt"`
	Error        *string    `json:"error,omitempty"`
	Worker       *string    `json:"worker,omitempty"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	// ObjectiveValues are a multi-objective study's values of the trial,
	// in the order of its spec's objectives (nil elements: not measured);
	// nil for other trials and before the trial completes.
	ObjectiveValues []*float64 `json:"objective_values,omitempty"`
}

// Outcome is the final result of a trial, as reported by its TrainTrial
// activity.
type Outcome struct {
	TrialID   int64
	Attempt   int
	Status    search.State
	Objective *float64 // must be finite or nil
	// TestAccuracy is the accuracy on the test split after training; must
	// be finite or nil.
	TestAccuracy *float64
	EpochsDone   int
	Error        string
	Worker       string
}

// MetricRow is one epoch of one trial attempt: a row of trial_metrics.
type MetricRow struct {
	TrialID int64
	Epoch   int
	Attempt int
	events.EpochValues
	Layers []byte // JSON array
	Worker string
}

// RungDecider decides, from a value a trial reported at a decision epoch
// and every value reported at that epoch so far with the trials that
// reported them (its own included, last), whether the trial goes on.
type RungDecider func(value float64, reported []search.RungValue) bool
