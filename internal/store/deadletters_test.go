package store_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
	"github.com/relutune/relutune/spec"
)

func TestTrialRefsTakeMaxEpochsFromTheStoredSpec(t *testing.T) {
	if events.MaxEpoch != spec.MaxEpochs {
		t.Fatalf("events.MaxEpoch %d, spec.MaxEpochs %d: the sink's ceiling must be the spec's", events.MaxEpoch, spec.MaxEpochs)
	}
	st, _ := testdb.New(t)
	ctx := context.Background()
	yaml, err := os.ReadFile("../../examples/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spec.Parse(yaml)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, tc := range []struct {
		name string
		spec []byte
	}{
		{"canonical", sp.Canonical()},
		{"no-schedule", []byte(`{}`)},
		{"too-many", []byte(`{"schedule":{"max_epochs":1e9}}`)},
		{"a-string", []byte(`{"schedule":{"max_epochs":"20"}}`)},
	} {
		s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: tc.name, Spec: tc.spec, SpecHash: "h", Metric: "m", Direction: "maximize"})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "c", Params: []byte(`{}`)}, {Number: 7, ConfigHash: "c", Params: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		ids[tc.name] = tr[1].ID
	}
	refs, err := st.TrialRefs(ctx, []int64{ids["canonical"], ids["no-schedule"], ids["too-many"], ids["a-string"], 987654321})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"canonical": sp.Schedule.MaxEpochs, "no-schedule": events.MaxEpoch, "too-many": events.MaxEpoch, "a-string": events.MaxEpoch}
	for name, id := range ids {
		r, ok := refs[id]
		if !ok || r.Study != name || r.Number != 7 || r.MaxEpochs != want[name] || r.ID != id {
			t.Errorf("%s: ref %+v (found %v), want trial 7 of %s with max epochs %d", name, r, ok, name, want[name])
		}
	}
	if _, ok := refs[987654321]; ok || len(refs) != 4 {
		t.Errorf("refs %v: an unknown id was found", refs)
	}
}

