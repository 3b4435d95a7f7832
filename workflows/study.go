package workflows

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/trainer"
)

const defaultTrialsPerRun = 500

// DefaultMetricsWait bounds how long a finishing study waits for its
// trials' metric rows to land in Postgres (see AwaitMetrics).
const DefaultMetricsWait = 2 * time.Minute

// changeAwaitMetrics marks the AwaitMetrics step before FinishStudy.
const changeAwaitMetrics = "await-metrics"

// changeInlineTrials marks the studies that run their trials in their own
// workflow, with the controller's activities as local activities; runs
// without the marker start a child TrialWorkflow per trial.
const changeInlineTrials = "inline-trials"

// InfrastructureFailure reports whether r is a trial that failed because
// its infrastructure failures ran out rather than by its own failures.
func InfrastructureFailure(r TrialResult) bool {
	return r.Status == search.Failed && strings.HasPrefix(r.Error, InfrastructureErrorPrefix)
}

// AddTrialsRequest is the add-trials update's argument.
type AddTrialsRequest struct {
	Trials int `json:"trials"`
}

func controllerActivityOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: controllerRetryPolicy()}
}

// controllerRetryPolicy retries the controller's activities (Postgres
// writes and reads) until they succeed, unless the input is invalid.
func controllerRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        30 * time.Second,
		NonRetryableErrorTypes: []string{ErrTypeInvalidConfig},
	}
}

// StudyWorkflow runs a study to completion. See the package comment.
func StudyWorkflow(ctx workflow.Context, in StudyInput) (StudyResult, error) {
	s := newStudy(ctx, in)
	// The query and update handlers are registered before the first
	// activity, so that an update sent right after submit (add-trials,
	// stop) is not refused as unknown while the study row is created.
	// Registering handlers records nothing in the history.
	if err := s.registerHandlers(); err != nil {
		return StudyResult{}, err
	}
	s.inline = workflow.GetVersion(ctx, changeInlineTrials, workflow.DefaultVersion, 1) >= 1
	s.actx = controllerContext(ctx, s.inline)
	s.ordered = s.inline && workflow.GetVersion(ctx, changeOrderedRungs, workflow.DefaultVersion, 1) >= 1
	if err := s.create(); err != nil {
		return StudyResult{}, err
	}
	if err := s.registerReport(); err != nil {
		return StudyResult{}, err
	}
	s.startClock()
	if s.sp.Schedule.Kind == search.SchedulerPBT {
		return s.runPBT()
	}
	for {
		s.fill()
		if len(s.running) == 0 {
			if s.shouldContinueAsNew() {
				return s.continueAsNew()
			}
			break
		}
		s.selector.Select(ctx)
	}
	return s.finish()
}

// study is the state of one run of StudyWorkflow; its methods are the
// steps of the run, in the order StudyWorkflow takes them.
type study struct {
	ctx  workflow.Context
	actx workflow.Context // ctx with the controller's activity options
	log  log.Logger
	in   StudyInput
	sp   spec.Spec
	st   *StudyState // carried across ContinueAsNew
	// created is set when an earlier run created the study row.
	created bool
	// inline: trials run in this workflow (runTrial) and the controller's
	// activities are local (changeInlineTrials); otherwise each trial is a
	// child TrialWorkflow.
	inline bool
	// cleanups counts inline trials whose outcome is recorded and whose
	// checkpoints are still being removed.
	cleanups int
	// ordered: inline trials stop at their rungs and the study decides
	// them in trial order (changeOrderedRungs, rungs.go); decided holds
	// the last rung each running trial was decided at.
	ordered bool
	decided map[int]int
	sched   search.Scheduler

	running  map[int]TrialAssignment // trials started and not yet final, by number
	stopping bool                    // a Suggest failed: launch nothing more
	launched int                     // trials this run started
	wantCAN  bool                    // this run should continue as new

	deadline    time.Time // zero without a deadline
	selector    workflow.Selector
	replicates  int
	lag         int
	failedLimit int
}

