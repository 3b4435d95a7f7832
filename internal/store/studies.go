package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/relutune/relutune/search"

	"github.com/jackc/pgx/v5"
)

// CreateStudy inserts a study, or returns the existing one when a study with
// the same name and spec hash exists. A different spec under the same name is
// ErrSpecConflict; the stored study is left as it is.
func (s *Store) CreateStudy(ctx context.Context, n NewStudy) (st Study, created bool, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO studies (name, spec, spec_hash, metric, direction)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`,
			n.Name, n.Spec, n.SpecHash, n.Metric, n.Direction)
		if err != nil {
			return err
		}
		created = tag.RowsAffected() == 1
		st, err = studyByName(ctx, tx, n.Name)
		return err
	})
	if err != nil {
		return Study{}, false, fmt.Errorf("store: create study %s: %w", n.Name, err)
	}
	if st.SpecHash != n.SpecHash {
		return st, false, fmt.Errorf("%w: study %q has spec %s, this one is %s", ErrSpecConflict, n.Name, st.SpecHash, n.SpecHash)
	}
	return st, created, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const studyColumns = `id, name, spec, spec_hash, metric, direction, status, created_at, finished_at`

func scanStudy(row pgx.Row) (Study, error) {
	var st Study
	err := row.Scan(&st.ID, &st.Name, &st.Spec, &st.SpecHash, &st.Metric, &st.Direction, &st.Status, &st.CreatedAt, &st.FinishedAt)
	return st, err
}

func studyByName(ctx context.Context, q querier, name string) (Study, error) {
	st, err := scanStudy(q.QueryRow(ctx, `SELECT `+studyColumns+` FROM studies WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Study{}, fmt.Errorf("%w: study %q", ErrNotFound, name)
	}
	return st, err
}

// StudyByName returns the named study or ErrNotFound.
func (s *Store) StudyByName(ctx context.Context, name string) (Study, error) {
	return studyByName(ctx, s.pool, name)
}

// StudySummary is a study with its trial counts.
type StudySummary struct {
	Study
	Trials   int      `json:"trials"`
	Complete int      `json:"complete"`
	Running  int      `json:"running"`
	Failed   int      `json:"failed"`
	Best     *float64 `json:"best,omitempty"`
}

// ListStudies returns every study, newest first, with counts.
func (s *Store) ListStudies(ctx context.Context) ([]StudySummary, error) {
	rows, err := s.pool.Query(ctx, `SELECT s.id, s.name, s.spec, s.spec_hash, s.metric, s.direction, s.status, s.created_at, s.finished_at,
			count(t.id),
			count(t.id) FILTER (WHERE t.status = 'complete'),
			count(t.id) FILTER (WHERE t.status IN ('pending', 'running')),
			count(t.id) FILTER (WHERE t.status IN ('failed', 'diverged')),
			CASE WHEN s.direction = 'maximize' THEN max(t.objective) FILTER (WHERE t.status = 'complete')
			     ELSE min(t.objective) FILTER (WHERE t.status = 'complete') END
		FROM studies s LEFT JOIN trials t ON t.study_id = s.id
		GROUP BY s.id ORDER BY s.created_at DESC, s.id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list studies: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StudySummary, error) {
		var ss StudySummary
		err := r.Scan(&ss.ID, &ss.Name, &ss.Spec, &ss.SpecHash, &ss.Metric, &ss.Direction, &ss.Status, &ss.CreatedAt, &ss.FinishedAt,
			&ss.Trials, &ss.Complete, &ss.Running, &ss.Failed, &ss.Best)
		return ss, err
	})
}

// FinishStudy sets a study's final status. It is idempotent, and a study
// already in a final state keeps it.
func (s *Store) FinishStudy(ctx context.Context, id int64, status search.StudyState) error {
	_, err := s.pool.Exec(ctx, `UPDATE studies SET status = $2, finished_at = coalesce(finished_at, now())
		WHERE id = $1 AND status = 'running'`, id, status)
	if err != nil {
		return fmt.Errorf("store: finish study %d: %w", id, err)
	}
	return nil
}

// DeleteStudy removes a study and everything stored of it: its trials,
// their metric rows and rung values (by cascade), and its dead letters. It
// returns how many trials went. A study that is not there is no error.
func (s *Store) DeleteStudy(ctx context.Context, name string) (trials int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&trials); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dead_letters WHERE study = $1`, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM studies WHERE name = $1`, name)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: delete study %s: %w", name, err)
	}
	return trials, nil
}