func TestWriteMetricsTellsRejectedFromTransient(t *testing.T) {
	st, url := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	tr, _ := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "c", Params: []byte(`{}`), Seed: 1}})
	id := tr[0].ID
	ok := store.MetricRow{TrialID: id, Epoch: 1, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: ptr(0.5)}}
	for _, tc := range []struct {
		name string
		edit func(*store.MetricRow)
		want string
	}{
		{"epoch 2^31", func(r *store.MetricRow) { r.Epoch = 1 << 31 }, "epoch 2147483648 must be in [1, 1000]"},
		{"attempt 3e9", func(r *store.MetricRow) { r.Attempt = 3e9 }, "attempt 3000000000 must be in [1, 100]"},
		{"attempt 0", func(r *store.MetricRow) { r.Attempt = 0 }, "attempt 0 must be in [1, 100]"},
		{"NUL in worker", func(r *store.MetricRow) { r.Worker = "a\x00b" }, "must not contain a NUL byte"},
		{"invalid UTF-8", func(r *store.MetricRow) { r.Worker = "\xff" }, "must be valid UTF-8"},
		{"long worker", func(r *store.MetricRow) { r.Worker = strings.Repeat("w", 257) }, "worker is 257 bytes"},
		{"infinite", func(r *store.MetricRow) { inf := math.Inf(1); r.LR = &inf }, "lr +Inf must be finite or null"},
		{"layers not an array", func(r *store.MetricRow) { r.Layers = []byte(`{"a":1}`) }, "must be a JSON array"},
		{"layers with NUL", func(r *store.MetricRow) { r.Layers = []byte(`["\u0000"]`) }, "must be a JSON array without"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := ok
			tc.edit(&bad)
			_, err := st.WriteMetrics(ctx, []store.MetricRow{ok, bad})
			if !errors.Is(err, store.ErrRejected) || !strings.Contains(err.Error(), "row 1 of 2") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrRejected naming row 1 and %q", err, tc.want)
			}
		})
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM trial_metrics`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rows written (%v) from rejected batches, want 0", n, err)
	}

	// Refused by Postgres itself (a data exception): rejected.
	if _, err := st.Pool().Exec(ctx, `
		CREATE FUNCTION refuse_test_row() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.worker = 'refused' THEN RAISE EXCEPTION 'refused' USING ERRCODE = '22003'; END IF;
			IF NEW.worker = 'deadlock' THEN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_test_row BEFORE INSERT ON trial_metrics FOR EACH ROW EXECUTE FUNCTION refuse_test_row();`); err != nil {
		t.Fatal(err)
	}
	refused := ok
	refused.Worker = "refused"
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{refused}); !errors.Is(err, store.ErrRejected) || !strings.Contains(err.Error(), "22003") {
		t.Fatalf("refused by Postgres: %v, want ErrRejected", err)
	}
	// Not JSON: Postgres refuses it as a data exception.
	notJSON := ok
	notJSON.Layers = []byte(`[1,`)
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{notJSON}); !errors.Is(err, store.ErrRejected) || !strings.Contains(err.Error(), "22P02") {
		t.Fatalf("layers not JSON: %v, want ErrRejected (22P02)", err)
	}
	// A deadlock is worth retrying.
	deadlock := ok
	deadlock.Worker = "deadlock"
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{deadlock}); err == nil || errors.Is(err, store.ErrRejected) {
		t.Fatalf("deadlock: %v, want an error that is not ErrRejected", err)
	}
	// So is a database that cannot be reached.
	gone, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if _, err := gone.WriteMetrics(ctx, []store.MetricRow{ok}); err == nil || errors.Is(err, store.ErrRejected) {
		t.Fatalf("closed pool: %v, want an error that is not ErrRejected", err)
	}
	if _, err := gone.TrialRefs(ctx, []int64{id}); err == nil {
		t.Fatal("closed pool: trial refs succeeded")
	}
	if err := gone.WriteDeadLetters(ctx, []store.DeadLetter{{Subject: "s"}}); err == nil || errors.Is(err, store.ErrRejected) {
		t.Fatalf("closed pool: dead letters: %v, want an error that is not ErrRejected", err)
	}
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{ok}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteDeadLettersKeepsAnyMessageBoundedAndOnce(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	big := bytes.Repeat([]byte{0, 0xff}, store.MaxDeadLetterBytes)
	dls := []store.DeadLetter{
		{Subject: "tune.study.a.trial.1.metrics", Study: "a", Reason: "epoch 0", Data: []byte(`{"epoch":0}`), Stream: "S", StreamSeq: 1},
		{Subject: "tune.study.a.trial.1.metrics", Study: "a", Reason: "again", Data: []byte(`{}`), Stream: "S", StreamSeq: 1}, // redelivered
		{Subject: "tune.study.a.trial.1.metrics\x00\xff" + strings.Repeat("é", 2000), Study: "Not A Name", Reason: "bad\x00\xff" + strings.Repeat("r", 5000), Data: big, Stream: "S", StreamSeq: 2},
		{Subject: "x", Study: "a", Reason: "no stream position", Data: nil},
	}
	if err := st.WriteDeadLetters(ctx, dls); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteDeadLetters(ctx, dls[:1]); err != nil { // the sink's retry after a crash
		t.Fatal(err)
	}
	rows, err := st.Pool().Query(ctx, `SELECT subject, study, reason, data FROM dead_letters ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []store.DeadLetter
	for rows.Next() {
		var d store.DeadLetter
		var study *string
		if err := rows.Scan(&d.Subject, &study, &d.Reason, &d.Data); err != nil {
			t.Fatal(err)
		}
		if study != nil {
			d.Study = *study
		}
		got = append(got, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d dead letters, want 3 (a redelivered message is kept once)", len(got))
	}
	if got[0].Reason != "epoch 0" || string(got[0].Data) != `{"epoch":0}` || got[0].Study != "a" {
		t.Errorf("first: %+v", got[0])
	}
	odd := got[1]
	if odd.Study != "" || len(odd.Data) != store.MaxDeadLetterBytes || !bytes.Equal(odd.Data, big[:store.MaxDeadLetterBytes]) {
		t.Errorf("study %q, %d bytes of data; want NULL and the first %d bytes", odd.Study, len(odd.Data), store.MaxDeadLetterBytes)
	}
	for _, s := range []string{odd.Subject, odd.Reason} {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 || len(s) > 2048 {
			t.Errorf("%d bytes %.40q: want valid UTF-8 without NUL, bounded", len(s), s)
		}
	}
	if !strings.HasPrefix(odd.Subject, "tune.study.a.trial.1.metrics") || !strings.HasPrefix(odd.Reason, "bad") {
		t.Errorf("subject %.40q, reason %.40q: the readable start is lost", odd.Subject, odd.Reason)
	}
	if n, err := st.DeadLetterCount(ctx, "a"); err != nil || n != 2 {
		t.Errorf("study a: %d dead letters (%v), want 2", n, err)
	}
}