func newStudy(ctx workflow.Context, in StudyInput) *study {
	if in.TrialsQueue == "" {
		in.TrialsQueue = TrialsQueue
	}
	if in.TrialsPerRun <= 0 {
		in.TrialsPerRun = defaultTrialsPerRun
	}
	sp := in.Spec
	st := in.State
	created := st != nil
	if st == nil {
		st = &StudyState{Budget: sp.Search.MaxTrials, Counts: map[search.State]int{}}
		// The spec's enqueue list runs first (submit checked it).
		if configs, err := sp.EnqueuedConfigs(); err == nil {
			st.Given = givenTrials(sp, configs)
		}
	}
	if st.Counts == nil {
		st.Counts = map[search.State]int{}
	}
	return &study{
		ctx: ctx, log: workflow.GetLogger(ctx),
		in: in, sp: sp, st: st, created: created, running: map[int]TrialAssignment{}, decided: map[int]int{},
	}
}

// status answers the status query.
func (s *study) status() StudyStatus {
	st := s.st
	out := StudyStatus{
		Name: s.sp.Name, StudyID: st.StudyID, State: search.StudyRunning, Budget: st.Budget,
		Suggested: st.NextNumber, Queued: len(st.Queue), Counts: st.Counts, Best: st.Best, Runs: st.Runs,
		Running: []int{}, InfraFailed: st.InfraFailed,
	}
	for n := range s.running {
		out.Running = append(out.Running, n)
	}
	sort.Ints(out.Running)
	if st.Stopped {
		out.State = search.StudyStopping
	}
	return out
}

// registerHandlers registers the status query and the stop and add-trials
// updates.
func (s *study) registerHandlers() error {
	ctx, st := s.ctx, s.st
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (StudyStatus, error) { return s.status(), nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateStop,
		func(ctx workflow.Context) (StudyStatus, error) {
			st.Stopped = true
			return s.status(), nil
		}, workflow.UpdateHandlerOptions{}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateEnqueue,
		func(ctx workflow.Context, req EnqueueRequest) (StudyStatus, error) {
			given := givenTrials(s.sp, req.Configs)
			st.Given = append(st.Given, given...)
			st.Budget += len(given)
			return s.status(), nil
		}, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, req EnqueueRequest) error {
				if s.sp.Schedule.Kind == search.SchedulerPBT {
					return errors.New("a pbt study's population is fixed (search.max_trials): configurations cannot be enqueued")
				}
				if len(req.Configs) < 1 || len(req.Configs) > spec.MaxEnqueue {
					return fmt.Errorf("configs: %d must be between 1 and %d", len(req.Configs), spec.MaxEnqueue)
				}
				if st.Stopped {
					return errors.New("the study is stopping: no trials can be added")
				}
				space, err := s.sp.SearchSpace()
				if err != nil {
					return err
				}
				for i, c := range req.Configs {
					if err := space.Contains(c); err != nil {
						return fmt.Errorf("configs[%d]: %w", i, err)
					}
				}
				if n := len(req.Configs) * max(s.sp.Search.Replicates, 1); st.Budget+n > 100000 {
					return fmt.Errorf("configs: %d trials would raise the budget to %d, above the limit 100000", n, st.Budget+n)
				}
				return nil
			},
		}); err != nil {
		return err
	}
	return workflow.SetUpdateHandlerWithOptions(ctx, UpdateAddTrials,
		func(ctx workflow.Context, req AddTrialsRequest) (StudyStatus, error) {
			st.Budget += req.Trials
			st.Exhausted = false
			return s.status(), nil
		}, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, req AddTrialsRequest) error {
				if s.sp.Schedule.Kind == search.SchedulerPBT {
					return errors.New("a pbt study's population is fixed (search.max_trials): trials cannot be added")
				}
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
		})
}

// create stores the study row on the first run and marks the workflow
// with the study's search attributes.
func (s *study) create() error {
	if !s.created {
		var out CreateStudyOutput
		if err := executeCreateStudy(s.actx, CreateStudyInput{Spec: s.sp}).Get(s.ctx, &out); err != nil {
			return fmt.Errorf("create study: %w", err)
		}
		s.st.StudyID = out.StudyID
		s.st.StartedAt = workflow.Now(s.ctx).UnixNano()
	}
	return workflow.UpsertTypedSearchAttributes(s.ctx, AttrStudy.ValueSet(s.sp.Name), AttrStatus.ValueSet(string(search.StudyRunning)))
}

