package store_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/relutune/relutune/search"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
)

func ptr(f float64) *float64 { return &f }

func seed(t *testing.T, st *store.Store, direction string, objectives ...float64) (store.Study, []store.Trial) {
	t.Helper()
	ctx := context.Background()
	s, created, err := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h1", Metric: "val_accuracy", Direction: direction})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	var news []store.NewTrial
	for i := range objectives {
		news = append(news, store.NewTrial{Number: i, ConfigHash: "c", Params: []byte(`{"activation":"relu"}`), Seed: 1})
	}
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objectives {
		status := "complete"
		var obj *float64
		if math.IsNaN(o) {
			status = "diverged"
		} else {
			obj = ptr(o)
		}
		if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[i].ID, Attempt: 1, Status: search.State(status), Objective: obj, EpochsDone: 2}); err != nil {
			t.Fatal(err)
		}
	}
	return s, trials
}

func TestCreateStudyIdempotentAndConflict(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	n := store.NewStudy{Name: "a", Spec: []byte(`{"x":1}`), SpecHash: "h1", Metric: "val_loss", Direction: "minimize"}
	s1, created, err := st.CreateStudy(ctx, n)
	if err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	s2, created, err := st.CreateStudy(ctx, n)
	if err != nil || created || s2.ID != s1.ID {
		t.Fatalf("second create: created=%v id=%d err=%v; want the same study", created, s2.ID, err)
	}
	n.SpecHash, n.Spec = "h2", []byte(`{"x":2}`)
	_, _, err = st.CreateStudy(ctx, n)
	if !errors.Is(err, store.ErrSpecConflict) {
		t.Fatalf("got %v, want ErrSpecConflict", err)
	}
	got, _ := st.StudyByName(ctx, "a")
	if got.SpecHash != "h1" || string(got.Spec) != `{"x": 1}` {
		t.Fatalf("stored study changed: %+v %s", got, got.Spec)
	}
}

func TestMigrateConcurrentOnce(t *testing.T) {
	st, url := testdb.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := store.Open(ctx, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied, err := s.Migrate(ctx)
			if err == nil && len(applied) != 0 {
				err = errors.New("a migration was applied twice")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n < 1 {
		t.Fatalf("schema_migrations rows %d (%v)", n, err)
	}
}

func TestRankingBestFirstWithoutDiverged(t *testing.T) {
	for _, tc := range []struct {
		direction string
		want      []int // trial numbers, best first
	}{
		{"maximize", []int{1, 3, 0}},
		{"minimize", []int{0, 3, 1}},
	} {
		t.Run(tc.direction, func(t *testing.T) {
			st, _ := testdb.New(t)
			seed(t, st, tc.direction, 0.2, 0.9, math.NaN(), 0.5)
			top, err := st.Top(context.Background(), "s", 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range top {
				got = append(got, r.Trial)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v (the diverged trial never ranks)", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] || top[i].Rank != i+1 {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestNaNObjectiveRejected(t *testing.T) {
	st, _ := testdb.New(t)
	_, trials := seed(t, st, "maximize", 0.1)
	_ = trials
	ctx := context.Background()
	s, _ := st.StudyByName(ctx, "s")
	more, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 5, ConfigHash: "d", Params: []byte(`{}`), Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.RecordOutcome(ctx, store.Outcome{TrialID: more[0].ID, Attempt: 1, Status: "complete", Objective: ptr(math.NaN())})
	if err == nil {
		t.Fatal("a NaN objective was stored")
	}
}

func TestRecordOutcomeFencedByAttemptAndFinal(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	tr, _ := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "c", Params: []byte(`{}`), Seed: 1}})
	id := tr[0].ID
	// Attempt 2 has reported progress through the sink.
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: id, Epoch: 1, Attempt: 2, EpochValues: events.EpochValues{ValAccuracy: ptr(0.5)}}}); err != nil {
		t.Fatal(err)
	}
	if changed, err := st.RecordOutcome(ctx, store.Outcome{TrialID: id, Attempt: 1, Status: "failed", Error: "late"}); err != nil || changed {
		t.Fatalf("attempt 1 after attempt 2: changed=%v err=%v; want no change", changed, err)
	}
	if changed, err := st.RecordOutcome(ctx, store.Outcome{TrialID: id, Attempt: 2, Status: "complete", Objective: ptr(0.7), EpochsDone: 3}); err != nil || !changed {
		t.Fatalf("attempt 2: changed=%v err=%v", changed, err)
	}
	if changed, _ := st.RecordOutcome(ctx, store.Outcome{TrialID: id, Attempt: 3, Status: "failed"}); changed {
		t.Fatal("a final trial was overwritten")
	}
	// A late metric does not reopen a final trial.
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: id, Epoch: 4, Attempt: 3}}); err != nil {
		t.Fatal(err)
	}
	ts, _ := st.Trials(ctx, s.ID)
	if ts[0].Status != "complete" || *ts[0].Objective != 0.7 || ts[0].EpochsDone != 3 {
		t.Fatalf("trial %+v, want complete 0.7 after 3 epochs", ts[0])
	}
}

