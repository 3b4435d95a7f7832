package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
)

// TrainHeartbeatTimeout is how long a worker may go silent before its
// TrainTrial attempt is presumed dead and retried elsewhere.
const TrainHeartbeatTimeout = 30 * time.Second

// Limits of a trial's tries (see the failure taxonomy in train_faults.go).
const (
	// TrainMaxAttempts is how many of its own failures end a trial failed.
	TrainMaxAttempts = 3
	// TrainMaxInfraRetries is how many infrastructure failures (a worker
	// lost or killed, a heartbeat timeout, a dataset or metric stream out
	// of reach) a trial is retried after, on top of its own attempts. The
	// next one ends it failed, with an error that starts with
	// InfrastructureErrorPrefix.
	TrainMaxInfraRetries = 20
	// checkpointRemovalTimeout bounds RemoveCheckpoints on a worker's own
	// task queue: a worker that is gone keeps its files, and the trial
	// does not wait for it longer than this.
	checkpointRemovalTimeout = 10 * time.Second
)

// changeInfraRetries marks the workflow code that counts infrastructure
// failures apart from a trial's own and removes checkpoints once the
// outcome is recorded; histories recorded before it replay through
// trialLegacy.
const changeInfraRetries = "infra-retry-budget"

// TrialWorkflow trains one trial and records its outcome. The outcome comes
// from the TrainTrial activity's result, never from the metric stream.
//
// Studies started since the inline-trials change run their trials in the
// study's own workflow (see StudyWorkflow) through the same code
// (runTrial); TrialWorkflow stays for the trials of studies started before,
// and their histories.
//
// Each try of TrainTrial is its own activity (the server does not retry
// it): the workflow classifies what went wrong, keeps two counts, and
// waits before the next try (1 s, doubling, at most a minute). A try gets
// the trial's attempt number, counted across every try so that the writes
// it fences stay ordered, and the newest progress an earlier try reported.
// Once the outcome is recorded the trial's checkpoints are removed from
// the worker that holds them.
func TrialWorkflow(ctx workflow.Context, in TrialInput) (TrialResult, error) {
	if workflow.GetVersion(ctx, changeInfraRetries, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return trialLegacy(ctx, in)
	}
	log := workflow.GetLogger(ctx)
	res, hosts, err := runTrial(ctx, in, false)
	if err != nil {
		return res, err
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	if err := workflow.UpsertTypedSearchAttributes(dctx, AttrStatus.ValueSet(string(res.Status))); err != nil {
		log.Warn("upsert RelutuneStatus", "err", err)
	}
	if res.Objective != nil {
		if err := workflow.UpsertTypedSearchAttributes(dctx, AttrBest.ValueSet(*res.Objective)); err != nil {
			log.Warn("upsert RelutuneBest", "err", err)
		}
	}
	// Only now that the outcome is stored may the checkpoints go: until
	// then a retry (after a lost completion, say) resumes from them.
	removeCheckpoints(dctx, in, hosts)
	if res.Status == search.Canceled {
		return res, temporal.NewCanceledError(res)
	}
	return res, nil
}

// runTrial trains a trial, with retries, and records its outcome; it
// returns what Record stored and the task queues of the workers that may
// hold the trial's checkpoints, which the caller removes. The outcome is
// recorded even when ctx is canceled. With localRecord, Record runs as a
// local activity (controllerContext). An error means the outcome could not
// be recorded.
func runTrial(ctx workflow.Context, in TrialInput, localRecord bool) (TrialResult, []string, error) {
	run := trainWithRetries(ctx, in, localRecord, trainSegment{})
	return recordOutcome(ctx, in, localRecord, trialOutcome(in.Assignment, run), run.hosts)
}

// trialOutcome is the outcome of trial a whose training came to run.
func trialOutcome(a TrialAssignment, run trainRun) TrialResult {
	res := TrialResult{
		TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
	}
	res.Attempt, res.Worker = run.attempt, run.worker
	var appErr *temporal.ApplicationError
	switch {
	case run.kind == noFailure:
		out := run.out
		res.Status = search.Complete
		res.Objective = out.Objective
		res.TestAccuracy = out.TestAccuracy
		res.EpochsDone = out.EpochsDone
		if out.Pruned {
			res.Status = search.Pruned
		}
		if res.Objective == nil { // the metric was not finite: never ranked
			res.Status = search.Diverged
		}
	case run.kind == canceledFailure:
		res.Status = search.Canceled
		res.Error = "canceled"
	case errors.As(run.err, &appErr) && appErr.Type() == ErrTypeDiverged:
		res.Status = search.Diverged
		res.Error = appErr.Message()
		var d DivergedDetails
		if appErr.HasDetails() && appErr.Details(&d) == nil {
			res.EpochsDone, res.Worker = d.Epoch, d.Worker
		}
	case run.kind == infraFailure:
		res.Status = search.Failed
		res.Error = fmt.Sprintf("%s%s (%d infrastructure failures, the limit is %d retries)",
			InfrastructureErrorPrefix, rootMessage(run.err), run.infraFailures, TrainMaxInfraRetries)
	default:
		res.Status = search.Failed
		res.Error = rootMessage(run.err)
	}
	return res
}

// recordOutcome records res, even when ctx is canceled, and returns what
// Record stored with hosts (see runTrial).
func recordOutcome(ctx workflow.Context, in TrialInput, localRecord bool, res TrialResult, hosts []string) (TrialResult, []string, error) {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = controllerContext(dctx, localRecord)
	if err := executeRecord(dctx, RecordInput{Study: in.Study, Result: res}).Get(dctx, &res); err != nil {
		return res, hosts, err
	}
	return res, hosts, nil
}

// failureKind is how a TrainTrial try ended.
type failureKind int

const (
	noFailure       failureKind = iota
	canceledFailure             // the trial (or its study) was canceled
	finalFailure                // divergence, an invalid configuration: not retried
	trialFailure                // the trial's own failure: counts against TrainMaxAttempts
	infraFailure                // counts against TrainMaxInfraRetries
)

func (k failureKind) String() string {
	return [...]string{"none", "canceled", "final", "trial", "infrastructure"}[k]
}

// trainRun is what the tries of a trial came to.
type trainRun struct {
	out           TrainOutput // of the try that succeeded
	err           error       // of the last try, when none succeeded
	kind          failureKind // of the last try
	attempt       int         // the last try's number
	trialFailures int
	infraFailures int
	worker        string   // the last worker known to have run it
	hosts         []string // task queues of workers that may hold its checkpoints
}

func (r *trainRun) addHost(q string) {
	if q == "" || slices.Contains(r.hosts, q) {
		return
	}
	r.hosts = append(r.hosts, q)
}

// trainSegment is the part of a trial one trainWithRetries trains; the
// zero value is the whole trial.
type trainSegment struct {
	until   int            // TrainInput.UntilEpoch
	from    *CheckpointRef // TrainInput.InitFrom
	attempt int            // tries of the trial's earlier segments: this one's count on from them
	hosts   []string       // task queues that may hold the trial's checkpoints so far
	// ordered: the study decides the trial's rungs (rungs.go), so the
	// worker is given no scheduler to ask.
	ordered bool
}

// trainWithRetries runs TrainTrial until a try succeeds, fails for good,
// or the trial's own or its infrastructure failures run out.
func trainWithRetries(ctx workflow.Context, in TrialInput, inline bool, seg trainSegment) trainRun {
	log := workflow.GetLogger(ctx)
	a := in.Assignment
	hb := TrainHeartbeatTimeout
	if in.HeartbeatTimeout > 0 {
		hb = in.HeartbeatTimeout
	}
	tctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           in.TrialsQueue,
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    hb,
		WaitForCancellation: true,
		// One try per activity: the workflow decides about the next.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	run := trainRun{attempt: seg.attempt + in.AttemptBase, hosts: slices.Clone(seg.hosts)}
	var resume *TrainProgress
	schedule := in.Schedule
	if seg.ordered {
		schedule = search.SchedulerSpec{Kind: search.SchedulerNone}
	}
	for {
		run.attempt++
		actx := tctx
		if inline {
			// The try's name in the study's history, where the Temporal
			// UI lists it.
			opts := workflow.GetActivityOptions(tctx)
			opts.ActivityID = fmt.Sprintf("trial-%d-attempt-%d", a.Number, run.attempt)
			actx = workflow.WithActivityOptions(tctx, opts)
		}
		var out TrainOutput
		err := executeTrainTrial(actx, TrainInput{
			Study: in.Study, StudyID: in.StudyID, TrialID: a.TrialID, Number: a.Number,
			Metric: in.Metric, Schedule: schedule, Config: a.Config, ConfigHash: a.ConfigHash,
			Attempt: run.attempt, Resume: resume, KeepModels: in.KeepModels, Direction: in.Direction,
			UntilEpoch: cmp.Or(seg.until, in.UntilEpoch), InitFrom: cmp.Or(seg.from, in.InitFrom),
		}).Get(ctx, &out)
		run.err = err
		if err == nil {
			run.out, run.kind = out, noFailure
			if out.Worker != "" {
				run.worker = out.Worker
			}
			run.addHost(out.HostQueue)
			return run
		}
		if temporal.IsCanceledError(err) || ctx.Err() != nil {
			run.kind = canceledFailure
			return run
		}
		f := classifyTrainError(err)
		run.kind = f.kind
		run.addHost(f.hostQueue)
		if f.worker != "" {
			run.worker = f.worker
		}
		if f.progress.Epoch > 0 && (resume == nil || f.progress.Epoch >= resume.Epoch) {
			p := f.progress
			resume = &p
		}
		switch f.kind {
		case finalFailure:
			return run
		case infraFailure:
			run.infraFailures++
			if run.infraFailures > TrainMaxInfraRetries {
				return run
			}
		default:
			run.trialFailures++
			if run.trialFailures >= TrainMaxAttempts {
				return run
			}
		}
		wait := retryBackoff(run.trialFailures + run.infraFailures)
		log.Warn("trial try failed; retrying", "trial", a.Number, "attempt", run.attempt, "kind", f.kind.String(),
			"trial_failures", run.trialFailures, "infra_failures", run.infraFailures, "retry_in", wait, "err", err)
		if err := workflow.Sleep(ctx, wait); err != nil {
			run.kind, run.err = canceledFailure, err
			return run
		}
	}
}

// retryBackoff is the wait before the next try after n failures: 1 s,
// doubling, at most a minute.
func retryBackoff(n int) time.Duration {
	if n > 7 {
		return time.Minute
	}
	return min(time.Second<<max(n-1, 0), time.Minute)
}

// trainFailure is a classified failed try.
type trainFailure struct {
	kind      failureKind
	progress  TrainProgress // how far it got, when it said
	worker    string
	hostQueue string
}

// classifyTrainError sorts a failed TrainTrial try into the taxonomy
// described in train_faults.go.
func classifyTrainError(err error) trainFailure {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		// The worker died, hung or lost its connection: whatever it
		// heartbeat last says where its checkpoint is.
		f := trainFailure{kind: infraFailure}
		if timeout.HasLastHeartbeatDetails() {
			var p TrainProgress
			if timeout.LastHeartbeatDetails(&p) == nil {
				f.progress = p
			}
		}
		return f
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch {
		case appErr.Type() == ErrTypeInfrastructure:
			f := trainFailure{kind: infraFailure}
			var d InfraDetails
			if appErr.HasDetails() && appErr.Details(&d) == nil {
				f.progress, f.worker, f.hostQueue = d.Progress, d.Worker, d.HostQueue
			}
			return f
		case appErr.Type() == ErrTypeDiverged, appErr.Type() == ErrTypeInvalidConfig, appErr.NonRetryable():
			return trainFailure{kind: finalFailure}
		}
	}
	return trainFailure{kind: trialFailure}
}

