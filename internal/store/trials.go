package store

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/search"
)

const trialColumns = `id, study_id, number, config_hash, params, replicate, seed, status, objective, epochs_done, attempt, error, worker, started_at, finished_at, test_accuracy, objective_values`

func scanTrial(r pgx.CollectableRow) (Trial, error) {
	var t Trial
	err := r.Scan(&t.ID, &t.StudyID, &t.Number, &t.ConfigHash, &t.Params, &t.Replicate, &t.Seed, &t.Status,
		&t.Objective, &t.EpochsDone, &t.Attempt, &t.Error, &t.Worker, &t.StartedAt, &t.FinishedAt, &t.TestAccuracy, &t.ObjectiveValues)
	return t, err
}

// InsertTrials stores trials as pending and returns the stored rows for
// their numbers. A number that already exists keeps its stored row, so a
// retried insert returns what the first one wrote.
func (s *Store) InsertTrials(ctx context.Context, studyID int64, ts []NewTrial) ([]Trial, error) {
	var out []Trial
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		numbers := make([]int32, len(ts))
		batch := &pgx.Batch{}
		for i, t := range ts {
			numbers[i] = int32(t.Number)
			batch.Queue(`INSERT INTO trials (study_id, number, config_hash, params, replicate, seed)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (study_id, number) DO NOTHING`,
				studyID, t.Number, t.ConfigHash, t.Params, t.Replicate, t.Seed)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+trialColumns+` FROM trials WHERE study_id = $1 AND number = ANY($2) ORDER BY number`, studyID, numbers)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanTrial)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: insert trials: %w", err)
	}
	return out, nil
}

// Trials returns every trial of a study in number order.
func (s *Store) Trials(ctx context.Context, studyID int64) ([]Trial, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trialColumns+` FROM trials WHERE study_id = $1 ORDER BY number`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: trials: %w", err)
	}
	ts, err := pgx.CollectRows(rows, scanTrial)
	if err != nil {
		return nil, fmt.Errorf("store: trials: %w", err)
	}
	return ts, nil
}

// RecordOutcome writes a trial's final status. Only a trial that is not
// already final is updated, and, when o.Attempt is known (> 0), only by an
// attempt at least as new as the last one seen: a late write from a
// superseded attempt cannot win. An outcome decided by the workflow rather
// than by an attempt (canceled, retries exhausted) has Attempt 0. It
// reports whether the row changed.
func (s *Store) RecordOutcome(ctx context.Context, o Outcome) (bool, error) {
	var errText, worker *string
	if o.Error != "" {
		errText = &o.Error
	}
	if o.Worker != "" {
		worker = &o.Worker
	}
	tag, err := s.pool.Exec(ctx, `UPDATE trials SET
			status = $3, objective = $4, epochs_done = greatest(epochs_done, $5), attempt = greatest(attempt, $2),
			error = $6, worker = coalesce($7, worker), test_accuracy = $8,
			started_at = coalesce(started_at, now()), finished_at = now()
		WHERE id = $1 AND ($2 = 0 OR attempt <= $2) AND status IN ('pending', 'running')`,
		o.TrialID, o.Attempt, o.Status, o.Objective, o.EpochsDone, errText, worker, o.TestAccuracy)
	if err != nil {
		return false, fmt.Errorf("store: record trial %d: %w", o.TrialID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// DecideRung records trial's value at epoch and decides, under a lock on
// the study's row so concurrent reports of one study are decided one after
// another, from every value reported at that epoch so far. A repeated
// report of the same trial and epoch (a retry) returns the first decision.
func (s *Store) DecideRung(ctx context.Context, studyID int64, trial, epoch int, value float64, decide RungDecider) (bool, error) {
	return s.decideRung(ctx, studyID, trial, epoch, value, decide, false)
}

// DecideRungBelow is DecideRung over the values of the trials numbered
// below trial only (and its own): once every such trial that reaches the
// epoch has reported, the decision is the same whatever the order the
// reports came in, and whatever later trials reported.
func (s *Store) DecideRungBelow(ctx context.Context, studyID int64, trial, epoch int, value float64, decide RungDecider) (bool, error) {
	return s.decideRung(ctx, studyID, trial, epoch, value, decide, true)
}

func (s *Store) decideRung(ctx context.Context, studyID int64, trial, epoch int, value float64, decide RungDecider, below bool) (bool, error) {
	var goOn bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT id FROM studies WHERE id = $1 FOR UPDATE`, studyID); err != nil {
			return err
		}
		err := tx.QueryRow(ctx, `SELECT decided FROM rung_values WHERE study_id = $1 AND epoch = $2 AND trial = $3`,
			studyID, epoch, trial).Scan(&goOn)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		limit := math.MaxInt32
		if below {
			limit = trial
		}
		rows, err := tx.Query(ctx, `SELECT trial, value FROM rung_values WHERE study_id = $1 AND epoch = $2 AND trial < $3 ORDER BY trial`,
			studyID, epoch, limit)
		if err != nil {
			return err
		}
		reported, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (search.RungValue, error) {
			var r search.RungValue
			err := row.Scan(&r.Trial, &r.Value)
			return r, err
		})
		if err != nil {
			return err
		}
		goOn = decide(value, append(reported, search.RungValue{Trial: trial, Value: value}))
		_, err = tx.Exec(ctx, `INSERT INTO rung_values (study_id, epoch, trial, value, decided) VALUES ($1, $2, $3, $4, $5)`,
			studyID, epoch, trial, value, goOn)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: decide rung: %w", err)
	}
	return goOn, nil
}

// TrialByID returns one trial, or ErrNotFound.
func (s *Store) TrialByID(ctx context.Context, id int64) (Trial, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+trialColumns+` FROM trials WHERE id = $1`, id)
	if err != nil {
		return Trial{}, fmt.Errorf("store: trial %d: %w", id, err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTrial)
	if errors.Is(err, pgx.ErrNoRows) {
		return Trial{}, fmt.Errorf("%w: trial %d", ErrNotFound, id)
	}
	if err != nil {
		return Trial{}, fmt.Errorf("store: trial %d: %w", id, err)
	}
	return t, nil
}

// PendingMetrics counts the metric rows of a study that are reported but
// not stored yet: for each trial, the epochs 1..epochs_done without a row
// in trial_metrics (a diverged trial's last epoch never has one: the loss
// that diverged is not reported). It returns the rows missing and the
// number of trials missing any.
func (s *Store) PendingMetrics(ctx context.Context, studyID int64) (rows, trials int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT coalesce(sum(missing), 0), count(*) FILTER (WHERE missing > 0)
		FROM (
			SELECT e.expected - (SELECT count(*) FROM trial_metrics m
			                     WHERE m.trial_id = e.id AND m.epoch BETWEEN 1 AND e.expected) AS missing
			FROM (SELECT id, greatest(epochs_done - CASE WHEN status = 'diverged' THEN 1 ELSE 0 END, 0) AS expected
			      FROM trials WHERE study_id = $1) e
		) p`, studyID).Scan(&rows, &trials)
	if err != nil {
		return 0, 0, fmt.Errorf("store: pending metrics of study %d: %w", studyID, err)
	}
	return rows, trials, nil
}
