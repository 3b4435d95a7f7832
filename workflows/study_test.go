package workflows

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

func testSpec(t *testing.T, maxTrials, parallelism int) spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(`name: wf
dataset: spirals
model: {hidden: [4]}
space:
  activation: {choice: [relu, tanh]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {max_trials: 1, parallelism: 1}
schedule: {max_epochs: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	s.Search.MaxTrials, s.Search.Parallelism = maxTrials, parallelism
	return *s
}

// fakeCluster mocks every activity and counts what the workflow did.
type fakeCluster struct {
	mu         sync.Mutex
	suggested  int
	suggests   []SuggestInput // every Suggest call
	recorded   map[int]search.State
	finished   search.StudyState
	running    atomic.Int32
	maxRunning atomic.Int32
	train      func(in TrainInput) (TrainOutput, error)
	trainDelay time.Duration
	trainCalls atomic.Int32
	perConfig  int // trials Suggest returns per configuration (replicates); default 1
	// record, when set, stores an outcome instead of the default (which
	// returns it as given) and returns the stored one.
	record func(in RecordInput) TrialResult
	// awaitMetrics answers AwaitMetrics; nil answers nothing pending.
	awaitMetrics func(in AwaitMetricsInput) AwaitMetricsOutput
	removed      []RemoveCheckpointsInput // RemoveCheckpoints calls
	removedOn    []string                 // and their task queues
	recordFails  int                      // the first recordFails Record calls fail
	epochs       int                      // the suggested trials' epochs; default 2
	// decide, when set, answers Decide instead of the default (every
	// value reported so far, in arrival order).
	decide func(in DecideInput) (RungDecision, error)
	events []string // Record and RemoveCheckpoints calls in order
}

// registerActivityStubs registers, under the activities' names, functions
// of their signatures that fail unless the test mocks them: the workflows
// know their activities by name only.
func registerActivityStubs(env *testsuite.TestWorkflowEnvironment) {
	notMocked := errors.New("activity not mocked")
	for name, fn := range map[string]any{
		CreateStudyActivity: func(context.Context, CreateStudyInput) (CreateStudyOutput, error) {
			return CreateStudyOutput{}, notMocked
		},
		SuggestActivity: func(context.Context, SuggestInput) (SuggestOutput, error) { return SuggestOutput{}, notMocked },
		RecordActivity:  func(context.Context, RecordInput) (TrialResult, error) { return TrialResult{}, notMocked },
		AwaitMetricsActivity: func(context.Context, AwaitMetricsInput) (AwaitMetricsOutput, error) {
			return AwaitMetricsOutput{}, notMocked
		},
		FinishStudyActivity:       func(context.Context, FinishStudyInput) error { return notMocked },
		DecideActivity:            func(context.Context, DecideInput) (RungDecision, error) { return RungDecision{}, notMocked },
		TrainTrialActivity:        func(context.Context, TrainInput) (TrainOutput, error) { return TrainOutput{}, notMocked },
		RemoveCheckpointsActivity: func(context.Context, RemoveCheckpointsInput) error { return notMocked },
		ExploitActivity:           func(context.Context, ExploitInput) (ExploitOutput, error) { return ExploitOutput{}, notMocked },
		CopyCheckpointActivity: func(context.Context, CopyCheckpointInput) (CopyCheckpointOutput, error) {
			return CopyCheckpointOutput{}, notMocked
		},
	} {
		env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

func newEnv(t *testing.T, f *fakeCluster) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(StudyWorkflow, workflow.RegisterOptions{Name: StudyWorkflowName})
	env.RegisterWorkflowWithOptions(TrialWorkflow, workflow.RegisterOptions{Name: TrialWorkflowName})
	registerActivityStubs(env)
	f.recorded = map[int]search.State{}
	env.OnActivity(CreateStudyActivity, mock.Anything, mock.Anything).Return(CreateStudyOutput{StudyID: 1, Created: true}, nil)
	env.OnActivity(SuggestActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in SuggestInput) (SuggestOutput, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.suggests = append(f.suggests, in)
		var out SuggestOutput
		for i, g := range in.Given {
			if i >= in.MaxTrials {
				break
			}
			n := in.FirstNumber + i
			out.Trials = append(out.Trials, TrialAssignment{TrialID: int64(100 + n), Number: n, Seed: g.Seed, Replicate: g.Replicate,
				Params: g.Params, Config: trainer.Config{Activation: trainer.ReLU, Epochs: 2}})
			f.suggested++
		}
		for i := 0; len(in.Given) == 0 && i < in.Configs*max(f.perConfig, 1) && i < in.MaxTrials; i++ {
			n := in.FirstNumber + i
			out.Trials = append(out.Trials, TrialAssignment{
				TrialID: int64(100 + n), Number: n, Seed: 1,
				Params: search.Config{"activation": search.Str("relu")},
				Config: trainer.Config{Activation: trainer.ReLU, Epochs: cmp.Or(f.epochs, 2)},
			})
			f.suggested++
		}
		return out, nil
	})
	env.OnActivity(TrainTrialActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in TrainInput) (TrainOutput, error) {
		f.trainCalls.Add(1)
		n := f.running.Add(1)
		defer f.running.Add(-1)
		for {
			m := f.maxRunning.Load()
			if n <= m || f.maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		if f.trainDelay > 0 {
			select {
			case <-time.After(f.trainDelay):
			case <-ctx.Done():
				return TrainOutput{}, ctx.Err()
			}
		}
		if f.train != nil {
			return f.train(in)
		}
		obj := 0.5 + float64(in.Number)/100
		return TrainOutput{EpochsDone: 2, Objective: &obj, Attempt: 1, Worker: "w"}, nil
	})
	env.OnActivity(RecordActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in RecordInput) (TrialResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.recordFails > 0 {
			f.recordFails--
			f.events = append(f.events, fmt.Sprintf("record %d failed", in.Result.Number))
			return TrialResult{}, errors.New("postgres: connection refused")
		}
		f.events = append(f.events, fmt.Sprintf("record %d %s", in.Result.Number, in.Result.Status))
		if f.record != nil {
			r := f.record(in)
			f.recorded[in.Result.Number] = r.Status
			return r, nil
		}
		f.recorded[in.Result.Number] = in.Result.Status
		return in.Result, nil
	})
	env.OnActivity(RemoveCheckpointsActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in RemoveCheckpointsInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, fmt.Sprintf("remove %d", in.Number))
		f.removed = append(f.removed, in)
		f.removedOn = append(f.removedOn, activity.GetInfo(ctx).TaskQueue)
		return nil
	})
	env.OnActivity(AwaitMetricsActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in AwaitMetricsInput) (AwaitMetricsOutput, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, "await metrics")
		if f.awaitMetrics != nil {
			return f.awaitMetrics(in), nil
		}
		return AwaitMetricsOutput{}, nil
	})
	rungs := map[int][]float64{}
	env.OnActivity(DecideActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in DecideInput) (RungDecision, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.decide != nil {
			return f.decide(in)
		}
		sched, err := search.NewScheduler(in.Schedule)
		if err != nil {
			return RungDecision{}, err
		}
		rungs[in.Epoch] = append(rungs[in.Epoch], in.Value)
		return RungDecision{Continue: sched.Continue(in.Epoch, in.Value, rungs[in.Epoch], in.Direction)}, nil
	})
	env.OnActivity(FinishStudyActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in FinishStudyInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, "finish "+string(in.Status))
		f.finished = in.Status
		return nil
	})
	return env
}

// studyModes are the two ways a study runs its trials: in its own
// workflow with local controller activities (studies started since the
// inline-trials change), and as child workflows (studies started before,
// still running or replaying).
var studyModes = []struct {
	name    string
	version workflow.Version
}{{"inline", 1}, {"child", workflow.DefaultVersion}}

func forEachMode(t *testing.T, test func(t *testing.T, mode workflow.Version)) {
	for _, m := range studyModes {
		t.Run(m.name, func(t *testing.T) { test(t, m.version) })
	}
}

func newModeEnv(t *testing.T, f *fakeCluster, mode workflow.Version) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t, f)
	env.OnGetVersion(changeInlineTrials, workflow.DefaultVersion, 1).Return(mode)
	return env
}

// TestInlineStudyRunsTrialsItself: a study of this version starts no
// child workflow; the controller's activities run as local activities and
// the trial's tries are named after it. A study of the earlier version
// does the opposite.
func TestInlineStudyRunsTrialsItself(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode workflow.Version) {
		f := &fakeCluster{}
		env := newModeEnv(t, f, mode)
		var mu sync.Mutex
		local, remote := map[string]int{}, map[string]int{}
		var trainIDs []string
		env.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, _ []interface{}) {
			mu.Lock()
			defer mu.Unlock()
			local[info.ActivityType.Name]++
		})
		env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
			mu.Lock()
			defer mu.Unlock()
			remote[info.ActivityType.Name]++
			if info.ActivityType.Name == TrainTrialActivity {
				trainIDs = append(trainIDs, info.ActivityID)
			}
		})
		children := 0
		env.SetOnChildWorkflowStartedListener(func(*workflow.Info, workflow.Context, converter.EncodedValues) { children++ })
		env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 3, 1)})
		var res StudyResult
		if err := env.GetWorkflowResult(&res); err != nil || res.Counts["complete"] != 3 {
			t.Fatalf("result %+v, %v; want 3 complete", res, err)
		}
		if mode == workflow.DefaultVersion {
			if children != 3 || local[SuggestActivity]+local[RecordActivity] != 0 || remote[RecordActivity] != 3 {
				t.Fatalf("child mode: %d children, local %v, remote %v", children, local, remote)
			}
			return
		}
		if children != 0 {
			t.Errorf("%d child workflows started, want none", children)
		}
		for _, name := range []string{CreateStudyActivity, SuggestActivity, RecordActivity, FinishStudyActivity} {
			if local[name] == 0 || remote[name] != 0 {
				t.Errorf("%s: %d local, %d activity tasks; want local only", name, local[name], remote[name])
			}
		}
		if remote[AwaitMetricsActivity] != 1 {
			t.Errorf("AwaitMetrics ran %d times as an activity task, want 1 (it heartbeats)", remote[AwaitMetricsActivity])
		}
		if want := []string{"trial-0-attempt-1", "trial-1-attempt-1", "trial-2-attempt-1"}; !slices.Equal(trainIDs, want) {
			t.Errorf("TrainTrial activity ids %v, want %v", trainIDs, want)
		}
	})
}

// TestSamplerReadingResultsGetsOneConfigurationPerCall: with TPE, every
// Suggest asks for one configuration at the next position, with the lag
// of twice the parallelism, however many slots are free; random gets the
// free slots at once.
func TestSamplerReadingResultsGetsOneConfigurationPerCall(t *testing.T) {
	for _, tc := range []struct {
		algorithm string
		lag       int
		batched   bool
	}{{"tpe", 6, false}, {"random", 0, true}} {
		t.Run(tc.algorithm, func(t *testing.T) {
			f := &fakeCluster{trainDelay: 10 * time.Millisecond}
			env := newEnv(t, f)
			sp := testSpec(t, 9, 3)
			sp.Search.Algorithm = tc.algorithm
			env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
			var res StudyResult
			if err := env.GetWorkflowResult(&res); err != nil || res.Counts["complete"] != 9 {
				t.Fatalf("result %+v, %v; want 9 complete", res, err)
			}
			next, batched := 0, false
			for _, in := range f.suggests {
				if in.FirstNumber != next || in.Lag != tc.lag {
					t.Fatalf("Suggest %+v; want first number %d, lag %d", in, next, tc.lag)
				}
				if !tc.batched && in.Configs != 1 {
					t.Fatalf("Suggest asked for %d configurations at %d; a sampler reading results gets one", in.Configs, in.FirstNumber)
				}
				batched = batched || in.Configs > 1
				next += in.Configs
			}
			if batched != tc.batched {
				t.Errorf("batched suggestions: %v, want %v (calls %+v)", batched, tc.batched, f.suggests)
			}
		})
	}
}

func TestStudyRunsBudgetWithinParallelism(t *testing.T) {
	forEachMode(t, testStudyRunsBudgetWithinParallelism)
}

func testStudyRunsBudgetWithinParallelism(t *testing.T, mode workflow.Version) {
	f := &fakeCluster{trainDelay: 20 * time.Millisecond}
	env := newModeEnv(t, f, mode)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 7, 3)})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != search.StudyComplete || res.Counts["complete"] != 7 || f.trainCalls.Load() != 7 || len(f.recorded) != 7 {
		t.Fatalf("result %+v, trained %d, recorded %d; want complete with 7 trials", res, f.trainCalls.Load(), len(f.recorded))
	}
	if m := f.maxRunning.Load(); m > 3 {
		t.Fatalf("%d trials ran at once, parallelism is 3", m)
	}
	if res.Best == nil || res.Best.Number != 6 {
		t.Fatalf("best %+v, want trial 6 (highest objective)", res.Best)
	}
	if f.finished != search.StudyComplete {
		t.Fatalf("FinishStudy got %q, want complete", f.finished)
	}
}

func TestStudyClassifiesTrialOutcomes(t *testing.T) {
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		switch in.Number {
		case 0:
			return TrainOutput{}, temporal.NewNonRetryableApplicationError("loss is NaN", ErrTypeDiverged, nil, DivergedDetails{Epoch: 1, Attempt: 1})
		case 1:
			return TrainOutput{}, temporal.NewNonRetryableApplicationError("bad", ErrTypeInvalidConfig, nil)
		}
		obj := 0.9
		return TrainOutput{EpochsDone: 2, Objective: &obj, Attempt: 1}, nil
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 3, 1)})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := map[int]search.State{0: search.Diverged, 1: search.Failed, 2: search.Complete}
	for n, s := range want {
		if f.recorded[n] != s {
			t.Errorf("trial %d recorded %q, want %q", n, f.recorded[n], s)
		}
	}
	if res.Counts["diverged"] != 1 || res.Counts["failed"] != 1 || res.Counts["complete"] != 1 {
		t.Fatalf("counts %v", res.Counts)
	}
}

func TestStudyStopUpdate(t *testing.T) {
	f := &fakeCluster{trainDelay: 10 * time.Millisecond}
	env := newEnv(t, f)
	// Stop once a trial is training: the study accepts a stop before its
	// first trial too, which would leave nothing running to finish.
	var once sync.Once
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != "TrainTrial" {
			return
		}
		once.Do(func() {
			env.UpdateWorkflow(UpdateStop, "stop-1", &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { t.Errorf("stop rejected: %v", err) },
				OnAccept:   func() {},
				OnComplete: func(any, error) {},
			})
		})
	})
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 50, 2)})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != search.StudyStopped || f.finished != search.StudyStopped {
		t.Fatalf("status %q (finished %q), want stopped", res.Status, f.finished)
	}
	if n := f.trainCalls.Load(); n >= 50 || n < 1 {
		t.Fatalf("%d trials trained after stop; want the running ones only", n)
	}
}

func TestStudyAddTrialsValidated(t *testing.T) {
	f := &fakeCluster{trainDelay: 5 * time.Millisecond}
	env := newEnv(t, f)
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAddTrials, "bad", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AddTrialsRequest{Trials: 0})
		env.UpdateWorkflow(UpdateAddTrials, "good", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("add-trials 3 rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AddTrialsRequest{Trials: 3})
	}, time.Millisecond)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 2, 1)})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if rejected == nil {
		t.Fatal("add-trials 0 was accepted")
	}
	if res.Counts["complete"] != 5 {
		t.Fatalf("complete %d, want 5 (2 + 3 added)", res.Counts["complete"])
	}
}

func TestStudyContinuesAsNew(t *testing.T) {
	f := &fakeCluster{}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 5, 1), TrialsPerRun: 2})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("got %v, want ContinueAsNew after 2 trials", err)
	}
	var next StudyInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.NextNumber != 2 || next.State.Counts["complete"] != 2 || next.State.Budget != 5 {
		t.Fatalf("carried state %+v, want 2 trials done of a budget of 5", next.State)
	}
	if f.trainCalls.Load() != 2 {
		t.Fatalf("%d trials before ContinueAsNew, want 2", f.trainCalls.Load())
	}
}

func TestStudyCancelRecordsCanceled(t *testing.T) {
	forEachMode(t, testStudyCancelRecordsCanceled)
}

func testStudyCancelRecordsCanceled(t *testing.T, mode workflow.Version) {
	f := &fakeCluster{trainDelay: time.Hour}
	env := newModeEnv(t, f, mode)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Second)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 4, 2)})
	if err := env.GetWorkflowError(); !temporal.IsCanceledError(err) {
		t.Fatalf("got %v, want canceled", err)
	}
	if f.finished != search.StudyCanceled {
		t.Fatalf("FinishStudy got %q, want canceled", f.finished)
	}
	for n, s := range f.recorded {
		if s != "canceled" {
			t.Errorf("trial %d recorded %q, want canceled", n, s)
		}
	}
	if len(f.recorded) != 2 {
		t.Fatalf("%d trials recorded, want the 2 running ones", len(f.recorded))
	}
}

func TestStudyReportUpdateAppliesASHA(t *testing.T) {
	f := &fakeCluster{trainDelay: time.Hour}
	env := newEnv(t, f)
	sp := testSpec(t, 3, 3)
	sp.Schedule = spec.Schedule{Kind: "asha", MinEpochs: 1, MaxEpochs: 9, Reduction: 3}
	type call struct {
		r    RungReport
		want bool
	}
	calls := []call{
		{RungReport{Trial: 0, Epoch: 1, Value: 0.9}, true},  // alone at the rung
		{RungReport{Trial: 1, Epoch: 1, Value: 0.5}, false}, // one of two better: not in the top third
		{RungReport{Trial: 2, Epoch: 1, Value: 0.95}, true}, // best of three
		{RungReport{Trial: 0, Epoch: 2, Value: 0.1}, true},  // not a rung
	}
	got := make([]*bool, len(calls))
	var rejected error
	// One report at a time: the decisions depend on arrival order.
	for i, c := range calls {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateReport, fmt.Sprint("r", i), &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("report %d rejected: %v", i, err) },
				OnAccept: func() {},
				OnComplete: func(v any, err error) {
					if err != nil {
						t.Errorf("report %d: %v", i, err)
						return
					}
					b := v.(RungDecision).Continue
					got[i] = &b
				},
			}, c.r)
		}, time.Second+time.Duration(i)*200*time.Millisecond)
	}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateReport, "unknown", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, RungReport{Trial: 42, Epoch: 1, Value: 0.5})
	}, time.Second)
	env.RegisterDelayedCallback(env.CancelWorkflow, 2*time.Second)
	env.SetTestTimeout(20 * time.Second)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
	for i, c := range calls {
		if got[i] == nil || *got[i] != c.want {
			var g any = "no answer"
			if got[i] != nil {
				g = *got[i]
			}
			t.Errorf("report %+v: continue=%v, want %v", c.r, g, c.want)
		}
	}
	if rejected == nil {
		t.Error("a report for a trial that is not running was accepted")
	}
}

func TestStoppedStudyCancelsQueuedTrials(t *testing.T) {
	f := &fakeCluster{trainDelay: 50 * time.Millisecond, perConfig: 3}
	env := newEnv(t, f)
	sp := testSpec(t, 9, 2)
	sp.Search.Replicates = 3 // each suggestion queues three trials; two run at once
	// Stop once the first trial is training, so that the first suggestion
	// is partly running and partly queued.
	var once sync.Once
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != "TrainTrial" {
			return
		}
		once.Do(func() {
			env.UpdateWorkflow(UpdateStop, "stop", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("stop rejected: %v", err) }, OnAccept: func() {}, OnComplete: func(any, error) {},
			})
		})
	})
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var complete, canceled int
	for _, s := range f.recorded {
		switch s {
		case "complete":
			complete++
		case "canceled":
			canceled++
		}
	}
	// Depending on when the stop lands, one or two trials were running; the
	// rest of the suggested three were queued. Every suggested trial must
	// end recorded: the running ones complete, the queued ones canceled.
	if res.Status != search.StudyStopped || complete < 1 || canceled < 1 || complete+canceled != 3 || len(f.recorded) != 3 {
		t.Fatalf("status %s, %d complete, %d canceled of %d recorded; want 3 recorded: the running complete, the queued canceled", res.Status, complete, canceled, len(f.recorded))
	}
}

func TestStudyDeadlineStopsLaunching(t *testing.T) {
	f := &fakeCluster{trainDelay: 300 * time.Millisecond}
	env := newEnv(t, f)
	sp := testSpec(t, 100, 1)
	sp.Search.Deadline = "1s"
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != search.StudyStopped || res.Counts["complete"] < 1 || res.Counts["complete"] > 10 {
		t.Fatalf("result %+v; want stopped by the deadline after a few trials", res)
	}
}

// TestTrialRecordsTestAccuracy: the test accuracy a trial's training
// reports reaches the Record activity with the rest of its outcome.
func TestTrialRecordsTestAccuracy(t *testing.T) {
	f := &fakeCluster{}
	f.train = func(in TrainInput) (TrainOutput, error) {
		obj, acc := 0.8, 0.75+float64(in.Number)/100
		return TrainOutput{EpochsDone: 2, Objective: &obj, TestAccuracy: &acc, Attempt: 1}, nil
	}
	got := map[int]float64{}
	f.record = func(in RecordInput) TrialResult {
		if in.Result.TestAccuracy != nil {
			got[in.Result.Number] = *in.Result.TestAccuracy
		}
		return in.Result
	}
	env := newEnv(t, f)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 2, 1)})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got[0] != 0.75 || got[1] != 0.76 {
		t.Fatalf("recorded test accuracies %v, want 0: 0.75, 1: 0.76", got)
	}
}

// TestEnqueuedConfigurationsRunFirst: a spec's enqueue list, and the
// enqueue update, are stored as given trials with the study's replicate
// seeds before anything is sampled; the update raises the budget.
func TestEnqueuedConfigurationsRunFirst(t *testing.T) {
	f := &fakeCluster{trainDelay: 10 * time.Millisecond}
	env := newEnv(t, f)
	sp := testSpec(t, 4, 1)
	sp.Search.Replicates = 2
	sp.Enqueue = []map[string]any{{"activation": "tanh", "learning_rate": 0.01}}
	added := search.Config{"activation": search.Str("relu"), "learning_rate": search.Num(0.05)}
	var st StudyStatus
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == TrainTrialActivity && info.ActivityID == "trial-0-attempt-1" {
			env.UpdateWorkflow(UpdateEnqueue, "enq", &testsuite.TestUpdateCallback{
				OnReject: func(err error) { t.Errorf("enqueue rejected: %v", err) }, OnAccept: func() {},
				OnComplete: func(v any, err error) {
					if err == nil {
						st = v.(StudyStatus)
					}
				},
			}, EnqueueRequest{Configs: []search.Config{added}})
		}
	})
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if st.Budget != 6 || res.Counts["complete"] != 6 {
		t.Fatalf("budget after enqueue %d, result %+v; want 6 and 6 complete", st.Budget, res)
	}
	seeds := search.ReplicateSeeds(sp.Search.Seed, 2)
	var given []GivenTrial
	for _, in := range f.suggests {
		given = append(given, in.Given...)
	}
	if len(given) != 4 || given[0].Params["activation"] != search.Str("tanh") || given[2].Params.Hash() != added.Hash() ||
		given[0].Seed != seeds[0] || given[1].Seed != seeds[1] || given[1].Replicate != 1 {
		t.Fatalf("given trials %+v", given)
	}
	if first := f.suggests[0]; len(first.Given) == 0 || first.FirstNumber != 0 {
		t.Fatalf("the first Suggest %+v did not store the enqueued configuration", first)
	}
	// Rejected: a configuration outside the space.
	env2 := newEnv(t, &fakeCluster{trainDelay: time.Hour})
	var rejected error
	env2.RegisterDelayedCallback(func() {
		env2.UpdateWorkflow(UpdateEnqueue, "bad", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, EnqueueRequest{Configs: []search.Config{{"activation": search.Str("swish"), "learning_rate": search.Num(0.01)}}})
	}, time.Second)
	env2.RegisterDelayedCallback(env2.CancelWorkflow, 2*time.Second)
	env2.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: testSpec(t, 2, 1)})
	if rejected == nil || !strings.Contains(rejected.Error(), "configs[0]") {
		t.Fatalf("enqueue of a configuration outside the space: %v", rejected)
	}
}
