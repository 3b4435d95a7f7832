package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/natstest"
	"github.com/relutune/relutune/internal/process"
	"github.com/relutune/relutune/internal/worker"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// watchedPublisher wraps a publisher: it signals the first published
// epoch, paces publishing, and counts publishes that returned after a
// freeze.
type watchedPublisher struct {
	next     worker.MetricsPublisher
	pace     atomic.Int64 // nanoseconds slept after each publish
	first    chan struct{}
	once     sync.Once
	inFlight atomic.Int32
	ok       atomic.Int32 // publishes that succeeded
	returned chan error
}

func (p *watchedPublisher) PublishMetrics(ctx context.Context, m events.EpochMetrics) error {
	p.inFlight.Add(1)
	err := p.next.PublishMetrics(ctx, m)
	p.inFlight.Add(-1)
	if err == nil {
		p.ok.Add(1)
		p.once.Do(func() { close(p.first) })
	} else if p.returned != nil {
		select {
		case p.returned <- err:
		default:
		}
	}
	if d := time.Duration(p.pace.Load()); d > 0 {
		time.Sleep(d)
	}
	return err
}

func faultTag() string { return fmt.Sprintf("%d%04d", os.Getpid()%100000, rand.IntN(10000)) }

// stuckTrialWorkflow runs one TrainTrial attempt with a short heartbeat
// timeout and no retry, so a timeout ends the workflow.
func stuckTrialWorkflow(ctx workflow.Context, in workflows.TrainInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    3 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteActivity(ctx, "TrainTrial", in).Get(ctx, nil)
}

// TestTrialStuckOnAFrozenNATSTimesOut trains a trial on the real Temporal
// dev server while publishing to a private nats-server, then freezes that
// server (SIGSTOP): the publish of the next epoch cannot complete, so the
// trial must stop heartbeating and Temporal must time the attempt out,
// although the worker process is alive and its heartbeat goroutine runs.
// The abandoned attempt's publish must then return.
func TestTrialStuckOnAFrozenNATSTimesOut(t *testing.T) {
	skipUnlessServices(t)
	srv := natstest.Start(t)
	nc, js, err := events.Connect(srv.URL, "stuck-worker")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	tag := faultTag()
	cfg := events.Config{Stream: "FAULT_" + tag, Prefix: "fault" + tag}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(client.Options{
		HostPort:  process.Env(process.EnvTemporalAddress, process.DefaultTemporalAddress),
		Namespace: process.Env(process.EnvTemporalNamespace, process.DefaultTemporalNamespace),
		Logger:    quietTemporalLog(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "it-stuck-" + tag
	pub := &watchedPublisher{next: events.NewPublisher(js, cfg, events.WithLogger(testLog(t))),
		first: make(chan struct{}), returned: make(chan error, 1)}
	w := sdkworker.New(c, queue, sdkworker.Options{MaxHeartbeatThrottleInterval: worker.DefaultHeartbeatThrottle})
	w.RegisterWorkflowWithOptions(stuckTrialWorkflow, workflow.RegisterOptions{Name: "it-stuck-trial"})
	// Heartbeating every 200ms, the heartbeat goroutine alone would keep
	// the attempt alive for ever.
	worker.RegisterActivities(w, &worker.Activities{Publisher: pub, Worker: "stuck", HeartbeatEvery: 200 * time.Millisecond,
		Log: testLog(t)})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	in := workflows.TrainInput{Study: "stuck-" + tag, StudyID: 1, TrialID: 1, Number: 0, Metric: "val_accuracy",
		Config: trainer.Config{Dataset: "spirals", Activation: trainer.ReLU, Hidden: []int{64, 64}, Epochs: 1000, Seed: 1}}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "it-stuck-" + tag, TaskQueue: queue}, "it-stuck-trial", in)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-pub.first:
	case <-time.After(60 * time.Second):
		t.Fatal("the trial published nothing within 60s")
	}
	srv.Freeze()
	frozen := time.Now()
	defer srv.Thaw()

	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	err = run.Get(wctx, nil)
	if wctx.Err() != nil {
		t.Fatalf("the trial stuck on a frozen NATS had not timed out 60s after the freeze (publishes in flight: %d)", pub.inFlight.Load())
	}
	var te *temporal.TimeoutError
	if !errors.As(err, &te) || te.TimeoutType() != enumspb.TIMEOUT_TYPE_HEARTBEAT {
		t.Fatalf("trial ended with %v, want a heartbeat timeout", err)
	}
	t.Logf("heartbeat timeout %s after the freeze", time.Since(frozen).Round(time.Millisecond))
	select {
	case err := <-pub.returned:
		t.Logf("the abandoned attempt's publish returned %s after the freeze: %v", time.Since(frozen).Round(time.Millisecond), err)
	case <-time.After(60 * time.Second):
		t.Fatal("the abandoned attempt's publish was still blocked 60s after the timeout")
	}
}

