package workflows

import (
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestReplay replays histories recorded from real runs of this version
// against the current workflow code; a non-deterministic change fails it.
// Refresh with `temporal workflow show --workflow-id <id> --output json`.
func TestReplay(t *testing.T) {
	for _, tc := range []struct{ file string }{
		{"testdata/study_history.json"},
		{"testdata/trial_history.json"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(StudyWorkflow, workflow.RegisterOptions{Name: StudyWorkflowName})
			r.RegisterWorkflowWithOptions(TrialWorkflow, workflow.RegisterOptions{Name: TrialWorkflowName})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, tc.file); err != nil {
				t.Fatal(err)
			}
		})
	}
}
