package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/workflows"
)

const fourTrials = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [8]}
objective: {metric: val_accuracy, direction: maximize}
space:
  activation: {choice: [relu, leaky_relu, tanh, elu]}
  negative_slope: {log_uniform: [0.01, 0.3], when: {activation: leaky_relu}}
  learning_rate: {log_uniform: [1.0e-3, 3.0e-2]}
  batch_size: {choice: [32, 64]}
search: {algorithm: random, max_trials: 4, parallelism: 2, seed: 11}
schedule: {kind: none, max_epochs: 3}
optimizer: {kind: adam}
`

func writeSpec(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p, []byte(strings.Replace(text, "%s", name, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitStudy(t *testing.T, e *Env, name string) workflows.StudyResult {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var res workflows.StudyResult
	if err := c.GetWorkflow(ctx, workflows.StudyWorkflowID(name), "").Get(ctx, &res); err != nil {
		t.Fatalf("study %s: %v", name, err)
	}
	return res
}

// TestStudyEndToEnd runs a 4-trial study through Temporal, NATS and Postgres
// via tunectl, and checks the stored results.
func TestStudyEndToEnd(t *testing.T) {
	e := Start(t, 2)
	name := "it-e2e-" + e.DBName[len("relutune_it_"):]
	path := writeSpec(t, name, fourTrials)

	code, out, errOut := e.Tunectl(t, "", "submit", path)
	if code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	res := waitStudy(t, e, name)
	if res.Status != "complete" || res.Counts["complete"] != 4 {
		t.Fatalf("study result %+v, want complete with 4 complete trials", res)
	}
	db := e.DB(t)
	ctx := context.Background()

	rows, err := db.Query(ctx, `SELECT t.number, t.status, t.epochs_done, t.objective IS NOT NULL
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 ORDER BY t.number`, name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var number, epochs int
		var status string
		var hasObj bool
		if err := rows.Scan(&number, &status, &epochs, &hasObj); err != nil {
			t.Fatal(err)
		}
		if status != "complete" || epochs != 3 || !hasObj {
			t.Errorf("trial %d: status %s, epochs %d, objective set %v; want complete, 3, true", number, status, epochs, hasObj)
		}
		n++
	}
	if n != 4 {
		t.Fatalf("%d trials stored, want 4", n)
	}

	// Every epoch of every trial has exactly one metrics row. The sink is
	// asynchronous: wait for it.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var total, distinct, bad int
		err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT (m.trial_id, m.epoch)),
				count(*) FILTER (WHERE m.epoch < 1 OR m.epoch > t.epochs_done OR m.val_accuracy IS NULL)
			FROM trial_metrics m JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id
			WHERE s.name = $1`, name).Scan(&total, &distinct, &bad)
		if err != nil {
			t.Fatal(err)
		}
		if total == 12 && distinct == 12 && bad == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics rows: %d (distinct %d, out of range %d), want 12 = 4 trials x 3 epochs", total, distinct, bad)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// trial_ranking orders by objective, best first, with ranks that follow it.
	rrows, err := db.Query(ctx, `SELECT rank, objective FROM trial_ranking WHERE study = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	var prevObj float64
	var prevRank int
	i := 0
	for rrows.Next() {
		var rank int
		var obj float64
		if err := rrows.Scan(&rank, &obj); err != nil {
			t.Fatal(err)
		}
		if i > 0 && (obj > prevObj || rank < prevRank || (obj < prevObj && rank == prevRank)) {
			t.Errorf("row %d: rank %d objective %v after rank %d objective %v: not best first", i, rank, obj, prevRank, prevObj)
		}
		prevObj, prevRank = obj, rank
		i++
	}
	if i != 4 {
		t.Fatalf("trial_ranking has %d rows, want 4", i)
	}

	// tunectl top renders the same ranking.
	code, out, errOut = e.Tunectl(t, "", "top", name, "--output", "csv")
	if code != 0 || strings.Count(out, "\n") != 5 {
		t.Fatalf("top exited %d with %q %q; want a header and 4 rows", code, out, errOut)
	}

	// Submitting the same spec again is a no-op; another spec under the
	// same name is an error, and the stored study is unchanged.
	code, out, _ = e.Tunectl(t, "", "submit", path)
	if code != 0 || !strings.Contains(out, "already submitted") {
		t.Fatalf("resubmit: exit %d, %q; want 0 and 'already submitted'", code, out)
	}
	other := writeSpec(t, name, strings.Replace(fourTrials, "seed: 11", "seed: 12", 1))
	code, _, errOut = e.Tunectl(t, "", "submit", other)
	if code != 1 || !strings.Contains(errOut, "different spec") {
		t.Fatalf("conflicting submit: exit %d, %q; want 1 and 'different spec'", code, errOut)
	}
	var studies int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM studies WHERE name = $1`, name).Scan(&studies); err != nil || studies != 1 {
		t.Fatalf("studies named %s: %d (%v), want 1", name, studies, err)
	}
}

