package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

const pbtSpec = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [16]}
objective: {metric: val_loss, direction: minimize}
space:
  activation: {choice: [relu, leaky_relu, elu]}
  negative_slope: {uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  elu_alpha: {uniform: [0.5, 2.0], when: {activation: elu}}
  learning_rate: {log_uniform: [1.0e-4, 5.0e-2]}
search: {algorithm: random, max_trials: 4, parallelism: 4, seed: 5}
schedule: {kind: pbt, max_epochs: 6, interval: 2, quantile: 0.25, perturb: [0.8, 1.2], resample_probability: 0.25}
optimizer: {kind: adam}
`

// lineageRow is one stored exploit step.
type lineageRow struct {
	Gen, Epoch, Trial, Source int
	New                       string
}

// TestPBTEndToEnd runs a pbt study (population 4, 6 epochs, generations of
// 2) through the stack on one worker and on two with the directory
// checkpoint backend, and on two with the object store, and checks that every
// trial trained 6 epochs, that all runs exploited the same trials from
// the same sources with the same parameters, and that an exploited trial's
// next epoch continued from its source's weights: its validation loss then
// is nearer the source's at that epoch than its own before the exploit.
func TestPBTEndToEnd(t *testing.T) {
	var runs [][]lineageRow
	for _, tc := range []struct {
		workers int
		objects bool
	}{{1, false}, {2, false}, {2, true}} {
		workers := tc.workers
		backend := "dir"
		if tc.objects {
			backend = "objstore"
		}
		t.Run(fmt.Sprintf("workers-%d-%s", workers, backend), func(t *testing.T) {
			e := Start(t, 0)
			if tc.objects {
				e.UseObjectStore(t)
			}
			for range workers {
				e.StartWorker()
			}
			name := fmt.Sprintf("it-pbt%d-%s", workers, e.DBName[len("relutune_it_"):])
			if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, pbtSpec)); code != 0 {
				t.Fatalf("submit exited %d: %s%s", code, out, errOut)
			}
			res := waitStudy(t, e, name)
			if res.Status != "complete" || res.Counts["complete"] != 4 {
				t.Fatalf("result %+v, want 4 trials complete", res)
			}
			for n, tr := range studyTrials(t, e, name) {
				if tr.status != "complete" || tr.epochs != 6 {
					t.Errorf("trial %d: %s after %d epochs, want complete after 6", n, tr.status, tr.epochs)
				}
			}
			ctx := context.Background()
			db := e.DB(t)
			rows, err := db.Query(ctx, `SELECT generation, epoch, trial, source_trial, new_params::text
				FROM pbt_lineage WHERE study = $1 ORDER BY generation, trial`, name)
			if err != nil {
				t.Fatal(err)
			}
			var lin []lineageRow
			for rows.Next() {
				var l lineageRow
				if err := rows.Scan(&l.Gen, &l.Epoch, &l.Trial, &l.Source, &l.New); err != nil {
					t.Fatal(err)
				}
				lin = append(lin, l)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			// ceil(4 * 0.25) = 1 trial exploited after generations 1 and 2.
			if len(lin) != 2 || lin[0].Gen != 1 || lin[0].Epoch != 2 || lin[1].Gen != 2 || lin[1].Epoch != 4 {
				t.Fatalf("lineage %+v, want one step at epoch 2 and one at epoch 4", lin)
			}
			for _, l := range lin {
				if l.Trial == l.Source {
					t.Fatalf("trial %d copies itself", l.Trial)
				}
				loss := func(trial, epoch int) float64 {
					var v float64
					if err := db.QueryRow(ctx, `SELECT m.val_loss FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
						JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number = $2 AND m.epoch = $3`,
						name, trial, epoch).Scan(&v); err != nil {
						t.Fatalf("val_loss of trial %d epoch %d: %v", trial, epoch, err)
					}
					return v
				}
				after, source, own := loss(l.Trial, l.Epoch+1), loss(l.Source, l.Epoch+1), loss(l.Trial, l.Epoch)
				t.Logf("generation %d: trial %d from %d: epoch %d val_loss %.4f; source's %.4f, its own before %.4f",
					l.Gen, l.Trial, l.Source, l.Epoch+1, after, source, own)
				if math.Abs(after-source) >= math.Abs(after-own) {
					t.Errorf("trial %d after exploiting %d: val_loss %.4f is nearer its own %.4f than the source's %.4f",
						l.Trial, l.Source, after, own, source)
				}
				var p map[string]any
				if err := json.Unmarshal([]byte(l.New), &p); err != nil {
					t.Fatal(err)
				}
				var stored string
				if err := db.QueryRow(ctx, `SELECT t.params::text FROM trials t JOIN studies s ON s.id = t.study_id
					WHERE s.name = $1 AND t.number = $2`, name, l.Trial).Scan(&stored); err != nil {
					t.Fatal(err)
				}
				if l.Gen == 2 && stored != l.New {
					t.Errorf("trial %d: stored params %s, want its newest %s", l.Trial, stored, l.New)
				}
			}
			code, out, errOut := e.Tunectl(t, "", "status", name)
			if code != 0 || !strings.Contains(out, "pbt lineage") {
				t.Errorf("status exited %d without the lineage: %s%s", code, out, errOut)
			}
			runs = append(runs, lin)
		})
	}
	for i := 1; i < len(runs); i++ {
		if !reflect.DeepEqual(runs[0], runs[i]) {
			t.Errorf("lineage of run %d %+v differs from the first's (1 worker) %+v", i, runs[i], runs[0])
		}
	}
}
