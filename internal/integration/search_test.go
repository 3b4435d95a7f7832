package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

// studyTrials returns a study's trials by number: config hash, status and
// epochs trained.
type storedTrial struct {
	hash, status string
	epochs       int
}

func studyTrials(t *testing.T, e *Env, name string) []storedTrial {
	t.Helper()
	rows, err := e.DB(t).Query(context.Background(), `SELECT t.config_hash, t.status, t.epochs_done
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 ORDER BY t.number`, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []storedTrial
	for rows.Next() {
		var s storedTrial
		if err := rows.Scan(&s.hash, &s.status, &s.epochs); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestModelSamplersRunStudies runs one 17-trial study per model-based
// sampler through the stack, with a random study of the same seed beside
// them. tpe, multivariate tpe and gp start with the same random draws as
// random: with parallelism 2 the suggestion lag is 4, so a suggestion at
// position p sees at most p-4 results and the first 10 results their
// start-up needs come at position 14 (15 if Suggest was asked for two
// configurations at position 13). Trials 0-13 must match random's and
// trials 15 and 16 must not, which shows that the controller built each
// sampler with its options (multivariate reaches tpe); cmaes models from
// the first trial.
func TestModelSamplersRunStudies(t *testing.T) {
	e := Start(t, 2)
	tag := e.DBName[len("relutune_it_"):]
	const trials, startup, modelled = 17, 14, 15
	studies := map[string]string{}
	for _, alg := range []string{"random", "tpe", "tpe-mv", "gp", "cmaes"} {
		name := fmt.Sprintf("it-%s-%s", alg, tag)
		line := "algorithm: " + alg
		if alg == "tpe-mv" {
			line = "algorithm: tpe, multivariate: true"
		}
		text := strings.Replace(fourTrials, "algorithm: random, max_trials: 4", fmt.Sprintf("%s, max_trials: %d", line, trials), 1)
		text = strings.Replace(text, "{kind: none, max_epochs: 3}", "{kind: none, max_epochs: 1}", 1)
		if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
			t.Fatalf("%s: submit exited %d: %s%s", alg, code, out, errOut)
		}
		studies[alg] = name
	}
	got := map[string][]storedTrial{}
	for alg, name := range studies {
		res := waitStudy(t, e, name)
		if res.Status != "complete" || res.Counts["complete"] != trials {
			t.Fatalf("%s: result %+v, want %d trials complete", alg, res, trials)
		}
		ts := studyTrials(t, e, name)
		seen := map[string]int{}
		for n, tr := range ts {
			if i, dup := seen[tr.hash]; dup {
				t.Fatalf("%s: trial %d repeats trial %d's configuration", alg, n, i)
			}
			seen[tr.hash] = n
		}
		got[alg] = ts
	}
	random := got["random"]
	for _, alg := range []string{"tpe", "tpe-mv", "gp"} {
		for n := range trials {
			same := got[alg][n].hash == random[n].hash
			if n < startup && !same {
				t.Errorf("%s: start-up trial %d differs from random's", alg, n)
			}
			if n >= modelled && same {
				t.Errorf("%s: trial %d, chosen by the model, is random's", alg, n)
			}
		}
	}
	for n := modelled; n < trials; n++ {
		if got["tpe"][n].hash == got["tpe-mv"][n].hash {
			t.Errorf("trial %d: multivariate tpe chose what univariate tpe did", n)
		}
	}
	differs := 0
	for n := range trials {
		if got["cmaes"][n].hash != random[n].hash {
			differs++
		}
	}
	if differs != trials {
		t.Errorf("cmaes: %d of %d trials differ from random's, want all", differs, trials)
	}
}

// TestHyperbandStudy runs a study under hyperband: every pruned trial
// stopped at one of its own bracket's rungs, the last bracket's trials all
// ran to max_epochs, and something was pruned.
func TestHyperbandStudy(t *testing.T) {
	e := Start(t, 2)
	name := "it-hyperband-" + e.DBName[len("relutune_it_"):]
	const trials = 12
	text := strings.Replace(fourTrials, "algorithm: random, max_trials: 4", fmt.Sprintf("algorithm: tpe, max_trials: %d", trials), 1)
	text = strings.Replace(text, "{kind: none, max_epochs: 3}", "{kind: hyperband, min_epochs: 1, max_epochs: 9, reduction: 3}", 1)
	text = strings.Replace(text, "{metric: val_accuracy, direction: maximize}", "{metric: val_loss, direction: minimize}", 1)
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	res := waitStudy(t, e, name)
	if res.Status != "complete" || res.Counts["complete"]+res.Counts["pruned"] != trials {
		t.Fatalf("result %+v, want %d trials complete or pruned", res, trials)
	}
	if res.Counts["pruned"] == 0 {
		t.Fatal("hyperband pruned no trial")
	}
	sched, err := search.NewScheduler(search.SchedulerSpec{Kind: search.SchedulerHyperband, MinEpochs: 1, MaxEpochs: 9, Reduction: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := sched.(search.Hyperband)
	for n, tr := range studyTrials(t, e, name) {
		rungs := search.ForTrial(h, n).(search.ASHA).Rungs()
		t.Logf("trial %d: bracket %d, %s after %d epochs", n, h.Bracket(n), tr.status, tr.epochs)
		switch {
		case tr.status == "complete" && tr.epochs == 9:
		case tr.status == "pruned" && containsInt(rungs, tr.epochs):
		default:
			t.Errorf("trial %d (bracket %d, rungs %v): %s after %d epochs; want complete after 9 or pruned at a rung of its bracket",
				n, h.Bracket(n), rungs, tr.status, tr.epochs)
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
