package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/workflows"
)

// Store is what the controller's activities need of Postgres.
type Store interface {
	CreateStudy(ctx context.Context, n store.NewStudy) (store.Study, bool, error)
	Trials(ctx context.Context, studyID int64) ([]store.Trial, error)
	InsertTrials(ctx context.Context, studyID int64, ts []store.NewTrial) ([]store.Trial, error)
	RecordOutcome(ctx context.Context, o store.Outcome) (bool, error)
	TrialByID(ctx context.Context, id int64) (store.Trial, error)
	PendingMetrics(ctx context.Context, studyID int64) (rows, trials int, err error)
	FinishStudy(ctx context.Context, id int64, status search.StudyState) error
	DecideRung(ctx context.Context, studyID int64, trial, epoch int, value float64, decide store.RungDecider) (bool, error)
	ObjectiveInputs(ctx context.Context, trialID int64) (store.ObjectiveInputs, error)
	SetObjectiveValues(ctx context.Context, trialID int64, values []*float64) (bool, error)
	DecideRungBelow(ctx context.Context, studyID int64, trial, epoch int, value float64, decide store.RungDecider) (bool, error)
}

// StatusPublisher announces recorded trial outcomes (for `tunectl watch`).
type StatusPublisher interface {
	PublishStatus(ctx context.Context, s events.TrialStatus) error
}

// Activities run in the controller, next to Postgres.
type Activities struct {
	Store     Store
	Publisher StatusPublisher // optional
	Log       *slog.Logger
	// Metrics counts recorded outcomes; nil counts nothing.
	Metrics *telemetry.Metrics

	shapes shapes // data set shapes, for objective values
}

