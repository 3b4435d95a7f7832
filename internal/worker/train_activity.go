package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/relutune/relutune/internal/events"
	"github.com/relutune/relutune/internal/telemetry"
	"github.com/relutune/relutune/search"
	"github.com/relutune/relutune/trainer"
	"github.com/relutune/relutune/workflows"
)

// MetricsPublisher publishes a trial's per-epoch metrics.
type MetricsPublisher interface {
	PublishMetrics(ctx context.Context, m events.EpochMetrics) error
}

// DatasetLoader returns a dataset by name; workers keep loaded file
// datasets for the life of the process.
type DatasetLoader func(name string, seed uint64) (*trainer.Dataset, error)

// Pruner asks a study whether a trial that reached a decision epoch with
// value should go on.
type Pruner interface {
	Continue(ctx context.Context, study string, trial, epoch int, value float64) (bool, error)
}

// errPruned stops training when the study's scheduler says so.
var errPruned = errors.New("pruned by the study's scheduler")

// Activities run on training workers. They never touch Postgres.
type Activities struct {
	Publisher MetricsPublisher
	// Pruner is consulted at the scheduler's decision epochs; nil never prunes.
	Pruner   Pruner
	Datasets DatasetLoader
	// Checkpoints, when set, keeps checkpoints (and kept models) in a
	// JetStream object store that every worker reaches; CheckpointDir is
	// then unused.
	Checkpoints CheckpointStore
	// CheckpointDir holds one directory per running trial with its latest
	// checkpoint; empty disables checkpoints.
	CheckpointDir string
	// Worker names this process in metrics and trial rows.
	Worker string
	// HeartbeatEvery is how often a running trial heartbeats while it makes
	// progress (default DefaultHeartbeatEvery), so long epochs do not time
	// out and cancellation arrives within about this long.
	HeartbeatEvery time.Duration
	// StallAfter is how long a trial may go without progress (a batch, a
	// published epoch, a checkpoint) and still heartbeat; default the
	// activity's heartbeat timeout, or DefaultStallAfter without one. See
	// heartbeatPump.
	StallAfter time.Duration
	// MaxTrialMemory refuses, without retry, a trial whose estimated peak
	// memory (trainer.EstimateMemory) is larger: 0 means
	// trainer.DefaultMaxMemory, a negative value no limit. tunectl checks
	// specs against its own --max-trial-memory before submitting; this is
	// the worker's own line of defence.
	MaxTrialMemory int64
	// MaxThreads caps a trial's threads (trainer.Config.Threads): a trial
	// asking for more trains with MaxThreads. Run sets it to the worker's
	// share of cores per trial; 0 means no cap.
	MaxThreads int
	Log        *slog.Logger
	// Metrics observes trials, epochs and checkpoints; nil observes nothing.
	Metrics *telemetry.Metrics
}