// TestSubmitRejectsBadSpec checks that an invalid spec names the field and
// starts and stores nothing.
func TestSubmitRejectsBadSpec(t *testing.T) {
	e := Start(t, 0)
	name := "it-bad-" + e.DBName[len("relutune_it_"):]
	bad := strings.Replace(fourTrials, "{log_uniform: [1.0e-3, 3.0e-2]}", "{log_uniform: [0, 3.0e-2]}", 1)
	code, _, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, bad))
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut, "space.learning_rate.log_uniform") || !strings.Contains(errOut, "0 must be in (0, 10]") {
		t.Fatalf("error %q does not name the field, value and bound", errOut)
	}
	var n int
	if err := e.DB(t).QueryRow(context.Background(), `SELECT count(*) FROM studies`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("studies stored: %d (%v), want 0", n, err)
	}
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.DescribeWorkflow(context.Background(), workflows.StudyWorkflowID(name), ""); err == nil {
		t.Fatal("a workflow was started for an invalid spec")
	}
}

// TestTPEWithASHA runs a TPE study whose trials ASHA prunes at rungs 1 and
// 3, through the real stack: workers ask the study workflow at each rung.
func TestTPEWithASHA(t *testing.T) {
	e := Start(t, 2)
	name := "it-asha-" + e.DBName[len("relutune_it_"):]
	text := strings.Replace(fourTrials, "algorithm: random, max_trials: 4", "algorithm: tpe, max_trials: 8", 1)
	text = strings.Replace(text, "{kind: none, max_epochs: 3}", "{kind: asha, min_epochs: 1, max_epochs: 9, reduction: 3}", 1)
	text = strings.Replace(text, "{metric: val_accuracy, direction: maximize}", "{metric: val_loss, direction: minimize}", 1)
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	res := waitStudy(t, e, name)
	if res.Status != "complete" || res.Counts["complete"]+res.Counts["pruned"] != 8 {
		t.Fatalf("result %+v, want 8 trials complete or pruned", res)
	}
	if res.Counts["pruned"] == 0 {
		t.Fatal("ASHA pruned no trial")
	}
	db := e.DB(t)
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT t.number, t.status, t.epochs_done FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for rows.Next() {
		var n, epochs int
		var status string
		if err := rows.Scan(&n, &status, &epochs); err != nil {
			t.Fatal(err)
		}
		switch {
		case status == "complete" && epochs == 9:
		case status == "pruned" && (epochs == 1 || epochs == 3):
		default:
			t.Errorf("trial %d: %s after %d epochs; want complete after 9 or pruned at a rung (1, 3)", n, status, epochs)
		}
		sum += epochs
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == sum {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d metric rows, want %d (one per epoch trained)", got, sum)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var ranked int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM trial_ranking WHERE study = $1`, name).Scan(&ranked); err != nil || ranked != res.Counts["complete"] {
		t.Fatalf("trial_ranking has %d rows (%v), want the %d complete trials only", ranked, err, res.Counts["complete"])
	}
}

// TestReplicatesArePaired checks that every configuration trains with the
// same replicate seeds, and that compare and status read the results.
func TestReplicatesArePaired(t *testing.T) {
	e := Start(t, 2)
	name := "it-rep-" + e.DBName[len("relutune_it_"):]
	text := strings.Replace(fourTrials, "seed: 11}", "seed: 11, replicates: 2}", 1)
	text = strings.Replace(text, "max_trials: 4", "max_trials: 6", 1)
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	if res := waitStudy(t, e, name); res.Status != "complete" {
		t.Fatalf("result %+v", res)
	}
	db := e.DB(t)
	rows, err := db.Query(context.Background(), `SELECT config_hash, array_agg(seed ORDER BY replicate)::text
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 GROUP BY config_hash`, name)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string]int{}
	configs := 0
	for rows.Next() {
		var hash, s string
		if err := rows.Scan(&hash, &s); err != nil {
			t.Fatal(err)
		}
		seeds[s]++
		configs++
	}
	if configs != 3 || len(seeds) != 1 {
		t.Fatalf("%d configurations with seed lists %v; want 3 configurations sharing one pair of seeds", configs, seeds)
	}
	for s := range seeds {
		if strings.Count(s, ",") != 1 {
			t.Fatalf("seed list %s, want two seeds", s)
		}
	}
	code, out, errOut := e.Tunectl(t, "", "compare", name, "--output", "json")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "[") {
		t.Fatalf("compare exited %d: %s%s", code, out, errOut)
	}
	code, out, errOut = e.Tunectl(t, "", "status", name)
	if code != 0 || !strings.Contains(out, "complete 6") {
		t.Fatalf("status exited %d: %q %s", code, out, errOut)
	}
}

