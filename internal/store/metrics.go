package store

import (
	"slices"

	"github.com/relutune/relutune/internal/events"

	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// curveColumn returns the column of name that a curve may be drawn of;
// the error names the allowed ones.
func curveColumn(name string) (events.EpochColumn, error) {
	for _, c := range events.EpochColumns {
		if c.Curve && c.Name == name {
			return c, nil
		}
	}
	return events.EpochColumn{}, fmt.Errorf("%q is not a metric (allowed: %s)", name, strings.Join(CurveMetrics(), ", "))
}

// CurveMetrics are the metrics ActivationCurves draws: the Curve columns
// of events.EpochColumns, in table order.
func CurveMetrics() []string {
	var names []string
	for _, c := range events.EpochColumns {
		if c.Curve {
			names = append(names, c.Name)
		}
	}
	return names
}

// valueColumns joins the names of events.EpochColumns, each prefixed
// with prefix ("s." for "s.train_loss, s.val_loss, ...").
func valueColumns(prefix string) string {
	var b strings.Builder
	for i, c := range events.EpochColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefix + c.Name)
	}
	return b.String()
}

// metricColumns are the columns COPY writes, and copyRow a row's values
// in the same order.
var metricColumns = func() []string {
	cols := []string{"trial_id", "epoch", "attempt"}
	for _, c := range events.EpochColumns {
		cols = append(cols, c.Name)
	}
	return append(cols, "layers", "worker")
}()

func copyRow(r *MetricRow) []any {
	layers := r.Layers
	if layers == nil {
		layers = []byte("[]")
	}
	var worker *string
	if r.Worker != "" {
		worker = &r.Worker
	}
	vals := []any{r.TrialID, r.Epoch, r.Attempt}
	for _, c := range events.EpochColumns {
		vals = append(vals, *c.Of(&r.EpochValues))
	}
	return append(vals, string(layers), worker)
}

// mergeMetrics moves a batch from metrics_staging into trial_metrics: the
// newest attempt of each (trial, epoch) wins, a stored row is replaced only
// by a newer attempt, and rows of trials that do not exist are dropped.
var mergeMetrics = func() string {
	var set strings.Builder
	for _, c := range events.EpochColumns {
		fmt.Fprintf(&set, "%s = excluded.%[1]s, ", c.Name)
	}
	return `INSERT INTO trial_metrics AS m (trial_id, epoch, attempt, ` + valueColumns("") + `, layers, worker)
			SELECT DISTINCT ON (s.trial_id, s.epoch) s.trial_id, s.epoch, s.attempt, ` + valueColumns("s.") + `, s.layers, s.worker
			FROM metrics_staging s
			WHERE EXISTS (SELECT FROM trials t WHERE t.id = s.trial_id)
			ORDER BY s.trial_id, s.epoch, s.attempt DESC
			ON CONFLICT (trial_id, epoch) DO UPDATE SET
				attempt = excluded.attempt, ` + set.String() + `layers = excluded.layers,
				worker = excluded.worker, recorded_at = now()
			WHERE m.attempt < excluded.attempt`
}()

// WriteMetrics stores a batch of metric rows in one transaction: COPY into a
// session-local staging table, then one INSERT .. ON CONFLICT into
// trial_metrics. It is idempotent: a row already stored for (trial, epoch)
// is replaced only by a newer attempt, so redelivered or late messages from
// a superseded attempt change nothing. Rows for trials that do not exist are
// dropped. It also advances each trial's progress (running, epochs_done),
// never touching a trial that is already final. It returns how many metric
// rows were inserted or replaced.
//
// Every row is checked first (MetricRow.Validate); a row out of bounds, or
// a batch Postgres refuses for its data, fails with an error wrapping
// ErrRejected, which retrying cannot fix. Any other error (a lost
// connection, a serialization failure) is worth retrying.
func (s *Store) WriteMetrics(ctx context.Context, rows []MetricRow) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	for i := range rows {
		if err := rows[i].Validate(); err != nil {
			return 0, fmt.Errorf("%w: row %d of %d: %w", ErrRejected, i, len(rows), err)
		}
	}
	// The batch's trials, locked in id order first: writers running side
	// by side (the sink's) then wait for each other on the first trial
	// they share instead of each holding some of the rows the other needs
	// (a deadlock Postgres would break by failing one of them).
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].TrialID
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var n int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT FROM trials WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS metrics_staging
			(LIKE trial_metrics INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
			return err
		}
		src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return copyRow(&rows[i]), nil })
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"metrics_staging"}, metricColumns, src); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, mergeMetrics)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		_, err = tx.Exec(ctx, `UPDATE trials t SET
				status = 'running',
				epochs_done = greatest(t.epochs_done, p.epoch),
				attempt = greatest(t.attempt, p.attempt),
				worker = coalesce(p.worker, t.worker),
				started_at = coalesce(t.started_at, now())
			FROM (SELECT DISTINCT ON (trial_id) trial_id, attempt, epoch, worker
			      FROM metrics_staging ORDER BY trial_id, attempt DESC, epoch DESC) p
			WHERE t.id = p.trial_id AND t.status IN ('pending', 'running') AND t.attempt <= p.attempt`)
		return err
	})
	if err != nil {
		if rejected(err) {
			return 0, fmt.Errorf("%w: write %d metric rows: %w", ErrRejected, len(rows), err)
		}
		return 0, fmt.Errorf("store: write %d metric rows: %w", len(rows), err)
	}
	return n, nil
}

// rejected reports whether Postgres refused a statement for the data it
// was given, so the same data will always be refused: SQLSTATE class 22
// (data exception: out of range, invalid text, NUL byte), 23 (integrity
// constraint violation) or 54 (program limit exceeded). Connection errors,
// serialization failures, deadlocks, shutdowns and timeouts are not.
func rejected(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || len(pgErr.Code) != 5 {
		return false
	}
	switch pgErr.Code[:2] {
	case "22", "23", "54":
		return true
	}
	return false
}
