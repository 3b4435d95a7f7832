package store

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/relutune/relutune/internal/events"
)

// TrialRefs returns, for each id that names a stored trial, the trial's
// study and number and its epoch budget: the study spec's
// schedule.max_epochs, or events.MaxEpoch when the spec has none (and never
// more). Ids that name no trial are absent from the map.
func (s *Store) TrialRefs(ctx context.Context, ids []int64) (map[int64]TrialRef, error) {
	out := make(map[int64]TrialRef, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT t.id, t.study_id, s.name, t.number,
			CASE WHEN jsonb_typeof(s.spec #> '{schedule,max_epochs}') = 'number'
				THEN least(greatest((s.spec #>> '{schedule,max_epochs}')::numeric, 1), $2)::integer
				ELSE $2 END
		FROM trials t JOIN studies s ON s.id = t.study_id
		WHERE t.id = ANY($1)`, ids, events.MaxEpoch)
	if err != nil {
		return nil, fmt.Errorf("store: trial refs: %w", err)
	}
	var r TrialRef
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.StudyID, &r.Study, &r.Number, &r.MaxEpochs}, func() error {
		out[r.ID] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: trial refs: %w", err)
	}
	return out, nil
}

// Bounds of what a dead letter keeps besides its body.
const (
	maxDeadSubject = 1024
	maxDeadReason  = 2048
)

var studyNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// WriteDeadLetters stores messages the sink gave up on, in one transaction.
// Whatever a message holds, its row fits: texts are cut to their bounds and
// made valid UTF-8 without NUL, the body is cut to
// MaxDeadLetterBytes, and a study that is not a valid study name is
// stored as NULL. A message already stored from the same stream position
// (a redelivery) is stored once.
func (s *Store) WriteDeadLetters(ctx context.Context, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, d := range dls {
		var study, stream *string
		if studyNameRE.MatchString(d.Study) {
			study = &d.Study
		}
		var seq *int64
		if d.Stream != "" && d.StreamSeq > 0 && d.StreamSeq <= math.MaxInt64 {
			st, n := cleanText(d.Stream, 256), int64(d.StreamSeq)
			stream, seq = &st, &n
		}
		data := d.Data
		if len(data) > MaxDeadLetterBytes {
			data = data[:MaxDeadLetterBytes]
		}
		if data == nil {
			data = []byte{}
		}
		batch.Queue(`INSERT INTO dead_letters (subject, study, reason, data, stream, stream_seq)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (stream, stream_seq) DO NOTHING`,
			cleanText(d.Subject, maxDeadSubject), study, cleanText(d.Reason, maxDeadReason), data, stream, seq)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, batch).Close()
	})
	if err != nil {
		if rejected(err) {
			return fmt.Errorf("%w: write %d dead letters: %w", ErrRejected, len(dls), err)
		}
		return fmt.Errorf("store: write %d dead letters: %w", len(dls), err)
	}
	return nil
}

// cleanText makes s storable in a text column: at most max bytes, valid
// UTF-8, NUL bytes replaced.
func cleanText(s string, max int) string {
	if len(s) > max {
		s = s[:max]
	}
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	for len(s) > max {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// DeadLetterCount returns how many metrics messages of a study were dead
// lettered.
func (s *Store) DeadLetterCount(ctx context.Context, study string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE study = $1`, study).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: dead letters of %s: %w", study, err)
	}
	return n, nil
}
