package controller

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/relutune/relutune/internal/testdb"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// TestExploitRecordsLineage: Exploit stores a generation's steps and the
// targets' new parameters, returns the targets' new assignments, and
// decides the same when retried.
func TestExploitRecordsLineage(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	sp, err := spec.Parse([]byte(`name: pbt-ctl
dataset: spirals
model: {hidden: [4]}
space:
  activation: {choice: [relu, leaky_relu]}
  negative_slope: {uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
search: {max_trials: 4, seed: 3}
schedule: {kind: pbt, max_epochs: 4, interval: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st}
	created, err := a.CreateStudy(ctx, workflows.CreateStudyInput{Spec: *sp})
	if err != nil {
		t.Fatal(err)
	}
	sug, err := a.Suggest(ctx, workflows.SuggestInput{StudyID: created.StudyID, Spec: *sp, Configs: 4, MaxTrials: 4})
	if err != nil || len(sug.Trials) != 4 {
		t.Fatalf("suggest: %d trials, %v", len(sug.Trials), err)
	}
	in := workflows.ExploitInput{StudyID: created.StudyID, Spec: *sp, Generation: 1, Epoch: 2}
	for i, tr := range sug.Trials {
		v := []float64{0.3, 0.9, math.NaN(), 0.5}[i]
		in.Members = append(in.Members, search.PBTMember{Trial: tr.Number, Value: v, Params: tr.Params})
	}
	out, err := a.Exploit(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Steps) != 1 || out.Steps[0].Target.Number != 2 || out.Steps[0].Source != 1 {
		t.Fatalf("steps %+v, want the NaN trial 2 copying the best, trial 1", out.Steps)
	}
	step := out.Steps[0]
	if step.Target.TrialID != sug.Trials[2].TrialID || step.Target.Seed != sug.Trials[2].Seed {
		t.Errorf("target keeps its trial id and seed: got %d/%d", step.Target.TrialID, step.Target.Seed)
	}
	if step.Target.Params["activation"] != sug.Trials[1].Params["activation"] || step.Target.Config.Activation != sug.Trials[1].Config.Activation {
		t.Errorf("target activation %v, want the source's %v", step.Target.Params["activation"], sug.Trials[1].Params["activation"])
	}
	again, err := a.Exploit(ctx, in)
	if err != nil || !reflect.DeepEqual(again, out) {
		t.Fatalf("retry decided %+v (%v), first %+v", again, err, out)
	}
	lin, err := st.Lineage(ctx, "pbt-ctl")
	if err != nil {
		t.Fatal(err)
	}
	if len(lin) != 1 || lin[0].Target != 2 || lin[0].Source != 1 || lin[0].SourceValue == nil || *lin[0].SourceValue != 0.9 {
		t.Fatalf("lineage %+v", lin)
	}
	var stored search.Config
	trials, err := st.Trials(ctx, created.StudyID)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(trials[2].Params, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Hash() != step.Target.Params.Hash() || trials[2].ConfigHash != step.Target.ConfigHash {
		t.Errorf("trial 2 stored %v (%s), want the new %v", stored, trials[2].ConfigHash, step.Target.Params)
	}
	// A member that is not a trial of the study is refused.
	bad := in
	bad.Members = append([]search.PBTMember{}, in.Members...)
	bad.Members[0].Trial = 99
	if _, err := a.Exploit(ctx, bad); err == nil {
		t.Error("a member that is no trial of the study was accepted")
	}
}