// removeCheckpoints asks each worker that may hold the trial's checkpoints
// to delete them, and waits at most checkpointRemovalTimeout for them.
func removeCheckpoints(ctx workflow.Context, in TrialInput, hosts []string) {
	futures := make([]workflow.Future, len(hosts))
	for i, q := range hosts {
		rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:              q,
			ScheduleToCloseTimeout: checkpointRemovalTimeout,
			RetryPolicy:            &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 2 * time.Second},
		})
		futures[i] = executeRemoveCheckpoints(rctx, RemoveCheckpointsInput{Study: in.Study, Number: in.Assignment.Number})
	}
	for i, f := range futures {
		if err := f.Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("trial checkpoints left on their worker (it did not answer)",
				"trial", in.Assignment.Number, "task_queue", hosts[i], "err", err)
		}
	}
}

// trialLegacy runs a trial the way workflows started before the
// infrastructure retry budget did (see TrialWorkflow): the server retries
// TrainTrial up to 3 times whatever failed, and TrainTrial's checkpoints
// are not removed by the workflow. Histories recorded then replay through it.
func trialLegacy(ctx workflow.Context, in TrialInput) (TrialResult, error) {
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
	err := executeTrainTrial(tctx, TrainInput{
		Study: in.Study, StudyID: in.StudyID, TrialID: a.TrialID, Number: a.Number,
		Metric: in.Metric, Schedule: in.Schedule, Config: a.Config, ConfigHash: a.ConfigHash,
	}).Get(ctx, &out)
	res.Attempt, res.Worker = out.Attempt, out.Worker
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		res.Status = search.Complete
		res.Objective = out.Objective
		res.TestAccuracy = out.TestAccuracy
		res.EpochsDone = out.EpochsDone
		if out.Pruned {
			res.Status = search.Pruned
		}
		if res.Objective == nil { // the metric was not finite: never ranked
			res.Status = search.Diverged
		}
	case temporal.IsCanceledError(err) || ctx.Err() != nil:
		res.Status = search.Canceled
		res.Error = "canceled"
	case errors.As(err, &appErr) && appErr.Type() == ErrTypeDiverged:
		res.Status = search.Diverged
		res.Error = appErr.Message()
		var d DivergedDetails
		if appErr.HasDetails() && appErr.Details(&d) == nil {
			res.EpochsDone, res.Attempt, res.Worker = d.Epoch, d.Attempt, d.Worker
		}
	default:
		res.Status = search.Failed
		res.Error = rootMessage(err)
	}

	// Record even when canceled.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = controllerContext(dctx, false)
	if err := executeRecord(dctx, RecordInput{Study: in.Study, Result: res}).Get(dctx, &res); err != nil {
		return res, err
	}
	if err := workflow.UpsertTypedSearchAttributes(dctx, AttrStatus.ValueSet(string(res.Status))); err != nil {
		workflow.GetLogger(ctx).Warn("upsert RelutuneStatus", "err", err)
	}
	if res.Objective != nil {
		if err := workflow.UpsertTypedSearchAttributes(dctx, AttrBest.ValueSet(*res.Objective)); err != nil {
			workflow.GetLogger(ctx).Warn("upsert RelutuneBest", "err", err)
		}
	}
	if res.Status == search.Canceled {
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
