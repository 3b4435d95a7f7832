package integration

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

const longTrials = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [64, 64]}
space:
  activation: {choice: [relu, tanh]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}
search: {algorithm: random, max_trials: %d, parallelism: 2, seed: 5}
schedule: {kind: none, max_epochs: %d}
optimizer: {kind: adam}
`

// startStudy starts a study workflow directly, with a short heartbeat
// timeout so failures show within seconds.
func startStudy(t *testing.T, e *Env, c client.Client, name string, trials, epochs int) client.WorkflowRun {
	t.Helper()
	text := strings.Replace(longTrials, "%s", name, 1)
	text = strings.Replace(text, "max_trials: %d", "max_trials: "+strconv.Itoa(trials), 1)
	text = strings.Replace(text, "max_epochs: %d", "max_epochs: "+strconv.Itoa(epochs), 1)
	sp, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.StudyWorkflowID(name), TaskQueue: e.StudiesQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: e.TrialsQueue, HeartbeatTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// waitMetrics waits until the study has at least n metric rows.
func waitMetrics(t *testing.T, e *Env, name string, n int) {
	t.Helper()
	db := e.DB(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got int
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM trial_metrics m JOIN trials t ON t.id = m.trial_id
			JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d metric rows after 60s, want %d", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCancelRecordsRunningTrialsCanceled cancels a study while two trials
// train: they stop, are recorded canceled, and the study ends canceled.
func TestCancelRecordsRunningTrialsCanceled(t *testing.T) {
	e := Start(t, 2)
	name := "it-cancel-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := startStudy(t, e, c, name, 6, 1000)
	waitMetrics(t, e, name, 4)
	if code, out, errOut := e.Tunectl(t, "", "cancel", name); code != 0 {
		t.Fatalf("cancel exited %d: %s%s", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = run.Get(ctx, nil)
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("study ended with %v, want canceled", err)
	}
	db := e.DB(t)
	var status string
	if err := db.QueryRow(ctx, `SELECT status FROM studies WHERE name = $1`, name).Scan(&status); err != nil || status != "canceled" {
		t.Fatalf("study status %q (%v), want canceled", status, err)
	}
	rows, err := db.Query(ctx, `SELECT t.number, t.status, t.finished_at IS NOT NULL FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var num int
		var st string
		var finished bool
		if err := rows.Scan(&num, &st, &finished); err != nil {
			t.Fatal(err)
		}
		if st != "canceled" || !finished {
			t.Errorf("trial %d: %s (finished %v), want canceled", num, st, finished)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d trials stored, want the 2 that were running", n)
	}
}

// TestRetriedAttemptResumesFromCheckpoint stops the worker training a
// trial; the retry on another worker resumes from the last checkpoint, and
// every epoch still has exactly one metrics row.
func TestRetriedAttemptResumesFromCheckpoint(t *testing.T) {
	e := Start(t, 1)
	name := "it-resume-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const epochs = 150
	run := startStudy(t, e, c, name, 1, epochs)
	waitMetrics(t, e, name, 3)
	e.StopWorker(0)
	e.StartWorker()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var res workflows.StudyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Counts["complete"] != 1 {
		t.Fatalf("result %+v, want the trial complete", res)
	}
	db := e.DB(t)
	var status string
	var done, attempt int
	if err := db.QueryRow(ctx, `SELECT t.status, t.epochs_done, t.attempt FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, name).Scan(&status, &done, &attempt); err != nil {
		t.Fatal(err)
	}
	if status != "complete" || done != epochs || attempt < 2 {
		t.Fatalf("trial %s after %d epochs, attempt %d; want complete after %d, attempt >= 2", status, done, attempt, epochs)
	}
	waitMetrics(t, e, name, epochs)
	var rowsN, distinct, firstRetried int
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT epoch), coalesce(min(epoch) FILTER (WHERE attempt >= 2), 0)
		FROM trial_metrics`).Scan(&rowsN, &distinct, &firstRetried); err != nil {
		t.Fatal(err)
	}
	if rowsN != epochs || distinct != epochs {
		t.Fatalf("%d metric rows (%d distinct epochs), want %d", rowsN, distinct, epochs)
	}
	if firstRetried <= 1 {
		t.Fatalf("the retried attempt first reported epoch %d; want it to resume after a checkpoint (> 1)", firstRetried)
	}
}

// TestExtendThenStop extends a running study's budget, checks the live
// status, then stops it: running trials finish, no new ones start.
func TestExtendThenStop(t *testing.T) {
	e := Start(t, 2)
	name := "it-steer-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := startStudy(t, e, c, name, 6, 150)
	waitMetrics(t, e, name, 2)
	code, out, errOut := e.Tunectl(t, "", "extend", name, "--trials", "4")
	if code != 0 || !strings.Contains(out, "budget is now 10 trials") {
		t.Fatalf("extend exited %d: %q %s", code, out, errOut)
	}
	if code, _, errOut := e.Tunectl(t, "", "extend", name, "--trials", "0"); code != 2 {
		t.Fatalf("extend --trials 0 exited %d (%s), want 2", code, errOut)
	}
	code, out, errOut = e.Tunectl(t, "", "status", name)
	if code != 0 || !strings.Contains(out, "workflow: running, budget 10") {
		t.Fatalf("status exited %d: %q %s", code, out, errOut)
	}
	code, out, errOut = e.Tunectl(t, "", "stop", name)
	if code != 0 || !strings.Contains(out, "is stopping") {
		t.Fatalf("stop exited %d: %q %s", code, out, errOut)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var res workflows.StudyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "stopped" || res.Counts["complete"] < 1 || res.Counts["complete"] > 4 {
		t.Fatalf("result %+v, want stopped after the running trials completed", res)
	}
	var stored, open int
	db := e.DB(t)
	if err := db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE t.status IN ('pending', 'running'))
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND s.status = 'stopped'`, name).Scan(&stored, &open); err != nil {
		t.Fatal(err)
	}
	if stored != res.Counts["complete"] || open != 0 {
		t.Fatalf("%d trials stored (%d open) for a stopped study; want %d, none open", stored, open, res.Counts["complete"])
	}
}
