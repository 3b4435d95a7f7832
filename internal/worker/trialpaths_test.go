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
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// recPublisher records published epochs; failAt > 0 fails that epoch.
type recPublisher struct {
	mu     sync.Mutex
	epochs []int
	failAt int
}

func (p *recPublisher) PublishMetrics(ctx context.Context, m events.EpochMetrics) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failAt > 0 && m.Epoch == p.failAt {
		return errors.New("publish: test failure")
	}
	p.epochs = append(p.epochs, m.Epoch)
	return nil
}

func (p *recPublisher) published() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.epochs...)
}

func smallTrial(study string, epochs int) workflows.TrainInput {
	return workflows.TrainInput{
		Study: study, StudyID: 1, TrialID: 1, Number: 0, Metric: "val_accuracy",
		Config: trainer.Config{Dataset: "spirals", Activation: trainer.ReLU, Hidden: []int{4}, Epochs: epochs, Seed: 3},
	}
}

func runTrain(t *testing.T, a *Activities, in workflows.TrainInput, hint *workflows.TrainProgress) (workflows.TrainOutput, error) {
	t.Helper()
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestActivityEnvironment()
	RegisterActivities(env, a)
	if hint != nil {
		env.SetHeartbeatDetails(*hint)
	}
	v, err := env.ExecuteActivity(a.TrainTrial, in)
	var out workflows.TrainOutput
	if err == nil {
		if gerr := v.Get(&out); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return out, err
}

// TestTrainTrialRejectsStudyNamesThatLeaveTheCheckpointRoot: a study name
// is a directory under the checkpoint root; one that climbs out of it
// must fail without retry and without creating or removing anything.
func TestTrainTrialRejectsStudyNamesThatLeaveTheCheckpointRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "a", "b", "ckpt")
	// What a trial of study "../../victim" would have trained in and then
	// removed: <base>/a/victim/0.
	victim := filepath.Join(base, "a", "victim", "0")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(victim, "keep.txt")
	if err := os.WriteFile(keep, []byte("not the trainer's"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, study := range []string{"../../victim", "../victim", "/tmp/abs", filepath.Join(base, "abs"), "a/b", "a.b", "", "UPPER", "-lead"} {
		t.Run(study, func(t *testing.T) {
			pub := &recPublisher{}
			a := &Activities{Publisher: pub, CheckpointDir: root, Worker: "w"}
			_, err := runTrain(t, a, smallTrial(study, 2), nil)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidConfig || !appErr.NonRetryable() {
				t.Fatalf("err %v, want a non-retryable %s error", err, workflows.ErrTypeInvalidConfig)
			}
			if len(pub.published()) != 0 {
				t.Fatalf("published epochs %v for a rejected study", pub.published())
			}
		})
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "not the trainer's" {
		t.Fatalf("a file outside the checkpoint root changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(base, "abs")); !os.IsNotExist(err) {
		t.Fatalf("a directory outside the root was created: %v", err)
	}
}

func TestTrialCheckpointDirStaysInsideRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	for _, tc := range []struct {
		study string
		ok    bool
	}{
		{"good-study", true}, {"..", false}, {"../x", false}, {"a/../../b", false}, {"../root/s", false}, {"UPPER", false},
	} {
		_, err := trialCheckpointDir(root, tc.study, 1)
		if (err == nil) != tc.ok {
			t.Errorf("trialCheckpointDir(%q) err %v, want ok %v", tc.study, err, tc.ok)
		}
	}
}

func TestHintedCheckpoint(t *testing.T) {
	dir := filepath.Join("/ck", "s", "0")
	for _, tc := range []struct {
		hint string
		want string
		ok   bool
	}{
		{"", "", true},
		{"/ck/s/0/epoch-0003.ckpt", "/ck/s/0/epoch-0003.ckpt", true},
		{"/ck/s/0/../1/epoch-0003.ckpt", "", false},
		{"/ck/s/0/../../../etc/epoch-0003.ckpt", "", false},
		{"/etc/passwd", "", false},
		{"/ck/s/0/sub/epoch-0003.ckpt", "", false},
		{"/ck/s/0/keep.txt", "", false},
		{"/ck/s/0/epoch-0000.ckpt", "", false},
		{"ck/s/0/epoch-0003.ckpt", "", false},
	} {
		got, ok := hintedCheckpoint(tc.hint, dir)
		if got != tc.want || ok != tc.ok {
			t.Errorf("hintedCheckpoint(%q) = %q, %v; want %q, %v", tc.hint, got, ok, tc.want, tc.ok)
		}
	}
}

// TestTrainTrialNeverOpensAHintedCheckpointOutsideItsDirectory: heartbeat
// details naming a file elsewhere are ignored; a damaged checkpoint there
// would otherwise be opened and then removed.
func TestTrainTrialNeverOpensAHintedCheckpointOutsideItsDirectory(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "elsewhere", "epoch-0009.ckpt")
	if err := os.MkdirAll(filepath.Dir(outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outside, []byte("someone else's file"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same file reached by climbing out of the trial's directory.
	climbing := filepath.Join(root, "s", "0", "..", "..", "..", "elsewhere", "epoch-0009.ckpt")
	for _, hint := range []string{outside, climbing} {
		// A successful trial keeps its checkpoints until RemoveCheckpoints:
		// start each case from an empty trial directory.
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		pub := &recPublisher{}
		a := &Activities{Publisher: pub, CheckpointDir: root, Worker: "w"}
		out, err := runTrain(t, a, smallTrial("s", 3), &workflows.TrainProgress{Epoch: 9, Checkpoint: hint})
		if err != nil {
			t.Fatalf("hint %s: %v", hint, err)
		}
		if got := pub.published(); out.EpochsDone != 3 || len(got) != 3 || got[0] != 1 {
			t.Fatalf("hint %s: trained %d epochs, published %v; want epochs 1..3 from the start", hint, out.EpochsDone, got)
		}
		if b, err := os.ReadFile(outside); err != nil || string(b) != "someone else's file" {
			t.Fatalf("hint %s: the file outside the root changed: %q, %v", hint, b, err)
		}
	}
}

// TestTrainTrialResumesFromAHintedCheckpointInItsDirectory: the check
// keeps resuming working.
func TestTrainTrialResumesFromAHintedCheckpointInItsDirectory(t *testing.T) {
	root := t.TempDir()
	a := &Activities{Publisher: &recPublisher{failAt: 3}, CheckpointDir: root, Worker: "w"}
	if _, err := runTrain(t, a, smallTrial("s", 5), nil); err == nil {
		t.Fatal("the first attempt succeeded; want it to fail at epoch 3")
	}
	ckpt := filepath.Join(root, "s", "0", "epoch-0002.ckpt")
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("no checkpoint after the failed attempt: %v", err)
	}
	pub := &recPublisher{}
	a = &Activities{Publisher: pub, CheckpointDir: root, Worker: "w"}
	out, err := runTrain(t, a, smallTrial("s", 5), &workflows.TrainProgress{Epoch: 2, Checkpoint: ckpt})
	if err != nil {
		t.Fatal(err)
	}
	if got := pub.published(); out.EpochsDone != 5 || len(got) != 3 || got[0] != 3 {
		t.Fatalf("resumed attempt published %v (done %d); want epochs 3..5", got, out.EpochsDone)
	}
}

// TestTrainTrialRefusesATrialOverItsMemoryBudget: the worker's own limit
// refuses a configuration before allocating it, without retry.
func TestTrainTrialRefusesATrialOverItsMemoryBudget(t *testing.T) {
	pub := &recPublisher{}
	a := &Activities{Publisher: pub, CheckpointDir: t.TempDir(), Worker: "w", MaxTrialMemory: 1 << 10}
	_, err := runTrain(t, a, smallTrial("s", 2), nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidConfig || !appErr.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable %s error", err, workflows.ErrTypeInvalidConfig)
	}
	if got := pub.published(); len(got) != 0 {
		t.Fatalf("published epochs %v of a refused trial", got)
	}
}

// TestUnknownMetricFailsWithoutRetry: a metric outside the closed set is
// refused before training, not silently read as val_accuracy.
func TestUnknownMetricFailsWithoutRetry(t *testing.T) {
	pub := &recPublisher{}
	in := smallTrial("s", 2)
	in.Metric = "val_acuracy"
	_, err := runTrain(t, &Activities{Publisher: pub, Worker: "w"}, in, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidConfig || !appErr.NonRetryable() {
		t.Fatalf("err %v, want a non-retryable %s error", err, workflows.ErrTypeInvalidConfig)
	}
	if !strings.Contains(err.Error(), `"val_acuracy" is not a metric`) {
		t.Fatalf("error %q does not name the metric", err)
	}
	if got := pub.published(); len(got) != 0 {
		t.Fatalf("published epochs %v for a refused trial", got)
	}
}
