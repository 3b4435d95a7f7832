package workflows

import (
	"fmt"
	"maps"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

// rungValue is trial n's objective at epoch e: fixed by the trial, as a
// seeded trainer's would be.
func rungValue(n, e int) float64 {
	v := math.Sin(float64(n)*12.9898+float64(e)*78.233) * 43758.5453
	return v - math.Floor(v)
}

// orderedRun runs a 12-trial ASHA study whose trials take delay(n) per
// segment, and returns each trial's recorded status and epochs.
func orderedRun(t *testing.T, delay func(n int) time.Duration) (map[int]string, []TrainInput) {
	t.Helper()
	f := &fakeCluster{epochs: 4}
	var mu sync.Mutex
	var calls []TrainInput
	f.train = func(in TrainInput) (TrainOutput, error) {
		mu.Lock()
		calls = append(calls, in)
		mu.Unlock()
		time.Sleep(delay(in.Number))
		done := 4
		if in.UntilEpoch > 0 {
			done = in.UntilEpoch
		}
		v := rungValue(in.Number, done)
		out := TrainOutput{EpochsDone: done, Objective: &v, Attempt: in.Attempt, Worker: "w"}
		if in.UntilEpoch > 0 {
			out.Suspended = true
			out.Saved = &CheckpointRef{Trial: in.Number, Epoch: done, Ref: fmt.Sprintf("ckpt-%d-%d", in.Number, done)}
		}
		return out, nil
	}
	// The store's DecideRungBelow: each value is kept; an ordered decision
	// sees the values of the lower-numbered trials only.
	values := map[int]map[int]float64{}
	f.decide = func(in DecideInput) (RungDecision, error) {
		if !in.Ordered {
			return RungDecision{}, fmt.Errorf("trial %d: Decide not ordered", in.Trial)
		}
		sched, err := search.NewScheduler(in.Schedule)
		if err != nil {
			return RungDecision{}, err
		}
		if values[in.Epoch] == nil {
			values[in.Epoch] = map[int]float64{}
		}
		values[in.Epoch][in.Trial] = in.Value
		var reported []search.RungValue
		for trial, v := range values[in.Epoch] {
			if trial <= in.Trial {
				reported = append(reported, search.RungValue{Trial: trial, Value: v})
			}
		}
		return RungDecision{Continue: search.Decide(sched, in.Trial, in.Epoch, in.Value, reported, in.Direction)}, nil
	}
	env := newEnv(t, f)
	sp := testSpec(t, 12, 3)
	sp.Objective.Direction = search.Maximize
	sp.Schedule = spec.Schedule{Kind: "asha", MinEpochs: 1, MaxEpochs: 4, Reduction: 2}
	env.ExecuteWorkflow(StudyWorkflowName, StudyInput{Spec: sp})
	var res StudyResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != search.StudyComplete {
		t.Fatalf("result %+v, %v", res, err)
	}
	out := map[int]string{}
	for n, st := range f.recorded {
		out[n] = string(st)
	}
	return out, calls
}

// TestOrderedRungsDoNotDependOnTiming: the same trials are pruned whether
// the early or the late trials train faster; every segment after a rung
// continues from the checkpoint the one before saved, with the tries
// numbered on, and the worker is never asked to decide.
func TestOrderedRungsDoNotDependOnTiming(t *testing.T) {
	early, calls := orderedRun(t, func(n int) time.Duration { return time.Duration(n) * 2 * time.Millisecond })
	late, _ := orderedRun(t, func(n int) time.Duration { return time.Duration(12-n) * 2 * time.Millisecond })
	if !maps.Equal(early, late) {
		t.Fatalf("statuses when early trials are fast %v, when late ones are %v", early, late)
	}
	pruned := 0
	for _, st := range early {
		if st == string(search.Pruned) {
			pruned++
		}
	}
	if len(early) != 12 || pruned == 0 || pruned == 12 {
		t.Fatalf("statuses %v; want 12 trials, some pruned", early)
	}
	last := map[int]TrainInput{}
	for _, in := range calls {
		if in.Schedule.Kind != search.SchedulerNone {
			t.Fatalf("trial %d was given scheduler %q; the study decides its rungs", in.Number, in.Schedule.Kind)
		}
		prev, seen := last[in.Number]
		switch {
		case !seen && (in.InitFrom != nil || in.UntilEpoch != 1 || in.Attempt != 1):
			t.Fatalf("first segment %+v; want until epoch 1 from scratch, attempt 1", in)
		case seen && (in.InitFrom == nil || in.InitFrom.Epoch != prev.UntilEpoch || in.Attempt != prev.Attempt+1):
			t.Fatalf("segment %+v after %+v; want it to start from the rung's checkpoint, next attempt", in, prev)
		case seen && in.UntilEpoch != map[int]int{1: 2, 2: 0}[prev.UntilEpoch]:
			t.Fatalf("segment after epoch %d stops at %d; want 2, then the end", prev.UntilEpoch, in.UntilEpoch)
		}
		last[in.Number] = in
	}
}
