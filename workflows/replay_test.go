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
		{"testdata/study_asha_history.json"},   // TPE, replicates, ASHA report updates
		{"testdata/trial_pruned_history.json"}, // a trial pruned at a rung
		{"testdata/study_stop_history.json"},   // add-trials and stop updates
		// Recorded after the infra-retry-budget and await-metrics changes
		// (their version markers are in these histories).
		{"testdata/trial_infra_retry_history.json"},   // three heartbeat timeouts (worker killed), then complete; RemoveCheckpoints
		{"testdata/study_await_metrics_history.json"}, // AwaitMetrics before FinishStudy
		{"testdata/study_cancel_window_history.json"}, // canceled while its trial finished training
		{"testdata/trial_cancel_window_history.json"}, // that trial: complete after the cancel request
		// Recorded after the inline-trials change: trials run in the
		// study's workflow, controller activities are local.
		{"testdata/study_inline_asha_history.json"},          // TPE with ASHA report updates
		{"testdata/study_inline_worker_killed_history.json"}, // a worker killed mid-trial: heartbeat timeouts, resume, RemoveCheckpoints
		{"testdata/study_inline_steer_history.json"},         // add-trials and stop updates
		{"testdata/study_inline_cancel_window_history.json"}, // canceled while its trial finished training
		// Recorded after the pbt-generations change.
		{"testdata/study_pbt_history.json"}, // pbt: population 4, generations of 2 epochs, Exploit and CopyCheckpoint
		// Recorded after the ordered-rungs change: trials stop at their
		// ASHA rungs (UntilEpoch) and the study decides them in order.
		{"testdata/study_inline_ordered_rungs_history.json"}, // 6 trials, 4 pruned, promoted ones resumed from their checkpoints
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