// TestSameTrialsWhateverTheWorkers runs one spec on one worker and on
// three: trial n gets the same configuration and seed, and ends the same
// way (status, epochs, objective), pruned trials included. With TPE this
// holds because a suggestion sees only results that cannot depend on
// timing; with a scheduler, because each rung is decided in trial order
// from the values of lower-numbered trials only.
func TestSameTrialsWhateverTheWorkers(t *testing.T) {
	for _, tc := range []struct{ name, algorithm, trials, replicates, schedule string }{
		{"random", "random", "9", "3", ""},
		{"tpe", "tpe", "18", "1", ""}, // 10 random start-up trials, then TPE reading results
		{"asha", "random", "12", "1", "{kind: asha, min_epochs: 1, max_epochs: 4, reduction: 2}"},
		{"hyperband", "random", "12", "1", "{kind: hyperband, min_epochs: 1, max_epochs: 4, reduction: 2}"},
		{"median", "random", "10", "1", "{kind: median, max_epochs: 4, min_trials: 3}"},
		{"tpe-asha", "tpe", "14", "1", "{kind: asha, min_epochs: 1, max_epochs: 4, reduction: 2}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sameTrials(t, tc.algorithm, tc.trials, tc.replicates, tc.schedule)
		})
	}
}

func sameTrials(t *testing.T, algorithm, maxTrials, replicates, schedule string) {
	text := strings.Replace(fourTrials, "algorithm: random, max_trials: 4, parallelism: 2", "algorithm: "+algorithm+", max_trials: "+maxTrials+", parallelism: 3", 1)
	text = strings.Replace(text, "seed: 11}", "seed: 11, replicates: "+replicates+"}", 1)
	if schedule != "" {
		text = strings.Replace(text, "{kind: none, max_epochs: 3}", schedule, 1)
	}
	trials := func(workers int) []string {
		e := Start(t, workers)
		name := "it-workers-" + e.DBName[len("relutune_it_"):]
		start := time.Now()
		if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
			t.Fatalf("submit exited %d: %s%s", code, out, errOut)
		}
		if res := waitStudy(t, e, name); res.Status != "complete" {
			t.Fatalf("result %+v", res)
		}
		t.Logf("%d worker(s): the study took %s", workers, time.Since(start).Round(time.Millisecond))
		rows, err := e.DB(t).Query(context.Background(), `SELECT t.number || ' ' || t.config_hash || ' ' || t.seed || ' ' || t.status
				|| ' ' || t.epochs_done || ' ' || coalesce(t.objective::text, '-')
			FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 ORDER BY t.number`, name)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	one, three := trials(1), trials(3)
	if len(one) != len(three) || len(one) < 9 || strings.Join(one, "\n") != strings.Join(three, "\n") {
		t.Fatalf("one worker:\n%s\nthree workers:\n%s", strings.Join(one, "\n"), strings.Join(three, "\n"))
	}
	pruned := strings.Count(strings.Join(one, "\n"), " pruned ")
	if schedule != "" && (pruned == 0 || pruned == len(one)) {
		t.Fatalf("%d of %d trials pruned; the test needs some pruned and some not:\n%s", pruned, len(one), strings.Join(one, "\n"))
	}
	t.Logf("%d trials, %d pruned", len(one), pruned)
}

// TestDivergedTrialsNeverRank runs a grid where half the trials use a
// learning rate that makes the loss NaN: they end diverged, with no
// objective, without retries, and the study goes on.
func TestDivergedTrialsNeverRank(t *testing.T) {
	e := Start(t, 2)
	name := "it-div-" + e.DBName[len("relutune_it_"):]
	text := `name: %s
dataset: spirals
model: {kind: mlp, hidden: [64, 64]}
space:
  activation: {choice: [relu, elu]}
  learning_rate: {choice: [10, 0.01]}
search: {algorithm: grid, max_trials: 4, parallelism: 2, seed: 1}
schedule: {kind: none, max_epochs: 3}
optimizer: {kind: sgd}
`
	if code, out, errOut := e.Tunectl(t, "", "submit", writeSpec(t, name, text)); code != 0 {
		t.Fatalf("submit exited %d: %s%s", code, out, errOut)
	}
	res := waitStudy(t, e, name)
	if res.Status != "complete" || res.Counts["diverged"] != 2 || res.Counts["complete"] != 2 {
		t.Fatalf("result %+v, want 2 diverged and 2 complete", res)
	}
	db := e.DB(t)
	var diverged, withObjective, retried, ranked int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE t.status = 'diverged'),
			count(*) FILTER (WHERE t.status = 'diverged' AND t.objective IS NOT NULL),
			count(*) FILTER (WHERE t.attempt > 1),
			(SELECT count(*) FROM trial_ranking WHERE study = $1)
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&diverged, &withObjective, &retried, &ranked); err != nil {
		t.Fatal(err)
	}
	if diverged != 2 || withObjective != 0 || retried != 0 || ranked != 2 {
		t.Fatalf("diverged %d (with objective %d), retried %d, ranked %d; want 2, 0, 0, 2", diverged, withObjective, retried, ranked)
	}
}
