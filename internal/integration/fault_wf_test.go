package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/relutune/relutune/search"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/relutune/relutune/internal/controller"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/store"
	"github.com/relutune/relutune/internal/testdb"
	"github.com/relutune/relutune/internal/worker"
	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// envWorkerProcess holds the JSON WorkerConfig of a worker process.
const envWorkerProcess = "RELUTUNE_IT_WORKER_PROCESS"

// TestWorkerProcess is the body of the worker processes the fault tests
// start (and kill -9): this test binary, run again with only this test and
// envWorkerProcess set, runs worker.Run until it is signalled. Run
// without that variable, as part of the suite, it does nothing.
func TestWorkerProcess(t *testing.T) {
	raw := os.Getenv(envWorkerProcess)
	if raw == "" {
		return
	}
	var cfg worker.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "worker process:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := worker.Run(ctx, cfg, log); err != nil {
		fmt.Fprintln(os.Stderr, "worker process:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// workerProcess is a worker running in its own process.
type workerProcess struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (w *workerProcess) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.Write(p)
}

// kill sends SIGKILL: no shutdown, no last heartbeat, no completion.
func (w *workerProcess) kill(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill %s: %v", w.name, err)
	}
	<-w.done
}

// startWorkerProcess starts a worker process on e's queues and stream,
// with its checkpoints in ckpt.
func startWorkerProcess(t *testing.T, e *Env, name, ckpt string) *workerProcess {
	t.Helper()
	cfg, err := json.Marshal(worker.Config{
		Connections: e.Conn, TrialsQueue: e.TrialsQueue, Events: e.Events, Name: name, CheckpointDir: ckpt,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &workerProcess{name: name, done: make(chan struct{})}
	w.cmd = exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.count=1")
	w.cmd.Env = append(os.Environ(), envWorkerProcess+"="+string(cfg))
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = w.cmd.Wait()
		close(w.done)
	}()
	t.Cleanup(func() {
		_ = w.cmd.Process.Kill()
		<-w.done
		w.mu.Lock()
		defer w.mu.Unlock()
		if out := strings.TrimSpace(w.stderr.String()); out != "" {
			t.Logf("worker process %s:\n%s", w.name, out)
		}
	})
	return w
}

// waitNewAttempt waits until attempts after `after` have written n metric
// rows of the study's trial 0, and returns the newest attempt.
func waitNewAttempt(t *testing.T, e *Env, name string, after, n int) int {
	t.Helper()
	db := e.DB(t)
	deadline := time.Now().Add(90 * time.Second)
	for {
		var got, newest int
		if err := db.QueryRow(context.Background(), `SELECT count(*), coalesce(max(m.attempt), 0)
			FROM trial_metrics m JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id
			WHERE s.name = $1 AND t.number = 0 AND m.attempt > $2`, name, after).Scan(&got, &newest); err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return newest
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts after %d wrote %d metric rows in 90s, want %d", after, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// trialRow reads trial 0 of a study.
func trialRow(t *testing.T, e *Env, name string) (status string, epochs, attempt int, errText string) {
	t.Helper()
	if err := e.DB(t).QueryRow(context.Background(), `SELECT t.status, t.epochs_done, t.attempt, coalesce(t.error, '')
		FROM trials t JOIN studies s ON s.id = t.study_id WHERE s.name = $1 AND t.number = 0`, name).Scan(&status, &epochs, &attempt, &errText); err != nil {
		t.Fatal(err)
	}
	return status, epochs, attempt, errText
}

// TestWorkerKilledThreeTimesTrialCompletes kills (SIGKILL) the worker
// process training a trial three times. Each kill is an infrastructure
// failure: it does not spend the trial's three attempts, each retry resumes
// from the newest checkpoint on the shared volume, and the trial ends
// complete with exactly one metrics row per epoch, each from the newest
// attempt that trained it.
func TestWorkerKilledThreeTimesTrialCompletes(t *testing.T) {
	e := Start(t, 0)
	name := "it-kill-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ckpt := t.TempDir() // shared by the worker processes, like a volume
	const epochs = 600
	run := startStudy(t, e, c, name, 1, epochs)
	w := startWorkerProcess(t, e, "it-kill-0", ckpt)
	last := 0
	for i := 1; i <= 3; i++ {
		last = waitNewAttempt(t, e, name, last, 2) // the running worker trained two epochs
		w.kill(t)
		w = startWorkerProcess(t, e, fmt.Sprintf("it-kill-%d", i), ckpt)
	}
	if status, done, _, _ := trialRow(t, e, name); status != "running" || done >= epochs {
		t.Fatalf("after the third kill the trial is %s at epoch %d; the test needs it still running (raise epochs)", status, done)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var res workflows.StudyResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != search.StudyComplete || res.Counts["complete"] != 1 || res.PendingMetrics != 0 {
		t.Fatalf("result %+v, want the study and its trial complete with every metric row stored", res)
	}
	status, done, attempt, errText := trialRow(t, e, name)
	if status != "complete" || done != epochs || attempt < 4 || errText != "" {
		t.Fatalf("trial %s after %d epochs, attempt %d, error %q; want complete after %d, attempt >= 4", status, done, attempt, errText, epochs)
	}
	// The study was finished only once every row had landed.
	var rowsN, distinct, maxAttempt, firstRetried, outOfOrder int
	if err := e.DB(t).QueryRow(ctx, `SELECT count(*), count(DISTINCT epoch), max(attempt),
			coalesce(min(epoch) FILTER (WHERE attempt >= 2), 0),
			(SELECT count(*) FROM trial_metrics a JOIN trial_metrics b ON a.trial_id = b.trial_id
			 WHERE a.epoch < b.epoch AND a.attempt > b.attempt)
		FROM trial_metrics`).Scan(&rowsN, &distinct, &maxAttempt, &firstRetried, &outOfOrder); err != nil {
		t.Fatal(err)
	}
	if rowsN != epochs || distinct != epochs {
		t.Fatalf("%d metric rows (%d distinct epochs), want %d", rowsN, distinct, epochs)
	}
	if maxAttempt < 4 || outOfOrder != 0 {
		t.Fatalf("metric rows: newest attempt %d, %d epochs written by an older attempt than an earlier epoch; want attempts >= 4, never decreasing", maxAttempt, outOfOrder)
	}
	if firstRetried <= 1 {
		t.Fatalf("the retries first reported epoch %d; want them to resume after a checkpoint (> 1)", firstRetried)
	}
	// The outcome is recorded, so the checkpoints are gone.
	if _, err := os.Stat(filepath.Join(ckpt, name, "0")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("trial checkpoints still on disk after the outcome was recorded (stat: %v)", err)
	}
}

// cancelAtLastEpoch publishes like the workers do; at a trial's last epoch
// it first cancels the study and waits until the cancel has reached the
// trial's TrainTrial activity, so that training finishes during the
// cancel window.
type cancelAtLastEpoch struct {
	inner   worker.MetricsPublisher
	c       client.Client
	study   string
	once    sync.Once
	reached chan error
}

func (p *cancelAtLastEpoch) PublishMetrics(ctx context.Context, m events.EpochMetrics) error {
	if err := p.inner.PublishMetrics(ctx, m); err != nil {
		return err
	}
	if m.Epoch == m.MaxEpochs {
		p.once.Do(func() { p.reached <- p.cancelAndWait(ctx, m.Trial) })
	}
	return nil
}

func (p *cancelAtLastEpoch) cancelAndWait(actx context.Context, trial int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.c.CancelWorkflow(ctx, workflows.StudyWorkflowID(p.study), ""); err != nil {
		return err
	}
	for ctx.Err() == nil {
		// The trial runs in the study's workflow: its TrainTrial is there.
		it := p.c.GetWorkflowHistory(ctx, workflows.StudyWorkflowID(p.study), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED {
				return nil
			}
		}
		activity.RecordHeartbeat(actx) // the activity is alive, just waiting here
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the cancel did not reach the trial's activity within 2 minutes")
}

// TestTrialFinishingDuringCancelStaysComplete: a trial whose training
// finished after the study's cancel was requested but before it reached
// the training is complete, counts, and is shown the same way by the
// database, the study's result (its counts and best trial) and the status
// stream; the study is canceled.
func TestTrialFinishingDuringCancelStaysComplete(t *testing.T) {
	e := Start(t, 0)
	name := "it-cwin-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nc, js, err := events.Connect(e.Conn.NATSURL, "it-cancel-window")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	pub := &cancelAtLastEpoch{inner: events.NewPublisher(js, e.Events), c: c, study: name, reached: make(chan error, 1)}
	const workerName = "it-cwin-worker"
	acts := &worker.Activities{Publisher: pub, CheckpointDir: t.TempDir(), Worker: workerName}
	w := sdkworker.New(c, e.TrialsQueue, sdkworker.Options{})
	worker.RegisterActivities(w, acts)
	hw := sdkworker.New(c, workflows.HostQueue(e.TrialsQueue, workerName), sdkworker.Options{})
	hw.RegisterActivityWithOptions(acts.RemoveCheckpoints, activity.RegisterOptions{Name: workflows.RemoveCheckpointsActivity})
	for _, w := range []sdkworker.Worker{w, hw} {
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
	}

	// The default heartbeat timeout (30 s): however loaded the machine,
	// the try must not time out while the cancel travels.
	text := strings.NewReplacer("%s", name, "max_trials: %d", "max_trials: 1", "max_epochs: %d", "max_epochs: 4").Replace(longTrials)
	sp, err := spec.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.StudyWorkflowID(name), TaskQueue: e.StudiesQueue,
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: e.TrialsQueue})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	select {
	case err := <-pub.reached:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("the trial never reached its last epoch")
	}
	err = run.Get(ctx, nil)
	var ce *temporal.CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("study ended with %v, want canceled", err)
	}
	var res workflows.StudyResult
	if err := ce.Details(&res); err != nil {
		t.Fatal(err)
	}
	var trial workflows.TrialResult
	if res.Best != nil {
		trial = *res.Best
	}
	status, done, _, _ := trialRow(t, e, name)
	var studyStatus string
	if err := e.DB(t).QueryRow(ctx, `SELECT status FROM studies WHERE name = $1`, name).Scan(&studyStatus); err != nil {
		t.Fatal(err)
	}
	if status != "complete" || done != 4 || trial.Status != "complete" || res.Counts["complete"] != 1 || len(res.Counts) != 1 || studyStatus != "canceled" {
		t.Fatalf("stored trial %s (%d epochs), the study's best trial %q, study result counts %v, stored study %s; want the trial complete everywhere in a canceled study",
			status, done, trial.Status, res.Counts, studyStatus)
	}
	code, out, errOut := e.Tunectl(t, "", "status", name)
	if code != 0 || !strings.Contains(out, "study "+name+": canceled") || !strings.Contains(out, "trials: 1 (complete 1)") {
		t.Fatalf("status exited %d: %q %s", code, out, errOut)
	}
}

// TestStudyFinishWaitsForMetricRows: AwaitMetrics, which runs before a
// study is finished, waits while trials have fewer metric rows than epochs
// done, reports what is still missing when its time runs out, and
// `tunectl status` shows it.
func TestStudyFinishWaitsForMetricRows(t *testing.T) {
	e := Start(t, 0)
	ctx := context.Background()
	st, err := store.Open(ctx, e.Conn.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	name := "it-rows-" + e.DBName[len("relutune_it_"):]
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: name, Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	trials, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{
		{Number: 0, ConfigHash: "a", Params: []byte(`{"activation":"relu"}`), Seed: 1},
		{Number: 1, ConfigHash: "b", Params: []byte(`{"activation":"tanh"}`), Seed: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	obj := 0.9
	row := func(trial int64, epoch int) store.MetricRow {
		return store.MetricRow{TrialID: trial, Epoch: epoch, Attempt: 1, EpochValues: events.EpochValues{ValAccuracy: &obj}}
	}
	// Trial 0 trained 3 epochs, 2 rows have landed; trial 1 diverged in
	// epoch 2, so its one row is all there will be.
	if _, err := st.WriteMetrics(ctx, []store.MetricRow{row(trials[0].ID, 1), row(trials[0].ID, 2), row(trials[1].ID, 1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[0].ID, Attempt: 1, Status: "complete", Objective: &obj, EpochsDone: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordOutcome(ctx, store.Outcome{TrialID: trials[1].ID, Attempt: 1, Status: "diverged", EpochsDone: 2}); err != nil {
		t.Fatal(err)
	}

	a := &controller.Activities{Store: st}
	out, err := a.AwaitMetrics(ctx, workflows.AwaitMetricsInput{StudyID: s.ID, MaxWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows != 1 || out.Trials != 1 {
		t.Fatalf("AwaitMetrics = %+v after its time ran out; want 1 row of 1 trial missing", out)
	}
	code, text, errOut := e.Tunectl(t, "", "status", name)
	if code != 0 || !strings.Contains(text, "metrics: 1 rows of 1 trials not stored yet") {
		t.Fatalf("status exited %d: %q %s; want the missing row shown", code, text, errOut)
	}

	// The row lands while AwaitMetrics waits: it returns with nothing missing.
	landed := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := st.WriteMetrics(ctx, []store.MetricRow{row(trials[0].ID, 3)})
		landed <- err
	}()
	out, err = a.AwaitMetrics(ctx, workflows.AwaitMetricsInput{StudyID: s.ID, MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-landed; err != nil {
		t.Fatal(err)
	}
	if out.Rows != 0 || out.Trials != 0 {
		t.Fatalf("AwaitMetrics = %+v after the row landed; want nothing missing", out)
	}
	code, text, _ = e.Tunectl(t, "", "status", name)
	if code != 0 || strings.Contains(text, "metrics:") {
		t.Fatalf("status exited %d: %q; want no missing rows shown", code, text)
	}
	if _, err := a.AwaitMetrics(ctx, workflows.AwaitMetricsInput{StudyID: s.ID, MaxWait: -time.Second}); err == nil || !strings.Contains(err.Error(), "max_wait") {
		t.Fatalf("AwaitMetrics with a negative wait: %v; want an error naming max_wait", err)
	}
}

// TestRecordAnswersWithStoredOutcome: a second outcome for a trial that is
// already final (the study recording canceled a trial whose workflow ended
// after it recorded complete) changes nothing, and Record answers with
// what is stored, so that the workflows count it.
func TestRecordAnswersWithStoredOutcome(t *testing.T) {
	st, _ := testdb.New(t)
	ctx := context.Background()
	s, _, err := st.CreateStudy(ctx, store.NewStudy{Name: "rec", Spec: []byte(`{}`), SpecHash: "h", Metric: "val_accuracy", Direction: "maximize"})
	if err != nil {
		t.Fatal(err)
	}
	trials, err := st.InsertTrials(ctx, s.ID, []store.NewTrial{{Number: 0, ConfigHash: "a", Params: []byte(`{"activation":"relu"}`), Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	a := &controller.Activities{Store: st}
	obj := 0.75
	first, err := a.Record(ctx, workflows.RecordInput{Study: "rec", Result: workflows.TrialResult{
		TrialID: trials[0].ID, Number: 0, Status: "complete", Objective: &obj, EpochsDone: 4, Attempt: 2, Worker: "w"}})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != "complete" || first.Objective == nil || *first.Objective != obj || first.Attempt != 2 {
		t.Fatalf("first Record answered %+v", first)
	}
	second, err := a.Record(ctx, workflows.RecordInput{Study: "rec", Result: workflows.TrialResult{
		TrialID: trials[0].ID, Number: 0, Status: "canceled", Error: "workflow canceled"}})
	if err != nil {
		t.Fatal(err)
	}
	if second.Status != "complete" || second.Objective == nil || *second.Objective != obj || second.EpochsDone != 4 || second.Error != "" || second.Worker != "w" {
		t.Fatalf("second Record answered %+v; want the stored outcome (complete, 0.75, 4 epochs)", second)
	}
}
