package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/workflows"
)

// TestPumpHeartbeatsOnlyWhileTrainingProgresses drives the pump with a
// synthetic clock.
func TestPumpHeartbeatsOnlyWhileTrainingProgresses(t *testing.T) {
	c := pumpConfig{every: time.Second, stallAfter: 5 * time.Second, abandonAfter: 10 * time.Second,
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	p := &heartbeatPump{}
	t0 := time.Unix(1000, 0)
	clk := &pumpClock{seenAt: t0}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		sec     int
		advance bool
		want    pumpAction
	}{
		{1, false, pumpBeat},  // inside the window from the start
		{5, false, pumpBeat},  // exactly the window
		{6, false, pumpQuiet}, // stalled: heartbeats stop
		{7, true, pumpBeat},   // a batch completed: heartbeats resume
		{12, false, pumpBeat},
		{13, false, pumpQuiet},
		{22, false, pumpQuiet},   // the server timed the attempt out long ago
		{23, false, pumpAbandon}, // stall window + abandonAfter passed
	}
	for _, s := range steps {
		if s.advance {
			p.advance()
		}
		if got := p.tick(clk, at(s.sec), c); got != s.want {
			t.Fatalf("at %ds (advanced %v): action %d, want %d", s.sec, s.advance, got, s.want)
		}
	}
	// Without a heartbeat timeout the pump never abandons.
	c.abandonAfter = 0
	if got := p.tick(clk, at(1000), c); got != pumpQuiet {
		t.Fatalf("without abandonAfter: action %d, want quiet", got)
	}
}

// blockingPublisher publishes the first epoch, then blocks every publish
// until its context ends, like a request whose reply never comes.
type blockingPublisher struct {
	blocked  atomic.Bool
	returned chan struct{}
}

func (p *blockingPublisher) PublishMetrics(ctx context.Context, m events.EpochMetrics) error {
	if m.Epoch == 1 {
		return nil
	}
	p.blocked.Store(true)
	<-ctx.Done()
	select {
	case p.returned <- struct{}{}:
	default:
	}
	return ctx.Err()
}

func stuckTrialWorkflow(ctx workflow.Context, in workflows.TrainInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    4 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteActivity(ctx, workflows.TrainTrialActivity, in).Get(ctx, nil)
}

// TestStuckTrialStopsHeartbeatingAndTimesOut: a trial whose publish never
// returns stops heartbeating, so the activity's heartbeat timeout fires,
// and the attempt then cancels its own training so nothing stays blocked.
func TestStuckTrialStopsHeartbeatingAndTimesOut(t *testing.T) {
	pub := &blockingPublisher{returned: make(chan struct{}, 1)}
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.SetTestTimeout(90 * time.Second)
	env.RegisterWorkflow(stuckTrialWorkflow)
	RegisterActivities(env, &Activities{Publisher: pub, Worker: "w", HeartbeatEvery: 50 * time.Millisecond,
		StallAfter: 200 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		env.ExecuteWorkflow(stuckTrialWorkflow, smallTrial("stuck", 100_000))
		done <- env.GetWorkflowError()
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the stuck trial still had not timed out after 60s: it kept heartbeating")
	}
	if !pub.blocked.Load() {
		t.Fatalf("the workflow ended (%v) before the publish blocked", err)
	}
	var te *temporal.TimeoutError
	if !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		t.Fatalf("workflow error %v, want a heartbeat timeout", err)
	}
	select {
	case <-pub.returned:
	case <-time.After(30 * time.Second):
		t.Fatal("the blocked publish never returned: the abandoned attempt still runs")
	}
}