// TrainTrial trains one trial, publishing every epoch's metrics and
// heartbeating its progress. A retried attempt resumes from the newest
// checkpoint of the trial this worker can read (the one the last heartbeat
// names, or a newer one in the object store or the trial's directory), and
// from the start otherwise. A complete trial of a study that keeps models
// stores its final weights (objectKeeper.keepModel). A NaN/Inf loss or an invalid configuration fails
// without retry.
func (a *Activities) TrainTrial(ctx context.Context, in workflows.TrainInput) (workflows.TrainOutput, error) {
	info := activity.GetInfo(ctx)
	attempt := trainAttempt(in, info)
	log := a.logger().With("study", in.Study, "trial", in.Number, "attempt", attempt)
	out := workflows.TrainOutput{Attempt: attempt, Worker: a.Worker}

	if err := checkTrainInput(in); err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if in.Metric == "" {
		in.Metric = trainer.DefaultMetric
	}
	if _, err := trainer.ParseMetric(string(in.Metric)); err != nil {
		err = fmt.Errorf("%w: metric: %w", errInvalidTrainInput, err)
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	cfg := in.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	cfg.Threads = trialThreads(cfg.Threads, a.MaxThreads)
	sched, err := search.NewScheduler(in.Schedule)
	if err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	var last trainer.EpochMetrics
	load := a.Datasets
	if load == nil {
		load = trainer.LoadDataset
	}
	ds, err := load(cfg.Dataset, cfg.Seed)
	if err != nil {
		// Retryable: another worker may have the files this one lacks.
		return out, a.infraError(ctx, workflows.TrainProgress{}, fmt.Errorf("load dataset %s on worker %s: %w", cfg.Dataset, a.Worker, err))
	}

	if f := in.InitFrom; f != nil && f.Trial == in.Number && (in.Resume == nil || f.Epoch > in.Resume.Epoch) {
		// Its own checkpoint: a resume like any other.
		in.Resume = &workflows.TrainProgress{Epoch: f.Epoch, Checkpoint: f.Ref}
	}
	progress := a.resumeHint(in)
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &progress); err != nil {
			log.Warn("unreadable heartbeat details; starting over", "err", err)
			progress = workflows.TrainProgress{}
		}
	}
	opts := trainer.Options{MaxMemory: a.MaxTrialMemory}
	ckpt, err := a.checkpoints(ctx, in, attempt, log)
	if err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if err := ckpt.create(); err != nil {
		return out, err
	}
	r, closeResume, resumed := ckpt.open(ctx, progress.Checkpoint, log)
	defer closeResume()
	progress = resumed
	if r != nil {
		opts.Resume = r
		log.Info("resuming from checkpoint", "epoch", progress.Epoch, "checkpoint", progress.Checkpoint)
	}
	// fromOther: training starts from another trial's checkpoint, which
	// this trial must never drop.
	fromOther := false
	if f := in.InitFrom; r == nil && f != nil && f.Trial != in.Number {
		or, closeOther, err := ckpt.openFrom(ctx, *f)
		switch {
		case errors.Is(err, errInvalidTrainInput):
			return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
		case err != nil:
			return out, a.infraError(ctx, workflows.TrainProgress{}, fmt.Errorf("init_from: %w", err))
		}
		defer closeOther()
		opts.Resume, fromOther = or, true
		log.Info("starting from another trial's checkpoint", "from_trial", f.Trial, "epoch", f.Epoch, "checkpoint", f.Ref)
	}
	opts.StopAfter = in.UntilEpoch

	// Heartbeat between epochs too, but only while training progresses: an
	// epoch can outlast the timeout, heartbeats are how cancellation reaches
	// this activity, and a stuck attempt must time out (see heartbeatPump).
	pump := &heartbeatPump{}
	pump.set(progress)
	trainCtx, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	every := a.HeartbeatEvery
	if every <= 0 {
		every = DefaultHeartbeatEvery
	}
	stall := a.StallAfter
	if stall <= 0 {
		stall = info.HeartbeatTimeout
	}
	if stall <= 0 {
		stall = DefaultStallAfter
	}
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		pump.run(hbCtx, pumpConfig{
			every: every, stallAfter: stall, abandonAfter: 2 * info.HeartbeatTimeout,
			record:  func(p workflows.TrainProgress) { activity.RecordHeartbeat(ctx, p) },
			abandon: func() { abandon(errStalled) },
			log:     log,
		})
	}()
	opts.Progress = func(int, int) { pump.advance() }

	if ckpt.enabled() {
		opts.Checkpoint = func(epoch int, write func(io.Writer) error) error {
			start := time.Now()
			path, err := ckpt.write(epoch, write)
			a.Metrics.CheckpointWritten(start, err)
			if err != nil {
				return err
			}
			if path == "" { // not stored (logged): the heartbeat keeps the last one
				pump.advance()
				return nil
			}
			// The heartbeat names the new checkpoint before the old one goes.
			p := pump.update(func(p *workflows.TrainProgress) {
				*p = workflows.TrainProgress{Epoch: epoch, Checkpoint: path}
			})
			pump.advance()
			activity.RecordHeartbeat(ctx, p)
			ckpt.replace(path)
			return nil
		}
	}
	defer a.Metrics.TrialStarted()()
	epochs := a.Metrics.EpochTimer()
	opts.Report = func(ctx context.Context, m trainer.EpochMetrics) error {
		epochs.Epoch(m.SamplesPerSec)
		msg := events.EpochMetrics{
			Study: in.Study, StudyID: in.StudyID, Trial: in.Number, TrialID: in.TrialID,
			Attempt: attempt, Worker: a.Worker, MaxEpochs: cfg.Epochs, Activation: string(cfg.Activation),
			Time: time.Now().UTC(),
		}
		msg.SetTrainerMetrics(m)
		if err := a.Publisher.PublishMetrics(ctx, msg); err != nil {
			return err
		}
		pump.advance()
		out.EpochsDone = m.Epoch
		last = m
		if a.Pruner != nil && search.ForTrial(sched, in.Number).Rung(m.Epoch) {
			if v := objective(in.Metric, m); v != nil {
				goOn, err := a.Pruner.Continue(ctx, in.Study, in.Number, m.Epoch, *v)
				if err != nil {
					return fmt.Errorf("report epoch %d to the study: %w", m.Epoch, err)
				}
				if !goOn {
					log.Info("pruned", "epoch", m.Epoch, "value", *v)
					return errPruned
				}
			}
		}
		p := pump.update(func(p *workflows.TrainProgress) {
			if opts.Checkpoint == nil {
				p.Epoch = m.Epoch
			}
		})
		activity.RecordHeartbeat(ctx, p)
		return nil
	}

	opts = markInfraErrors(opts)
	res, err := trainer.Train(trainCtx, cfg, ds, opts)
	if err != nil && fromOther && errors.Is(err, trainer.ErrCheckpoint) {
		stopHB()
		<-hbDone
		err = fmt.Errorf("init_from trial %d: %w", in.InitFrom.Trial, err)
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	}
	if err != nil && opts.Resume != nil && errors.Is(err, trainer.ErrCheckpoint) {
		// A damaged checkpoint, or one from another configuration, would
		// fail every retry the same way: drop it and train from the start.
		log.Warn("unusable checkpoint; training from the start", "checkpoint", progress.Checkpoint, "err", err)
		ckpt.drop()
		pump.set(workflows.TrainProgress{})
		opts.Resume = nil
		res, err = trainer.Train(trainCtx, cfg, ds, opts)
	}
	stopHB()
	<-hbDone
	if err != nil && errors.Is(context.Cause(trainCtx), errStalled) && ctx.Err() == nil {
		err = fmt.Errorf("%w: %w", errStalled, err)
	}
	var div *trainer.DivergedError
	switch {
	case err == nil:
	case errors.Is(err, errPruned):
		// The checkpoints stay until the outcome is recorded: the workflow
		// then removes them on this host (RemoveCheckpoints).
		out.Pruned = true
		out.Objective = objective(in.Metric, last)
		out.HostQueue = hostQueueOf(info.TaskQueue, a.Worker)
		return out, nil
	case errors.As(err, &div):
		log.Info("trial diverged", "epoch", div.Epoch)
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeDiverged, err,
			workflows.DivergedDetails{Epoch: div.Epoch, Attempt: attempt, Worker: a.Worker})
	case errors.Is(err, trainer.ErrInvalidConfig):
		return out, temporal.NewNonRetryableApplicationError(err.Error(), workflows.ErrTypeInvalidConfig, err)
	case ctx.Err() != nil:
		if workerStopping(ctx) {
			// Not a cancellation of the trial: this worker is shutting down.
			return out, a.infraError(ctx, pump.get(), fmt.Errorf("worker %s is stopping: %w", a.Worker, ctx.Err()))
		}
		return out, ctx.Err()
	case isInfraFailure(err):
		return out, a.infraError(ctx, pump.get(), err)
	default:
		return out, err
	}
	// The checkpoints stay until the outcome is recorded (see above); a
	// retry after a lost completion resumes from the last one and trains
	// no epoch again.
	out.HostQueue = hostQueueOf(info.TaskQueue, a.Worker)
	out.EpochsDone = res.Epochs
	out.EarlyStopped = res.EarlyStopped
	out.Objective = objective(in.Metric, res.Final)
	if res.Suspended {
		out.Suspended = true
		_, out.SavedShared = ckpt.(*objectKeeper)
		if p := pump.get(); p.Checkpoint != "" && p.Epoch > 0 {
			out.Saved = &workflows.CheckpointRef{Trial: in.Number, Epoch: p.Epoch, Ref: p.Checkpoint, HostQueue: out.HostQueue}
		}
		return out, nil
	}
	out.TestAccuracy = events.Finite(res.TestAccuracy)
	if obj, isObj := ckpt.(*objectKeeper); isObj && out.Objective != nil {
		obj.keepModel(in, *out.Objective)
	}
	return out, nil
}

// checkpoints returns where this try keeps the trial's checkpoints: the
// object store when the worker has one, else its checkpoint directory.
func (a *Activities) checkpoints(ctx context.Context, in workflows.TrainInput, attempt int, log *slog.Logger) (trialCheckpoints, error) {
	if a.Checkpoints != nil {
		return newObjectKeeper(ctx, a.Checkpoints, in, attempt, log), nil
	}
	return newCheckpointKeeper(a.CheckpointDir, in.Study, in.Number)
}

// objective picks the study's metric from an epoch's metrics; nil when it
// is not finite.
func objective(metric trainer.Metric, m trainer.EpochMetrics) *float64 {
	v, ok := metric.Of(m)
	if !ok {
		return nil // TrainTrial refuses an unknown metric before training
	}
	return events.Finite(v)
}

func (a *Activities) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// trialThreads is the threads a trial asking for want trains with on a
// worker whose per-trial cap is limit (0: none): at least 1.
func trialThreads(want, limit int) int {
	t := max(want, 1)
	if limit > 0 {
		t = min(t, limit)
	}
	return t
}