// CreateStudy stores the study row (idempotent for the same spec).
func (a *Activities) CreateStudy(ctx context.Context, in workflows.CreateStudyInput) (workflows.CreateStudyOutput, error) {
	sp := in.Spec
	st, created, err := a.Store.CreateStudy(ctx, store.NewStudy{
		Name: sp.Name, Spec: sp.Canonical(), SpecHash: sp.Hash(),
		Metric: sp.Objective.Metric, Direction: string(sp.Objective.Direction),
	})
	if errors.Is(err, store.ErrSpecConflict) {
		return workflows.CreateStudyOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if err != nil {
		return workflows.CreateStudyOutput{}, err
	}
	return workflows.CreateStudyOutput{StudyID: st.ID, Created: created}, nil
}

// Suggest asks the study's sampler for new configurations, expands each into
// its paired-seed replicates, stores them as pending trials numbered from
// in.FirstNumber, and returns them. The sampler sees only trials numbered
// below FirstNumber, so a retry proposes from the same history, and stored
// rows win over a second proposal for the same number.
func (a *Activities) Suggest(ctx context.Context, in workflows.SuggestInput) (workflows.SuggestOutput, error) {
	sp := in.Spec
	if len(in.Given) > 0 {
		return a.storeGiven(ctx, in)
	}
	space, err := sp.SearchSpace()
	if err != nil {
		return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	sampler, err := search.NewSampler(sp.Search.Algorithm, sp.SamplerOptions())
	if err != nil {
		return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	rows, err := a.Store.Trials(ctx, in.StudyID)
	if err != nil {
		return workflows.SuggestOutput{}, err
	}
	for i := range rows {
		if n := rows[i].Number; n >= in.FirstNumber-in.Lag && n < in.FirstNumber {
			rows[i].Status, rows[i].Objective, rows[i].EpochsDone = search.Pending, nil, 0
			rows[i].ObjectiveValues = nil
		}
	}
	history, err := samplerHistory(rows, in.FirstNumber)
	if err != nil {
		return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	replicates := max(sp.Search.Replicates, 1)
	configs, err := search.Suggest(sampler, space, history, sp.Objective.Direction, in.Configs, sp.Search.Seed)
	exhausted := errors.Is(err, search.ErrSpaceExhausted)
	if err != nil && !exhausted {
		return workflows.SuggestOutput{}, err
	}
	seeds := search.ReplicateSeeds(sp.Search.Seed, replicates)
	var news []store.NewTrial
	number := in.FirstNumber
	for _, c := range configs {
		for r := 0; r < replicates && len(news) < in.MaxTrials; r++ {
			// Check before storing: an invalid trial must never be stored.
			if _, err := sp.TrialConfig(c, seeds[r]); err != nil {
				return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
			}
			params, err := json.Marshal(c)
			if err != nil {
				return workflows.SuggestOutput{}, err
			}
			news = append(news, store.NewTrial{Number: number, ConfigHash: c.Hash(), Params: params, Replicate: r, Seed: int64(seeds[r])})
			number++
		}
	}
	if len(news) == 0 {
		return workflows.SuggestOutput{Exhausted: exhausted}, nil
	}
	return a.insertTrials(ctx, in, news, exhausted)
}

// storeGiven stores in.Given (at most in.MaxTrials) as the trials numbered
// from in.FirstNumber, each checked like a sampled one.
func (a *Activities) storeGiven(ctx context.Context, in workflows.SuggestInput) (workflows.SuggestOutput, error) {
	var news []store.NewTrial
	for i, g := range in.Given {
		if i >= in.MaxTrials {
			break
		}
		if _, err := in.Spec.TrialConfig(g.Params, g.Seed); err != nil {
			err = fmt.Errorf("given trial %d: %w", i, err)
			return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
		}
		params, err := json.Marshal(g.Params)
		if err != nil {
			return workflows.SuggestOutput{}, err
		}
		news = append(news, store.NewTrial{Number: in.FirstNumber + i, ConfigHash: g.Params.Hash(), Params: params,
			Replicate: g.Replicate, Seed: int64(g.Seed)})
	}
	return a.insertTrials(ctx, in, news, false)
}

// insertTrials stores news as pending trials and returns their
// assignments, from the stored rows.
func (a *Activities) insertTrials(ctx context.Context, in workflows.SuggestInput, news []store.NewTrial, exhausted bool) (workflows.SuggestOutput, error) {
	sp := in.Spec
	if len(news) == 0 {
		return workflows.SuggestOutput{Exhausted: exhausted}, nil
	}
	stored, err := a.Store.InsertTrials(ctx, in.StudyID, news)
	if err != nil {
		return workflows.SuggestOutput{}, err
	}
	out := workflows.SuggestOutput{Exhausted: exhausted}
	for _, t := range stored {
		// The stored row is the truth: after a retry it may hold an
		// earlier proposal for this number.
		var c search.Config
		if err := json.Unmarshal(t.Params, &c); err != nil {
			return workflows.SuggestOutput{}, fmt.Errorf("trial %d: stored params: %w", t.Number, err)
		}
		tc, err := sp.TrialConfig(c, uint64(t.Seed))
		if err != nil {
			return workflows.SuggestOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
		}
		out.Trials = append(out.Trials, workflows.TrialAssignment{
			TrialID: t.ID, Number: t.Number, Replicate: t.Replicate, Seed: uint64(t.Seed),
			ConfigHash: t.ConfigHash, Params: c, Config: tc,
		})
	}
	return out, nil
}

// samplerHistory turns stored trials into what samplers see: one entry per
// configuration, whose objective (and objective values, in a
// multi-objective study) is the mean over its completed replicates.
func samplerHistory(rows []store.Trial, before int) ([]search.Trial, error) {
	type agg struct {
		t      search.Trial
		sum    float64
		n      int
		state  search.State
		pruned *float64 // best objective a pruned replicate reached
		vsum   []float64
		vn     int
	}
	byHash := map[string]*agg{}
	var order []string
	for _, r := range rows {
		if r.Number >= before {
			continue
		}
		g, ok := byHash[r.ConfigHash]
		if !ok {
			var c search.Config
			if err := json.Unmarshal(r.Params, &c); err != nil {
				return nil, fmt.Errorf("trial %d: stored params: %w", r.Number, err)
			}
			g = &agg{t: search.Trial{Number: r.Number, Config: c}, state: search.State(r.Status)}
			byHash[r.ConfigHash] = g
			order = append(order, r.ConfigHash)
		}
		if r.Status == search.Complete && r.Objective != nil && !math.IsNaN(*r.Objective) {
			g.sum += *r.Objective
			g.n++
		}
		if vs, ok := allValues(r); ok && r.Status == search.Complete && (g.vsum == nil || len(vs) == len(g.vsum)) {
			if g.vsum == nil {
				g.vsum = make([]float64, len(vs))
			}
			for i, v := range vs {
				g.vsum[i] += v
			}
			g.vn++
		}
		if r.Status == search.Pruned && r.Objective != nil && g.pruned == nil {
			v := *r.Objective
			g.pruned = &v
		}
		g.t.Epochs = max(g.t.Epochs, r.EpochsDone)
		// A configuration counts as complete once any replicate is;
		// otherwise it keeps the state of its latest replicate.
		if g.state != search.Complete {
			g.state = search.State(r.Status)
		}
	}
	out := make([]search.Trial, 0, len(order))
	for _, h := range order {
		g := byHash[h]
		g.t.State = g.state
		switch {
		case g.n > 0:
			mean := g.sum / float64(g.n)
			g.t.Objective = &mean
			g.t.State = search.Complete
		case g.pruned != nil:
			g.t.Objective = g.pruned
			g.t.State = search.Pruned
		}
		if g.vn > 0 {
			g.t.Values = make([]float64, len(g.vsum))
			for i, v := range g.vsum {
				g.t.Values[i] = v / float64(g.vn)
			}
			g.t.State = search.Complete
		}
		out = append(out, g.t)
	}
	return out, nil
}

// Record stores a trial's outcome, fenced by attempt, and announces it. It
// returns the outcome as stored: a trial that was already final keeps (and
// returns) its first outcome, so what the workflows count is what the
// database, `tunectl status` and `tunectl watch` show.
func (a *Activities) Record(ctx context.Context, in workflows.RecordInput) (workflows.TrialResult, error) {
	r := in.Result
	obj, testAcc := finite(r.Objective), finite(r.TestAccuracy)
	changed, err := a.Store.RecordOutcome(ctx, store.Outcome{
		TrialID: r.TrialID, Attempt: r.Attempt, Status: r.Status, Objective: obj, TestAccuracy: testAcc,
		EpochsDone: r.EpochsDone, Error: r.Error, Worker: r.Worker,
	})
	if err != nil {
		return r, err
	}
	r.Objective, r.TestAccuracy = obj, testAcc
	if changed {
		a.Metrics.TrialRecorded(string(r.Status))
	}
	if r.Status == search.Complete {
		// Also on a retry whose outcome was already stored: the values
		// are written once, after the outcome.
		if err := a.recordObjectiveValues(ctx, r.TrialID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("trial %d: objective values: %w", r.Number, err)
		}
	}
	if changed && a.Publisher != nil {
		if err := a.Publisher.PublishStatus(ctx, events.TrialStatus{
			Study: in.Study, Trial: r.Number, TrialID: r.TrialID, Activation: r.Activation, Status: r.Status,
			Objective: obj, EpochsDone: r.EpochsDone, Error: r.Error, Time: time.Now().UTC(),
		}); err != nil && a.Log != nil {
			// The database already holds the outcome; watchers poll it too.
			a.Log.Warn("publish trial status", "study", in.Study, "trial", r.Number, "err", err)
		}
	}
	stored, err := a.Store.TrialByID(ctx, r.TrialID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Nothing stored to agree with.
	case err != nil:
		return r, err
	case search.State(stored.Status).Final():
		r.Status, r.Objective, r.EpochsDone, r.Attempt = stored.Status, stored.Objective, stored.EpochsDone, stored.Attempt
		r.TestAccuracy = stored.TestAccuracy
		r.Error, r.Worker = deref(stored.Error), deref(stored.Worker)
	}
	return r, nil
}

// allValues returns a trial's objective values when it has every one.
func allValues(r store.Trial) ([]float64, bool) {
	if len(r.ObjectiveValues) == 0 {
		return nil, false
	}
	vs := make([]float64, len(r.ObjectiveValues))
	for i, v := range r.ObjectiveValues {
		if v == nil {
			return nil, false
		}
		vs[i] = *v
	}
	return vs, true
}

// finite returns x, or nil when x is NaN or infinite.
func finite(x *float64) *float64 {
	if x != nil && (math.IsNaN(*x) || math.IsInf(*x, 0)) {
		return nil
	}
	return x
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// AwaitMetrics waits until every metric row the study's trials reported
// (epochs 1..epochs_done of each trial) is in trial_metrics, or until
// in.MaxWait has passed, and returns what is still missing. The sink
// writes rows asynchronously, and after a controller restart the messages
// its previous run had fetched come back only after the consumer's ack
// wait: a study marked finished before then would miss rows.
func (a *Activities) AwaitMetrics(ctx context.Context, in workflows.AwaitMetricsInput) (workflows.AwaitMetricsOutput, error) {
	if in.MaxWait < 0 || in.MaxWait > time.Hour {
		err := fmt.Errorf("max_wait: %s must be between 0 and 1h", in.MaxWait)
		return workflows.AwaitMetricsOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	// The sink usually lands the last rows within milliseconds: look
	// again after 20 ms, doubling up to a second.
	poll := 20 * time.Millisecond
	deadline := time.Now().Add(in.MaxWait)
	for {
		rows, trials, err := a.Store.PendingMetrics(ctx, in.StudyID)
		if err != nil {
			return workflows.AwaitMetricsOutput{}, err
		}
		out := workflows.AwaitMetricsOutput{Rows: rows, Trials: trials}
		if rows == 0 || !time.Now().Before(deadline) {
			return out, nil
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, out)
		}
		t := time.NewTimer(min(poll, time.Until(deadline)))
		poll = min(2*poll, time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, ctx.Err()
		case <-t.C:
		}
	}
}

// FinishStudy stores the study's final status.
func (a *Activities) FinishStudy(ctx context.Context, in workflows.FinishStudyInput) error {
	return a.Store.FinishStudy(ctx, in.StudyID, in.Status)
}

// Decide records a trial's value at a decision epoch and returns the
// study's scheduler's verdict, from every value reported at that epoch, or
// with Ordered from those of the trials numbered below it.
func (a *Activities) Decide(ctx context.Context, in workflows.DecideInput) (workflows.RungDecision, error) {
	sched, err := search.NewScheduler(in.Schedule)
	if err != nil {
		return workflows.RungDecision{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if !search.ForTrial(sched, in.Trial).Rung(in.Epoch) {
		return workflows.RungDecision{Continue: true}, nil
	}
	decide := a.Store.DecideRung
	if in.Ordered {
		decide = a.Store.DecideRungBelow
	}
	goOn, err := decide(ctx, in.StudyID, in.Trial, in.Epoch, in.Value, func(v float64, reported []search.RungValue) bool {
		return search.Decide(sched, in.Trial, in.Epoch, v, reported, in.Direction)
	})
	return workflows.RungDecision{Continue: goOn}, err
}
