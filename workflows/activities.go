package workflows

import (
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
	ControllerActivityNames = []string{CreateStudyActivity, SuggestActivity, RecordActivity, AwaitMetricsActivity, FinishStudyActivity, DecideActivity}
	WorkerActivityNames     = []string{TrainTrialActivity, RemoveCheckpointsActivity}
)

func executeCreateStudy(ctx workflow.Context, in CreateStudyInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, CreateStudyActivity, in)
}

func executeSuggest(ctx workflow.Context, in SuggestInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, SuggestActivity, in)
}

func executeRecord(ctx workflow.Context, in RecordInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, RecordActivity, in)
}

func executeAwaitMetrics(ctx workflow.Context, in AwaitMetricsInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, AwaitMetricsActivity, in)
}

func executeFinishStudy(ctx workflow.Context, in FinishStudyInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, FinishStudyActivity, in)
}

func executeDecide(ctx workflow.Context, in DecideInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, DecideActivity, in)
}

func executeTrainTrial(ctx workflow.Context, in TrainInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, TrainTrialActivity, in)
}

func executeRemoveCheckpoints(ctx workflow.Context, in RemoveCheckpointsInput) workflow.Future {
	return workflow.ExecuteActivity(ctx, RemoveCheckpointsActivity, in)
}
