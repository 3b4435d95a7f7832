package workflows

import (
	"fmt"
	"math"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
)

// changePBT marks the studies of schedule kind pbt that run their
// generations in runPBT; only such studies record it.
const changePBT = "pbt-generations"

// Activities of population-based training.
const (
	// ExploitActivity (controller): ExploitInput -> ExploitOutput.
	ExploitActivity = "Exploit"
	// CopyCheckpointActivity (worker, on the source's host queue):
	// CopyCheckpointInput -> CopyCheckpointOutput.
	CopyCheckpointActivity = "CopyCheckpoint"
)

// ExploitInput is a pbt generation's standing: the study decides which
// members copy which (search.PBT.Exploit), records the lineage and the
// targets' new parameters, and returns the steps.
type ExploitInput struct {
	StudyID    int64              `json:"study_id"`
	Spec       spec.Spec          `json:"spec"`
	Generation int                `json:"generation"`
	Epoch      int                `json:"epoch"`
	Members    []search.PBTMember `json:"members"`
}

// ExploitOutput lists a generation's exploit steps, ordered by target.
type ExploitOutput struct {
	Steps []ExploitStep `json:"steps"`
}

// ExploitStep is one target's new assignment (its own trial id, number and
// seed, the explored parameters) and the trial it copies.
type ExploitStep struct {
	Source int             `json:"source"`
	Target TrialAssignment `json:"target"`
}

// CopyCheckpointInput asks the worker holding the source trial's
// checkpoint From to copy it to trial Target of the same study, rewritten
// for Target's new configuration (see trainer.RebaseCheckpoint): the
// target then resumes with the source's weights and optimizer state and
// its own parameters. The target's older checkpoints are removed.
type CopyCheckpointInput struct {
	Study  string          `json:"study"`
	Source int             `json:"source"`
	From   CheckpointRef   `json:"from"`
	Target TrialAssignment `json:"target"`
}

// CopyCheckpointOutput names the target's new checkpoint.
type CopyCheckpointOutput struct {
	Ref string `json:"ref"`
	// Shared: every worker can read Ref (the object store).
	Shared bool `json:"shared,omitempty"`
	// HostQueue is the copying worker's task queue, where a checkpoint
	// that is not shared lives.
	HostQueue string `json:"host_queue"`
}

// pbtMember is a trial of the population between generations.
type pbtMember struct {
	a        TrialAssignment
	queue    string         // where its next generation runs
	from     *CheckpointRef // checkpoint it continues from
	attempts int            // tries so far
	hosts    []string       // task queues that may hold its checkpoints
	value    float64        // objective at the end of the last generation
}

func (m *pbtMember) addHost(q string) {
	for _, h := range m.hosts {
		if h == q {
			return
		}
	}
	if q != "" {
		m.hosts = append(m.hosts, q)
	}
}

// runPBT runs a study of schedule kind pbt: the population
// (search.max_trials trials) trains in generations of schedule.interval
// epochs, each member suspending at the generation's last epoch; then the
// Exploit activity decides which members continue from which member's
// weights with explored parameters, CopyCheckpoint copies those weights,
// and the next generation starts. The last generation trains to
// max_epochs and records each member's outcome. A member that fails,
// diverges or is canceled is recorded then and leaves the population. A
// stopped study, or one past its deadline, records its members canceled
// after the generation in flight. The study does not continue as new: its
// spec bounds generations x population (spec.MaxPBTSteps).
func (s *study) runPBT() (StudyResult, error) {
	ctx, st, sp := s.ctx, s.st, s.sp
	workflow.GetVersion(ctx, changePBT, workflow.DefaultVersion, 1)
	pop := sp.Search.MaxTrials
	if len(st.Queue) == 0 && st.NextNumber == 0 {
		if len(st.Given) > 0 && !s.storeGiven() {
			return s.finish()
		}
		if rest := pop - st.NextNumber; rest > 0 {
			var out SuggestOutput
			if err := executeSuggest(s.actx, SuggestInput{
				StudyID: st.StudyID, Spec: sp, FirstNumber: st.NextNumber, Configs: rest, MaxTrials: rest,
			}).Get(ctx, &out); err != nil {
				s.log.Error("suggest failed; the study stops", "err", err)
				s.stopping = true
				return s.finish()
			}
			st.NextNumber += len(out.Trials)
			st.Queue = append(st.Queue, out.Trials...)
		}
	}
	members := make([]*pbtMember, 0, len(st.Queue))
	for _, a := range st.Queue {
		members = append(members, &pbtMember{a: a, queue: s.in.TrialsQueue})
	}
	st.Queue = nil
	interval, maxEpochs := sp.Schedule.Interval, sp.Schedule.MaxEpochs
	gens := sp.PBTGenerations()
	for g := 1; g <= gens && len(members) > 0; g++ {
		if ctx.Err() != nil || st.Stopped || s.deadlinePassed() {
			s.cancelMembers(members, fmt.Sprintf("the study ended before generation %d", g))
			members = nil
			break
		}
		until := min(g*interval, maxEpochs)
		final := g == gens
		members = s.pbtGeneration(members, until, final)
		if final || len(members) == 0 {
			break
		}
		members = s.exploit(members, g, until)
	}
	return s.finish()
}

