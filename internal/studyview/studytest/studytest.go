// Package studytest stores a finished study with realistic metrics, for
// the tests of the dashboard, the plots and the report.
package studytest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/spec"
)

// SpecYAML is the stored study's spec.
const SpecYAML = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [16, 16, 8]}
objective: {metric: val_accuracy, direction: maximize}
space:
  activation: {choice: [relu, leaky_relu, elu, prelu, tanh]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  elu_alpha: {uniform: [0.1, 2.0], when: {activation: elu}}
  prelu_init: {uniform: [0.05, 0.5], when: {activation: prelu}}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
  batch_size: {choice: [32, 64]}
  init: {choice: [he_normal, xavier_uniform]}
search: {algorithm: random, max_trials: 40, parallelism: 2, seed: 7}
schedule: {kind: none, max_epochs: 6}
optimizer: {kind: adam}
`

// Layers is how many hidden layers the stored trials report.
const Layers = 3

// Epochs is how many epochs each trained trial ran.
const Epochs = 6

// Trials is how many trials the study holds: the last three diverged,
// failed and are still pending.
const Trials = 33

// Seed stores a study named name and returns its id. Trials 0..29 are
// complete, 30 diverged, 31 failed, 32 is pending.
func Seed(t testing.TB, st *store.Store, name string) int64 {
	t.Helper()
	return seed(t, st, name, SpecYAML)
}

// SeedMultiObjective stores the study Seed stores, made multi-objective:
// its spec lists the objectives val_accuracy (maximize) and epoch_seconds
// (minimize), and every complete trial holds both values (epoch_seconds
// from its throughput over a training split of 1,000 examples).
func SeedMultiObjective(t testing.TB, st *store.Store, name string) int64 {
	t.Helper()
	yaml := strings.Replace(SpecYAML, "objective: {metric: val_accuracy, direction: maximize}",
		"objectives: [{metric: val_accuracy, direction: maximize}, {metric: epoch_seconds, direction: minimize}]", 1)
	id := seed(t, st, name, yaml)
	if _, err := st.Pool().Exec(context.Background(), `UPDATE trials t SET objective_values = ARRAY[t.objective,
			(SELECT 1000 / avg(m.samples_per_sec) FROM trial_metrics m WHERE m.trial_id = t.id)]
		WHERE t.study_id = $1 AND t.status = 'complete'`, id); err != nil {
		t.Fatal(err)
	}
	return id
}

func seed(t testing.TB, st *store.Store, name, specYAML string) int64 {
	t.Helper()
	ctx := context.Background()
	sp, err := spec.Parse(fmt.Appendf(nil, specYAML, name))
	if err != nil {
		t.Fatal(err)
	}
	study, _, err := st.CreateStudy(ctx, store.NewStudy{Name: name, Spec: sp.Canonical(), SpecHash: "h-" + name, Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	acts := []string{"relu", "leaky_relu", "elu", "prelu", "tanh"}
	inits := []string{"he_normal", "xavier_uniform"}
	var news []store.NewTrial
	params := make([]map[string]any, Trials)
	for i := range Trials {
		a := acts[i%len(acts)]
		p := map[string]any{
			"activation":    a,
			"learning_rate": math.Pow(10, -3+2*rng.Float64()),
			"batch_size":    []int{32, 64}[rng.IntN(2)],
			"init":          inits[rng.IntN(2)],
		}
		switch a {
		case "leaky_relu":
			p["negative_slope"] = math.Pow(10, -2+1.47*rng.Float64())
		case "elu":
			p["elu_alpha"] = 0.1 + 1.9*rng.Float64()
		case "prelu":
			p["prelu_init"] = 0.05 + 0.45*rng.Float64()
		}
		params[i] = p
		b, _ := json.Marshal(p)
		news = append(news, store.NewTrial{Number: i, ConfigHash: fmt.Sprintf("c%d", i), Params: b, Seed: int64(100 + i%3), Replicate: i % 3})
	}
	trials, err := st.InsertTrials(ctx, study.ID, news)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range trials {
		if i == Trials-1 {
			break // pending
		}
		p := params[i]
		a := p["activation"].(string)
		lr := math.Log10(p["learning_rate"].(float64))
		final := 0.92 - 0.08*(lr+2)*(lr+2) + map[string]float64{"relu": 0, "leaky_relu": 0.02, "elu": 0.015, "prelu": 0.025, "tanh": -0.05}[a]
		var rows []store.MetricRow
		for ep := 1; ep <= Epochs; ep++ {
			frac := float64(ep) / Epochs
			acc := 0.5 + (final-0.5)*(1-math.Exp(-3*frac)) + 0.005*rng.NormFloat64()
			loss := 1.2 * (1 - acc)
			var layers []map[string]any
			var dead, sat float64
			for l := range Layers {
				d := 0.0
				if a == "relu" {
					d = math.Min(0.9, 0.05+0.3*(lr+3)*frac*float64(l+1)/Layers)
				}
				s := 0.02
				if a == "tanh" {
					s = 0.1 + 0.4*frac*float64(l+1)/Layers
				}
				ls := map[string]any{"dead_fraction": d, "saturation": s, "act_mean": 0.1, "act_std": 0.5, "grad_norm": 0.5 / float64(l+1) / (1 + frac)}
				if a == "prelu" {
					ls["prelu_slope"] = p["prelu_init"].(float64) + 0.05*frac*float64(l+1)
				}
				layers = append(layers, ls)
				dead += d / Layers
				sat += s / Layers
			}
			lb, _ := json.Marshal(layers)
			// Larger batches train faster.
			sps := 4000*math.Sqrt(float64(p["batch_size"].(int))/32) + 200*rng.Float64()
			vl, tl, g, lrv := loss*1.1, loss, 0.4/(1+frac), p["learning_rate"].(float64)
			rows = append(rows, store.MetricRow{TrialID: tr.ID, Epoch: ep, Attempt: 1,
				Layers: lb, Worker: "w1", EpochValues: events.EpochValues{ValAccuracy: &acc, ValLoss: &vl, TrainLoss: &tl,
					DeadFraction: &dead, Saturation: &sat, GradNorm: &g, SamplesPerSec: &sps, LR: &lrv}})
			if i == Trials-3 && ep == 2 {
				break // diverged at epoch 2
			}
		}
		if _, err := st.WriteMetrics(ctx, rows); err != nil {
			t.Fatal(err)
		}
		o := store.Outcome{TrialID: tr.ID, Attempt: 1, Status: "complete", EpochsDone: len(rows), Worker: "w1"}
		switch i {
		case Trials - 3:
			o.Status, o.Error = "diverged", "train loss is NaN at epoch 2"
		case Trials - 2:
			o.Status, o.Error, o.Attempt = "failed", "worker lost: heartbeat timeout", 3
		default:
			v := rows[len(rows)-1].ValAccuracy
			o.Objective = v
		}
		if _, err := st.RecordOutcome(ctx, o); err != nil {
			t.Fatal(err)
		}
		// Epoch time grows with the batch count: smaller batches are slower.
		secs := 0.4 + 0.2*float64(64/p["batch_size"].(int)) + 0.05*rng.Float64()
		if _, err := st.Pool().Exec(ctx, `UPDATE trials SET started_at = finished_at - make_interval(secs => $2) WHERE id = $1`,
			tr.ID, secs*float64(len(rows))); err != nil {
			t.Fatal(err)
		}
	}
	return study.ID
}
