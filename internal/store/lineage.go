package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// LineageStep is one exploit step of population-based training: trial
// Target continued, from Epoch of Generation, from the checkpoint of trial
// Source with parameters NewParams instead of OldParams.
type LineageStep struct {
	Target      int      `json:"trial"`
	Generation  int      `json:"generation"`
	Epoch       int      `json:"epoch"`
	Source      int      `json:"source_trial"`
	SourceValue *float64 `json:"source_value,omitempty"`
	OldParams   []byte   `json:"old_params"`
	NewParams   []byte   `json:"new_params"`
	// NewHash is the configuration hash of NewParams (written to the
	// target's row with them).
	NewHash string `json:"-"`
}

// RecordLineage stores one generation's exploit steps of a study and gives
// each target trial its new parameters, in one transaction. A step already
// stored (a retry) is left as it is, and so is its trial's row.
func (s *Store) RecordLineage(ctx context.Context, studyID int64, steps []LineageStep) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, l := range steps {
			tag, err := tx.Exec(ctx, `INSERT INTO trial_lineage (trial_id, generation, epoch, source_id, source_value, old_params, new_params)
				SELECT t.id, $3, $4, src.id, $6, $7, $8
				FROM trials t, trials src
				WHERE t.study_id = $1 AND t.number = $2 AND src.study_id = $1 AND src.number = $5
				ON CONFLICT (trial_id, generation) DO NOTHING`,
				studyID, l.Target, l.Generation, l.Epoch, l.Source, l.SourceValue, l.OldParams, l.NewParams)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE trials SET params = $3, config_hash = $4 WHERE study_id = $1 AND number = $2`,
				studyID, l.Target, l.NewParams, l.NewHash); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record lineage: %w", err)
	}
	return nil
}

// Lineage returns a study's exploit steps by generation, then trial.
func (s *Store) Lineage(ctx context.Context, study string) ([]LineageStep, error) {
	rows, err := s.pool.Query(ctx, `SELECT trial, generation, epoch, source_trial, source_value, old_params, new_params
		FROM pbt_lineage WHERE study = $1 ORDER BY generation, trial`, study)
	if err != nil {
		return nil, fmt.Errorf("store: lineage: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LineageStep, error) {
		var l LineageStep
		err := r.Scan(&l.Target, &l.Generation, &l.Epoch, &l.Source, &l.SourceValue, &l.OldParams, &l.NewParams)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: lineage: %w", err)
	}
	return out, nil
}