// pbtGeneration trains every member to epoch until (at most parallelism at
// once) and returns those that suspended there. With final, they train to
// the end and their outcomes are recorded, like every member that failed.
func (s *study) pbtGeneration(members []*pbtMember, until int, final bool) []*pbtMember {
	ctx := s.ctx
	type done struct {
		m   *pbtMember
		run trainRun
		res TrialResult
	}
	var results []done
	active := 0
	for _, m := range members {
		if err := workflow.Await(ctx, func() bool { return active < s.sp.Search.Parallelism }); err != nil {
			break
		}
		in := trialInput(s.sp.Name, s.st.StudyID, s.in, m.a)
		in.TrialsQueue, in.InitFrom, in.AttemptBase = m.queue, m.from, m.attempts
		if !final {
			in.UntilEpoch = until
		}
		s.running[m.a.Number] = m.a
		active++
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer func() { active-- }()
			d := done{m: m}
			if final {
				res, hosts, err := runTrial(ctx, in, true)
				for _, h := range hosts {
					m.addHost(h)
				}
				if err != nil {
					s.log.Error("record trial outcome", "trial", m.a.Number, "err", err)
				}
				d.res = res
			} else {
				d.run = trainWithRetries(ctx, in, true, trainSegment{})
			}
			results = append(results, d)
		})
	}
	_ = workflow.Await(ctx, func() bool { return active == 0 })
	var next []*pbtMember
	for _, m := range members {
		var d *done
		for i := range results {
			if results[i].m == m {
				d = &results[i]
			}
		}
		delete(s.running, m.a.Number)
		if d == nil { // never started: the study was canceled
			s.countResult(m, s.recordCanceled(m, "canceled before its generation started"))
			continue
		}
		if final {
			s.countResult(m, d.res)
			continue
		}
		m.attempts = d.run.attempt
		for _, h := range d.run.hosts {
			m.addHost(h)
		}
		out := d.run.out
		if d.run.kind != noFailure || !out.Suspended || out.Saved == nil {
			// Failed, diverged, canceled, or it stopped before the
			// generation's end: record it as runTrial would.
			s.countResult(m, s.recordRun(m, d.run))
			continue
		}
		m.addHost(out.HostQueue)
		m.from = out.Saved
		m.queue = s.in.TrialsQueue
		if !out.SavedShared && out.Saved.HostQueue != "" {
			m.queue = out.Saved.HostQueue
		}
		m.value = math.NaN()
		if out.Objective != nil {
			m.value = *out.Objective
		}
		next = append(next, m)
	}
	return next
}