// registerReport builds the study's scheduler and registers the report
// update through which running trials learn whether to go on.
func (s *study) registerReport() error {
	sp, st := s.sp, s.st
	sched, err := search.NewScheduler(sp.SchedulerSpec())
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidConfig, err)
	}
	s.sched = sched
	return workflow.SetUpdateHandlerWithOptions(s.ctx, UpdateReport,
		func(ctx workflow.Context, r RungReport) (RungDecision, error) {
			if !search.ForTrial(sched, r.Trial).Rung(r.Epoch) {
				return RungDecision{Continue: true}, nil
			}
			// The values live in Postgres (rung_values), not in this
			// workflow's state, which stays small however long the study.
			var d RungDecision
			err := executeDecide(controllerContext(ctx, s.inline), DecideInput{
				StudyID: st.StudyID, Trial: r.Trial, Epoch: r.Epoch, Value: r.Value,
				Direction: sp.Objective.Direction, Schedule: sp.SchedulerSpec(),
			}).Get(ctx, &d)
			return d, err
		}, workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, r RungReport) error {
				if _, ok := s.running[r.Trial]; !ok {
					return fmt.Errorf("trial %d is not running in this study", r.Trial)
				}
				if r.Epoch < 1 || math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
					return fmt.Errorf("epoch %d value %v: epoch must be >= 1 and the value finite", r.Epoch, r.Value)
				}
				return nil
			},
		})
}

// startClock sets the deadline timer and the pacing of suggestions.
func (s *study) startClock() {
	sp, ctx := s.sp, s.ctx
	if d, _ := sp.DeadlineDuration(); d > 0 {
		s.deadline = time.Unix(0, s.st.StartedAt).Add(d)
	}
	s.selector = workflow.NewSelector(ctx)
	if !s.deadline.IsZero() {
		if wait := s.deadline.Sub(workflow.Now(ctx)); wait > 0 {
			s.selector.AddFuture(workflow.NewTimer(ctx, wait), func(workflow.Future) {})
		}
	}
	s.replicates = max(sp.Search.Replicates, 1)
	// For a sampler that reads results, a suggestion at position p waits
	// until every trial numbered below p-lag is final, and the lag trials
	// just below p count as pending. What it sees is then the
	// same whatever the timing, so the same seed gives the same trials on
	// any number of workers. The lag of twice the parallelism lets that
	// many trials overtake a slow one before suggestions wait for it.
	if search.ReadsResults(sp.Search.Algorithm) {
		s.lag = 2 * sp.Search.Parallelism
	}
	s.failedLimit = sp.Search.MaxFailedTrials
}

func (s *study) deadlinePassed() bool {
	return !s.deadline.IsZero() && !workflow.Now(s.ctx).Before(s.deadline)
}

func (s *study) suggestionReady() bool {
	if s.lag == 0 {
		return true
	}
	for n := range s.running {
		if n < s.st.NextNumber-s.lag {
			return false
		}
	}
	return true
}

func (s *study) tooManyFailed() bool {
	return s.failedLimit > 0 && s.st.Counts[search.Failed]-s.st.InfraFailed >= s.failedLimit
}

