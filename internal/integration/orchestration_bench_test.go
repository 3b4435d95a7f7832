package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/spec"
	"github.com/relutune/relutune/workflows"
)

// instantTrials is a study whose trials train for a few milliseconds, so
// its wall time is what the orchestration costs.
const instantTrials = `name: %s
dataset: spirals
model: {kind: mlp, hidden: [8]}
space:
  activation: {choice: [relu, tanh, elu, swish]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}
search: {algorithm: %s, max_trials: %d, parallelism: %d, seed: 11}
schedule: {kind: none, max_epochs: 1}
optimizer: {kind: sgd}
`

// BenchmarkOrchestration runs studies of near-instant one-epoch trials on
// the Temporal dev server and reports what the orchestration costs a
// trial, from the workflow histories (TrainTrial's scheduled, started and
// completed events, wherever the trial ran):
//
//   - trials/s: trials over the study's wall time (submit to result);
//   - overhead-ms/trial: the wall time of a trial slot while trials run
//     (first TrainTrial scheduled to last completed, times the slots, per
//     trial) less TrainTrial's own run: what the orchestration adds to
//     every trial (each case has one single-trial worker per slot);
//   - between-ms: from one TrainTrial's end to the next one's scheduling
//     (the study's turn: record, suggest, launch), averaged;
//   - queue-ms: from TrainTrial scheduled to a worker starting it;
//   - train-ms: TrainTrial's run on the worker (training, publishing);
//   - fixed-ms: the study's cost outside its trials (create, first
//     suggestion, waiting for the last metric rows, finish), per study;
//   - study-tasks/trial: the study workflow's tasks per trial.
//
// Run with `make bench-orchestration` (needs the services of `make
// services`).
func BenchmarkOrchestration(b *testing.B) {
	const trials = 40
	for _, tc := range []struct {
		algorithm   string
		parallelism int
		workers     int
	}{
		{"random", 1, 1},
		{"random", 4, 4},
		{"tpe", 4, 4},
		{"random", 8, 8},
	} {
		b.Run(fmt.Sprintf("%s/parallelism=%d/workers=%d", tc.algorithm, tc.parallelism, tc.workers), func(b *testing.B) {
			e := Start(b, tc.workers)
			c, err := client.Dial(client.Options{HostPort: e.Conn.TemporalAddress, Namespace: e.Conn.TemporalNamespace,
				Logger: quietTemporalLog()})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			var sum orchestrationTimes
			b.ResetTimer()
			for i := range b.N {
				name := fmt.Sprintf("orch-%s-%d-%d-%d", tc.algorithm, tc.parallelism, i, time.Now().UnixNano()%1e6)
				text := fmt.Sprintf(instantTrials, name, tc.algorithm, trials, tc.parallelism)
				sp, err := spec.Parse([]byte(text))
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				run, err := c.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
					ID: workflows.StudyWorkflowID(name), TaskQueue: e.StudiesQueue,
				}, workflows.StudyWorkflowName, workflows.StudyInput{Spec: *sp, TrialsQueue: e.TrialsQueue})
				if err != nil {
					b.Fatal(err)
				}
				var res workflows.StudyResult
				if err := run.Get(context.Background(), &res); err != nil {
					b.Fatal(err)
				}
				wall := time.Since(start)
				if res.Counts["complete"] != trials {
					b.Fatalf("study %s: %v, want %d complete trials", name, res.Counts, trials)
				}
				t, err := historyTimes(c, name)
				if err != nil {
					b.Fatal(err)
				}
				if t.tries != trials {
					b.Fatalf("study %s: %d TrainTrial runs in the histories, want %d", name, t.tries, trials)
				}
				t.wall = wall
				sum.add(t)
			}
			b.StopTimer()
			n := float64(b.N)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(float64(trials)*n/sum.wall.Seconds(), "trials/s")
			slots := float64(min(tc.parallelism, tc.workers)) // each worker trains one trial at a time
			b.ReportMetric((ms(sum.span)*slots-ms(sum.train))/n/trials, "overhead-ms/trial")
			b.ReportMetric(ms(sum.between)/n/(trials-1), "between-ms")
			b.ReportMetric(ms(sum.queue)/n/trials, "queue-ms")
			b.ReportMetric(ms(sum.train)/n/trials, "train-ms")
			b.ReportMetric(ms(sum.fixed)/n, "fixed-ms")
			b.ReportMetric(float64(sum.studyTasks)/n/trials, "study-tasks/trial")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// orchestrationTimes are one study's times, summed over its trials.
type orchestrationTimes struct {
	wall                               time.Duration
	span, between, queue, train, fixed time.Duration
	tries, studyTasks                  int
}

func (o *orchestrationTimes) add(t orchestrationTimes) {
	o.wall += t.wall
	o.span += t.span
	o.between += t.between
	o.queue += t.queue
	o.train += t.train
	o.fixed += t.fixed
	o.studyTasks += t.studyTasks
}

// try is one TrainTrial activity's scheduled, started and completed times.
type try struct{ scheduled, started, completed time.Time }

// historyTimes reads a finished study's history, and its trials' where
// trials ran as child workflows, and sums the phases of its TrainTrial
// runs.
func historyTimes(c client.Client, study string) (orchestrationTimes, error) {
	var out orchestrationTimes
	events, err := history(c, workflows.StudyWorkflowID(study))
	if err != nil {
		return out, err
	}
	tries := trainTries(events)
	for _, ev := range events {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			out.studyTasks++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			child, err := history(c, ev.GetStartChildWorkflowExecutionInitiatedEventAttributes().GetWorkflowId())
			if err != nil {
				return out, err
			}
			tries = append(tries, trainTries(child)...)
		}
	}
	if len(tries) == 0 {
		return out, fmt.Errorf("study %s: no TrainTrial in its histories", study)
	}
	slices.SortFunc(tries, func(a, b try) int { return a.scheduled.Compare(b.scheduled) })
	first, last := tries[0].scheduled, tries[0].completed
	for i, t := range tries {
		out.queue += t.started.Sub(t.scheduled)
		out.train += t.completed.Sub(t.started)
		if t.completed.After(last) {
			last = t.completed
		}
		if i > 0 {
			out.between += max(t.scheduled.Sub(tries[i-1].completed), 0)
		}
	}
	out.tries = len(tries)
	out.span = last.Sub(first)
	studyTime := events[len(events)-1].GetEventTime().AsTime().Sub(events[0].GetEventTime().AsTime())
	out.fixed = studyTime - out.span
	return out, nil
}

// trainTries lists the TrainTrial runs of a history that completed.
func trainTries(events []*historypb.HistoryEvent) []try {
	byScheduled := map[int64]*try{}
	var out []try
	for _, ev := range events {
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == workflows.TrainTrialActivity {
				byScheduled[ev.GetEventId()] = &try{scheduled: at}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if t := byScheduled[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]; t != nil {
				t.started = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if t := byScheduled[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; t != nil && !t.started.IsZero() {
				t.completed = at
				out = append(out, *t)
			}
		}
	}
	return out
}

func history(c client.Client, id string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", id, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("history of %s is empty", id)
	}
	return slices.Clip(evs), nil
}
