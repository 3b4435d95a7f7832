package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/workflows"
)

// LineageStore records population-based training's exploit steps.
type LineageStore interface {
	RecordLineage(ctx context.Context, studyID int64, steps []store.LineageStep) error
}

// Exploit decides a pbt generation's exploit and explore steps
// (search.PBT.Exploit, seeded with the study's seed and the generation, so
// a retry decides the same), stores them as the targets' lineage with
// their new parameters, and returns each target's new assignment: its own
// trial and seed, the explored parameters.
func (a *Activities) Exploit(ctx context.Context, in workflows.ExploitInput) (workflows.ExploitOutput, error) {
	sp := in.Spec
	invalid := func(err error) (workflows.ExploitOutput, error) {
		return workflows.ExploitOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	ls, ok := a.Store.(LineageStore)
	if !ok {
		return invalid(fmt.Errorf("exploit: the store cannot record lineage"))
	}
	space, err := sp.SearchSpace()
	if err != nil {
		return invalid(err)
	}
	pbt := sp.PBT()
	if err := pbt.Check(); err != nil {
		return invalid(err)
	}
	if in.Generation < 1 || in.Epoch < 1 {
		return invalid(fmt.Errorf("exploit: generation %d and epoch %d must be >= 1", in.Generation, in.Epoch))
	}
	rows, err := a.Store.Trials(ctx, in.StudyID)
	if err != nil {
		return workflows.ExploitOutput{}, err
	}
	byNumber := map[int]store.Trial{}
	for _, r := range rows {
		byNumber[r.Number] = r
	}
	values := map[int]float64{}
	for _, m := range in.Members {
		if _, ok := byNumber[m.Trial]; !ok {
			return invalid(fmt.Errorf("exploit: trial %d is not a trial of study %d", m.Trial, in.StudyID))
		}
		values[m.Trial] = m.Value
	}
	steps := pbt.Exploit(space, in.Members, sp.Objective.Direction, sp.Search.Seed, in.Generation)
	var out workflows.ExploitOutput
	var lineage []store.LineageStep
	for _, s := range steps {
		t := byNumber[s.Target]
		tc, err := sp.TrialConfig(s.New, uint64(t.Seed))
		if err != nil {
			return invalid(err)
		}
		oldJSON, err := json.Marshal(s.Old)
		if err != nil {
			return workflows.ExploitOutput{}, err
		}
		newJSON, err := json.Marshal(s.New)
		if err != nil {
			return workflows.ExploitOutput{}, err
		}
		var sv *float64
		if v := values[s.Source]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			sv = &v
		}
		lineage = append(lineage, store.LineageStep{
			Target: s.Target, Generation: in.Generation, Epoch: in.Epoch, Source: s.Source, SourceValue: sv,
			OldParams: oldJSON, NewParams: newJSON, NewHash: s.New.Hash(),
		})
		out.Steps = append(out.Steps, workflows.ExploitStep{Source: s.Source, Target: workflows.TrialAssignment{
			TrialID: t.ID, Number: t.Number, Replicate: t.Replicate, Seed: uint64(t.Seed),
			ConfigHash: s.New.Hash(), Params: s.New, Config: tc,
		}})
	}
	if err := ls.RecordLineage(ctx, in.StudyID, lineage); err != nil {
		return workflows.ExploitOutput{}, err
	}
	return out, nil
}
