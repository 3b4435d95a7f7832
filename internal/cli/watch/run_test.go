package watch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/relutune/relutune/internal/cli/cmdutil"
	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/workflows"
)

type message struct {
	subject string
	data    []byte
}

// fakeEvents delivers msgs, then blocks until stopped (or, with end set,
// fails as a closed stream does). The workflow reads closed once every
// message has been taken.
type fakeEvents struct {
	msgs      []message
	end       bool
	followErr error

	mu      sync.Mutex
	study   string
	taken   atomic.Int32
	stopped chan struct{}
	once    sync.Once
}

func (f *fakeEvents) Follow(_ context.Context, study string) (Subscription, error) {
	f.mu.Lock()
	f.study = study
	f.mu.Unlock()
	if f.followErr != nil {
		return nil, f.followErr
	}
	f.stopped = make(chan struct{})
	return f, nil
}

func (f *fakeEvents) Next() (string, []byte, error) {
	if i := int(f.taken.Load()); i < len(f.msgs) {
		f.taken.Add(1)
		return f.msgs[i].subject, f.msgs[i].data, nil
	}
	if f.end {
		return "", nil, errors.New("nats: connection closed")
	}
	<-f.stopped
	return "", nil, errors.New("stopped")
}

func (f *fakeEvents) Stop() { f.once.Do(func() { close(f.stopped) }) }

// fakeTemporal reports the workflow of "s1", closed once ev's messages
// are all taken (never when ev is nil).
type fakeTemporal struct {
	ev *fakeEvents
}

func (f *fakeTemporal) DescribeWorkflow(_ context.Context, id, _ string) (*client.WorkflowExecutionDescription, error) {
	if id != workflows.StudyWorkflowID("s1") {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	d := &client.WorkflowExecutionDescription{}
	d.Status = enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if f.ev != nil && int(f.ev.taken.Load()) == len(f.ev.msgs) {
		t := time.Now()
		d.WorkflowCloseTime = &t
		d.Status = enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	}
	return d, nil
}

func studyMessages(t *testing.T) []message {
	return []message{
		{"tune.study.s1.trial.1.metrics", msg(t, events.EpochMetrics{Trial: 1, Epoch: 1, MaxEpochs: 2, Activation: "relu", EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.5), ValLoss: events.Finite(0.7)}})},
		{"tune.study.s1.trial.2.metrics", msg(t, events.EpochMetrics{Trial: 2, Epoch: 1, MaxEpochs: 2, Activation: "elu", EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.25)}})},
		{"tune.study.s1.trial.1.metrics", msg(t, events.EpochMetrics{Trial: 1, Epoch: 2, MaxEpochs: 2, Activation: "relu", EpochValues: events.EpochValues{ValAccuracy: events.Finite(0.75)}})},
		{"tune.study.s1.trial.1.status", msg(t, events.TrialStatus{Trial: 1, Status: "complete", EpochsDone: 2, Objective: events.Finite(0.75)})},
		{"tune.study.s1.trial.2.status", msg(t, events.TrialStatus{Trial: 2, Status: "failed", EpochsDone: 1, Error: "worker lost"})},
	}
}

func runWith(t *testing.T, ctx context.Context, ev *fakeEvents, tc WorkflowDescriber, study string, terminal bool) (string, error) {
	t.Helper()
	var out bytes.Buffer
	opts := &Options{
		IO:       &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}, IsTerminal: terminal},
		Events:   func(context.Context) (EventStream, error) { return ev, nil },
		Temporal: func(context.Context) (WorkflowDescriber, error) { return tc, nil },
		Study:    study,
		Poll:     time.Millisecond,
		Linger:   20 * time.Millisecond,
	}
	err := runWatch(ctx, opts)
	return out.String(), err
}

func TestRunWatchLines(t *testing.T) {
	ev := &fakeEvents{msgs: studyMessages(t)}
	out, err := runWith(t, context.Background(), ev, &fakeTemporal{ev: ev}, "s1", false)
	if err != nil {
		t.Fatal(err)
	}
	if ev.study != "s1" {
		t.Fatalf("followed %q", ev.study)
	}
	want := "trial 1   relu       epoch 1/2  val_acc 0.5000  val_loss 0.7000\n" +
		"trial 2   elu        epoch 1/2  val_acc 0.2500  val_loss -\n" +
		"trial 1   relu       epoch 2/2  val_acc 0.7500  val_loss -\n" +
		"trial 1   relu       complete after 2 epochs, objective 0.7500\n" +
		"trial 2   elu        failed after 1 epochs, objective -: worker lost\n" +
		"study s1 finished: completed\n"
	if out != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

func TestRunWatchTerminalRedraws(t *testing.T) {
	ev := &fakeEvents{msgs: studyMessages(t)}
	out, err := runWith(t, context.Background(), ev, &fakeTemporal{ev: ev}, "s1", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"0 trial(s) finished, 2 running\n",
		"trial 1    relu       [###############...............] 1/2  val_acc 0.5000\n",
		"\x1b[3A\x1b[J",
		"trial 1   relu       complete after 2 epochs, objective 0.7500\n",
		"2 trial(s) finished, 0 running\n",
		"study s1 finished: completed\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
	// Epoch lines only redraw the bars; they are not printed as lines.
	if strings.Contains(out, "epoch 1/2") {
		t.Errorf("an epoch line was printed on a terminal:\n%q", out)
	}
}

func TestRunWatchEnds(t *testing.T) {
	// The stream closing under a running study is an error.
	ev := &fakeEvents{msgs: studyMessages(t)[:1], end: true}
	out, err := runWith(t, context.Background(), ev, &fakeTemporal{}, "s1", false)
	if err == nil || err.Error() != "watch: the metric stream closed" || !strings.HasPrefix(out, "trial 1 ") {
		t.Fatalf("closed stream: %v, printed %q", err, out)
	}
	// Ctrl-C ends it without error.
	ctx, cancel := context.WithCancel(context.Background())
	ev = &fakeEvents{msgs: studyMessages(t)[:2]}
	errc := make(chan error, 1)
	go func() {
		_, err := runWith(t, ctx, ev, &fakeTemporal{}, "s1", false)
		errc <- err
	}()
	for ev.taken.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("canceled: %v", err)
	}
}

func TestRunWatchErrors(t *testing.T) {
	ctx := context.Background()
	_, err := runWith(t, ctx, &fakeEvents{}, &fakeTemporal{}, "nope", false)
	var nf *serviceerror.NotFound
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "study nope: no workflow study-nope") {
		t.Fatalf("unknown study: %v", err)
	}
	refused := errors.New("nats: stream not found")
	_, err = runWith(t, ctx, &fakeEvents{followErr: refused}, &fakeTemporal{}, "s1", false)
	if !errors.Is(err, refused) || err.Error() != "watch s1: nats: stream not found" {
		t.Fatalf("follow error: %v", err)
	}
	down := errors.New("dial: refused")
	opts := &Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}}, Study: "s1",
		Temporal: func(context.Context) (WorkflowDescriber, error) { return &fakeTemporal{}, nil },
		Events:   func(context.Context) (EventStream, error) { return nil, down }}
	if err := runWatch(ctx, opts); !errors.Is(err, down) {
		t.Fatalf("events connect error: %v", err)
	}
}