// stopWhen prunes every trial at its next epoch once done is set.
type stopWhen struct{ done *atomic.Bool }

func (s stopWhen) Continue(ctx context.Context, study string, trial, epoch int, value float64) (bool, error) {
	return !s.done.Load(), nil
}

// TestTrialsPublishThroughNATSRestarts trains two trials at once, as two
// workers would, publishing every epoch to a private nats-server that is
// killed with SIGKILL and restarted six times (2 s down, 1-3 s up; every
// other time it is frozen for 300 ms first, so that requests are lost with
// it; the other times it dies while serving, perhaps after storing a
// message but before acking it); the
// study's scheduler stops them after the last restart. Both trials must
// end normally, and the stream must hold every epoch they trained exactly
// once. While the server is down, a publish with a short deadline must
// return by it.
func TestTrialsPublishThroughNATSRestarts(t *testing.T) {
	skipUnlessServices(t)
	srv := natstest.Start(t)
	tag := faultTag()
	cfg := events.Config{Stream: "CHAOS_" + tag, Prefix: "chaos" + tag}
	ctx := context.Background()
	const trials = 2
	study := "chaos-" + tag
	type result struct {
		trial int
		out   workflows.TrainOutput
		err   error
	}
	results := make(chan result, trials)
	pubs := make([]*watchedPublisher, trials)
	var chaosDone atomic.Bool
	for i := 0; i < trials; i++ {
		nc, js, err := events.Connect(srv.URL, "chaos-worker-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := events.EnsureStream(ctx, js, cfg); err != nil {
			t.Fatal(err)
		}
		pubs[i] = &watchedPublisher{next: events.NewPublisher(js, cfg, events.WithTryTimeout(time.Second), events.WithLogger(testLog(t))),
			first: make(chan struct{})}
		pubs[i].pace.Store(int64(20 * time.Millisecond))
		a := &worker.Activities{Publisher: pubs[i], Pruner: stopWhen{&chaosDone}, Worker: "chaos-" + strconv.Itoa(i), Log: testLog(t)}
		in := workflows.TrainInput{Study: study, StudyID: 1, TrialID: int64(i + 1), Number: i, Metric: "val_accuracy",
			Schedule: search.SchedulerSpec{Kind: "median"},
			Config:   trainer.Config{Dataset: "spirals", Activation: trainer.Tanh, Hidden: []int{8}, BatchSize: 256, Epochs: 100_000, Seed: uint64(i + 1)}}
		go func(i int) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestActivityEnvironment()
			env.SetTestTimeout(5 * time.Minute)
			env.RegisterActivity(a)
			v, err := env.ExecuteActivity(a.TrainTrial, in)
			var out workflows.TrainOutput
			if err == nil {
				err = v.Get(&out)
			}
			results <- result{i, out, err}
		}(i)
	}
	for _, p := range pubs {
		select {
		case <-p.first:
		case <-time.After(60 * time.Second):
			t.Fatal("a trial published nothing within 60s")
		}
	}

	probeNC, probeJS, err := events.Connect(srv.URL, "chaos-probe")
	if err != nil {
		t.Fatal(err)
	}
	defer probeNC.Close()
	probe := events.NewPublisher(probeJS, events.Config{Stream: cfg.Stream, Prefix: cfg.Prefix + "x"}, events.WithLogger(testLog(t)))
	rng := rand.New(rand.NewPCG(7, 7))
	for cycle := 1; cycle <= 6; cycle++ {
		if cycle%2 == 1 {
			srv.Freeze()
			time.Sleep(300 * time.Millisecond)
		}
		srv.Kill()
		if cycle == 1 {
			// The server is down: a publish must end with its own deadline.
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			done := make(chan error, 1)
			go func() { done <- probe.PublishMetrics(pctx, events.EpochMetrics{Study: "probe", Epoch: 1, Attempt: 1}) }()
			select {
			case err := <-done:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("publish while the server is down: %v, want its deadline exceeded", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a publish with a 1s deadline was still blocked 10s later while the server was down")
			}
			pcancel()
		}
		time.Sleep(2 * time.Second)
		srv.Restart()
		up := time.Second + time.Duration(rng.IntN(2000))*time.Millisecond
		time.Sleep(up)
		if len(results) > 0 {
			t.Fatalf("a trial ended before restart %d: the test no longer publishes across every restart", cycle)
		}
		t.Logf("restart %d done (up %s); epochs published: %d and %d", cycle, up, pubs[0].ok.Load(), pubs[1].ok.Load())
	}
	chaosDone.Store(true)
	chaosEnd := time.Now()
	atEnd := []int{int(pubs[0].ok.Load()), int(pubs[1].ok.Load())}

	trained := make([]int, trials)
	for i := 0; i < trials; i++ {
		select {
		case r := <-results:
			if r.err != nil || !r.out.Pruned {
				t.Fatalf("trial %d: %+v, %v; want it stopped by the scheduler", r.trial, r.out, r.err)
			}
			if r.out.EpochsDone < atEnd[r.trial] {
				t.Fatalf("trial %d trained %d epochs, fewer than the %d it had published", r.trial, r.out.EpochsDone, atEnd[r.trial])
			}
			trained[r.trial] = r.out.EpochsDone
		case <-time.After(time.Minute):
			t.Fatal("a trial had not finished a minute after the last restart: a publish hangs")
		}
	}

	t.Logf("the trials finished %s after the last restart", time.Since(chaosEnd).Round(time.Millisecond))
	nc, js, err := events.Connect(srv.URL, "chaos-count")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ids, err := natstest.MsgIDs(ctx, js, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	perEpoch := map[string]int{}
	total := 0
	for id, n := range ids {
		p, ok := events.ParseMetricsMsgID(id)
		if !ok || p.Study != study {
			t.Fatalf("unexpected message id %q", id)
		}
		perEpoch[fmt.Sprintf("%d/%d", p.Trial, p.Epoch)] += n
		total += n
	}
	lost, dup := 0, total-len(perEpoch)
	want := 0
	for i := 0; i < trials; i++ {
		want += trained[i]
		for e := 1; e <= trained[i]; e++ {
			if perEpoch[fmt.Sprintf("%d/%d", i, e)] == 0 {
				lost++
			}
		}
	}
	t.Logf("stream after 6 restarts: %d messages for %d trained epochs (%v), %d lost, %d duplicated", total, want, trained, lost, dup)
	if lost != 0 || dup != 0 || len(perEpoch) != want {
		t.Fatalf("%d epochs lost, %d duplicated, %d distinct; want every one of %d exactly once", lost, dup, len(perEpoch), want)
	}
}

// testLog logs warnings and above into the test's output.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func quietTemporalLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
