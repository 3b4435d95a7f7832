package workflows

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
)

// Study statuses, as stored in studies.status and RelutuneStatus.
const (
	StudyRunning  = "running"
	StudyComplete = "complete"
	StudyStopped  = "stopped"
	StudyCanceled = "canceled"
	StudyFailed   = "failed"
)

const defaultTrialsPerRun = 500

// DefaultMetricsWait bounds how long a finishing study waits for its
// trials' metric rows to land in Postgres (see AwaitMetrics).
const DefaultMetricsWait = 2 * time.Minute

// changeAwaitMetrics marks the AwaitMetrics step before FinishStudy.
const changeAwaitMetrics = "await-metrics"

// InfrastructureFailure reports whether r is a trial that failed because
// its infrastructure failures ran out rather than by its own failures.
func InfrastructureFailure(r TrialResult) bool {
	return r.Status == string(search.Failed) && strings.HasPrefix(r.Error, InfrastructureErrorPrefix)
}

// AddTrialsRequest is the add-trials update's argument.
type AddTrialsRequest struct {
	Trials int `json:"trials"`
}

func controllerActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: []string{ErrTypeInvalidConfig},
		},
	}
}

// StudyWorkflow runs a study to completion. See the package comment.
func StudyWorkflow(ctx workflow.Context, in StudyInput) (StudyResult, error) {
	log := workflow.GetLogger(ctx)
	sp := in.Spec
	if in.TrialsQueue == "" {
		in.TrialsQueue = TrialsQueue
	}
	if in.TrialsPerRun <= 0 {
		in.TrialsPerRun = defaultTrialsPerRun
	}
	actx := workflow.WithActivityOptions(ctx, controllerActivityOptions())

	// The query and update handlers are registered before the first
	// activity, so that an update sent right after submit (add-trials,
	// stop) is not refused as unknown while the study row is created.
	// Registering handlers records nothing in the history.
	st := in.State
	created := st != nil
	if st == nil {
		st = &StudyState{Budget: sp.Search.MaxTrials, Counts: map[string]int{}}
	}
	if st.Counts == nil {
		st.Counts = map[string]int{}
	}
	running := map[int]TrialAssignment{}
	stopping := false
	statusOf := func() StudyStatus {
		s := StudyStatus{
			Name: sp.Name, StudyID: st.StudyID, State: StudyRunning, Budget: st.Budget,
			Suggested: st.NextNumber, Queued: len(st.Queue), Counts: st.Counts, Best: st.Best, Runs: st.Runs,
			Running: []int{}, InfraFailed: st.InfraFailed,
		}
		for n := range running {
			s.Running = append(s.Running, n)
		}
		sort.Ints(s.Running)
		if st.Stopped {
			s.State = "stopping"
		}
		return s
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (StudyStatus, error) { return statusOf(), nil }); err != nil {
		return StudyResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateStop,
		func(ctx workflow.Context) (StudyStatus, error) {
			st.Stopped = true
			return statusOf(), nil
		}, workflow.UpdateHandlerOptions{}); err != nil {
		return StudyResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAddTrials,
		func(ctx workflow.Context, req AddTrialsRequest) (StudyStatus, error) {
			st.Budget += req.Trials
			st.Exhausted = false
			return statusOf(), nil
		}, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, req AddTrialsRequest) error {
				if req.Trials < 1 {
					return fmt.Errorf("trials: %d must be >= 1", req.Trials)
				}
				if st.Stopped {
					return errors.New("the study is stopping: no trials can be added")
				}
				if st.Budget+req.Trials > 100000 {
					return fmt.Errorf("trials: %d would raise the budget to %d, above the limit 100000", req.Trials, st.Budget+req.Trials)
				}
				return nil
			},
		}); err != nil {
		return StudyResult{}, err
	}

	if !created {
		var out CreateStudyOutput
		if err := executeCreateStudy(actx, CreateStudyInput{Spec: sp}).Get(ctx, &out); err != nil {
			return StudyResult{}, fmt.Errorf("create study: %w", err)
		}
		st.StudyID = out.StudyID
		st.StartedAt = workflow.Now(ctx).UnixNano()
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStudy.ValueSet(sp.Name), AttrStatus.ValueSet(StudyRunning)); err != nil {
		return StudyResult{}, err
	}

	sched, err := search.NewScheduler(sp.SchedulerSpec())
	if err != nil {
		return StudyResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidConfig, err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateReport,
		func(ctx workflow.Context, r RungReport) (RungDecision, error) {
			if !sched.Rung(r.Epoch) {
				return RungDecision{Continue: true}, nil
			}
			// The values live in Postgres (rung_values), not in this
			// workflow's state, which stays small however long the study.
			var d RungDecision
			err := executeDecide(workflow.WithActivityOptions(ctx, controllerActivityOptions()), DecideInput{
				StudyID: st.StudyID, Trial: r.Trial, Epoch: r.Epoch, Value: r.Value,
				Direction: sp.Objective.Direction, Schedule: sp.SchedulerSpec(),
			}).Get(ctx, &d)
			return d, err
		}, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, r RungReport) error {
				if _, ok := running[r.Trial]; !ok {
					return fmt.Errorf("trial %d is not running in this study", r.Trial)
				}
				if r.Epoch < 1 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
					return fmt.Errorf("epoch %d value %v: epoch must be >= 1 and the value finite", r.Epoch, r.Value)
				}
				return nil
			},
		}); err != nil {
		return StudyResult{}, err
	}

	var deadline time.Time
	if d, _ := sp.DeadlineDuration(); d > 0 {
		deadline = time.Unix(0, st.StartedAt).Add(d)
	}
	deadlinePassed := func() bool { return !deadline.IsZero() && !workflow.Now(ctx).Before(deadline) }

	selector := workflow.NewSelector(ctx)
	if !deadline.IsZero() {
		if wait := deadline.Sub(workflow.Now(ctx)); wait > 0 {
			selector.AddFuture(workflow.NewTimer(ctx, wait), func(workflow.Future) {})
		}
	}
	launched := 0
	replicates := max(sp.Search.Replicates, 1)
	// For a sampler that reads results, a suggestion at position p waits
	// until every trial numbered below p-lag is final, and the lag trials
	// just below p count as pending. What it sees is then the
	// same whatever the timing, so the same seed gives the same trials on
	// any number of workers. The lag of twice the parallelism lets that
	// many trials overtake a slow one before suggestions wait for it.
	lag := 0
	if search.ReadsResults(sp.Search.Algorithm) {
		lag = 2 * sp.Search.Parallelism
	}
	suggestionReady := func() bool {
		if lag == 0 {
			return true
		}
		for n := range running {
			if n < st.NextNumber-lag {
				return false
			}
		}
		return true
	}
	failedLimit := sp.Search.MaxFailedTrials

	onResult := func(a TrialAssignment, f workflow.Future) {
		delete(running, a.Number)
		var res TrialResult
		if err := f.Get(ctx, &res); err != nil {
			// The trial workflow records its own outcome. An error here
			// means it was canceled, terminated (from the Temporal UI, say)
			// or could not record: record it here, so no trial is left
			// running in the database. A trial already final keeps its row.
			res = TrialResult{TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
				Status: string(search.Canceled), Error: rootMessage(err)}
			if !temporal.IsCanceledError(err) {
				res.Status = string(search.Failed)
			}
			rctx, cancel := workflow.NewDisconnectedContext(ctx)
			defer cancel()
			rctx = workflow.WithActivityOptions(rctx, controllerActivityOptions())
			// Record answers with the stored outcome: a trial that recorded
			// itself (complete, say) before its workflow ended this way
			// keeps that outcome, and the study counts what is stored.
			var stored TrialResult
			if err := executeRecord(rctx, RecordInput{Study: sp.Name, Result: res}).Get(rctx, &stored); err != nil {
				log.Error("record trial outcome", "trial", a.Number, "err", err)
			} else if stored.Status != "" {
				res = stored
			}
		}
		st.Counts[res.Status]++
		if InfrastructureFailure(res) {
			st.InfraFailed++
		}
		if res.Status == string(search.Complete) && res.Objective != nil &&
			(st.Best == nil || sp.Objective.Direction.Better(*res.Objective, *st.Best.Objective)) {
			r := res
			st.Best = &r
			if err := workflow.UpsertTypedSearchAttributes(ctx, AttrBest.ValueSet(*res.Objective)); err != nil {
				log.Warn("upsert RelutuneBest", "err", err)
			}
		}
	}

	for {
		wantCAN := launched >= in.TrialsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
		tooManyFailed := failedLimit > 0 && st.Counts[string(search.Failed)]-st.InfraFailed >= failedLimit
		canLaunch := func() bool {
			return ctx.Err() == nil && !st.Stopped && !stopping && !wantCAN && !tooManyFailed && !deadlinePassed()
		}
		for canLaunch() && len(running) < sp.Search.Parallelism {
			if len(st.Queue) == 0 {
				remaining := st.Budget - st.NextNumber
				if remaining <= 0 || st.Exhausted || !suggestionReady() {
					break
				}
				free := sp.Search.Parallelism - len(running)
				configs := (free + replicates - 1) / replicates
				var out SuggestOutput
				err := executeSuggest(actx, SuggestInput{
					StudyID: st.StudyID, Spec: sp, FirstNumber: st.NextNumber,
					Configs: configs, MaxTrials: remaining, Lag: lag,
				}).Get(ctx, &out)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					log.Error("suggest failed; the study stops launching trials", "err", err)
					stopping = true
					break
				}
				st.NextNumber += len(out.Trials)
				st.Queue = append(st.Queue, out.Trials...)
				if out.Exhausted {
					st.Exhausted = true
				}
				if len(out.Trials) == 0 {
					break
				}
			}
			a := st.Queue[0]
			st.Queue = st.Queue[1:]
			running[a.Number] = a
			launched++
			f := startTrial(ctx, sp.Name, st.StudyID, in, a)
			selector.AddFuture(f, func(f workflow.Future) { onResult(a, f) })
		}
		if len(running) == 0 {
			if wantCAN && ctx.Err() == nil && !st.Stopped && !deadlinePassed() && !tooManyFailed &&
				(len(st.Queue) > 0 || (st.NextNumber < st.Budget && !st.Exhausted)) {
				if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
					return StudyResult{}, err
				}
				st.Runs++
				next := in
				next.State = st
				return StudyResult{}, workflow.NewContinueAsNewError(ctx, StudyWorkflowName, next)
			}
			break
		}
		selector.Select(ctx)
	}

	status := StudyComplete
	switch {
	case ctx.Err() != nil:
		status = StudyCanceled
	case failedLimit > 0 && st.Counts[string(search.Failed)]-st.InfraFailed >= failedLimit, stopping:
		status = StudyFailed
	case st.Stopped, deadlinePassed() && (len(st.Queue) > 0 || st.NextNumber < st.Budget):
		status = StudyStopped
	}
	// Finish with a context that survives cancellation, so a canceled study
	// is still recorded.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = workflow.WithActivityOptions(dctx, controllerActivityOptions())
	// Trials suggested but never started would stay pending forever.
	for _, a := range st.Queue {
		r := TrialResult{TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
			Status: string(search.Canceled), Error: "not started: the study ended (" + status + ")"}
		if err := executeRecord(dctx, RecordInput{Study: sp.Name, Result: r}).Get(dctx, nil); err != nil {
			return StudyResult{}, fmt.Errorf("record unstarted trial %d: %w", a.Number, err)
		}
		st.Counts[r.Status]++
	}
	queued := len(st.Queue)
	st.Queue = nil
	pending := 0
	if workflow.GetVersion(ctx, changeAwaitMetrics, workflow.DefaultVersion, 1) >= 1 {
		pending = awaitMetrics(dctx, st.StudyID, in.MetricsWait)
	}
	if err := executeFinishStudy(dctx, FinishStudyInput{StudyID: st.StudyID, Status: status}).Get(dctx, nil); err != nil {
		return StudyResult{}, fmt.Errorf("finish study: %w", err)
	}
	if err := workflow.UpsertTypedSearchAttributes(dctx, AttrStatus.ValueSet(status)); err != nil {
		log.Warn("upsert RelutuneStatus", "err", err)
	}
	if err := workflow.Await(dctx, func() bool { return workflow.AllHandlersFinished(dctx) }); err != nil {
		return StudyResult{}, err
	}
	res := StudyResult{StudyID: st.StudyID, Status: status, Trials: st.NextNumber - queued, Counts: st.Counts, Best: st.Best,
		InfraFailed: st.InfraFailed, PendingMetrics: pending}
	if status == StudyCanceled {
		return res, temporal.NewCanceledError(res)
	}
	return res, nil
}