// fill starts trials, asking Suggest for more when the queue is empty,
// until parallelism trials run or the study may launch no more.
func (s *study) fill() {
	ctx, st, sp := s.ctx, s.st, s.sp
	s.wantCAN = s.launched >= s.in.TrialsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	tooManyFailed := s.tooManyFailed()
	canLaunch := func() bool {
		return ctx.Err() == nil && !st.Stopped && !s.stopping && !s.wantCAN && !tooManyFailed && !s.deadlinePassed()
	}
	for canLaunch() && len(s.running) < sp.Search.Parallelism {
		if len(st.Queue) == 0 && len(st.Given) > 0 && st.Budget > st.NextNumber {
			if !s.storeGiven() {
				break
			}
		}
		if len(st.Queue) == 0 {
			remaining := st.Budget - st.NextNumber
			if remaining <= 0 || st.Exhausted || !s.suggestionReady() {
				break
			}
			free := sp.Search.Parallelism - len(s.running)
			configs := (free + s.replicates - 1) / s.replicates
			if s.lag > 0 {
				// A sampler that reads results gets one configuration
				// per call, at the position after the last: what it sees
				// (the results final below that position less the lag)
				// is then the same whatever the timing. A batch would
				// show its later positions an older history, and how
				// many slots are free at once depends on timing.
				configs = 1
			}
			var out SuggestOutput
			err := executeSuggest(s.actx, SuggestInput{
				StudyID: st.StudyID, Spec: sp, FirstNumber: st.NextNumber,
				Configs: configs, MaxTrials: remaining, Lag: s.lag,
			}).Get(ctx, &out)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				s.log.Error("suggest failed; the study stops launching trials", "err", err)
				s.stopping = true
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
		s.running[a.Number] = a
		s.launched++
		var f workflow.Future
		if s.inline {
			f = s.runInline(a)
		} else {
			f = startTrial(ctx, sp.Name, st.StudyID, s.in, a)
		}
		s.selector.AddFuture(f, func(f workflow.Future) { s.onResult(a, f) })
	}
}

// givenTrials expands configurations into trials with the study's
// replicate seeds, as a sampled configuration is.
func givenTrials(sp spec.Spec, configs []search.Config) []GivenTrial {
	replicates := max(sp.Search.Replicates, 1)
	seeds := search.ReplicateSeeds(sp.Search.Seed, replicates)
	var out []GivenTrial
	for _, c := range configs {
		for r, seed := range seeds {
			out = append(out, GivenTrial{Params: c, Seed: seed, Replicate: r})
		}
	}
	return out
}

// storeGiven stores the next given trials (as many as slots are free) and
// queues them; false when Suggest failed and the study stops launching.
func (s *study) storeGiven() bool {
	st := s.st
	n := min(s.sp.Search.Parallelism-len(s.running), len(st.Given), st.Budget-st.NextNumber)
	var out SuggestOutput
	err := executeSuggest(s.actx, SuggestInput{
		StudyID: st.StudyID, Spec: s.sp, FirstNumber: st.NextNumber, MaxTrials: n, Given: st.Given[:n],
	}).Get(s.ctx, &out)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("storing given trials failed; the study stops launching trials", "err", err)
			s.stopping = true
		}
		return false
	}
	st.Given = st.Given[len(out.Trials):]
	st.NextNumber += len(out.Trials)
	st.Queue = append(st.Queue, out.Trials...)
	return len(out.Trials) > 0
}

// onResult counts a finished trial, recording its outcome when its own
// workflow could not.
func (s *study) onResult(a TrialAssignment, f workflow.Future) {
	ctx, st, sp := s.ctx, s.st, s.sp
	delete(s.running, a.Number)
	var res TrialResult
	if err := f.Get(ctx, &res); err != nil {
		// The trial workflow records its own outcome. An error here
		// means it was canceled, terminated (from the Temporal UI, say)
		// or could not record: record it here, so no trial is left
		// running in the database. A trial already final keeps its row.
		res = TrialResult{TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
			Status: search.Canceled, Error: rootMessage(err)}
		if !temporal.IsCanceledError(err) {
			res.Status = search.Failed
		}
		rctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		rctx = controllerContext(rctx, s.inline)
		// Record answers with the stored outcome: a trial that recorded
		// itself (complete, say) before its workflow ended this way
		// keeps that outcome, and the study counts what is stored.
		var stored TrialResult
		if err := executeRecord(rctx, RecordInput{Study: sp.Name, Result: res}).Get(rctx, &stored); err != nil {
			s.log.Error("record trial outcome", "trial", a.Number, "err", err)
		} else if stored.Status != "" {
			res = stored
		}
	}
	st.Counts[res.Status]++
	if InfrastructureFailure(res) {
		st.InfraFailed++
	}
	if res.Status == search.Complete && res.Objective != nil &&
		(st.Best == nil || sp.Objective.Direction.Better(*res.Objective, *st.Best.Objective)) {
		r := res
		st.Best = &r
		if err := workflow.UpsertTypedSearchAttributes(ctx, AttrBest.ValueSet(*res.Objective)); err != nil {
			s.log.Warn("upsert RelutuneBest", "err", err)
		}
	}
}

// shouldContinueAsNew reports, once no trial runs, whether the run ended
// only to keep its history small while work remains.
func (s *study) shouldContinueAsNew() bool {
	st := s.st
	return s.wantCAN && s.ctx.Err() == nil && !st.Stopped && !s.deadlinePassed() && !s.tooManyFailed() &&
		(len(st.Queue) > 0 || (st.NextNumber < st.Budget && (!st.Exhausted || len(st.Given) > 0)))
}

