package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/ckptstore"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// CopyCheckpoint is population-based training's exploit step on the
// worker: it copies the source trial's checkpoint in.From to the target
// trial, rewritten for the target's new configuration
// (trainer.RebaseCheckpoint), after removing the target's own
// checkpoints, and returns the copy's reference, which the target's next
// TrainTrial starts from (InitFrom). The source keeps its checkpoint. With
// the object store the copy is an object every worker reads; with a
// checkpoint directory it is a file on this worker, which must be the one
// holding the source's (the workflow sends the activity to its host
// queue). A reference that is not the source trial's is refused.
func (a *Activities) CopyCheckpoint(ctx context.Context, in workflows.CopyCheckpointInput) (workflows.CopyCheckpointOutput, error) {
	invalid := func(err error) (workflows.CopyCheckpointOutput, error) {
		err = fmt.Errorf("copy checkpoint: %w", err)
		return workflows.CopyCheckpointOutput{}, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if err := checkTrainInput(workflows.TrainInput{Study: in.Study, Number: in.Source}); err != nil {
		return invalid(err)
	}
	if err := checkTrainInput(workflows.TrainInput{Study: in.Study, Number: in.Target.Number}); err != nil {
		return invalid(err)
	}
	if in.From.Trial != in.Source {
		return invalid(fmt.Errorf("%w: from: a checkpoint of trial %d, not of the source %d", errInvalidTrainInput, in.From.Trial, in.Source))
	}
	if in.Source == in.Target.Number {
		return invalid(fmt.Errorf("%w: source and target are both trial %d", errInvalidTrainInput, in.Source))
	}
	cfg := in.Target.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return invalid(err)
	}
	out := workflows.CopyCheckpointOutput{}
	if activity.IsActivity(ctx) {
		out.HostQueue = hostQueueOf(activity.GetInfo(ctx).TaskQueue, a.Worker)
	}
	if a.Checkpoints != nil {
		return a.copyObject(ctx, in, cfg, out, invalid)
	}
	if a.CheckpointDir == "" {
		return invalid(fmt.Errorf("%w: worker %s keeps no checkpoints", errInvalidTrainInput, a.Worker))
	}
	srcDir, err := trialCheckpointDir(a.CheckpointDir, in.Study, in.Source)
	if err != nil {
		return invalid(err)
	}
	from, ok := hintedCheckpoint(in.From.Ref, srcDir)
	if !ok || from == "" {
		return invalid(fmt.Errorf("%w: %q is not a checkpoint of trial %d on worker %s", errInvalidTrainInput, in.From.Ref, in.Source, a.Worker))
	}
	var epoch int
	fmt.Sscanf(filepath.Base(from), "epoch-%d.ckpt", &epoch)
	src, err := os.ReadFile(from)
	if err != nil {
		// Not on this worker (it lost its disk): the target cannot
		// continue from the source's weights.
		return invalid(fmt.Errorf("read %s: %w", from, err))
	}
	var buf bytes.Buffer
	if err := trainer.RebaseCheckpoint(bytes.NewReader(src), &buf, cfg); err != nil {
		return invalid(err)
	}
	k, err := newCheckpointKeeper(a.CheckpointDir, in.Study, in.Target.Number)
	if err != nil {
		return invalid(err)
	}
	if err := k.create(); err != nil {
		return out, err
	}
	old, _ := filepath.Glob(filepath.Join(k.dir, "epoch-*.ckpt"))
	for _, f := range old {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return out, fmt.Errorf("remove the target's checkpoint: %w", err)
		}
	}
	path, err := k.write(epoch, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err })
	if err != nil {
		return out, err
	}
	out.Ref = path
	return out, nil
}

// copyObject is CopyCheckpoint with the object store.
func (a *Activities) copyObject(ctx context.Context, in workflows.CopyCheckpointInput, cfg trainer.Config, out workflows.CopyCheckpointOutput,
	invalid func(error) (workflows.CopyCheckpointOutput, error)) (workflows.CopyCheckpointOutput, error) {
	bucket, key, ok := ckptstore.ParseRef(in.From.Ref)
	if !ok || bucket != a.Checkpoints.Bucket() || key.Study != in.Study || key.Trial != in.Source {
		return invalid(fmt.Errorf("%w: %q is not a checkpoint of trial %d in bucket %s", errInvalidTrainInput, in.From.Ref, in.Source, a.Checkpoints.Bucket()))
	}
	src, err := a.Checkpoints.Get(ctx, key)
	if errors.Is(err, ckptstore.ErrNotFound) || errors.Is(err, ckptstore.ErrCorrupt) {
		return invalid(err)
	}
	if err != nil {
		return out, err
	}
	var buf bytes.Buffer
	if err := trainer.RebaseCheckpoint(bytes.NewReader(src), &buf, cfg); err != nil {
		return invalid(err)
	}
	if _, err := a.Checkpoints.DeleteTrial(ctx, in.Study, in.Target.Number); err != nil {
		return out, err
	}
	// The target's next try's checkpoints are of later epochs and
	// replace this one.
	dst := ckptstore.Key{Study: in.Study, Trial: in.Target.Number, Attempt: 1, Epoch: key.Epoch}
	ref, err := a.Checkpoints.Put(ctx, dst, buf.Bytes())
	if err != nil {
		return out, err
	}
	out.Ref, out.Shared = ref, true
	return out, nil
}
