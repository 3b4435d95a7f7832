package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/relutune/relutune/internal/events"
)

// MaxEpochRows bounds the metric rows one Reader call returns, so a huge
// study cannot exhaust the dashboard's memory.
const MaxEpochRows = 500_000

// ErrTooManyRows is returned when a query would return more than its bound.
var ErrTooManyRows = errors.New("store: reader: too many rows")

// Reader reads the result views as a role that cannot change results
// (normally relutune_reader): the dashboard's connection to Postgres. It
// holds a small pool whose sessions are read-only.
type Reader struct {
	pool *pgxpool.Pool
}

// OpenReader connects to url and checks, as QueryAsReader does, that its
// role is no superuser and cannot write trials.
func OpenReader(ctx context.Context, url string) (*Reader, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("%w: reader url: %v", ErrReaderConnect, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "relutune dashboard"
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w to %s: %v", ErrReaderConnect, redact(cfg.ConnConfig), err)
	}
	var user string
	var super, writes bool
	if err := pool.QueryRow(ctx, `SELECT current_user, r.rolsuper,
			coalesce(has_table_privilege(to_regclass('public.trials'), 'INSERT, UPDATE, DELETE, TRUNCATE'), false)
		FROM pg_roles r WHERE r.rolname = current_user`).Scan(&user, &super, &writes); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%w to %s: %v", ErrReaderConnect, redact(cfg.ConnConfig), err)
	}
	if super || writes {
		pool.Close()
		return nil, fmt.Errorf("%w: %s logs in as %q; use a read-only role such as relutune_reader", ErrReaderPrivileged, redact(cfg.ConnConfig), user)
	}
	return &Reader{pool: pool}, nil
}

// Close closes the pool.
func (r *Reader) Close() { r.pool.Close() }

