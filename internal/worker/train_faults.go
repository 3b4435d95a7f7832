package worker

import (
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

// The failure taxonomy of a TrainTrial try, as TrialWorkflow sees it:
//
//   - infrastructure: the worker died or went silent (heartbeat or
//     start-to-close timeout), is shutting down, or its environment failed:
//     dataset files it cannot load, the metric stream or the study's report
//     update unreachable, a checkpoint it cannot write. Another try, maybe
//     on another worker, can succeed. These are retried up to
//     TrainMaxInfraRetries times without spending the trial's attempts.
//   - the trial's own failure: any other error (a panic in training, say).
//     TrainMaxAttempts of them fail the trial.
//   - final: divergence (status diverged) and an invalid configuration
//     (status failed) are never retried.

// infraCause marks an error from the worker's environment.
type infraCause struct{ err error }

func (e infraCause) Error() string { return e.err.Error() }
func (e infraCause) Unwrap() error { return e.err }

// isInfraFailure reports whether err came from the worker's environment.
func isInfraFailure(err error) bool {
	var c infraCause
	return errors.As(err, &c)
}

// markInfraErrors wraps the trainer hooks so that the errors they return
// (publishing metrics, asking the study at a rung, writing a checkpoint)
// are classified as infrastructure failures. Pruning and cancellation pass
// through unchanged.
func markInfraErrors(opts trainer.Options) trainer.Options {
	if report := opts.Report; report != nil {
		opts.Report = func(ctx context.Context, m trainer.EpochMetrics) error {
			err := report(ctx, m)
			if err == nil || errors.Is(err, errPruned) || ctx.Err() != nil {
				return err
			}
			return infraCause{err}
		}
	}
	if checkpoint := opts.Checkpoint; checkpoint != nil {
		opts.Checkpoint = func(epoch int, write func(io.Writer) error) error {
			if err := checkpoint(epoch, write); err != nil {
				return infraCause{err}
			}
			return nil
		}
	}
	return opts
}

// infraError is the Infrastructure application error TrainTrial returns
// for err, with how far the try got and where its checkpoints are.
func (a *Activities) infraError(ctx context.Context, p workflows.TrainProgress, err error) error {
	d := workflows.InfraDetails{Progress: p, Worker: a.Worker}
	if activity.IsActivity(ctx) {
		d.HostQueue = hostQueueOf(activity.GetInfo(ctx).TaskQueue, a.Worker)
	}
	return temporal.NewApplicationErrorWithCause(err.Error(), workflows.ErrTypeInfrastructure, err, d)
}

// workerStopping reports whether this worker is shutting down.
func workerStopping(ctx context.Context) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return true
	default:
		return false
	}
}

// trainAttempt is the try's number: the one TrialWorkflow counts (it runs
// each try as its own activity), or the server's for a workflow that lets
// the server retry.
func trainAttempt(in workflows.TrainInput, info activity.Info) int {
	if in.Attempt > 0 {
		return in.Attempt
	}
	return int(info.Attempt)
}

// resumeHint is the progress an earlier try reported, when it names a
// checkpoint of this trial in this worker's checkpoint directory.
func (a *Activities) resumeHint(in workflows.TrainInput) workflows.TrainProgress {
	if a.Checkpoints != nil {
		// Any host reads the bucket; the keeper checks the reference.
		if in.Resume == nil || !ckptstore.IsRef(in.Resume.Checkpoint) {
			return workflows.TrainProgress{}
		}
		return *in.Resume
	}
	if in.Resume == nil || a.CheckpointDir == "" || in.Resume.Checkpoint == "" {
		return workflows.TrainProgress{}
	}
	dir, err := trialCheckpointDir(a.CheckpointDir, in.Study, in.Number)
	if err != nil || filepath.Dir(filepath.Clean(in.Resume.Checkpoint)) != dir {
		return workflows.TrainProgress{}
	}
	return *in.Resume
}

// RemoveCheckpoints deletes a trial's checkpoints from this worker's disk.
// TrialWorkflow runs it on the worker's own task queue (HostQueue) once the
// trial's outcome is recorded, so a retry after a lost completion can still
// resume from the last checkpoint until then. Removing what is not there
// is not an error.
func (a *Activities) RemoveCheckpoints(ctx context.Context, in workflows.RemoveCheckpointsInput) error {
	if a.Checkpoints != nil {
		if err := checkTrainInput(workflows.TrainInput{Study: in.Study, Number: in.Number}); err != nil {
			return temporal.NewNonRetryableApplicationError("remove checkpoints: "+err.Error(), workflows.ErrTypeInvalidConfig, err)
		}
		// Every attempt's objects, whichever host wrote them.
		n, err := a.Checkpoints.DeleteTrial(ctx, in.Study, in.Number)
		if err != nil {
			return fmt.Errorf("remove checkpoints of %s trial %d: %w", in.Study, in.Number, err)
		}
		a.logger().Debug("removed checkpoints", "study", in.Study, "trial", in.Number, "objects", n)
		return nil
	}
	if a.CheckpointDir == "" {
		return nil
	}
	dir, err := trialCheckpointDir(a.CheckpointDir, in.Study, in.Number)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("remove checkpoints: "+err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove checkpoints of %s trial %d: %w", in.Study, in.Number, err)
	}
	// The study's directory goes with its last trial; one still in use
	// is not empty and stays.
	_ = os.Remove(filepath.Dir(dir))
	a.logger().Debug("removed checkpoints", "study", in.Study, "trial", in.Number, "dir", dir)
	return nil
}
