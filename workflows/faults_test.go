package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
)

// tries records, per trial number, the TrainInput of every try.
type tries struct {
	mu sync.Mutex
	in map[int][]TrainInput
}

func (t *tries) add(in TrainInput) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.in == nil {
		t.in = map[int][]TrainInput{}
	}
	t.in[in.Number] = append(t.in[in.Number], in)
	return len(t.in[in.Number])
}

func (t *tries) of(n int) []TrainInput {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.in[n])
}

func ok(in TrainInput) (TrainOutput, error) {
	obj := 0.8
	return TrainOutput{EpochsDone: 2, Objective: &obj, Attempt: in.Attempt, Worker: "w", HostQueue: HostQueue("q", "w")}, nil
}

func infraErr(epoch int) error {
	return temporal.NewApplicationError("publish epoch: nats: no servers available", ErrTypeInfrastructure,
		InfraDetails{Progress: TrainProgress{Epoch: epoch, Checkpoint: fmt.Sprintf("/ckpt/wf/0/epoch-%04d.ckpt", epoch)}, Worker: "w2", HostQueue: HostQueue("q", "w2")})
}

func studyResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) StudyResult {
	t.Helper()
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func checkAttempts(t *testing.T, got []TrainInput) {
	t.Helper()
	for i, in := range got {
		if in.Attempt != i+1 {
			t.Fatalf("try %d ran as attempt %d; want attempts 1, 2, 3, ... in order", i+1, in.Attempt)
		}
	}
}

func TestHeartbeatTimeoutsDoNotSpendTrialAttempts(t *testing.T) {
	var tr tries
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		if n := tr.add(in); n <= 3 {
			// The worker died: the server timed the try out, holding the
			// progress of its last heartbeat.
			return TrainOutput{}, temporal.NewHeartbeatTimeoutError(TrainProgress{Epoch: n, Checkpoint: fmt.Sprintf("/ckpt/wf/0/epoch-%04d.ckpt", n)})
		}
		return ok(in)
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 1, 1)})
	res := studyResult(t, env)
	if res.Status != search.StudyComplete || f.recorded[0] != "complete" {
		t.Fatalf("study %s, trial %q; want both complete after three heartbeat timeouts", res.Status, f.recorded[0])
	}
	got := tr.of(0)
	if len(got) != 4 {
		t.Fatalf("%d tries, want 4", len(got))
	}
	checkAttempts(t, got)
	if got[0].Resume != nil {
		t.Errorf("first try got resume hint %+v", got[0].Resume)
	}
	for i := 1; i < 4; i++ {
		if r := got[i].Resume; r == nil || r.Epoch != i {
			t.Errorf("try %d resume hint %+v, want epoch %d from the previous try's last heartbeat", i+1, r, i)
		}
	}
}

func TestThreeTrialFailuresFailTheTrial(t *testing.T) {
	var tr tries
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		tr.add(in)
		return TrainOutput{}, errors.New("index out of range in the trainer")
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 1, 1)})
	res := studyResult(t, env)
	if got := tr.of(0); len(got) != TrainMaxAttempts {
		t.Fatalf("%d tries, want %d", len(got), TrainMaxAttempts)
	}
	if f.recorded[0] != "failed" || res.Counts["failed"] != 1 || res.InfraFailed != 0 {
		t.Fatalf("trial %q, result %+v; want failed by its own failures", f.recorded[0], res)
	}
}

func TestInfrastructureRetriesRunOut(t *testing.T) {
	var tr tries
	var recorded TrialResult
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		if tr.add(in) <= 25 {
			return TrainOutput{}, infraErr(1)
		}
		return ok(in)
	}
	f.record = func(in RecordInput) TrialResult { recorded = in.Result; return in.Result }
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 1, 1)})
	res := studyResult(t, env)
	got := tr.of(0)
	if len(got) != TrainMaxInfraRetries+1 {
		t.Fatalf("%d tries, want %d (the first and %d retries)", len(got), TrainMaxInfraRetries+1, TrainMaxInfraRetries)
	}
	checkAttempts(t, got)
	if recorded.Status != "failed" || !strings.HasPrefix(recorded.Error, InfrastructureErrorPrefix) || recorded.Attempt != len(got) {
		t.Fatalf("recorded %+v; want failed, error starting %q, attempt %d", recorded, InfrastructureErrorPrefix, len(got))
	}
	if res.Counts["failed"] != 1 || res.InfraFailed != 1 {
		t.Fatalf("result %+v; want one failed trial, counted as an infrastructure failure", res)
	}
	// The try's error named a worker that holds checkpoints: they go once
	// the outcome is recorded.
	if len(f.removed) != 1 || f.removed[0].Number != 0 {
		t.Fatalf("removals %+v; want trial 0's checkpoints removed", f.removed)
	}
}

