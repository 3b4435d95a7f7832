package store

import (
	"context"
	"fmt"
)

// TrialStateCounts returns the number of stored trials in each status,
// over every study (the controller's relutune_trials metric).
func (s *Store) TrialStateCounts(ctx context.Context) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM trials GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: trial state counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: trial state counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}