// runInline runs trial a in this workflow (see changeInlineTrials). The
// future is ready once the outcome is recorded; the trial's checkpoints
// are removed after that, counted in cleanups, so the next trial need not
// wait for them.
func (s *study) runInline(a TrialAssignment) workflow.Future {
	f, set := workflow.NewFuture(s.ctx)
	in := trialInput(s.sp.Name, s.st.StudyID, s.in, a)
	s.cleanups++
	workflow.Go(s.ctx, func(ctx workflow.Context) {
		defer func() { s.cleanups-- }()
		res, hosts, err := s.runInlineTrial(ctx, in)
		set.Set(res, err)
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		removeCheckpoints(dctx, in, hosts)
	})
	return f
}

// awaitCleanups waits until every inline trial's checkpoints are removed
// (or their removal timed out).
func (s *study) awaitCleanups(ctx workflow.Context) error {
	return workflow.Await(ctx, func() bool { return s.cleanups == 0 })
}

// continueAsNew hands the state to a fresh run once every handler is done.
func (s *study) continueAsNew() (StudyResult, error) {
	ctx := s.ctx
	if err := s.awaitCleanups(ctx); err != nil {
		return StudyResult{}, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return StudyResult{}, err
	}
	s.st.Runs++
	next := s.in
	next.State = s.st
	return StudyResult{}, workflow.NewContinueAsNewError(ctx, StudyWorkflowName, next)
}

// finish records the trials never started, waits for the metric rows,
// stores the study's final status and returns the result.
func (s *study) finish() (StudyResult, error) {
	ctx, st, sp := s.ctx, s.st, s.sp
	status := search.StudyComplete
	switch {
	case ctx.Err() != nil:
		status = search.StudyCanceled
	case s.tooManyFailed(), s.stopping:
		status = search.StudyFailed
	case st.Stopped, s.deadlinePassed() && (len(st.Queue) > 0 || st.NextNumber < st.Budget):
		status = search.StudyStopped
	}
	// Finish with a context that survives cancellation, so a canceled study
	// is still recorded.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	dctx = controllerContext(dctx, s.inline)
	// Trials suggested but never started would stay pending forever.
	for _, a := range st.Queue {
		r := TrialResult{TrialID: a.TrialID, Number: a.Number, Activation: a.Activation(), ConfigHash: a.ConfigHash,
			Status: search.Canceled, Error: "not started: the study ended (" + string(status) + ")"}
		if err := executeRecord(dctx, RecordInput{Study: sp.Name, Result: r}).Get(dctx, nil); err != nil {
			return StudyResult{}, fmt.Errorf("record unstarted trial %d: %w", a.Number, err)
		}
		st.Counts[r.Status]++
	}
	queued := len(st.Queue)
	st.Queue = nil
	pending := 0
	if workflow.GetVersion(ctx, changeAwaitMetrics, workflow.DefaultVersion, 1) >= 1 {
		pending = awaitMetrics(dctx, st.StudyID, s.in.MetricsWait)
	}
	if err := s.awaitCleanups(dctx); err != nil {
		return StudyResult{}, err
	}
	if err := executeFinishStudy(dctx, FinishStudyInput{StudyID: st.StudyID, Status: status}).Get(dctx, nil); err != nil {
		return StudyResult{}, fmt.Errorf("finish study: %w", err)
	}
	if err := workflow.UpsertTypedSearchAttributes(dctx, AttrStatus.ValueSet(string(status))); err != nil {
		s.log.Warn("upsert RelutuneStatus", "err", err)
	}
	if err := workflow.Await(dctx, func() bool { return workflow.AllHandlersFinished(dctx) }); err != nil {
		return StudyResult{}, err
	}
	res := StudyResult{StudyID: st.StudyID, Status: status, Trials: st.NextNumber - queued, Counts: st.Counts, Best: st.Best,
		InfraFailed: st.InfraFailed, PendingMetrics: pending}
	if status == search.StudyCanceled {
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
	return workflow.ExecuteChildWorkflow(cctx, TrialWorkflowName, trialInput(study, studyID, in, a))
}

func trialInput(study string, studyID int64, in StudyInput, a TrialAssignment) TrialInput {
	return TrialInput{
		Study: study, StudyID: studyID,
		Metric: trainer.Metric(in.Spec.Objective.Metric), Direction: in.Spec.Objective.Direction,
		Schedule: in.Spec.SchedulerSpec(), TrialsQueue: in.TrialsQueue, Assignment: a,
		HeartbeatTimeout: in.HeartbeatTimeout, KeepModels: in.Spec.KeepModels,
	}
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
