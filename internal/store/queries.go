package store

import (
	"github.com/relutune/relutune/internal/events"

	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// RankedTrial is a row of the trial_ranking view.
type RankedTrial struct {
	Rank       int             `json:"rank"`
	Trial      int             `json:"trial"`
	Activation *string         `json:"activation"`
	Params     json.RawMessage `json:"params"`
	Replicate  int             `json:"replicate"`
	Seed       int64           `json:"seed"`
	Objective  float64         `json:"objective"`
	Metric     string          `json:"metric"`
	EpochsDone int             `json:"epochs_done"`
	// TestAccuracy is the trial's accuracy on the test split; nil for
	// trials recorded before it was stored.
	TestAccuracy *float64 `json:"test_accuracy"`
}

// Top returns the best limit completed trials of a study (all when limit <= 0).
func (s *Store) Top(ctx context.Context, study string, limit int) ([]RankedTrial, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.pool.Query(ctx, `SELECT rank, trial, activation, params, replicate, seed, objective, metric, epochs_done, test_accuracy
		FROM trial_ranking WHERE study = $1 ORDER BY rank, trial LIMIT $2`, study, limit)
	if err != nil {
		return nil, fmt.Errorf("store: top: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RankedTrial, error) {
		var t RankedTrial
		var params []byte
		err := r.Scan(&t.Rank, &t.Trial, &t.Activation, &params, &t.Replicate, &t.Seed, &t.Objective, &t.Metric, &t.EpochsDone, &t.TestAccuracy)
		t.Params = params
		return t, err
	})
}

// ActivationStats is a row of the activation_summary view.
type ActivationStats struct {
	Activation *string  `json:"activation"`
	N          int      `json:"n"`
	Mean       *float64 `json:"mean"`
	Stddev     *float64 `json:"stddev"`
	CI95Low    *float64 `json:"ci95_low"`
	CI95High   *float64 `json:"ci95_high"`
	Best       *float64 `json:"best"`
	Diverged   int      `json:"diverged"`
	Pruned     int      `json:"pruned"`
	Trials     int      `json:"trials"`
}

// ActivationSummary returns the activation_summary rows of a study.
func (s *Store) ActivationSummary(ctx context.Context, study string) ([]ActivationStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT activation, n, mean, stddev, ci95_low, ci95_high, best, diverged, pruned, trials
		FROM activation_summary WHERE study = $1`, study)
	if err != nil {
		return nil, fmt.Errorf("store: activation summary: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ActivationStats, error) {
		var a ActivationStats
		err := r.Scan(&a.Activation, &a.N, &a.Mean, &a.Stddev, &a.CI95Low, &a.CI95High, &a.Best, &a.Diverged, &a.Pruned, &a.Trials)
		return a, err
	})
}

// StatusCounts returns the number of trials per status for a study.
func (s *Store) StatusCounts(ctx context.Context, studyID int64) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM trials WHERE study_id = $1 GROUP BY status`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: status counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// SeedMean is a row of the activation_seed_means view.
type SeedMean struct {
	Activation string  `json:"activation"`
	Seed       int64   `json:"seed"`
	N          int     `json:"n"`
	Mean       float64 `json:"mean"`
}

// ActivationSeedMeans returns, per activation and replicate seed, the mean
// objective of a study's complete trials.
func (s *Store) ActivationSeedMeans(ctx context.Context, study string) ([]SeedMean, error) {
	rows, err := s.pool.Query(ctx, `SELECT coalesce(activation, ''), seed, n, mean FROM activation_seed_means WHERE study = $1`, study)
	if err != nil {
		return nil, fmt.Errorf("store: activation seed means: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[SeedMean])
}

// TrialMetrics returns every metric row of a study, by trial and epoch.
func (s *Store) TrialMetrics(ctx context.Context, studyID int64) ([]MetricExport, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.number, m.epoch, m.attempt, `+valueColumns("m.")+`, m.layers
		FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
		WHERE t.study_id = $1 ORDER BY t.number, m.epoch`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: metrics: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (MetricExport, error) {
		var m MetricExport
		var layers []byte
		dest := []any{&m.Trial, &m.Epoch, &m.Attempt}
		for _, c := range events.EpochColumns {
			dest = append(dest, c.Of(&m.EpochValues))
		}
		err := r.Scan(append(dest, &layers)...)
		m.Layers = layers
		return m, err
	})
}

// MetricExport is one epoch of one trial, for export.
type MetricExport struct {
	Trial   int `json:"trial"`
	Epoch   int `json:"epoch"`
	Attempt int `json:"attempt"`
	events.EpochValues
	Layers json.RawMessage `json:"layers"`
}

// CurvePoint is the mean of a metric over an activation's trials at one epoch.
type CurvePoint struct {
	Activation string  `json:"activation"`
	Epoch      int     `json:"epoch"`
	Mean       float64 `json:"mean"`
	N          int     `json:"n"`
}

// ActivationCurves returns, per activation and epoch, the mean of metric
// (val_accuracy, val_loss, train_loss, dead_fraction, saturation or
// grad_norm) over the study's trials that reached that epoch.
func (s *Store) ActivationCurves(ctx context.Context, studyID int64, metric string) ([]CurvePoint, error) {
	c, err := curveColumn(metric)
	if err != nil {
		return nil, fmt.Errorf("store: curves: %w", err)
	}
	// The column comes from events.EpochColumns, never from the caller's text.
	col := "m." + pgx.Identifier{c.Name}.Sanitize()
	rows, err := s.pool.Query(ctx, `SELECT coalesce(t.activation, ''), m.epoch, avg(`+col+`), count(`+col+`)
		FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
		WHERE t.study_id = $1 AND `+col+` IS NOT NULL
		GROUP BY 1, 2 ORDER BY 1, 2`, studyID)
	if err != nil {
		return nil, fmt.Errorf("store: curves: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[CurvePoint])
}