// exploit runs the Exploit activity over the members' standing after
// generation g and copies each target's source checkpoint. A target whose
// copy fails is recorded failed and leaves the population.
func (s *study) exploit(members []*pbtMember, g, epoch int) []*pbtMember {
	ctx := s.ctx
	in := ExploitInput{StudyID: s.st.StudyID, Spec: s.sp, Generation: g, Epoch: epoch}
	byNumber := map[int]*pbtMember{}
	for _, m := range members {
		in.Members = append(in.Members, search.PBTMember{Trial: m.a.Number, Value: m.value, Params: m.a.Params})
		byNumber[m.a.Number] = m
	}
	var out ExploitOutput
	if err := executeController(s.actx, ExploitActivity, in).Get(ctx, &out); err != nil {
		// The population goes on unchanged: the generation's results
		// still hold.
		s.log.Error("exploit failed; the population continues unchanged", "generation", g, "err", err)
		return members
	}
	failed := map[int]string{}
	futures := make([]workflow.Future, len(out.Steps))
	for i, step := range out.Steps {
		src := byNumber[step.Source]
		cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			TaskQueue:              src.queue,
			ScheduleToCloseTimeout: 5 * time.Minute,
			StartToCloseTimeout:    time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: time.Second, MaximumInterval: 10 * time.Second,
				NonRetryableErrorTypes: []string{ErrTypeInvalidConfig},
			},
		})
		futures[i] = workflow.ExecuteActivity(cctx, CopyCheckpointActivity, CopyCheckpointInput{
			Study: s.sp.Name, Source: step.Source, From: *src.from, Target: step.Target,
		})
	}
	for i, step := range out.Steps {
		var cp CopyCheckpointOutput
		t := byNumber[step.Target.Number]
		if err := futures[i].Get(ctx, &cp); err != nil {
			failed[t.a.Number] = "pbt: copying the checkpoint of trial " + fmt.Sprint(step.Source) + ": " + rootMessage(err)
			continue
		}
		t.a = step.Target
		t.from = &CheckpointRef{Trial: t.a.Number, Epoch: byNumber[step.Source].from.Epoch, Ref: cp.Ref, HostQueue: cp.HostQueue}
		t.queue = s.in.TrialsQueue
		if !cp.Shared {
			t.queue = cp.HostQueue
		}
		t.addHost(cp.HostQueue)
	}
	var next []*pbtMember
	for _, m := range members {
		if msg, bad := failed[m.a.Number]; bad {
			s.countResult(m, s.record(m, TrialResult{Status: search.Failed, Error: msg, Attempt: m.attempts}))
			continue
		}
		next = append(next, m)
	}
	return next
}

// recordRun records the outcome of a member whose generation ended without
// suspending.
func (s *study) recordRun(m *pbtMember, run trainRun) TrialResult {
	r := trialOutcome(m.a, run)
	r.Attempt, r.Worker = run.attempt, run.worker
	if r.Status == search.Complete && run.out.EpochsDone < s.sp.Schedule.MaxEpochs {
		r.Status, r.Error = search.Failed, fmt.Sprintf("pbt: the trial stopped at epoch %d instead of suspending", run.out.EpochsDone)
	}
	return s.record(m, r)
}

// recordCanceled records a member canceled with msg.
func (s *study) recordCanceled(m *pbtMember, msg string) TrialResult {
	return s.record(m, TrialResult{Status: search.Canceled, Error: msg})
}

// cancelMembers records every member canceled.
func (s *study) cancelMembers(members []*pbtMember, msg string) {
	for _, m := range members {
		s.countResult(m, s.recordCanceled(m, msg))
	}
}

// record stores r as m's outcome and returns what was stored.
func (s *study) record(m *pbtMember, r TrialResult) TrialResult {
	a := m.a
	r.TrialID, r.Number, r.Activation, r.ConfigHash = a.TrialID, a.Number, a.Activation(), a.ConfigHash
	dctx, cancel := workflow.NewDisconnectedContext(s.ctx)
	defer cancel()
	dctx = controllerContext(dctx, s.inline)
	stored := r
	if err := executeRecord(dctx, RecordInput{Study: s.sp.Name, Result: r}).Get(dctx, &stored); err != nil {
		s.log.Error("record trial outcome", "trial", a.Number, "err", err)
		return r
	}
	return stored
}

// countResult counts a member's recorded outcome and removes its
// checkpoints.
func (s *study) countResult(m *pbtMember, res TrialResult) {
	f, set := workflow.NewFuture(s.ctx)
	set.Set(res, nil)
	s.running[m.a.Number] = m.a
	s.onResult(m.a, f)
	if len(m.hosts) == 0 {
		return
	}
	in := trialInput(s.sp.Name, s.st.StudyID, s.in, m.a)
	s.cleanups++
	workflow.Go(s.ctx, func(ctx workflow.Context) {
		defer func() { s.cleanups-- }()
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		removeCheckpoints(dctx, in, m.hosts)
	})
}