func TestTrialAndInfrastructureFailuresCountedApart(t *testing.T) {
	var tr tries
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		switch n := tr.add(in); {
		case n == 1 || n == 4: // two of the trial's own failures
			return TrainOutput{}, errors.New("boom")
		case n <= 8: // and six infrastructure failures between them
			return TrainOutput{}, infraErr(n)
		}
		return ok(in)
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 1, 1)})
	res := studyResult(t, env)
	got := tr.of(0)
	if len(got) != 9 || f.recorded[0] != "complete" || res.Counts["complete"] != 1 {
		t.Fatalf("%d tries, trial %q; want complete on the 9th", len(got), f.recorded[0])
	}
	checkAttempts(t, got)
	if r := got[8].Resume; r == nil || r.Epoch != 8 {
		t.Fatalf("last try's resume hint %+v, want epoch 8", r)
	}
}

func TestMaxFailedTrialsCountsOnlyTrialFailures(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fail       error
		wantStatus search.StudyState
		wantTrials int
	}{
		{"infrastructure", infraErr(1), search.StudyComplete, 3},
		{"trial", errors.New("boom"), search.StudyFailed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeCluster{}
			f.train = func(in TrainInput) (TrainOutput, error) {
				if in.Number == 0 {
					return TrainOutput{}, tc.fail
				}
				return ok(in)
			}
			env := newEnv(t, f)
			sp := testSpec(t, 3, 1)
			sp.Search.MaxFailedTrials = 1
			env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
			res := studyResult(t, env)
			if res.Status != tc.wantStatus || res.Trials != tc.wantTrials || f.recorded[0] != "failed" {
				t.Fatalf("study %s after %d trials (trial 0 %q); want %s after %d", res.Status, res.Trials, f.recorded[0], tc.wantStatus, tc.wantTrials)
			}
		})
	}
}

func TestCheckpointsRemovedOnlyAfterRecord(t *testing.T) {
	f := &fakeCluster{recordFails: 2} // Postgres is away for a moment
	f.train = ok
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 2, 1)})
	studyResult(t, env)
	if want := HostQueue("q", "w"); len(f.removedOn) != 2 || f.removedOn[0] != want || f.removedOn[1] != want {
		t.Fatalf("removals went to %q, want both to %q, the queue of the worker that trained them", f.removedOn, want)
	}
	if f.events[0] != "record 0 failed" {
		t.Fatalf("events %q: want Record to fail first", f.events)
	}
	for n := 0; n < 2; n++ {
		rec := slices.Index(f.events, fmt.Sprintf("record %d complete", n))
		rm := slices.Index(f.events, fmt.Sprintf("remove %d", n))
		if rec < 0 || rm < 0 || rm < rec {
			t.Fatalf("events %q: want trial %d's checkpoints removed after its outcome is recorded", f.events, n)
		}
	}
}

func TestStudyCountsStoredOutcomeOfAnEndedTrial(t *testing.T) {
	// A trial stored complete whose workflow then ended without a result
	// (terminated while removing its checkpoints, say): the study counts
	// what is stored, not the failure it sees. Trials are child workflows
	// only in studies started before the inline-trials change.
	stored := map[int64]TrialResult{}
	var mu sync.Mutex
	f := &fakeCluster{}
	f.record = func(in RecordInput) TrialResult {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := stored[in.Result.TrialID]; ok && search.State(s.Status).Final() {
			return s // final rows keep their first outcome
		}
		stored[in.Result.TrialID] = in.Result
		return in.Result
	}
	env := newEnv(t, f)
	env.OnGetVersion(changeInlineTrials, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnWorkflow(TrialWorkflowName, mock.Anything, mock.Anything).Return(func(_ workflow.Context, in TrialInput) (TrialResult, error) {
		obj := 0.9
		r := TrialResult{TrialID: in.Assignment.TrialID, Number: in.Assignment.Number, Status: "complete", Objective: &obj, EpochsDone: 2, Attempt: 1}
		f.record(RecordInput{Study: in.Study, Result: r})
		return TrialResult{}, errors.New("workflow terminated")
	})
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 1, 1)})
	res := studyResult(t, env)
	if res.Counts["complete"] != 1 || res.Counts["failed"] != 0 || res.Best == nil || *res.Best.Objective != 0.9 {
		t.Fatalf("result %+v; want the stored outcome (complete, 0.9) counted", res)
	}
}

func TestStudyAwaitsMetricsBeforeFinishing(t *testing.T) {
	f := &fakeCluster{}
	var asked AwaitMetricsInput
	f.awaitMetrics = func(in AwaitMetricsInput) AwaitMetricsOutput {
		asked = in
		return AwaitMetricsOutput{Rows: 2, Trials: 1}
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 2, 1)})
	res := studyResult(t, env)
	aw := slices.Index(f.events, "await metrics")
	fin := slices.Index(f.events, "finish complete")
	if aw < 0 || fin < 0 || aw > fin || slices.Index(f.events, "record 1 complete") > aw {
		t.Fatalf("events %q: want the wait for metric rows after the last record and before finish", f.events)
	}
	if asked.MaxWait != DefaultMetricsWait || asked.StudyID != 1 {
		t.Fatalf("AwaitMetrics asked %+v", asked)
	}
	if res.Status != search.StudyComplete || res.PendingMetrics != 2 {
		t.Fatalf("result %+v; want complete, reporting 2 metric rows pending", res)
	}
}
