package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
)

// changeOrderedRungs marks the studies whose trials stop at each rung of
// the study's scheduler and are decided there by the study, in trial
// order (runTrialOrdered); runs without the marker let the worker ask at
// each rung (the report update) and decide from whatever was reported by
// then.
const changeOrderedRungs = "ordered-rungs"

// Ordered rung decisions
//
// A trial that reaches a rung r stops there (TrainTrial with UntilEpoch r:
// it saves a checkpoint and gives its worker back). The study decides it
// once every trial numbered below it that is compared with it (search.Peers)
// and is still running has been decided at r; a trial below it that is no
// longer running either was decided at r or never reaches r. The decision
// (DecideRungBelow) sees only the values of the trials numbered below it,
// so it is a function of the trials' configurations and seeds alone, not of
// how many workers ran them or in what order they reported. A trial that
// goes on continues from its checkpoint (InitFrom) to its next rung or its
// last epoch.
//
// The lowest-numbered running trial is never kept waiting, so the study
// always makes progress, whatever the number of workers. A waiting trial
// keeps its place among the study's parallelism but holds no worker.

// runInlineTrial runs trial in as runTrial does, or by ordered rungs when
// the study decides them and the trial has any.
func (s *study) runInlineTrial(ctx workflow.Context, in TrialInput) (TrialResult, []string, error) {
	if !s.ordered {
		return runTrial(ctx, in, true)
	}
	rungs := search.TrialRungs(s.sched, in.Assignment.Number, in.Assignment.Config.WithDefaults().Epochs)
	if len(rungs) == 0 {
		return runTrial(ctx, in, true)
	}
	return s.runTrialOrdered(ctx, in, rungs)
}

// rungDecidable reports whether trial n may be decided at rung r: every
// running peer numbered below it has been decided at r.
func (s *study) rungDecidable(n, r int) bool {
	for j := range s.running {
		if j < n && s.decided[j] < r && search.Peers(s.sched, j, n) {
			return false
		}
	}
	return true
}

// runTrialOrdered trains trial in rung by rung (see above) and records its
// outcome: pruned at the rung where the study stopped it, or as its last
// segment ended.
func (s *study) runTrialOrdered(ctx workflow.Context, in TrialInput, rungs []int) (TrialResult, []string, error) {
	a := in.Assignment
	defer delete(s.decided, a.Number)
	seg := trainSegment{ordered: true}
	for _, r := range rungs {
		seg.until = r
		run := trainWithRetries(ctx, in, true, seg)
		seg.attempt, seg.hosts = run.attempt, run.hosts
		if run.kind != noFailure || !run.out.Suspended || run.out.Objective == nil {
			// Failed, canceled, diverged, or ended before the rung (its
			// own early stopping, or a worker that trains to the end).
			return recordOutcome(ctx, in, true, trialOutcome(a, run), run.hosts)
		}
		value := *run.out.Objective
		if err := workflow.Await(ctx, func() bool { return s.rungDecidable(a.Number, r) }); err != nil {
			run.kind, run.err = canceledFailure, err
			return recordOutcome(ctx, in, true, trialOutcome(a, run), run.hosts)
		}
		var d RungDecision
		err := executeDecide(controllerContext(ctx, true), DecideInput{
			StudyID: in.StudyID, Trial: a.Number, Epoch: r, Value: value,
			Direction: in.Direction, Schedule: in.Schedule, Ordered: true,
		}).Get(ctx, &d)
		if err != nil {
			run.kind, run.err = finalFailure, fmt.Errorf("decide rung %d: %w", r, err)
			if ctx.Err() != nil {
				run.kind = canceledFailure
			}
			return recordOutcome(ctx, in, true, trialOutcome(a, run), run.hosts)
		}
		s.decided[a.Number] = r
		if !d.Continue {
			res := trialOutcome(a, run)
			res.Status = search.Pruned
			return recordOutcome(ctx, in, true, res, run.hosts)
		}
		seg.from = run.out.Saved
	}
	seg.until = 0
	run := trainWithRetries(ctx, in, true, seg)
	return recordOutcome(ctx, in, true, trialOutcome(a, run), run.hosts)
}