func startTrial(ctx workflow.Context, study string, studyID int64, in StudyInput, a TrialAssignment) workflow.ChildWorkflowFuture {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            TrialWorkflowID(study, a.Number),
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WaitForCancellation:   true,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			AttrStudy.ValueSet(study),
			AttrActivation.ValueSet(a.Activation()),
			AttrStatus.ValueSet(string(search.Running)),
		),
	})
	return workflow.ExecuteChildWorkflow(cctx, TrialWorkflowName, TrialInput{
		Study: study, StudyID: studyID,
		Metric: in.Spec.Objective.Metric, Direction: in.Spec.Objective.Direction,
		Schedule: in.Spec.SchedulerSpec(), TrialsQueue: in.TrialsQueue, Assignment: a,
		HeartbeatTimeout: in.HeartbeatTimeout,
	})
}

// awaitMetrics waits (at most wait, DefaultMetricsWait when 0) until every
// metric row the study's trials reported has landed in Postgres, so that a
// finished study has all of its rows. It returns how many were still
// missing; the study finishes either way.
func awaitMetrics(ctx workflow.Context, studyID int64, wait time.Duration) int {
	if wait <= 0 {
		wait = DefaultMetricsWait
	}
	opts := controllerActivityOptions()
	opts.StartToCloseTimeout = wait + time.Minute
	opts.HeartbeatTimeout = time.Minute
	var out AwaitMetricsOutput
	err := executeAwaitMetrics(workflow.WithActivityOptions(ctx, opts), AwaitMetricsInput{StudyID: studyID, MaxWait: wait}).Get(ctx, &out)
	if err != nil {
		workflow.GetLogger(ctx).Error("wait for metric rows", "err", err)
		return 0
	}
	if out.Rows > 0 {
		workflow.GetLogger(ctx).Warn("the study finishes with metric rows still missing",
			"rows", out.Rows, "trials", out.Trials, "waited", wait)
	}
	return out.Rows
}