// StudyOverview is a row of the study_overview view.
type StudyOverview struct {
	Study      string          `json:"study"`
	Status     string          `json:"status"`
	Metric     string          `json:"metric"`
	Direction  string          `json:"direction"`
	Spec       json.RawMessage `json:"spec"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	MaxTrials  int             `json:"max_trials"`
	Trials     int             `json:"trials"`
	Pending    int             `json:"pending"`
	Running    int             `json:"running"`
	Complete   int             `json:"complete"`
	Pruned     int             `json:"pruned"`
	Diverged   int             `json:"diverged"`
	Failed     int             `json:"failed"`
	Canceled   int             `json:"canceled"`
	Best       *float64        `json:"best"`
}

const studyOverviewColumns = `study, status, metric, direction, spec, created_at, finished_at, max_trials,
	trials, pending, running, complete, pruned, diverged, failed, canceled, best`

func scanStudyOverview(row pgx.CollectableRow) (StudyOverview, error) {
	var s StudyOverview
	var spec []byte
	err := row.Scan(&s.Study, &s.Status, &s.Metric, &s.Direction, &spec, &s.CreatedAt, &s.FinishedAt, &s.MaxTrials,
		&s.Trials, &s.Pending, &s.Running, &s.Complete, &s.Pruned, &s.Diverged, &s.Failed, &s.Canceled, &s.Best)
	s.Spec = spec
	return s, err
}

// StudyOverviews returns every study, newest first.
func (r *Reader) StudyOverviews(ctx context.Context) ([]StudyOverview, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+studyOverviewColumns+` FROM study_overview ORDER BY created_at DESC, study`)
	if err != nil {
		return nil, fmt.Errorf("store: studies: %w", err)
	}
	return pgx.CollectRows(rows, scanStudyOverview)
}

// StudyOverview returns one study, or ErrNotFound.
func (r *Reader) StudyOverview(ctx context.Context, study string) (StudyOverview, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+studyOverviewColumns+` FROM study_overview WHERE study = $1`, study)
	if err != nil {
		return StudyOverview{}, fmt.Errorf("store: study %s: %w", study, err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanStudyOverview)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, fmt.Errorf("%w: study %q", ErrNotFound, study)
	}
	return s, err
}

// TrialOverview is a row of the trial_overview view.
type TrialOverview struct {
	Trial           int             `json:"trial"`
	Activation      *string         `json:"activation"`
	Params          json.RawMessage `json:"params"`
	ConfigHash      string          `json:"config_hash"`
	Replicate       int             `json:"replicate"`
	Seed            int64           `json:"seed"`
	Status          string          `json:"status"`
	Objective       *float64        `json:"objective"`
	TestAccuracy    *float64        `json:"test_accuracy"`
	EpochsDone      int             `json:"epochs_done"`
	Attempt         int             `json:"attempt"`
	Error           *string         `json:"error,omitempty"`
	Worker          *string         `json:"worker,omitempty"`
	CreatedAt       time.Time       `json:"created_at"`
	StartedAt       *time.Time      `json:"started_at,omitempty"`
	FinishedAt      *time.Time      `json:"finished_at,omitempty"`
	SecondsPerEpoch *float64        `json:"seconds_per_epoch"`
	// SamplesPerSec is the mean training throughput over its epochs.
	SamplesPerSec *float64 `json:"samples_per_sec"`
	// ObjectiveValues are a multi-objective study's values of the trial,
	// in the order of its objectives.
	ObjectiveValues []*float64 `json:"objective_values,omitempty"`
}

// TrialOverviews returns a study's trials by number; trial >= 0 keeps only
// that one.
func (r *Reader) TrialOverviews(ctx context.Context, study string, trial int) ([]TrialOverview, error) {
	rows, err := r.pool.Query(ctx, `SELECT trial, activation, params, config_hash, replicate, seed, status, objective,
			test_accuracy, epochs_done, attempt, error, worker, created_at, started_at, finished_at, seconds_per_epoch, samples_per_sec,
			objective_values
		FROM trial_overview WHERE study = $1 AND ($2 < 0 OR trial = $2) ORDER BY trial`, study, trial)
	if err != nil {
		return nil, fmt.Errorf("store: trials of %s: %w", study, err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (TrialOverview, error) {
		var t TrialOverview
		var params []byte
		err := row.Scan(&t.Trial, &t.Activation, &params, &t.ConfigHash, &t.Replicate, &t.Seed, &t.Status, &t.Objective,
			&t.TestAccuracy, &t.EpochsDone, &t.Attempt, &t.Error, &t.Worker, &t.CreatedAt, &t.StartedAt, &t.FinishedAt, &t.SecondsPerEpoch, &t.SamplesPerSec,
			&t.ObjectiveValues)
		t.Params = params
		return t, err
	})
}

// EpochRow is a row of the epoch_metrics view.
type EpochRow struct {
	Trial      int     `json:"trial"`
	Activation *string `json:"activation"`
	Epoch      int     `json:"epoch"`
	Attempt    int     `json:"attempt"`
	events.EpochValues
	Layers     json.RawMessage `json:"layers"`
	RecordedAt time.Time       `json:"recorded_at"`
}

// EpochRows returns a study's per-epoch metrics by trial and epoch; trial
// >= 0 keeps only that trial. More than MaxEpochRows rows is an error.
func (r *Reader) EpochRows(ctx context.Context, study string, trial int) ([]EpochRow, error) {
	rows, err := r.pool.Query(ctx, `SELECT trial, activation, epoch, attempt, `+valueColumns("")+`, layers, recorded_at
		FROM epoch_metrics WHERE study = $1 AND ($2 < 0 OR trial = $2) ORDER BY trial, epoch LIMIT $3`, study, trial, MaxEpochRows+1)
	if err != nil {
		return nil, fmt.Errorf("store: metrics of %s: %w", study, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (EpochRow, error) {
		var e EpochRow
		var layers []byte
		dest := []any{&e.Trial, &e.Activation, &e.Epoch, &e.Attempt}
		for _, c := range events.EpochColumns {
			dest = append(dest, c.Of(&e.EpochValues))
		}
		err := row.Scan(append(dest, &layers, &e.RecordedAt)...)
		e.Layers = layers
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: metrics of %s: %w", study, err)
	}
	if len(out) > MaxEpochRows {
		return nil, fmt.Errorf("%w: study %s has more than %d metric rows", ErrTooManyRows, study, MaxEpochRows)
	}
	return out, nil
}
