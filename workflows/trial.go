package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
)

// TrainHeartbeatTimeout is how long a worker may go silent before its
// TrainTrial attempt is presumed dead and retried elsewhere.
const TrainHeartbeatTimeout = 30 * time.Second

// TrialWorkflow trains one trial and records its outcome. The outcome comes
// from the TrainTrial activity's result, never from the metric stream.
func TrialWorkflow(ctx workflow.Context, in TrialInput) (TrialResult, error) {
	a := in.Assignment
	res := TrialResult{
		TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
	}
	hb := TrainHeartbeatTimeout
	if in.HeartbeatTimeout > 0 {
		hb = in.HeartbeatTimeout
	}
	tctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           in.TrialsQueue,
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    hb,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        3,
			NonRetryableErrorTypes: []string{ErrTypeDiverged, ErrTypeInvalidConfig},
		},
	})
	var out TrainOutput
	err := workflow.ExecuteActivity(tctx, wa.TrainTrial, TrainInput{
		Study: in.Study, StudyID: in.StudyID, TrialID: a.TrialID, Number: a.Number,
		Metric: in.Metric, Schedule: in.Schedule, Config: a.Config, ConfigHash: a.ConfigHash,
	}).Get(ctx, &out)
	res.Attempt, res.Worker = out.Attempt, out.Worker
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		res.Status = string(search.Complete)
		res.Objective = out.Objective
		res.EpochsDone = out.EpochsDone
		if out.Pruned {
			res.Status = string(search.Pruned)
		}
		if res.Objective == nil { // the metric was not finite: never ranked
			res.Status = string(search.Diverged)
		}
	case temporal.IsCanceledError(err) || ctx.Err() != nil:
		res.Status = string(search.Canceled)
		res.Error = "canceled"
	case errors.As(err, &appErr) && appErr.Type() == ErrTypeDiverged:
		res.Status = string(search.Diverged)
		res.Error = appErr.Message()
		var d DivergedDetails
		if appErr.HasDetails() && appErr.Details(&d) == nil {
			res.EpochsDone, res.Attempt, res.Worker = d.Epoch, d.Attempt, d.Worker
		}
	default:
		res.Status = string(search.Failed)
		res.Error = rootMessage(err)
	}

	// Record even when canceled.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, controllerActivityOptions())
	if err := workflow.ExecuteActivity(dctx, ca.Record, RecordInput{Study: in.Study, Result: res}).Get(dctx, &res); err != nil {
		return res, err
	}
	if err := workflow.UpsertTypedSearchAttributes(dctx, AttrStatus.ValueSet(res.Status)); err != nil {
		workflow.GetLogger(ctx).Warn("upsert RelutuneStatus", "err", err)
	}
	if res.Objective != nil {
		if err := workflow.UpsertTypedSearchAttributes(dctx, AttrBest.ValueSet(*res.Objective)); err != nil {
			workflow.GetLogger(ctx).Warn("upsert RelutuneBest", "err", err)
		}
	}
	if res.Status == string(search.Canceled) {
		return res, temporal.NewCanceledError(res)
	}
	return res, nil
}

// rootMessage unwraps Temporal's error chain to the innermost message, which
// is what a user wants to read in `tunectl status`.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
