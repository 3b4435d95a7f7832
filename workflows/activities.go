package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Names under which the activities are registered. The workflows call
// them by these names only, through the typed helpers below, so that they
// do not depend on the code that implements them: the controller's
// activities (internal/controller, next to Postgres) and the training
// workers' (internal/worker). Saved histories name them, so a name never
// changes.
const (
	// Controller activities (task queue StudiesQueue).
	CreateStudyActivity  = "CreateStudy"  // CreateStudyInput -> CreateStudyOutput
	SuggestActivity      = "Suggest"      // SuggestInput -> SuggestOutput
	RecordActivity       = "Record"       // RecordInput -> TrialResult
	AwaitMetricsActivity = "AwaitMetrics" // AwaitMetricsInput -> AwaitMetricsOutput
	FinishStudyActivity  = "FinishStudy"  // FinishStudyInput
	DecideActivity       = "Decide"       // DecideInput -> RungDecision

	// Worker activities (task queue TrialsQueue, and a worker's HostQueue).
	TrainTrialActivity        = "TrainTrial"        // TrainInput -> TrainOutput
	RemoveCheckpointsActivity = "RemoveCheckpoints" // RemoveCheckpointsInput
)

// ControllerActivityNames and WorkerActivityNames list the activities each
// side must register.
var (
	ControllerActivityNames = []string{CreateStudyActivity, SuggestActivity, RecordActivity, AwaitMetricsActivity, FinishStudyActivity, DecideActivity, ExploitActivity}
	WorkerActivityNames     = []string{TrainTrialActivity, RemoveCheckpointsActivity, CopyCheckpointActivity}
)

// localControllerKey marks a workflow context whose controller activities
// run as local activities (see controllerContext).
type localControllerKey struct{}

// controllerContext returns ctx set up for the controller's activities.
// With local set, they run as local activities inside the controller's own
// workflow task, which saves a round trip through the server for each call
// (the studies task queue is polled by the controller, which registers
// them); without it, as activity tasks on that queue, as histories
// recorded before the inline-trials change expect.
func controllerContext(ctx workflow.Context, local bool) workflow.Context {
	if local {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         controllerRetryPolicy(),
		})
		return workflow.WithValue(ctx, localControllerKey{}, true)
	}
	return workflow.WithActivityOptions(workflow.WithValue(ctx, localControllerKey{}, false), controllerActivityOptions())
}

// executeController runs one of the controller's activities as ctx says
// (controllerContext).
func executeController(ctx workflow.Context, name string, in any) workflow.Future {
	if local, _ := ctx.Value(localControllerKey{}).(bool); local {
		return workflow.ExecuteLocalActivity(ctx, name, in)
	}
	return workflow.ExecuteActivity(ctx, name, in)
}

func executeCreateStudy(ctx workflow.Context, in CreateStudyInput) workflow.Future {
	return executeController(ctx, CreateStudyActivity, in)
}

func executeSuggest(ctx workflow.Context, in SuggestInput) workflow.Future {
	return executeController(ctx, SuggestActivity, in)
}

func executeRecord(ctx workflow.Context, in RecordInput) workflow.Future {
	return executeController(ctx, RecordActivity, in)
}

// executeAwaitMetrics is always an activity task: it waits up to minutes
// and heartbeats, which a local activity cannot.
func executeAwaitMetrics(ctx workflow.Context, in AwaitMetricsInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, AwaitMetricsActivity, in)
}

func executeFinishStudy(ctx workflow.Context, in FinishStudyInput) workflow.Future {
	return executeController(ctx, FinishStudyActivity, in)
}

func executeDecide(ctx workflow.Context, in DecideInput) workflow.Future {
	return executeController(ctx, DecideActivity, in)
}

func executeTrainTrial(ctx workflow.Context, in TrainInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, TrainTrialActivity, in)
}

func executeRemoveCheckpoints(ctx workflow.Context, in RemoveCheckpointsInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, RemoveCheckpointsActivity, in)
}