func TestWriteMetricsIdempotentNewerAttemptWins(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	tr, _ := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "c", Params: []byte(`{}`), Seed: 1}})
	id := tr[0].ID
	rows := []store.MetricRow{
		{TrialID: id, Epoch: 1, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: ptr(0.1)}},
		{TrialID: id, Epoch: 2, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: ptr(0.2)}},
		{TrialID: id, Epoch: 2, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: ptr(0.2)}}, // duplicate in one batch
		{TrialID: 999999, Epoch: 1, Attempt: 1},                                                     // unknown trial: dropped
	}
	if _, err := st.WriteMetrics(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteMetrics(ctx, rows); err != nil { // redelivery
		t.Fatal(err)
	}
	// Attempt 2 rewrites epoch 2; a late attempt-1 row must not win back.
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: id, Epoch: 2, Attempt: 2, EpochValues: events.EpochValues{ValAccuracy: ptr(0.25)}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: id, Epoch: 2, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: ptr(0.2)}}}); err != nil {
		t.Fatal(err)
	}
	var n int
	var acc float64
	var attempt int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM trial_metrics`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d metric rows (%v), want 2", n, err)
	}
	if err := st.Pool().QueryRow(ctx, `SELECT val_accuracy, attempt FROM trial_metrics WHERE epoch = 2`).Scan(&acc, &attempt); err != nil {
		t.Fatal(err)
	}
	if acc != 0.25 || attempt != 2 {
		t.Fatalf("epoch 2: accuracy %v from attempt %d, want 0.25 from attempt 2", acc, attempt)
	}
	ts, _ := st.Trials(ctx, s.ID)
	if ts[0].Status != "running" || ts[0].EpochsDone != 2 || ts[0].Attempt != 2 {
		t.Fatalf("trial progress %+v, want running, 2 epochs, attempt 2", ts[0])
	}
}

func TestWorkflowDecidedOutcomeNeedsNoAttempt(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	tr, _ := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "c", Params: []byte(`{}`), Seed: 1}})
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{{TrialID: tr[0].ID, Epoch: 3, Attempt: 2}}); err != nil {
		t.Fatal(err)
	}
	// A cancel decided by the workflow does not know the attempt.
	if changed, err := st.RecordOutcome(ctx, store.Outcome{TrialID: tr[0].ID, Status: "canceled"}); err != nil || !changed {
		t.Fatalf("canceled: changed=%v err=%v", changed, err)
	}
	ts, _ := st.Trials(ctx, s.ID)
	if ts[0].Status != "canceled" || ts[0].Attempt != 2 || ts[0].EpochsDone != 3 {
		t.Fatalf("trial %+v, want canceled keeping attempt 2 and 3 epochs", ts[0])
	}
}

func TestDecideRungRecordsOnceAndSeesEarlierValues(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	var seen [][]float64
	best := func(v float64, reported []search.RungValue) bool { // go on only as the best so far
		var peers []float64
		for _, r := range reported {
			peers = append(peers, r.Value)
		}
		seen = append(seen, peers)
		for _, p := range peers {
			if p > v {
				return false
			}
		}
		return true
	}
	for _, tc := range []struct {
		trial int
		value float64
		want  bool
	}{{0, 0.5, true}, {1, 0.4, false}, {2, 0.7, true}, {1, 0.9, false /* a retry keeps the first decision */}} {
		got, err := st.DecideRung(ctx, s.ID, tc.trial, 3, tc.value, best)
		if err != nil || got != tc.want {
			t.Fatalf("trial %d value %v: got %v (%v), want %v", tc.trial, tc.value, got, err, tc.want)
		}
	}
	if len(seen) != 3 || len(seen[2]) != 3 {
		t.Fatalf("decider calls saw %v; want 3 calls, the last with 3 values", seen)
	}
	// Another epoch starts empty.
	if got, _ := st.DecideRung(ctx, s.ID, 1, 9, 0.1, best); !got {
		t.Fatal("a trial alone at its epoch was stopped")
	}
}

// TestDecideRungBelowSeesOnlyLowerTrials: a trial reporting after a
// higher-numbered one is decided from the lower-numbered values only, so
// the decision does not depend on the order of the reports.
func TestDecideRungBelowSeesOnlyLowerTrials(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	var seen [][]int
	best := func(v float64, reported []search.RungValue) bool {
		var trials []int
		goOn := true
		for _, r := range reported {
			trials = append(trials, r.Trial)
			goOn = goOn && r.Value <= v
		}
		seen = append(seen, trials)
		return goOn
	}
	// Trial 2 reports first, a better value than trial 1's.
	for _, tc := range []struct {
		trial int
		value float64
		want  bool
	}{{0, 0.5, true}, {2, 0.9, true}, {1, 0.6, true /* trial 2's 0.9 is not seen */}, {1, 0.1, true /* a retry keeps the first decision */}} {
		got, err := st.DecideRungBelow(ctx, s.ID, tc.trial, 1, tc.value, best)
		if err != nil || got != tc.want {
			t.Fatalf("trial %d value %v: got %v (%v), want %v", tc.trial, tc.value, got, err, tc.want)
		}
	}
	if want := [][]int{{0}, {0, 2}, {0, 1}}; !reflect.DeepEqual(seen, want) {
		t.Fatalf("decider saw trials %v, want %v", seen, want)
	}
}

func TestDecideRungConcurrentReportsAreSerialised(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	const n = 16
	var mu sync.Mutex
	sizes := map[int]bool{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := st.DecideRung(ctx, s.ID, i, 1, float64(i), func(v float64, peers []search.RungValue) bool {
				mu.Lock()
				sizes[len(peers)] = true
				mu.Unlock()
				return true
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// Serialised decisions each saw one more value than the one before.
	for k := 1; k <= n; k++ {
		if !sizes[k] {
			t.Fatalf("no decision saw exactly %d values (saw %v): reports were not serialised", k, sizes)
		}
	}
}

// TestTestAccuracyStoredAndRanked: a trial's test accuracy is stored with
// its outcome and shown by trial_ranking, config_ranking and TrialByID.
func TestTestAccuracyStoredAndRanked(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{
		{Number: 0, ConfigHash: "c", Params: []byte(`{}`), Seed: 1},
		{Number: 1, ConfigHash: "c", Params: []byte(`{}`), Replicate: 1, Seed: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, acc := range []*float64{ptr(0.9), nil} {
		if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: tr[i].ID, Attempt: 1, Status: "complete",
			Objective: ptr(0.5 + float64(i)/10), TestAccuracy: acc, EpochsDone: 1}); err != nil {
			t.Fatal(err)
		}
	}
	top, err := st.Top(ctx, "s", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[1].Trial != 0 || top[1].TestAccuracy == nil || *top[1].TestAccuracy != 0.9 || top[0].TestAccuracy != nil {
		t.Fatalf("top %+v: want trial 0 with test accuracy 0.9 and trial 1 without", top)
	}
	got, err := st.TrialByID(ctx, tr[0].ID)
	if err != nil || got.TestAccuracy == nil || *got.TestAccuracy != 0.9 {
		t.Fatalf("TrialByID: %+v %v", got, err)
	}
	var mean *float64
	if err := st.Pool().QueryRow(ctx, `SELECT mean_test_accuracy FROM config_ranking WHERE study = 's'`).Scan(&mean); err != nil || mean == nil || *mean != 0.9 {
		t.Fatalf("config_ranking mean_test_accuracy %v %v, want 0.9", mean, err)
	}
	if _, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 2, ConfigHash: "d", Params: []byte(`{}`), Seed: 3}}); err != nil {
		t.Fatal(err)
	}
	trials, _ := st.Trials(ctx, s.ID)
	if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[2].ID, Attempt: 1, Status: "complete",
		Objective: ptr(0.1), TestAccuracy: ptr(math.Inf(1))}); err == nil {
		t.Fatal("an infinite test accuracy was stored")
	}
}

// TestConcurrentWritersDoNotDeadlock: writers that store batches of the
// same trials in opposite orders side by side (as the sink's writers do)
// all succeed: none is failed by Postgres as a deadlock victim.
func TestConcurrentWritersDoNotDeadlock(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, _ := st.CreateStudy(ctx, store.NewStudy{Name: "s", Spec: []byte(`{}`), SpecHash: "h", Metric: "m", Direction: "maximize"})
	var news []store.NewTrial
	for i := range 8 {
		news = append(news, store.NewTrial{Number: i, ConfigHash: fmt.Sprint("c", i), Params: []byte(`{}`), Seed: 1})
	}
	trials, err := st.InsertTrials(ctx, s.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for epoch := 1; epoch <= 30; epoch++ {
				rows := make([]store.MetricRow, len(trials))
				for i := range trials {
					tr := trials[i]
					if w%2 == 1 { // the other writers go through the trials backwards
						tr = trials[len(trials)-1-i]
					}
					v := float64(epoch)
					rows[i] = store.MetricRow{TrialID: tr.ID, Epoch: epoch, Attempt: 1 + w, EpochValues: events.EpochValues{ValAccuracy: &v}}
				}
				if _, err := st.WriteMetrics(ctx, rows); err != nil {
					t.Errorf("writer %d, epoch %d: %v", w, epoch, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
