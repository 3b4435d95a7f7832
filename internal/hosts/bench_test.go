//go:build hosts && linux

package hosts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/workflows"
)

// BenchmarkScale runs the same study on 1, 2 and 4 worker hosts of the
// namespace harness (the dev server tuned as `make up` tunes it) and
// reports, from the Temporal histories, the metric stream and the metric
// rows:
//
//   - trials/h: trials over the study's wall time, submit to finish;
//   - first-epoch-ms: study submit to the first epoch's metrics published;
//   - dispatch-ms: median, TrainTrial scheduled to started;
//   - gap-ms: median, a TrainTrial start after the latest TrainTrial end
//     before it (trial end to next start, slots full);
//   - record-ms: median, TrainTrial end to the study task that records it;
//   - train-ms: median TrainTrial duration;
//   - sinklag-p50-ms, sinklag-p95-ms: a metric message's time in the
//     stream to its row's insert.
//
// Two workloads: "instant" trials (one epoch of a tiny network, a few ms
// of training: orchestration-bound) and "train" trials (about a second of
// training each: training-bound). Each host runs one worker with
// concurrency 1 and the study's parallelism equals the hosts, except the
// "ceiling" case: 4 hosts, concurrency 2, parallelism 8 on instant trials.
func BenchmarkScale(b *testing.B) {
	type workload struct {
		name           string
		hidden         string
		epochs, trials int
	}
	instant := workload{"instant", "8", 1, 48}
	train := workload{"train", "256, 256", 40, 16}
	cases := []struct {
		w           workload
		hosts, conc int
	}{
		{instant, 1, 1}, {instant, 2, 1}, {instant, 4, 1}, {instant, 4, 2},
		{train, 1, 1}, {train, 2, 1}, {train, 4, 1},
	}
	for _, c := range cases {
		par := c.hosts * c.conc
		b.Run(fmt.Sprintf("%s/hosts=%d/parallelism=%d", c.w.name, c.hosts, par), func(b *testing.B) {
			for range b.N {
				e := newEnv(b, c.hosts, "--concurrency", fmt.Sprint(c.conc), "--log-level", "warn")
				name := fmt.Sprintf("scale-%s-%d-%d", c.w.name, c.hosts, par)
				s := e.startSpec(fmt.Sprintf(`name: %s
dataset: spirals
model: {kind: mlp, hidden: [%s]}
space:
  activation: {choice: [relu, tanh, elu, gelu]}
  learning_rate: {log_uniform: [1.0e-3, 1.0e-2]}
search: {algorithm: random, max_trials: %d, parallelism: %d, seed: 3}
schedule: {kind: none, max_epochs: %d}
optimizer: {kind: adam}
`, name, c.w.hidden, c.w.trials, par, c.w.epochs), c.w.trials, c.w.epochs)
				res := e.wait(s, 10*time.Minute)
				wall := time.Since(s.start)
				if res.Counts["complete"] != c.w.trials {
					b.Fatalf("study ended %v, want %d complete trials", res.Counts, c.w.trials)
				}
				m := e.measure(s)
				b.ReportMetric(float64(c.w.trials)/wall.Hours(), "trials/h")
				b.ReportMetric(float64(c.w.trials)/wall.Seconds(), "trials/s")
				b.ReportMetric(ms(m.firstEpoch), "first-epoch-ms")
				b.ReportMetric(ms(median(m.dispatch)), "dispatch-ms")
				b.ReportMetric(ms(median(m.gap)), "gap-ms")
				b.ReportMetric(ms(median(m.record)), "record-ms")
				b.ReportMetric(ms(median(m.train)), "train-ms")
				b.ReportMetric(ms(quantile(m.sinkLag, 0.5)), "sinklag-p50-ms")
				b.ReportMetric(ms(quantile(m.sinkLag, 0.95)), "sinklag-p95-ms")
				b.ReportMetric(0, "ns/op") // one study per op: the wall time is in trials/h
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// measurement is what one study's histories, stream and rows say.
type measurement struct {
	firstEpoch                   time.Duration
	dispatch, gap, record, train []time.Duration
	sinkLag                      []time.Duration
	trainStarts, trainEnds       []time.Time
}

func (e *env) measure(s *study) measurement {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var m measurement
	// Trials run in the study's workflow: each TrainTrial's scheduled,
	// started and completed events are in its history, and the study's
	// next workflow task after a completion records the trial (Record is
	// a local activity) and launches the next one.
	type tries struct{ scheduled, started time.Time }
	open := map[int64]*tries{}
	var pendingEnds []time.Time // TrainTrial ends whose record is not yet seen
	it := e.tc.GetWorkflowHistory(ctx, workflows.StudyWorkflowID(s.name), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			e.t.Fatalf("history of study %s: %v", s.name, err)
		}
		at := ev.GetEventTime().AsTime()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == workflows.TrainTrialActivity {
				open[ev.GetEventId()] = &tries{scheduled: at}
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if t := open[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()]; t != nil {
				t.started = at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if t := open[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()]; t != nil && !t.started.IsZero() {
				m.dispatch = append(m.dispatch, t.started.Sub(t.scheduled))
				m.train = append(m.train, at.Sub(t.started))
				m.trainStarts = append(m.trainStarts, t.started)
				m.trainEnds = append(m.trainEnds, at)
				pendingEnds = append(pendingEnds, at)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			for _, end := range pendingEnds {
				m.record = append(m.record, at.Sub(end))
			}
			pendingEnds = pendingEnds[:0]
		}
	}
	if len(m.train) != s.trials {
		e.t.Fatalf("study %s: %d completed TrainTrial runs in its history, want %d", s.name, len(m.train), s.trials)
	}
	slices.SortFunc(m.trainStarts, func(a, b time.Time) int { return a.Compare(b) })
	slices.SortFunc(m.trainEnds, func(a, b time.Time) int { return a.Compare(b) })
	for _, st := range m.trainStarts {
		// The latest end before this start; none for the first wave.
		i, _ := slices.BinarySearchFunc(m.trainEnds, st, func(a, b time.Time) int { return a.Compare(b) })
		if i > 0 {
			m.gap = append(m.gap, st.Sub(m.trainEnds[i-1]))
		}
	}

	// The stream's time of every metric message, by message id, and the
	// rows' insert times.
	js := e.jetStream()
	times := map[string]time.Time{}
	str, err := js.Stream(ctx, events.DefaultStream)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := str.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	var first time.Time
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		msg, err := str.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			e.t.Fatal(err)
		}
		id := msg.Header.Get(jetstream.MsgIDHeader)
		times[id] = msg.Time
		if first.IsZero() || msg.Time.Before(first) {
			first = msg.Time
		}
	}
	m.firstEpoch = first.Sub(s.start)
	conn := e.db()
	rows, err := conn.Query(ctx, `SELECT t.number, t.id, m.epoch, m.attempt, m.recorded_at FROM trial_metrics m
		JOIN trials t ON t.id = m.trial_id JOIN studies s ON s.id = t.study_id WHERE s.name = $1`, s.name)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var trial, epoch, attempt int
		var trialID int64
		var at time.Time
		if err := rows.Scan(&trial, &trialID, &epoch, &attempt, &at); err != nil {
			e.t.Fatal(err)
		}
		if pub, ok := times[events.MetricsMsgID(s.name, trial, trialID, epoch, attempt)]; ok {
			m.sinkLag = append(m.sinkLag, at.Sub(pub))
		}
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return m
}
