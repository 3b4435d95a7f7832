package worker

import (
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/relutune/relutune/workflows"
)

// TestSuspendCopyContinue: in both checkpoint backends, a trial told to
// stop at UntilEpoch suspends there with its checkpoint saved;
// CopyCheckpoint gives that checkpoint to another trial with a new
// learning rate; the target then trains from the source's epoch (its
// epochs continue from there), and the source goes on from its own.
func TestSuspendCopyContinue(t *testing.T) {
	for _, tc := range []struct {
		name string
		acts func(t *testing.T) *Activities
	}{
		{"dir", func(t *testing.T) *Activities {
			return &Activities{Publisher: &recPublisher{}, CheckpointDir: t.TempDir(), Worker: "w1"}
		}},
		{"objstore", func(t *testing.T) *Activities {
			return &Activities{Publisher: &recPublisher{}, Checkpoints: newMemStore(), Worker: "w1"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.acts(t)
			src := smallTrial("p", 4)
			src.Attempt, src.UntilEpoch = 1, 2
			out, err := runTrain(t, a, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !out.Suspended || out.Saved == nil || out.EpochsDone != 2 || out.Objective == nil {
				t.Fatalf("source: %+v, want suspended at epoch 2 with a saved checkpoint", out)
			}
			if out.SavedShared != (tc.name == "objstore") {
				t.Errorf("saved_shared %v with the %s backend", out.SavedShared, tc.name)
			}
			target := workflows.TrialAssignment{TrialID: 2, Number: 1, Seed: 3, Config: src.Config}
			target.Config.LearningRate = 0.0123
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			RegisterActivities(env, a)
			v, err := env.ExecuteActivity(a.CopyCheckpoint, workflows.CopyCheckpointInput{Study: "p", Source: 0, From: *out.Saved, Target: target})
			if err != nil {
				t.Fatal(err)
			}
			var cp workflows.CopyCheckpointOutput
			if err := v.Get(&cp); err != nil {
				t.Fatal(err)
			}
			if cp.Ref == "" || cp.Ref == out.Saved.Ref || cp.Shared != (tc.name == "objstore") {
				t.Fatalf("copy: %+v", cp)
			}
			// A reference that is not the source's is refused.
			if _, err := env.ExecuteActivity(a.CopyCheckpoint, workflows.CopyCheckpointInput{Study: "p", Source: 1, From: *out.Saved, Target: target}); err == nil {
				t.Error("copying trial 0's checkpoint as trial 1's was accepted")
			}

			pub := &recPublisher{}
			a.Publisher = pub
			tin := smallTrial("p", 4)
			tin.Number, tin.TrialID, tin.Config, tin.Attempt = 1, 2, target.Config, 2
			tin.InitFrom = &workflows.CheckpointRef{Trial: 1, Epoch: 2, Ref: cp.Ref}
			tout, err := runTrain(t, a, tin, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := pub.published(); tout.EpochsDone != 4 || len(got) != 2 || got[0] != 3 {
				t.Fatalf("target published epochs %v (done %d), want 3 and 4 from the source's checkpoint", got, tout.EpochsDone)
			}
			pub2 := &recPublisher{}
			a.Publisher = pub2
			src.UntilEpoch, src.Attempt, src.InitFrom = 0, 2, out.Saved
			sout, err := runTrain(t, a, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := pub2.published(); sout.EpochsDone != 4 || len(got) != 2 || got[0] != 3 {
				t.Fatalf("source published epochs %v, want 3 and 4", got)
			}
		})
	}
}
