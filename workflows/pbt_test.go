package workflows

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/relutune/relutune/spec"
)

func pbtTestSpec(t *testing.T) spec.Spec {
	t.Helper()
	s, err := spec.Parse([]byte(`name: wf
dataset: spirals
model: {hidden: [4]}
space:
  activation: {choice: [relu, tanh]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {max_trials: 4, parallelism: 2}
schedule: {kind: pbt, max_epochs: 6, interval: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	return *s
}

// TestPBTGenerations runs a pbt study against mocked activities: three
// generations of four members (at most parallelism at once), Exploit after
// the first two with the members' values, the target continuing from the
// copy of its source's checkpoint with its new assignment, every member
// recorded once after the last generation; and extend is refused.
func TestPBTGenerations(t *testing.T) {
	f := &fakeCluster{}
	var mu sync.Mutex
	var trains []TrainInput
	f.train = func(in TrainInput) (TrainOutput, error) {
		mu.Lock()
		trains = append(trains, in)
		mu.Unlock()
		obj := float64(in.Number) / 10 // trial 3 best, trial 0 worst
		if in.Config.LearningRate == 0.5 {
			obj = 0.9 // the exploited trial
		}
		if in.UntilEpoch > 0 {
			return TrainOutput{EpochsDone: in.UntilEpoch, Objective: &obj, Attempt: in.Attempt, Worker: "w", Suspended: true,
				HostQueue: "hq", Saved: &CheckpointRef{Trial: in.Number, Epoch: in.UntilEpoch, Ref: fmt.Sprintf("ck-%d-%d", in.Number, in.UntilEpoch), HostQueue: "hq"}}, nil
		}
		return TrainOutput{EpochsDone: 6, Objective: &obj, Attempt: in.Attempt, Worker: "w", HostQueue: "hq"}, nil
	}
	env := newEnv(t, f)
	var exploits []ExploitInput
	env.OnActivity(ExploitActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in ExploitInput) (ExploitOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		exploits = append(exploits, in)
		target := TrialAssignment{TrialID: 100, Number: 0, Seed: 1, Params: in.Members[0].Params}
		target.Config.LearningRate, target.Config.Epochs = 0.5, 6
		return ExploitOutput{Steps: []ExploitStep{{Source: 3, Target: target}}}, nil
	})
	var copies []CopyCheckpointInput
	env.OnActivity(CopyCheckpointActivity, mock.Anything, mock.Anything).Return(func(ctx context.Context, in CopyCheckpointInput) (CopyCheckpointOutput, error) {
		mu.Lock()
		defer mu.Unlock()
		copies = append(copies, in)
		return CopyCheckpointOutput{Ref: fmt.Sprintf("copy-%d-of-%d", in.Target.Number, in.Source), HostQueue: "hq"}, nil
	})
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAddTrials, "more", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {},
		}, AddTrialsRequest{Trials: 2})
	}, time.Millisecond)
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: pbtTestSpec(t)})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "complete" || res.Counts["complete"] != 4 || res.Trials != 4 {
		t.Fatalf("result %+v, want 4 trials complete", res)
	}
	if rejected == nil || !strings.Contains(rejected.Error(), "population is fixed") {
		t.Errorf("add-trials: rejected with %v, want the population is fixed", rejected)
	}
	if len(trains) != 12 {
		t.Fatalf("%d trainings, want 3 generations x 4", len(trains))
	}
	if m := f.maxRunning.Load(); m > 2 {
		t.Errorf("%d trained at once, parallelism 2", m)
	}
	if len(exploits) != 2 || exploits[0].Generation != 1 || exploits[0].Epoch != 2 || exploits[1].Epoch != 4 || len(exploits[0].Members) != 4 {
		t.Fatalf("exploit calls %+v, want generations 1 and 2 at epochs 2 and 4 with 4 members", exploits)
	}
	for _, m := range exploits[0].Members {
		if want := float64(m.Trial) / 10; m.Value != want {
			t.Errorf("exploit member %d value %v, want %v", m.Trial, m.Value, want)
		}
	}
	if len(copies) != 2 || copies[0].From.Ref != "ck-3-2" || copies[0].Source != 3 || copies[0].Target.Number != 0 {
		t.Fatalf("copies %+v, want trial 3's epoch-2 checkpoint to trial 0", copies)
	}
	attempts := map[int]int{}
	for _, in := range trains {
		if in.Attempt <= attempts[in.Number] {
			t.Errorf("trial %d: attempt %d after %d; attempts must grow across generations", in.Number, in.Attempt, attempts[in.Number])
		}
		attempts[in.Number] = in.Attempt
		switch {
		case in.UntilEpoch == 2:
			if in.InitFrom != nil {
				t.Errorf("generation 1 of trial %d starts from %+v", in.Number, in.InitFrom)
			}
		case in.UntilEpoch == 4 && in.Number == 0:
			if in.InitFrom == nil || in.InitFrom.Ref != "copy-0-of-3" || in.Config.LearningRate != 0.5 {
				t.Errorf("trial 0 after exploit: init_from %+v lr %v, want the copy and the new assignment", in.InitFrom, in.Config.LearningRate)
			}
		case in.UntilEpoch == 4:
			if in.InitFrom == nil || in.InitFrom.Ref != fmt.Sprintf("ck-%d-2", in.Number) {
				t.Errorf("trial %d generation 2 starts from %+v, want its own epoch-2 checkpoint", in.Number, in.InitFrom)
			}
		case in.UntilEpoch == 0:
			if in.InitFrom == nil || in.InitFrom.Epoch != 4 {
				t.Errorf("trial %d's last generation starts from %+v, want epoch 4", in.Number, in.InitFrom)
			}
		}
	}
	for n := range 4 {
		if f.recorded[n] != "complete" {
			t.Errorf("trial %d recorded %q, want complete", n, f.recorded[n])
		}
	}
}
