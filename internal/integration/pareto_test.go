package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/relutune/relutune/search"
)

// multiObjective is an nsga2 study of two objectives: validation accuracy
// against the mean seconds per training epoch, with a start-up of 8 random
// trials before it breeds.
const multiObjective = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [8]}
objectives:
  - {metric: val_accuracy, direction: maximize}
  - {metric: epoch_seconds, direction: minimize}
  - {metric: param_count, direction: minimize}
space:
  activation: {choice: [relu, leaky_relu, tanh, elu, prelu]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  learning_rate: {log_uniform: [1.0e-3, 3.0e-2]}
  batch_size: {choice: [16, 32, 64, 128]}
search: {algorithm: nsga2, max_trials: 12, parallelism: 2, seed: 5}
schedule: {kind: none, max_epochs: 2}
optimizer: {kind: adam}
`

// TestNSGA2MultiObjectiveStudy runs an nsga2 study of three objectives
// through the stack and checks that every trial completed with all its
// objective values stored, that the pareto_front view holds exactly the
// trials a Go dominance check finds undominated, and that `tunectl top
// --pareto` and `tunectl export` show them.
func TestNSGA2MultiObjectiveStudy(t *testing.T) {
	e := Start(t, 2)
	name := "it-nsga2-" + e.DBName[len("relutune_it_"):]
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, multiObjective)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	const trials = 12
	res := waitStudy(t, e, name)
	if res.Status != "complete" || res.Counts["complete"] != trials {
		t.Fatalf("result %+v, want %d trials complete", res, trials)
	}

	db := e.DB(t)
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT t.number, t.activation, t.objective, t.objective_values
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 ORDER BY t.number`, name)
	if err != nil {
		t.Fatal(err)
	}
	type trial struct {
		number int
		act    string
		obj    *float64
		values []*float64
	}
	var ts []trial
	for rows.Next() {
		var tr trial
		if err := rows.Scan(&tr.number, &tr.act, &tr.obj, &tr.values); err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tr)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ts) != trials {
		t.Fatalf("%d trials stored, want %d", len(ts), trials)
	}
	var ys [][]float64
	params := map[string]float64{}
	for _, tr := range ts {
		if len(tr.values) != 3 {
			t.Fatalf("trial %d: objective_values %v, want 3 values", tr.number, tr.values)
		}
		for i, v := range tr.values {
			if v == nil {
				t.Fatalf("trial %d: objective value %d missing", tr.number, i)
			}
		}
		acc, sec, pc := *tr.values[0], *tr.values[1], *tr.values[2]
		if tr.obj == nil || acc != *tr.obj || acc < 0 || acc > 1 {
			t.Errorf("trial %d: val_accuracy %v, objective %v: want the same accuracy", tr.number, acc, tr.obj)
		}
		if sec <= 0 || sec > 60 {
			t.Errorf("trial %d: epoch_seconds %v, want a positive time under a minute", tr.number, sec)
		}
		// The model is fixed: the parameter count depends only on whether
		// the activation has parameters (prelu's slopes).
		if p, ok := params[tr.act]; ok && p != pc {
			t.Errorf("trial %d: %s has %v parameters, an earlier %s trial %v", tr.number, tr.act, pc, tr.act, p)
		}
		params[tr.act] = pc
		ys = append(ys, []float64{-acc, sec, pc})
	}
	if p, ok := params["prelu"]; ok && p <= params["relu"] && params["relu"] > 0 {
		t.Errorf("prelu has %v parameters, relu %v: want more", p, params["relu"])
	}

	var want []int
	for i, r := range search.ParetoRanks(ys) {
		if r == 1 {
			want = append(want, ts[i].number)
		}
	}
	front, err := db.Query(ctx, `SELECT trial FROM pareto_front WHERE study = $1 ORDER BY trial`, name)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for front.Next() {
		var n int
		if err := front.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if err := front.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Ints(want)
	if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pareto_front %v, Go dominance check %v", got, want)
	}

	code, out, errOut := e.Tunectl(t, "", "top", "--pareto", name, "-n", "0", "--output", "json")
	if code != 0 {
		t.Fatalf("top --pareto exited %d: %s", code, errOut)
	}
	var shown []struct {
		Trial int `json:"trial"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || len(shown) != len(want) {
		t.Fatalf("top --pareto printed %d trials (%v), want %d:\n%s", len(shown), err, len(want), out)
	}
	code, out, errOut = e.Tunectl(t, "", "export", name)
	if code != 0 {
		t.Fatalf("export exited %d: %s", code, errOut)
	}
	var exported []struct {
		Number int        `json:"number"`
		Values []*float64 `json:"objective_values"`
		Rank   *int       `json:"pareto_rank"`
	}
	if err := json.Unmarshal([]byte(out), &exported); err != nil {
		t.Fatal(err)
	}
	onFront := 0
	for _, x := range exported {
		if len(x.Values) != 3 || x.Rank == nil {
			t.Fatalf("exported trial %d: values %v, rank %v", x.Number, x.Values, x.Rank)
		}
		if *x.Rank == 1 {
			onFront++
		}
	}
	if onFront != len(want) {
		t.Fatalf("export ranks %d trials 1, the front has %d", onFront, len(want))
	}
	code, out, errOut = e.Tunectl(t, "", "top", "--pareto", name)
	if code != 0 || strings.TrimSpace(errOut) != "" || !strings.Contains(out, "EPOCH_SECONDS (MIN)") {
		t.Fatalf("top --pareto table exited %d: %s%s", code, out, errOut)
	}
	t.Logf("tunectl top --pareto:\n%s", out)
}
