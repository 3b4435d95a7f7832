package worker

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/workflows"
)

// epochValues is the val_accuracy the publisher saw per epoch, for attempt.
func epochValues(pub *memPublisher, attempt int) []float64 {
	var out []float64
	for _, m := range pub.of(attempt) {
		out = append(out, *m.ValAccuracy)
	}
	return out
}

// TestUntilEpochSuspendsAndInitFromContinues: a trial trained until epoch
// 1, suspended, and continued from its saved checkpoint reports the
// epochs and objective of the trial trained in one go.
func TestUntilEpochSuspendsAndInitFromContinues(t *testing.T) {
	whole := &memPublisher{}
	want, err := runTrain(t, &Activities{Publisher: whole, CheckpointDir: t.TempDir(), Worker: "w1"}, trainInput(1), nil)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	pub := &memPublisher{}
	a := &Activities{Publisher: pub, CheckpointDir: dir, Worker: "w1"}
	in := trainInput(1)
	in.UntilEpoch = 1
	first, err := runTrain(t, a, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Suspended || first.EpochsDone != 1 || first.Saved == nil || first.Saved.Epoch != 1 || first.Saved.Trial != 3 ||
		filepath.Base(first.Saved.Ref) != "epoch-0001.ckpt" || first.Objective == nil {
		t.Fatalf("first segment %+v (saved %+v); want suspended after epoch 1 with its checkpoint", first, first.Saved)
	}
	in = trainInput(2)
	in.InitFrom = first.Saved
	rest, err := runTrain(t, a, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rest.Suspended || rest.EpochsDone != 3 || rest.Saved != nil || *rest.Objective != *want.Objective {
		t.Fatalf("continued %+v; want 3 epochs, objective %v", rest, *want.Objective)
	}
	got := append(epochValues(pub, 1), epochValues(pub, 2)...)
	if !reflect.DeepEqual(got, epochValues(whole, 1)) {
		t.Fatalf("epochs in two segments %v, in one %v", got, epochValues(whole, 1))
	}
}

// TestInitFromAnotherTrial starts trial 4 from trial 3's checkpoint of
// epoch 2: it trains only epoch 3, and trial 3's checkpoint stays. A
// reference outside trial 3's directory is refused without retry.
func TestInitFromAnotherTrial(t *testing.T) {
	dir := t.TempDir()
	pub := &memPublisher{}
	a := &Activities{Publisher: pub, CheckpointDir: dir, Worker: "w1"}
	in := trainInput(1)
	in.UntilEpoch = 2
	src, err := runTrain(t, a, in, nil)
	if err != nil || src.Saved == nil {
		t.Fatalf("source: %+v, %v", src, err)
	}
	other := trainInput(1)
	other.Number, other.TrialID = 4, 8
	other.InitFrom = src.Saved
	out, err := runTrain(t, a, other, nil)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []int
	for _, m := range pub.msgs {
		if m.Trial == 4 {
			epochs = append(epochs, m.Epoch)
		}
	}
	if out.EpochsDone != 3 || !reflect.DeepEqual(epochs, []int{3}) {
		t.Fatalf("trial 4: %+v, epochs %v; want only epoch 3", out, epochs)
	}
	if got := checkpoints(t, dir); len(got) != 1 || got[0] != src.Saved.Ref {
		t.Fatalf("trial 3's checkpoints %v; want %s kept", got, src.Saved.Ref)
	}

	bad := other
	bad.Number, bad.TrialID = 5, 9
	bad.InitFrom = &workflows.CheckpointRef{Trial: 3, Epoch: 2, Ref: filepath.Join(dir, "ckpt", "4", "epoch-0003.ckpt")}
	_, err = runTrain(t, a, bad, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidConfig {
		t.Fatalf("init_from outside trial 3's directory: %v; want an %s error", err, workflows.ErrTypeInvalidConfig)
	}
}

// TestUntilEpochWithoutCheckpoints suspends with nothing saved.
func TestUntilEpochWithoutCheckpoints(t *testing.T) {
	in := trainInput(1)
	in.UntilEpoch = 2
	out, err := runTrain(t, &Activities{Publisher: &memPublisher{}, Worker: "w1"}, in, nil)
	if err != nil || !out.Suspended || out.EpochsDone != 2 || out.Saved != nil {
		t.Fatalf("%+v, %v; want suspended after 2 epochs, nothing saved", out, err)
	}
}

// TestObjectStoreSuspendAndInitFrom: with the object store, a segment
// saved on worker w1 continues on w2 (its own trial), and another trial
// starts from it; a reference to another trial's objects is refused.
func TestObjectStoreSuspendAndInitFrom(t *testing.T) {
	st := newMemStore()
	in := smallTrial("s", 3)
	in.Attempt, in.UntilEpoch = 1, 1
	first, err := runTrain(t, &Activities{Publisher: &recPublisher{}, Checkpoints: st, Worker: "w1"}, in, nil)
	if err != nil || !first.Suspended || first.Saved == nil || first.Saved.Epoch != 1 {
		t.Fatalf("first segment %+v, %v; want suspended after epoch 1 with its checkpoint", first, err)
	}
	pub := &recPublisher{}
	in.Attempt, in.UntilEpoch, in.InitFrom = 2, 0, first.Saved
	rest, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w2"}, in, nil)
	if got := pub.published(); err != nil || rest.EpochsDone != 3 || len(got) != 2 || got[0] != 2 {
		t.Fatalf("continued on w2: %+v, %v, published %v; want epochs 2..3", rest, err, got)
	}

	other := smallTrial("s", 3)
	other.Number, other.TrialID, other.Attempt = 1, 2, 1
	other.InitFrom = first.Saved
	pub = &recPublisher{}
	// The first trial's epoch-1 object was replaced when it went on.
	if _, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w3"}, other, nil); err == nil {
		t.Fatal("started from a checkpoint that is gone")
	}
	keys, _ := st.Checkpoints(context.Background(), "s", 0)
	other.InitFrom = &workflows.CheckpointRef{Trial: 0, Epoch: keys[0].Epoch, Ref: ckptstore.Ref(st.Bucket(), keys[0])}
	out, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w3"}, other, nil)
	if err != nil || out.EpochsDone != 3 || len(pub.published()) != 0 {
		t.Fatalf("trial 1 from trial 0's final checkpoint: %+v, %v, published %v; want nothing left to train", out, err, pub.published())
	}
	other.InitFrom.Trial = 2 // the reference names trial 0's object
	other.Number, other.TrialID = 3, 4
	var appErr *temporal.ApplicationError
	if _, err := runTrain(t, &Activities{Publisher: pub, Checkpoints: st, Worker: "w3"}, other, nil); !errors.As(err, &appErr) || appErr.Type() != workflows.ErrTypeInvalidConfig {
		t.Fatalf("a reference to another trial's object: %v; want %s", err, workflows.ErrTypeInvalidConfig)
	}
}
