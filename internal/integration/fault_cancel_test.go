package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// oneLongTrial trains one trial at a time for far longer than the test.
const oneLongTrial = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [256, 256]}
space:
  activation: {choice: [relu]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}
  batch_size: {choice: [16]}
search: {algorithm: random, max_trials: 1, parallelism: 1, seed: 5}
schedule: {kind: none, max_epochs: 1000}
optimizer: {kind: adam}
`

// cancelWait bounds how long after a cancel the running trial must have
// stopped. Before workers capped the SDK's heartbeat throttle, a trial
// with the default 30 s heartbeat timeout learned of a cancel only with
// the heartbeat sent 24 s after the previous one.
const cancelWait = 15 * time.Second

// TestCancelReachesARunningTrialWithinSeconds cancels a study while its
// trial trains with the default heartbeat timeout, and waits for the
// trial's activity to report itself canceled (it returns only after its
// context is done). The latency, from the server's own event times, is
// logged.
func TestCancelReachesARunningTrialWithinSeconds(t *testing.T) {
	e := Start(t, 1)
	name := "it-cancel-latency-" + e.DBName[len("relutune_it_"):]
	c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sp, err := spec.Parse([]byte(strings.Replace(oneLongTrial, "%s", name, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// HeartbeatTimeout left zero: the trial gets the production default.
	if _, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: workflows.StudyWorkflowID(name), TaskQueue: e.StudiesQueue,
	}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: e.TrialsQueue}); err != nil {
		t.Fatal(err)
	}
	waitMetrics(t, e, name, 3)
	// Let the SDK's heartbeat batching settle into its steady rhythm, so
	// the cancel does not land right after a send by luck.
	time.Sleep(2 * time.Second)

	sent := time.Now()
	if err := c.CancelWorkflow(context.Background(), workflows.StudyWorkflowID(name), ""); err != nil {
		t.Fatal(err)
	}
	// The trial runs in the study's workflow: its TrainTrial is there.
	trial := workflows.StudyWorkflowID(name)
	var requested, canceled *historypb.HistoryEvent
	for deadline := time.Now().Add(cancelWait); requested == nil || canceled == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("the running trial had not stopped %s after the cancel (cancel requested: %v)", cancelWait, requested != nil)
		}
		time.Sleep(100 * time.Millisecond)
		requested, canceled = nil, nil
		it := c.GetWorkflowHistory(context.Background(), trial, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events:
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				break
			}
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED:
				requested = ev
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
				// The events after it are the trial recording its outcome
				// (the Record activity completes): not TrainTrial's.
				canceled = ev
				break events
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
				t.Fatalf("the trial's activity ended with %s, want canceled", ev.GetEventType())
			}
		}
	}
	latency := canceled.GetEventTime().AsTime().Sub(requested.GetEventTime().AsTime())
	t.Logf("cancel latency: %s from the activity's cancel request to its canceled result (%s from the client's cancel call)",
		latency.Round(time.Millisecond), canceled.GetEventTime().AsTime().Sub(sent).Round(time.Millisecond))
}
