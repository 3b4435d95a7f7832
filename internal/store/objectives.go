package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TrialEpoch is what objective values are computed from of one stored
// epoch of a trial. Nil is a value that was not finite.
type TrialEpoch struct {
	Epoch         int
	TrainLoss     *float64
	ValLoss       *float64
	ValAccuracy   *float64
	SamplesPerSec *float64
}

// ObjectiveInputs is what the controller needs to compute a recorded
// trial's objective values: the study's spec, the trial's row and its
// stored epochs 1..epochs_done, in epoch order (none read for a
// single-objective study).
type ObjectiveInputs struct {
	Spec   []byte // canonical JSON
	Trial  Trial
	Epochs []TrialEpoch
}

// ObjectiveInputs returns the inputs of trial id's objective values, or
// ErrNotFound. The epochs are read only when the study's spec lists
// objectives, so a single-objective study pays one query.
func (s *Store) ObjectiveInputs(ctx context.Context, id int64) (ObjectiveInputs, error) {
	var in ObjectiveInputs
	var multi bool
	rows, err := s.pool.Query(ctx, `SELECT `+trialColumns+`, (SELECT spec FROM studies WHERE studies.id = trials.study_id)
		FROM trials WHERE id = $1`, id)
	if err != nil {
		return in, fmt.Errorf("store: objective inputs of trial %d: %w", id, err)
	}
	in.Trial, err = pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (Trial, error) {
		var t Trial
		err := r.Scan(&t.ID, &t.StudyID, &t.Number, &t.ConfigHash, &t.Params, &t.Replicate, &t.Seed, &t.Status,
			&t.Objective, &t.EpochsDone, &t.Attempt, &t.Error, &t.Worker, &t.StartedAt, &t.FinishedAt, &t.TestAccuracy,
			&t.ObjectiveValues, &in.Spec)
		return t, err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return in, fmt.Errorf("%w: trial %d", ErrNotFound, id)
	}
	if err != nil {
		return in, fmt.Errorf("store: objective inputs of trial %d: %w", id, err)
	}
	var probe struct {
		Objectives []json.RawMessage `json:"objectives"`
	}
	if err := json.Unmarshal(in.Spec, &probe); err == nil {
		multi = len(probe.Objectives) > 0
	}
	if !multi {
		return in, nil
	}
	rows, err = s.pool.Query(ctx, `SELECT epoch, train_loss, val_loss, val_accuracy, samples_per_sec
		FROM trial_metrics WHERE trial_id = $1 AND epoch <= $2 ORDER BY epoch`, id, in.Trial.EpochsDone)
	if err != nil {
		return in, fmt.Errorf("store: objective inputs of trial %d: metrics: %w", id, err)
	}
	in.Epochs, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TrialEpoch, error) {
		var e TrialEpoch
		err := r.Scan(&e.Epoch, &e.TrainLoss, &e.ValLoss, &e.ValAccuracy, &e.SamplesPerSec)
		return e, err
	})
	if err != nil {
		return in, fmt.Errorf("store: objective inputs of trial %d: metrics: %w", id, err)
	}
	return in, nil
}

// SetObjectiveValues stores a complete trial's objective values (nil
// elements for values that could not be measured). The first write wins:
// a retry, or a late recomputation, changes nothing. It reports whether the
// row changed.
func (s *Store) SetObjectiveValues(ctx context.Context, id int64, values []*float64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE trials SET objective_values = $2
		WHERE id = $1 AND status = 'complete' AND objective_values IS NULL`, id, values)
	if err != nil {
		return false, fmt.Errorf("store: objective values of trial %d: %w", id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ParetoTrial is a row of the pareto_front view, or of trial_objectives
// with its rank.
type ParetoTrial struct {
	Trial      int             `json:"trial"`
	Activation *string         `json:"activation"`
	Params     json.RawMessage `json:"params"`
	Replicate  int             `json:"replicate"`
	Seed       int64           `json:"seed"`
	Values     []*float64      `json:"objective_values"`
	Metrics    []string        `json:"metrics"`
	Directions []string        `json:"directions"`
	// Dominates counts the study's trials this one dominates.
	Dominates int `json:"dominates"`
}

// ParetoFront returns the pareto_front rows of a study, ordered by their
// objective values.
func (s *Store) ParetoFront(ctx context.Context, study string) ([]ParetoTrial, error) {
	rows, err := s.pool.Query(ctx, `SELECT trial, activation, params, replicate, seed, objective_values, metrics, directions, dominates
		FROM pareto_front WHERE study = $1 ORDER BY objective_values, trial`, study)
	if err != nil {
		return nil, fmt.Errorf("store: pareto front: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ParetoTrial, error) {
		var t ParetoTrial
		var params []byte
		err := r.Scan(&t.Trial, &t.Activation, &params, &t.Replicate, &t.Seed, &t.Values, &t.Metrics, &t.Directions, &t.Dominates)
		t.Params = params
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: pareto front: %w", err)
	}
	return out, nil
}
