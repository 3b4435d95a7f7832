package worker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// memPublisher keeps published metrics; failAt > 0 fails that epoch.
type memPublisher struct {
	mu     sync.Mutex
	msgs   []events.EpochMetrics
	failAt int
}

func (p *memPublisher) PublishMetrics(_ context.Context, m events.EpochMetrics) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failAt > 0 && m.Epoch == p.failAt {
		return errors.New("nats: no servers available for connection")
	}
	p.msgs = append(p.msgs, m)
	return nil
}

func (p *memPublisher) of(attempt int) []events.EpochMetrics {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []events.EpochMetrics
	for _, m := range p.msgs {
		if m.Attempt == attempt {
			out = append(out, m)
		}
	}
	return out
}

func trainInput(attempt int) workflows.TrainInput {
	return workflows.TrainInput{
		Study: "ckpt", StudyID: 1, TrialID: 7, Number: 3, Metric: "val_accuracy",
		Schedule: search.SchedulerSpec{Kind: "none", MaxEpochs: 3},
		Config:   trainer.Config{Dataset: "spirals", Hidden: []int{8}, Epochs: 3, Seed: 1, Activation: trainer.ReLU},
		Attempt:  attempt,
	}
}

func checkpoints(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "ckpt", "3", "epoch-*.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCheckpointOutlivesSuccessUntilRemoved(t *testing.T) {
	dir := t.TempDir()
	pub := &memPublisher{}
	a := &Activities{Publisher: pub, CheckpointDir: dir, Worker: "w1"}
	out, err := runTrain(t, a, trainInput(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.EpochsDone != 3 || out.Attempt != 1 || out.HostQueue == "" || !strings.HasSuffix(out.HostQueue, "-host-w1") {
		t.Fatalf("output %+v; want 3 epochs, attempt 1, the host queue of w1", out)
	}
	got := checkpoints(t, dir)
	if len(got) != 1 || filepath.Base(got[0]) != "epoch-0003.ckpt" {
		t.Fatalf("checkpoints after success %q; want the final one kept until the outcome is recorded", got)
	}

	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	RegisterActivities(env, a)
	if _, err := env.ExecuteActivity(a.RemoveCheckpoints, workflows.RemoveCheckpointsInput{Study: "ckpt", Number: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ckpt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("checkpoint directory still there after RemoveCheckpoints (stat: %v)", err)
	}
	// Removing again (a retried removal) is fine.
	if _, err := env.ExecuteActivity(a.RemoveCheckpoints, workflows.RemoveCheckpointsInput{Study: "ckpt", Number: 3}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []workflows.RemoveCheckpointsInput{{Study: "../etc", Number: 1}, {Study: "ok", Number: -1}} {
		_, err := env.ExecuteActivity(a.RemoveCheckpoints, bad)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() {
			t.Fatalf("RemoveCheckpoints(%+v) = %v; want a non-retryable error", bad, err)
		}
	}
}

func TestRetryAfterLostCompletionTrainsNoEpoch(t *testing.T) {
	dir := t.TempDir()
	pub := &memPublisher{}
	a := &Activities{Publisher: pub, CheckpointDir: dir, Worker: "w1"}
	first, err := runTrain(t, a, trainInput(1), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The completion of attempt 1 was lost (Temporal restarted, say): the
	// workflow runs attempt 2, which finds the final checkpoint.
	second, err := runTrain(t, a, trainInput(2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pub.of(2)); n != 0 {
		t.Fatalf("attempt 2 published %d epochs; want none (it resumes after the last epoch)", n)
	}
	if len(pub.of(1)) != 3 {
		t.Fatalf("attempt 1 published %d epochs, want 3", len(pub.of(1)))
	}
	if second.EpochsDone != 3 || second.Attempt != 2 || first.Objective == nil || second.Objective == nil || *second.Objective != *first.Objective {
		t.Fatalf("attempt 2 %+v (objective %v), attempt 1 objective %v; want the same result after 3 epochs", second, second.Objective, first.Objective)
	}
}

func TestTrainTrialClassifiesInfrastructureFailures(t *testing.T) {
	t.Run("dataset", func(t *testing.T) {
		a := &Activities{Publisher: &memPublisher{}, Worker: "w1",
			Datasets: func(string, uint64) (*trainer.Dataset, error) { return nil, os.ErrNotExist }}
		_, err := runTrain(t, a, trainInput(1), nil)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInfrastructure {
			t.Fatalf("got %v; want an %s error", err, workflows.ErrTypeInfrastructure)
		}
	})
	t.Run("publish", func(t *testing.T) {
		dir := t.TempDir()
		pub := &memPublisher{failAt: 2}
		a := &Activities{Publisher: pub, CheckpointDir: dir, Worker: "w1"}
		_, err := runTrain(t, a, trainInput(5), nil)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInfrastructure {
			t.Fatalf("got %v; want an %s error", err, workflows.ErrTypeInfrastructure)
		}
		var d workflows.InfraDetails
		if err := appErr.Details(&d); err != nil {
			t.Fatal(err)
		}
		if d.Progress.Epoch != 1 || filepath.Base(d.Progress.Checkpoint) != "epoch-0001.ckpt" || d.Worker != "w1" || d.HostQueue == "" {
			t.Fatalf("details %+v; want epoch 1's checkpoint on w1", d)
		}
		if got := pub.of(5); len(got) != 1 {
			t.Fatalf("%d epochs published as attempt 5, want 1 (the workflow's attempt number)", len(got))
		}
		// The next try, with the hint, resumes after epoch 1.
		pub.failAt = 0
		in := trainInput(6)
		in.Resume = &d.Progress
		if _, err := runTrain(t, a, in, nil); err != nil {
			t.Fatal(err)
		}
		if got := pub.of(6); len(got) != 2 || got[0].Epoch != 2 {
			t.Fatalf("attempt 6 published %d epochs; want epochs 2 and 3", len(got))
		}
	})
	t.Run("trial", func(t *testing.T) {
		a := &Activities{Publisher: &memPublisher{}, Worker: "w1",
			Datasets: func(name string, seed uint64) (*trainer.Dataset, error) {
				ds, err := trainer.LoadDataset(name, seed)
				if err == nil {
					ds.Name = "other" // data the configuration does not fit: the trial's fault
				}
				return ds, err
			}}
		_, err := runTrain(t, a, trainInput(1), nil)
		var appErr *temporal.ApplicationError
		if err == nil || (errors.As(err, &appErr) && appErr.Type() == workflows.ErrTypeInfrastructure) {
			t.Fatalf("got %v; want a failure that is not %s", err, workflows.ErrTypeInfrastructure)
		}
	})
}

func TestResumeHintMustNameThisTrialsDirectory(t *testing.T) {
	a := &Activities{CheckpointDir: "/ckpt"}
	in := trainInput(2)
	for _, tc := range []struct {
		hint string
		want int
	}{
		{"/ckpt/ckpt/3/epoch-0002.ckpt", 2},
		{"/ckpt/ckpt/4/epoch-0002.ckpt", 0},
		{"/etc/passwd", 0},
		{"/ckpt/ckpt/3/../../other/3/epoch-0002.ckpt", 0},
	} {
		in.Resume = &workflows.TrainProgress{Epoch: 2, Checkpoint: tc.hint}
		if got := a.resumeHint(in); got.Epoch != tc.want {
			t.Errorf("hint %q gave %+v, want epoch %d", tc.hint, got, tc.want)
		}
	}
}
